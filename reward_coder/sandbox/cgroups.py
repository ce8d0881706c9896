"""CPU and memory quotas for sandbox workers through cgroup v2, where the machine lets us have them.

RLIMIT_AS and RLIMIT_CPU (set by the worker itself) always hold; a cgroup adds what they cannot: a memory
limit that counts every page the worker owns (tmpfs and kernel memory included, no swap) and a CPU
*rate* limit (a share of one core), so a worker cannot slow the trainer beside it. It needs the unified
(v2) hierarchy with the cpu and memory controllers delegated to the cgroup this process runs in (a
systemd `Delegate=yes` unit, a container given its own cgroup namespace, or root on a v2 host).
Otherwise `detect()` says why not, `reward-coder doctor` prints it, and the rlimits stand alone.

Each worker gets a leaf `rc-worker-<id>` under this process's cgroup, made when the worker has started
and removed when it is closed; its processes (bubblewrap, the sandbox's init and the worker) are moved
there before the candidate's first call.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000
NEEDED = ("cpu", "memory")


@dataclass(frozen=True)
class CgroupSupport:
    """Whether per-worker quotas are in force here, and where."""

    parent: Path | None
    detail: str

    @property
    def available(self) -> bool:
        return self.parent is not None

    def describe(self) -> str:
        if self.parent is None:
            return f"cgroup quotas: not in force ({self.detail}); RLIMIT_AS and RLIMIT_CPU hold alone"
        return f"cgroup quotas: in force under {self.parent} (memory.max, no swap, cpu.max per worker)"


def _own_cgroup(root: Path, proc_cgroup: str) -> Path | None:
    for line in proc_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            return root / path.lstrip("/")
    return None


def detect(root: Path = CGROUP_ROOT, proc_cgroup: str | None = None) -> CgroupSupport:
    """Whether this process may give its workers cgroups with cpu and memory limits."""
    if proc_cgroup is None:
        try:
            proc_cgroup = Path("/proc/self/cgroup").read_text()
        except OSError:
            return CgroupSupport(None, "no /proc/self/cgroup (not Linux)")
    if not (root / "cgroup.controllers").is_file():
        return CgroupSupport(None, f"{root} is not a cgroup v2 (unified) hierarchy")
    own = _own_cgroup(root, proc_cgroup)
    if own is None or not own.is_dir():
        return CgroupSupport(None, "this process's cgroup v2 folder is not visible")
    try:
        available = (own / "cgroup.controllers").read_text().split()
        enabled = (own / "cgroup.subtree_control").read_text().split()
    except OSError as err:
        return CgroupSupport(None, f"cannot read {own}: {err.strerror}")
    missing = [c for c in NEEDED if c not in available]
    if missing:
        return CgroupSupport(None, f"the {' and '.join(missing)} controller(s) are not delegated to {own}")
    if not os.access(own, os.W_OK):
        return CgroupSupport(None, f"{own} is not writable by this user")
    if any(c not in enabled for c in NEEDED):
        try:  # refused (EBUSY) while this cgroup itself holds processes: the no-internal-process rule
            (own / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in NEEDED))
        except OSError as err:
            return CgroupSupport(None, f"cannot enable cpu and memory for children of {own}: {err.strerror}")
    return CgroupSupport(own, "")


class WorkerCgroup:
    """One worker's leaf cgroup: limits written on creation, processes moved in, removed on close."""

    def __init__(self, support: CgroupSupport, memory_bytes: int, cpu_cores: float) -> None:
        assert support.parent is not None
        self.path = support.parent / f"rc-worker-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path.mkdir()
        try:
            (self.path / "memory.max").write_text(str(int(memory_bytes)))
            if (self.path / "memory.swap.max").exists():
                (self.path / "memory.swap.max").write_text("0")
            quota = max(1000, int(cpu_cores * CPU_PERIOD_US))
            (self.path / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
        except OSError:
            self.remove()
            raise

    def add(self, pids: list[int]) -> None:
        for pid in pids:
            try:
                (self.path / "cgroup.procs").write_text(str(pid))
            except ProcessLookupError:
                continue  # it ended already

    def cpu_seconds(self) -> float | None:
        """CPU time used by everything in the cgroup so far (cpu.stat usage_usec)."""
        try:
            for line in (self.path / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
        except (OSError, ValueError):
            return None
        return None

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except OSError:
            pass
