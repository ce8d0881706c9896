"""The direction check: a reward that prefers a card's known-bad states to its known-good ones is caught.

The recorded answer of a real model (Qwen2.5-Coder-1.5B, `0.5 * (1 - cos_theta)` for a pendulum swing-up,
highest when the pole hangs down) must be flagged; the envs' own rewards and the hand-written stand-ins of
known good quality must not be, on every card that declares a direction; and with --strict-direction a
flagged candidate is not trained.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reward_coder.config import RunConfig
from reward_coder.direction import (
    MIN_EFFECT,
    REVERSED_RULE,
    UNCLEAR_RULE,
    compare,
    direction_references,
)
from reward_coder.envs import get_card, list_cards, sample_transitions
from reward_coder.extract import extract_reward_code
from reward_coder.resources import standins_dir
from reward_coder.sandbox import check_candidate
from reward_coder.types import ExtractedCode

ROOT = Path(__file__).resolve().parents[1]
REALMODEL = ROOT / "tests" / "fixtures" / "realmodel"
STANDIN_REWARDS = ROOT / "reward_coder" / "suites" / "rewards"


# --------------------------------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------------------------------

def _rollouts(n_units: int, per_unit: int) -> np.ndarray:
    return np.repeat(np.arange(n_units), per_unit)


def test_a_clear_preference_for_bad_states_is_reversed() -> None:
    rng = np.random.default_rng(0)
    good, bad = rng.normal(0.0, 0.1, 64), rng.normal(1.0, 0.1, 64)
    result = compare(good, _rollouts(4, 16), bad, _rollouts(4, 16), scale=0.5)
    assert result.verdict == "reversed" and result.difference < -0.9


def test_a_reward_constant_over_both_sets_is_unclear_not_reversed() -> None:
    result = compare(np.ones(32), _rollouts(4, 8), np.ones(32), _rollouts(4, 8), scale=0.0)
    assert result.verdict == "unclear"


def test_noise_alone_is_never_called_reversed() -> None:
    rng = np.random.default_rng(1)
    verdicts = []
    for _ in range(2000):
        # the same distribution on both sides, with a per-rollout offset that makes rows correlated
        good = np.repeat(rng.normal(0, 1, 4), 16) + rng.normal(0, 0.1, 64)
        bad = np.repeat(rng.normal(0, 1, 4), 16) + rng.normal(0, 0.1, 64)
        verdicts.append(compare(good, _rollouts(4, 16), bad, _rollouts(4, 16), scale=1.0).verdict)
    assert verdicts.count("reversed") <= 8  # a one-sided test at 0.1%: about 2 in 2000 by chance
    assert verdicts.count("right") <= 8


def test_a_difference_negligible_against_the_rewards_own_spread_is_unclear() -> None:
    good, bad = np.zeros(32), np.full(32, MIN_EFFECT / 2)  # exact, so noise is 0
    assert compare(good, _rollouts(4, 8), bad, _rollouts(4, 8), scale=1.0).verdict == "unclear"
    assert compare(good, _rollouts(4, 8), bad, _rollouts(4, 8), scale=0.1).verdict == "reversed"


def test_the_verdict_does_not_depend_on_the_rewards_units() -> None:
    rng = np.random.default_rng(2)
    good, bad = rng.normal(1.0, 0.3, 64), rng.normal(0.0, 0.3, 64)
    verdicts = {compare(k * good, _rollouts(4, 16), k * bad, _rollouts(4, 16), scale=k * 0.5).verdict
                for k in (1e-6, 1.0, 1e6)}
    assert verdicts == {"right"}


# --------------------------------------------------------------------------------------------------
# the recorded real answer, through the sandboxed check
# --------------------------------------------------------------------------------------------------

def _recorded_answers(purposes: tuple[str, ...] = ("designer", "repair")) -> list[tuple[str, str, str]]:
    """(where, task_key, answer text) of every recorded real-model answer of those purposes."""
    answers = []
    for path in sorted(REALMODEL.glob("*.jsonl")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            record = json.loads(line)
            if record.get("purpose") not in purposes:
                continue
            samples = record["samples"]
            samples = json.loads(samples) if isinstance(samples, str) else samples
            for index, text in enumerate(samples):
                answers.append((f"{path.name}:{number}:{index}", record["task_key"], text))
    return answers


def _hanging_reward_answer() -> str:
    """The 1.5B model's first answer whose reward is 0.5 * (1 - cos_theta), chosen by content."""
    for where, _, text in _recorded_answers(("designer",)):
        if "1.5b" in where and "0.5 * (1 - cos_theta)" in text:
            return text
    raise AssertionError("the recorded 1.5B answer with 0.5 * (1 - cos_theta) is missing from the fixtures")


