"""`reward-coder bench answers`: recorded answers replayed through today's extraction and the loop's checker.

One test runs on a small journal of real model answers (tests/fixtures/realmodel/); the others on a journal
of hand-written stand-in answers written by the test (file names say so), whose outcome is known.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reward_coder.bench.answers import bench_answers, markdown_table
from reward_coder.cli.main import app
from reward_coder.extract import extract_reward_code
from reward_coder.types import CheckIssue, CheckReport

REALMODEL = Path(__file__).parent / "fixtures" / "realmodel"
SMALL_REAL_JOURNAL = REALMODEL / "qwen2.5-coder-0.5b.generate-pendulum-t0.2.jsonl"

runner = CliRunner()

STANDIN_GOOD = ("```python\nimport numpy as np\n\ndef compute_reward(state, action, next_state):\n"
                "    upright = next_state.cos_theta\n    effort = -0.001 * np.sum(action ** 2, axis=-1)\n"
                "    return upright + effort, {'upright': upright, 'effort': effort}\n```")
STANDIN_UNKNOWN_FIELD = STANDIN_GOOD.replace("next_state.cos_theta", "next_state.pole_height")
STANDIN_NO_CODE = "Reward the pole for being upright and penalize torque."


def write_standin_journal(folder: Path, task_key: str = "pendulum/swing-up") -> Path:
    """A journal of hand-written stand-in answers: one good reward, one unknown field, one without code."""
    records = [
        {"purpose": "designer", "task_key": task_key, "iteration": 0, "label": "",
         "samples": [STANDIN_GOOD, STANDIN_UNKNOWN_FIELD, STANDIN_NO_CODE]},
        {"purpose": "repair", "task_key": task_key, "iteration": 0, "label": "c1-r0",
         "samples": [STANDIN_UNKNOWN_FIELD.replace("Reward", "Fixed reward")]},  # same code as what it repairs
        {"purpose": "analyzer", "task_key": task_key, "iteration": 0, "label": "i0-c0",
         "samples": ["The policy holds the pole upright."]},
    ]
    path = folder / "bench-answers.handwritten-standin.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_real_journal_figures_match_the_answers_it_holds():
    result = bench_answers([SMALL_REAL_JOURNAL])
    records = [json.loads(line) for line in SMALL_REAL_JOURNAL.read_text().splitlines() if line.strip()]
    texts = {purpose: [s for r in records if r["purpose"] == purpose for s in r["samples"]]
             for purpose in ("designer", "repair")}
    (journal,) = result["journals"]
    assert journal["card"] == "pendulum" and journal["checked_as"] == "pendulum/swing-up"
    for purpose, answers in texts.items():
        row = journal["purposes"][purpose]
        assert row["answers"] == len(answers)
        assert row["extracted"] == sum(hasattr(extract_reward_code(t), "code") for t in answers)
        assert 0 <= row["passed"] <= row["extracted"]
        assert sum(row["failures"].values()) >= row["answers"] - row["passed"]  # each failure has a code
    assert journal["purposes"]["all"]["answers"] == sum(len(a) for a in texts.values())
    # both recorded repairs send back the very code they were asked to fix
    assert journal["purposes"]["repair"]["repairs_identical_to_repaired"] == 2
    assert result["total"]["all"] == journal["purposes"]["all"]
    assert len(result["answers"]) == 4 and all(a["code"] for a in result["answers"])


def test_standin_journal_counts_passes_failures_by_code_and_skips_non_code_purposes(tmp_path):
    result = bench_answers([write_standin_journal(tmp_path)])
    purposes = result["journals"][0]["purposes"]
    designer = purposes["designer"]
    assert (designer["answers"], designer["extracted"], designer["passed"]) == (3, 2, 1)
    assert designer["failures"]["extract:no_code"] == 1
    assert designer["failures"]["unknown-field"] == 1
    assert purposes["repair"]["repairs_identical_to_repaired"] == 1
    assert purposes["analyzer"]["answers"] == 1 and purposes["all"]["answers"] == 4  # counted, never checked
    good = next(a for a in result["answers"] if a["purpose"] == "designer" and a["sample"] == 0)
    assert good["passed"] and "cos_theta" in good["code"]
    table = markdown_table(result)
    assert "| bench-answers.handwritten-standin | designer | 3 | 2 | 1 |" in table


def test_a_custom_task_key_is_checked_on_its_card_and_task_overrides_it(tmp_path):
    path = write_standin_journal(tmp_path, task_key="pendulum/custom-0123abcd")
    result = bench_answers([path])
    assert result["journals"][0]["card"] == "pendulum"
    result = bench_answers([path], task_key="pendulum/swing-up")
    assert result["journals"][0]["checked_as"] == "pendulum/swing-up"


def test_direction_flags_are_counted_from_the_checkers_issues(tmp_path, monkeypatch):
    """The checker stands in for one with a direction rule: flags are counted wherever it reports them."""
    import reward_coder.generate as generate

    def standin_make_checker(task, config, on_event):
        def checker(code: str) -> CheckReport:
            flagged = "cos_theta" in code
            issues = (CheckIssue("reward-direction", "prefers hanging states", "warning"),) if flagged else ()
            return CheckReport(ok=True, issues=issues)
        return checker

    monkeypatch.setattr(generate, "make_checker", standin_make_checker)
    result = bench_answers([write_standin_journal(tmp_path)])
    designer = result["journals"][0]["purposes"]["designer"]
    assert designer["direction_flagged"] == 1 and designer["passed_and_direction_flagged"] == 1
    assert designer["warnings"] == {"reward-direction": 1}


def test_cli_writes_the_figures_and_prints_the_table(tmp_path):
    out = tmp_path / "figures.json"
    result = runner.invoke(app, ["bench", "answers", str(write_standin_journal(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.stderr + result.stdout
    figures = json.loads(out.read_text())
    assert figures["total"]["designer"]["passed"] == 1
    assert figures["command"].startswith("reward-coder bench answers ")
    assert "| journal | purpose | answers | with code | passed checks |" in result.stdout

    result = runner.invoke(app, ["bench", "answers"])
    assert result.exit_code == 2 and "usage: reward-coder bench answers" in result.stderr
    result = runner.invoke(app, ["bench", "answers", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "no such journal" in result.stderr


def test_a_recorded_free_text_task_is_rebuilt_from_its_instruction():
    from reward_coder.bench.answers import journal_instruction, journal_task_key, read_journal, task_for

    records = read_journal(REALMODEL / "qwen2.5-coder-0.5b.generate-pendulum.jsonl")
    key = journal_task_key(records)
    assert key.startswith("pendulum/custom-")
    instruction = journal_instruction(records)
    assert instruction == "make the pendulum swing up and balance"
    assert task_for(key, instruction).key == key  # the same free-text task the answers were written for
