"""Suite files: the packaged suites load; paths, foreign rewards and run folders resolve; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reward_coder.bench.suite import SUITES_DIR, Suite, load_suite, packaged_suites
from reward_coder.errors import ConfigError

ISSUE_TASKS = (
    "reach", "push", "pick-place", "button-press", "door-open", "door-close", "drawer-open", "drawer-close",
    "window-open", "window-close", "handle-press", "handle-press-side", "sweep-into", "door-unlock", "faucet-open",
)
STANDIN = SUITES_DIR / "rewards" / "metaworld-reach.handwritten-standin.py"
FOREIGN = SUITES_DIR / "rewards" / "metaworld-reach.foreign.handwritten-standin.py"


def _write(tmp_path: Path, data: dict, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _minimal(**extra) -> dict:
    return {"name": "t", "algorithm": "PPO", "total_timesteps": 1000, "seeds": [0], "tasks": ["metaworld-reach/reach"],
            **extra}


def test_packaged_suites_small_and_full() -> None:
    assert {"metaworld-small", "metaworld-full"} <= set(packaged_suites())
    small = load_suite("metaworld-small")
    assert len(small.tasks) >= 3 and small.methods[:2] == ("expert", "sparse")
    assert {r.name for r in small.rewards} >= {"standin", "foreign-standin"}
    assert all(e.code.strip() for r in small.rewards for e in r.entries)
    assert small.total_timesteps <= 100_000, "the small suite must fit a 2-core machine"
    full = load_suite(SUITES_DIR / "metaworld-full.yaml")
    assert full.tasks == tuple(f"metaworld-{n}/{n}" for n in ISSUE_TASKS)
    assert full.total_timesteps >= 1_000_000 and len(full.seeds) >= 5


def test_relative_reward_paths_resolve_beside_the_suite_and_foreign_code_is_converted(tmp_path: Path) -> None:
    (tmp_path / "rewards").mkdir()
    (tmp_path / "rewards" / "mine.py").write_text(STANDIN.read_text())
    (tmp_path / "rewards" / "theirs.py").write_text(FOREIGN.read_text())
    path = _write(tmp_path, _minimal(rewards={"mine": {"metaworld-reach/reach": "rewards/mine.py"},
                                              "theirs": {"metaworld-reach/reach": "rewards/theirs.py"}}))
    suite = load_suite(path)
    mine, theirs = (r.for_task("metaworld-reach/reach") for r in suite.rewards)
    assert mine.format == "contract" and mine.code == STANDIN.read_text()
    assert theirs.format == "foreign" and "def compute_reward(state, action, next_state)" in theirs.code
    assert suite.methods == ("expert", "sparse", "mine", "theirs")
    assert suite.eval_interval == 250  # default: a quarter of the budget


def test_a_run_folder_contributes_its_best_reward_for_its_task(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "some-run"
    run.mkdir(parents=True)
    (run / "task.json").write_text(json.dumps({"key": "metaworld-reach/reach"}))
    (run / "best.py").write_text(STANDIN.read_text())
    suite = load_suite(_write(tmp_path, _minimal(rewards={"best-of-run": {"runs": ["runs/some-run"]}})))
    entry = suite.rewards[0].for_task("metaworld-reach/reach")
    assert entry is not None and entry.source == "runs/some-run" and entry.code == STANDIN.read_text()


def test_round_trip_and_fingerprint(tmp_path: Path) -> None:
    suite = load_suite("metaworld-small")
    again = Suite.from_dict(json.loads(json.dumps(suite.to_dict())))
    assert again == suite and again.fingerprint() == suite.fingerprint()
    from dataclasses import replace

    assert replace(suite, total_timesteps=suite.total_timesteps + 1).fingerprint() != suite.fingerprint()
    assert replace(suite, description="other words").fingerprint() == suite.fingerprint()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"seeds": None}, "key 'seeds'"),
        ({"tasks": ["metaworld-reach/nope"]}, "metaworld-reach/nope"),
        ({"seeds": [0, 0]}, "repeats a seed"),
        ({"algorithm": "DQN"}, "key 'algorithm'"),
        ({"total_timesteps": 0}, "key 'total_timesteps'"),
        ({"budget": 5}, "key 'budget' is not a suite key"),
        ({"rewards": {"expert": {"metaworld-reach/reach": "x.py"}}}, "not a usable name"),
        ({"rewards": {"mine": {"metaworld-push/push": str(STANDIN)}}}, "not in the suite's tasks"),
        ({"rewards": {"mine": {"metaworld-reach/reach": "missing.py"}}}, "not a file"),
        ({"rewards": {"mine": {"runs": ["no-such-run"]}}}, "no readable task.json"),
    ],
)
def test_bad_suites_fail_in_one_line_naming_the_problem(tmp_path: Path, change: dict, words: str) -> None:
    data = _minimal()
    for key, value in change.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    with pytest.raises(ConfigError) as caught:
        load_suite(_write(tmp_path, data))
    message = str(caught.value)
    assert words in message and "\n" not in message and "suite.yaml" in message


def test_unknown_suite_name_lists_the_packaged_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="metaworld-small"):
        load_suite("no-such-suite")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_suite(broken)


def test_pendulum_demo_suite_benches_the_demo_stand_in_it_names() -> None:
    """The suite's 'demo-selected' reward is the stand-in the demo's second iteration proposes."""
    import json

    from reward_coder.extract import extract_reward_code
    from reward_coder.resources import standins_dir

    suite = load_suite("pendulum-demo")
    shipped = suite.rewards[0].entries[0].code
    lines = (standins_dir() / "pendulum-swing-up.handwritten-standin.jsonl").read_text().splitlines()
    designer_1 = next(json.loads(l) for l in lines if '"designer"' in l and '"iteration": 1' in l)
    stand_in = extract_reward_code(designer_1["samples"][0]).code
    assert stand_in.strip() in shipped
