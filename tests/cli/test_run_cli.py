"""`run`, `resume` and `refine` end to end with real (tiny) training, offline on the stand-in answers."""

import json

from typer.testing import CliRunner

from reward_coder.cli.main import app

runner = CliRunner()


def test_run_then_resume_then_refine(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "replay:standins", "-k", "3",
                                 "--iterations", "1", "--timesteps", "4096", "--eval-episodes", "2", "--final-seeds", "1",
                                 "--workers", "2", "--out", str(run_dir)])
    assert result.exit_code == 0, result.stderr + result.stdout
    state = json.loads((run_dir / "state.json").read_text())
    assert state["status"] == "finished" and state["iterations_done"] == 1
    summary = json.loads((run_dir / "iterations/0/summary.json").read_text())
    assert [c["id"] for c in summary["candidates"]] == ["i0-c0", "i0-c1", "i0-c2"]
    assert all(c["training"] == "ok" for c in summary["candidates"])  # real training, sandboxed reward
    assert (run_dir / "best.py").exists()
    curve = json.loads((run_dir / "iterations/0/training/i0-c0/curve.json").read_text())
    assert curve and curve[-1]["timesteps"] >= 4096
    assert "best reward:" in result.stdout

    # resuming a finished run redoes nothing: no new LLM call, no training
    journal_lines = (run_dir / "llm_journal.jsonl").read_text().count("\n")
    result = runner.invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.stderr
    assert (run_dir / "llm_journal.jsonl").read_text().count("\n") == journal_lines

    # resume can change how the LLM is asked (an endpoint that moved, a flaky one); config.json records it
    result = runner.invoke(app, ["resume", str(run_dir), "--retries", "3", "--timeout", "30"])
    assert result.exit_code == 0, result.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["llm_retries"], config["llm_timeout_s"], config["model"]) == (3, 30.0, "replay:standins")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = runner.invoke(app, ["resume", str(run_dir), "--model", "gpt-4o"])
    assert result.exit_code == 2 and "needs OPENAI_API_KEY" in result.stderr
    assert json.loads((run_dir / "config.json").read_text()) == config  # a refused change changes nothing

    # human feedback goes into the next designer prompt, and one more iteration runs
    result = runner.invoke(app, ["refine", str(run_dir), "--feedback", "it spins at the top; damp it there"])
    assert result.exit_code == 0, result.stderr + result.stdout
    prompt = (run_dir / "iterations/1/prompts/1_user.txt").read_text()
    assert "## Feedback from the user\n- it spins at the top; damp it there" in prompt
    assert "## Results of the last iteration" in prompt and "i0-c1" in prompt
    assert json.loads((run_dir / "state.json").read_text())["iterations_done"] == 2


def test_run_refuses_an_existing_run_folder(tmp_path):
    (tmp_path / "state.json").write_text("{}")
    result = runner.invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "replay:standins", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "reward-coder resume" in result.stderr


def test_refine_needs_feedback_and_a_run(tmp_path):
    result = runner.invoke(app, ["refine", str(tmp_path), "--feedback", "  "])
    assert result.exit_code == 2 and "--feedback is empty" in result.stderr
    result = runner.invoke(app, ["refine", str(tmp_path), "--feedback", "more"])
    assert result.exit_code == 2 and "not a run folder" in result.stderr
