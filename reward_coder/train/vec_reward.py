"""Score all envs of an SB3 VecEnv in one reward call, on the right observations.

The trap this wrapper exists for: when an env's episode ends, SB3 resets it inside step_wait() and
returns the *reset* observation; the step that ended the episode must be scored on
infos[i]["terminal_observation"] (and that step's simulator probe, infos[i]["rc_probe"]), and the
next step's `state` is the reset observation with its probe from reset_infos[i].
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from reward_coder.envs.sampling import fields_from_vec_step
from reward_coder.reward.compile import RewardFunction
from reward_coder.reward.terms import TermLog
from reward_coder.sandbox.guard import accepts_env_step, accepts_reset


_NO_ROWS = np.zeros(0, dtype=np.int64)


class RewardVecWrapper(VecEnvWrapper):
    """Replace a VecEnv's reward with `reward_fn(state, action, next_state)`, one call for all envs.

    info['native_reward'] keeps the env's own reward. When an episode ends, info['episode_terms']
    holds each term's sum over that episode and info['episode_native_return'] the native return.
    `term_log` accumulates per-term statistics over all steps (reset it to start a new window).
    A reward that takes per-episode `memory` gets it emptied for every env whose episode starts: all
    of them after reset(), and each env the step after its episode ended (SB3 auto-resets it).
    """

    def __init__(self, venv: VecEnv, reward_fn: RewardFunction, card: Any, fields: Sequence[str] | None = None) -> None:
        """`fields`: the card fields the reward reads (see reward.fields_used); build the envs with the
        same subset (env_fns(..., fields=...)) so their probes skip what no field needs. None: all fields."""
        super().__init__(venv)
        from reward_coder.envs import adapter_for

        self.reward_fn = reward_fn
        self.adapter = adapter_for(card, fields)
        self._discrete = bool(card.action.discrete)
        self.term_log = TermLog()
        self._prev: dict[str, np.ndarray] | None = None
        self._actions: np.ndarray | None = None
        self._episode_names: tuple[str, ...] = ()
        self._episode_sums = np.zeros((1, self.num_envs))
        self._passes_reset = accepts_reset(reward_fn)
        self._passes_env_step = accepts_env_step(reward_fn)
        self.timesteps = 0
        """Env steps taken through this wrapper, summed over envs (SB3's num_timesteps); a trainer that
        continues from a checkpoint sets it to the checkpoint's count. A reward failure names it."""
        self._reset_rows: np.ndarray | str | None = "all"
        """Envs whose episode starts with the next call: their per-episode `memory` is emptied first."""

    def _reset_infos(self) -> list[dict[str, Any]]:
        """reset_infos of the innermost VecEnv: SB3 wrappers (VecMonitor, ...) keep an empty list of their own."""
        venv = self.venv
        while isinstance(venv, VecEnvWrapper):
            venv = venv.venv
        return venv.reset_infos

    def reset(self):
        obs = self.venv.reset()
        probes = [info.get("rc_probe", {}) for info in self._reset_infos()]
        self._prev = self.adapter.fields(np.asarray(obs), probes)
        self._episode_names = ()
        self._episode_sums = np.zeros((1, self.num_envs))
        self._reset_rows = "all"
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        if self._discrete:  # the reward contract: an int64 action index per env, shape (n_envs,)
            self._actions = np.asarray(actions).astype(np.int64).reshape(self.num_envs)
        else:
            self._actions = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, -1)
        self.venv.step_async(actions)

    def step_wait(self):
        obs, native, dones, infos = self.venv.step_wait()
        done_idx = np.flatnonzero(dones) if dones.any() else _NO_ROWS
        reset_infos = self._reset_infos() if done_idx.size else ()
        next_fields, state_after = fields_from_vec_step(self.adapter, np.asarray(obs), infos, dones, reset_infos)
        extra: dict[str, Any] = {"env_step": self.timesteps} if self._passes_env_step else {}
        if self._passes_reset:
            extra["reset"] = self._reset_rows
        reward, terms = self.reward_fn(self._prev, self._actions, next_fields, **extra)
        self.timesteps += self.num_envs
        self._reset_rows = done_idx if done_idx.size else None
        names = tuple(terms)
        rows = self.term_log.next_row(names, self.num_envs)  # row 0 reward, then the terms
        rows[0] = reward
        for index, values in enumerate(terms.values(), start=1):
            rows[index] = values

        # episode sums in one (1 + n_terms, n_envs) array: row 0 the native return, then the terms
        if names != self._episode_names:
            self._episode_names = names
            self._episode_sums = np.zeros((1 + len(names), self.num_envs))
        self._episode_sums[0] += native
        self._episode_sums[1:] += rows[1:]
        self.term_log.commit_row()
        for i, value in enumerate(native.tolist()):
            infos[i]["native_reward"] = value
        for i in done_idx:
            column = self._episode_sums[:, i].tolist()
            infos[i]["episode_native_return"] = column[0]
            infos[i]["episode_terms"] = dict(zip(names, column[1:]))
            self._episode_sums[:, i] = 0.0
        self._prev = state_after
        return obs, reward.astype(np.float32), dones, infos

    def close(self) -> None:
        self.reward_fn.close()
        self.venv.close()
