"""What training produces and judging reads: learning-curve points and a candidate's training outcome.

Plain data, importable by training (train/), judging (analyze.py, selection) and reporting alike, so
none of them has to import the others (judging never imports training).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from reward_coder.types import TermStats

TrainStatus = Literal["ok", "reward_failed", "crashed"]


@dataclass(frozen=True)
class CurvePoint:
    """One evaluation during training (deterministic policy, frozen normalization statistics)."""

    timesteps: int
    success_rate: float
    metric: float
    native_return: float
    """Mean episode return of the env's own reward: reported, never used to choose."""
    length: float
    wall_s: float
    candidate_return: float | None = None
    """Mean episode return of the reward being trained (None for the env's own reward)."""
    progress: float | None = None
    """Mean of the card's graded progress measure (lower is better); None when the card declares none."""
    term_means: dict[str, float] = field(default_factory=dict)
    """Mean per-episode sum of each reward term at this evaluation (reward reflection over time)."""
    episodes: int = 0
    """Evaluation episodes behind this point."""


@dataclass(frozen=True)
class TrainOutcome:
    candidate_id: str
    status: TrainStatus
    timesteps: int
    curve: tuple[CurvePoint, ...] = ()
    train_term_stats: dict[str, TermStats] = field(default_factory=dict)
    eval: dict[str, Any] | None = None
    """Final evaluation: EvalResult.summary() plus 'episodes' (list of EpisodeRecord dicts) and 'term_stats'."""
    failure: str = ""
    failure_step: int | None = None
    """Env step (summed over parallel envs, as `timesteps`) before the training call whose reward failed;
    the failure text names the call too ('reward failed at call N (= env step M): ...')."""
    checkpoint: str | None = None
    wall_s: float = 0.0
    steps_per_s: float = 0.0
    device: str = ""
    """Torch device the policy trained on ('cuda', 'cpu'): what --device auto resolved to."""
    seed: int | None = None
    """Training seed (envs, policy initialisation)."""
    eval_seed: int | None = None
    """First env seed of the final evaluation's episodes (episode i uses eval_seed + i)."""
    normalized: bool = False
    """True when observations and/or rewards went through VecNormalize during training."""
    notes: tuple[str, ...] = ()
    """What training had to work around, e.g. a broken checkpoint it fell back from."""
    device_reason: str = ""
    """Why that device: e.g. 'auto: MlpPolicy trains faster on CPU (SB3's own advice)' ('' in older records)."""

    @property
    def success_rate(self) -> float:
        return float(self.eval["success_rate"]) if self.eval else 0.0


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """Keys of `cls` only: records written by newer versions stay readable."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def curve_point_from_dict(data: dict[str, Any]) -> CurvePoint:
    return CurvePoint(**_known(CurvePoint, data))


def outcome_to_dict(outcome: TrainOutcome) -> dict[str, Any]:
    return asdict(outcome)


def outcome_from_dict(data: dict[str, Any]) -> TrainOutcome:
    return TrainOutcome(
        **{
            **_known(TrainOutcome, data),
            "curve": tuple(curve_point_from_dict(p) for p in data.get("curve", ())),
            "train_term_stats": {k: TermStats(**v) for k, v in data.get("train_term_stats", {}).items()},
            "notes": tuple(data.get("notes", ())),
        }
    )
