"""MineDojo (optional extra): named fields from MineDojo's observation dict (reward_coder/openworld/minedojo.py).

Importing this module registers the gymnasium id `MineDojo-v0` (entry point
`reward_coder.openworld.minedojo:MineDojoEnv`); minedojo itself is imported only when an env is built, and
without it building one fails with one line (factory.py names the package and its prerequisites).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium
import numpy as np

from reward_coder.envs.adapters.base import Adapter, EnvLayout, FieldRecipe, UnsupportedEnvError
from reward_coder.openworld.minedojo import FIELD_SHAPES, fields_from_obs

ENV_ID = "MineDojo-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(ENV_ID, entry_point="reward_coder.openworld.minedojo:MineDojoEnv")


class MineDojoAdapter(Adapter):
    """Fields of a MineDojo task, read from the raw observation dict the env keeps (`last_obs`)."""

    family = "minedojo"

    @classmethod
    def layout(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> EnvLayout:
        if env_id != ENV_ID:
            raise UnsupportedEnvError(f"adapter 'minedojo' supports {ENV_ID}, not '{env_id}'")
        return EnvLayout(obs_dim=-1, recipes={name: FieldRecipe(name, None, shape) for name, shape in FIELD_SHAPES.items()})

    def probe(self, env: gymnasium.Env) -> dict[str, Any]:
        return self.probe_obs(env.unwrapped.last_obs)

    def probe_obs(self, obs: Mapping[str, Any]) -> dict[str, Any]:
        """The declared fields of one MineDojo observation dict (what `probe` reads inside the env)."""
        values = fields_from_obs(obs)
        return {name: values[name] for name in self.field_names}

    def fields(self, obs: np.ndarray, probes: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        n = len(obs)
        if len(probes) != n:
            raise ValueError(f"{self.env_id}: got {len(probes)} probe dicts for {n} observations")
        return {name: np.array([p[name] for p in probes], dtype=np.float64).reshape(n, *recipe.shape)
                for name, recipe in self._plan}
