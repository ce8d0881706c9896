"""What `reward-coder doctor` reports about the sandbox: the isolation level, and a live worker test."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from reward_coder.sandbox.isolation import IsolationStatus, detect_isolation
from reward_coder.sandbox.worker import SandboxedReward

_PROBE_CODE = """
import numpy as np


def compute_reward(state, action, next_state):
    speed = next_state.velocity
    return speed, {"speed": speed}
"""


@dataclass(frozen=True)
class SandboxHealth:
    """The isolation in force and whether a worker actually starts and answers under it."""

    isolation: IsolationStatus
    worker_ok: bool
    seccomp_active: bool
    worker_uid: int | None
    startup_ms: float | None
    call_us: float | None
    """Median round trip of a call on 8 states, parent to worker and back."""
    problem: str | None = None

    def lines(self) -> list[str]:
        """Human-readable lines, most important first."""
        out = [self.isolation.describe()]
        if not self.worker_ok:
            out.append(f"sandbox worker: FAILED - {self.problem}")
            return out
        filter_text = "seccomp filter active" if self.seccomp_active else "no seccomp filter"
        out.append(
            f"sandbox worker: ok (host uid {self.worker_uid}, {filter_text}, start {self.startup_ms:.0f} ms, "
            f"call {self.call_us:.0f} us)"
        )
        from reward_coder.sandbox.worker import cgroup_support

        out.append(cgroup_support().describe())
        return out


LAYERS = (
    ("static check", "an allow-list of modules, numpy/math/scipy members and syntax, before any code runs: "
                     "refuses imports, dunder access, modules as values, file I/O and kept state, at the "
                     "user's line (a filter, not a barrier)"),
    ("worker guards", "builtins and module views built from the same allow-list, every attribute read "
                      "checked (Python-level: defense in depth)"),
    ("bubblewrap", "files (read-only system and Python only, a scratch folder, no /proc), network (none), "
                   "processes (own pid namespace), identity (an unprivileged host uid, even under root)"),
    ("seccomp", "default deny: only the calls numpy needs; any other call stops the worker and is named"),
    ("limits", "address space, CPU seconds, open files, no child processes; cgroup memory/CPU quotas "
               "where delegated"),
    ("environment", "workers and training processes start without provider keys or tokens"),
    ("in-process", "load_reward(..., sandboxed=False) has the static check only: for code you trust"),
)
"""What each layer protects, as `reward-coder doctor` and the README say it."""


def sandbox_health(isolation: IsolationStatus | None = None, calls: int = 200) -> SandboxHealth:
    """Start one worker with a trivial reward, time it, and report what is in force."""
    isolation = isolation or detect_isolation()
    state = {"velocity": np.linspace(-1.0, 1.0, 8)}
    action = np.zeros((8, 2))
    with SandboxedReward(_PROBE_CODE, isolation=isolation) as sandbox:
        if sandbox.start_error is not None:
            return SandboxHealth(isolation, False, False, None, None, None, sandbox.start_error.message)
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            raw = sandbox.call(state, action, state, check_mutation=False)
            times.append(time.perf_counter() - started)
            if raw.error is not None:
                return SandboxHealth(isolation, False, sandbox.seccomp_active, sandbox.worker_uid, None, None,
                                     raw.error.message)
        return SandboxHealth(
            isolation=isolation,
            worker_ok=True,
            seccomp_active=sandbox.seccomp_active,
            worker_uid=sandbox.worker_uid,
            startup_ms=(sandbox.startup_s or 0.0) * 1e3,
            call_us=float(np.median(times)) * 1e6,
        )
