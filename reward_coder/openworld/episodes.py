"""What happened in one open-world evaluation episode, and the Crafter score of many.

Auto MC-Reward's trajectory analyzer counts why episodes fail (died in lava, starved, stuck in one place).
`episode_facts` computes those facts from an episode's trajectory of named fields (the same fields the
reward reads), so Crafter and MineDojo cards get them alike as long as they use the shared names
(`health`, `food`, `drink`, `energy`, `position`, `unlocked`, `lava_distance`, `zombie_distance`,
`skeleton_distance`); a field a card lacks only drops the facts that need it.

Cause of death, judged on the step that ends the episode with health at 0 (crafter's rules,
crafter/objects.py): standing in lava (`lava_distance` 0) is `lava`; a loss of 2 or more health points in
that step, or of 1 while food, drink and energy are all above 0, is a hit: `zombie` when one is adjacent,
else `skeleton` (an arrow) when one is in view; otherwise health ran out one point at a time because a
necessity was 0: `starvation` (food), `thirst` (drink), `exhaustion` (energy), in that order when several
are. Anything else is `unknown`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reward_coder.types import EnvCard, SuccessSpec

OPEN_WORLD_FAMILIES = ("crafter", "minedojo")
"""Adapter families whose evaluation episodes get open-world facts."""

DEATH_CAUSES = ("lava", "zombie", "skeleton", "starvation", "thirst", "exhaustion", "unknown")

STUCK_MIN_STEPS = 100
"""Episodes shorter than this are never called stuck (too short to explore)."""

STUCK_MAX_CELLS = 12
"""An episode of STUCK_MIN_STEPS or more that visits at most this many distinct cells stayed in one area."""

NOT_IN_VIEW = 10.0
"""The distance the crafter adapter reports for a kind that is not in view (adapters/crafter.py)."""


def is_open_world(card: EnvCard) -> bool:
    """True for the cards whose episodes get `episode_facts` (Crafter, MineDojo)."""
    return card.family in OPEN_WORLD_FAMILIES or card.family.endswith((":CrafterAdapter", ":MineDojoAdapter"))


def _series(trajectory: Mapping[str, np.ndarray], name: str) -> np.ndarray | None:
    values = trajectory.get(name)
    return None if values is None else np.asarray(values, dtype=np.float64)


def death_cause(trajectory: Mapping[str, np.ndarray]) -> str:
    """Why the player died on the last step of `trajectory` (see the module docstring)."""
    health = _series(trajectory, "health")
    last = {name: float(s[-1]) for name in ("lava_distance", "zombie_distance", "skeleton_distance", "food",
                                              "drink", "energy") if (s := _series(trajectory, name)) is not None}
    if last.get("lava_distance", np.inf) == 0:
        return "lava"
    lost = float(health[-2] - health[-1]) if health is not None and len(health) >= 2 else 0.0
    starving = any(last.get(need, 1.0) <= 0 for need in ("food", "drink", "energy"))
    # health only runs down one point at a time while a necessity is 0; any other loss is a hit (a hit that
    # takes the last point shows as a loss of 1, since health stops at 0)
    if lost >= 2 or (lost >= 1 and not starving):
        if last.get("zombie_distance", np.inf) <= 1:
            return "zombie"
        if last.get("skeleton_distance", np.inf) < NOT_IN_VIEW:
            return "skeleton"
    for need, cause in (("food", "starvation"), ("drink", "thirst"), ("energy", "exhaustion")):
        if last.get(need, 1.0) <= 0:
            return cause
    return "unknown"


def _first_success_step(success: SuccessSpec, trajectory: Mapping[str, np.ndarray]) -> int | None:
    """The 1-based step at which a 'final above' success first held (an achievement unlocked), else None."""
    params = success.params
    if success.kind != "field_final_above" or params.get("field") not in trajectory:
        return None
    values = np.asarray(trajectory[params["field"]], dtype=np.float64)
    series = values.reshape(values.shape[0], -1)[:, int(params.get("index", 0))]
    hits = np.flatnonzero(series >= float(params["threshold"]))
    return int(hits[0]) + 1 if hits.size else None


def episode_facts(card: EnvCard, trajectory: Mapping[str, np.ndarray], success: SuccessSpec,
                  terminated: bool) -> dict[str, Any]:
    """Facts of one episode: achievements reached, death and its cause, first success, cells visited, stuck.

    `trajectory` maps each field to its values after every step, shape (T, ...), as evaluate.py records it.
    """
    from reward_coder.openworld.crafter_env import ACHIEVEMENTS

    facts: dict[str, Any] = {}
    unlocked = _series(trajectory, "unlocked")
    if unlocked is not None and unlocked.ndim == 2 and unlocked.shape[1] == len(ACHIEVEMENTS):
        facts["achievements"] = [name for name, flag in zip(ACHIEVEMENTS, unlocked[-1]) if flag > 0]
    health = _series(trajectory, "health")
    died = bool(terminated and health is not None and health[-1] <= 0)
    facts["died"] = died
    facts["death_cause"] = death_cause(trajectory) if died else None
    facts["first_success_step"] = _first_success_step(success, trajectory)
    position = _series(trajectory, "position")
    if position is not None and position.ndim == 2:
        # a MineDojo position is (x, y, z) with y up: the ground cell is (x, z)
        ground = position[:, [0, 2]] if position.shape[1] == 3 else position[:, :2]
        cells = {tuple(cell) for cell in np.floor(ground).astype(np.int64).tolist()}
        facts["cells_visited"] = len(cells)
        facts["stuck"] = bool(len(position) >= STUCK_MIN_STEPS and len(cells) <= STUCK_MAX_CELLS)
    return facts


def crafter_score(achievements_per_episode: Sequence[Sequence[str]]) -> tuple[float, dict[str, float]]:
    """The Crafter score of a set of episodes and each achievement's success rate in percent.

    Hafner (2021), "Benchmarking the Spectrum of Agent Capabilities": s_i is the percentage of episodes
    in which achievement i was unlocked at least once, and the score is exp(mean_i ln(1 + s_i)) - 1 over
    all 22 achievements (a geometric mean offset by 1%, so one never-unlocked achievement does not zero it).
    Published at 1M steps: SB3 PPO 4.6, strong RL agents 15-22, LLM-assisted agents about 26, humans 50.5.
    """
    from reward_coder.openworld.crafter_env import ACHIEVEMENTS

    n = len(achievements_per_episode)
    if n == 0:
        raise ValueError("the Crafter score needs at least one episode")
    rates = {name: 100.0 * sum(name in set(done) for done in achievements_per_episode) / n for name in ACHIEVEMENTS}
    score = float(np.exp(np.mean(np.log1p(list(rates.values())))) - 1.0)
    return score, rates
