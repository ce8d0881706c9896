"""Roll out a policy and measure it on the task's own success metric, the native return and the reward terms.

A finished episode's trajectory of named fields is summarized for the trajectory analyzer under these keys:
- a scalar field (or one of a single component): its name, e.g. `torso_height`;
- a vector field: `name|norm` (the per-step Euclidean norm) and, up to MAX_COMPONENTS components,
  `name[i]` for component i, e.g. `gripper_velocity|norm`, `gripper_velocity[0]`; longer vectors
  (a raw `obs`) get the norm only;
- an angle field (FieldSpec.angle): circular statistics, as `name` or `name[i]`, never a norm;
  field_means holds the circular mean (atan2 of the mean sine and mean cosine), field_finals the
  final angle wrapped to [-pi, pi], field_circular_std the circular standard deviation sqrt(-2 ln R);
  angle vectors longer than MAX_COMPONENTS are left out (a norm of angles means nothing).
The card's task distances (EnvCard.distances) are summarized per episode by their final, minimum and
mean value, and the card's progress measure (EnvCard.progress) by its reduction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from reward_coder.reward.compile import RewardFunction
from reward_coder.success import episode_outcome
from reward_coder.types import DistanceSpec, EnvCard, ProgressSpec, SuccessSpec, TermStats

Policy = Callable[[np.ndarray], np.ndarray]

MAX_COMPONENTS = 8
"""Vector fields with more components than this (a raw observation vector) are summarized by their norm only."""


@dataclass(frozen=True)
class EpisodeRecord:
    length: int
    terminated: bool
    """True when the env ended the episode early (a fall), False when the time limit did."""
    native_return: float
    success: bool
    metric: float
    field_means: dict[str, float] = field(default_factory=dict)
    """Episode mean of each field summary (keys as in the module docstring); circular means for angles."""
    field_finals: dict[str, float] = field(default_factory=dict)
    """Value of each field summary after the last step (angles wrapped to [-pi, pi])."""
    term_sums: dict[str, float] = field(default_factory=dict)
    field_circular_std: dict[str, float] = field(default_factory=dict)
    """Circular standard deviation over the episode of each angle field (or component), in radians."""
    distance_finals: dict[str, float] = field(default_factory=dict)
    """Each task distance of the card after the last step."""
    distance_mins: dict[str, float] = field(default_factory=dict)
    """Each task distance's minimum over the episode (closest approach)."""
    distance_means: dict[str, float] = field(default_factory=dict)
    """Each task distance's mean over the steps of the episode."""
    progress: float | None = None
    """The card's progress measure for this episode (lower is better); None when the card declares none."""
    candidate_return: float | None = None
    """Episode return of the reward being evaluated (unnormalized); None when none was given."""
    open_world: dict[str, Any] = field(default_factory=dict)
    """Open-world cards only (Crafter, MineDojo): achievements reached, death and its cause, first success
    step, cells visited, stuck (reward_coder/openworld/episodes.py); empty for other cards."""


@dataclass(frozen=True)
class EvalResult:
    episodes: tuple[EpisodeRecord, ...]
    term_stats: dict[str, TermStats] = field(default_factory=dict)
    """Per-step statistics of each reward term over the evaluation episodes (empty without a reward)."""
    frames: tuple[Any, ...] = ()
    trajectories: tuple[Any, ...] = ()
    """The first episodes' transitions of named fields with their outcomes (reward_coder.screening.StoredEpisode),
    when asked for with `trajectory_episodes`; screening scores new candidates on them."""

    @property
    def success_rate(self) -> float:
        return float(np.mean([e.success for e in self.episodes])) if self.episodes else 0.0

    @property
    def metric_mean(self) -> float:
        return float(np.mean([e.metric for e in self.episodes])) if self.episodes else float("nan")

    @property
    def native_return_mean(self) -> float:
        return float(np.mean([e.native_return for e in self.episodes])) if self.episodes else float("nan")

    @property
    def native_return_std(self) -> float:
        return float(np.std([e.native_return for e in self.episodes])) if self.episodes else float("nan")

    @property
    def length_mean(self) -> float:
        return float(np.mean([e.length for e in self.episodes])) if self.episodes else 0.0

    @property
    def progress_mean(self) -> float | None:
        """Mean over episodes of the card's progress measure (lower is better); None when the card declares none."""
        values = [e.progress for e in self.episodes if e.progress is not None]
        return float(np.mean(values)) if values else None

    @property
    def distance_final_means(self) -> dict[str, float]:
        """Mean over episodes of each task distance's final value."""
        names = dict.fromkeys(name for e in self.episodes for name in e.distance_finals)
        return {
            name: float(np.mean([e.distance_finals[name] for e in self.episodes if name in e.distance_finals]))
            for name in names
        }

    def summary(self) -> dict[str, Any]:
        return {
            "success_rate": self.success_rate,
            "metric_mean": self.metric_mean,
            "native_return_mean": self.native_return_mean,
            "native_return_std": self.native_return_std,
            "length_mean": self.length_mean,
            "progress_mean": self.progress_mean,
            "distance_final_means": self.distance_final_means,
            **self.open_world_summary(),
        }

    def open_world_summary(self) -> dict[str, Any]:
        """For Crafter's cards: the Crafter score of these episodes and the death rate; empty elsewhere."""
        reached = [e.open_world["achievements"] for e in self.episodes if "achievements" in e.open_world]
        if not reached or len(reached) != len(self.episodes):
            return {}
        from reward_coder.openworld.episodes import crafter_score

        score, _rates = crafter_score(reached)
        died = [bool(e.open_world.get("died")) for e in self.episodes]
        return {"crafter_score": score, "death_rate": float(np.mean(died))}