@pytest.fixture(scope="module")
def pendulum_check():
    """check(code, strict=False) on the pendulum swing-up's real check states and reference states."""
    card = get_card("pendulum")
    batch = sample_transitions(card, n_envs=4, n_steps=64, seed=0)
    references = direction_references(card, "swing-up", seed=0)

    def check(code: str, strict: bool = False):
        return check_candidate(code, field_names=card.field_names(), batches=batch, direction=references,
                               strict_direction=strict)

    return check


def _code(text: str) -> str:
    extracted = extract_reward_code(text)
    assert isinstance(extracted, ExtractedCode), extracted
    return extracted.code


def test_the_recorded_hanging_reward_is_flagged(pendulum_check) -> None:
    report = pendulum_check(_code(_hanging_reward_answer()))
    reversed_ = [i for i in report.issues if i.rule == REVERSED_RULE]
    assert report.ok, report.errors  # a warning: it is fed back, and the run may still train it
    assert len(reversed_) == 1 and reversed_[0].severity == "warning"
    message = reversed_[0].message
    assert "upright-vs-hanging" in message and "the pole hanging down (bad)" in message


def test_with_strict_direction_the_hanging_reward_fails_the_check(pendulum_check) -> None:
    report = pendulum_check(_code(_hanging_reward_answer()), strict=True)
    assert not report.ok
    assert [i.rule for i in report.errors] == [REVERSED_RULE]
    assert "--strict-direction" in report.errors[0].message


def test_the_flag_names_the_term_that_points_the_wrong_way(pendulum_check) -> None:
    code = (
        "import numpy as np\n\n"
        "def compute_reward(state, action, next_state):\n"
        "    upright = next_state.cos_theta\n"
        "    swing = 2.0 * np.abs(next_state.theta)\n"
        "    return upright + swing, {'upright': upright, 'swing': swing}\n"
    )
    report = pendulum_check(code)
    flagged = [i for i in report.issues if i.rule == REVERSED_RULE]
    assert flagged and "'swing'" in flagged[0].message and "'upright'" not in flagged[0].message


def test_a_constant_reward_is_a_soft_note_even_when_strict(pendulum_check) -> None:
    code = (
        "import numpy as np\n\n"
        "def compute_reward(state, action, next_state):\n"
        "    alive = np.ones_like(next_state.theta)\n"
        "    return alive, {'alive': alive}\n"
    )
    report = pendulum_check(code, strict=True)
    assert report.ok
    assert [i.rule for i in report.issues if i.rule.startswith("direction")] == [UNCLEAR_RULE]
    assert all(i.severity == "warning" for i in report.issues)


def test_a_candidate_that_fails_other_checks_is_not_scored_for_direction(pendulum_check) -> None:
    code = _code(_hanging_reward_answer()).replace("reward = 0.5", "reward = np.log(-1.0) + 0.5", 1)
    report = pendulum_check(code)
    assert not report.ok and not any(i.rule.startswith("direction") for i in report.issues)


def test_free_text_tasks_get_no_declared_direction() -> None:
    from reward_coder.direction import task_name_of
    from reward_coder.tasks import resolve_task

    # a free instruction may ask for the opposite of a named task (run backwards), so none applies
    free = resolve_task(None, "make the cheetah moonwalk", "halfcheetah")
    assert task_name_of(free.key, free.named) is None
    assert direction_references(get_card("halfcheetah"), None) == ()
    named = resolve_task("halfcheetah/run-backward", None, None)
    pairs = direction_references(named.card, task_name_of(named.key, named.named))
    assert [p.pair for p in pairs] == ["backward-vs-forward"]


# --------------------------------------------------------------------------------------------------
# known-good rewards are not flagged on any card that declares a direction
# --------------------------------------------------------------------------------------------------

def _upright(s) -> np.ndarray:
    return (s["torso_height"] > 0.8).astype(np.float64)


KNOWN_GOOD = {
    # tasks whose goal is not the env's own reward, with a simple reward of that goal written for this test
    "pendulum/spin": lambda s: s["angular_velocity"],
    "halfcheetah/run-backward": lambda s: -s["forward_velocity"],
    "hopper/hop-backward": lambda s: _upright(s) - s["forward_velocity"],
    "hopper/stand-still": lambda s: _upright(s) - np.abs(s["forward_velocity"]),
    "walker2d/walk-backward": lambda s: _upright(s) - s["forward_velocity"],
    "walker2d/stand-still": lambda s: _upright(s) - np.abs(s["forward_velocity"]),
    "ant/walk-backward": lambda s: -s["forward_velocity"],
    "ant/walk-left": lambda s: s["lateral_velocity"],
    # cards whose own reward is constant per step (+1 alive, -1 until the goal): a simple reward of the goal
    "cartpole/balance": lambda s: -np.abs(s["pole_angle"]),
    "cartpole/balance-centered": lambda s: -np.abs(s["pole_angle"]) - 0.1 * np.abs(s["cart_position"]),
    "acrobot/swing-up": lambda s: s["tip_height"],
    "inverted-double-pendulum/balance-left": lambda s: (s["tip_height"] > 1.0) - s["cart_position"],
}
"""Every other task's goal is the env's own reward (recorded with each reference transition)."""

