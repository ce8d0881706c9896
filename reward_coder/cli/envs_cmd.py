"""`reward-coder envs`: list env cards, and show exactly what the LLM is told about one."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from reward_coder.cli.common import user_errors
from reward_coder.cli.tables import PlainOption, print_table

app = typer.Typer(help="List env cards and show what the LLM is told about an environment.", invoke_without_command=True)


@app.callback()
@user_errors
def list_envs(ctx: typer.Context, plain: PlainOption = False) -> None:
    """List the env cards, their action space and their named tasks (never cut, also into a pipe)."""
    if ctx.invoked_subcommand is not None:
        return
    from reward_coder.envs import list_cards

    table = Table(title="Env cards", show_lines=False)
    table.add_column("card")
    table.add_column("gymnasium id")
    table.add_column("fields", justify="right")
    table.add_column("action")
    table.add_column("tasks")
    for card in list_cards():
        action = (f"{len(card.action.choices)} discrete" if card.action.discrete
                  else "box " + "x".join(map(str, card.action.shape)))
        table.add_row(card.id, card.env_id, str(len(card.fields)), action,
                      ", ".join(f"{card.id}/{t.name}" for t in card.tasks))
    print_table(table, plain=plain)


@app.command("show")
@user_errors
def show(
    env: Annotated[str, typer.Argument(help="Card id or gymnasium id, e.g. halfcheetah or HalfCheetah-v5.")],
    task: Annotated[Optional[str], typer.Option(help="Also show a named task's instruction and success metric.")] = None,
) -> None:
    """Print exactly the environment text the designer prompt shows the LLM."""
    from reward_coder.envs import describe_card, get_card
    from reward_coder.tasks import describe_success

    card = get_card(env)
    typer.echo(describe_card(card))
    if task:
        spec = card.task(task.split("/")[-1])
        typer.echo(f"\nTask: {spec.instruction}\nSuccess: {describe_success(spec.success)}")
