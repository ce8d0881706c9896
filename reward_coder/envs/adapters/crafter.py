"""Crafter: named fields read from the game state (inventory, vitals, achievements, position, the view).

Every field comes from the game, never from the policy observation, so the symbolic and the pixel
observation (reward_coder/openworld/crafter_env.py) give the same fields. The probe reads them inside
the env right after reset() / step(), so the step that ends an episode (the player's death) is scored
on its own state, not on the next episode's first one.

Importing this module registers the gymnasium id `Crafter-v1` (entry point
`reward_coder.openworld.crafter_env:CrafterEnv`); crafter itself is imported only when an env is built.

The view summary: for each kind in NEAREST, the nearest cell of that kind among the 9x7 cells the
player sees (the player's own cell included, so `lava_distance` is 0 when standing in lava), as a grid
distance |dx| + |dy| (the number of moves to get there on a free path; 1 = adjacent, reachable by
facing it and `do`) and the offset (dx, dy) towards it, +x to the right, +y down. A kind not in view
has distance NOT_IN_VIEW and offset (0, 0). Ties go to the cell first in x, then y order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium
import numpy as np

from reward_coder.envs.adapters.base import Adapter, EnvLayout, FieldRecipe, UnsupportedEnvError
from reward_coder.openworld.crafter_env import (
    ACHIEVEMENTS,
    CELL_KINDS,
    CREATURES,
    ITEMS,
    VIEW,
    VIEW_HALF,
    view_layers,
)

ENV_ID = "Crafter-v1"
"""The gymnasium id this module registers."""

NEAREST = ("tree", "water", "stone", "coal", "iron", "diamond", "lava", "table", "furnace", "zombie", "skeleton",
           "cow")
"""Kinds whose nearest cell in view has a `<kind>_distance` and `<kind>_offset` field."""

NOT_IN_VIEW = 10.0
"""`<kind>_distance` when no cell of that kind is in view (the farthest visible cell is 7 moves away)."""

SCALARS = ITEMS + ("daylight", "sleeping")
VECTORS: dict[str, tuple[int, ...]] = {
    "unlocked": (len(ACHIEVEMENTS),),
    "unlocked_now": (len(ACHIEVEMENTS),),
    "achievement_counts": (len(ACHIEVEMENTS),),
    "position": (2,),
    "facing": (2,),
}


def _field_shapes() -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {name: () for name in SCALARS}
    shapes.update(VECTORS)
    for kind in NEAREST:
        shapes[f"{kind}_distance"] = ()
        shapes[f"{kind}_offset"] = (2,)
    return shapes


FIELD_SHAPES = _field_shapes()
"""Every field the adapter produces and its per-env shape."""

_OFFSETS = np.stack(np.meshgrid(np.arange(VIEW[0]) - VIEW_HALF[0], np.arange(VIEW[1]) - VIEW_HALF[1],
                                indexing="ij"), axis=-1)
"""(9, 7, 2) offset of each view cell from the player."""
_GRID_DISTANCE = np.abs(_OFFSETS).sum(axis=-1)
_KIND_INDEX = {kind: CELL_KINDS.index(kind) for kind in NEAREST}


def nearest(layer: np.ndarray, kind: str) -> tuple[float, np.ndarray]:
    """(grid distance, offset) of the nearest cell of a (9, 7) view layer holding `kind`; (NOT_IN_VIEW, 0)
    when none does. `layer` holds CELL_KINDS indices (crafter_env.view_layers)."""
    mask = layer == _KIND_INDEX[kind]
    if not mask.any():
        return NOT_IN_VIEW, np.zeros(2)
    distances = np.where(mask, _GRID_DISTANCE, np.iinfo(np.int64).max)
    flat = int(np.argmin(distances))  # first minimum in x-major order: deterministic ties
    x, y = np.unravel_index(flat, VIEW)
    return float(_GRID_DISTANCE[x, y]), _OFFSETS[x, y].astype(np.float64)


def read_game(game: Any, previous_counts: Mapping[str, int], names: Sequence[str]) -> dict[str, Any]:
    """The fields `names` of one crafter.Env now, as floats and fresh float64 arrays.

    `previous_counts` are the achievement counts before the last step (all 0 after a reset): an
    achievement is `unlocked_now` on the step its count first leaves 0.
    """
    player = game._player
    out: dict[str, Any] = {}
    wanted = set(names)
    for name in wanted.intersection(ITEMS):
        out[name] = float(player.inventory[name])
    if "daylight" in wanted:
        out["daylight"] = float(game._world.daylight)
    if "sleeping" in wanted:
        out["sleeping"] = float(player.sleeping)
    counts = np.array([player.achievements[name] for name in ACHIEVEMENTS], dtype=np.float64)
    if "achievement_counts" in wanted:
        out["achievement_counts"] = counts
    if "unlocked" in wanted:
        out["unlocked"] = (counts > 0).astype(np.float64)
    if "unlocked_now" in wanted:
        before = np.array([previous_counts.get(name, 0) for name in ACHIEVEMENTS], dtype=np.float64)
        out["unlocked_now"] = ((counts > 0) & (before == 0)).astype(np.float64)
    if "position" in wanted:
        out["position"] = np.array(player.pos, dtype=np.float64)
    if "facing" in wanted:
        out["facing"] = np.array(player.facing, dtype=np.float64)
    kinds_wanted = [kind for kind in NEAREST if f"{kind}_distance" in wanted or f"{kind}_offset" in wanted]
    if kinds_wanted:
        materials, creatures = view_layers(game)
        for kind in kinds_wanted:
            distance, offset = nearest(creatures if kind in CREATURES else materials, kind)
            out[f"{kind}_distance"] = distance
            out[f"{kind}_offset"] = offset
    return {name: out[name] for name in names}


def register() -> None:
    """Register `Crafter-v1` with gymnasium once (the entry point imports crafter only when made)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(ENV_ID, entry_point="reward_coder.openworld.crafter_env:CrafterEnv")


register()


class CrafterAdapter(Adapter):
    """Fields of Crafter read from the game state (see the module docstring); the obs is never read."""

    family = "crafter"

    @classmethod
    def layout(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> EnvLayout:
        if env_id != ENV_ID:
            raise UnsupportedEnvError(f"adapter 'crafter' supports {ENV_ID}, not '{env_id}'")
        return EnvLayout(obs_dim=-1, recipes={name: FieldRecipe(name, None, shape)
                                              for name, shape in FIELD_SHAPES.items()})

    def probe(self, env: gymnasium.Env) -> dict[str, Any]:
        crafter_env = env.unwrapped
        return read_game(crafter_env.game, crafter_env.previous_counts, self.field_names)

    def fields(self, obs: np.ndarray, probes: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Every declared field, float64 (n, *shape), from the n probe dicts; `obs` only gives n."""
        n = len(obs)
        if len(probes) != n:
            raise ValueError(f"{self.env_id}: got {len(probes)} probe dicts for {n} observations")
        out: dict[str, np.ndarray] = {}
        for name, recipe in self._plan:
            try:
                values = [p[name] for p in probes]
            except KeyError as err:
                raise ValueError(
                    f"{self.env_id}: a probe dict lacks {err}; build envs with make_env() (which wraps them "
                    "in FieldProbe) and pass info['rc_probe'] of the same step"
                ) from err
            out[name] = np.array(values, dtype=np.float64).reshape(n, *recipe.shape)
        return out
