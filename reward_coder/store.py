"""The run store: the writer under runs/. Every write is atomic, so a crash leaves whole files.

The one exception (DESIGN's "only store.py writes"), made here and nowhere else: a training job writes
inside the folder the store hands it (`RunStore.path(...)`): its checkpoints through
reward_coder.train.checkpoint (temp folder, hashes, rename), `curve.json` and `progress.json` by
temp file and rename, and the TensorBoard logs SB3 writes itself. Training runs in worker processes
(or on Ray nodes) that hold no RunStore, and a checkpoint is several files that must land together.

One writer per folder: `RunStore.acquire` takes a flock(2) on `.lock` for the life of a run, resume,
refine, demo or bench; `lock_holder` tells whether a live process holds it (how `runs` spots a dead run).

A run folder describes itself (house rule 9): config, rendered prompts, raw responses, code, checks,
metrics, seeds and versions all live in it, and `resume` reads it back to skip finished work.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from reward_coder.errors import ConfigError, WriteError, write_failure, write_fix
from reward_coder.types import to_jsonable


LOCK_FILE = ".lock"
"""The owner lock of a run or bench folder: flock(2)-held by the one process that writes the folder."""

EXECUTOR_FILE = "executor.json"
"""Where a run's training jobs run (executor, Ray address and storage location), so `resume` and `refine` keep them."""
EXECUTORS = ("local", "inline", "ray")


