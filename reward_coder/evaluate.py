"""Roll out a policy and measure it on the task's own success metric, the native return and the reward terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from reward_coder.reward.compile import RewardFunction
from reward_coder.reward.terms import TermLog
from reward_coder.success import episode_outcome
from reward_coder.types import EnvCard, SuccessSpec, TermStats

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EpisodeRecord:
    length: int
    terminated: bool
    """True when the env ended the episode early (a fall), False when the time limit did."""
    native_return: float
    success: bool
    metric: float
    field_means: dict[str, float] = field(default_factory=dict)
    """Episode mean of each scalar field (e.g. torso_height), for the trajectory analyzer."""
    field_finals: dict[str, float] = field(default_factory=dict)
    term_sums: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalResult:
    episodes: tuple[EpisodeRecord, ...]
    term_stats: dict[str, TermStats] = field(default_factory=dict)
    """Per-step statistics of each reward term over the evaluation episodes (empty without a reward)."""
    frames: tuple[Any, ...] = ()

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

    def summary(self) -> dict[str, float]:
        return {
            "success_rate": self.success_rate,
            "metric_mean": self.metric_mean,
            "native_return_mean": self.native_return_mean,
            "native_return_std": self.native_return_std,
            "length_mean": self.length_mean,
        }


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
) -> EvalResult:
    """Run `episodes` episodes of `policy` (obs -> action) on a fresh env seeded `seed`, `seed+1`, ...

    Success is judged by `success` on the trajectory of named fields after each step. With
    `reward_fn`, every step is also scored so the per-term statistics describe what the policy did.
    `render_episodes` > 0 records rgb frames of the first episodes (for videos).
    """
    from reward_coder.envs import adapter_for, make_env

    adapter = adapter_for(card)
    render_mode = "rgb_array" if render_episodes > 0 else None
    env = make_env(card, seed=seed, render_mode=render_mode, max_episode_steps=max_episode_steps)
    term_log = TermLog()
    records, frames = [], []
    try:
        for episode in range(episodes):
            obs, info = env.reset(seed=seed + episode)
            prev = adapter.fields(np.asarray(obs)[None], [info.get("rc_probe", {})])
            trajectory: dict[str, list[np.ndarray]] = {}
            infos, native_return, terminated, truncated, length = [], 0.0, False, False, 0
            term_sums: dict[str, float] = {}
            while not (terminated or truncated):
                action = np.asarray(policy(np.asarray(obs)))
                obs, native, terminated, truncated, info = env.step(action)
                fields = adapter.fields(np.asarray(obs)[None], [info.get("rc_probe", {})])
                if reward_fn is not None:
                    reward, terms = reward_fn(prev, action.reshape(1, -1).astype(np.float64), fields)
                    term_log.add(reward, terms)
                    for name, values in terms.items():
                        term_sums[name] = term_sums.get(name, 0.0) + float(values[0])
                for name, values in fields.items():
                    trajectory.setdefault(name, []).append(values[0])
                infos.append(info)
                native_return += float(native)
                length += 1
                prev = fields
                if episode < render_episodes:
                    frames.append(env.render())
            stacked = {name: np.stack(values) for name, values in trajectory.items()}
            outcome = episode_outcome(success, stacked, native_return, length, infos)
            scalar = {n: v.reshape(v.shape[0], -1) for n, v in stacked.items() if v[0].size == 1}
            records.append(
                EpisodeRecord(
                    length=length,
                    terminated=bool(terminated),
                    native_return=native_return,
                    success=outcome.success,
                    metric=outcome.metric,
                    field_means={n: float(v.mean()) for n, v in scalar.items()},
                    field_finals={n: float(v[-1, 0]) for n, v in scalar.items()},
                    term_sums=term_sums,
                )
            )
    finally:
        env.close()
    return EvalResult(episodes=tuple(records), term_stats=term_log.summary(), frames=tuple(frames))
