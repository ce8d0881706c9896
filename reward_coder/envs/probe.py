"""FieldProbe: read the simulator values that an env's obs lacks, at the same instant as that obs.

Reward fields such as a MuJoCo robot's x position are not in the obs vector, so they are read from the
simulator. They must be read right when the obs is produced: after the step that ends an episode a
vectorized env resets at once, and by the time anything outside the env looks, the simulator already
holds the next episode. FieldProbe therefore calls `adapter.probe(env)` inside the env, after every
`reset()` and `step()`, and puts the result in the info dict under `info["rc_probe"]`, together with
`adapter.probe_info(info)`: values the env reports in that step's info (Meta-World's `success`).

With SB3's DummyVecEnv / SubprocVecEnv, at a step that ends an episode:
- `infos[i]["terminal_observation"]` is the last obs of the episode and `infos[i]["rc_probe"]` is its
  probe (FieldProbe wrote it before the VecEnv reset the env);
- `obs[i]` is already the first obs of the next episode, and its probe is in
  `venv.reset_infos[i]["rc_probe"]`.
`reward_coder.envs.sampling.fields_from_vec_step` pairs them correctly.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium

from reward_coder.envs.adapters.base import Adapter

PROBE_KEY = "rc_probe"
"""Key of the probe dict in `info` (step and reset)."""


class FieldProbe(gymnasium.Wrapper):
    """Adds `info["rc_probe"] = adapter.probe(env)` (plus `adapter.probe_info(info)`) after every reset() and step()."""

    def __init__(self, env: gymnasium.Env, adapter: Adapter) -> None:
        super().__init__(env)
        self.adapter = adapter

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        info[PROBE_KEY] = self._probe(info)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info[PROBE_KEY] = self._probe(info)
        return obs, reward, terminated, truncated, info

    def _probe(self, info: dict[str, Any]) -> dict[str, Any]:
        probe = self.adapter.probe(self.env)
        from_info = self.adapter.probe_info(info)
        if from_info:
            probe.update(from_info)
        return probe
