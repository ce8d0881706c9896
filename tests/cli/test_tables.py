"""Tables never cut names when output is not a terminal: `reward-coder envs | grep` finds every task.

CliRunner's output is not a terminal, like a pipe: rich would fit tables to 80 columns and cut cells.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table
from typer.testing import CliRunner

from reward_coder.cli.main import app
from reward_coder.cli.tables import print_table, table_rows
from reward_coder.envs import list_cards


def _invoke(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80", **(env or {})})
    assert result.exit_code == 0, result.output
    return result


def test_envs_into_a_pipe_names_every_card_and_task_whole(monkeypatch) -> None:
    monkeypatch.delenv("REWARD_CODER_CARDS", raising=False)
    output = _invoke("envs").output
    for card in list_cards():
        assert card.env_id in output
        for task in card.tasks:
            assert f"{card.id}/{task.name}" in output, f"{card.id}/{task.name} is cut"
    assert "…" not in output


def test_envs_plain_is_one_tab_separated_line_per_card(monkeypatch) -> None:
    monkeypatch.delenv("REWARD_CODER_CARDS", raising=False)
    lines = _invoke("envs", "--plain").output.splitlines()
    assert lines[0].split("\t") == ["card", "gymnasium id", "fields", "action", "tasks"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    cards = list_cards()
    assert sorted(rows) == sorted(card.id for card in cards)
    assert rows["cartpole"][1:4] == ["CartPole-v1", "6", "2 discrete"]
    assert rows["metaworld-handle-press-side"][4] == "metaworld-handle-press-side/handle-press-side"


def _fake_run(folder: Path, name: str, task: str) -> None:
    run = folder / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"task": task, "env": task.split("/")[0], "iterations": 1}))
    (run / "state.json").write_text(json.dumps({"iterations_done": 1, "status": "finished"}))


def test_runs_into_a_pipe_and_plain_keep_long_names(tmp_path: Path) -> None:
    name = "20260101-000000-metaworld-handle-press-side-handle-press-side-a-very-long-run-name"
    _fake_run(tmp_path, name, "metaworld-handle-press-side/handle-press-side")
    output = _invoke("runs", "--dir", str(tmp_path)).output
    assert name in output and "metaworld-handle-press-side/handle-press-side" in output
    plain = _invoke("runs", "--dir", str(tmp_path), "--plain").output.splitlines()
    assert plain[0].split("\t")[:2] == ["run", "task"]
    assert plain[1].split("\t")[:2] == [name, "metaworld-handle-press-side/handle-press-side"]


def test_table_rows_drop_markup_and_tsv_keeps_cells_on_one_line(capsys) -> None:
    table = Table()
    table.add_column("status")
    table.add_column("note")
    table.add_row("[green]ok[/]", "two\tparts\nand a line")
    assert table_rows(table) == [["status", "note"], ["ok", "two\tparts\nand a line"]]
    from rich.console import Console

    import sys

    print_table(table, plain=True, out=Console(file=sys.stdout))
    assert capsys.readouterr().out == "status\tnote\nok\ttwo parts and a line\n"
