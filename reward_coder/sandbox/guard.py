"""Training-time guard: stop one candidate cleanly when its reward goes bad mid-training.

The VecEnv wrapper calls a GuardedReward at every step. On an exception, a hang, a dead worker, a
non-finite value or a wrong shape it raises RewardFailure with the call index, the env step and the
message ("reward failed at call N (= env step M): ..."); the trainer catches it, ends that candidate's
training, records the failure and carries on with the other candidates. Once failed, every later call
raises the same failure at once.

One call scores a whole batch (every parallel env at once), so a call index is not an env step: call
N of a 4-env trainer is env step 4N. M counts env steps as SB3's num_timesteps does (summed over the
parallel envs), taken before the failing call: its transitions are steps M+1 .. M+n. The caller passes
`env_step` when it knows it (the training wrapper, which also knows where a continued run started);
otherwise M is the number of transitions this guard scored before the call (N x batch size).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from reward_coder.sandbox.worker import RawOutput, SandboxedReward

Fields = Mapping[str, np.ndarray]


class RewardFailure(Exception):
    """A candidate's reward failed during training (or evaluation) at call `step` (0-based), env step `env_step`."""

    def __init__(self, step: int, message: str, kind: str, env_step: int | None = None) -> None:
        where = f"call {step} (= env step {env_step})" if env_step is not None else f"call {step}"
        super().__init__(f"reward failed at {where}: {message}")
        self.step = step
        """The call index (0-based): one call scores every parallel env."""
        self.env_step = env_step
        """Env steps taken before the failing call, summed over parallel envs (SB3's num_timesteps)."""
        self.message = message
        self.kind = kind
        """'exception', 'timeout', 'crashed', 'memory', 'non-finite', 'bad-output', ..."""

    @property
    def call(self) -> int:
        return self.step


def accepts_reset(reward_fn: Any) -> bool:
    """True when a reward callable takes `reset=` (the rows whose per-episode memory to empty)."""
    return _accepts(reward_fn, "reset")


def accepts_env_step(reward_fn: Any) -> bool:
    """True when a reward callable takes `env_step=` (a GuardedReward: it names the step in its failures)."""
    return _accepts(reward_fn, "env_step")


def _accepts(reward_fn: Any, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(reward_fn).parameters
    except (TypeError, ValueError):
        return False


class GuardedReward:
    """Wrap a SandboxedReward (or any in-process `f(state, action, next_state) -> (reward, terms)`).

    Calling it returns `(reward, terms)`: reward float64 of shape (n,), terms a dict of float64 (n,)
    arrays. A failure names the call index (0-based) unless the caller passes `step`, and the env step:
    `env_step` when the caller passes it, else the transitions scored before this call (see the module
    docstring).
    """

    def __init__(self, reward_fn: SandboxedReward | Callable[..., Any]) -> None:
        self.reward_fn = reward_fn
        self._inner_resets = not isinstance(reward_fn, SandboxedReward) and accepts_reset(reward_fn)
        self.calls = 0
        self.rows = 0
        """Transitions scored so far (the batch sizes of all calls added up)."""
        self.failure: RewardFailure | None = None
        self._env_step: int | None = None

    def __call__(
        self,
        state: Fields,
        action: np.ndarray,
        next_state: Fields,
        *,
        reset: Sequence[int] | np.ndarray | str | None = None,
        step: int | None = None,
        env_step: int | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if self.failure is not None:
            raise self.failure
        index = self.calls if step is None else step
        n = int(np.shape(action)[0])
        self._env_step = self.rows if env_step is None else int(env_step)
        self.calls += 1
        self.rows += n
        if isinstance(self.reward_fn, SandboxedReward):
            raw = self.reward_fn.call(state, action, next_state, reset=reset, check_mutation=False)
            reward, terms = self._from_raw(raw, index)
            if raw.all_finite:  # the common case: every value float64 and finite, checked in one pass
                expected = (n,)
                if reward.shape == expected and all(v.shape == expected for v in terms.values()):
                    return reward, dict(terms)
        else:
            try:
                if reset is not None and self._inner_resets:
                    result = self.reward_fn(state, action, next_state, reset=reset)
                else:
                    result = self.reward_fn(state, action, next_state)
            except Exception as err:  # noqa: BLE001 - an in-process candidate's failure ends only that candidate
                self._fail(index, f"{type(err).__name__}: {err}", "exception")
            reward, terms = self._from_value(result, index)
        return self._validated(reward, terms, n, index)

    def close(self) -> None:
        if isinstance(self.reward_fn, SandboxedReward):
            self.reward_fn.close()

    def _fail(self, step: int, message: str, kind: str) -> None:
        self.failure = RewardFailure(step, message, kind, env_step=self._env_step)
        raise self.failure

    def _from_raw(self, raw: RawOutput, step: int) -> tuple[np.ndarray, Mapping[str, np.ndarray]]:
        error = raw.error
        if error is not None:
            if error.kind == "exception":
                where = f" (line {error.line})" if error.line else ""
                from reward_coder.sandbox.verdict import program_output  # the candidate's words, quoted as data

                self._fail(step, f"compute_reward raised {error.exc_type} with the message (program output) "
                                 f"{program_output(error.message)}{where}", "exception")
            self._fail(step, error.message, error.kind)
        problem = raw.returned_problem or raw.reward_problem or raw.terms_problem
        if problem is None and raw.term_problems:
            name, problem = next(iter(raw.term_problems.items()))
            self._fail(step, f"term '{name}' is {problem.detail}", "bad-output")
        if problem is not None or raw.reward is None:
            detail = problem.detail if problem is not None else "no reward"
            self._fail(step, f"compute_reward returned {detail}", "bad-output")
        return raw.reward, raw.terms  # type: ignore[return-value]

    def _from_value(self, result: object, step: int) -> tuple[np.ndarray, Mapping[str, np.ndarray]]:
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            self._fail(step, f"compute_reward returned {type(result).__name__}, not (reward, terms)", "bad-output")
        reward, terms = result  # type: ignore[misc]
        if not isinstance(terms, Mapping):
            self._fail(step, f"terms is {type(terms).__name__}, not a dict", "bad-output")
        try:
            return np.asarray(reward), {str(k): np.asarray(v) for k, v in terms.items()}
        except (TypeError, ValueError) as err:
            self._fail(step, f"compute_reward returned something that is not numeric: {err}", "bad-output")
        raise AssertionError("unreachable")  # pragma: no cover

    def _validated(
        self, reward: np.ndarray, terms: Mapping[str, np.ndarray], n: int, step: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        checked = self._checked(reward, n, step, "the reward")
        return checked, {name: self._checked(v, n, step, f"term '{name}'") for name, v in terms.items()}

    def _checked(self, values: np.ndarray, n: int, step: int, what: str) -> np.ndarray:
        if values.shape != (n,):
            self._fail(step, f"{what} has shape {values.shape}, expected ({n},)", "bad-output")
        if values.dtype.kind not in "biuf":
            self._fail(step, f"{what} has dtype {values.dtype}", "bad-output")
        values = values.astype(np.float64, copy=False)
        if not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).sum())
            self._fail(step, f"{what} is NaN or infinite in {bad} of {n} environments", "non-finite")
        return values
