"""Run folders for the report tests: a real demo run (once per session) and small synthetic ones."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEMO_TIMESTEPS = 4096


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """A finished `reward-coder demo` with a tiny budget and a one-seed final: the whole chain, real training,
    ~40 s on 2 cores (the timeout leaves room for a loaded CI machine)."""
    out = tmp_path_factory.mktemp("report-demo") / "run"
    done = subprocess.run(
        [sys.executable, "-m", "reward_coder.cli.main", "demo", "--timesteps", str(DEMO_TIMESTEPS), "--out", str(out),
         "--final-seeds", "1", "--progress", "quiet"],
        capture_output=True, text=True, timeout=280, check=False,  # under pytest-timeout's 300 s
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((out / "state.json").read_text())["status"] == "finished"
    return out


@pytest.fixture(scope="session")
def demo_report(demo_run: Path):
    """The demo run's report, video included, built once for the tests that read it."""
    from reward_coder.report import build_report

    return build_report(demo_run)


def _write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value))


def _attempt(code: str | None, response: str | None = None, error: str | None = None, issues=()) -> dict:
    return {
        "response": response or f"Here you go.\n\n```python\n{code}```\n",
        "code": None if error else code,
        "extraction_error": {"kind": "syntax_error", "message": error, "line": 3} if error else None,
        "extract_notes": [],
        "check": None if error else {"ok": True, "issues": list(issues),
                                     "term_stats": {"height": {"mean": 0.3, "std": 0.7, "min": -1, "max": 1, "abs_mean": 0.7}},
                                     "reward_stats": {}, "call_ms": 0.1, "isolation": "bwrap", "n_states": 512},
    }


CODE_A = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n    height = next_state.cos_theta\n    return height, {'height': height}\n"
CODE_B = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n    height = next_state.cos_theta\n    spin = -0.1 * next_state.angular_velocity ** 2\n    return height + spin, {'height': height, 'spin': spin}\n"
BROKEN_A = CODE_A.replace("next_state):", "next_state)")


