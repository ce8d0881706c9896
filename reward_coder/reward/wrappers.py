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


class RewardWrapper(gym.Wrapper):
    """Replace a single env's reward by `reward_fn`; the env's own reward stays in info['native_reward'].

    The env must come from `reward_coder.envs.make_env(card)` (it carries the FieldProbe that reads
    simulator-only fields at the same instant as the observation).
    """

    def __init__(self, env: gym.Env, reward_fn: RewardFunction, card: Any, fields: Sequence[str] | None = None) -> None:
        super().__init__(env)
        from reward_coder.envs import adapter_for

        self.reward_fn = reward_fn
        self.card = card
        self.adapter = adapter_for(card, fields)
        self.term_log = TermLog()
        self._prev: dict[str, np.ndarray] | None = None

    def _fields(self, obs: Any, info: dict[str, Any]) -> dict[str, np.ndarray]:
        return self.adapter.fields(np.asarray(obs)[None], [_probe_of(info)])

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self._prev = self._fields(obs, info)
        return obs, info

    def step(self, action: Any):
        if self._prev is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        obs, native_reward, terminated, truncated, info = self.env.step(action)
        next_fields = self._fields(obs, info)
        batch_action = np.asarray(action, dtype=np.float64).reshape(1, -1)
        reward, terms = self.reward_fn(self._prev, batch_action, next_fields)
        self.term_log.add(reward, terms)
        self._prev = next_fields
        info = dict(info)
        info["native_reward"] = float(native_reward)
        info["reward_terms"] = {name: float(values[0]) for name, values in terms.items()}
        return obs, float(reward[0]), terminated, truncated, info

    def close(self) -> None:
        self.reward_fn.close()
        super().close()
