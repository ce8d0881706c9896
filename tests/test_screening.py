"""Screening before training: stored evaluation episodes, sandboxed scoring on them, the verdict, the loop's use.

The loop tests use a stand-in trainer (as tests/test_loop.py does) whose evaluation returns synthetic
pendulum episodes: successful ones held upright (cos_theta near 1), failed ones hanging (near -1).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from reward_coder.config import RunConfig
from reward_coder.evaluate import evaluate_policy
from reward_coder.llm import JournalingCompleter, ScriptedCompleter
from reward_coder.loop import BudgetedCompleter, LoopServices, run_loop, start_run
from reward_coder.outcomes import TrainOutcome
from reward_coder.sandbox import SandboxLimits, require_isolation
from reward_coder.screening import (
    PENDULUM_STANDINS,
    StoredEpisode,
    encode_episodes,
    judge_returns,
    labelled_episodes,
    measure_screening,
    pack_episodes,
    pendulum_policies,
    screen_candidate,
    unpack_episodes,
)
from reward_coder.store import RunStore
from reward_coder.tasks import resolve_task
from reward_coder.train.executor import InlineExecutor
from reward_coder.types import CheckReport

TASK = resolve_task("pendulum/swing-up", None, None)
FIELDS = TASK.card.field_names()
UPRIGHT = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n    up = next_state.cos_theta\n    return up, {'up': up}\n"
HANGING = UPRIGHT.replace("up = next_state.cos_theta", "up = -next_state.cos_theta")


@pytest.fixture(scope="module")
def isolation():
    return require_isolation(False)


@pytest.fixture(scope="module")
def episodes():
    """Real pendulum episodes of scripted policies: 4 swing-ups that succeed, 16 that fail."""
    return labelled_episodes(TASK.card, TASK.success, pendulum_policies(), episodes_each=4)


def test_evaluation_keeps_trajectories_that_round_trip_with_their_outcomes():
    result = evaluate_policy(pendulum_policies()["swing-up"], TASK.card, TASK.success, episodes=3, seed=5,
                             trajectory_episodes=2)
    kept = result.trajectories
    assert len(kept) == 2  # capped at trajectory_episodes, though 3 were evaluated
    assert [e.success for e in kept] == [r.success for r in result.episodes[:2]]
    assert [e.native_return for e in kept] == pytest.approx([r.native_return for r in result.episodes[:2]])
    assert kept[0].kept == kept[0].length == 200 and kept[0].state["cos_theta"].dtype == np.float32
    back = unpack_episodes(pack_episodes(kept))
    for before, after in zip(kept, back):
        assert after.success == before.success and after.length == before.length
        np.testing.assert_array_equal(after.action, before.action)
        for name in FIELDS:
            np.testing.assert_array_equal(after.state[name], before.state[name])
            np.testing.assert_array_equal(after.next_state[name], before.next_state[name])
    # a whole episode stores its states once (next_state[t] is state[t + 1]), float32
    import io

    with np.load(io.BytesIO(pack_episodes(kept))) as npz:
        assert not [k for k in npz.files if ".next." in k] and npz["e0.states.cos_theta"].shape == (201,)
    assert len(pack_episodes(kept)) < 2 * 200 * (2 * len(FIELDS) + 1) * 4


def test_a_long_episode_keeps_every_kth_step_and_its_return_is_rescaled(isolation):
    from reward_coder.screening import EpisodeRecorder, episode_returns

    recorder = EpisodeRecorder(max_episodes=1, max_steps=50)
    for t in range(200):
        fields = {name: np.array([float(t)]) for name in FIELDS}
        recorder.step(fields, np.zeros((1,)), {**fields, "cos_theta": np.array([1.0])})
    recorder.finish(success=True, native_return=-1.0)
    (episode,) = unpack_episodes(pack_episodes(recorder.episodes))
    assert episode.kept == 50 and episode.length == 200
    np.testing.assert_array_equal(episode.state["theta"], np.arange(0, 200, 4, dtype=np.float32))
    returns, error, scored = episode_returns(UPRIGHT, [episode], FIELDS, isolation=isolation)
    assert error == "" and scored == 50 and returns[0] == pytest.approx(200.0)  # 50 kept steps of 1, times 200/50


def test_a_reward_for_failure_is_screened_out_and_a_good_one_passes(episodes, isolation):
    bad = screen_candidate("bad", HANGING, episodes, FIELDS, isolation=isolation)
    good = screen_candidate("good", UPRIGHT, episodes, FIELDS, isolation=isolation)
    assert bad.verdict == "rejected" and bad.screened_out and bad.auc < 0.5
    assert "ranks failed episodes above successful ones" in bad.reason
    assert good.verdict == "passed" and not good.screened_out and good.auc > 0.9
    assert good.episodes_scored == len(episodes) and good.sandbox_s > 0


def test_too_few_labelled_episodes_is_undecided_and_costs_no_sandbox_time(episodes, isolation):
    failed_only = [e for e in episodes if not e.success]
    result = screen_candidate("c", HANGING, failed_only + [e for e in episodes if e.success][:2], FIELDS,
                              isolation=isolation)
    assert result.verdict == "undecided" and not result.screened_out and result.sandbox_s == 0.0
    assert "2 successful" in result.reason
    assert judge_returns("c", np.array([1.0, 2.0]), np.array([True, False])).verdict == "undecided"


def test_a_constant_reward_cannot_tell_success_from_failure(episodes, isolation):
    constant = UPRIGHT.replace("up = next_state.cos_theta", "up = np.ones_like(next_state.cos_theta)")
    result = screen_candidate("c", constant, episodes, FIELDS, isolation=isolation)
    assert result.verdict == "rejected" and "same return" in result.reason


@pytest.mark.parametrize("body, says", [
    ("raise RuntimeError('boom')", "boom"),
    ("open('/etc/passwd').read()\n    return next_state.cos_theta, {}", "static check"),
    ("while True:\n        pass", "did not return"),
])
def test_crashing_or_malicious_code_fails_screening_as_a_value(episodes, isolation, body, says):
    code = f"import numpy as np\n\ndef compute_reward(state, action, next_state):\n    {body}\n"
    result = screen_candidate("c", code, episodes, FIELDS, isolation=isolation,
                              limits=SandboxLimits(call_timeout_s=1.0))
    assert result.verdict == "failed" and result.screened_out
    assert says in result.reason


def test_measurement_on_standins_meets_the_target(episodes, isolation):
    measured = measure_screening(PENDULUM_STANDINS, episodes, FIELDS, isolation=isolation)
    assert measured.good_lost == 0 and measured.bad_removed * 3 >= measured.bad_total and measured.meets_target
    assert measured.env_steps_saved == 40_000 * measured.bad_removed and measured.sandbox_s > 0


# ------------------------------------------------------------------------------------------------
# In the loop
# ------------------------------------------------------------------------------------------------

TRAINED: list[str] = []


def synthetic_episode(success: bool, offset: float) -> StoredEpisode:
    cos = np.full(21, 0.95 if success else -0.9, dtype=np.float32) + offset
    fields = {"cos_theta": cos, "sin_theta": np.sqrt(np.clip(1 - cos ** 2, 0, 1)), "theta": np.arccos(np.clip(cos, -1, 1)),
              "angular_velocity": np.zeros(21, np.float32)}
    return StoredEpisode(state={k: v[:-1] for k, v in fields.items()}, action=np.zeros((20, 1), np.float32),
                         next_state={k: v[1:] for k, v in fields.items()}, success=success,
                         native_return=-100.0 if success else -1500.0, length=20)


def fake_train(job):
    """Success from the code's FAKE_SUCCESS; its evaluation episodes succeed at that rate."""
    TRAINED.append(job.candidate_id)
    success = float(re.search(r"FAKE_SUCCESS = ([0-9.]+)", job.code).group(1))
    flags = [i < success * 10 for i in range(10)]
    evaluation = dict(success_rate=success, metric_mean=success, native_return_mean=-200.0, native_return_std=0.0,
                      length_mean=20.0, episodes=[], term_stats={})
    if job.trajectory_episodes:
        evaluation["trajectories"] = encode_episodes(
            [synthetic_episode(flag, 0.001 * i) for i, flag in enumerate(flags[:job.trajectory_episodes])])
    return TrainOutcome(job.candidate_id, "ok", job.total_timesteps, eval=evaluation, seed=job.seed)


