"""Apply a found reward to a `gymnasium.vector` env (SyncVectorEnv, AsyncVectorEnv): one call scores all envs.

The trap is the episode boundary, and gymnasium 1.x has three conventions for it (`autoreset_mode`,
https://farama.org/Vector-Autoreset-Mode); each is handled so that every scored triple
(state, action, next_state) is a real step of one episode:

- NEXT_STEP (the default): the step that ends an episode returns its last observation; the *next* step
  resets that env instead of stepping it (its action is ignored, its reward is 0). That reset step is no
  transition: its reward and terms are 0 here too, and the env's reward memory is emptied before the first
  real step of its new episode.
- SAME_STEP: the step that ends an episode returns the reset observation, with the last one in
  `info["final_obs"]` (and that step's info in `info["final_info"]`): the step is scored on the final
  observation, and the next one starts from the reset observation.
- DISABLED: you reset finished envs yourself with `reset(options={"reset_mask": mask})`; those rows start
  again from the reset observation, with their memory emptied.

The envs must be the card's (`reward_coder.envs.make_env(card)` or `env_fns(card, n, seed)`): they carry
the FieldProbe whose `info["rc_probe"]` holds simulator-only fields read at the same instant as the obs.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from reward_coder.envs.probe import PROBE_KEY
from reward_coder.reward.compile import RewardFunction
from reward_coder.reward.terms import TermLog


def probes_of(info: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """Per-env probe dicts from a vector env's info, where gymnasium stacks each key across envs."""
    stacked = info.get(PROBE_KEY)
    if not stacked:
        return [{} for _ in range(n)]
    return [{key: value[i] for key, value in stacked.items() if not key.startswith("_")} for i in range(n)]


def _autoreset_mode(env: gym.vector.VectorEnv) -> AutoresetMode:
    mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    return mode if isinstance(mode, AutoresetMode) else AutoresetMode(mode)


class VectorRewardWrapper(gym.vector.VectorWrapper):
    """Replace a gymnasium vector env's reward by `reward_fn(state, action, next_state)`, one call per step.

    info['native_reward'] keeps the env's own rewards and info['reward_terms'] the terms, each an
    (n_envs,) array. A reward that takes per-episode `memory` gets it emptied for every env whose episode
    starts. `fields`: the card fields the reward reads (None: all). `owns_reward=False` leaves `reward_fn`
    open on close().
    """

    def __init__(self, env: gym.vector.VectorEnv, reward_fn: RewardFunction, card: Any,
                 fields: Sequence[str] | None = None, *, owns_reward: bool = True) -> None:
        super().__init__(env)
        from reward_coder.envs import adapter_for
        from reward_coder.sandbox.guard import accepts_env_step, accepts_reset

        self.reward_fn = reward_fn
        self.owns_reward = owns_reward
        self.adapter = adapter_for(card, fields)
        self.autoreset_mode = _autoreset_mode(env)
        self.term_log = TermLog()
        self.timesteps = 0
        """Env steps scored, summed over envs; a reward failure names it."""
        self._passes_reset = accepts_reset(reward_fn)
        self._passes_env_step = accepts_env_step(reward_fn)
        self._discrete = isinstance(env.single_action_space, gym.spaces.Discrete)
        self._prev: dict[str, np.ndarray] | None = None
        self._reset_rows: np.ndarray | str | None = "all"
        """Envs whose episode starts with the next reward call: their memory is emptied first."""
        self._resetting = np.zeros(self.num_envs, dtype=bool)
        """NEXT_STEP: envs the next step resets instead of stepping (their episode ended last step)."""

    def _fields(self, obs: np.ndarray, probes: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        return self.adapter.fields(np.asarray(obs), probes)

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        mask = (options or {}).get("reset_mask")  # read first: SyncVectorEnv pops it from options
        obs, info = self.env.reset(seed=seed, options=options)
        probes = probes_of(info, self.num_envs)
        if mask is None or self._prev is None:
            self._prev = self._fields(obs, probes)
            self._reset_rows = "all"
            self._resetting[:] = False
            return obs, info
        rows = np.flatnonzero(mask)  # DISABLED mode: only these envs were reset, and only they have infos
        fresh = self._fields(np.asarray(obs)[rows], [probes[i] for i in rows])
        for name, value in fresh.items():
            self._prev[name][rows] = value
        self._resetting[rows] = False
        if not isinstance(self._reset_rows, str):
            earlier = self._reset_rows if self._reset_rows is not None else rows[:0]
            self._reset_rows = np.union1d(earlier, rows).astype(np.int64)
        return obs, info

    def _action_batch(self, actions: Any) -> np.ndarray:
        if self._discrete:
            return np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        return np.asarray(actions, dtype=np.float64).reshape(self.num_envs, -1)

    def step(self, actions: Any):
        if self._prev is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        obs, native, terminated, truncated, info = self.env.step(actions)
        n = self.num_envs
        done = np.logical_or(terminated, truncated)
        probes = probes_of(info, n)
        observed = self._fields(obs, probes)
        next_state, state_after = observed, observed
        skipped = _NO_ROWS
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            skipped = np.flatnonzero(self._resetting)  # reset this step: no transition to score
        elif self.autoreset_mode == AutoresetMode.SAME_STEP and done.any():
            rows = np.flatnonzero(done)
            final_obs = np.array(obs, dtype=np.float64)
            final_probes = probes_of(info.get("final_info", {}), n)
            for i in rows:
                final_obs[i] = info["final_obs"][i]
            next_state = self._fields(final_obs, [final_probes[i] if i in rows else probes[i] for i in range(n)])
        extra: dict[str, Any] = {"env_step": self.timesteps} if self._passes_env_step else {}
        if self._passes_reset:
            extra["reset"] = self._reset_rows
        reward, terms = self.reward_fn(self._prev, self._action_batch(actions), next_state, **extra)
        self.timesteps += n
        reward = np.array(reward, dtype=np.float64)
        terms = {name: np.array(values, dtype=np.float64) for name, values in terms.items()}
        if skipped.size:
            reward[skipped] = 0.0
            for values in terms.values():
                values[skipped] = 0.0
            scored = np.ones(n, dtype=bool)
            scored[skipped] = False
            if scored.any():
                self.term_log.add(reward[scored], {name: values[scored] for name, values in terms.items()})
        else:
            self.term_log.add(reward, terms)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._reset_rows = skipped if skipped.size else None  # their new episode's first step comes next
            self._resetting = done.copy()
        elif self.autoreset_mode == AutoresetMode.SAME_STEP:
            self._reset_rows = np.flatnonzero(done) if done.any() else None
        else:
            self._reset_rows = None
        self._prev = state_after
        info = dict(info)
        info["native_reward"] = np.asarray(native, dtype=np.float64)
        info["reward_terms"] = terms
        return obs, reward, terminated, truncated, info

    def close(self, **kwargs: Any) -> None:
        if self.owns_reward:
            self.reward_fn.close()
        super().close(**kwargs)


_NO_ROWS = np.zeros(0, dtype=np.int64)
