"""Read a YAML file written by a person (a card, a task, a suite), with errors that name file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reward_coder.errors import RewardCoderError
from reward_coder.textfile import read_text_file


def read_yaml(path: Path, what: str, error: type[RewardCoderError], *, limit_bytes: int) -> Any:
    """Parsed content of `path`; an unreadable, oversized, binary or non-UTF-8 file, or a syntax error,
    raises `error` with one clear line.

    `what` names the kind of file in the message ('env card', 'task file', 'suite'); `limit_bytes` is the
    largest file accepted (reward_coder.textfile's CARD_MAX_BYTES, TASK_FILE_MAX_BYTES, SUITE_MAX_BYTES).
    """
    import yaml

    text = read_text_file(path, what, limit_bytes=limit_bytes, error=error)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise error(f"{what} {path}:{where} is not valid YAML ({problem}); fix the syntax there") from None
    except RecursionError:  # deeply nested flow collections ([[[[...]]]]) exhaust the parser's stack
        raise error(f"{what} {path}: is nested too deeply to be read; is it the right file?") from None
