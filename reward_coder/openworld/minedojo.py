"""MineDojo (optional): its observation dict as the named fields of the open-world cards, its actions by name.

MineDojo (minedojo.org) runs real Minecraft: its first `make()` downloads Gradle, Forge and Minecraft
assets and needs JDK 8, and its package installs only with old pip/setuptools and numpy<2, so it is not a
dependency of reward-coder. Prerequisites, from MineDojo's install guide: JDK 8 (`openjdk-8-jdk`),
`pip install minedojo`, network access on the first make, and a virtual display (xvfb) on a headless machine.

This module reads only the documented observation structure (docs.minedojo.org, "Observation Space" and
"Privileged Observation"):

- `obs["inventory"]["name"]` (36 item names, "air" for empty slots, spaces in names such as
  "crafting table") and `obs["inventory"]["quantity"]` (36 counts);
- `obs["life_stats"]`: "life" (0-20), "food" (0-20), "saturation", "oxygen", "armor", "xp", "is_sleeping",
  each an array of shape (1,);
- `obs["location_stats"]`: "pos" (x, y, z; y is up), "yaw", "pitch" (degrees, shape (1,)), "sun_brightness";
- `obs["voxels"]["block_name"]`: block names of the cube around the agent, shape (X, Y, Z) (3x3x3 by
  default, larger with `voxel_size`), the agent's feet at the centre;
- `obs["rays"]` (lidar, with `use_lidar=True`): "entity_name" and "entity_distance" per ray (distance -1 or
  name "null" where no entity is hit), "block_name" and "block_distance" likewise;
- `obs["compass"]["angle"]` (degrees to the compass target, where a task defines one).

The field names are those of the Crafter card where the meaning carries over (health, food, position,
`<kind>_distance`), so rewards and the open-world analyzer read both alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np

INSTALL_LINE = ("MineDojo is not installed: it needs JDK 8, `pip install minedojo` (old pip/setuptools, numpy<2) "
                "and network access on its first make (see reward_coder/openworld/minedojo.py); it cannot run on "
                "machines without them")

INVENTORY_ITEMS = {
    "log": ("log", "log2"),
    "planks": ("planks",),
    "stick": ("stick",),
    "crafting_table": ("crafting table",),
    "cobblestone": ("cobblestone",),
    "coal": ("coal",),
    "iron_ore": ("iron ore",),
    "iron_ingot": ("iron ingot",),
    "diamond": ("diamond",),
    "wooden_pickaxe": ("wooden pickaxe",),
    "stone_pickaxe": ("stone pickaxe",),
    "iron_pickaxe": ("iron pickaxe",),
}
"""Field name -> MineDojo inventory names summed into it (every slot holding one of them)."""

VOXEL_KINDS = {
    "tree": ("log", "log2", "leaves", "leaves2"),
    "water": ("water", "flowing water"),
    "lava": ("lava", "flowing lava"),
    "stone": ("stone",),
    "coal": ("coal ore",),
    "iron": ("iron ore",),
    "diamond": ("diamond ore",),
    "table": ("crafting table",),
    "furnace": ("furnace", "lit furnace"),
}
"""Kinds found in the voxel cube -> MineDojo block names (lower case, as the voxels name them)."""

ENTITY_KINDS = {"zombie": ("zombie",), "skeleton": ("skeleton",), "cow": ("cow",)}
"""Kinds found by the lidar rays -> MineDojo entity names."""

NOT_SEEN = 100.0
"""`<kind>_distance` when no voxel or ray sees that kind (farther than any voxel cube or ray)."""

ACTIONS: dict[str, tuple[int, ...]] = {
    "noop": (0, 0, 0, 12, 12, 0, 0, 0),
    "forward": (1, 0, 0, 12, 12, 0, 0, 0),
    "back": (2, 0, 0, 12, 12, 0, 0, 0),
    "move_left": (0, 1, 0, 12, 12, 0, 0, 0),
    "move_right": (0, 2, 0, 12, 12, 0, 0, 0),
    "jump_forward": (1, 0, 1, 12, 12, 0, 0, 0),
    "sprint_forward": (1, 0, 3, 12, 12, 0, 0, 0),
    "look_up": (0, 0, 0, 11, 12, 0, 0, 0),
    "look_down": (0, 0, 0, 13, 12, 0, 0, 0),
    "turn_left": (0, 0, 0, 12, 11, 0, 0, 0),
    "turn_right": (0, 0, 0, 12, 13, 0, 0, 0),
    "attack": (0, 0, 0, 12, 12, 3, 0, 0),
    "use": (0, 0, 0, 12, 12, 1, 0, 0),
}
"""Named actions -> MineDojo's MultiDiscrete([3, 3, 4, 25, 25, 8, 244, 36]) vector: forward/back,
left/right, jump/sneak/sprint, camera pitch and yaw (12 = no turn, one step = 15 degrees), functional
action (1 use, 3 attack), craft argument, slot argument. Crafting, equipping and placing take an item
argument that depends on the task, so they are left to a card of the user's own."""

ACTION_NAMES = tuple(ACTIONS)


def _flat(value: Any) -> float:
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