TASKS = [(card.id, task) for card in list_cards() for task in sorted({t for p in card.direction for t in p.tasks})]


@pytest.mark.parametrize("card_id, task", TASKS, ids=[f"{c}/{t}" for c, t in TASKS])
def test_a_known_good_reward_prefers_the_good_states_and_its_negation_is_flagged(card_id, task) -> None:
    card = get_card(card_id)
    references = direction_references(card, task, seed=0)
    assert references, f"{card_id}/{task} has no direction pairs"
    known = KNOWN_GOOD.get(f"{card_id}/{task}")
    for reference in references:
        good, bad = reference.good, reference.bad
        if known is None:
            good_reward, bad_reward = good.native_reward, bad.native_reward
        else:
            good_reward, bad_reward = known(good.next_state), known(bad.next_state)
        result = compare(good_reward, good.env_index, bad_reward, bad.env_index, scale=0.0)
        assert result.verdict == "right", (reference.pair, result)
        # the pair tells rewards apart: the same reward pointed the other way is caught
        flipped = compare(-good_reward, good.env_index, -bad_reward, bad.env_index, scale=0.0)
        assert flipped.verdict == "reversed", (reference.pair, flipped)


def _standin_files() -> list[tuple[str, str]]:
    """(file name, task) of the hand-written stand-in rewards of known good quality."""
    tasks = {
        "pendulum-swing-up": "pendulum/swing-up",
        "metaworld-reach": "metaworld-reach/reach",
        "metaworld-door-close": "metaworld-door-close/door-close",
        "metaworld-drawer-close": "metaworld-drawer-close/drawer-close",
        "selection-hopper-2-stand": "hopper/hop-forward",
        "selection-hopper-3-velocity": "hopper/hop-forward",
        "selection-hopper-4-shaped": "hopper/hop-forward",
        "selection-reach-2-sparse": "metaworld-reach/reach",
        "selection-reach-3-distance": "metaworld-reach/reach",
        "selection-reach-4-shaped": "metaworld-reach/reach",
    }
    return [(f"{stem}.handwritten-standin.py", task) for stem, task in tasks.items()]


