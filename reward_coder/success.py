"""Success metrics written by a person, evaluated on an episode's named-field trajectory.

Selection between candidates uses these, never the candidate's own reward (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from reward_coder.errors import CardError
from reward_coder.types import SuccessSpec

KINDS = (
    "native_return_above",
    "field_mean_above",
    "field_mean_below",
    "field_final_above",
    "field_final_below",
    "field_abs_mean_below",
    "info_flag",
    "survive_and_field",
)


@dataclass(frozen=True)
class EpisodeOutcome:
    success: bool
    metric: float
    """The number the success test compares (e.g. mean forward velocity); reported beside success."""


def validate_success(spec: SuccessSpec, field_names: Sequence[str], where: str) -> None:
    """Raise CardError when a success spec names an unknown kind or field, or lacks a parameter."""
    if spec.kind not in KINDS:
        raise CardError(f"{where}: success kind '{spec.kind}' is unknown; use one of {', '.join(KINDS)}")
    need = {
        "native_return_above": ("threshold",),
        "info_flag": ("key",),
        "survive_and_field": ("min_steps",),
    }.get(spec.kind, ("field", "threshold"))
    for key in need:
        if key not in spec.params:
            raise CardError(f"{where}: success kind '{spec.kind}' needs parameter '{key}'")
    field = spec.params.get("field")
    if field is not None and field not in field_names:
        raise CardError(f"{where}: success metric reads unknown field '{field}'; fields: {', '.join(field_names)}")


def _field_series(spec_params: Mapping[str, Any], trajectory: Mapping[str, np.ndarray]) -> np.ndarray:
    """The field's values over the episode; `from_fraction` (e.g. 0.5) keeps only the last part."""
    values = np.asarray(trajectory[spec_params["field"]], dtype=np.float64)
    values = values.reshape(values.shape[0], -1)
    series = values[:, int(spec_params.get("index", 0))]
    start = int(len(series) * float(spec_params.get("from_fraction", 0.0)))
    return series[min(start, len(series) - 1):]


def _field_condition(kind: str, params: Mapping[str, Any], trajectory: Mapping[str, np.ndarray]) -> EpisodeOutcome:
    series = _field_series(params, trajectory)
    threshold = float(params["threshold"])
    if kind in ("field_mean_above", "field_mean_below"):
        metric = float(series.mean())
    elif kind == "field_abs_mean_below":
        metric = float(np.abs(series).mean())
    else:
        metric = float(series[-1])
    above = kind.endswith("_above")
    return EpisodeOutcome(metric >= threshold if above else metric <= threshold, metric)


def episode_outcome(
    spec: SuccessSpec,
    trajectory: Mapping[str, np.ndarray],
    native_return: float,
    length: int,
    infos: Sequence[Mapping[str, Any]] = (),
) -> EpisodeOutcome:
    """Judge one episode. `trajectory` maps each field to its values after every step, shape (T, ...)."""
    kind, params = spec.kind, spec.params
    if kind == "native_return_above":
        return EpisodeOutcome(native_return >= float(params["threshold"]), float(native_return))
    if kind == "info_flag":
        key = params["key"]
        hit = any(bool(info.get(key, False)) for info in infos)
        return EpisodeOutcome(hit, 1.0 if hit else 0.0)
    if kind == "survive_and_field":
        survived = length >= int(params["min_steps"])
        if "field" not in params:
            return EpisodeOutcome(survived, float(length))
        inner = _field_condition(params.get("condition", "field_mean_above"), params, trajectory)
        return EpisodeOutcome(survived and inner.success, inner.metric)
    return _field_condition(kind, params, trajectory)


def sparse_reward_code(spec: SuccessSpec, field_names: Sequence[str]) -> str | None:
    """Reward code that pays 1 on each step where the success condition holds, else 0 (Eureka's sparse baseline).

    Episode-level metrics on the native return have no per-step form; those return None.
    """
    if spec.kind == "info_flag":
        field, op, threshold = spec.params["key"], ">=", 0.5
        if field not in field_names:
            return None
    elif spec.kind.startswith("field_") or (spec.kind == "survive_and_field" and "field" in spec.params):
        field, threshold = spec.params["field"], float(spec.params["threshold"])
        inner = spec.params.get("condition", spec.kind)
        op = "<=" if inner.endswith("_below") else ">="
    else:
        return None
    index = int(spec.params.get("index", 0))
    value = f"np.abs(v)" if spec.kind == "field_abs_mean_below" else "v"
    return (
        "import numpy as np\n\n\n"
        "def compute_reward(state, action, next_state):\n"
        f"    v = np.asarray(next_state.{field}, dtype=np.float64).reshape(len(action), -1)[:, {index}]\n"
        f"    success = ({value} {op} {threshold!r}).astype(np.float64)\n"
        '    return success, {"success": success}\n'
    )