def wrap_angle(values: np.ndarray) -> np.ndarray:
    """Angles in radians wrapped to [-pi, pi)."""
    return (np.asarray(values, dtype=np.float64) + np.pi) % (2 * np.pi) - np.pi


def circular_mean(values: np.ndarray) -> np.ndarray:
    """Mean direction of angles along axis 0: atan2 of the mean sine and the mean cosine."""
    values = np.asarray(values, dtype=np.float64)
    return np.arctan2(np.sin(values).mean(axis=0), np.cos(values).mean(axis=0))


def circular_std(values: np.ndarray) -> np.ndarray:
    """Circular standard deviation sqrt(-2 ln R) along axis 0, R the mean resultant length (0 when all agree)."""
    values = np.asarray(values, dtype=np.float64)
    resultant = np.hypot(np.sin(values).mean(axis=0), np.cos(values).mean(axis=0))
    return np.sqrt(-2.0 * np.log(np.clip(resultant, 1e-300, 1.0)))


def distance_series(spec: DistanceSpec, trajectory: Mapping[str, np.ndarray]) -> np.ndarray:
    """The distance at every step, shape (T,): the norm of (a + offset - b) over spec.axes."""
    a = np.asarray(trajectory[spec.a], dtype=np.float64)
    a = a.reshape(a.shape[0], -1)
    b = np.asarray(trajectory[spec.b], dtype=np.float64).reshape(a.shape)
    diff = a - b + (np.asarray(spec.offset, dtype=np.float64) if spec.offset else 0.0)
    if spec.axes:
        diff = diff[:, list(spec.axes)]
    return np.linalg.norm(diff, axis=1)


def reduce_progress(spec: ProgressSpec, series: np.ndarray) -> float:
    """One number per episode from the progress distance's series, by spec.reduce."""
    if spec.reduce == "min":
        return float(np.min(series))
    if spec.reduce == "mean":
        return float(np.mean(series))
    return float(series[-1])


@dataclass(frozen=True)
class TrajectorySummary:
    """What an EpisodeRecord keeps of an episode's field trajectory (see the module docstring for the keys)."""

    field_means: dict[str, float]
    field_finals: dict[str, float]
    field_circular_std: dict[str, float]
    distance_finals: dict[str, float]
    distance_mins: dict[str, float]
    distance_means: dict[str, float]
    progress: float | None


def summarize_trajectory(card: EnvCard, trajectory: Mapping[str, np.ndarray]) -> TrajectorySummary:
    """Summarize the named fields after each step of one episode (arrays of shape (T, *field shape))."""
    angles = {spec.name for spec in card.fields if spec.angle}
    means: dict[str, float] = {}
    finals: dict[str, float] = {}
    spreads: dict[str, float] = {}
    for name, raw in trajectory.items():
        values = np.asarray(raw, dtype=np.float64)
        flat = values.reshape(values.shape[0], -1)
        size = flat.shape[1]
        components = size <= MAX_COMPONENTS and values.ndim <= 2
        keys = [name] if size == 1 else [f"{name}[{i}]" for i in range(size)] if components else []
        if name in angles:
            for i, key in enumerate(keys):
                means[key] = float(circular_mean(flat[:, i]))
                finals[key] = float(wrap_angle(flat[-1, i]))
                spreads[key] = float(circular_std(flat[:, i]))
            continue
        if size > 1:
            norms = np.linalg.norm(flat, axis=1)
            means[f"{name}|norm"] = float(norms.mean())
            finals[f"{name}|norm"] = float(norms[-1])
        for i, key in enumerate(keys):
            means[key] = float(flat[:, i].mean())
            finals[key] = float(flat[-1, i])
    series = {spec.name: distance_series(spec, trajectory) for spec in card.distances}
    progress = card.progress
    return TrajectorySummary(
        field_means=means,
        field_finals=finals,
        field_circular_std=spreads,
        distance_finals={name: float(s[-1]) for name, s in series.items()},
        distance_mins={name: float(s.min()) for name, s in series.items()},
        distance_means={name: float(s.mean()) for name, s in series.items()},
        progress=reduce_progress(progress, series[progress.distance]) if progress is not None else None,
    )


