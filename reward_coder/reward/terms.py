"""Per-term statistics, accumulated cheaply on every step (Eureka's reward reflection)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reward_coder.types import TermStats


@dataclass
class RunningStats:
    """Count, sum, sum of squares, min and max of a stream of batches."""

    count: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    total_abs: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size == 0:
            return
        self.count += values.size
        self.total += float(values.sum())
        self.total_sq += float(np.dot(values, values))
        self.total_abs += float(np.abs(values).sum())
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))

    def stats(self) -> TermStats:
        if self.count == 0:
            return TermStats(0.0, 0.0, 0.0, 0.0, 0.0)
        mean = self.total / self.count
        var = max(self.total_sq / self.count - mean * mean, 0.0)
        return TermStats(mean, var**0.5, self.low, self.high, self.total_abs / self.count)


@dataclass
class TermLog:
    """Running statistics per reward term and of the total reward."""

    terms: dict[str, RunningStats] = field(default_factory=dict)
    reward: RunningStats = field(default_factory=RunningStats)

    def add(self, reward: np.ndarray, terms: dict[str, np.ndarray]) -> None:
        self.reward.add(reward)
        for name, values in terms.items():
            self.terms.setdefault(name, RunningStats()).add(values)

    def summary(self) -> dict[str, TermStats]:
        return {name: stats.stats() for name, stats in self.terms.items()}

    def reset(self) -> None:
        self.terms.clear()
        self.reward = RunningStats()
