"""The `reward-coder` command: one small module per command group, assembled here."""

from __future__ import annotations

import typer

from reward_coder.cli import bench_cmd, doctor_cmd, envs_cmd, generate_cmd, report_cmd, run_cmd

app = typer.Typer(
    name="reward-coder",
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