def evaluate_policy(
    policy: Policy,
    card: EnvCard,
    success: SuccessSpec,
    *,
    episodes: int,
    seed: int,
    reward_fn: RewardFunction | None = None,
    max_episode_steps: int | None = None,
    render_episodes: int = 0,
    trajectory_episodes: int = 0,
) -> EvalResult:
    """Run `episodes` episodes of `policy` (obs -> action) on a fresh env seeded `seed`, `seed+1`, ...

    Success is judged by `success` on the trajectory of named fields after each step. With
    `reward_fn`, every step is also scored so the per-term statistics describe what the policy did.
    `render_episodes` > 0 records rgb frames of the first episodes (for videos); `trajectory_episodes` > 0
    keeps the transitions of the first episodes with their outcomes (float32, capped: reward_coder.screening).
    """
    from reward_coder.envs import make_env
    from reward_coder.openworld.episodes import episode_facts, is_open_world
    from reward_coder.reward.wrappers import FIELDS_KEY, NamedFields, RewardWrapper

    render_mode = "rgb_array" if render_episodes > 0 else None
    raw = make_env(card, seed=seed, render_mode=render_mode, max_episode_steps=max_episode_steps)
    # the same single-env pairing (and memory resets) a user's RewardWrapper gets; the reward stays open
    env = RewardWrapper(raw, reward_fn, card, owns_reward=False) if reward_fn is not None else NamedFields(raw, card)
    records, frames = [], []
    recorder = None
    if trajectory_episodes > 0:
        from reward_coder.screening import EpisodeRecorder

        recorder = EpisodeRecorder(max_episodes=trajectory_episodes)
    try:
        for episode in range(episodes):
            obs, info = env.reset(seed=seed + episode)
            trajectory: dict[str, list[np.ndarray]] = {}
            infos, native_return, terminated, truncated, length = [], 0.0, False, False, 0
            term_sums: dict[str, float] = {}
            own_return = 0.0
            while not (terminated or truncated):
                action = np.asarray(policy(np.asarray(obs)))
                before = env.state
                obs, reward, terminated, truncated, info = env.step(action)
                if recorder is not None:
                    recorder.step(before, action, info[FIELDS_KEY])
                if reward_fn is not None:
                    own_return += float(reward)
                    for name, value in info["reward_terms"].items():
                        term_sums[name] = term_sums.get(name, 0.0) + value
                native = info.get("native_reward", reward)
                for name, values in info[FIELDS_KEY].items():
                    trajectory.setdefault(name, []).append(values[0])
                infos.append(info)
                native_return += float(native)
                length += 1
                if episode < render_episodes:
                    frames.append(env.render())
            stacked = {name: np.stack(values) for name, values in trajectory.items()}
            outcome = episode_outcome(success, stacked, native_return, length, infos)
            summary = summarize_trajectory(card, stacked)
            if recorder is not None:
                recorder.finish(outcome.success, native_return)
            facts = episode_facts(card, stacked, success, bool(terminated)) if is_open_world(card) else {}
            records.append(
                EpisodeRecord(
                    length=length,
                    terminated=bool(terminated),
                    native_return=native_return,
                    success=outcome.success,
                    metric=outcome.metric,
                    field_means=summary.field_means,
                    field_finals=summary.field_finals,
                    term_sums=term_sums,
                    field_circular_std=summary.field_circular_std,
                    distance_finals=summary.distance_finals,
                    distance_mins=summary.distance_mins,
                    distance_means=summary.distance_means,
                    progress=summary.progress,
                    candidate_return=own_return if reward_fn is not None else None,
                    open_world=facts,
                )
            )
    finally:
        env.close()
    term_stats = env.term_log.summary() if isinstance(env, RewardWrapper) else {}
    return EvalResult(episodes=tuple(records), term_stats=term_stats, frames=tuple(frames),
                      trajectories=tuple(recorder.episodes) if recorder is not None else ())
