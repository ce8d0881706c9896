"""Read a YAML file written by a person (a card, a task, a suite), with errors that name file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reward_coder.errors import RewardCoderError


def read_yaml(path: Path, what: str, error: type[RewardCoderError]) -> Any:
    """Parsed content of `path`; an unreadable file or a syntax error raises `error` with one clear line.

    `what` names the kind of file in the message ('env card', 'task file', 'suite').
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise error(f"{what} {path}: cannot be read ({err.strerror or err}); check the path") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise error(f"{what} {path}:{where} is not valid YAML ({problem}); fix the syntax there") from None