def _standin_answers() -> list[tuple[str, str, str]]:
    """(where, task, text) of the hand-written stand-in LLM answers (designer, repair, critic revisions)."""
    answers = []
    for path in sorted(standins_dir().glob("*.jsonl")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            record = json.loads(line)
            samples = record["samples"]
            samples = json.loads(samples) if isinstance(samples, str) else samples
            answers += [(f"{path.name}:{number}:{i}", record["task_key"], text) for i, text in enumerate(samples)]
    return answers


_CHECK_STATES: dict[str, object] = {}


def _check_with_direction(task_key: str, code: str, strict: bool = False):
    card_id, task = task_key.split("/")
    card = get_card(card_id)
    if card_id not in _CHECK_STATES:
        _CHECK_STATES[card_id] = sample_transitions(card, n_envs=4, n_steps=64, seed=0)
    return check_candidate(code, field_names=card.field_names(), batches=_CHECK_STATES[card_id],
                           direction=direction_references(card, task, seed=0), strict_direction=strict)


@pytest.mark.parametrize("name, task_key", _standin_files(), ids=[n for n, _ in _standin_files()])
def test_known_good_standin_rewards_are_not_flagged(name, task_key) -> None:
    report = _check_with_direction(task_key, (STANDIN_REWARDS / name).read_text(), strict=True)
    assert report.ok, [i.describe() for i in report.errors]
    assert not any(i.rule == REVERSED_RULE for i in report.issues)


def test_the_deliberately_backwards_standin_is_flagged() -> None:
    code = (STANDIN_REWARDS / "selection-hopper-1-bad.handwritten-standin.py").read_text()
    report = _check_with_direction("hopper/hop-forward", code)
    flagged = [i for i in report.issues if i.rule == REVERSED_RULE]
    assert len(flagged) == 1 and "forward-vs-backward" in flagged[0].message


def test_no_standin_answer_that_passes_the_checks_is_flagged() -> None:
    checked = 0
    for where, task_key, text in _standin_answers():
        extracted = extract_reward_code(text)
        if not isinstance(extracted, ExtractedCode):
            continue
        report = _check_with_direction(task_key, extracted.code)
        if not report.ok:
            continue
        checked += 1
        assert not any(i.rule == REVERSED_RULE for i in report.issues), (where, report.issues)
    assert checked >= 10  # the stand-ins hold that many sound rewards


# --------------------------------------------------------------------------------------------------
# --strict-direction through the loop and through `generate`
# --------------------------------------------------------------------------------------------------

GOOD_PENDULUM = (STANDIN_REWARDS / "pendulum-swing-up.handwritten-standin.py").read_text()

TRAINED: list[str] = []


def _fake_train(job):
    """Stands in for PPO: records what was trained and reports a middling success."""
    from reward_coder.outcomes import TrainOutcome

    TRAINED.append(job.candidate_id)
    episodes = [dict(length=200, terminated=False, native_return=-500.0, success=i < 5, metric=0.5,
                     field_means={}, field_finals={}, term_sums={}) for i in range(10)]
    evaluation = dict(success_rate=0.5, metric_mean=0.5, native_return_mean=-500.0, native_return_std=0.0,
                      length_mean=200.0, episodes=episodes, term_stats={})
    return TrainOutcome(job.candidate_id, "ok", job.total_timesteps, eval=evaluation, seed=job.seed,
                        eval_seed=job.eval_seed)


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_strict_direction_keeps_the_flagged_candidate_from_training(tmp_path, strict) -> None:
    from reward_coder.generate import make_checker
    from reward_coder.llm import JournalingCompleter, ScriptedCompleter
    from reward_coder.loop import BudgetedCompleter, LoopServices, run_loop, start_run
    from reward_coder.store import RunStore
    from reward_coder.tasks import resolve_task
    from reward_coder.train.executor import InlineExecutor

    TRAINED.clear()
    task = resolve_task("pendulum/swing-up", None, None)
    config = RunConfig(instruction=task.instruction, env="pendulum", task=task.key, model="scripted", samples=2,
                       iterations=1, critic=False, repair_attempts=0, total_timesteps=8_000, final_seeds=0,
                       finalists=0, strict_direction=strict)
    store = RunStore.create(tmp_path / "run")
    answers = [[_hanging_reward_answer(), f"```python\n{GOOD_PENDULUM}\n```"]]
    journal = JournalingCompleter(ScriptedCompleter(answers), sink=lambda r: store.append_jsonl("llm_journal.jsonl", r))
    services = LoopServices(completer=BudgetedCompleter(journal, None), executor=InlineExecutor(), store=store,
                            on_event=lambda *a, **k: None, train=_fake_train)
    checker = make_checker(task, config, lambda *a, **k: None)
    task = start_run(config, task, store, services.completer)
    run_loop(config, task, services, checker)

    assert store.read_json("config.json")["strict_direction"] is strict
    design = json.dumps(store.read_json("iterations/0/design.json"))
    assert REVERSED_RULE in design  # recorded with the candidate either way
    assert ("i0-c0" in TRAINED) is (not strict)
    assert "i0-c1" in TRAINED
    # the report shows the finding: a badge on the candidate and the check's message
    from reward_coder.report import build_report

    html = build_report(store.root, video=False).html
    section = html[html.index('id="cand-i0-c0"'):html.index('id="cand-i0-c1"')]
    assert "points the wrong way" in section and "prefers the bad states of" in section
    assert "points the wrong way" not in html[html.index('id="cand-i0-c1"'):]


def test_generate_records_strict_direction_and_fails_the_flagged_candidate(tmp_path) -> None:
    from reward_coder.cli.main import app

    replay = tmp_path / "answers.jsonl"
    record = {"request_hash": None, "purpose": "designer", "task_key": "pendulum/swing-up", "iteration": 0,
              "label": "", "model": "recorded", "samples": [_hanging_reward_answer(), f"```python\n{GOOD_PENDULUM}\n```"]}
    replay.write_text(json.dumps(record) + "\n")
    runner = CliRunner()
    outputs = {}
    for flag in ([], ["--strict-direction"]):
        out = tmp_path / ("strict" if flag else "default")
        result = runner.invoke(app, ["generate", "--task", "pendulum/swing-up", "--model", f"replay-loose:{replay}", "-k", "2",
                                     "--repair", "0", "--out", str(out), *flag])
        assert result.exit_code == 0, result.stderr
        outputs[bool(flag)] = out
    for strict, out in outputs.items():
        assert json.loads((out / "config.json").read_text())["strict_direction"] is strict
        status = {c["id"]: c["status"] for c in json.loads((out / "summary.json").read_text())}
        assert status["i0-c1"] == "ok"
        assert (status["i0-c0"] == "ok") is (not strict)
        assert REVERSED_RULE in (out / "summary.md").read_text()
