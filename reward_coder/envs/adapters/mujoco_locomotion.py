"""Gymnasium's MuJoCo locomotion robots (v5): HalfCheetah, Hopper, Walker2d, Ant, Humanoid.

Fields come from two places:
- the obs vector, sliced (layouts from gymnasium/envs/mujoco/*_v5.py `_get_obs`, with the default
  `exclude_current_positions_from_observation=True`, so obs starts at qpos[1] (planar) / qpos[2] (3-D));
- a probe of the simulator for what obs lacks: the x (and y) position, foot clearance and foot
  contact, the head height and centre of mass (Humanoid), and for Hopper/Walker2d the velocities,
  because their obs clips qvel to [-10, 10].

The probe must describe the same instant as the obs. After `mj_step`, MuJoCo's derived quantities
(body and geom positions, the contact list) still belong to the state *before* the last integration
substep while qpos/qvel (and so the obs) are after it; on HalfCheetah that is ~2 cm of foot height.
So the probe recomputes kinematics and collisions for the current qpos in a private MjData of its own
(~3-6 µs), never touching the env's MjData, so probing cannot change the simulation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from reward_coder.envs.adapters.base import (
    OBS,
    Adapter,
    EnvLayout,
    FieldRecipe,
    UnsupportedEnvError,
    add_constant,
    reshape_rows,
)

if TYPE_CHECKING:
    import gymnasium


def _unit_quaternion(quat: np.ndarray) -> np.ndarray:
    """(n, 4) quaternions (w, x, y, z) scaled to unit length.

    qpos holds the root quaternion as integrated; reset() adds noise to it without normalizing (off by
    up to ~5% on Ant), and MuJoCo itself normalizes only when it uses it. Normalizing here makes the
    field mean what the body's orientation is.
    """
    return quat / np.linalg.norm(quat, axis=1, keepdims=True)


def _upright(quat: np.ndarray) -> np.ndarray:
    """(n, 4) quaternions (w, x, y, z) -> z component of the body's own z axis (1 = upright)."""
    q = _unit_quaternion(quat)
    x, y = q[:, 1], q[:, 2]
    return 1.0 - 2.0 * (x * x + y * y)


def _yaw(quat: np.ndarray) -> np.ndarray:
    """(n, 4) quaternions (w, x, y, z) -> heading of the body's own x axis in the ground plane (rad)."""
    q = _unit_quaternion(quat)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


@dataclass(frozen=True)
class _Robot:
    """What one robot's fields are made of and what its probe must read."""

    layout: EnvLayout
    feet: tuple[str, ...]
    """Geom names of the feet, in field order."""
    planar: bool
    """True for the 2-D robots (slide x, slide z, hinge pitch root); False for a free-joint root."""
    probe_qvel: bool = False
    """Read velocities from the simulator because the obs clips them (Hopper, Walker2d)."""
    head: str | None = None
    """Geom whose centre height is the `head_height` field."""
    center_of_mass: bool = False
    fixed_layout_kwargs: tuple[tuple[str, Any], ...] = ()
    """make_kwargs that would change the obs layout, with the only value this table supports."""


def _planar_recipes(
    n_joints: int, *, height_offset: float, velocities: str, n_feet: int
) -> dict[str, FieldRecipe]:
    """Recipes of the 2-D robots: obs = qpos[1:] then qvel; velocities from obs or probe 'qvel'."""
    q = 2 + n_joints  # obs index where qvel starts
    if velocities == OBS:
        vel_source, v0 = OBS, q
    else:
        vel_source, v0 = "qvel", 0
    foot_index: int | slice = 0 if n_feet == 1 else slice(0, n_feet)
    foot_shape: tuple[int, ...] = () if n_feet == 1 else (n_feet,)
    return {
        "x_position": FieldRecipe("x_position", None, ()),
        "torso_height": FieldRecipe(OBS, 0, (), add_constant(height_offset) if height_offset else None),
        "torso_angle": FieldRecipe(OBS, 1, ()),
        "joint_angles": FieldRecipe(OBS, slice(2, q), (n_joints,)),
        "forward_velocity": FieldRecipe(vel_source, v0, ()),
        "vertical_velocity": FieldRecipe(vel_source, v0 + 1, ()),
        "torso_angular_velocity": FieldRecipe(vel_source, v0 + 2, ()),
        "joint_velocities": FieldRecipe(vel_source, slice(v0 + 3, v0 + 3 + n_joints), (n_joints,)),
        "foot_height": FieldRecipe("foot_clearance", foot_index, foot_shape),
        "foot_contact": FieldRecipe("foot_contact", foot_index, foot_shape),
    }


