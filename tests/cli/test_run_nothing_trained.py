"""`run` exits non-zero when no candidate of the whole run trained, and its final table says why for each.

The answers are hand-written stand-ins (written by the test into a file whose name says so) that can never
pass extraction or the checks, so the outcome does not depend on how lenient extraction becomes.
"""

import json

from typer.testing import CliRunner

from reward_coder.cli.main import app
from reward_coder.cli.run_cmd import NOTHING_TRAINED_EXIT_CODE, candidate_note

runner = CliRunner()

STANDIN_NO_CODE = "I would reward the pendulum for staying upright."
STANDIN_UNKNOWN_FIELD = ("```python\nimport numpy as np\n\ndef compute_reward(state, action, next_state):\n"
                         "    up = next_state.pole_height\n    return up, {'up': up}\n```")


def test_run_with_nothing_trained_exits_non_zero_with_the_reason_of_each_candidate(tmp_path):
    key = "pendulum/swing-up"
    records = [
        {"purpose": "designer", "task_key": key, "iteration": 0, "samples": [STANDIN_NO_CODE, STANDIN_UNKNOWN_FIELD]},
        {"purpose": "repair", "task_key": key, "iteration": 0, "label": "c0-r0", "samples": [STANDIN_NO_CODE]},
        {"purpose": "repair", "task_key": key, "iteration": 0, "label": "c1-r0", "samples": [STANDIN_UNKNOWN_FIELD]},
    ]
    journal = tmp_path / "nothing-trains.handwritten-standin.jsonl"
    journal.write_text("".join(json.dumps(r) + "\n" for r in records))
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["run", "--task", key, "--model", f"replay-loose:{journal}", "-k", "2", "--iterations", "1",
                                 "--timesteps", "4096", "--eval-episodes", "2", "--executor", "inline",
                                 "--progress", "quiet", "--out", str(run_dir)])
    assert result.exit_code == NOTHING_TRAINED_EXIT_CODE != 0, result.stderr + result.stdout
    assert "no candidate was trained in this run" in result.stderr
    assert "extract_failed" in result.stdout and "check_failed" in result.stdout
    summary = json.loads((run_dir / "iterations/0/summary.json").read_text())
    assert summary["trained"] is False
    assert not (run_dir / "best.py").exists()
    # the table's note of each candidate (wrapped over lines in the table) says why it did not train
    notes = [candidate_note(c, summary["best_candidate"]) for c in summary["candidates"]]
    assert notes[0].startswith("2 attempts, 1 unchanged; no usable code in the answer: no_code")
    assert notes[1].startswith("2 attempts, 1 unchanged; failed the checks on real states:")
    assert "pole_height" in notes[1]
    first_words = notes[0].split()[:3]
    assert all(word in result.stdout for word in first_words)
