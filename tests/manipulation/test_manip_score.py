"""Bench arithmetic: Eureka's human-normalized score, statistics over ok seeds (failed runs left out, never
counted as 0), curves and tables."""

from __future__ import annotations

import csv
import io

import pytest

from reward_coder.bench.html import render_report
from reward_coder.bench.score import (
    JobResult,
    markdown_table,
    normalized_score,
    summarize,
    summary_csv,
)
from reward_coder.bench.suite import Suite

REFUSED = "check failed: line 1: no-import: import of 'os' is not allowed"


def _result(task: str, method: str, seed: int, rate: float | None, status: str = "ok",
            curve: tuple[tuple[int, float], ...] = (), failure: str = "",
            native: float | None = None) -> JobResult:
    kind = method if method in ("expert", "sparse") else "reward"
    return JobResult(job_id=f"{task}-{method}-{seed}", task=task, method=method, kind=kind, seed=seed,
                     status=status, success_rate=rate, curve=curve, wall_s=10.0, failure=failure,
                     native_return=native)


def _table_row(table: str, first_cell: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {first_cell} |"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_normalized_score_hand_computed() -> None:
    # (0.6 - 0.2) / |0.7 - 0.2| = 0.4 / 0.5
    assert normalized_score(0.6, sparse=0.2, expert=0.7) == pytest.approx(0.8)
    assert normalized_score(0.7, sparse=0.2, expert=0.7) == pytest.approx(1.0)
    assert normalized_score(0.2, sparse=0.2, expert=0.7) == pytest.approx(0.0)
    assert normalized_score(0.95, sparse=0.2, expert=0.7) == pytest.approx(1.5)  # better than the expert
    assert normalized_score(0.1, sparse=0.2, expert=0.7) == pytest.approx(-0.2)
    # |expert - sparse| in the denominator: an expert worse than sparse flips nothing's sign
    assert normalized_score(0.5, sparse=0.3, expert=0.1) == pytest.approx(1.0)


def test_normalized_score_is_undefined_when_expert_equals_sparse() -> None:
    assert normalized_score(0.5, sparse=0.0, expert=0.0) is None
    assert normalized_score(0.0, sparse=0.4, expert=0.4) is None
    assert normalized_score(None, sparse=0.0, expert=1.0) is None
    assert normalized_score(0.5, sparse=None, expert=1.0) is None


def test_summary_over_seeds_leaves_every_failed_run_out_and_counts_it_by_kind() -> None:
    task = "metaworld-reach/reach"
    results = [
        _result(task, "expert", 0, 0.8, curve=((100, 0.2), (200, 0.8)), native=400.0),
        _result(task, "expert", 1, 0.6, curve=((100, 0.4), (200, 0.6)), native=200.0),
        _result(task, "sparse", 0, 0.0),
        _result(task, "sparse", 1, 0.2),
        _result(task, "mine", 0, 0.5, curve=((100, 0.5), (200, 0.5), (300, 0.9)), native=300.0),
        _result(task, "mine", 1, None, status="reward_failed", failure="reward returned NaN at step 96"),
        _result(task, "mine", 2, None, status="crashed", failure="worker died (MemoryError)"),
        _result(task, "mine", 3, None, status="reward_failed", failure=REFUSED),
    ]
    summary = summarize(results, [task], ["expert", "sparse", "mine"])
    expert, sparse, mine = (summary.row(task, m) for m in ("expert", "sparse", "mine"))
    assert expert.success.n == 2 and expert.success.mean == pytest.approx(0.7)
    assert expert.success.std == pytest.approx(0.141421, abs=1e-6)  # sample std (ddof=1) of 0.8 and 0.6
    assert (expert.success.ci_low, expert.success.ci_high) == (pytest.approx(0.6), pytest.approx(0.8))
    assert expert.success.iqm == pytest.approx(0.7)
    assert expert.native_return.mean == pytest.approx(300.0) and expert.native_return.n == 2
    assert expert.curve == ((100, pytest.approx(0.3), 0.2, 0.4), (200, pytest.approx(0.7), 0.6, 0.8))
    assert sparse.success.mean == pytest.approx(0.1)
    assert (mine.seeds, mine.ok, mine.refused, mine.reward_failed, mine.crashed) == (4, 1, 1, 1, 1)
    assert mine.first_failure == {"refused": REFUSED, "reward_failed": "reward returned NaN at step 96",
                                  "crashed": "worker died (MemoryError)"}
    # the failed seeds are not zeros: the mean is the one ok seed's 0.5, not 0.5 / 4 or 0.5 / 2
    assert (mine.success.n, mine.success.mean, mine.success.std, mine.success.ci_low) == (1, 0.5, None, None)
    assert mine.native_return.n == 1 and mine.native_return.mean == 300.0
    # (0.5 - 0.1) / |0.7 - 0.1|
    assert mine.normalized_score == pytest.approx(0.4 / 0.6)
    assert expert.normalized_score == pytest.approx(1.0) and sparse.normalized_score == pytest.approx(0.0)
    assert mine.curve == ((100, 0.5, 0.5, 0.5), (200, 0.5, 0.5, 0.5), (300, 0.9, 0.9, 0.9))
    table = markdown_table(summary)
    assert _table_row(table, task)[3] == "0.50 ± n/a, IQM 0.50, CI n/a (n=1; 1 refused, 1 reward failed, 1 crashed)"
    assert _table_row(table, task)[1] == "0.70 ± 0.14, IQM 0.70, CI [0.60, 0.80] (n=2)"


def test_a_refused_reward_shows_its_reason_and_is_left_out_of_every_mean() -> None:
    a, b = "card-a/task", "card-b/task"
    results = [
        _result(a, "expert", 0, 1.0), _result(a, "sparse", 0, 0.0),
        _result(a, "mine", 0, None, status="reward_failed", failure=REFUSED),
        _result(b, "expert", 0, 0.6), _result(b, "sparse", 0, 0.2), _result(b, "mine", 0, 0.4),
    ]
    summary = summarize(results, [a, b], ["expert", "sparse", "mine"])
    refused = summary.row(a, "mine")
    assert (refused.refused, refused.ok, refused.success.mean, refused.normalized_score) == (1, 0, None, None)
    # the overall mean is b's 0.4 alone (a zero for a would have made it 0.2), and says it covers 1 of 2 tasks
    assert summary.overall["mine"]["success_mean"] == pytest.approx(0.4)
    assert (summary.overall["mine"]["success_tasks"], summary.overall["mine"]["tasks"]) == (1, 2)
    assert summary.overall["mine"]["normalized_score_mean"] == pytest.approx(0.5)
    table = markdown_table(summary)
    assert _table_row(table, a)[3] == f"refused: {REFUSED}"
    assert _table_row(table, a)[4] == "n/a"  # no normalized score for a refused reward, not -0.0 or 0
    assert _table_row(table, "all tasks")[3] == "0.40 (mean over 1 of 2 tasks)"
    assert _table_row(table, "all tasks")[1] == "0.80 (mean over 2 of 2 tasks)"
    rows = {(r["task"], r["method"]): r for r in csv.DictReader(io.StringIO(summary_csv(summary)))}
    assert rows[(a, "mine")]["success"] == f"refused: {REFUSED}"
    assert rows[(a, "mine")]["success_mean"] == "" and rows[(a, "mine")]["success_n"] == "0"
    assert rows[(a, "mine")]["refused"] == "1" and rows[(a, "mine")]["first_failure"] == f"refused: {REFUSED}"
    page = render_report(Suite("unit", (a, b), "PPO", 100, (0,)), summary, results)
    assert f"refused: {REFUSED}".replace("'", "&#x27;") in page and "0.40 (mean over 1 of 2 tasks)" in page


def test_reward_failed_and_crashed_rows_name_their_kind_and_partial_rows_their_count() -> None:
    task = "card/task"
    results = [
        _result(task, "expert", 0, 0.3), _result(task, "expert", 1, 0.5),
        _result(task, "expert", 2, None, status="crashed", failure="CUDA error: out of memory"),
        _result(task, "sparse", 0, None, status="crashed", failure="segfault in the simulator"),
        _result(task, "sparse", 1, None, status="crashed", failure="another crash"),
        _result(task, "mine", 0, None, status="reward_failed", failure="ZeroDivisionError: division by zero"),
        _result(task, "mine", 1, None, status="reward_failed", failure="ZeroDivisionError again"),
    ]
    summary = summarize(results, [task], ["expert", "sparse", "mine"], seeds=3)
    table = markdown_table(summary)
    cells = _table_row(table, task)
    assert cells[1] == "0.40 ± 0.14, IQM 0.40, CI [0.30, 0.50] (n=2; 1 crashed)"
    assert cells[2] == "crashed: segfault in the simulator (2 crashed, 1 pending)"  # the first seed's reason
    assert cells[3] == "reward failed: ZeroDivisionError: division by zero (2 reward failed, 1 pending)"
    assert cells[4] == "n/a"  # sparse has no ok run: the normalized score is missing
    assert summary.row(task, "mine").pending == 1 and summary.row(task, "expert").pending == 0


def test_one_seed_shows_n_a_for_its_spread_never_zero() -> None:
    task = "card/task"
    results = [_result(task, "expert", 0, 0.9), _result(task, "sparse", 0, 0.1), _result(task, "mine", 0, 0.5)]
    summary = summarize(results, [task], ["expert", "sparse", "mine"])
    table = markdown_table(summary)
    assert "± 0.00" not in table
    assert _table_row(table, task)[1:4] == ["0.90 ± n/a, IQM 0.90, CI n/a (n=1)",
                                            "0.10 ± n/a, IQM 0.10, CI n/a (n=1)",
                                            "0.50 ± n/a, IQM 0.50, CI n/a (n=1)"]
    row = next(csv.DictReader(io.StringIO(summary_csv(summary))))
    assert (row["success_n"], row["success_std"], row["success_ci_low"], row["success_ci_high"]) == ("1", "", "", "")
    page = render_report(Suite("unit", (task,), "PPO", 100, (0,)), summary, results)
    assert "0.50 ± n/a, IQM 0.50, CI n/a (n=1)" in page and "± 0.00" not in page


def test_iqm_and_interval_appear_in_markdown_csv_and_html() -> None:
    task = "card/task"
    rates = {"expert": [0.9, 0.8, 1.0, 0.7], "sparse": [0.0, 0.1, 0.0, 0.1], "mine": [0.2, 0.5, 0.6, 0.9]}
    results = [_result(task, m, seed, rate) for m, values in rates.items() for seed, rate in enumerate(values)]
    summary = summarize(results, [task], list(rates))
    mine = summary.row(task, "mine").success
    assert mine.iqm == pytest.approx(0.55)  # mean of the middle two of 0.2, 0.5, 0.6, 0.9
    assert mine.mean == pytest.approx(0.55) and mine.std == pytest.approx(0.2886751, abs=1e-6)
    assert 0.2 <= mine.ci_low < 0.55 < mine.ci_high <= 0.9
    expected = f"0.55 ± 0.29, IQM 0.55, CI [{mine.ci_low:.2f}, {mine.ci_high:.2f}] (n=4)"
    assert _table_row(markdown_table(summary), task)[3] == expected
    assert "IQM (interquartile mean)" in markdown_table(summary) and "never counted as 0" in markdown_table(summary)
    row = next(r for r in csv.DictReader(io.StringIO(summary_csv(summary))) if r["method"] == "mine")
    assert float(row["success_iqm"]) == pytest.approx(0.55)
    assert (float(row["success_ci_low"]), float(row["success_ci_high"])) == (pytest.approx(mine.ci_low),
                                                                              pytest.approx(mine.ci_high))
    assert row["success"] == expected and row["success_n"] == "4"
    page = render_report(Suite("unit", (task,), "PPO", 100, (0, 1, 2, 3)), summary, results)
    assert f"<td>{expected}</td>" in page


def test_overall_means_skip_undefined_scores_and_tables_show_them_as_missing() -> None:
    a, b = "card-a/task", "card-b/task"
    results = [
        _result(a, "expert", 0, 1.0), _result(a, "sparse", 0, 0.0), _result(a, "mine", 0, 0.5),
        _result(b, "expert", 0, 0.0), _result(b, "sparse", 0, 0.0), _result(b, "mine", 0, 0.3),
    ]
    summary = summarize(results, [a, b], ["expert", "sparse", "mine"])
    assert summary.row(b, "mine").normalized_score is None
    assert summary.overall["mine"] == {"tasks": 2, "success_mean": pytest.approx(0.4), "success_tasks": 2,
                                       "normalized_score_mean": pytest.approx(0.5), "normalized_score_tasks": 1}
    rows = list(csv.DictReader(io.StringIO(summary_csv(summary))))
    assert len(rows) == 6
    mine_b = next(r for r in rows if r["task"] == b and r["method"] == "mine")
    assert mine_b["normalized_score"] == "" and float(mine_b["success_mean"]) == pytest.approx(0.3)
    table = markdown_table(summary)
    assert ("| card-b/task | 0.00 ± n/a, IQM 0.00, CI n/a (n=1) | 0.00 ± n/a, IQM 0.00, CI n/a (n=1) "
            "| 0.30 ± n/a, IQM 0.30, CI n/a (n=1) | n/a |") in table
    assert ("| all tasks | 0.50 (mean over 2 of 2 tasks) | 0.00 (mean over 2 of 2 tasks) "
            "| 0.40 (mean over 2 of 2 tasks) | 0.50 (mean over 1 of 2 tasks) |") in table
