"""Repairs that move: a repair that sends back the code it was asked to fix is noticed, said so in the next
repair prompt (with the earlier error shown again), marked in the record, and counted honestly.

The scripted answers here are hand-written stand-ins (named `standin_*`), except in the test on the
recorded journal, whose answers were written by a real model (tests/fixtures/realmodel/).
"""

from __future__ import annotations

import json
from pathlib import Path

from reward_coder.design import (
    UNCHANGED_SIMILARITY,
    Attempt,
    DesignPrompt,
    candidate_from_dict,
    candidate_record,
    candidate_to_dict,
    design_candidates,
    describe_attempts,
    evaluate_response,
    mark_unchanged,
    repair_similarity,
)
from reward_coder.llm import ScriptedCompleter
from reward_coder.tasks import resolve_task
from reward_coder.types import CheckIssue, CheckReport

REALMODEL = Path(__file__).parent / "fixtures" / "realmodel"


def standin_answer(body: str, prose: str = "Here is the reward.") -> str:
    """A hand-written stand-in LLM answer around the given function body."""
    return (f"{prose}\n\n```python\nimport numpy as np\n\n"
            f"def compute_reward(state, action, next_state):\n{body}\n```\n")


STANDIN_BROKEN = standin_answer("    upright = next_state.angle  # BROKEN\n    return upright, {'upright': upright}")
STANDIN_BROKEN_AGAIN = standin_answer(
    "    # I fixed the field name\n    upright = next_state.angle  # BROKEN\n\n"
    "    return upright, {'upright': upright}",
    prose="Sorry for the mistake, here is the corrected function.")
STANDIN_FIXED = standin_answer("    upright = next_state.cos_theta\n    return upright, {'upright': upright}")


def standin_checker(code: str) -> CheckReport:
    """Stand-in for the sandboxed check: code that reads `next_state.angle` fails as the real check would say."""
    if "next_state.angle" in code:
        return CheckReport(ok=False, issues=(CheckIssue("unknown-field", "unknown field 'angle'", "error", line=4),))
    return CheckReport(ok=True)


def always_failing_checker(code: str) -> CheckReport:
    """Stand-in check that refuses every code, so a test of repairs does not depend on today's checks."""
    return CheckReport(ok=False, issues=(CheckIssue("standin-refusal", "refused by the stand-in checker", "error"),))


def _design(responses, checker=standin_checker, repair_attempts=2, samples=1):
    task = resolve_task("pendulum/swing-up", None, None)
    scripted = ScriptedCompleter(responses)
    prompt = DesignPrompt(instruction=task.instruction, env_description="fields: cos_theta",
                          success_description="upright")
    _, candidates = design_candidates(scripted, task.card, prompt, checker, samples=samples, task_key=task.key,
                                      repair_attempts=repair_attempts)
    return candidates, scripted


def test_a_repair_with_the_same_code_is_marked_and_the_next_repair_prompt_says_so():
    candidates, scripted = _design([[STANDIN_BROKEN], [STANDIN_BROKEN_AGAIN], [STANDIN_FIXED]])
    (candidate,) = candidates
    assert candidate.status == "ok"
    assert [a.unchanged for a in candidate.attempts] == [False, True, False]
    assert candidate.attempts_text() == "3 attempts, 1 unchanged"
    first_repair, second_repair = [r.messages[-1].content for r in scripted.requests if r.purpose == "repair"]
    assert "repeated" not in first_repair  # the first repair prompt has nothing to say about repeats
    assert "Your answer repeated the same code as the attempt before it" in second_repair
    # the earlier attempt's error is shown again, under its own heading
    repeated_part = second_repair.split("Its error, again:")[1].split("Problems found:")[0]
    assert "unknown field 'angle' (unknown-field)" in repeated_part


def test_a_real_change_is_not_marked_unchanged():
    candidates, scripted = _design([[STANDIN_BROKEN], [STANDIN_FIXED]])
    (candidate,) = candidates
    assert [a.unchanged for a in candidate.attempts] == [False, False]
    assert candidate.attempts_text() == "2 attempts"
    assert len([r for r in scripted.requests if r.purpose == "repair"]) == 1


def test_near_identical_code_counts_as_unchanged_and_a_small_real_edit_does_not():
    body = "\n".join(f"    term_{i} = next_state.angle * {i}.0 - next_state.angular_velocity ** 2 / {i + 1}.0"
                     for i in range(12)) + "\n    return term_0, {'t': term_0}"
    before = evaluate_response(standin_answer(body), standin_checker)
    renamed = evaluate_response(standin_answer(body.replace("term_11", "term_xi")), standin_checker)
    rewritten = evaluate_response(standin_answer("    up = next_state.cos_theta\n    return up, {'up': up}"),
                                  standin_checker)
    near = repair_similarity(before, renamed)
    assert UNCHANGED_SIMILARITY <= near < 1.0
    assert mark_unchanged(before, renamed).unchanged
    assert repair_similarity(before, rewritten) < UNCHANGED_SIMILARITY
    assert not mark_unchanged(before, rewritten).unchanged


