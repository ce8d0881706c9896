"""The run store: the writer under runs/. Every write is atomic, so a crash leaves whole files.

The one exception (DESIGN's "only store.py writes"), made here and nowhere else: a training job writes
inside the folder the store hands it (`RunStore.path(...)`): its checkpoints through
reward_coder.train.checkpoint (temp folder, hashes, rename), `curve.json` and `progress.json` by
temp file and rename, and the TensorBoard logs SB3 writes itself. Training runs in worker processes
(or on Ray nodes) that hold no RunStore, and a checkpoint is several files that must land together.

A run folder describes itself (house rule 9): config, rendered prompts, raw responses, code, checks,
metrics, seeds and versions all live in it, and `resume` reads it back to skip finished work.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from reward_coder.errors import ConfigError
from reward_coder.types import to_jsonable


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "task"


def make_run_id(env: str, task: str, seed: int, now: float | None = None) -> str:
    """`{env}__{task}__{seed}__{time}`, the CleanRL naming: sortable and readable in `ls`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return f"{_slug(env, 24)}__{_slug(task)}__{seed}__{stamp}"


class RunStore:
    """A folder of one run (or one `generate` output). Paths given to it are relative to the folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def create(cls, root: Path) -> RunStore:
        """Create (or reuse) the folder, failing with a one-line ConfigError when it is not writable."""
        root = Path(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe = root / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as err:
            raise ConfigError(
                f"cannot write to output folder '{root}': {err.strerror or err}; "
                "choose another folder with --out or fix its permissions"
            ) from None
        return cls(root)

    def path(self, relative: str) -> Path:
        """Absolute path of a file or folder in the run (for tools that write on their own, e.g. SB3)."""
        target = (self.root / relative).resolve()
        if self.root.resolve() not in target.parents and target != self.root.resolve():
            raise ValueError(f"path '{relative}' leaves the run folder")
        return target

    def exists(self, relative: str) -> bool:
        return (self.root / relative).exists()

    def write_text(self, relative: str, text: str) -> Path:
        """Write a whole file atomically (temp file, fsync, rename)."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            os.fchmod(fd, 0o644)  # mkstemp makes 0600; run files are meant to be read (reports, shared runs)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as err:
            raise ConfigError(
                f"could not write '{target}': {err.strerror or err}; free disk space or choose another folder"
            ) from None
        return target

    def write_json(self, relative: str, value: Any) -> Path:
        return self.write_text(relative, json.dumps(to_jsonable(value), indent=2, sort_keys=False) + "\n")

    def append_jsonl(self, relative: str, record: Any) -> None:
        """Append one JSON line and fsync: journals survive a crash up to their last whole line."""
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(to_jsonable(record), ensure_ascii=False) + "\n"
        try:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            raise ConfigError(
                f"could not append to '{target}': {err.strerror or err}; free disk space or choose another folder"
            ) from None

    def read_text(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def read_json(self, relative: str) -> Any:
        return json.loads(self.read_text(relative))

    def read_jsonl(self, relative: str) -> list[Any]:
        """Read a journal, ignoring a torn last line left by a crash."""
        if not self.exists(relative):
            return []
        records = []
        for line in self.read_text(relative).splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return records
