"""The `reward-coder` command: one small module per command group, assembled here."""

from __future__ import annotations

import typer

from reward_coder.cli import bench_cmd, doctor_cmd, envs_cmd, export_cmd, generate_cmd, report_cmd, run_cmd, train_cmd
from reward_coder.cli.common import OneLineErrorsGroup

app = typer.Typer(
    name="reward-coder",
    cls=OneLineErrorsGroup,
    help="Turn a task in plain language into a checked, dense reward function, and prove it by training.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(envs_cmd.app, name="envs")
app.command("generate")(generate_cmd.generate)
app.command("doctor")(doctor_cmd.doctor)
app.command("run")(run_cmd.run)
app.command("resume")(run_cmd.resume)
app.command("refine")(run_cmd.refine)
app.command("demo")(run_cmd.demo)
app.command("bench")(bench_cmd.bench)
app.command("report")(report_cmd.report)
app.command("runs")(report_cmd.runs)
app.command("train")(train_cmd.train)
app.command("export")(export_cmd.export)


def _terminated(signum: int, _frame: object) -> None:
    """SIGTERM (`kill`, `timeout`, a scheduler) stops a command the way Ctrl-C does: the run is marked
    interrupted, workers are stopped and scratch folders removed, instead of dying mid-write.

    Ctrl-C in a terminal reaches the training pool's workers too (one process group); SIGTERM reaches
    this process only, so it is passed on to them (they take it as Ctrl-C too, see
    train.executor.follow_parent), else the pool would finish its jobs before the run could stop.
    """
    import multiprocessing
    import os
    import signal

    for child in multiprocessing.active_children():
        try:
            os.kill(child.pid, signal.SIGTERM)
        except OSError:
            pass
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    app()


if __name__ == "__main__":
    main()