def _nearest_voxel(block_names: np.ndarray, names: tuple[str, ...]) -> tuple[float, np.ndarray]:
    """Euclidean distance and (dx, dy, dz) offset from the cube's centre to the nearest matching voxel."""
    grid = np.asarray(block_names)
    mask = np.isin(np.char.lower(grid.astype(str)), names)
    if not mask.any():
        return NOT_SEEN, np.zeros(3)
    centre = (np.array(grid.shape) - 1) / 2.0
    offsets = np.argwhere(mask) - centre
    distances = np.linalg.norm(offsets, axis=1)
    best = int(np.argmin(distances))
    return float(distances[best]), offsets[best].astype(np.float64)


def _nearest_ray(rays: Mapping[str, Any] | None, names: tuple[str, ...]) -> float:
    """The shortest lidar distance to an entity of `names`; NOT_SEEN when no ray hits one."""
    if not rays:
        return NOT_SEEN
    entity = np.char.lower(np.asarray(rays["entity_name"]).astype(str))
    distance = np.asarray(rays["entity_distance"], dtype=np.float64)
    hit = np.isin(entity, names) & (distance >= 0)
    return float(distance[hit].min()) if hit.any() else NOT_SEEN


FIELD_SHAPES: dict[str, tuple[int, ...]] = {
    "health": (), "food": (), "saturation": (), "oxygen": (), "sleeping": (),
    "position": (3,), "yaw": (), "pitch": (), "daylight": (), "compass_angle": (),
    **{name: () for name in INVENTORY_ITEMS},
    **{f"{kind}_distance": () for kind in VOXEL_KINDS},
    **{f"{kind}_offset": (3,) for kind in VOXEL_KINDS},
    **{f"{kind}_distance": () for kind in ENTITY_KINDS},
}
"""Every field the minedojo adapter produces and its per-env shape."""


def fields_from_obs(obs: Mapping[str, Any]) -> dict[str, Any]:
    """All FIELD_SHAPES fields of one MineDojo observation dict (see the module docstring for the keys)."""
    life, location = obs["life_stats"], obs["location_stats"]
    out: dict[str, Any] = {
        "health": _flat(life["life"]), "food": _flat(life["food"]), "saturation": _flat(life["saturation"]),
        "oxygen": _flat(life["oxygen"]), "sleeping": _flat(life["is_sleeping"]),
        "position": np.asarray(location["pos"], dtype=np.float64).reshape(3).copy(),
        "yaw": _flat(location["yaw"]), "pitch": _flat(location["pitch"]),
        "daylight": _flat(location["sun_brightness"]),
        "compass_angle": _flat(obs["compass"]["angle"]) if "compass" in obs else 0.0,
    }
    names = np.char.lower(np.asarray(obs["inventory"]["name"]).astype(str))
    quantity = np.asarray(obs["inventory"]["quantity"], dtype=np.float64)
    for field, item_names in INVENTORY_ITEMS.items():
        out[field] = float(quantity[np.isin(names, item_names)].sum())
    voxels = obs.get("voxels")
    for kind, block_names in VOXEL_KINDS.items():
        distance, offset = _nearest_voxel(voxels["block_name"], block_names) if voxels else (NOT_SEEN, np.zeros(3))
        out[f"{kind}_distance"], out[f"{kind}_offset"] = distance, offset
    for kind, entity_names in ENTITY_KINDS.items():
        out[f"{kind}_distance"] = _nearest_ray(obs.get("rays"), entity_names)
    return out


class MineDojoEnv(gymnasium.Env):
    """A MineDojo task in gymnasium's API with the named ACTIONS as a Discrete space.

    The policy observation is MineDojo's RGB frame (3, H, W) moved to (H, W, 3) for SB3's CnnPolicy; the
    raw observation dict stays in `last_obs` for the adapter's probe. Needs minedojo (see INSTALL_LINE).
    """

    def __init__(self, task_id: str = "harvest_1_log", image_size: tuple[int, int] = (64, 64),
                 render_mode: str | None = None, **make_kwargs: Any) -> None:
        try:
            import minedojo  # type: ignore[import-not-found]
        except ImportError as err:
            raise RuntimeError(INSTALL_LINE) from err
        self.render_mode = render_mode
        self._env = minedojo.make(task_id=task_id, image_size=tuple(image_size), use_voxel=True, use_lidar=True,
                                  **make_kwargs)
        self.action_space = gymnasium.spaces.Discrete(len(ACTION_NAMES))
        self.observation_space = gymnasium.spaces.Box(0, 255, (*image_size, 3), np.uint8)
        self.last_obs: Mapping[str, Any] = {}

    def _image(self, obs: Mapping[str, Any]) -> np.ndarray:
        self.last_obs = obs
        return np.transpose(np.asarray(obs["rgb"], dtype=np.uint8), (1, 2, 0))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None and hasattr(self._env, "seed"):
            self._env.seed(seed)
        return self._image(self._env.reset()), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, done, info = self._env.step(np.array(ACTIONS[ACTION_NAMES[int(action)]]))
        dead = _flat(obs["life_stats"]["life"]) <= 0
        return self._image(obs), float(reward), bool(dead), bool(done and not dead), dict(info)

    def close(self) -> None:
        self._env.close()