def _spatial_recipes(n_joints: int, *, cfrc_start: int, n_bodies: int, n_feet: int) -> dict[str, FieldRecipe]:
    """Recipes of the free-root robots: obs = qpos[2:] (z, quat, joints), qvel (6 + joints), ..."""
    v = 5 + n_joints  # obs index where qvel starts
    return {
        "x_position": FieldRecipe("xy_position", 0, ()),
        "y_position": FieldRecipe("xy_position", 1, ()),
        "torso_height": FieldRecipe(OBS, 0, ()),
        "torso_orientation": FieldRecipe(OBS, slice(1, 5), (4,), _unit_quaternion),
        "upright": FieldRecipe(OBS, slice(1, 5), (), _upright),
        "yaw": FieldRecipe(OBS, slice(1, 5), (), _yaw),
        "joint_angles": FieldRecipe(OBS, slice(5, v), (n_joints,)),
        "forward_velocity": FieldRecipe(OBS, v, ()),
        "lateral_velocity": FieldRecipe(OBS, v + 1, ()),
        "vertical_velocity": FieldRecipe(OBS, v + 2, ()),
        "torso_angular_velocity": FieldRecipe(OBS, slice(v + 3, v + 6), (3,)),
        "joint_velocities": FieldRecipe(OBS, slice(v + 6, v + 6 + n_joints), (n_joints,)),
        "contact_forces": FieldRecipe(
            OBS, slice(cfrc_start, cfrc_start + 6 * n_bodies), (n_bodies, 6), reshape_rows(n_bodies, 6)
        ),
        "foot_height": FieldRecipe("foot_clearance", slice(0, n_feet), (n_feet,)),
        "foot_contact": FieldRecipe("foot_contact", slice(0, n_feet), (n_feet,)),
    }


_EXCLUDE_XY = ("exclude_current_positions_from_observation", True)

_ROBOTS: dict[str, _Robot] = {
    "HalfCheetah-v5": _Robot(
        # The torso body sits at z = 0.7 and its rootz slide joint measures from there (no `ref`).
        layout=EnvLayout(17, _planar_recipes(6, height_offset=0.7, velocities=OBS, n_feet=2)),
        feet=("bfoot", "ffoot"),
        planar=True,
        fixed_layout_kwargs=(_EXCLUDE_XY,),
    ),
    "Hopper-v5": _Robot(
        # rootz has ref=1.25 = the torso's rest height, so qpos[1] is already the torso height.
        layout=EnvLayout(11, _planar_recipes(3, height_offset=0.0, velocities="qvel", n_feet=1)),
        feet=("foot_geom",),
        planar=True,
        probe_qvel=True,
        fixed_layout_kwargs=(_EXCLUDE_XY,),
    ),
    "Walker2d-v5": _Robot(
        layout=EnvLayout(17, _planar_recipes(6, height_offset=0.0, velocities="qvel", n_feet=2)),
        feet=("foot_geom", "foot_left_geom"),
        planar=True,
        probe_qvel=True,
        fixed_layout_kwargs=(_EXCLUDE_XY,),
    ),
    "Ant-v5": _Robot(
        # obs = qpos[2:15] (13), qvel (14), clip(cfrc_ext[1:], -1, 1) (13 bodies x 6) = 105
        layout=EnvLayout(105, _spatial_recipes(8, cfrc_start=27, n_bodies=13, n_feet=4)),
        feet=("left_ankle_geom", "right_ankle_geom", "third_ankle_geom", "fourth_ankle_geom"),
        planar=False,
        fixed_layout_kwargs=(_EXCLUDE_XY, ("include_cfrc_ext_in_observation", True)),
    ),
    "Humanoid-v5": _Robot(
        # obs = qpos[2:24] (22), qvel (23), cinert[1:] (130), cvel[1:] (78), qfrc_actuator[6:] (17),
        # cfrc_ext[1:] (78) = 348; contact forces start at 22 + 23 + 130 + 78 + 17 = 270.
        layout=EnvLayout(
            348,
            {
                **_spatial_recipes(17, cfrc_start=270, n_bodies=13, n_feet=2),
                "head_height": FieldRecipe("head_height", None, ()),
                "com_position": FieldRecipe("com_position", slice(0, 3), (3,)),
            },
        ),
        feet=("right_foot", "left_foot"),
        planar=False,
        head="head",
        center_of_mass=True,
        fixed_layout_kwargs=(
            _EXCLUDE_XY,
            ("include_cinert_in_observation", True),
            ("include_cvel_in_observation", True),
            ("include_qfrc_actuator_in_observation", True),
            ("include_cfrc_ext_in_observation", True),
        ),
    ),
}

_CONTEXT_ATTR = "_reward_coder_probe_context"
_KINEMATIC_KEYS = frozenset({"foot_clearance", "foot_contact", "head_height", "com_position"})
"""Probe values that need body positions recomputed (mj_kinematics) in the private MjData."""


