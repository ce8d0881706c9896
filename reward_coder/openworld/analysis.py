"""The open-world part of the trajectory analyzer: why episodes failed, in the manner of Auto MC-Reward.

Reads the `open_world` facts that evaluate.py records per episode (reward_coder/openworld/episodes.py)
and returns findings as short sentences: deaths by cause, steps to first success, episodes stuck in
one small area, achievements reached on the way, and (on Crafter) the Crafter score of the episodes.
Every number is counted here; nothing is guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from reward_coder.openworld.episodes import DEATH_CAUSES, STUCK_MAX_CELLS, crafter_score

MAX_ACHIEVEMENTS_SHOWN = 10
"""Achievements listed, most often reached first."""


def open_world_findings(episodes: Sequence[Mapping[str, Any]]) -> list[str]:
    """Findings of the evaluation episodes that carry open-world facts; [] when none does."""
    facts = [e["open_world"] for e in episodes if e.get("open_world")]
    if not facts:
        return []
    n = len(facts)
    findings: list[str] = []
    causes = Counter(f["death_cause"] for f in facts if f.get("died"))
    deaths = sum(causes.values())
    if deaths:
        by_cause = ", ".join(f"{cause} {causes[cause]}" for cause in DEATH_CAUSES if causes[cause])
        findings.append(f"died in {deaths}/{n} evaluation episodes (by cause: {by_cause})")
    else:
        findings.append(f"died in 0/{n} evaluation episodes")
    steps = [f["first_success_step"] for f in facts if f.get("first_success_step") is not None]
    if steps:
        findings.append(f"first success at step {int(np.median(steps))} (median; {min(steps)}-{max(steps)}) "
                        f"in {len(steps)}/{n} episodes")
    stuck = sum(bool(f.get("stuck")) for f in facts)
    if any("stuck" in f for f in facts):
        cells = [f["cells_visited"] for f in facts if "cells_visited" in f]
        findings.append(f"stayed in one small area (at most {STUCK_MAX_CELLS} distinct cells) in {stuck}/{n} "
                        f"episodes; cells visited per episode: median {int(np.median(cells))}")
    reached = [f["achievements"] for f in facts if "achievements" in f]
    if reached:
        counts = Counter(name for done in reached for name in done)
        if counts:
            shown = ", ".join(f"{name} {count}/{len(reached)}" for name, count in counts.most_common(MAX_ACHIEVEMENTS_SHOWN))
            findings.append(f"achievements reached on the way (episodes): {shown}")
        else:
            findings.append(f"no achievement was reached in any of the {len(reached)} episodes")
        score, _ = crafter_score(reached)
        findings.append(f"Crafter score of these {len(reached)} episodes: {score:.2f} (geometric mean of the 22 "
                        "achievement success rates in %, offset by 1)")
    return findings
