"""Reading a run folder into the report model, and rendering it, on small synthetic runs (no training)."""

import re

from typer.testing import CliRunner

from reward_coder.cli.main import app
from reward_coder.report import build_report, read_run
from reward_coder.report.build import code_diff
from reward_coder.report.runs import list_runs
from reward_coder.store import RunStore

runner = CliRunner()


def test_read_run_finds_every_candidate_with_its_history(synthetic_run):
    run = read_run(synthetic_run)
    assert [c.id for c in run.all_candidates] == ["i0-c0", "i0-c1", "i1-c0", "i1-c1"]
    by_id = {c.id: c for c in run.all_candidates}

    repaired = by_id["i0-c0"]
    assert [a.source for a in repaired.attempts] == ["designer", "repair"]
    assert "syntax_error" in repaired.attempts[0].problem
    # the broken first attempt had no extracted code: the diff uses its raw code block
    assert repaired.diffs[0].title.startswith("first attempt → final (repair)")
    assert any(line.kind == "add" and "next_state):" in line.text for line in repaired.diffs[0].lines)
    assert repaired.pruned_at_rung == 0 and repaired.rungs_run == 1

    revised = by_id["i0-c1"]
    assert [a.source for a in revised.attempts] == ["designer", "critic revision"]
    assert [(r.verdict, r.revision_status) for r in revised.critic] == [("revise", "taken")]
    assert revised.rungs_run == 2 and revised.timesteps == 4096  # the last rung's outcome
    assert set(revised.train_term_stats) == {"height", "spin"}

    # iteration 1 is diffed against the best so far when it started (i0-c1), not against its own attempts
    best_diff = by_id["i1-c0"].diffs[-1]
    assert best_diff.title == "best so far i0-c1 → this" and best_diff.added == 1 and best_diff.removed == 1
    assert by_id["i1-c0"].is_overall_best and by_id["i1-c0"].is_iteration_best
    assert by_id["i1-c1"].same_as == "i1-c0" and by_id["i1-c1"].curve  # the duplicate shows the original's curve

    assert run.iterations[1].human_feedback == "keep the pole still at the top"
    assert run.iterations[1].best_before["candidate"] == "i0-c1"


def test_llm_usage_sums_the_journal_and_ignores_a_torn_line(synthetic_run):
    usage = read_run(synthetic_run).usage
    assert usage.calls == 3 and usage.cached == 1
    assert usage.prompt_tokens == 3000 and usage.completion_tokens == 800
    assert abs(usage.cost_usd - 0.017) < 1e-9
    assert usage.by_purpose["repair"]["calls"] == 1


def test_code_diff_types_each_line():
    diff = code_diff("a\nb\nc\n", "a\nB\nc\nd\n", "t", "old", "new")
    kinds = [line.kind for line in diff.lines]
    assert kinds[:3] == ["meta", "meta", "hunk"]
    assert (diff.added, diff.removed) == (2, 1)


def test_report_html_is_self_contained_and_shows_everything(synthetic_run):
    report = build_report(synthetic_run, video=False)
    html = report.html
    for cid in ("i0-c0", "i0-c1", "i1-c0", "i1-c1"):
        assert f'id="cand-{cid}"' in html
    assert html.count('src="data:image/png;base64,') >= 4  # iteration curves and per-candidate plots
    assert not re.search(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', html, re.I)
    assert "<script" not in html.lower()
    assert "keep the pole still at the top" in html  # human feedback
    assert "sin is the wrong field" in html  # critic notes
    assert "Environment: Pendulum-v1" in html  # the env card as shown to the LLM
    assert "$0.0170" in html  # cost
    assert "No rollout video: skipped (--no-video)" in html
    assert report.candidates == ("i0-c0", "i0-c1", "i1-c0", "i1-c1")


def test_a_run_still_in_progress_renders(make_run, tmp_path):
    root = make_run(tmp_path / "running", finished=False)
    html = build_report(root, video=False).html
    assert "in progress or interrupted" in html and "i1-c0" in html
    assert "No candidate has been trained successfully yet." in html


def test_a_missing_checkpoint_becomes_a_sentence_not_a_crash(synthetic_run):
    report = build_report(synthetic_run, video=True)
    assert "no checkpoint" in report.video_note
    assert "No rollout video: no checkpoint" in report.html


def test_report_command_writes_into_the_run_folder_and_says_how_big(synthetic_run):
    result = runner.invoke(app, ["report", str(synthetic_run), "--no-video"])
    assert result.exit_code == 0, result.stderr
    assert (synthetic_run / "report.html").is_file()
    assert "report.html" in result.stdout and "KB" in result.stdout and "built in" in result.stdout


def test_report_command_on_a_folder_that_is_not_a_run(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code != 0
    assert "is not a run folder" in result.stderr and "Traceback" not in result.stderr


def test_runs_lists_newest_first_and_skips_other_folders(make_run, tmp_path):
    make_run(tmp_path / "zzrun1", started=1_000.0)
    make_run(tmp_path / "zzrun2", started=2_000.0, finished=False)
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "generate__x").mkdir()
    (tmp_path / "generate__x" / "config.json").write_text("{}")
    assert list_runs(tmp_path)[0].status == "dead (resume it)"  # says running, but no process holds it
    owner = RunStore(tmp_path / "zzrun2")
    owner.acquire("reward-coder run")  # now a live process (this one) owns the unfinished run
    try:
        listed = list_runs(tmp_path)
        assert [r.path.name for r in listed] == ["zzrun2", "zzrun1"]
        assert listed[1].best_success_rate == 1.0 and abs(listed[1].cost_usd - 0.017) < 1e-9
        assert listed[0].status == "running" and listed[0].best_candidate is None
        assert listed[0].task == "pendulum/swing-up"

        result = runner.invoke(app, ["runs", "--dir", str(tmp_path)])
        assert result.exit_code == 0, result.stderr
        assert "$0.0170" in result.stdout and "finished" in result.stdout and "running" in result.stdout
    finally:
        owner.release()
    assert result.stdout.index("zzrun2") < result.stdout.index("zzrun1")
    assert "not-a-run" not in result.stdout and "generate__x" not in result.stdout


def test_runs_in_an_empty_folder_says_so(tmp_path):
    result = runner.invoke(app, ["runs", "--dir", str(tmp_path / "nothing")])
    assert result.exit_code == 0
    assert "no runs in" in result.stdout and "reward-coder demo" in result.stdout


def test_runs_and_report_say_how_many_seeds_and_episodes_stand_behind_the_best():
    from reward_coder.report.runs import best_figure
    from reward_coder.stats import seed_stats

    final = {"episodes_per_seed": 10, "held_out": {"success_rate": seed_stats([0.7, 0.8, 0.9]).to_dict()}}
    text = best_figure({"success_rate": 0.8, "final": final})
    assert text.startswith("0.80 ± 0.10 [") and text.endswith("(n=3 seeds x 10 episodes)")
    one = {"episodes_per_seed": 10, "held_out": {"success_rate": seed_stats([0.7]).to_dict()}}
    assert best_figure({"success_rate": 0.7, "final": one}) == "0.70 (n=1 seeds x 10 episodes; no interval)"
    assert best_figure({"success_rate": 0.7}) == "0.70 (selection run, 1 seed)"
