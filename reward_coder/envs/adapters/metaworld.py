"""Meta-World v3 (the Sawyer arm) through its MT1 benchmark env: `gymnasium.make("Meta-World/MT1", env_name=...)`.

The observation (39 float64, every v3 task; metaworld/sawyer_xyz_env.py `_get_obs`):

    [0:3]   hand position (body 'hand'), clipped to the hand's workspace
    [3]     gripper openness: finger distance / 0.1, clipped to [0, 1] (1 = fully open)
    [4:7]   first object's position (what the task's `_get_pos_objects()` returns)
    [7:11]  first object's quaternion (x, y, z, w for scipy-built ones; the body's (w, x, y, z) for others)
    [11:18] second object's position and quaternion (zeros in every task that has one object)
    [18:36] the same 18 numbers one step earlier (frame stacking)
    [36:39] goal position (`_target_pos`; MT1 makes it observable)

Fields the obs lacks come from the simulator (`probe`): the point between the fingertips
(`tcp_center`, which the env's own rewards and success tests use), the hand's and the fingertips' start
positions and the object's start position (`obj_init_pos`, read once at reset: some tasks keep a live
view of a simulator buffer there). `success` comes from the step's info (`probe_info`).

Goals vary between episodes as in the MT1 benchmark: the env holds 50 task variants (object and goal
placements drawn once from the `seed` in make_kwargs) and draws one at every reset. The draw uses the
Sawyer env's own RNG, which `reset(seed=...)` does not touch; `wrap_env` routes the reset seed to it
(metaworld_env.ReseedTaskSampler), so parallel envs seeded differently see different goals, and a
seeded reset is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from reward_coder.envs.adapters.base import OBS, Adapter, EnvLayout, FieldRecipe, UnsupportedEnvError

if TYPE_CHECKING:
    import gymnasium

ENV_ID = "Meta-World/MT1"
OBS_DIM = 39
MAX_PATH_LENGTH = 500
"""SawyerXYZEnv.max_path_length: episodes are truncated (never terminated) after 500 steps."""

V3_TASKS = (
    "assembly-v3", "basketball-v3", "bin-picking-v3", "box-close-v3", "button-press-topdown-v3",
    "button-press-topdown-wall-v3", "button-press-v3", "button-press-wall-v3", "coffee-button-v3",
    "coffee-pull-v3", "coffee-push-v3", "dial-turn-v3", "disassemble-v3", "door-close-v3", "door-lock-v3",
    "door-open-v3", "door-unlock-v3", "hand-insert-v3", "drawer-close-v3", "drawer-open-v3",
    "faucet-open-v3", "faucet-close-v3", "hammer-v3", "handle-press-side-v3", "handle-press-v3",
    "handle-pull-side-v3", "handle-pull-v3", "lever-pull-v3", "pick-place-wall-v3", "pick-out-of-hole-v3",
    "pick-place-v3", "plate-slide-v3", "plate-slide-side-v3", "plate-slide-back-v3",
    "plate-slide-back-side-v3", "peg-insert-side-v3", "peg-unplug-side-v3", "soccer-v3", "stick-push-v3",
    "stick-pull-v3", "push-v3", "push-wall-v3", "push-back-v3", "reach-v3", "reach-wall-v3",
    "shelf-place-v3", "sweep-into-v3", "sweep-v3", "window-open-v3", "window-close-v3",
)
"""metaworld.env_dict.ALL_V3_ENVIRONMENTS (metaworld 3.1), listed here so cards validate without the simulator."""

_LAYOUT_CHANGING_KWARGS = ("use_one_hot", "recurrent_info_in_obs", "normalize_observations")
"""make_kwargs of MT1 that change the observation vector; the layout above assumes their defaults."""

_LAYOUT = EnvLayout(
    obs_dim=OBS_DIM,
    recipes={
        "hand_pos": FieldRecipe(OBS, slice(0, 3), (3,)),
        "gripper_openness": FieldRecipe(OBS, 3, ()),
        "obj_pos": FieldRecipe(OBS, slice(4, 7), (3,)),
        "obj_quat": FieldRecipe(OBS, slice(7, 11), (4,)),
        "obj2_pos": FieldRecipe(OBS, slice(11, 14), (3,)),
        "obj2_quat": FieldRecipe(OBS, slice(14, 18), (4,)),
        "goal_pos": FieldRecipe(OBS, slice(36, 39), (3,)),
        "obs": FieldRecipe(OBS, None, (OBS_DIM,)),
        "tcp_pos": FieldRecipe("tcp_pos", None, (3,)),
        "init_tcp_pos": FieldRecipe("init_tcp_pos", None, (3,)),
        "hand_init_pos": FieldRecipe("hand_init_pos", None, (3,)),
        "obj_init_pos": FieldRecipe("obj_init_pos", None, (3,)),
        "success": FieldRecipe("success", None, ()),
    },
)

_EPISODE_ATTR = "_reward_coder_episode_start"
"""Attribute on the Sawyer env holding the start-of-episode values read at reset (see probe)."""
_START_KEYS = frozenset({"init_tcp_pos", "hand_init_pos", "obj_init_pos"})


class MetaWorldAdapter(Adapter):
    """Fields of Meta-World v3 tasks; see the module docstring for where each comes from."""

    family = "metaworld"

    def __init__(
        self, env_id: str, field_names: Sequence[str], make_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(env_id, field_names, make_kwargs)
        self._needed = frozenset(self._probe_keys)
        self._needs_sim = bool(self._needed - {"success"})

    @classmethod
    def layout(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> EnvLayout:
        if env_id != ENV_ID:
            raise UnsupportedEnvError(
                f"adapter 'metaworld' supports env_id '{ENV_ID}' with make_kwargs.env_name set to a v3 task, "
                f"not '{env_id}'"
            )
        name = make_kwargs.get("env_name")
        if name not in V3_TASKS:
            raise UnsupportedEnvError(
                f"adapter 'metaworld' needs make_kwargs.env_name to be a Meta-World v3 task such as "
                f"'reach-v3' (one of {len(V3_TASKS)}), got {name!r}"
            )
        for key in _LAYOUT_CHANGING_KWARGS:
            if make_kwargs.get(key):
                raise UnsupportedEnvError(
                    f"adapter 'metaworld' needs the plain 39-number observation; remove make_kwargs.{key}"
                )
        return _LAYOUT

    def wrap_env(self, env: gymnasium.Env) -> gymnasium.Env:
        from reward_coder.envs.adapters.metaworld_env import ReseedTaskSampler  # gymnasium only when building

        return ReseedTaskSampler(env)

    def probe(self, env: gymnasium.Env) -> dict[str, Any]:
        if not self._needs_sim:
            return {}
        sim = env.unwrapped
        needed = self._needed
        probe: dict[str, Any] = {}
        if "tcp_pos" in needed:
            probe["tcp_pos"] = np.array(sim.tcp_center, dtype=np.float64)
        if needed & _START_KEYS:
            start = getattr(sim, _EPISODE_ATTR, None)
            # curr_path_length is 0 right after reset(): read the start values once per episode, as
            # copies (door-unlock's obj_init_pos is a live view of the lock's position).
            if start is None or sim.curr_path_length == 0:
                start = {
                    "init_tcp_pos": np.array(sim.init_tcp, dtype=np.float64),
                    "hand_init_pos": np.array(sim.hand_init_pos, dtype=np.float64),
                    "obj_init_pos": np.array(sim.obj_init_pos, dtype=np.float64),
                }
                setattr(sim, _EPISODE_ATTR, start)
            for key in needed & _START_KEYS:
                probe[key] = start[key].copy()
        return probe

    def probe_info(self, info: Mapping[str, Any]) -> dict[str, Any]:
        if "success" not in self._needed:
            return {}
        return {"success": float(bool(info.get("success", 0.0)))}
