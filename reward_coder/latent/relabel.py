"""Interleave the decoder with off-policy training: collect episodes of factors, fit, relabel the buffer.

Two pieces sit in the training stack:

- `FactorTap` wraps the sandboxed factor function where RewardVecWrapper expects a reward: it keeps the
  step's factor rows (which RewardVecWrapper computed on the right observations, the terminal one when an
  episode ends) and returns the decoder's reward for them.
- `DecodedRewardCallback` (an SB3 callback; it runs after env.step and before the transition is stored)
  files each step's factor rows at the replay-buffer slot the transition is about to take, gathers whole
  episodes with their delayed return for the decoder, fits the decoder every `fit_every` steps and then
  rewrites every stored reward with the decoder as it now is. With `redistribution="uniform"` (IRCR) there
  is no decoder: each finished episode's transitions get R / T.

This module imports stable-baselines3 (for BaseCallback) although DESIGN keeps SB3 in train/: the
callback is the decoder's, and train/ stays free of latent-mode code except for its public helpers.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from reward_coder.latent.decoder import EpisodeStore, RewardDecoder

Redistribution = Literal["decoder", "uniform", "none"]


class FactorTap:
    """A reward callable for RewardVecWrapper: factors from the sandbox in, decoded reward out.

    `factor_fn` is the GuardedReward around the shimmed factor code (its terms are the factor columns,
    in FACTORS order). `decoder` None (before any fit, or for IRCR) gives a reward of 0.
    """

    def __init__(self, factor_fn: Any, names: tuple[str, ...], decoder: RewardDecoder | None = None) -> None:
        self.factor_fn = factor_fn
        self.names = names
        self.decoder = decoder
        self.last_factors: np.ndarray | None = None

    def __call__(self, state, action, next_state, *, reset=None, env_step=None):
        _zero, terms = self.factor_fn(state, action, next_state, reset=reset, env_step=env_step)
        factors = np.stack([np.asarray(terms[name], dtype=np.float64) for name in self.names], axis=1)
        self.last_factors = factors
        reward = self.decoder.predict(factors) if self.decoder is not None and self.decoder.updates else \
            np.zeros(factors.shape[0])
        return reward, {name: factors[:, i] for i, name in enumerate(self.names)}

    def close(self) -> None:
        self.factor_fn.close()


class DecodedRewardCallback(BaseCallback):
    """Keeps factor rows beside the replay buffer, fits the decoder on finished episodes, relabels rewards."""

    def __init__(self, *, redistribution: Redistribution, n_envs: int, tap: FactorTap | None = None,
                 decoder: RewardDecoder | None = None, store: EpisodeStore | None = None,
                 fit_every: int = 1_000, fit_updates: int = 50, min_episodes: int = 1) -> None:
        super().__init__(verbose=0)
        self.redistribution = redistribution
        self.n_envs = n_envs
        self.tap = tap
        self.decoder = decoder
        self.store = store
        self.fit_every = int(fit_every)
        self.fit_updates = int(fit_updates)
        self.min_episodes = int(min_episodes)
        self.factor_buffer: np.ndarray | None = None
        """(buffer_size, n_envs, n_factors): the factor rows of each stored transition."""
        self.episode_rows: list[list[np.ndarray]] = [[] for _ in range(n_envs)]
        self.episode_slots: list[list[int]] = [[] for _ in range(n_envs)]
        self._since_fit = 0
        self.relabels = 0

    # ---- state that must survive a checkpoint -----------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The filled part of the factor buffer (a checkpoint must not carry a million empty rows), the
        episode store and the counters."""
        filled = None
        if self.factor_buffer is not None:
            buffer = self.model.replay_buffer
            size = buffer.buffer_size if buffer.full else int(buffer.pos)
            filled = (self.factor_buffer.shape, self.factor_buffer[:size].copy())
        return {"factor_buffer": filled, "since_fit": self._since_fit, "relabels": self.relabels,
                "store": self.store.state_dict() if self.store is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint's state. Episodes that were under way are dropped: SB3 resets every env when
        a loaded model starts learning, so their rows would be glued to the next episode's."""
        if state["factor_buffer"] is not None:
            shape, filled = state["factor_buffer"]
            self.factor_buffer = np.zeros(shape, np.float32)
            self.factor_buffer[: len(filled)] = filled
        self.episode_rows = [[] for _ in range(self.n_envs)]
        self.episode_slots = [[] for _ in range(self.n_envs)]
        self._since_fit = int(state["since_fit"])
        self.relabels = int(state["relabels"])
        if state["store"] is not None and self.store is not None:
            loaded = EpisodeStore.from_state_dict(state["store"])
            self.store.factors, self.store.returns = loaded.factors, loaded.returns

    # ---- the hook ---------------------------------------------------------------------------------

    def _on_step(self) -> bool:
        buffer = self.model.replay_buffer
        slot = int(buffer.pos)  # where this step's transition is stored right after this call
        rewards = self.locals["rewards"]
        dones = np.asarray(self.locals["dones"], dtype=bool)
        infos = self.locals["infos"]
        if self.redistribution == "decoder":
            factors = self.tap.last_factors
            if self.factor_buffer is None:
                self.factor_buffer = np.zeros((buffer.buffer_size, self.n_envs, factors.shape[1]), np.float32)
            self.factor_buffer[slot] = factors
        for env in range(self.n_envs):
            self.episode_slots[env].append(slot)
            if self.redistribution == "decoder":
                self.episode_rows[env].append(self.factor_buffer[slot, env].copy())
        for env in np.flatnonzero(dones):
            episode_return = float(infos[env].get("episode_native_return", infos[env].get("episodic_return", 0.0)))
            slots = self.episode_slots[env]
            if self.redistribution == "uniform":
                share = episode_return / len(slots)
                earlier = [s for s in slots[:-1]]
                buffer.rewards[earlier, env] = share  # the last one is stored from `rewards` below
                rewards[env] = share
            elif self.redistribution == "decoder":
                self.store.add(np.stack(self.episode_rows[env]), episode_return)
                self.episode_rows[env] = []
            self.episode_slots[env] = []
        if self.redistribution == "decoder":
            self._since_fit += self.n_envs
            if self._since_fit >= self.fit_every and len(self.store) >= self.min_episodes:
                self.fit_and_relabel()
            if self.decoder.updates:
                rewards[:] = self.decoder.predict(self.factor_buffer[slot]).astype(rewards.dtype)
        return True

    def fit_and_relabel(self) -> float:
        """Fit the decoder on the stored episodes, then rewrite every stored reward with it."""
        loss = self.decoder.fit(self.store, self.fit_updates, env_steps=int(self.model.num_timesteps))
        self._since_fit = 0
        buffer = self.model.replay_buffer
        size = buffer.buffer_size if buffer.full else int(buffer.pos)
        if size:
            rows = self.factor_buffer[:size].reshape(-1, self.factor_buffer.shape[-1])
            decoded = self.decoder.predict(rows).reshape(size, self.n_envs)
            buffer.rewards[:size] = decoded.astype(buffer.rewards.dtype)
        self.relabels += 1
        return loss
