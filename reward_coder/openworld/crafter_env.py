"""Crafter (danijar/crafter) as a gymnasium env, with a policy observation that trains on two CPU cores.

Crafter speaks the old 4-tuple gym API and renders a 64x64 image on every step. `CrafterEnv` wraps one
`crafter.Env` ("the game") in gymnasium's 5-tuple API and offers two policy observations:

- `obs="symbolic"` (the default): the 9x7 cells the player sees, one-hot by what is on each cell
  (materials, creatures), then the 16 inventory counts scaled to [0, 1], daylight, sleeping and
  facing: a float32 vector of SYMBOLIC_SIZE. The game's own image is then never drawn, which about
  doubles its speed (rendering is half of a step).
- `obs="pixels"`: the game's 64x64x3 uint8 image (for a CNN policy).

Reward fields never come from this observation: the `crafter` adapter reads them from the game state
(`reward_coder/envs/adapters/crafter.py`). `terminated` is the player's death (health 0), `truncated`
the game's own length limit; the card's TimeLimit usually ends episodes first. Episodes are seeded:
`reset(seed=s)` starts the game's episode counter again from s, so the same seed gives the same world.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

ACTIONS = (
    "noop", "move_left", "move_right", "move_up", "move_down", "do", "sleep", "place_stone", "place_table",
    "place_furnace", "place_plant", "make_wood_pickaxe", "make_stone_pickaxe", "make_iron_pickaxe",
    "make_wood_sword", "make_stone_sword", "make_iron_sword",
)
"""Crafter's 17 actions in index order (crafter/data.yaml `actions`)."""

VITALS = ("health", "food", "drink", "energy")
"""The four life statistics, 0..9 each; the player dies when health reaches 0."""

ITEMS = (
    "health", "food", "drink", "energy", "sapling", "wood", "stone", "coal", "iron", "diamond", "wood_pickaxe",
    "stone_pickaxe", "iron_pickaxe", "wood_sword", "stone_sword", "iron_sword",
)
"""The player's inventory in the game's order (vitals first); every count is capped at 9."""

MATERIALS = ("water", "grass", "stone", "path", "sand", "tree", "lava", "coal", "iron", "diamond", "table",
             "furnace")
"""Crafter's materials; the game's material ids are 1 + the index here (0 = outside the world)."""

CREATURES = ("player", "cow", "zombie", "skeleton", "arrow", "plant", "fence")
"""Object kinds that stand on a cell (the game's classes, lower-cased)."""

ACHIEVEMENTS = (
    "collect_coal", "collect_diamond", "collect_drink", "collect_iron", "collect_sapling", "collect_stone",
    "collect_wood", "defeat_skeleton", "defeat_zombie", "eat_cow", "eat_plant", "make_iron_pickaxe",
    "make_iron_sword", "make_stone_pickaxe", "make_stone_sword", "make_wood_pickaxe", "make_wood_sword",
    "place_furnace", "place_plant", "place_stone", "place_table", "wake_up",
)
"""The 22 achievements in the game's order (crafter/data.yaml `achievements`), the index of `unlocked`."""

VIEW = (9, 7)
"""Cells the player sees (width, height), centred on the player: x offsets -4..4, y offsets -3..3."""