@dataclass
class _ProbeContext:
    """Per-env handles resolved once: a private MjData, views into it, and the ids the probe reads."""

    model: Any
    scratch: Any
    kinematics: Any
    collision: Any
    geom_xpos_flat: np.ndarray
    """Flat view of scratch.geom_xpos (geom g's z is at 3 g + 2)."""
    geom_xmat_flat: np.ndarray
    """Flat view of scratch.geom_xmat (the z component of geom g's own z axis is at 9 g + 8)."""
    floor: int
    foot_slot: dict[int, int]
    """Foot geom id -> its position in the foot fields."""
    foot_geometry: tuple[tuple[int, int, float, float], ...]
    """Per foot: (index of centre z, index of axis z, half length (0 for a sphere), radius)."""
    head: int | None
    mass_fraction: np.ndarray | None


class MujocoLocomotionAdapter(Adapter):
    """Fields of the v5 MuJoCo locomotion robots; see the module docstring for where each comes from."""

    family = "mujoco_locomotion"

    def __init__(
        self, env_id: str, field_names: Sequence[str], make_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(env_id, field_names, make_kwargs)
        self._robot = _ROBOTS[env_id]
        self._needed = frozenset(self._probe_keys)

    @classmethod
    def layout(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> EnvLayout:
        robot = _ROBOTS.get(env_id)
        if robot is None:
            raise UnsupportedEnvError(
                f"adapter 'mujoco_locomotion' supports {', '.join(_ROBOTS)}, not '{env_id}'"
            )
        for key, supported in robot.fixed_layout_kwargs + (("xml_file", None),):
            if key in make_kwargs and make_kwargs[key] != supported:
                raise UnsupportedEnvError(
                    f"adapter 'mujoco_locomotion' needs the default obs layout of {env_id}; "
                    f"remove make_kwargs.{key}"
                )
        return robot.layout

    def probe(self, env: gymnasium.Env) -> dict[str, Any]:
        sim = env.unwrapped
        context = getattr(sim, _CONTEXT_ATTR, None)
        if context is None or context.model is not sim.model:
            context = self._bind(sim)
        data, scratch, robot, needed = sim.data, context.scratch, self._robot, self._needed
        probe: dict[str, Any] = {}
        if robot.planar:
            probe["x_position"] = float(data.qpos[0])
        else:
            probe["xy_position"] = data.qpos[0:2].copy()
        if robot.probe_qvel:
            probe["qvel"] = data.qvel.copy()
        if not needed & _KINEMATIC_KEYS:
            return probe  # the fields in use come from qpos/qvel alone: skip the kinematics pass

        scratch.qpos[:] = data.qpos
        context.kinematics(context.model, scratch)
        xpos, xmat = context.geom_xpos_flat, context.geom_xmat_flat
        if "foot_clearance" in needed:
            # Plain-float loops: with 1-4 feet they cost less than numpy's per-call overhead. Lowest
            # point of a capsule (axis = its local z) or a sphere (half length 0) above the z = 0
            # floor: centre z - half length * |axis z| - radius.
            probe["foot_clearance"] = np.array(
                [xpos[z] - half * abs(xmat[axis_z]) - radius for z, axis_z, half, radius in context.foot_geometry]
            )
        if "foot_contact" in needed:
            context.collision(context.model, scratch)
            contact = [0.0] * len(context.foot_geometry)
            if scratch.ncon:
                floor, slot_of = context.floor, context.foot_slot
                for first, second in scratch.contact.geom.tolist():
                    other = second if first == floor else first if second == floor else None
                    slot = slot_of.get(other)
                    if slot is not None:
                        contact[slot] = 1.0
            probe["foot_contact"] = np.array(contact)
        if context.head is not None and "head_height" in needed:
            probe["head_height"] = float(xpos[3 * context.head + 2])
        if context.mass_fraction is not None and "com_position" in needed:
            probe["com_position"] = context.mass_fraction @ scratch.xipos
        return probe

    def _bind(self, sim: Any) -> _ProbeContext:
        """Resolve geom ids and allocate the private MjData for one env (once per env)."""
        import mujoco  # the simulator is an optional import: listing cards must not need it

        model, robot = sim.model, self._robot
        scratch = mujoco.MjData(model)
        feet = [model.geom(name).id for name in robot.feet]
        geometry = tuple(
            (
                3 * g + 2,
                9 * g + 8,
                0.0 if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE else float(model.geom_size[g, 1]),
                float(model.geom_size[g, 0]),
            )
            for g in feet
        )
        mass_fraction = None
        if robot.center_of_mass:
            mass_fraction = np.asarray(model.body_mass, dtype=np.float64) / float(np.sum(model.body_mass))
        context = _ProbeContext(
            model=model,
            scratch=scratch,
            kinematics=mujoco.mj_kinematics,
            collision=mujoco.mj_collision,
            geom_xpos_flat=scratch.geom_xpos.reshape(-1),
            geom_xmat_flat=scratch.geom_xmat.reshape(-1),
            floor=model.geom("floor").id,
            foot_slot={g: slot for slot, g in enumerate(feet)},
            foot_geometry=geometry,
            head=model.geom(robot.head).id if robot.head else None,
            mass_fraction=mass_fraction,
        )
        setattr(sim, _CONTEXT_ATTR, context)
        return context
