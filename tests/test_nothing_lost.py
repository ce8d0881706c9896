"""Nothing lost or doubled: a run killed (SIGKILL) mid-design or mid-critic and resumed journals each exchange
once and still replays; an answer given again from a cache is not journaled twice; a reward failure names
the call and the env step it happened at."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from reward_coder.llm import JournalingCompleter, ReplayCompleter, journaled_answers, jsonl_file_sink
from reward_coder.types import Completion, CompletionRequest, Message

RUN = ["run", "--task", "pendulum/swing-up", "--model", "replay:standins", "-k", "3", "--iterations", "1",
       "--timesteps", "1000", "--eval-episodes", "1", "--finalists", "0", "--executor", "inline",
       "--hyperparams", "n_steps=64,batch_size=64", "--progress", "quiet"]  # 1,024-step rollouts, not 4,096


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "reward_coder.cli.main", *args]


def _answered(run_dir: Path) -> list[dict]:
    lines = (run_dir / "llm_journal.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if not r.get("error")]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The journal of the same run, never interrupted."""
    run_dir = tmp_path_factory.mktemp("clean") / "run"
    done = subprocess.run(_cli(*RUN, "--out", str(run_dir)), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return _answered(run_dir)


@pytest.mark.parametrize("kill_after", [1, 4], ids=["design", "critic"])
def test_killed_and_resumed_run_journals_each_exchange_once(tmp_path: Path, clean_run: list[dict],
                                                            kill_after: int) -> None:
    # iteration 0 of the stand-ins: designer, 2 repairs (design phase), then 4 critic requests
    run_dir = tmp_path / "run"
    journal = run_dir / "llm_journal.jsonl"
    process = subprocess.Popen(_cli(*RUN, "--out", str(run_dir)), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            if journal.exists() and journal.read_text().count("\n") >= kill_after:
                break
            time.sleep(0.005)
        os.killpg(process.pid, signal.SIGKILL)  # the whole group, as a scheduler or the OOM killer does
    finally:
        process.wait(timeout=30)
    phase_file = "design.json" if kill_after == 1 else "critic.json"
    assert not (run_dir / "iterations/0" / phase_file).exists(), "the kill came too late to test anything"
    before = journal.read_text().count("\n")

    resumed = subprocess.run(_cli("resume", str(run_dir), "--progress", "quiet"), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr

    records = _answered(run_dir)
    counts = Counter(r["request_hash"] for r in records)
    assert all(count == 1 for count in counts.values()), counts  # no exchange twice
    assert sorted(counts) == sorted(r["request_hash"] for r in clean_run)  # and none missing
    assert len(records) >= before
    # the journal still replays the run: every request of the clean run is answered as it was
    replay = ReplayCompleter(run_dir / "llm_journal.jsonl", mode="exact")
    for record in clean_run:
        assert list(replay.complete(CompletionRequest.from_dict(record["request"])).samples) == record["samples"]


def _request(text: str = "design a reward") -> CompletionRequest:
    return CompletionRequest(messages=(Message("user", text),), n=2, purpose="designer", task_key="t/x")


class _Fixed:
    """A completer giving the same answer every time, at a cost given per call."""

    name = "fixed"

    def __init__(self, costs: list[float], cached: bool = False) -> None:
        self.costs = costs
        self.cached = cached

    def complete(self, request: CompletionRequest) -> Completion:
        return Completion(samples=("a", "b"), model=self.name, prompt_tokens=5, completion_tokens=3,
                          cost_usd=self.costs.pop(0), cached=self.cached)


def test_an_answer_given_again_for_free_is_not_journaled_twice(tmp_path: Path) -> None:
    path = tmp_path / "llm_journal.jsonl"
    JournalingCompleter(_Fixed([0.02]), jsonl_file_sink(path)).complete(_request())
    # the resumed session: the same request answered again from the cache (cost 0)
    resumed = JournalingCompleter(_Fixed([0.0, 0.0], cached=True), jsonl_file_sink(path),
                                  journaled=journaled_answers(path))
    assert resumed.complete(_request()).samples == ("a", "b")
    assert resumed.n_reused == 1 and len(path.read_text().splitlines()) == 1
    resumed.complete(_request("another prompt"))  # a new exchange is journaled
    assert len(path.read_text().splitlines()) == 2
    # an answer that cost something again is a new exchange: recorded, so the journal's cost stays right
    JournalingCompleter(_Fixed([0.02]), jsonl_file_sink(path), journaled=journaled_answers(path)).complete(_request())
    assert len(path.read_text().splitlines()) == 3


def test_journaled_answers_skips_errors_and_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "llm_journal.jsonl"
    JournalingCompleter(_Fixed([0.0]), jsonl_file_sink(path)).complete(_request())
    with path.open("a") as handle:
        handle.write(json.dumps({"request_hash": "x", "model": "m", "samples": [], "error": {"type": "E"}}) + "\n")
        handle.write('{"request_hash": "torn", "sampl')
    assert len(journaled_answers(path)) == 1
    assert journaled_answers(tmp_path / "missing.jsonl") == set()


# -- reward failures name the call and the env step ------------------------------------------------


def _nan_after(calls: int):
    seen = []

    def reward(state, action, next_state):
        seen.append(1)
        value = np.cos(next_state["theta"]) if len(seen) <= calls else np.full(len(action), np.nan)
        return value, {"upright": value}

    return reward


def test_a_training_failure_names_the_call_and_the_env_step() -> None:
    from stable_baselines3.common.vec_env import DummyVecEnv

    from reward_coder import RewardVecWrapper
    from reward_coder.envs import env_fns, get_card
    from reward_coder.sandbox import GuardedReward, RewardFailure

    card = get_card("pendulum")
    wrapped = RewardVecWrapper(DummyVecEnv(env_fns(card, 4, seed=0)), GuardedReward(_nan_after(7)), card)
    wrapped.reset()
    with pytest.raises(RewardFailure) as failure:
        for _ in range(20):
            wrapped.step(np.zeros((4, 1), dtype=np.float32))
    # call 7 (0-based) of a 4-env trainer: 7 x 4 = 28 env steps were taken before it
    assert "reward failed at call 7 (= env step 28):" in str(failure.value)
    assert (failure.value.call, failure.value.env_step) == (7, 28)

    # a trainer continuing from a checkpoint at 1000 steps counts from there
    wrapped = RewardVecWrapper(DummyVecEnv(env_fns(card, 4, seed=0)), GuardedReward(_nan_after(2)), card)
    wrapped.timesteps = 1000
    wrapped.reset()
    with pytest.raises(RewardFailure, match=r"call 2 \(= env step 1008\)"):
        for _ in range(20):
            wrapped.step(np.zeros((4, 1), dtype=np.float32))


def test_without_an_env_step_it_is_counted_from_the_batch_size() -> None:
    from reward_coder.sandbox import GuardedReward, RewardFailure

    guarded = GuardedReward(_nan_after(3))
    state = {"theta": np.zeros(8)}
    with pytest.raises(RewardFailure, match=r"at call 3 \(= env step 24\)"):
        for _ in range(5):
            guarded(state, np.zeros((8, 1)), state)


def test_the_analysis_of_a_failed_training_says_call_and_env_step() -> None:
    from reward_coder.analyze import analyze_outcome
    from reward_coder.envs import get_card
    from reward_coder.outcomes import TrainOutcome
    from reward_coder.tasks import resolve_task

    task = resolve_task("pendulum/swing-up", None, None)
    outcome = TrainOutcome("i0-c0", "reward_failed", 4096, failure="reward failed at call 1250 (= env step 5000): "
                           "the reward is NaN or infinite in 1 of 4 environments", failure_step=5000)
    text = analyze_outcome(outcome, get_card("pendulum"), task.success)
    assert "call 1250 (= env step 5000)" in text and "at step 1250" not in text


# -- the end-of-run table ---------------------------------------------------------------------------


def test_the_final_table_gives_every_failed_candidate_a_reason_and_no_success_figure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reward_coder.cli.common import console
    from reward_coder.cli.run_cmd import _print_result
    from reward_coder.store import RunStore

    store = RunStore.create(tmp_path / "run")
    failed = {"id": "i0-c1", "status": "ok", "training": "reward_failed", "success_rate": 0.0,
              "pruned_at_rung": None, "same_as": None, "failure": "", "repaired_from": [], "attempts": 1,
              "not_trained_because": "the reward failed during training: training stopped: the reward failed at "
                                     "call 12 (= env step 48): NaN"}
    trained = {**failed, "id": "i0-c0", "training": "ok", "success_rate": 0.5, "not_trained_because": ""}
    bare = {**failed, "id": "i0-c2", "training": "crashed", "not_trained_because": ""}
    store.write_json("iterations/0/summary.json", {"best_candidate": "i0-c0", "candidates": [trained, failed, bare]})
    monkeypatch.setattr(console, "width", 400)  # one line per row
    with console.capture() as captured:
        _print_result(store, {"iterations_done": 1}, 0.0)
    rows = {line.split("│")[2].strip(): line for line in captured.get().splitlines() if "│ i0-c" in line}
    assert "0.50" in rows["i0-c0"]
    assert "0.00" not in rows["i0-c1"] and "reward failed" in rows["i0-c1"]
    assert "0.00" not in rows["i0-c2"] and "training crashed" in rows["i0-c2"]


def test_a_trained_candidate_whose_reward_fails_names_call_and_env_step(tmp_path: Path) -> None:
    import re

    from reward_coder.envs import get_card
    from reward_coder.train.sb3 import TrainJob, train_candidate

    # fine until the pendulum spins fast somewhere, NaN from then on: a bug that shows only on some states
    code = ("import numpy as np\n\ndef compute_reward(state, action, next_state):\n"
            "    v = next_state.angular_velocity\n"
            "    up = np.where(np.abs(v) < 2.0, next_state.cos_theta, np.nan)\n"
            "    return up, {'up': up}\n")
    card = get_card("pendulum")
    job = TrainJob(candidate_id="c0", card=card, success=card.task("swing-up").success, out_dir=str(tmp_path / "c0"),
                   code=code, algorithm="PPO", total_timesteps=4096, n_envs=4, seed=3, device="cpu",
                   hyperparameters={"n_steps": 64, "batch_size": 64, "n_epochs": 1}, eval_episodes=1,
                   eval_every=4096, max_episode_steps=200, tensorboard=False, normalize_obs=False,
                   normalize_reward=False)
    outcome = train_candidate(job)
    assert outcome.status == "reward_failed", outcome.failure
    found = re.search(r"reward failed at call (\d+) \(= env step (\d+)\)", outcome.failure)
    assert found, outcome.failure
    call, env_step = map(int, found.groups())
    assert call > 0 and env_step == 4 * call == outcome.failure_step  # 4 envs per call
