"""Bench arithmetic: Eureka's human-normalized score, spread over seeds, curves and tables."""

from __future__ import annotations

import csv
import io

import pytest

from reward_coder.bench.score import (
    JobResult,
    markdown_table,
    normalized_score,
    summarize,
    summary_csv,
)


def _result(task: str, method: str, seed: int, rate: float | None, status: str = "ok",
            curve: tuple[tuple[int, float], ...] = ()) -> JobResult:
    kind = method if method in ("expert", "sparse") else "reward"
    return JobResult(job_id=f"{task}-{method}-{seed}", task=task, method=method, kind=kind, seed=seed,
                     status=status, success_rate=rate, curve=curve, wall_s=10.0)


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


def test_summary_over_seeds_with_failures_and_curves() -> None:
    task = "metaworld-reach/reach"
    results = [
        _result(task, "expert", 0, 0.8, curve=((100, 0.2), (200, 0.8))),
        _result(task, "expert", 1, 0.6, curve=((100, 0.4), (200, 0.6))),
        _result(task, "sparse", 0, 0.0),
        _result(task, "sparse", 1, 0.2),
        _result(task, "mine", 0, 0.5, curve=((100, 0.5), (200, 0.5), (300, 0.9))),
        _result(task, "mine", 1, 0.0, status="reward_failed"),  # the reward's fault: counts as 0
        _result(task, "mine", 2, None, status="crashed"),  # not the reward's verdict: left out
    ]
    summary = summarize(results, [task], ["expert", "sparse", "mine"])
    expert, sparse, mine = (summary.row(task, m) for m in ("expert", "sparse", "mine"))
    assert expert.success_mean == pytest.approx(0.7) and expert.success_std == pytest.approx(0.1)
    assert (expert.success_min, expert.success_max) == (0.6, 0.8)
    assert expert.curve == ((100, pytest.approx(0.3), 0.2, 0.4), (200, pytest.approx(0.7), 0.6, 0.8))
    assert sparse.success_mean == pytest.approx(0.1)
    assert (mine.seeds, mine.ok, mine.failed, mine.crashed) == (3, 1, 1, 1)
    assert mine.success_mean == pytest.approx(0.25)
    # (0.25 - 0.1) / |0.7 - 0.1|
    assert mine.normalized_score == pytest.approx(0.25)
    assert expert.normalized_score == pytest.approx(1.0) and sparse.normalized_score == pytest.approx(0.0)
    assert mine.curve == ((100, 0.5, 0.5, 0.5), (200, 0.5, 0.5, 0.5), (300, 0.9, 0.9, 0.9))


def test_overall_means_skip_undefined_scores_and_tables_show_them_as_missing() -> None:
    a, b = "card-a/task", "card-b/task"
    results = [
        _result(a, "expert", 0, 1.0), _result(a, "sparse", 0, 0.0), _result(a, "mine", 0, 0.5),
        _result(b, "expert", 0, 0.0), _result(b, "sparse", 0, 0.0), _result(b, "mine", 0, 0.3),
    ]
    summary = summarize(results, [a, b], ["expert", "sparse", "mine"])
    assert summary.row(b, "mine").normalized_score is None
    assert summary.overall["mine"] == {"tasks": 2, "success_mean": pytest.approx(0.4),
                                       "normalized_score_mean": pytest.approx(0.5), "normalized_score_tasks": 1}
    rows = list(csv.DictReader(io.StringIO(summary_csv(summary))))
    assert len(rows) == 6
    mine_b = next(r for r in rows if r["task"] == b and r["method"] == "mine")
    assert mine_b["normalized_score"] == "" and float(mine_b["success_mean"]) == pytest.approx(0.3)
    table = markdown_table(summary)
    assert "| card-b/task | 0.00 ± 0.00 | 0.00 ± 0.00 | 0.30 ± 0.00 | n/a |" in table
    assert "| mean over tasks | 0.50 | 0.00 | 0.40 | 0.50 |" in table
