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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reward_coder.envs.adapters.base import Adapter, adapter_for
from reward_coder.envs.factory import make_env
from reward_coder.envs.probe import PROBE_KEY
from reward_coder.types import EnvCard

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


def scripted_policy(card: EnvCard) -> Policy:
    """The scripted policy of `card`: an env-specific controller, else open-loop drives."""
    if card.env_id in _SCRIPTED:
        return _SCRIPTED[card.env_id][0]
    return _open_loop_drives(card.action.shape, card.action.low, card.action.high)


def _random_policy(card: EnvCard) -> Policy:
    shape, low, high = card.action.shape, card.action.low, card.action.high

    def policy(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(low, high, size=(obs.shape[0], *shape))

    return policy


def _zero_policy(card: EnvCard) -> Policy:
    shape, mid = card.action.shape, (card.action.low + card.action.high) / 2.0

    def policy(obs: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
        return np.full((obs.shape[0], *shape), mid)

    return policy


POLICIES: dict[str, Callable[[EnvCard], Policy]] = {
    "random": _random_policy,
    "scripted": scripted_policy,
    "zero": _zero_policy,
}
"""Policy names accepted by sample_transitions."""


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
                batch_actions = np.asarray(policy(np.stack(obs), t, rng), dtype=np.float64)
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
    return TransitionBatch(
        state=adapter.fields(np.stack(record.state_obs), record.state_probes),
        action=np.stack(record.actions),
        next_state=adapter.fields(np.stack(record.next_obs), record.next_probes),
        native_reward=np.asarray(record.rewards, dtype=np.float64),
        done=np.asarray(record.dones, dtype=bool),
        episode_start=np.asarray(record.starts, dtype=bool),
        n_envs=n_envs,
    )


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
        self.actions.append(np.asarray(action, dtype=np.float64))
        self.next_obs.append(np.asarray(next_obs, dtype=np.float64))
        self.next_probes.append(next_probe)
        self.rewards.append(float(reward))
        self.dones.append(bool(done))