VIEW_HALF = (VIEW[0] // 2, VIEW[1] // 2)

CELL_KINDS = ("outside",) + MATERIALS + CREATURES
"""What a cell of the symbolic view can hold: a creature on it wins over the material beneath."""

SYMBOLIC_SIZE = VIEW[0] * VIEW[1] * len(CELL_KINDS) + len(ITEMS) + 4
"""Length of the symbolic observation: one-hot view, inventory / 9, daylight, sleeping, facing (x, y)."""


def window(grid: np.ndarray, center: np.ndarray) -> np.ndarray:
    """The VIEW cells of a (W, H) world map around `center`, shape (9, 7); cells outside the world are 0."""
    out = np.zeros(VIEW, dtype=grid.dtype)
    x0, y0 = int(center[0]) - VIEW_HALF[0], int(center[1]) - VIEW_HALF[1]
    xs = slice(max(x0, 0), min(x0 + VIEW[0], grid.shape[0]))
    ys = slice(max(y0, 0), min(y0 + VIEW[1], grid.shape[1]))
    out[xs.start - x0: xs.stop - x0, ys.start - y0: ys.stop - y0] = grid[xs, ys]
    return out


def view_layers(game: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (9, 7) view around the player as two layers of indices into CELL_KINDS.

    The first holds the material of every cell (0 outside the world), the second the creature standing
    on it (0 where none does; the player's own cell holds 'player'), so that a creature never hides
    what it stands on (the lava under the player's feet).
    """
    world = game._world
    center = game._player.pos
    materials = window(world._mat_map, center).astype(np.int64)  # material id = 1 + MATERIALS index; 0 outside
    object_index = window(world._obj_map, center)
    creatures = np.zeros(VIEW, dtype=np.int64)
    first_creature = 1 + len(MATERIALS)
    for x, y in zip(*np.nonzero(object_index)):
        obj = world._objects[int(object_index[x, y])]
        if obj is not None:
            creatures[x, y] = first_creature + CREATURES.index(type(obj).__name__.lower())
    return materials, creatures


def cell_kinds(game: Any) -> np.ndarray:
    """The (9, 7) view as indices into CELL_KINDS, a creature on a cell shown over its material."""
    materials, creatures = view_layers(game)
    return np.where(creatures > 0, creatures, materials)


def symbolic_observation(game: Any) -> np.ndarray:
    """The compact policy observation (see the module docstring), float32 of shape (SYMBOLIC_SIZE,)."""
    kinds = cell_kinds(game)
    onehot = np.zeros((*VIEW, len(CELL_KINDS)), dtype=np.float32)
    np.put_along_axis(onehot, kinds[..., None], 1.0, axis=-1)
    player = game._player
    inventory = np.array([player.inventory[name] for name in ITEMS], dtype=np.float32) / 9.0
    extras = np.array([game._world.daylight, float(player.sleeping), *player.facing], dtype=np.float32)
    return np.concatenate([onehot.ravel(), inventory, extras])


def _game_class() -> type:
    """crafter.Env with drawing switched off for the symbolic observation (imported on first use)."""
    import crafter

    class Game(crafter.Env):
        draws = True

        def _obs(self) -> np.ndarray | None:
            # crafter draws its image inside step(); the symbolic view never reads it
            return super()._obs() if self.draws else None

    return Game


class CrafterEnv(gymnasium.Env):
    """One Crafter game in gymnasium's API; see the module docstring for `obs`.

    `area` (world size), `size` (pixel image size) and `length` (the game's own episode limit) are
    crafter.Env's arguments. `game` is the underlying crafter.Env, read by the adapter's probe;
    `previous_counts` holds the achievement counts before the last step (to tell new unlocks).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, obs: str = "symbolic", area: tuple[int, int] = (64, 64), size: tuple[int, int] = (64, 64),
                 length: int = 10000, render_mode: str | None = None) -> None:
        if obs not in ("symbolic", "pixels"):
            raise ValueError(f"CrafterEnv obs must be 'symbolic' or 'pixels', got {obs!r}")
        self.obs_mode = obs
        self.render_mode = render_mode
        self.game = _game_class()(area=tuple(area), size=tuple(size), length=length, reward=True, seed=0)
        self.game.draws = obs == "pixels"
        self.action_space = gymnasium.spaces.Discrete(len(ACTIONS))
        if obs == "pixels":
            self.observation_space = gymnasium.spaces.Box(0, 255, (*size, 3), np.uint8)
        else:
            self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, (SYMBOLIC_SIZE,), np.float32)
        self.previous_counts: dict[str, int] = {name: 0 for name in ACHIEVEMENTS}

    def _observe(self, image: np.ndarray | None) -> np.ndarray:
        return image if self.obs_mode == "pixels" else symbolic_observation(self.game)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            # crafter seeds each world from (seed, episode number): start both again
            self.game._seed = int(seed)
            self.game._episode = 0
        image = self.game.reset()
        self.previous_counts = {name: 0 for name in ACHIEVEMENTS}
        return self._observe(image), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.previous_counts = dict(self.game._player.achievements)
        image, reward, done, info = self.game.step(int(action))
        terminated = self.game._player.health <= 0
        # the semantic map is a 64x64 copy per step that nothing here reads; SB3 keeps every info
        info.pop("semantic", None)
        info["player_pos"] = np.array(info["player_pos"])  # the game's live array, not a copy
        return self._observe(image), float(reward), bool(terminated), bool(done and not terminated), info

    def render(self) -> np.ndarray:
        return self.game.render()
