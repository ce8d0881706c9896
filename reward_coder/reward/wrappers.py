"""Apply a reward function to a gymnasium env, scoring on named fields built by the card's adapter.

The VecEnv counterpart (one call scores all envs) is reward_coder.train.vec_reward.RewardVecWrapper,
kept in train/ because only train/ imports stable-baselines3.
"""

from __future__ import annotations

from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from reward_coder.reward.compile import RewardFunction
from reward_coder.reward.terms import TermLog


def _probe_of(info: dict[str, Any]) -> dict[str, Any]:
    return info.get("rc_probe", {})


FIELDS_KEY = "named_fields"
"""info key of the step's named fields (a batch of one), added by NamedFields and RewardWrapper."""


class NamedFields(gym.Wrapper):
    """Pairs each step of one env with its named fields: `state` before it, info['named_fields'] after.

    The one implementation of single-env transition pairing (RewardWrapper and evaluation build on it).
    The env must come from `reward_coder.envs.make_env(card)` (it carries the FieldProbe that reads
    simulator-only fields at the same instant as the observation).
    """

    def __init__(self, env: gym.Env, card: Any, fields: Sequence[str] | None = None) -> None:
        super().__init__(env)
        from reward_coder.envs import adapter_for

        self.card = card
        self.adapter = adapter_for(card, fields)
        self.state: dict[str, np.ndarray] | None = None
        """Named fields (batch of one) of the state the next step starts from."""
        self.episode_start = True
        """True until the first step of an episode has been taken."""

    def _fields(self, obs: Any, info: dict[str, Any]) -> dict[str, np.ndarray]:
        return self.adapter.fields(np.asarray(obs)[None], [_probe_of(info)])

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self.state = self._fields(obs, info)
        self.episode_start = True
        return obs, info

    def step(self, action: Any):
        if self.state is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        obs, native_reward, terminated, truncated, info = self.env.step(action)
        previous, next_fields = self.state, self._fields(obs, info)
        info = dict(info)
        info[FIELDS_KEY] = next_fields
        reward = self._score(previous, action, next_fields, native_reward, info)
        self.state = next_fields
        self.episode_start = False
        return obs, reward, terminated, truncated, info

    def _score(self, state, action, next_state, native_reward, info) -> Any:
        """The step's reward: the env's own here; RewardWrapper replaces it."""
        return native_reward


class RewardWrapper(NamedFields):
    """Replace a single env's reward by `reward_fn`; the env's own reward stays in info['native_reward'].

    A reward with per-episode `memory` gets it emptied at every episode start. `owns_reward=False`
    leaves `reward_fn` open on close() (evaluation borrows the trainer's reward).
    """

    def __init__(self, env: gym.Env, reward_fn: RewardFunction, card: Any, fields: Sequence[str] | None = None,
                 *, owns_reward: bool = True) -> None:
        super().__init__(env, card, fields)
        from reward_coder.sandbox.guard import accepts_env_step, accepts_reset

        self.reward_fn = reward_fn
        self.owns_reward = owns_reward
        self.term_log = TermLog()
        self._passes_reset = accepts_reset(reward_fn)
        self._passes_env_step = accepts_env_step(reward_fn)
        self.steps = 0
        """Steps scored by this wrapper, over all its episodes; a reward failure names it as the env step."""

    def _score(self, state, action, next_state, native_reward, info) -> float:
        if self.card.action.discrete:  # an int64 action index, batch of one
            batch_action = np.asarray(action).astype(np.int64).reshape(1)
        else:
            batch_action = np.asarray(action, dtype=np.float64).reshape(1, -1)
        extra: dict[str, Any] = {"env_step": self.steps} if self._passes_env_step else {}
        if self._passes_reset:
            extra["reset"] = "all" if self.episode_start else None
        reward, terms = self.reward_fn(state, batch_action, next_state, **extra)
        self.steps += 1
        self.term_log.add(reward, terms)
        info["native_reward"] = float(native_reward)
        info["reward_terms"] = {name: float(values[0]) for name, values in terms.items()}
        return float(reward[0])

    def close(self) -> None:
        if self.owns_reward:
            self.reward_fn.close()
        super().close()
