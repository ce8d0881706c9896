"""`reward-coder report RUN` (a self-contained HTML page) and `reward-coder runs` (what is in runs/)."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from reward_coder.cli.common import console, err_console, out_target, user_errors
from reward_coder.cli.tables import PlainOption
from reward_coder.errors import write_failure


def _size(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


@user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="The run folder, runs/<run-id>.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", callback=out_target, help="HTML file to write (default RUN/report.html).")] = None,
    no_video: Annotated[bool, typer.Option("--no-video", help="Skip the winner's rollout video (faster).")] = False,
) -> None:
    """Write an HTML report of a run: curves, reward terms, code diffs, critic and analyzer, the winner's video.

    The page is one file that opens from disk with no network (plots and video are inlined).
    """
    from reward_coder.report import build_report
    from reward_coder.store import RunStore

    target = out or run_dir / "report.html"
    video_name = target.stem + "-video.mp4"
    built = build_report(run_dir, video=not no_video, video_name=video_name)
    if out is None:
        store = RunStore(run_dir)
        written = store.write_text("report.html", built.html)
        for name, payload in built.attachments.items():
            store.write_bytes(name, payload)
    else:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(built.html, encoding="utf-8")
            for name, payload in built.attachments.items():
                (out.parent / name).write_bytes(payload)
        except OSError as err:
            raise write_failure(out, err) from None
        written = out
    if built.video_note and not no_video:
        err_console.print(f"[yellow]no video[/]: {built.video_note}", highlight=False, soft_wrap=True)
    extra = "".join(f", video {name} ({_size(len(p))})" for name, p in built.attachments.items())
    console.print(f"report: {written} ({_size(len(built.html.encode()))}, {len(built.candidates)} candidates, "
                  f"built in {built.seconds:.1f} s{extra})", highlight=False, soft_wrap=True)


@user_errors
def runs(
    folder: Annotated[Path, typer.Option("--dir", "-d", help="Folder that holds run folders.")] = Path("runs"),
    plain: PlainOption = False,
) -> None:
    """List runs with their task, status, best success and LLM cost, newest first."""
    from reward_coder.cli.tables import print_table
    from reward_coder.report.runs import list_runs

    found = list_runs(folder)
    if not found:
        console.print(f"no runs in {folder}/ yet; start one with `reward-coder demo` or `reward-coder run`",
                      highlight=False)
        return
    table = Table(title=f"{len(found)} run(s) in {folder}/")
    table.add_column("run", overflow="fold")
    table.add_column("task", overflow="fold")
    for column in ("status", "iters", "best", "success", "cost", "started"):
        table.add_column(column, no_wrap=column != "success",
                         justify="right" if column in ("iters", "success", "cost") else "left")
    colours = {"finished": "green", "running": "cyan", "stopped": "yellow", "interrupted": "red",
               "dead (resume it)": "red"}
    for run in found:
        started = _dt.datetime.fromtimestamp(run.started).strftime("%m-%d %H:%M") if run.started else "-"
        planned = f"/{run.iterations_planned}" if run.iterations_planned is not None else ""
        task = run.task if "/" in run.task else f"{run.task[:60]} ({run.env})"
        table.add_row(
            run.path.name, task, f"[{colours.get(run.status, 'white')}]{run.status}[/]",
            f"{run.iterations_done}{planned}", run.best_candidate or "-",
            run.best_figure,
            f"${run.cost_usd:.4f}" + (" + ?" if run.cost_unknown else ""), started,
        )
    print_table(table, plain=plain)
