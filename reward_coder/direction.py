"""The direction check: does a candidate reward prefer states of known good quality to known bad ones?

A reward can pass every contract check and still point the wrong way: `0.5 * (1 - cos_theta)` for a
pendulum swing-up is finite, dense and fast, and highest when the pole hangs down. Each env card
declares `direction` pairs (envs/README.md): for a task, a set of good states (the pole held upright,
Meta-World's scripted expert near success, a hopper standing) and a set of bad ones (hanging, random
actions, fallen), as short real rollouts. The sandboxed check scores both with the candidate, and
`judge_direction` compares the mean reward per step:

- the unit of evidence is one rollout: rows of a rollout are strongly correlated, so the noise of the
  difference is estimated from the spread of per-rollout means, not from rows (Welch's standard error);
- the reward *prefers the bad states* (rule `direction-reversed`) only when the good mean is below the bad
  one by more than a one-sided t test at ALPHA allows (Student's t for the few rollouts there are) AND by
  more than `MIN_EFFECT` of the reward's own spread over the check's states, so noise and negligible
  differences are never called reversed;
- a reward that is constant, or nearly so, over both sets (rule `direction-unclear`) does not tell good
  from bad: a softer warning, never an error.

Reversed is a warning fed back to the designer, or an error (the candidate is not trained) with
`--strict-direction`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reward_coder.errors import CardError
from reward_coder.types import CheckIssue, DirectionPair, EnvCard

REVERSED_RULE = "direction-reversed"
UNCLEAR_RULE = "direction-unclear"

ALPHA = 0.001
"""Chance that noise alone is called reversed (one-sided): the critical values below are Student's t at 0.999."""

_T_999: tuple[tuple[int, float], ...] = (
    (1, 318.31), (2, 22.33), (3, 10.21), (4, 7.17), (5, 5.89), (6, 5.21), (7, 4.79), (8, 4.50), (9, 4.30),
    (10, 4.14), (12, 3.93), (15, 3.73), (20, 3.55), (30, 3.39), (60, 3.23), (120, 3.16),
)
"""(degrees of freedom, one-sided 99.9% quantile of Student's t); beyond the table the normal's 3.09."""
MIN_EFFECT = 0.05
"""Smallest difference that counts, as a fraction of the reward's standard deviation over the check's states."""


@dataclass(frozen=True)
class DirectionReference:
    """One declared pair with its sampled states, ready to be scored (batches as TransitionBatch)."""

    pair: str
    good_description: str
    bad_description: str
    good: Any
    bad: Any


@dataclass(frozen=True)
class SideScore:
    """A candidate's reward (and terms) on one side of a pair, with the rollout of every row."""

    reward: np.ndarray
    terms: Mapping[str, np.ndarray]
    rollout: np.ndarray


@dataclass(frozen=True)
class Comparison:
    """Good minus bad mean reward per step, the noise of that difference and what it says."""

    good_mean: float
    bad_mean: float
    noise: float
    """Standard error of the difference, from per-rollout means."""
    threshold: float
    """How far the difference must go past 0 to count: max(t * noise, MIN_EFFECT * scale)."""
    verdict: str
    """'right' (prefers good), 'reversed' (prefers bad) or 'unclear' (cannot tell them apart)."""

    @property
    def difference(self) -> float:
        return self.good_mean - self.bad_mean


def compare(good: np.ndarray, good_rollout: np.ndarray, bad: np.ndarray, bad_rollout: np.ndarray,
            scale: float) -> Comparison:
    """Compare per-step rewards of good and bad states; `scale` is the reward's spread elsewhere (its std)."""
    good_units, bad_units = _unit_means(good, good_rollout), _unit_means(bad, bad_rollout)
    good_mean, bad_mean = float(good_units.mean()), float(bad_units.mean())
    good_sem2, bad_sem2 = _sem2(good_units), _sem2(bad_units)
    noise = float(np.sqrt(good_sem2 + bad_sem2))
    spread = np.concatenate([good, bad]).std()
    scale = max(float(scale) if np.isfinite(scale) else 0.0, float(spread))
    # a difference of rounding size is no difference, whatever the noise says
    floor = 1e-9 * (1.0 + abs(good_mean) + abs(bad_mean))
    critical = _t_critical(_welch_df(good_sem2, good_units.size, bad_sem2, bad_units.size))
    threshold = max(critical * noise, MIN_EFFECT * scale, floor)
    difference = good_mean - bad_mean
    verdict = "right" if difference > threshold else "reversed" if difference < -threshold else "unclear"
    return Comparison(good_mean=good_mean, bad_mean=bad_mean, noise=noise, threshold=threshold, verdict=verdict)


