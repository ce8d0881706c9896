"""Scratch folders of sandbox workers and of the bubblewrap probe: made with their owner in the name, swept
when the owner is gone.

A worker's folder is removed when the worker goes (close, a crash, a timeout, an exception or Ctrl-C
during start-up, garbage collection, interpreter exit). What no code can clean up after is the owner
itself dying at once: SIGKILL, the OOM killer, `os._exit` in a pool worker whose run died. So each folder
is named `rc-worker-<pid>.<start>-...` (or `rc-probe-<pid>.<start>-...`) after the process that made it,
and the first folder a process makes sweeps away those whose owner no longer runs (same pid and start
time). Sweeping a folder by mistake would be harmless: a worker never writes to it, and a bind mount or a
working directory outlives the removal of its name.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

WORKER_PREFIX = "rc-worker-"
PROBE_PREFIX = "reward-coder-probe-"

_OWNED = re.compile(r"^(?:rc-worker-|reward-coder-probe-)(\d+)\.(\d+)-")
_LEGACY = re.compile(r"^(?:rc-worker-[0-9a-f]{12}-|reward-coder-probe-)[A-Za-z0-9_]{8}$")
LEGACY_AGE_S = 3600.0
"""Folders in the old naming (no owner) are swept once they are this old: a worker's folder is never
written to, so its age is its owner's age, and an hour-old one of an old version is left over."""

_swept: set[tuple[int, str]] = set()
_lock = threading.Lock()


def process_start(pid: int) -> str | None:
    """Start time of a live process (field 22 of /proc/<pid>/stat), or None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19] if len(fields) > 19 else None


def _owner_tag() -> str:
    pid = os.getpid()
    return f"{pid}.{process_start(pid) or 0}"


def _owner_alive(pid: int, started: str) -> bool:
    if not os.path.isdir("/proc/self"):  # no procfs (macOS): whether the pid exists is all we can tell
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    now = process_start(pid)
    return now is not None and (started == "0" or now == started)


def sweep_stale(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the scratch folders under `root` (default: the temp dir) whose owning process is gone.

    Only folders of this user are touched. Returns what was removed.
    """
    folder = Path(root) if root is not None else Path(tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    for entry in entries:
        if not entry.name.startswith((WORKER_PREFIX, PROBE_PREFIX)):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not entry.is_dir(follow_symlinks=False) or (uid is not None and info.st_uid != uid):
                continue
        except OSError:
            continue
        owned = _OWNED.match(entry.name)
        if owned is not None:
            stale = not _owner_alive(int(owned.group(1)), owned.group(2))
        else:
            stale = _LEGACY.match(entry.name) is not None and time.time() - info.st_mtime > LEGACY_AGE_S
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            if not os.path.exists(entry.path):
                removed.append(Path(entry.path))
    return removed


def make_scratch(prefix: str, root: str | os.PathLike[str] | None = None) -> Path:
    """A new private folder `<prefix><owner>-<random>` under `root` (default: the temp dir).

    The first call of a process for a root first sweeps that root's folders left by dead processes.
    """
    folder = os.fspath(root) if root is not None else tempfile.gettempdir()
    key = (os.getpid(), folder)
    with _lock:
        first = key not in _swept
        _swept.add(key)
    if first:
        sweep_stale(folder)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{_owner_tag()}-", dir=folder))
