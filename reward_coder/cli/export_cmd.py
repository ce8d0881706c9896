"""`reward-coder export RUN [--out FILE.py]`: a run's best reward as one module that needs no reward-coder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from reward_coder.cli.common import console, out_target, user_errors
from reward_coder.errors import ConfigError

DEFAULT_NAME = "exported_reward.py"


@user_errors
def export(
    run_dir: Annotated[Path, typer.Argument(help="The run folder, runs/<run-id>.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", callback=out_target, help=f"Module to write (default RUN/{DEFAULT_NAME}).")] = None,
) -> None:
    """Write the run's best reward and its card's field accessors as one Python file (numpy + gymnasium only)."""
    from reward_coder.envs import get_card
    from reward_coder.export import export_module
    from reward_coder.store import RunStore

    store = RunStore(run_dir)
    if not run_dir.is_dir() or not (store.exists("config.json") or store.exists("task.json")):
        raise ConfigError(f"'{run_dir}' is not a run folder (no config.json); list runs with `reward-coder runs`")
    if not store.exists("best.py"):
        raise ConfigError(f"'{run_dir}' has no best.py: no candidate of this run has trained yet, so there is no "
                          f"reward to export; finish it with `reward-coder resume {run_dir}` or export another run")
    record = store.read_json("task.json") if store.exists("task.json") else store.read_json("config.json")
    card = get_card(str(record.get("env") or ""))
    target = out or run_dir / DEFAULT_NAME
    if target.suffix != ".py":
        raise ConfigError(f"--out '{target}' must be a .py file (the exported module)")
    if target.is_dir():
        raise ConfigError(f"--out '{target}' is a folder; name the .py file to write")
    text = export_module(store.read_text("best.py"), card, origin=f"{run_dir}/best.py")
    written = RunStore.create(target.parent).write_text(target.name, text)
    console.print(f"exported the reward of {run_dir} (card '{card.id}') to {written}; it needs numpy and gymnasium "
                  f"only: `import {target.stem}; env = {target.stem}.RewardWrapper({target.stem}.make_env())`",
                  highlight=False, soft_wrap=True)
