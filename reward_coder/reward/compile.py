"""Turn checked reward code into a callable `(state, action, next_state) -> (reward, terms)`.

Two ways: in this process (fast, for code you trust, e.g. your own edited `best.py`), or in a
sandboxed worker (the default for anything an LLM wrote). Both return the same RewardFunction shape,
so wrappers and trainers do not care which one they hold.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Collection, Mapping, Protocol

import numpy as np

from reward_coder.errors import RewardCoderError
from reward_coder.reward.state import FieldView


class RewardLoadError(RewardCoderError):
    """Reward code that cannot be loaded: missing file, static-check refusal, no compute_reward."""


class RewardFunction(Protocol):
    """What wrappers call once per vectorized step."""

    def __call__(
        self, state: Mapping[str, np.ndarray], action: np.ndarray, next_state: Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]: ...

    def close(self) -> None: ...


def _as_batch(value: Any, n: int, what: str) -> np.ndarray:
    if type(value) is np.ndarray and value.dtype == np.float64 and value.shape == (n,):
        return value  # already what the contract asks for (the usual case, on every step)
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(n, float(array))
    if array.shape != (n,):
        raise ValueError(f"{what} has shape {array.shape}, expected ({n},)")
    return array


def normalize_output(output: Any, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Validate `(reward, terms)` and convert to float64 arrays of shape (n,)."""
    if not (isinstance(output, tuple) and len(output) == 2):
        raise ValueError(f"compute_reward must return (reward, terms), got {type(output).__name__}")
    reward, terms = output
    if not isinstance(terms, dict):
        raise ValueError(f"terms must be a dict, got {type(terms).__name__}")
    return _as_batch(reward, n, "reward"), {str(k): _as_batch(v, n, f"term '{k}'") for k, v in terms.items()}


class InProcessReward:
    """Reward code executed in this process. Statically checked first; no OS isolation."""

    isolation = "in-process"

    def __init__(self, code: str, field_names: Collection[str] | None = None, function_name: str = "compute_reward"):
        from reward_coder.sandbox import static_check

        errors = [i for i in static_check(code, field_names) if i.severity == "error"]
        if errors:
            raise RewardLoadError("reward code refused by the static check: " + "; ".join(i.describe() for i in errors))
        namespace: dict[str, Any] = {"__name__": "reward_candidate", "np": np, "math": math}
        exec(compile(code, "<reward>", "exec"), namespace)  # noqa: S102 - statically checked, trusted by caller
        function = namespace.get(function_name)
        if not callable(function):
            raise RewardLoadError(f"the code defines no function '{function_name}'")
        self.code = code
        self._function = function
        self.uses_memory = function.__code__.co_argcount >= 4
        self._memory: list[dict] | None = None

    def __call__(self, state, action, next_state, reset=None):
        """`reset`: rows whose episode starts with this call ('all' or indices); their memory is emptied."""
        n = int(np.shape(action)[0])
        if not self.uses_memory:
            return normalize_output(self._function(_view(state), action, _view(next_state)), n)
        if self._memory is None or len(self._memory) != n or (isinstance(reset, str) and reset == "all"):
            self._memory = [{} for _ in range(n)]
        elif reset is not None:
            for row in np.asarray(reset, dtype=np.int64).ravel():
                self._memory[int(row)] = {}
        return normalize_output(self._function(_view(state), action, _view(next_state), self._memory), n)

    def close(self) -> None:
        pass


_warned_in_process = False


class InProcessRewardWarning(UserWarning):
    """Reward code is running in this process, without the sandbox."""


def _warn_in_process_once() -> None:
    global _warned_in_process
    if _warned_in_process:
        return
    _warned_in_process = True
    import warnings

    warnings.warn(
        "load_reward(..., sandboxed=False) runs reward code in this process: only the static check stands "
        "between it and your files, keys and network. Use it only for code you trust; the default "
        "(sandboxed=True) runs it in an isolated worker.", InProcessRewardWarning, stacklevel=3)


def _view(fields: Mapping[str, np.ndarray] | FieldView) -> FieldView:
    return fields if isinstance(fields, FieldView) else FieldView(fields)


def load_reward(
    path: str | Path,
    *,
    card: Any = None,
    sandboxed: bool = True,
    allow_unsandboxed: bool = False,
) -> RewardFunction:
    """Load a reward file written by reward-coder (e.g. a run's `best.py`) as a callable.

    `card` (an EnvCard or its id) restricts the fields to the card's; `sandboxed=True` runs the code
    in an isolated worker process. `sandboxed=False` is ONLY FOR CODE YOU TRUST (your own edited
    `best.py`): it runs the code in this process after the same allow-list static check, with nothing
    else between it and your files, keys and network - the static check is a filter, not a barrier -
    and warns once per process. Call `.close()` (or use the env wrapper, which does) to stop a
    sandboxed worker.
    """
    path = Path(path)
    if not path.is_file():
        raise RewardLoadError(f"reward file '{path}' not found; pass the path of a .py file with compute_reward")
    from reward_coder.textfile import REWARD_FILE_MAX_BYTES, read_text_file

    code = read_text_file(path, "reward file", limit_bytes=REWARD_FILE_MAX_BYTES, error=RewardLoadError)
    field_names = None
    if card is not None:
        if isinstance(card, str):
            from reward_coder.envs import get_card

            card = get_card(card)
        field_names = card.field_names()
    if not sandboxed:
        _warn_in_process_once()
        return InProcessReward(code, field_names)
    from reward_coder.sandbox import GuardedReward, SandboxedReward, require_isolation, static_check

    errors = [i for i in static_check(code, field_names) if i.severity == "error"]
    if errors:
        raise RewardLoadError("reward code refused by the static check: " + "; ".join(i.describe() for i in errors))
    isolation = require_isolation(allow_unsandboxed)
    return GuardedReward(SandboxedReward(code, field_names=field_names, isolation=isolation))
