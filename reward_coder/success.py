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
    "info_flag",
    "survive_and_field",
)
"""Field kinds take params field, threshold and optionally index (into a vector field), abs (use |x|)
and from_fraction (judge only the last part of the episode, e.g. 0.5 = second half).
survive_and_field takes min_steps plus a field condition given by op (mean_above, mean_below,
final_above, final_below)."""


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
        "survive_and_field": ("min_steps", "field", "op", "threshold"),
    }.get(spec.kind, ("field", "threshold"))
    for key in need:
        if key not in spec.params:
            raise CardError(f"{where}: success kind '{spec.kind}' needs parameter '{key}'")
    field = spec.params.get("field")
    if field is not None and field not in field_names:
        raise CardError(f"{where}: success metric reads unknown field '{field}'; fields: {', '.join(field_names)}")


def condition_of(spec: SuccessSpec) -> str:
    """'mean_above', 'final_below', ... for field-based kinds."""
    if spec.kind == "survive_and_field":
        return str(spec.params["op"])
    return spec.kind.removeprefix("field_")


def lower_is_better(spec: SuccessSpec) -> bool:
    return spec.kind.startswith("field_") and spec.kind.endswith("_below") or (
        spec.kind == "survive_and_field" and str(spec.params.get("op", "")).endswith("_below")
    )


def _field_series(params: Mapping[str, Any], trajectory: Mapping[str, np.ndarray]) -> np.ndarray:
    """The field's values over the episode; `from_fraction` (e.g. 0.5) keeps only the last part."""
    values = np.asarray(trajectory[params["field"]], dtype=np.float64)
    values = values.reshape(values.shape[0], -1)
    series = values[:, int(params.get("index", 0))]
    if params.get("abs"):
        series = np.abs(series)
    start = int(len(series) * float(params.get("from_fraction", 0.0)))
    return series[min(start, len(series) - 1):]


def _field_condition(condition: str, params: Mapping[str, Any], trajectory: Mapping[str, np.ndarray]) -> EpisodeOutcome:
    series = _field_series(params, trajectory)
    threshold = float(params["threshold"])
    metric = float(series.mean()) if condition.startswith("mean") else float(series[-1])
    above = condition.endswith("_above")
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
        inner = _field_condition(str(params["op"]), params, trajectory)
        return EpisodeOutcome(survived and inner.success, inner.metric)
    return _field_condition(condition_of(spec), params, trajectory)


def sparse_reward_code(spec: SuccessSpec, field_names: Sequence[str]) -> str | None:
    """Reward code that pays 1 on each step where the success condition holds, else 0 (Eureka's sparse baseline).

    Episode-level metrics on the native return have no per-step form; those return None.
    """
    if spec.kind == "info_flag":
        field, threshold, op, use_abs = spec.params["key"], 0.5, ">=", False
        if field not in field_names:
            return None
    elif spec.kind.startswith("field_") or spec.kind == "survive_and_field":
        field, threshold = spec.params["field"], float(spec.params["threshold"])
        op = "<=" if condition_of(spec).endswith("_below") else ">="
        use_abs = bool(spec.params.get("abs"))
    else:
        return None
    index = int(spec.params.get("index", 0))
    value = "np.abs(v)" if use_abs else "v"
    return (
        "import numpy as np\n\n\n"
        "def compute_reward(state, action, next_state):\n"
        f"    v = np.asarray(next_state.{field}, dtype=np.float64).reshape(len(action), -1)[:, {index}]\n"
        f"    success = ({value} {op} {threshold!r}).astype(np.float64)\n"
        '    return success, {"success": success}\n'
    )