def answer(success: float, sign: str = "") -> str:
    return ("```python\nimport numpy as np\n\n"
            f"FAKE_SUCCESS = {success}\n\n"
            "def compute_reward(state, action, next_state):\n"
            f"    height = {sign}next_state.cos_theta\n"
            "    return height, {'height': height}\n```")


def run(tmp_path, **changes):
    TRAINED.clear()
    config = RunConfig(instruction=TASK.instruction, env="pendulum", task=TASK.key, model="scripted", samples=2,
                       iterations=2, critic=False, total_timesteps=8_000, final_seeds=0, **changes)
    store = RunStore.create(tmp_path / "run")
    scripted = ScriptedCompleter([[answer(0.5), answer(0.3)], [answer(0.9, "-"), answer(0.6)]])
    journal = JournalingCompleter(scripted, sink=lambda r: None)
    events: list[tuple[str, dict]] = []
    services = LoopServices(completer=BudgetedCompleter(journal, None), executor=InlineExecutor(), store=store,
                            on_event=lambda kind, **data: events.append((kind, data)), train=fake_train)
    task = start_run(config, TASK, store, services.completer)
    run_loop(config, task, services, lambda code: CheckReport(ok=True, issues=()))
    return store, events


def test_the_loop_screens_out_a_reward_for_failure_and_tells_the_designer(tmp_path):
    store, events = run(tmp_path)
    assert store.exists("iterations/0/trajectories/i0-c0.npz")
    assert len(unpack_episodes(store.path("iterations/0/trajectories/i0-c0.npz").read_bytes())) == 10
    assert "i1-c0" not in TRAINED and "i1-c1" in TRAINED
    summary = store.read_json("iterations/1/summary.json")
    row = {c["id"]: c for c in summary["candidates"]}["i1-c0"]
    assert row["training"] is None and row["success_rate"] is None  # never shown as a zero
    assert row["not_trained_because"].startswith("screened out before training: ranks failed episodes above")
    assert summary["screened_out"] == ["i1-c0"] and row["screening"]["verdict"] == "rejected"
    feedback = store.read_text("iterations/1/policy_feedback.txt")
    assert "i1-c0" in feedback and "screened out before training" in feedback
    assert ("screening", ) == tuple({k for k, d in events if k == "screening" and d["candidate"] == "i1-c0"})
    assert store.read_json("state.json")["best"]["candidate"] == "i1-c1"  # the screened one (0.9) cannot win
    # outcome files keep no copy of the episodes
    assert "trajectories" not in store.read_json("iterations/0/outcomes/i0-c0.rung0.json")["eval"]


def test_no_screen_trains_it_anyway_but_still_reports(tmp_path):
    store, events = run(tmp_path, screen=False)
    assert "i1-c0" in TRAINED
    row = {c["id"]: c for c in store.read_json("iterations/1/summary.json")["candidates"]}["i1-c0"]
    assert row["screening"]["verdict"] == "rejected" and row["screening"]["applied"] is False
    assert row["training"] == "ok"
    feedback = store.read_text("iterations/1/policy_feedback.txt")
    assert "it was trained anyway, as screening was off" in feedback
    assert any(k == "screening" and d["candidate"] == "i1-c0" and d["trained"] for k, d in events)


def test_run_command_has_the_no_screen_option():
    from typer.testing import CliRunner

    from reward_coder.cli.main import app

    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "--no-screen" in result.output