def lock_holder(root: Path) -> dict[str, Any] | None:
    """Who holds `root`'s owner lock ({pid, host, command, since}), or None when no live process does.

    flock locks die with their process (kill -9 and the OOM killer included), so a lock file left by a
    dead run is free: `runs` uses this to tell a live run from a dead one. Reads only.
    """
    path = Path(root) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _lock_info(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


_HELD: dict[str, int] = {}
"""Owner locks this process holds, by folder: a second RunStore of the same folder in the same process
(a command that failed before releasing, then another) shares the lock instead of locking itself out."""


def _lock_info(path: Path) -> dict[str, Any]:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = None
    return info if isinstance(info, dict) else {"pid": "?", "host": "?", "command": "?"}


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
        self._lock_fd: int | None = None

    def acquire(self, command: str) -> None:
        """Become the folder's one writer for the life of this process (or until `release`).

        A second run, resume or bench on the same folder gets one ConfigError naming the holder's pid and
        host. The lock is the kernel's (flock), so it is free again the moment the holder dies, however it
        dies; its pool workers never inherit it (Python's descriptors are not inheritable and workers are
        spawned). Idempotent for this RunStore.
        """
        if self._lock_fd is not None:
            return
        path = self.path(LOCK_FILE)
        if str(path) in _HELD:
            self._lock_fd = _HELD[str(path)]
            return
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise WriteError(f"cannot lock '{self.root}': {err.strerror or err}; {write_fix(err)}") from None
        deadline = time.monotonic() + 0.5  # `runs` probes with a shared lock for an instant
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                os.close(fd)
                holder = _lock_info(path)
                raise ConfigError(
                    f"'{self.root}' is in use by pid {holder.get('pid')} on {holder.get('host')} "
                    f"({holder.get('command')}, since {holder.get('since', '?')}); wait for it to end or stop it "
                    "first: two writers would corrupt the run"
                ) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except OSError as err:
            os.close(fd)
            raise write_failure(path, err) from None
        self._lock_fd = _HELD[str(path)] = fd

    def release(self) -> None:
        """Give the folder up (the lock also ends with the process)."""
        if self._lock_fd is not None:
            if _HELD.pop(str(self.path(LOCK_FILE)), None) is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = None

    @classmethod
    def create(cls, root: Path) -> RunStore:
        """Create (or reuse) the folder, failing with a one-line ConfigError when it is not writable."""
        root = Path(root)
        probe = root / ".write-test"
        try:
            root.mkdir(parents=True, exist_ok=True)
            probe.write_text("ok")
            probe.unlink()
        except OSError as err:
            _remove(probe)
            raise WriteError(
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
        """Write a whole file atomically (temp file, fsync, rename); a failure is one WriteError line."""
        return self.write_bytes(relative, text.encode("utf-8"))

    def write_bytes(self, relative: str, data: bytes) -> Path:
        """Write a whole file atomically (temp file, fsync, rename).

        Any OSError (disk full, read-only file system, no permission), including creating the folders
        on the way, is one WriteError naming the path and the reason; the temp file is removed, so a
        failed write leaves the old file (or none) and nothing half-written.
        """
        target = self.path(relative)
        tmp: str | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(fd, 0o644)  # mkstemp makes 0600; run files are meant to be read (reports, shared runs)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as err:
            if tmp is not None:
                _remove(Path(tmp))
            raise write_failure(target, err) from None
        return target

    def write_json(self, relative: str, value: Any) -> Path:
        return self.write_text(relative, json.dumps(to_jsonable(value), indent=2, sort_keys=False) + "\n")

    def append_jsonl(self, relative: str, record: Any) -> None:
        """Append one JSON line and fsync: journals survive a crash up to their last whole line."""
        target = self.path(relative)
        line = (json.dumps(to_jsonable(record), ensure_ascii=False) + "\n").encode("utf-8")
        start: int | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "ab") as handle:
                start = handle.tell()
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as err:
            if start is not None:  # cut a partly written line, so the journal still ends with a whole one
                try:
                    os.truncate(target, start)
                except OSError:
                    pass
            raise write_failure(target, err, "append to") from None

    def read_text(self, relative: str) -> str:
        """A file of the run as text; unreadable, binary or non-UTF-8 content is one ConfigError line."""
        from reward_coder.textfile import RUN_FILE_MAX_BYTES, read_text_file

        return read_text_file(self.root / relative, "run file", limit_bytes=RUN_FILE_MAX_BYTES)

    def read_json(self, relative: str) -> Any:
        """A JSON file of the run (config.json, state.json, ...); a broken one is one ConfigError line."""
        from reward_coder.textfile import read_json_file

        return read_json_file(self.root / relative, "run file")

    def read_executor(self) -> tuple[str, str | None, str | None]:
        """The executor, Ray address and Ray storage location the run trains with; ('local', None, None) for a
        run that recorded none (started by an older version) or whose record is unreadable."""
        if not self.exists(EXECUTOR_FILE):
            return "local", None, None
        try:
            record = self.read_json(EXECUTOR_FILE)
        except ConfigError:
            return "local", None, None
        if not isinstance(record, dict) or record.get("executor") not in EXECUTORS:
            return "local", None, None
        address, storage = record.get("address"), record.get("storage")
        return (str(record["executor"]), str(address) if isinstance(address, str) and address else None,
                str(storage) if isinstance(storage, str) and storage else None)

    def write_executor(self, executor: str, address: str | None, *, command: str, note: str = "",
                       storage: str | None = None) -> Path:
        """Record the executor, address and storage location the run trains with from now on; earlier choices
        stay in 'history'."""
        history: list[Any] = []
        if self.exists(EXECUTOR_FILE):
            try:
                old = self.read_json(EXECUTOR_FILE)
                history = list(old.get("history") or []) if isinstance(old, dict) else []
            except ConfigError:
                history = []
        entry: dict[str, Any] = {"command": command, "executor": executor, "address": address, "storage": storage,
                                 "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if note:
            entry["note"] = note
        history.append(entry)
        return self.write_json(EXECUTOR_FILE, {"executor": executor, "address": address, "storage": storage,
                                               "history": history})

    def read_jsonl(self, relative: str) -> list[Any]:
        """Read a journal, ignoring a torn last line left by a crash.

        Lines are decoded one by one: a crash can cut a line inside a multi-byte UTF-8 character, and that
        torn line must not make the whole journal unreadable.
        """
        if not self.exists(relative):
            return []
        from reward_coder.textfile import REPLAY_MAX_BYTES, read_text_file

        text = read_text_file(self.root / relative, "journal", limit_bytes=REPLAY_MAX_BYTES,
                              error=ConfigError, torn_tail_ok=True)
        records = []
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return records


def _remove(path: Path) -> None:
    """Delete a temp file left by a failed write, if there is one (the failure is reported, not this)."""
    try:
        path.unlink()
    except OSError:
        pass
