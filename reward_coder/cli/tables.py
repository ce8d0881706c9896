"""Print a rich table so that no name is ever cut: drawn on a terminal, full width into a pipe, or plain TSV.

Rich fits a table to the console, 80 columns when stdout is not a terminal, and cuts or folds cells to
get there; `reward-coder envs | grep hopper/` then missed tasks whose names were cut. Into a pipe or a
file the table is drawn as wide as its longest cells need instead, and `--plain` prints one
tab-separated line per row (a header line first), for `cut`, `awk` and spreadsheets.
"""

from __future__ import annotations

import io
from typing import Annotated

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from reward_coder.cli.common import console

PlainOption = Annotated[bool, typer.Option(
    "--plain", help="Tab-separated lines (a header line, then one per row), for scripts; never cut.")]

_WIDEST = 100_000


def _cell_text(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return str(cell)


def table_rows(table: Table) -> list[list[str]]:
    """The header and every row of `table` as plain text (markup removed), cells left whole."""
    columns = table.columns
    header = [_cell_text(column.header) for column in columns]
    cells = [[_cell_text(cell) for cell in column.cells] for column in columns]
    rows = [list(row) for row in zip(*cells)] if cells else []
    return [header, *rows]


def _tsv_field(text: str) -> str:
    return " ".join(text.split())  # a tab or newline inside a cell would break the columns


def print_table(table: Table, *, plain: bool = False, out: Console | None = None) -> None:
    """Print `table` on `out` (stdout): as drawn on a terminal, uncut otherwise, or as TSV when `plain`."""
    out = out or console
    if plain:  # straight to the file: rich would expand the tabs into spaces
        for row in table_rows(table):
            out.file.write("\t".join(_tsv_field(cell) for cell in row) + "\n")
        out.file.flush()
        return
    if out.is_terminal:
        out.print(table)
        return
    needed = Measurement.get(out, out.options.update(max_width=_WIDEST), table).maximum
    # console.print(width=...) never exceeds the console's own width: a console as wide as the table draws
    # it (no colour codes, as rich does for a non-terminal), and `out` prints those lines unwrapped
    wide = Console(file=io.StringIO(), width=max(needed, out.width), color_system=None, highlight=False)
    with wide.capture() as drawn:
        wide.print(table, crop=False)
    out.print(drawn.get(), end="", markup=False, highlight=False, emoji=False, crop=False, soft_wrap=True)
