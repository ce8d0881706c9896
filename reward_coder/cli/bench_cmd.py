"""`reward-coder bench NAME`: benchmarks that compare against a baseline in the same run and write a file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from reward_coder.cli.common import console, err_console, user_errors
from reward_coder.errors import ConfigError

BUILTIN = ("overhead",)


@user_errors
def bench(
    name: Annotated[str, typer.Argument(help="Benchmark: 'overhead' (reward wrapper and sandbox cost per step).")],
    env: Annotated[str, typer.Option(help="Env card to measure on.")] = "halfcheetah",
    n_envs: Annotated[int, typer.Option(min=1, max=256)] = 8,
    steps: Annotated[int, typer.Option(min=10, help="Vectorized steps per measurement.")] = 2_000,
    train_steps: Annotated[int, typer.Option(min=0, help="PPO steps per training measurement (0: skip).")] = 0,
    repeats: Annotated[int, typer.Option(min=1, max=20)] = 3,
    out: Annotated[Optional[Path], typer.Option(help="JSON file for the figures (default runs/bench__<name>__<time>.json).")] = None,
) -> None:
    """Measure side by side and write the figures (medians, all runs, ratios to the baseline) to a file."""
    if name not in BUILTIN:
        raise ConfigError(f"unknown benchmark '{name}'; available: {', '.join(BUILTIN)}")
    from reward_coder.store import RunStore
    from reward_coder.train.bench import overhead_benchmark

    out = out or Path("runs") / f"bench__{name}__{time.strftime('%Y%m%d-%H%M%S')}.json"
    store = RunStore.create(out.parent)
    result = overhead_benchmark(env=env, n_envs=n_envs, steps=steps, repeats=repeats, train_steps=train_steps,
                                on_progress=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False))
    result["command"] = (f"reward-coder bench {name} --env {env} --n-envs {n_envs} --steps {steps} "
                         f"--train-steps {train_steps} --repeats {repeats}")
    store.write_text(out.name, json.dumps(result, indent=2) + "\n")
    for section in ("stepping", "training"):
        if not result[section]:
            continue
        table = Table(title=f"{section}: {result['env']}, {n_envs} envs, isolation {result['isolation']}")
        for column in ("variant", "steps/s (median)", "vs first row", "slower by"):
            table.add_column(column)
        for row in result[section]:
            table.add_row(row["variant"], f"{row['steps_per_s_median']:,.0f}", f"{row['ratio_to_baseline']:.3f}",
                          f"{row['slowdown_pct']:.1f}%")
        console.print(table)
    console.print(f"sandbox worker start + first call: {result['sandbox_worker_startup_ms_median']:.1f} ms (median)")
    console.print(f"figures written to {out}")
