"""Per-term statistics, accumulated cheaply on every step (Eureka's reward reflection).

This runs inside the training loop at every vectorized step, so TermLog buffers whole steps and
reduces them in blocks: a handful of numpy calls per block instead of several per term per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reward_coder.types import TermStats

_BLOCK = 256
"""Steps buffered before a reduction."""


@dataclass
class RunningStats:
    """Count, sum, sum of squares, sum of |x|, min and max of a stream of values."""

    count: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    total_abs: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        if values.size:
            self._merge(values.size, float(values.sum()), float(np.dot(values, values)),
                        float(np.abs(values).sum()), float(values.min()), float(values.max()))

    def _merge(self, count: int, total: float, total_sq: float, total_abs: float, low: float, high: float) -> None:
        self.count += count
        self.total += total
        self.total_sq += total_sq
        self.total_abs += total_abs
        self.low = min(self.low, low)
        self.high = max(self.high, high)

    def stats(self) -> TermStats:
        if self.count == 0:
            return TermStats(0.0, 0.0, 0.0, 0.0, 0.0)
        mean = self.total / self.count
        var = max(self.total_sq / self.count - mean * mean, 0.0)
        return TermStats(mean, var**0.5, self.low, self.high, self.total_abs / self.count)


class TermLog:
    """Running statistics of the total reward and of each named term."""

    def __init__(self) -> None:
        self.reward = RunningStats()
        self.terms: dict[str, RunningStats] = {}
        self._names: tuple[str, ...] = ()
        self._buffer: np.ndarray | None = None
        self._filled = 0

    def add(self, reward: np.ndarray, terms: dict[str, np.ndarray]) -> None:
        """Record one step: reward and every term of shape (n,)."""
        row = self.next_row(tuple(terms), int(np.shape(reward)[0]))
        row[0] = reward
        for index, values in enumerate(terms.values(), start=1):
            row[index] = values
        self.commit_row()

    def next_row(self, names: tuple[str, ...], n: int) -> np.ndarray:
        """The (1 + len(names), n) buffer row for the next step: row 0 the reward, then one per term.

        Callers that need the stacked values anyway (the VecEnv wrapper sums them per episode) fill it
        in place and call commit_row(), saving a copy per step.
        """
        if self._buffer is None or names != self._names or self._buffer.shape[2] != n:
            self._flush()
            self._names = names
            self._buffer = np.empty((_BLOCK, len(names) + 1, n))
        return self._buffer[self._filled]

    def commit_row(self) -> None:
        self._filled += 1
        if self._filled == _BLOCK:
            self._flush()

    def _flush(self) -> None:
        if self._buffer is None or self._filled == 0:
            return
        block = self._buffer[: self._filled]  # (steps, 1 + terms, n)
        count = block.shape[0] * block.shape[2]
        sums = block.sum(axis=(0, 2))
        squares = np.einsum("sij,sij->i", block, block)
        absolute = np.abs(block).sum(axis=(0, 2))
        lows = block.min(axis=(0, 2))
        highs = block.max(axis=(0, 2))
        targets = [self.reward] + [self.terms.setdefault(name, RunningStats()) for name in self._names]
        for index, stats in enumerate(targets):
            stats._merge(count, float(sums[index]), float(squares[index]), float(absolute[index]),
                         float(lows[index]), float(highs[index]))
        self._filled = 0

    def summary(self) -> dict[str, TermStats]:
        self._flush()
        return {name: stats.stats() for name, stats in self.terms.items()}

    def reward_stats(self) -> TermStats:
        self._flush()
        return self.reward.stats()

    def reset(self) -> None:
        self.__init__()
