"""The Crafter score is a suite metric: in each final evaluation and in bench's tables (issue 10, item 4)."""

from __future__ import annotations

import pytest

from reward_coder.bench.score import JobResult, markdown_table, summarize
from reward_coder.evaluate import EpisodeRecord, EvalResult
from reward_coder.openworld.episodes import crafter_score


def _episode(achievements: list[str], died: bool) -> EpisodeRecord:
    return EpisodeRecord(length=100, terminated=died, native_return=1.0, success="collect_wood" in achievements,
                         metric=0.0, open_world={"achievements": achievements, "died": died})


def test_an_evaluation_of_crafter_episodes_reports_its_crafter_score_and_death_rate():
    episodes = (_episode(["collect_wood", "place_table"], False), _episode(["collect_wood"], True),
                _episode([], True), _episode(["wake_up"], False))
    summary = EvalResult(episodes=episodes).summary()
    expected, rates = crafter_score([e.open_world["achievements"] for e in episodes])
    assert summary["crafter_score"] == pytest.approx(expected)
    assert rates["collect_wood"] == 50.0 and summary["death_rate"] == 0.5
    assert "crafter_score" not in EvalResult(episodes=(EpisodeRecord(10, False, 1.0, True, 0.0),)).summary()


def _job(method: str, seed: int, score: float | None, status: str = "ok") -> JobResult:
    kind = method if method in ("expert", "sparse") else "reward"
    return JobResult(job_id=f"crafter__collect-wood__{method}__s{seed}", task="crafter/collect-wood", method=method,
                     kind=kind, seed=seed, status=status, success_rate=0.5 if status == "ok" else None,
                     crafter_score=score if status == "ok" else None,
                     failure="" if status == "ok" else "crashed: out of memory")


def test_bench_tables_show_the_crafter_score_over_seeds_and_leave_failed_runs_out():
    results = [_job("expert", 0, 3.0), _job("expert", 1, 5.0), _job("sparse", 0, 1.0), _job("sparse", 1, 2.0),
               _job("mine", 0, 4.0), _job("mine", 1, None, status="crashed")]
    summary = summarize(results, ["crafter/collect-wood"], ["expert", "sparse", "mine"])
    row = summary.row("crafter/collect-wood", "mine")
    assert row.crafter_score is not None and row.crafter_score.n == 1 and row.crafter_score.mean == 4.0
    assert summary.row("crafter/collect-wood", "expert").crafter_score.mean == 4.0
    table = markdown_table(summary)
    assert "| task (Crafter score) | expert | sparse | mine |" in table
    assert "4.00" in table and "Hafner 2021" in table


def test_tasks_without_a_crafter_score_get_no_such_table():
    results = [JobResult(job_id="r__reach__expert__s0", task="metaworld-reach/reach", method="expert", kind="expert",
                         seed=0, status="ok", success_rate=0.5)]
    table = markdown_table(summarize(results, ["metaworld-reach/reach"], ["expert"]))
    assert "Crafter score" not in table
