"""Selection by the task only: the metric, then the card's progress measure, then the success-curve area."""

from __future__ import annotations

from reward_coder.outcomes import CurvePoint, TrainOutcome
from reward_coder.selection import selection_key, success_auc
from reward_coder.train.executor import InlineExecutor
from reward_coder.train.halving import HalvingPlan, successive_halving
from reward_coder.train.sb3 import TrainJob
from reward_coder.types import SuccessSpec

BINARY = SuccessSpec(kind="info_flag", params={"key": "success"})


def _outcome(cid: str, *, success: float, progress: float | None, native: float,
             curve: tuple[float, ...] = (0.0, 0.0)) -> TrainOutcome:
    points = tuple(CurvePoint(timesteps=1000 * (i + 1), success_rate=rate, metric=rate, native_return=native,
                              length=500, wall_s=1.0) for i, rate in enumerate(curve))
    return TrainOutcome(candidate_id=cid, status="ok", timesteps=points[-1].timesteps, curve=points,
                        eval={"success_rate": success, "metric_mean": success, "native_return_mean": native,
                              "progress_mean": progress})


def test_a_higher_native_return_with_worse_progress_loses_a_tie_on_success():
    expert_liked = _outcome("expert-liked", success=0.0, progress=0.30, native=4000.0)
    closer = _outcome("closer", success=0.0, progress=0.05, native=10.0)
    ranked = sorted([expert_liked, closer], key=lambda o: selection_key(o, BINARY), reverse=True)
    assert [o.candidate_id for o in ranked] == ["closer", "expert-liked"]


def test_pruning_at_rung_zero_keeps_the_closer_candidate_not_the_expert_favourite():
    outcomes = {
        "a": _outcome("a", success=0.0, progress=0.40, native=5000.0),
        "b": _outcome("b", success=0.0, progress=0.10, native=50.0),
    }

    def fake_train(job: TrainJob) -> TrainOutcome:
        return outcomes[job.candidate_id]

    jobs = [TrainJob(candidate_id=cid, card=None, success=BINARY, out_dir="unused") for cid in outcomes]  # type: ignore[arg-type]
    latest, pruned_at = successive_halving(jobs, InlineExecutor(), HalvingPlan((1000, 2000), 2), BINARY,
                                           train=fake_train)
    assert pruned_at == {"a": 0}
    assert set(latest) == {"a", "b"}


def test_success_still_comes_first_and_the_curve_area_breaks_the_last_tie():
    succeeds = _outcome("succeeds", success=0.6, progress=0.50, native=0.0)
    closer = _outcome("closer", success=0.5, progress=0.01, native=9999.0)
    assert selection_key(succeeds, BINARY) > selection_key(closer, BINARY)
    early = _outcome("early", success=1.0, progress=None, native=0.0, curve=(1.0, 1.0))
    late = _outcome("late", success=1.0, progress=None, native=1e6, curve=(0.0, 1.0))
    assert selection_key(early, BINARY) > selection_key(late, BINARY)


def test_lower_is_better_metrics_are_oriented_and_failures_rank_last():
    below = SuccessSpec(kind="field_final_below", params={"field": "dist", "threshold": 0.1})
    near = TrainOutcome("near", "ok", 10, eval={"success_rate": 0.0, "metric_mean": 0.2})
    far = TrainOutcome("far", "ok", 10, eval={"success_rate": 0.0, "metric_mean": 0.9, "native_return_mean": 1e9})
    crashed = TrainOutcome("crashed", "crashed", 0)
    ranked = sorted([far, crashed, near], key=lambda o: selection_key(o, below), reverse=True)
    assert [o.candidate_id for o in ranked] == ["near", "far", "crashed"]


def test_success_auc_weights_by_steps():
    points = (CurvePoint(0, 0.0, 0, 0, 0, 0), CurvePoint(100, 1.0, 0, 0, 0, 0), CurvePoint(300, 1.0, 0, 0, 0, 0))
    assert success_auc(points) == (100 * 0.5 + 200 * 1.0) / 300


def test_keys_are_finite_so_best_json_stays_standard_json():
    import json
    import math

    no_progress = TrainOutcome("p", "ok", 10, eval={"success_rate": 0.5, "metric_mean": float("nan")})
    for key in (selection_key(no_progress, BINARY), selection_key(TrainOutcome("c", "crashed", 0), BINARY)):
        assert all(math.isfinite(value) for value in key)
        json.loads(json.dumps(list(key), allow_nan=False))
