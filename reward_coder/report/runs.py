"""`reward-coder runs`: what each run folder under a directory is, newest first. Reads only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reward_coder.report.build import is_run_folder, llm_usage, read_journal
from reward_coder.store import lock_holder


@dataclass(frozen=True)
class RunListing:
    path: Path
    task: str
    """The named task (card/task) or the instruction in words."""
    env: str
    status: str
    iterations_done: int
    iterations_planned: int | None
    best_candidate: str | None
    best_success_rate: float | None
    best_figure: str
    """The best's success with what stands behind it: '0.80 ± 0.10 [0.70, 0.90] (n=3 seeds x 10 episodes)',
    or '0.80 (selection run, 1 seed)' before (or without) the fresh-seed finals."""
    cost_usd: float
    started: float | None
    cost_unknown: int = 0
    """Answers of a model with no known price: the true cost is more than cost_usd."""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError: bad JSON or bytes that are not UTF-8
        return None


def describe_run(path: Path) -> RunListing | None:
    """One line's worth about a run folder, or None when `path` is not a loop run."""
    if not is_run_folder(path):
        return None
    config = _json(path / "config.json") or {}
    task = _json(path / "task.json") or {}
    state = _json(path / "state.json") or {}
    if not isinstance(config, dict) or not isinstance(state, dict):
        return None
    best = state.get("best") or {}
    started = state.get("started")
    usage = llm_usage(read_journal(path / "llm_journal.jsonl"))
    return RunListing(
        path=path,
        task=str(task.get("key") or config.get("task") or task.get("instruction") or config.get("instruction") or "?"),
        env=str(task.get("env_id") or config.get("env") or "?"),
        status=live_status(path, str(state.get("status", "unknown"))),
        iterations_done=int(state.get("iterations_done", 0)),
        iterations_planned=state.get("iterations_planned", config.get("iterations")),
        best_candidate=best.get("candidate"),
        best_success_rate=best.get("success_rate"),
        best_figure=best_figure(best),
        cost_usd=usage.cost_usd,
        started=float(started) if isinstance(started, (int, float)) else None,
        cost_unknown=usage.cost_unknown,
    )


def live_status(path: Path, status: str) -> str:
    """state.json's status, except that a run that says 'running' while no process holds its folder's
    lock died without writing its end (kill -9, OOM killer, power loss): 'dead (resume it)'."""
    if status == "running" and lock_holder(path) is None:
        return "dead (resume it)"
    return status


def best_figure(best: dict[str, Any]) -> str:
    """The figure `runs` shows for a run's best reward, saying how many seeds and episodes it rests on."""
    from reward_coder.stats import SeedStats

    if not best or best.get("success_rate") is None:
        return "-"
    final = best.get("final")
    if not final:
        return f"{best['success_rate']:.2f} (selection run, 1 seed)"
    stats = SeedStats(**final["held_out"]["success_rate"])
    behind = f"n={stats.n} seeds x {final['episodes_per_seed']} episodes"
    if stats.mean is None:
        return f"n/a ({behind}: no seed finished)"
    if stats.ci_low is None or stats.std is None:
        return f"{stats.mean:.2f} ({behind}; no interval)"
    return f"{stats.mean:.2f} ± {stats.std:.2f} [{stats.ci_low:.2f}, {stats.ci_high:.2f}] ({behind})"


def list_runs(folder: str | Path) -> list[RunListing]:
    """Every run directly under `folder`, newest first (by start time, else folder time)."""
    root = Path(folder)
    if not root.is_dir():
        return []
    found = [listing for child in root.iterdir() if child.is_dir() and (listing := describe_run(child))]

    def newest(listing: RunListing) -> float:
        if listing.started is not None:
            return listing.started
        try:
            return listing.path.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(found, key=newest, reverse=True)