def test_the_same_answer_without_code_is_unchanged_but_code_after_no_code_is_a_change():
    no_code = "I cannot write code for this task."
    first = evaluate_response(no_code, standin_checker)
    assert mark_unchanged(first, evaluate_response("I  cannot write code\nfor this task.", standin_checker)).unchanged
    assert not mark_unchanged(first, evaluate_response(STANDIN_BROKEN, standin_checker)).unchanged
    assert repair_similarity(first, evaluate_response(STANDIN_BROKEN, standin_checker)) is None


def test_the_mark_survives_the_record_and_the_summary_counts_it():
    candidates, _ = _design([[STANDIN_BROKEN], [STANDIN_BROKEN_AGAIN]], repair_attempts=1)
    (candidate,) = candidates
    restored = candidate_from_dict(json.loads(json.dumps(candidate_to_dict(candidate))))
    assert [a.unchanged for a in restored.attempts] == [False, True]
    record = candidate_record(restored)
    assert record["attempts"] == 2 and record["unchanged_repairs"] == 1
    assert record["attempts_text"] == "2 attempts, 1 unchanged"
    assert "repeated the code it was asked to fix" in record["failure"]
    # a record written before the mark existed reads as not unchanged
    old = candidate_to_dict(candidate)
    for attempt in old["attempts"]:
        attempt.pop("unchanged")
    assert candidate_from_dict(old).unchanged_repairs == 0


def test_describe_attempts_reads_as_a_person_counts():
    assert describe_attempts(1, 0) == "1 attempt"
    assert describe_attempts(3, 0) == "3 attempts"
    assert describe_attempts(2, 1) == "2 attempts, 1 unchanged"


def test_recorded_real_repairs_that_repeat_the_designer_answer_are_caught():
    """Qwen2.5-Coder 0.5B (real answers): both repairs of this journal send back the code they were asked to fix."""
    records = [json.loads(line) for line in
               (REALMODEL / "qwen2.5-coder-0.5b.generate-pendulum-t0.2.jsonl").read_text().splitlines() if line]
    designer = next(r for r in records if r["purpose"] == "designer")
    repairs = {r["label"]: r for r in records if r["purpose"] == "repair"}
    responses = [designer["samples"], repairs["c0-r0"]["samples"], repairs["c1-r0"]["samples"]]
    candidates, scripted = _design(responses, checker=always_failing_checker, repair_attempts=1, samples=2)
    assert [c.attempts_text() for c in candidates] == ["2 attempts, 1 unchanged", "2 attempts, 1 unchanged"]
    assert scripted.remaining == 0


def test_report_counts_unchanged_attempts(tmp_path):
    from reward_coder.report import build_report, read_run

    candidates, _ = _design([[STANDIN_BROKEN], [STANDIN_BROKEN_AGAIN]], repair_attempts=1)
    run = tmp_path / "run"
    (run / "iterations/0").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"instruction": "swing up", "env": "pendulum", "model": "scripted"}))
    (run / "state.json").write_text(json.dumps({"status": "finished", "iterations_done": 1, "best": None}))
    (run / "iterations/0/design.json").write_text(json.dumps([candidate_to_dict(c) for c in candidates]))
    view = read_run(run)
    (candidate,) = view.iterations[0].candidates
    assert [a.unchanged for a in candidate.attempts] == [False, True]
    html = build_report(run, video=False).html
    assert "2 (1 unchanged)" in html
    assert "unchanged: repeated the code it had to fix" in html


def test_progress_shows_an_unchanged_repair_in_its_line_and_in_the_live_panel():
    import io

    from rich.console import Console

    from reward_coder.cli.progress import ProgressPrinter

    plain = Console(file=io.StringIO(), force_terminal=False, width=160)
    printer = ProgressPrinter("text", "m", console=plain)
    printer("iteration_start", iteration=0)
    printer("candidate_checked", index=0, attempt=0, status="check_failed")
    printer("candidate_checked", index=0, attempt=1, status="check_failed", unchanged=True)
    assert "candidate 0 attempt 1: check_failed (unchanged: the repair repeated the code it had to fix)" in (
        plain.file.getvalue())
    live = Console(file=io.StringIO(), force_terminal=True, width=160, color_system=None)
    panel = ProgressPrinter("text", "m", console=live, live=False)
    for attempt, unchanged in ((0, False), (1, True), (2, False)):
        panel("candidate_checked", index=0, attempt=attempt, status="check_failed", unchanged=unchanged)
    live.print(panel._table())
    assert "check_failed (3 tries, 1 unchanged)" in live.file.getvalue()
