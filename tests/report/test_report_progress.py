"""The progress printer: plain lines off a terminal, a live panel on one, JSON lines and quiet for scripts."""

import io
import json

from rich.console import Console

from reward_coder.cli.progress import ProgressPrinter

SUMMARY = {"iteration": 0, "best_candidate": "i0-c1", "best_success_rate": 0.6, "candidates": [
    {"id": "i0-c0", "pruned_at_rung": 0, "same_as": None, "success_rate": 0.0},
    {"id": "i0-c1", "pruned_at_rung": None, "same_as": None, "success_rate": 0.6}]}


def events():
    yield "iteration_start", dict(iteration=0)
    yield "llm_request", dict(purpose="designer", n=2)
    yield "llm_response", dict(purpose="designer", n=2, cost_usd=0.0123)
    yield "candidate_checked", dict(index=0, attempt=0, status="check_failed")
    yield "candidate_checked", dict(index=0, attempt=1, status="ok")
    yield "candidate_checked", dict(index=1, attempt=0, status="ok")
    yield "critic_reviewed", dict(index=1, verdict="revise", revision="taken")
    yield "training_started", dict(n=2, budgets=[2048, 4096], duplicates=0)
    yield "training_outcome", dict(rung=0, candidate="i0-c0", status="ok", success_rate=0.0, timesteps=2048, failure="")


def terminal(width=140):
    return Console(file=io.StringIO(), force_terminal=True, width=width, color_system=None)


def test_text_mode_off_a_terminal_prints_plain_lines():
    console = Console(file=io.StringIO(), force_terminal=False, width=120)
    printer = ProgressPrinter("text", "gpt-test", console=console)
    assert not printer.live_enabled
    for kind, data in events():
        printer(kind, **data)
    printer("iteration_done", iteration=0, summary=SUMMARY)
    text = console.file.getvalue()
    assert "asking gpt-test (designer, n=2)" in text
    assert "candidate 0 attempt 1: ok" in text
    assert "i0-c0 rung 0: success 0.00 after 2048 steps" in text
    assert "iteration 0 done: best i0-c1 (success 0.60); LLM cost so far $0.0123" in text
    assert "\x1b[" not in text and "━" not in text  # no escape codes, no bars: fit for CI logs


def test_quiet_prints_nothing(capsys):
    console = Console(file=io.StringIO(), force_terminal=True)
    printer = ProgressPrinter("quiet", "m", console=console)
    for kind, data in events():
        printer(kind, **data)
    assert console.file.getvalue() == "" and capsys.readouterr().out == ""


def test_json_mode_writes_one_object_per_event(capsys):
    printer = ProgressPrinter("json", "m", console=terminal())
    for kind, data in events():
        printer(kind, **data)
    printer("iteration_done", iteration=0, summary=SUMMARY)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in records][:2] == ["iteration_start", "llm_request"]
    assert records[-1] == {**records[-1], "event": "iteration_done", "best_candidate": "i0-c1", "best_success_rate": 0.6,
                           "llm_cost_usd": 0.0123}


def test_live_panel_shows_candidates_training_progress_and_cost(tmp_path):
    training = tmp_path / "iterations" / "0" / "training"
    (training / "i0-c1").mkdir(parents=True)
    (training / "i0-c0").mkdir(parents=True)
    (training / "i0-c1" / "progress.json").write_text(json.dumps({"timesteps": 1536, "time": 0}))
    (training / "i0-c0" / "progress.json").write_text(json.dumps({"timesteps": 3072, "time": 0}))
    (training / "i0-c1" / "curve.json").write_text(json.dumps(
        [{"timesteps": 2048, "success_rate": 0.4, "metric": 0.5, "native_return": -321.5, "length": 200, "wall_s": 1}]))
    (tmp_path / "llm_journal.jsonl").write_text(
        json.dumps({"purpose": "designer", "prompt_tokens": 900, "completion_tokens": 100, "cost_usd": 0.25}) + "\n")

    console = terminal()
    printer = ProgressPrinter("text", "gpt-test", run_dir=tmp_path, console=console)
    assert printer.live_enabled
    try:
        for kind, data in events():
            printer(kind, **data)
        printer("llm_request", purpose="analyzer", n=1)
        panel = Console(file=io.StringIO(), width=140, record=True)
        panel.print(printer._panel())
        text = panel.export_text()
    finally:
        printer.close()
    assert "iteration 0" in text and "1 call(s), 1,000 tokens, cost so far $0.2500" in text
    assert "asking gpt-test: analyzer" in text  # the spinner line while the LLM works
    assert "i0-c0" in text and "check_failed" not in text and "ok (2 tries)" in text
    assert "revise (revised)" in text
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("i0-")}
    # polled from the trainer's files: steps within a rung (progress.json), success so far (curve.json)
    assert "2,048/4,096" in rows["i0-c1"] and "0.40" in rows["i0-c1"] and "-321.5" in rows["i0-c1"]
    assert "rung 0" in rows["i0-c1"]
    assert "3,072/4,096" in rows["i0-c0"] and "rung 1" in rows["i0-c0"]  # past rung 0's budget: in rung 1


def test_live_panel_stops_at_the_end_of_an_iteration(tmp_path):
    console = terminal()
    printer = ProgressPrinter("text", "m", run_dir=tmp_path, console=console)
    for kind, data in events():
        printer(kind, **data)
    assert printer._live is not None
    printer("training_pruned", candidate="i0-c0", rung=0)
    printer("iteration_done", iteration=0, summary=SUMMARY)
    assert printer._live is None
    out = console.file.getvalue()
    assert "pruned after rung 0" in out and "iteration 0 done" in out
    printer.close()  # idempotent


def test_screening_verdicts_and_skipped_paths_print_a_line_each():
    console = Console(file=io.StringIO(), force_terminal=False, width=160)
    printer = ProgressPrinter("text", "m", console=console)
    printer("screening", candidate="i1-c0", verdict="rejected", auc=0.12, reason="ranks failed episodes first",
            sandbox_s=0.4, episodes=40, trained=False)
    printer("screening", candidate="i1-c1", verdict="passed", auc=0.91, reason="", sandbox_s=0.3, episodes=40,
            trained=True)
    printer("screening", candidate="i1-c2", verdict="failed", auc=None, reason="raised on stored states",
            sandbox_s=0.1, episodes=40, trained=True)
    printer("screening", candidate="i0-c0", verdict="undecided", auc=None, reason="undecided: 0 successful episodes",
            sandbox_s=0.0, episodes=0, trained=True)
    printer("shared_replay_skipped", reason="PPO is on-policy")
    text = " ".join(console.file.getvalue().split())
    assert "screening i1-c0: rejected, not trained: ranks failed episodes first" in text
    assert "screening i1-c1: passed (AUC 0.91, 40 earlier episodes)" in text
    assert "screening i1-c2: failed, trained anyway (--no-screen): raised on stored states" in text
    assert "screening i0-c0: undecided: 0 successful episodes" in text
    assert "shared replay not used: PPO is on-policy" in text