def _unit_means(values: np.ndarray, rollout: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    rollout = np.asarray(rollout)
    return np.array([values[rollout == unit].mean() for unit in np.unique(rollout)])


def _welch_df(a_sem2: float, a_n: int, b_sem2: float, b_n: int) -> float:
    """Welch-Satterthwaite degrees of freedom of a difference of two means (from their squared SEs)."""
    parts = [(v, n) for v, n in ((a_sem2, a_n), (b_sem2, b_n)) if n > 1]
    total = sum(v for v, _ in parts)
    if total <= 0.0:
        return float(sum(n - 1 for _, n in parts) or 1)
    return total ** 2 / sum(v ** 2 / (n - 1) for v, n in parts if v > 0.0)


def _t_critical(df: float) -> float:
    """The one-sided 99.9% t quantile at `df`, taken at the table's next smaller df (so never too small)."""
    value = _T_999[0][1]
    for table_df, quantile in _T_999:
        if table_df > df:
            return value
        value = quantile
    return 3.09 if df > 1000 else value


def _sem2(units: np.ndarray) -> float:
    """Squared standard error of the mean of per-rollout means (0 for a single rollout)."""
    return float(units.var(ddof=1) / units.size) if units.size > 1 else 0.0


def judge_direction(
    reference: DirectionReference, good: SideScore, bad: SideScore, *, scale: float,
    term_scales: Mapping[str, float] | None = None, strict: bool = False,
) -> list[CheckIssue]:
    """The issue (if any) of one pair: reversed (warning, or error when `strict`) or unclear (warning)."""
    result = compare(good.reward, good.rollout, bad.reward, bad.rollout, scale)
    if result.verdict == "right":
        return []
    numbers = (f"{reference.good_description} (good) average {result.good_mean:.4g} per step, "
               f"{reference.bad_description} (bad) {result.bad_mean:.4g} (difference {result.difference:.3g}; "
               f"noise +-{result.noise:.2g} over {np.unique(good.rollout).size} and "
               f"{np.unique(bad.rollout).size} rollouts)")
    if result.verdict == "unclear":
        return [CheckIssue(
            rule=UNCLEAR_RULE, severity="warning",
            message=f"the reward does not clearly tell good from bad states of '{reference.pair}': {numbers}; "
                    "a policy gets no signal toward the good states here",
        )]
    wrong_terms = _reversed_terms(good, bad, term_scales or {})
    blame = (f"; the term(s) {', '.join(repr(t) for t in wrong_terms)} favour the bad states: check their signs"
             if wrong_terms else "; check the sign of each term")
    consequence = ("; --strict-direction is set, so it is not trained" if strict
                   else "; a policy trained on it would learn the bad behaviour")
    return [CheckIssue(
        rule=REVERSED_RULE, severity="error" if strict else "warning",
        message=f"the reward prefers the bad states of '{reference.pair}': {numbers}{blame}{consequence}",
    )]


def _reversed_terms(good: SideScore, bad: SideScore, term_scales: Mapping[str, float]) -> list[str]:
    names = [name for name in good.terms if name in bad.terms]
    return [name for name in names
            if compare(good.terms[name], good.rollout, bad.terms[name], bad.rollout,
                       term_scales.get(name, 0.0)).verdict == "reversed"]


# --------------------------------------------------------------------------------------------------
# reference states of a task, sampled once per card and task (the check runs per candidate)
# --------------------------------------------------------------------------------------------------

_CACHE: dict[tuple[Any, ...], tuple[DirectionReference, ...]] = {}


def direction_references(card: EnvCard, task_name: str | None, *, seed: int = 0) -> tuple[DirectionReference, ...]:
    """The sampled good and bad states of every pair the card declares for `task_name` (cached).

    () for a task without pairs, and for free-text tasks (None): a free instruction may ask for the
    opposite of a card's named tasks (run backwards), so no declared direction applies to it.
    """
    pairs = card.direction_for(task_name) if task_name else ()
    if not pairs:
        return ()
    key = (card.id, card.env_id, repr(card.make_kwargs), repr(pairs), seed)
    if key not in _CACHE:
        _CACHE[key] = _sample(card, pairs, seed)
    return _CACHE[key]


def _sample(card: EnvCard, pairs: Sequence[DirectionPair], seed: int) -> tuple[DirectionReference, ...]:
    from reward_coder.envs.sampling import sample_reference

    sides = [side for pair in pairs for side in (pair.good, pair.bad)]
    try:
        batches = sample_reference(card, sides, seed=seed)
    except ValueError as err:  # a start or policy the env cannot follow: the card is wrong
        raise CardError(f"env card '{card.id}': its direction section cannot be sampled: {err}") from err
    return tuple(
        DirectionReference(pair=pair.name, good_description=pair.good.description,
                           bad_description=pair.bad.description, good=batches[2 * i], bad=batches[2 * i + 1])
        for i, pair in enumerate(pairs)
    )


def task_name_of(task_key: str, named: bool) -> str | None:
    """The card task a Task addresses ('pendulum/swing-up' -> 'swing-up'); None for free text."""
    return task_key.rsplit("/", 1)[-1] if named and "/" in task_key else None
