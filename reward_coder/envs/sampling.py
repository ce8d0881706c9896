"""Real (state, action, next_state) transitions of a card's env, and pairing of vectorized steps.

`sample_transitions` rolls out real envs with random actions and with simple scripted policies that
reach states random actions rarely reach (a pendulum swung up, a car at the flag, a robot driven by a
gait-like sinusoid or by full torque). The sandbox runs a candidate reward on these before training.

`fields_from_vec_step` pairs an SB3 VecEnv step's obs with the right probes, for the reward wrapper;
`sample_transitions` follows the same rule for the step that ends an episode:
- the transition of that step is scored on the *terminal* obs (infos[i]["terminal_observation"]) with
  the probe taken at the same instant (infos[i]["rc_probe"]), never on the reset obs that replaced it;
- the state the *next* step starts from is the reset obs (obs[i]) with the reset's probe
  (reset_infos[i]["rc_probe"]).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reward_coder.envs.adapters.base import Adapter, adapter_for
from reward_coder.envs.factory import make_env
from reward_coder.envs.probe import PROBE_KEY
from reward_coder.types import DirectionSide, EnvCard

Fields = dict[str, np.ndarray]
Policy = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
"""(obs batch (n, obs_dim), step index, rng) -> actions (n, *action_shape)."""


@dataclass
class TransitionBatch:
    """N transitions, every array stacked with leading dim N; fields as the reward function sees them."""

    state: Fields
    action: np.ndarray
    next_state: Fields
    native_reward: np.ndarray
    done: np.ndarray
    """True where the transition ended an episode (terminated or truncated); next_state is then terminal."""
    episode_start: np.ndarray | None = None
    """True where `state` starts a stretch of one env's episode: the first recorded step of each
    policy's rollout and the step after an episode ended. A reward's per-episode memory is emptied there."""
    n_envs: int = 0
    """Envs side by side: rows come in blocks of n_envs, one block per step (0: unknown layout)."""
    env_index: np.ndarray | None = None
    """Which env (rollout) each row comes from, where rows are not in blocks (reference rollouts)."""

    def __len__(self) -> int:
        return int(self.action.shape[0])


def fields_from_vec_step(
    adapter: Adapter,
    obs: np.ndarray,
    infos: Sequence[Mapping[str, Any]],
    dones: np.ndarray,
    reset_infos: Sequence[Mapping[str, Any]],
) -> tuple[Fields, Fields]:
    """(next_state, state_after) of one SB3 VecEnv step, from the raw (un-normalized) VecEnv outputs.

    next_state: what the step led to, used to score it: terminal obs + its probe where done.
    state_after: what the next step starts from: obs as returned (the reset obs where done) with the
    reset's probe from `reset_infos` (SB3's `venv.reset_infos`; read only for the rows that are done).
    The two are the same dict when no env is done. Apply this *below* VecNormalize, on raw obs:
    VecNormalize rewrites both obs and terminal_observation.
    """
    probes = [_probe_of(info) for info in infos] if adapter.needs_probe else ()
    if not dones.any():  # the common case, checked without building an index array
        state = adapter.fields(obs, probes)
        return state, state
    done_rows = np.flatnonzero(dones)
    terminal_obs = np.array(obs, dtype=np.float64)
    for i in done_rows:
        terminal_obs[i] = infos[i]["terminal_observation"]
    next_state = adapter.fields(terminal_obs, probes)
    reset_probes = [_probe_of(reset_infos[i]) for i in done_rows] if adapter.needs_probe else ()
    reset_fields = adapter.fields(np.asarray(obs)[done_rows], reset_probes)
    state_after = {name: value.copy() for name, value in next_state.items()}
    for name, value in reset_fields.items():
        state_after[name][done_rows] = value
    return next_state, state_after


def _probe_of(info: Mapping[str, Any]) -> Mapping[str, Any]:
    """The probe of a step; {} when absent (fine for obs-only fields, else adapter.fields says what's missing)."""
    return info.get(PROBE_KEY, _NO_PROBE)


_NO_PROBE: Mapping[str, Any] = {}


# --------------------------------------------------------------------------------------------------
# scripted policies
# --------------------------------------------------------------------------------------------------


def _pendulum_swing_up(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
    """Energy pumping, then a PD balance near the top (obs = [cos, sin, theta_dot])."""
    cos, sin, vel = obs[:, 0], obs[:, 1], obs[:, 2]
    theta = np.arctan2(sin, cos)
    # theta'' = 15 sin(theta) + 3 u, so E = vel^2 / 2 + 15 cos(theta) is 15 at rest upright
    energy = 0.5 * vel**2 + 15.0 * cos
    pump = np.where(vel >= 0, 1.0, -1.0) * np.clip(0.5 * (15.0 - energy), -2.0, 2.0)
    balance = -10.0 * theta - 2.0 * vel
    torque = np.where(cos > 0.93, balance, pump)
    return np.clip(torque, -2.0, 2.0)[:, None]


def _mountain_car_pump(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
    """Push in the direction of motion (full force): builds energy until the car reaches the flag."""
    velocity = obs[:, 1]
    return np.where(velocity >= 0, 1.0, -1.0)[:, None]


def _open_loop_drives(action_shape: tuple[int, ...], low: float, high: float) -> Policy:
    """Env i gets drive i % 4: a gait-like sinusoid, full +torque, full -torque, zero torque.

    The sinusoid gives each joint its own phase so legs alternate; constant torques drive joints to
    their limits and robots onto their backs, states random actions seldom visit.
    """
    size = int(np.prod(action_shape))
    phases = np.linspace(0.0, 2.0 * np.pi, size, endpoint=False)
    mid, half = (high + low) / 2.0, (high - low) / 2.0

    def policy(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        n = obs.shape[0]
        drive = np.arange(n) % 4
        sinus = mid + half * np.sin(2.0 * np.pi * t / 20.0 + phases)
        actions = np.empty((n, size))
        actions[drive == 0] = sinus
        actions[drive == 1] = high
        actions[drive == 2] = low
        actions[drive == 3] = mid
        return actions.reshape(n, *action_shape)

    return policy


_SCRIPTED: dict[str, tuple[Policy, int]] = {
    # (policy, unrecorded warm-up steps so the recorded window holds the interesting part)
    "Pendulum-v1": (_pendulum_swing_up, 20),  # upright after 25-60 steps from hanging
    "MountainCarContinuous-v0": (_mountain_car_pump, 80),  # reaches the flag after ~105 steps
}


def _open_loop_choices(n_actions: int) -> Policy:
    """Discrete actions, env i gets drive i % 4: cycle through the actions (10 steps each), hold the first,
    hold the last, switch every step. Holding one action drives an env to where it alone leads (a cart
    pushed off the track, a pole fallen), which uniform random choices seldom reach."""

    def policy(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        drive = np.arange(obs.shape[0]) % 4
        choices = np.select([drive == 0, drive == 1, drive == 2], [(t // 10) % n_actions, 0, n_actions - 1],
                            t % n_actions)
        return choices.astype(np.int64)

    return policy


def scripted_policy(card: EnvCard) -> Policy:
    """The scripted policy of `card`: an env-specific controller, else open-loop drives (or choices)."""
    if card.env_id in _SCRIPTED:
        return _SCRIPTED[card.env_id][0]
    if card.action.discrete:
        return _open_loop_choices(len(card.action.choices))
    return _open_loop_drives(card.action.shape, card.action.low, card.action.high)


def _random_policy(card: EnvCard) -> Policy:
    shape, low, high = card.action.shape, card.action.low, card.action.high
    if card.action.discrete:
        n_actions = len(card.action.choices)

        def choose(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
            return rng.integers(0, n_actions, size=obs.shape[0])

        return choose

    def policy(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(low, high, size=(obs.shape[0], *shape))

    return policy


def _zero_policy(card: EnvCard) -> Policy:
    """The middle of a continuous action range; for a discrete card, its neutral action."""
    shape, mid = card.action.shape, (card.action.low + card.action.high) / 2.0
    if card.action.discrete:
        neutral = card.action.neutral_index()
        if neutral is None:
            raise ValueError(f"card '{card.id}': the 'zero' policy needs action.neutral, a discrete action that does nothing")
        shape, mid = (), neutral

    def policy(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        return np.full((obs.shape[0], *shape), mid)

    return policy


def _expert_policy(card: EnvCard) -> Policy:
    """Meta-World's own scripted policy of the card's task (metaworld.policies), one obs row at a time."""
    import metaworld.policies

    task = str(card.make_kwargs.get("env_name", ""))
    words = task.removesuffix("-v3").split("-")
    name = "Sawyer" + "".join(w.capitalize() for w in words) + "V3Policy"
    expert_class = getattr(metaworld.policies, name, None)
    if expert_class is None:
        raise ValueError(f"card '{card.id}': Meta-World has no scripted policy {name} for task {task!r}")
    expert = expert_class()

    def policy(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Constant")  # its gains exceed the action bounds; the env clips
            return np.stack([np.asarray(expert.get_action(row), dtype=np.float64) for row in obs])

    return policy


_FETCH_GRIP, _FETCH_GOAL, _FETCH_OBJECT = slice(6, 9), slice(3, 6), slice(9, 12)
"""Columns of Fetch's flattened obs (see reward_coder/envs/adapters/fetch.py)."""
_FETCH_REACH_OBS = 16
"""Width of the flattened obs without an object (Reach); Push and the others carry the object after the gripper."""


def _fetch_drive(card: EnvCard, sign: float) -> Policy:
    """Fetch: a proportional controller of the gripper toward (+1) or away from (-1) where the task wants it.

    For Reach that is the goal. For Push (a cube in the obs), toward pushes the cube onto the goal: above
    a point behind the cube (seen from the goal), down, then slowly through the cube toward the goal, and
    still once the cube is there. Away (-1) drives the gripper straight away from the goal.
    """
    def policy(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        grip, goal = obs[:, _FETCH_GRIP], obs[:, _FETCH_GOAL]
        if obs.shape[1] > _FETCH_REACH_OBS and sign > 0:  # an object in the obs: push it
            move = _push_move(grip, obs[:, _FETCH_OBJECT], goal)
        else:
            move = np.clip(sign * 12.0 * (goal - grip), -1.0, 1.0)
        return np.concatenate([move, np.full((obs.shape[0], 1), -1.0)], axis=1)  # gripper closed

    return policy


def _push_move(grip: np.ndarray, cube: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Gripper displacement action that pushes each row's cube onto its goal."""
    heading = goal[:, :2] - cube[:, :2]
    remaining = np.linalg.norm(heading, axis=1)
    heading /= np.maximum(remaining[:, None], 1e-6)
    behind = cube.copy()
    behind[:, :2] -= 0.06 * heading
    lined_up = np.linalg.norm(grip[:, :2] - behind[:, :2], axis=1) < 0.03
    relative = grip[:, :2] - cube[:, :2]
    along = np.sum(relative * heading, axis=1)
    across = np.abs(relative[:, 0] * heading[:, 1] - relative[:, 1] * heading[:, 0])
    pushing = (along < -0.015) & (across < 0.03) & (grip[:, 2] < cube[:, 2] + 0.02)
    # above the point behind the cube first (so as not to knock it), then down onto it
    approach = np.where(lined_up[:, None], behind, behind + np.array([0.0, 0.0, 0.06]))
    move = np.clip(12.0 * (approach - grip), -1.0, 1.0)
    # slowly (the cube slides on after a fast push), aiming the gripper just short of the goal
    push_to = cube.copy()
    push_to[:, :2] = goal[:, :2] - 0.04 * heading
    move = np.where(pushing[:, None], np.clip(6.0 * (push_to - grip), -0.3, 0.3), move)
    return np.where((remaining < 0.02)[:, None], 0.0, move)


POLICIES: dict[str, Callable[[EnvCard], Policy]] = {
    "random": _random_policy,
    "scripted": scripted_policy,
    "zero": _zero_policy,
}
"""Policy names accepted by sample_transitions."""

REFERENCE_POLICIES: dict[str, Callable[[EnvCard], Policy]] = {
    **POLICIES,
    "expert": _expert_policy,
    "toward-goal": lambda card: _fetch_drive(card, 1.0),
    "away-from-goal": lambda card: _fetch_drive(card, -1.0),
}
"""Policy names a card's direction side may use (sample_reference): those above plus task-specific ones that
serve only some families (Meta-World's expert, Fetch's goal-directed drives)."""


# --------------------------------------------------------------------------------------------------
# rollouts
# --------------------------------------------------------------------------------------------------


def sample_transitions(
    card: EnvCard,
    *,
    n_envs: int = 4,
    n_steps: int = 64,
    seed: int = 0,
    policies: Sequence[str] = ("random", "scripted"),
    max_episode_steps: int | None = None,
) -> TransitionBatch:
    """Roll out n_envs real envs for n_steps under each policy; N = len(policies) * n_envs * n_steps.

    Policies: "random" (uniform actions), "scripted" (see scripted_policy; an env-specific scripted
    policy may first run a few unrecorded warm-up steps so the window holds e.g. the car reaching the
    flag), "zero". Rows are ordered by policy, then step, then env. Episodes that end are reset and go
    on; their last transition pairs the last state with the terminal obs and its probe (never the
    reset obs). `max_episode_steps` overrides the card's episode length (short episodes show more
    episode ends). Deterministic for a given seed.
    """
    unknown = [name for name in policies if name not in POLICIES]
    if unknown:
        raise ValueError(f"unknown policy {unknown[0]!r}; use some of {', '.join(POLICIES)}")
    adapter = adapter_for(card)
    envs = [make_env(card, max_episode_steps=max_episode_steps) for _ in range(n_envs)]
    rng = np.random.default_rng(seed)
    record = _Record()
    try:
        for p, name in enumerate(policies):
            policy = POLICIES[name](card)
            warmup = _SCRIPTED[card.env_id][1] if name == "scripted" and card.env_id in _SCRIPTED else 0
            started = [env.reset(seed=seed * 10_007 + p * n_envs + i) for i, env in enumerate(envs)]
            obs = [np.asarray(o, dtype=np.float64) for o, _ in started]
            probes = [_probe_of(info) for _, info in started]
            fresh = [True] * n_envs  # the next recorded transition of env i starts a stretch of its episode
            for t in range(warmup + n_steps):
                batch_actions = np.asarray(policy(np.stack(obs), t, rng))
                for i, env in enumerate(envs):
                    action = batch_actions[i].astype(env.action_space.dtype)  # what the env gets
                    o, reward, terminated, truncated, info = env.step(action)
                    if t >= warmup:
                        record.add(obs[i], probes[i], action, o, _probe_of(info), reward, terminated or truncated)
                        record.starts.append(fresh[i])
                        fresh[i] = False
                    if terminated or truncated:
                        o, info = env.reset()
                        fresh[i] = True
                    obs[i], probes[i] = np.asarray(o, dtype=np.float64), _probe_of(info)
    finally:
        for env in envs:
            env.close()
    return record.batch(adapter, n_envs=n_envs)


@dataclass
class _Record:
    """Raw transitions as they are collected; fields are derived once, in batch, at the end."""

    state_obs: list[np.ndarray] = field(default_factory=list)
    state_probes: list[Mapping[str, Any]] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    next_obs: list[np.ndarray] = field(default_factory=list)
    next_probes: list[Mapping[str, Any]] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    dones: list[bool] = field(default_factory=list)
    starts: list[bool] = field(default_factory=list)

    def add(self, obs: np.ndarray, probe: Mapping[str, Any], action: np.ndarray, next_obs: Any,
            next_probe: Mapping[str, Any], reward: Any, done: bool) -> None:
        self.state_obs.append(obs)
        self.state_probes.append(probe)
        # an action index stays an integer (the reward receives int64 indices of a discrete card)
        integer = np.issubdtype(np.asarray(action).dtype, np.integer)
        self.actions.append(np.asarray(action, dtype=np.int64 if integer else np.float64))
        self.next_obs.append(np.asarray(next_obs, dtype=np.float64))
        self.next_probes.append(next_probe)
        self.rewards.append(float(reward))
        self.dones.append(bool(done))

    def batch(self, adapter: Any, **layout: Any) -> TransitionBatch:
        """The named-field batch of everything recorded; `layout`: n_envs or env_index."""
        return TransitionBatch(
            state=adapter.fields(np.stack(self.state_obs), self.state_probes),
            action=np.stack(self.actions),
            next_state=adapter.fields(np.stack(self.next_obs), self.next_probes),
            native_reward=np.asarray(self.rewards, dtype=np.float64),
            done=np.asarray(self.dones, dtype=bool),
            episode_start=np.asarray(self.starts, dtype=bool),
            **layout,
        )


# --------------------------------------------------------------------------------------------------
# reference rollouts (the direction check)
# --------------------------------------------------------------------------------------------------


def sample_reference(card: EnvCard, sides: Sequence[DirectionSide], *, seed: int = 0) -> list[TransitionBatch]:
    """Real transitions of each side of a direction pair: states of known quality (see DirectionSide).

    One env serves every rollout of every side, one after another (building an env is what costs:
    about a second for Meta-World). Each rollout resets the env (seeded), puts it into `side.start`
    when given, drives it with the side's policy for `warmup` unrecorded and `steps` recorded steps, and
    stops at the end of its episode (that transition is scored on the terminal obs). `env_index` says
    which rollout a row is from. Deterministic for a given seed.
    """
    if not sides:
        return []
    adapter = adapter_for(card)
    env = make_env(card)
    rng = np.random.default_rng(seed)
    try:
        return [_reference_rollouts(card, adapter, env, side, rng, seed * 10_007 + 7_919 * (s + 1))
                for s, side in enumerate(sides)]
    finally:
        env.close()


def _reference_rollouts(card: EnvCard, adapter: Adapter, env: Any, side: DirectionSide,
                        rng: np.random.Generator, first_seed: int) -> TransitionBatch:
    policy = REFERENCE_POLICIES[side.policy](card)
    record, env_index = _Record(), []
    for episode in range(side.episodes):
        o, info = env.reset(seed=first_seed + episode)
        if side.start:
            _set_start(env, side.start, rng)
            o, info = _observe(env), {PROBE_KEY: _probe_now(env)}
        obs, probe = np.asarray(o, dtype=np.float64), _probe_of(info)
        for t in range(side.warmup + side.steps):
            action = np.asarray(policy(obs[None], t, rng))[0]  # float64, or an int64 index of a discrete card
            o, reward, terminated, truncated, info = env.step(action.astype(env.action_space.dtype))
            done = bool(terminated or truncated)
            if t >= side.warmup:
                record.add(obs, probe, action, o, _probe_of(info), reward, done)
                record.starts.append(t == side.warmup)
                env_index.append(episode)
            obs, probe = np.asarray(o, dtype=np.float64), _probe_of(info)
            if done:
                break
    if not record.actions:
        raise ValueError(f"card '{card.id}': a direction side ({side.description}) recorded no transitions; "
                         "every episode ended during its warmup")
    return record.batch(adapter, env_index=np.asarray(env_index, dtype=np.int64))


def _set_start(env: Any, start: Mapping[str, Any], rng: np.random.Generator) -> None:
    """Put a freshly reset env into the physical state `start` describes (values [low, high] are drawn)."""
    base = env.unwrapped
    if "state" in start:
        base.state = np.array([_draw(v, rng) for v in start["state"]], dtype=np.float64)
    if "qpos" in start or "qvel" in start:
        import mujoco

        model, data = base.model, base.data
        qpos, qvel = np.array(data.qpos), np.array(data.qvel)
        for part, target, address in (("qpos", qpos, model.jnt_qposadr), ("qvel", qvel, model.jnt_dofadr)):
            for key, value in start.get(part, {}).items():
                target[_joint_slot(model, key, address, target.size)] = _draw(value, rng)
        data.qpos[:], data.qvel[:] = qpos, qvel
        mujoco.mj_forward(model, data)


def _joint_slot(model: Any, key: str, address: np.ndarray, size: int) -> int:
    """Index in qpos / qvel (of `size` values) of joint `key` ('rooty') or of its component j ('root[2]')."""
    name, bracket, rest = key.partition("[")
    index = rest.removesuffix("]")
    if bracket and not index.isdigit():
        raise ValueError(f"a direction start names '{key}'; write a joint name, or name[i] for its component i")
    try:
        joint = model.joint(name)
    except KeyError:
        known = ", ".join(model.joint(j).name for j in range(model.njnt))
        raise ValueError(f"a direction start names the joint '{name}', which this model does not have; "
                         f"its joints: {known}") from None
    first = int(address[joint.id])
    later = [int(a) for a in address if a > first]
    width = (min(later) if later else size) - first
    component = int(index) if bracket else 0
    if component >= width:
        raise ValueError(f"a direction start names '{key}', but joint '{name}' has {width} value(s) here")
    return first + component


def _draw(value: Any, rng: np.random.Generator) -> float:
    return float(rng.uniform(value[0], value[1])) if isinstance(value, list) else float(value)


def _observe(env: Any) -> np.ndarray:
    """The obs of the env's current simulator state, through the env's observation wrappers."""
    import gymnasium

    base = env.unwrapped
    # MuJoCo envs build their obs with _get_obs, Acrobot with _get_ob; the others' obs is their state
    getter = getattr(base, "_get_obs", None) or getattr(base, "_get_ob", None)
    obs = getter() if getter is not None else np.asarray(base.state)
    layers = []
    while isinstance(env, gymnasium.Wrapper):
        layers.append(env)
        env = env.env
    for layer in reversed(layers):
        if isinstance(layer, gymnasium.ObservationWrapper):
            obs = layer.observation(obs)
    return np.asarray(obs, dtype=np.float64)


def _probe_now(env: Any) -> Mapping[str, Any]:
    """What FieldProbe would report for the env's current simulator state ({} when it has no probe)."""
    import gymnasium

    from reward_coder.envs.probe import FieldProbe

    while isinstance(env, gymnasium.Wrapper):
        if isinstance(env, FieldProbe):
            return env._probe({})
        env = env.env
    return {}