def _outcome(cid: str, success: float, steps: int, terms: dict | None = None) -> dict:
    stats = {name: {"mean": m, "std": 0.1, "min": m - 1, "max": m + 1, "abs_mean": abs(m)} for name, m in (terms or {}).items()}
    curve = [{"timesteps": s, "success_rate": success * s / steps, "metric": 0.5, "native_return": -1000 + s / 10,
              "length": 200.0, "wall_s": 1.0} for s in (steps // 2, steps)]
    return {"candidate_id": cid, "status": "ok", "timesteps": steps, "curve": curve, "train_term_stats": stats,
            "eval": {"success_rate": success, "metric_mean": 0.5, "native_return_mean": -900.0, "native_return_std": 10.0,
                     "length_mean": 200.0, "episodes": [], "term_stats": stats},
            "failure": "", "failure_step": None, "checkpoint": "/elsewhere/model.zip", "wall_s": 3.0, "steps_per_s": 900.0}


def make_synthetic_run(root: Path, *, started: float | None = None, finished: bool = True) -> Path:
    """Two iterations: i0-c0 repaired after a syntax error, i0-c1 revised by the critic, i1-c0 best,
    i1-c1 a duplicate of i1-c0; iteration 1 has human feedback. No checkpoints (no video)."""
    best = {"candidate": "i1-c0", "iteration": 1, "score": [1.0, 0.9, -150.0], "success_rate": 1.0,
            "eval": {"success_rate": 1.0, "metric_mean": 0.9, "native_return_mean": -150.0, "native_return_std": 5.0,
                     "length_mean": 200.0, "term_stats": {}}}
    _write(root / "config.json", {"instruction": "Swing up", "env": "pendulum", "task": "pendulum/swing-up",
                                  "model": "gpt-test", "samples": 2, "iterations": 2, "total_timesteps": 4096,
                                  "eval_episodes": 3, "seed": 0})
    _write(root / "task.json", {"key": "pendulum/swing-up", "instruction": "Swing up", "env": "pendulum",
                                "env_id": "Pendulum-v1", "success_text": "held upright", "metric_source": "task",
                                "success": {"kind": "field_mean_above", "params": {}, "written_by": "person"}})
    _write(root / "env_card.txt", "Environment: Pendulum-v1\nState fields: theta, cos_theta, angular_velocity\n")
    _write(root / "state.json", {"status": "finished" if finished else "running", "iterations_done": 2 if finished else 1,
                                 "iterations_planned": 2, "best": best if finished else None,
                                 "started": started if started is not None else time.time()})
    journal = [{"purpose": "designer", "prompt_tokens": 1000, "completion_tokens": 500, "cost_usd": 0.01, "cached": False},
               {"purpose": "repair", "prompt_tokens": 1200, "completion_tokens": 200, "cost_usd": 0.005, "cached": True},
               {"purpose": "critic", "prompt_tokens": 800, "completion_tokens": 100, "cost_usd": 0.002, "cached": False}]
    _write(root / "llm_journal.jsonl", "".join(json.dumps(r) + "\n" for r in journal) + '{"purpose": "torn')

    it0 = root / "iterations" / "0"
    c0 = {"id": "i0-c0", "iteration": 0, "index": 0, "status": "ok", "parent": None, "notes": [],
          "attempts": [_attempt(BROKEN_A, error="expected ':'"), _attempt(CODE_A)]}
    c1_design = {"id": "i0-c1", "iteration": 0, "index": 1, "status": "ok", "parent": None, "notes": [],
                 "attempts": [_attempt(CODE_A.replace("cos_theta", "sin_theta"))]}
    c1_final = {**c1_design, "notes": ["revised on the critic's review"],
                "attempts": c1_design["attempts"] + [_attempt(CODE_B)]}
    _write(it0 / "design.json", [c0, c1_design])
    _write(it0 / "critic.json", {
        "reviews": [{"candidate_id": "i0-c0", "round": 0, "verdict": "accept", "notes": ["fine"], "response": "", "revision_status": ""},
                    {"candidate_id": "i0-c1", "round": 0, "verdict": "revise", "notes": ["sin is the wrong field"],
                     "response": "", "revision_status": "taken"}],
        "candidates": [c0, c1_final]})
    _write(it0 / "candidates" / "i0-c0.py", CODE_A)
    _write(it0 / "candidates" / "i0-c1.py", CODE_B)
    _write(it0 / "outcomes" / "i0-c0.rung0.json", _outcome("i0-c0", 0.0, 2048, {"height": 0.2}))
    _write(it0 / "outcomes" / "i0-c1.rung0.json", _outcome("i0-c1", 0.2, 2048, {"height": 0.3, "spin": -0.1}))
    _write(it0 / "outcomes" / "i0-c1.rung1.json", _outcome("i0-c1", 0.4, 4096, {"height": 0.5, "spin": -0.05}))
    overall0 = {"candidate": "i0-c1", "iteration": 0, "success_rate": 0.4, "score": [0.4], "eval": {}}
    _write(it0 / "summary.json", {
        "iteration": 0, "best_candidate": "i0-c1", "best_success_rate": 0.4, "improved_overall_best": True,
        "overall_best": overall0,
        "candidates": [
            {"id": "i0-c0", "status": "ok", "training": "ok", "success_rate": 0.0, "pruned_at_rung": 0, "same_as": None,
             "failure": "", "analysis": "pruned after rung 0: never swung up"},
            {"id": "i0-c1", "status": "ok", "training": "ok", "success_rate": 0.4, "pruned_at_rung": None, "same_as": None,
             "failure": "", "analysis": "succeeded in 2/5 episodes"}]})
    _write(it0 / "analysis.md", "- **i0-c0**: pruned\n- **i0-c1**: ok\n")
    _write(it0 / "policy_feedback.txt", "We trained 2 candidates.\n")

    it1 = root / "iterations" / "1"
    _write(it1 / "feedback.txt", "keep the pole still at the top\n")
    d0 = {"id": "i1-c0", "iteration": 1, "index": 0, "status": "ok", "parent": None, "notes": [],
          "attempts": [_attempt(CODE_B.replace("0.1", "0.05"))]}
    d1 = {"id": "i1-c1", "iteration": 1, "index": 1, "status": "ok", "parent": None, "notes": [],
          "attempts": [_attempt(CODE_B.replace("0.1", "0.05"))]}
    _write(it1 / "design.json", [d0, d1])
    if finished:
        _write(it1 / "candidates" / "i1-c0.py", CODE_B.replace("0.1", "0.05"))
        _write(it1 / "candidates" / "i1-c1.py", CODE_B.replace("0.1", "0.05"))
        _write(it1 / "outcomes" / "i1-c0.rung0.json", _outcome("i1-c0", 1.0, 4096, {"height": 0.9, "spin": -0.01}))
        _write(it1 / "summary.json", {
            "iteration": 1, "best_candidate": "i1-c0", "best_success_rate": 1.0, "improved_overall_best": True,
            "overall_best": best,
            "candidates": [
                {"id": "i1-c0", "status": "ok", "training": "ok", "success_rate": 1.0, "pruned_at_rung": None,
                 "same_as": None, "failure": "", "analysis": "succeeded in 5/5 episodes"},
                {"id": "i1-c1", "status": "ok", "training": "ok", "success_rate": 1.0, "pruned_at_rung": None,
                 "same_as": "i1-c0", "failure": "", "analysis": "same code as i1-c0"}]})
        _write(root / "best.json", best)
        _write(root / "best.py", CODE_B.replace("0.1", "0.05"))
    return root


@pytest.fixture
def synthetic_run(tmp_path) -> Path:
    return make_synthetic_run(tmp_path / "pendulum__swing-up__0__20260101-000000")


@pytest.fixture
def make_run():
    """The synthetic run builder itself, for tests that need several runs or an unfinished one."""
    return make_synthetic_run
