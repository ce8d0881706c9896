"""Read a text file a person or an earlier run wrote, and check text given on the command line.

Every file reward-coder reads as text (task files, env cards, suites, replay journals, reward files, a
run's config.json / state.json / task.json) goes through `read_text_file`, so a wrong file is one line
naming the file and what is wrong with it, never a UnicodeDecodeError traceback:

- a file larger than the caller's limit is refused before it is decoded (the limit is in the message),
  so a 50 MB "task file" cannot take a minute and a gigabyte to be refused later, or be sent as a prompt;
- a NUL byte means binary content (a model checkpoint, an image, a zip given by mistake): refused with
  the offset of the first one, since no text format we read can hold one;
- bytes that are not UTF-8 are refused with their offset and value, so the user can find them
  (`cmp`, `xxd -s OFFSET`); a UTF-8 byte-order mark is dropped (editors on Windows write one).

The limits are named constants here, each with the reason for its size.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reward_coder.errors import ConfigError, RewardCoderError

KIB = 1024
MIB = 1024 * KIB

INSTRUCTION_MAX_CHARS = 20_000
"""Longest task instruction (free text, a task file's `instruction`, or `refine --feedback`). The text
goes into every designer prompt; 20,000 characters is ten pages, far past any real task, and well under
any model's context once the env card and results are added."""

TASK_FILE_MAX_BYTES = 256 * KIB
"""Largest task file: a few keys and one instruction (itself at most INSTRUCTION_MAX_CHARS)."""

CARD_MAX_BYTES = 1 * MIB
"""Largest env card: the packaged ones are under 20 KB; a card with hundreds of fields is still far below."""

SUITE_MAX_BYTES = 1 * MIB
"""Largest suite file: task lists, seeds and reward paths; the packaged suites are under 10 KB."""

REWARD_FILE_MAX_BYTES = 256 * KIB
"""Largest reward file (a run's best.py, a foreign reward in a suite): reward code is a few KB; the
sandbox's static check and the prompts that quote it would choke on far less than this."""

REPLAY_MAX_BYTES = 256 * MIB
"""Largest replay or LLM journal file: a long real run journals a few MB; this only stops a wrong file
(a dataset, a video) from being read into memory whole."""

RUN_FILE_MAX_BYTES = 64 * MIB
"""Largest file a run reads back from its own folder (config.json, state.json, task.json, summaries,
candidate code): they are KBs; a bigger one was not written by reward-coder."""


def _size(limit: int) -> str:
    if limit >= MIB and limit % MIB == 0:
        return f"{limit // MIB} MB"
    if limit >= KIB and limit % KIB == 0:
        return f"{limit // KIB} KB"
    return f"{limit} bytes"


def read_text_file(path: str | Path, what: str, *, limit_bytes: int,
                   error: type[RewardCoderError] = ConfigError, torn_tail_ok: bool = False) -> str:
    """The text of `path`, decoded as UTF-8; any problem raises `error` with one line naming the file.

    `what` names the kind of file in the message ('env card', 'task file', 'suite', 'reward file');
    `limit_bytes` is the largest size accepted (one of the *_MAX_BYTES constants of this module).
    `torn_tail_ok`: an append-only journal whose last line a crash may have cut inside a multi-byte
    character; that last line (after the last newline) is dropped instead of failing.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit_bytes + 1)
    except IsADirectoryError:
        raise error(f"{what} {path}: is a folder, not a file; give the path of the file") from None
    except OSError as err:
        raise error(f"{what} {path}: cannot be read ({err.strerror or err}); check the path") from None
    if len(data) > limit_bytes:
        raise error(f"{what} {path}: is larger than the limit of {_size(limit_bytes)}; is it the right file?") from None
    if torn_tail_ok and not data.endswith(b"\n"):
        try:
            data.rpartition(b"\n")[2].decode("utf-8")
        except UnicodeDecodeError:
            data = data[: data.rfind(b"\n") + 1]
    return decode_text(data, f"{what} {path}", error)


def decode_text(data: bytes, where: str, error: type[RewardCoderError] = ConfigError) -> str:
    """`data` as UTF-8 text (a leading byte-order mark dropped); binary or non-UTF-8 bytes raise `error`.

    `where` starts the message: 'task file tasks/x.yaml'.
    """
    nul = data.find(b"\0")
    if nul >= 0:
        raise error(f"{where}: is binary, not text (a NUL byte at offset {nul}); give a UTF-8 text file") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{where}: is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
                    "save it as UTF-8") from None
    return text[1:] if text.startswith("\ufeff") else text


def read_json_file(path: str | Path, what: str, *, limit_bytes: int = RUN_FILE_MAX_BYTES,
                   error: type[RewardCoderError] = ConfigError) -> Any:
    """The parsed JSON of `path` (read as `read_text_file` does); bad JSON raises `error` naming the line."""
    text = read_text_file(path, what, limit_bytes=limit_bytes, error=error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{what} {path}: line {err.lineno} column {err.colno} is not valid JSON ({err.msg}); "
                    "was it edited by hand?") from None


def check_text_length(text: str, what: str, limit_chars: int = INSTRUCTION_MAX_CHARS,
                      error: type[RewardCoderError] = ConfigError) -> str:
    """`text` unchanged when it has at most `limit_chars` characters and no NUL; else `error` in one line."""
    if len(text) > limit_chars:
        raise error(f"{what} is {len(text):,} characters long, over the limit of {limit_chars:,}; "
                    "shorten it to the task itself") from None
    if "\0" in text:
        raise error(f"{what} holds a NUL character; give plain text") from None
    return text
