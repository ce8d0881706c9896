"""Episodic (delayed-reward) tasks: the env's reward withheld until the episode ends.

LaRe's and RRD's MuJoCo benchmark: every step returns 0 except the one that ends the episode
(terminated or truncated), which returns the sum of the env's own rewards over the episode. A task is
episodic when its name ends in `-episodic` (e.g. `halfcheetah/run-forward-episodic`); its success
metric is written by a person on the card like any other.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium

EPISODIC_SUFFIX = "-episodic"


def is_episodic_task(task_key: str) -> bool:
    """True for 'card/name-episodic': training sees only the episode's summed reward, at its end."""
    return task_key.rsplit("/", 1)[-1].endswith(EPISODIC_SUFFIX)


class EpisodicReward(gymnasium.Wrapper):
    """Return 0 at every step and the episode's summed reward at the step that ends it.

    Wrap it outside the TimeLimit, so truncation counts as an end. info['dense_reward'] keeps the step's
    own reward (for reports only; the learner must not read it), and the final step's info has
    'episodic_return'.
    """

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self._sum = 0.0

    def reset(self, **kwargs: Any):
        self._sum = 0.0
        return self.env.reset(**kwargs)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._sum += float(reward)
        info = dict(info)
        info["dense_reward"] = float(reward)
        if terminated or truncated:
            info["episodic_return"] = self._sum
            delayed, self._sum = self._sum, 0.0
            return obs, delayed, terminated, truncated, info
        return obs, 0.0, terminated, truncated, info


class _EpisodicFactory:
    """A picklable `() -> EpisodicReward(env)` around one of env_fns' constructors."""

    def __init__(self, make: Callable[[], gymnasium.Env]) -> None:
        self.make = make

    def __call__(self) -> gymnasium.Env:
        return EpisodicReward(self.make())


def episodic_env_fns(card: Any, n_envs: int, seed: int, **make_options: Any) -> list[Callable[[], gymnasium.Env]]:
    """env_fns(card, ...) with each env's reward delayed to its episode's end."""
    from reward_coder.envs import env_fns

    return [_EpisodicFactory(make) for make in env_fns(card, n_envs, seed, **make_options)]
