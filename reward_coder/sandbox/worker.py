"""A reward candidate running in a sandboxed worker process, called from the parent over pipes.

`SandboxedReward` starts one worker per candidate and keeps it for the candidate's life (a check, a
training run, an evaluation): starting costs tens of milliseconds, a call tens of microseconds.

The parent trusts nothing that comes back. Frames are length-prefixed JSON plus raw arrays of plain
numeric dtypes (never pickle), every length is checked against a cap before anything is allocated,
and text is sanitized. A worker that hangs is killed at the wall-clock deadline; one that dies is
reported as a RawOutput with an error, and every later call fails fast with the same cause. The
worker's whole process group is killed and reaped on close, on garbage collection and at exit.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from reward_coder.sandbox import _protocol, _seccomp
from reward_coder.sandbox.isolation import (
    TMPFS_BYTES,
    IsolationStatus,
    bwrap_command,
    root_namespaces,
    detect_isolation,
    worker_environment,
    worker_python_args,
)
from reward_coder.sandbox.cgroups import CgroupSupport, WorkerCgroup
from reward_coder.sandbox.cgroups import detect as _detect_cgroups
from reward_coder.sandbox.scratch import WORKER_PREFIX, make_scratch
from reward_coder.sandbox.scratch import process_start as _start_time


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits and timing of one worker. Defaults suit a check run and an ordinary training run."""

    memory_mb: int = 1024
    """Address space (RLIMIT_AS). Python with numpy takes ~150 MiB; a reward over a batch needs a few
    MiB more. 1 GiB leaves ample room and stops memory bombs long before they hurt the host."""
    cpu_s: float = 3600.0
    """CPU seconds over the worker's whole life (RLIMIT_CPU; SIGKILL at the limit). A training worker
    spends ~50-100 us of CPU per call: 10M calls (10M steps on one env) take ~15 min. Hangs are caught by
    the per-call wall clock long before this backstop; a trainer with a bigger budget should raise it."""
    call_timeout_s: float = 5.0
    """Wall clock per call. An honest reward scores 64 states in well under 10 ms; 5 s means a hang."""
    start_timeout_s: float = 30.0
    """Start-up (interpreter, numpy, loading the candidate) takes ~0.1 s; busy CI machines are slower."""
    max_output_bytes: int = 8 << 20
    """Cap on one answer (reward plus terms). 64 envs x 64 terms of float64 is 32 KiB; 8 MiB is room for
    big check batches while refusing a 10^8-element 'reward'."""
    file_bytes: int = 1 << 20
    """Largest file the worker may write (RLIMIT_FSIZE); it needs none."""
    open_files: int = 64
    """RLIMIT_NOFILE; the worker needs its two pipes and the standard streams."""
    processes: int = 1
    """RLIMIT_NPROC: no children. The worker runs as an unprivileged host uid even under root (see
    isolation.RootNamespaces), so the kernel enforces it; the seccomp filter refuses new threads too."""
    cgroup_cpu_cores: float = 1.0
    """cpu.max of the worker's cgroup, in cores, where cgroup quotas are in force (see cgroups.py)."""
    spin_us: float = 100.0
    """Busy-wait this long for an answer before sleeping (only with more than one CPU). Waking a sleeping
    parent costs ~25 us on a multi-core VM, more than a typical reward call. Set 0 when every core is
    already busy (one training process per core), where spinning only takes time from the others."""
    worker_spin_us: float = 0.0
    """After answering, the worker busy-waits this long for the next call before sleeping. During
    training the next call comes one environment step later (hundreds of us), so this only pays when
    the worker has a core of its own; the trainer turns it on when cores outnumber busy processes."""


CallErrorKind = Literal["exception", "memory", "timeout", "crashed", "forbidden", "protocol", "start", "load", "closed"]


@dataclass(frozen=True)
class CallError:
    """Why a call produced no output: the candidate raised, hung, crashed, or never loaded."""

    kind: CallErrorKind
    message: str
    exc_type: str | None = None
    line: int | None = None
    """Line in the candidate's source where the exception surfaced, when known."""


@dataclass(frozen=True)
class OutputProblem:
    """Something the candidate returned that is not what the contract asks for."""

    code: str
    """'not_a_pair', 'none', 'not_array_like', 'non_numeric', 'too_large', 'not_a_dict', 'too_many',
    'bad_name'."""
    detail: str = ""


@dataclass(frozen=True)
class RawOutput:
    """What one call produced, before any judgement (verdict.py judges it)."""

    n: int
    """Batch size sent (number of environments / states)."""
    reward: np.ndarray | None = None
    terms: Mapping[str, np.ndarray] = field(default_factory=dict)
    error: CallError | None = None
    returned_problem: OutputProblem | None = None
    reward_problem: OutputProblem | None = None
    terms_problem: OutputProblem | None = None
    term_problems: Mapping[str, OutputProblem] = field(default_factory=dict)
    mutated: tuple[str, ...] = ()
    """Inputs the candidate wrote into ('state.x', 'action', 'next_state.y')."""
    compute_s: float | None = None
    """Time inside compute_reward, measured by the worker."""
    all_finite: bool | None = None
    """On the fast path (every array float64): whether every returned value is finite; else None."""
    roundtrip_s: float = 0.0
    """Time of the whole call as the parent saw it."""


_ELAPSED_TAIL = re.compile(rb"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?\}")
_CLEAN_KEYS = frozenset({"op", "ok", "reward", "reward_problem", "terms", "term_problems", "arrays", "elapsed"})
_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,59}")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\uffff]")


def _clean_text(value: object, limit: int = 500) -> str:
    if not isinstance(value, str):
        return ""
    return _UNPRINTABLE.sub("?", value[:limit])


def _clean_type(value: object) -> str:
    return value if isinstance(value, str) and _TYPE_NAME.fullmatch(value) else "object"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Resources:
    """What must be released when a worker goes: its process group, pipes and scratch folder."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.fds: list[int] = []
        self.scratch: Path | None = None
        self.sandbox_init: tuple[int, str] | None = None
        """(host pid, start time) of bubblewrap's pid-namespace init, which is not our child."""
        self.cgroup: WorkerCgroup | None = None

    def kill(self) -> None:
        self._kill_group()
        self._kill_sandbox_init()

    def _kill_sandbox_init(self) -> None:
        """Kill the sandbox's init and wait until it has exited: the kernel then has killed every
        process in its pid namespace. The start time guards against a recycled pid."""
        if self.sandbox_init is None:
            return
        pid, started = self.sandbox_init
        deadline = time.monotonic() + 10.0
        delay = 0.0005
        while _start_time(pid) == started and time.monotonic() < deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        self.sandbox_init = None

    def _kill_group(self) -> None:
        """SIGKILL the group, then reap the leader. Never after reaping: its pid could be reused."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            pass

    def wait_exit(self, timeout: float) -> None:
        """Wait (without reaping) until the leader has exited, at most `timeout` seconds."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while time.monotonic() < deadline:
            if hasattr(os, "waitid"):
                try:
                    if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                        return
                except ChildProcessError:
                    return
            elif process.poll() is not None:  # no waitid (macOS): reaps; no bubblewrap there either
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def release(self) -> None:
        self.kill()
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        self.drop_scratch()

    def drop_scratch(self) -> None:
        """Remove the scratch folder (once the worker is dead: it is bound into the worker's sandbox)."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None


class SandboxedReward:
    """A candidate loaded in a sandboxed worker. Start-up happens in the constructor.

    A candidate that fails to load does not raise: `start_error` says why and every call returns it.
    Use as a context manager, or call close(); a forgotten instance is cleaned up by the garbage
    collector or at interpreter exit. Create it in a long-lived thread: bubblewrap's
    --die-with-parent ties the worker to the thread that started it.
    """

    def __init__(
        self,
        code: str,
        *,
        field_names: Sequence[str] | None = None,
        limits: SandboxLimits = SandboxLimits(),
        isolation: IsolationStatus | None = None,
        scratch_dir: str | os.PathLike[str] | None = None,
        skip_static: bool = False,
    ) -> None:
        """`field_names` (the env card's fields), when given, must all be present in every state sent.
        `skip_static` is for tests only: it also turns off the worker's restricted builtins, so the OS
        layer can be shown to hold on its own. (This class never runs the static check itself.)"""
        self.limits = limits
        self.isolation = isolation or detect_isolation()
        self.field_names = tuple(field_names) if field_names is not None else None
        self.worker_id = uuid.uuid4().hex[:12]
        self.start_error: CallError | None = None
        self.seccomp_active = False
        self.cgroup_active = False
        """Whether the worker's processes run in a cgroup with memory and CPU quotas (see cgroups.py)."""
        """Whether the worker reported its seccomp filter installed (see _seccomp.py)."""
        self.worker_uid: int | None = None
        """The uid the worker runs as, as it sees itself (65534 under bubblewrap or after dropping root)."""
        self.startup_s: float | None = None
        self.calls = 0
        self._dead: CallError | None = None
        self._resources = _Resources()
        self._finalizer = weakref.finalize(self, self._resources.release)
        self._layout_key: tuple | None = None
        self._shapes: tuple | None = None
        self._fast_plan: tuple | None = None
        self._layout_id = 0
        self._header_cache: dict[tuple, bytes] = {}
        self._info_fd: int | None = None
        self._max_elements = max(1, limits.max_output_bytes // 8)
        started = time.perf_counter()
        try:
            self._start(code, scratch_dir, python_guards=not skip_static)
        except OSError as err:
            self._fail(CallError("start", f"the worker could not be started: {err}"))
        except BaseException:
            # Ctrl-C (or a bug) during start-up: the caller never gets this object to close, so leave
            # no process, pipe or scratch folder behind before passing the exception on
            self._finalizer()
            raise
        if self.start_error is None:
            self.startup_s = time.perf_counter() - started

    # ---- life cycle -----------------------------------------------------------------------------

    def _start(self, code: str, scratch_dir: str | os.PathLike[str] | None, python_guards: bool) -> None:
        resources = self._resources
        root = Path(scratch_dir) if scratch_dir is not None else None
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
        scratch = make_scratch(WORKER_PREFIX, root)
        resources.scratch = scratch
        req_read, req_write = os.pipe()
        resp_read, resp_write = os.pipe()
        resources.fds = [req_write, resp_read]
        python_args = worker_python_args(self.isolation.level, [str(req_read), str(resp_write), str(scratch)])
        pass_fds = [req_read, resp_write]
        info_read = None
        namespaces = None
        if self.isolation.level == "bwrap" and self.isolation.bwrap_path:
            info_read, info_write = os.pipe()
            pass_fds.append(info_write)
            namespaces, _why = root_namespaces()
            if namespaces is not None:
                os.chmod(scratch, 0o711)  # bubblewrap enters it as no one in particular; the worker writes nothing
            command = bwrap_command(self.isolation.bwrap_path, str(scratch), python_args, info_fd=info_write,
                                    namespaces=namespaces)
            env = {"PATH": "/usr/bin:/bin"}
        else:
            command = [sys.executable, *python_args]
            env = worker_environment(str(scratch))
        try:
            resources.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=pass_fds + (namespaces.fds if namespaces is not None else []),
                env=env,
                cwd=str(scratch),
                start_new_session=True,
            )
        finally:
            for fd in pass_fds:
                os.close(fd)
        if info_read is not None:
            resources.fds.append(info_read)
            self._info_fd = info_read
        os.set_blocking(req_write, False)
        os.set_blocking(resp_read, False)
        self._req_fd = req_write
        self._reader = _protocol.FrameReader(
            resp_read, max_payload=self.limits.max_output_bytes, spin_s=_spin_seconds(self.limits.spin_us)
        )
        init = {
            "op": "init",
            "code": code,
            "guards": python_guards,
            "seccomp": self.isolation.seccomp,
            "drop_root": self.isolation.level != "bwrap",
            "become_sandbox_user": namespaces is not None,
            "max_output_elements": self._max_elements,
            "limits": {
                "memory_bytes": int(self.limits.memory_mb) << 20,
                "cpu_s": float(self.limits.cpu_s),
                "file_bytes": int(self.limits.file_bytes),
                "open_files": int(self.limits.open_files),
                "processes": int(self.limits.processes),
            },
            "spin_s": _spin_seconds(self.limits.worker_spin_us),
        }
        deadline = time.monotonic() + self.limits.start_timeout_s
        phase = "boot"
        try:
            _protocol.write_all(req_write, _protocol.encode(init), deadline)
            booted, _ = self._reader.read(deadline)
            if booted.get("op") != "booted":
                raise _protocol.ProtocolError("expected the start-up report")
            phase = "load"
            self._read_sandbox_init()
            hello, _ = self._reader.read(time.monotonic() + self.limits.call_timeout_s)
        except (_protocol.FrameTimeout, EOFError, BrokenPipeError, _protocol.ProtocolError) as err:
            self._fail(self._start_failure(err, phase))
            return
        if hello.get("op") != "hello":
            self._fail(CallError("protocol", "the worker answered start-up with something else"))
            return
        self.seccomp_active = hello.get("seccomp") is True
        self._enter_cgroup()
        self.worker_uid = self._host_uid()
        """The worker's real uid as the host sees it (inside its user namespace it may be another)."""
        if hello.get("ok") is not True:
            self._fail(self._error_from(hello.get("error"), default_kind="load"))

    def _enter_cgroup(self) -> None:
        """Move the worker's processes into a cgroup of their own with memory and CPU quotas, if possible."""
        support = cgroup_support()
        if not support.available:
            return
        try:
            memory = (int(self.limits.memory_mb) << 20) + TMPFS_BYTES
            group = WorkerCgroup(support, memory, self.limits.cgroup_cpu_cores)
        except OSError:
            return
        self._resources.cgroup = group
        pids = [p for p in (self._resources.process.pid if self._resources.process else None,
                            self._resources.sandbox_init[0] if self._resources.sandbox_init else None,
                            self._worker_host_pid()) if p is not None]
        group.add(pids)
        self.cgroup_active = True

    def _worker_host_pid(self) -> int | None:
        """The worker's pid on the host: the child of bubblewrap's sandbox init, or the process we started."""
        process = self._resources.process
        if self.isolation.level != "bwrap":
            return process.pid if process is not None else None
        init = self._resources.sandbox_init
        if init is None:
            return None
        try:
            children = Path(f"/proc/{init[0]}/task/{init[0]}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def cpu_seconds(self) -> float | None:
        """CPU time the worker process has used so far (user + system, as the host accounts it).

        Sampled around calls this shows CPU spent *between* them, which a worker without threads can
        only spend in its own bounded spin-wait (worker_spin_us); the cgroup's cpu.stat, where one is in
        force, counts every process of the worker."""
        if self._resources.cgroup is not None:
            usage = self._resources.cgroup.cpu_seconds()
            if usage is not None:
                return usage
        pid = self._worker_host_pid()
        if pid is None:
            return None
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def _host_uid(self) -> int | None:
        pid = self._worker_host_pid()
        if pid is None:
            return None
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Uid:"):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return None

    def _read_sandbox_init(self) -> None:
        """bubblewrap reports its init's pid before starting the worker, so it is there by now."""
        fd = self._info_fd
        if fd is None or self._resources.sandbox_init is not None:
            return
        try:
            ready, _, _ = select.select([fd], [], [], 0.5)
            blob = os.read(fd, 4096) if ready else b""
            pid = json.loads(blob.decode("ascii")).get("child-pid")
        except (OSError, ValueError, AttributeError):
            return
        if type(pid) is int and pid > 1:
            started = _start_time(pid)
            if started is not None:
                self._resources.sandbox_init = (pid, started)

    def _start_failure(self, err: BaseException, phase: str) -> CallError:
        self._read_sandbox_init()  # so that killing the worker also waits for the sandbox's processes
        if isinstance(err, _protocol.FrameTimeout) and phase == "load":
            return CallError(
                "timeout",
                f"loading the code did not finish within {self.limits.call_timeout_s:g} s: module-level "
                "code must not loop or compute for long",
            )
        if isinstance(err, _protocol.FrameTimeout):
            return CallError("start", f"the worker did not start within {self.limits.start_timeout_s:g} s")
        if isinstance(err, _protocol.ProtocolError):
            return CallError("protocol", f"the worker sent a malformed start-up answer: {err}")
        if self._resources.process is not None:
            self._resources.wait_exit(timeout=2.0)
            self._resources.kill()
        stderr = self._stderr_tail()
        forbidden = _forbidden_call(stderr)
        if forbidden is not None:
            return CallError("forbidden", f"the code made a forbidden system call while loading: {forbidden}; "
                             "the worker was stopped")
        last_line = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        status = self._exit_description()
        if phase == "load":
            return CallError("crashed", f"the worker died while loading the code ({status})")
        return CallError("start", f"the worker stopped during start-up ({status}) {last_line[0][:300]}".strip())

    def _fail(self, error: CallError) -> None:
        if self.start_error is None and self.calls == 0:
            self.start_error = error
        self._dead = error
        self._resources.kill()
        self._resources.drop_scratch()  # dead for good: every later call fails fast, nothing runs in it

    def close(self) -> None:
        """Kill the worker's process group, reap it, close the pipes and remove the scratch folder."""
        if self._dead is None:
            self._dead = CallError("closed", "the sandboxed reward was closed")
        self._finalizer()

    def __enter__(self) -> SandboxedReward:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._dead is None

    @property
    def pid(self) -> int | None:
        """Pid of the process the parent started (bwrap, or the worker itself in the fallback)."""
        process = self._resources.process
        return process.pid if process is not None else None

    # ---- calls ----------------------------------------------------------------------------------

    def call(
        self,
        state: Mapping[str, np.ndarray],
        action: np.ndarray,
        next_state: Mapping[str, np.ndarray],
        *,
        reset: Sequence[int] | np.ndarray | Literal["all"] | None = None,
        check_mutation: bool = True,
    ) -> RawOutput:
        """Score a batch. Fields are arrays with a leading batch dimension n; all are sent as float64.

        The worker keeps the per-environment `memory` of candidates that take one; `reset` lists the
        environments whose memory is cleared before this call (their episode just started), or 'all'.
        Raises ValueError only for inconsistent inputs (a caller bug); the candidate's faults come
        back in the RawOutput.
        """
        started = time.perf_counter()
        if np.ndim(action) == 0:
            raise ValueError("action needs a leading batch dimension")
        # action indices of a discrete card travel as float64 (exact) and reach the candidate as int64
        integer_action = bool(np.issubdtype(np.asarray(action).dtype, np.integer))
        action_array = np.ascontiguousarray(action, dtype=np.float64)
        n = int(action_array.shape[0])
        if self._dead is not None:
            return RawOutput(n=n, error=self._dead_error())
        buffers, total = self._encode_call(state, action_array, next_state, n, reset, check_mutation, integer_action)
        deadline = time.monotonic() + self.limits.call_timeout_s
        self.calls += 1
        try:
            self._send(buffers, total, deadline)
            head, payload = self._reader.read_raw(deadline)
        except _protocol.FrameTimeout:
            self._fail(CallError(
                "timeout",
                f"compute_reward did not return within {self.limits.call_timeout_s:g} s on a batch of {n} "
                "states (an endless loop, a sleep, or far too slow); the worker was killed",
            ))
            return RawOutput(n=n, error=self._dead, roundtrip_s=time.perf_counter() - started)
        except (EOFError, BrokenPipeError):
            self._fail(self._death())
            return RawOutput(n=n, error=self._dead, roundtrip_s=time.perf_counter() - started)
        except _protocol.ProtocolError as err:
            self._fail(CallError("protocol", f"the worker's answer broke the protocol: {err}; it was killed"))
            return RawOutput(n=n, error=self._dead, roundtrip_s=time.perf_counter() - started)
        try:
            output = self._decode_fast(head, payload, n)
            if output is None:
                output = self._decode_result(_protocol.parse_header(head), payload, n, head)
        except (_protocol.ProtocolError, KeyError, TypeError, ValueError, IndexError) as err:
            self._fail(CallError("protocol", f"the worker's answer broke the protocol: {err}; it was killed"))
            return RawOutput(n=n, error=self._dead, roundtrip_s=time.perf_counter() - started)
        roundtrip = time.perf_counter() - started
        return _with_roundtrip(output, roundtrip)

    def _encode_call(self, state, action, next_state, n, reset, check_mutation,
                     integer_action: bool = False) -> tuple[list, int]:
        """The frames of one call as buffers (bytes and arrays) for one writev, and their total size."""
        names = tuple(state)
        state_arrays = [np.ascontiguousarray(state[k], dtype=np.float64) for k in names]
        try:
            next_arrays = [np.ascontiguousarray(next_state[k], dtype=np.float64) for k in names]
        except KeyError as err:
            raise ValueError(f"next_state lacks field {err}") from None
        shapes = (names, tuple([a.shape for a in state_arrays]), tuple([b.shape for b in next_arrays]), action.shape,
                  integer_action)
        buffers: list = []
        if shapes != self._shapes:
            self._check_shapes(names, state_arrays, next_arrays, next_state, n)
            self._shapes = shapes
            key = (names, tuple(a.shape[1:] for a in state_arrays), action.shape[1:], integer_action)
            if key != self._layout_key:
                self._layout_id += 1
                self._layout_key = key
                self._header_cache.clear()
                layout = {"op": "layout", "id": self._layout_id, "names": list(names),
                          "shapes": [list(s) for s in key[1]], "action": list(key[2])}
                if integer_action:
                    layout["integer_action"] = True
                buffers.append(_protocol.encode(layout))
        if reset is None:
            cache_key = (n, check_mutation)
            head = self._header_cache.get(cache_key)
            if head is None:
                head = json.dumps({"op": "call", "layout": self._layout_id, "n": n, "mutation": check_mutation}).encode()
                self._header_cache[cache_key] = head
        else:
            head = json.dumps({"op": "call", "layout": self._layout_id, "n": n, "mutation": check_mutation,
                               "reset": _reset_list(reset)}).encode()
        payload_len = 8 * (action.size + 2 * sum([a.size for a in state_arrays]))
        buffers.append(_protocol.PREFIX.pack(len(head), payload_len) + head)
        total = payload_len + sum([len(b) for b in buffers])
        buffers += state_arrays
        buffers.append(action)
        buffers += next_arrays
        return buffers, total

    def _check_shapes(self, names, state_arrays, next_arrays, next_state, n: int) -> None:
        if len(next_state) != len(names):
            raise ValueError("state and next_state must have the same fields")
        missing = [k for k in self.field_names or () if k not in names]
        if missing:
            raise ValueError(f"the state lacks the fields {', '.join(missing)}")
        for name, a, b in zip(names, state_arrays, next_arrays):
            if a.ndim == 0 or a.shape[0] != n or b.shape != a.shape:
                raise ValueError(
                    f"field '{name}' has shape {a.shape} / {b.shape}; every field needs the batch size {n} first"
                )

    def _send(self, buffers: list, total: int, deadline: float) -> None:
        """One writev in the common case; a full pipe or a huge layout falls back to a write loop."""
        written = 0
        if len(buffers) <= 512:
            try:
                written = os.writev(self._req_fd, buffers)
            except BlockingIOError:
                written = 0
        if written < total:
            frame = b"".join([memoryview(b).cast("B") for b in buffers])
            _protocol.write_all(self._req_fd, frame[written:], deadline)

    # ---- decoding untrusted answers -------------------------------------------------------------

    def _decode_fast(self, head: bytes, payload: bytearray, n: int) -> RawOutput | None:
        """A clean answer whose header differs from an already validated one only in 'elapsed'."""
        plan = self._fast_plan
        if plan is None or not head.startswith(plan[0]):
            return None
        prefix, reward_index, term_plan, specs, payload_len, all_float64 = plan
        tail = head[len(prefix):]
        if len(payload) != payload_len or not _ELAPSED_TAIL.fullmatch(tail):
            return None
        compute_s = float(tail[:-1])
        arrays = [
            np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(shape)
            for dtype, shape, offset, count in specs
        ]
        all_finite = bool(np.isfinite(np.frombuffer(payload, dtype=np.float64)).all()) if all_float64 else None
        return RawOutput(
            n=n,
            reward=arrays[reward_index],
            terms={name: arrays[index] for name, index in term_plan},
            compute_s=compute_s if math.isfinite(compute_s) and compute_s >= 0 else None,
            all_finite=all_finite,
        )

    def _decode_result(self, header: dict, payload: bytearray, n: int, head: bytes = b"") -> RawOutput:
        if header.get("op") != "result":
            raise _protocol.ProtocolError("unexpected frame")
        compute_s = header.get("elapsed")
        compute_s = float(compute_s) if isinstance(compute_s, (int, float)) and math.isfinite(compute_s) and compute_s >= 0 else None
        if header.get("ok") is not True:
            return RawOutput(n=n, error=self._error_from(header.get("error")), compute_s=compute_s)
        specs = _protocol.array_specs(header, len(payload), self._max_elements)
        arrays = [
            np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(shape)
            for dtype, shape, offset, count in specs
        ]
        used: set[int] = set()

        def take(index: object) -> np.ndarray | None:
            if index is None:
                return None
            if type(index) is not int or not 0 <= index < len(arrays) or index in used:
                raise _protocol.ProtocolError("bad array reference")
            used.add(index)
            return arrays[index]

        returned = self._problem(header.get("returned"))
        reward = take(header.get("reward"))
        terms: dict[str, np.ndarray] = {}
        for entry in header.get("terms") or ():
            name, index = entry
            if type(name) is not str or not 0 < len(name) <= 64 or not name.isprintable() or name in terms:
                raise _protocol.ProtocolError("bad term name")
            terms[name] = take(index)  # type: ignore[assignment]
        term_problems = {}
        for entry in header.get("term_problems") or ():
            name, problem = entry
            term_problems[_clean_text(name, 64) or "?"] = self._problem(problem)
        mutated: tuple[str, ...] = ()
        if header.get("mutated"):
            known = self._mutation_labels()
            mutated = tuple(m for m in header["mutated"] if isinstance(m, str) and m in known)
        output = RawOutput(
            n=n,
            reward=reward,
            terms=terms,
            returned_problem=returned,
            reward_problem=self._problem(header.get("reward_problem")),
            terms_problem=self._problem(header.get("terms_problem")),
            term_problems=term_problems,
            mutated=mutated,
            compute_s=compute_s,
        )
        marker = b',"elapsed":'
        clean = (
            reward is not None and not term_problems and not mutated and output.returned_problem is None
            and output.reward_problem is None and output.terms_problem is None and "mutated" not in header
            and head.count(marker) == 1 and head.endswith(b"}") and set(header) == _CLEAN_KEYS
        )
        if clean:
            prefix = head[: head.index(marker) + len(marker)]
            term_plan = tuple((name, next(i for i, a in enumerate(arrays) if a is array)) for name, array in terms.items())
            reward_index = next(i for i, a in enumerate(arrays) if a is reward)
            all_float64 = all(dtype == np.float64 for dtype, _shape, _offset, _count in specs)
            self._fast_plan = (prefix, reward_index, term_plan, specs, len(payload), all_float64)
        return output

    def _mutation_labels(self) -> set[str]:
        names = self._layout_key[0] if self._layout_key else ()
        return {f"state.{k}" for k in names} | {f"next_state.{k}" for k in names} | {"action"}

    @staticmethod
    def _problem(raw: object) -> OutputProblem | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise _protocol.ProtocolError("bad problem description")
        code = raw.get("code")
        kind = _clean_type(raw.get("type"))
        if code == "not_a_pair":
            length = raw.get("length")
            what = f"a {kind} of {length} items" if type(length) is int else f"a value of type '{kind}'"
            return OutputProblem("not_a_pair", what)
        if code == "none":
            return OutputProblem("none", "None")
        if code == "not_array_like":
            return OutputProblem("not_array_like", f"a value of type '{kind}' that numpy cannot turn into an array")
        if code == "non_numeric":
            return OutputProblem("non_numeric", f"an array of dtype '{_clean_text(raw.get('dtype'), 60)}'")
        if code == "too_large":
            shape = raw.get("shape")
            shape_text = tuple(d for d in shape if type(d) is int) if isinstance(shape, list) else "?"
            return OutputProblem("too_large", f"an array of shape {shape_text}")
        if code == "not_a_dict":
            return OutputProblem("not_a_dict", f"a value of type '{kind}'")
        if code == "too_many":
            count = raw.get("count")
            return OutputProblem("too_many", f"{count if type(count) is int else 'too many'} terms")
        if code == "bad_name":
            return OutputProblem("bad_name", f"a key of type '{kind}'")
        raise _protocol.ProtocolError("unknown problem code")

    @staticmethod
    def _error_from(raw: object, default_kind: str = "exception") -> CallError:
        if not isinstance(raw, dict):
            return CallError("protocol", "the worker reported an error it could not describe")
        kind = raw.get("kind")
        kind = kind if kind in ("exception", "memory", "load") else default_kind
        line = raw.get("line")
        return CallError(
            kind,  # type: ignore[arg-type]
            _clean_text(raw.get("message")),
            exc_type=_clean_type(raw.get("type")),
            line=line if type(line) is int and line > 0 else None,
        )

    # ---- death ----------------------------------------------------------------------------------

    def _exit_description(self) -> str:
        process = self._resources.process
        if process is None:
            return "not started"
        code = process.returncode
        if code is None:
            return "still running"
        if code < 0:
            return f"killed by {_signal_name(-code)}"
        if self.isolation.level == "bwrap" and code > 128:
            return f"killed by {_signal_name(code - 128)}"  # bubblewrap reports a signal as 128 + number
        return f"exit status {code}"

    def _death(self) -> CallError:
        self._resources.wait_exit(timeout=2.0)
        self._resources.kill()
        forbidden = _forbidden_call(self._stderr_tail())
        if forbidden is not None:
            return CallError("forbidden", f"the code made a forbidden system call: {forbidden}; the worker was "
                             "stopped (reward code may only compute with numpy and math)")
        status = self._exit_description()
        if "SIGSYS" in status:
            return CallError("forbidden", "the code made a forbidden system call; the kernel stopped the worker "
                             "before it could name the call (creating a thread or a process does this)")
        hint = ""
        if any(name in status for name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE")):
            hint = " (a crash in native code, such as reading outside an array with stride tricks or ctypes)"
        elif "SIGKILL" in status or "SIGXCPU" in status:
            hint = f" (the CPU-time limit of {self.limits.cpu_s:g} s, or the system's memory killer)"
        elif status.startswith("exit status"):
            hint = " (the candidate ended the worker process)"
        return CallError("crashed", f"the worker died during the call: {status}{hint}")

    def _stderr_tail(self) -> bytes:
        """What the worker wrote to stderr, up to 4 KiB (its start-up error, or a forbidden call's report)."""
        process = self._resources.process
        if process is None or process.stderr is None:
            return b""
        try:
            os.set_blocking(process.stderr.fileno(), False)
            return process.stderr.read(4096) or b""
        except (OSError, ValueError):
            return b""

    def _dead_error(self) -> CallError:
        assert self._dead is not None
        if self._dead.kind == "closed":
            return self._dead
        return CallError(self._dead.kind, f"the worker stopped earlier: {self._dead.message}",
                         self._dead.exc_type, self._dead.line)


_cgroup_support: tuple[int, CgroupSupport] | None = None


def cgroup_support() -> CgroupSupport:
    """Whether workers of this process get cgroup quotas (detected once per process)."""
    global _cgroup_support
    if _cgroup_support is None or _cgroup_support[0] != os.getpid():
        _cgroup_support = (os.getpid(), _detect_cgroups())
    return _cgroup_support[1]


def _forbidden_call(stderr: bytes) -> str | None:
    """The system call a worker was stopped for, from the report its SIGSYS handler wrote (see _seccomp)."""
    for line in reversed(stderr.decode("ascii", "replace").splitlines()):
        if line.startswith(_seccomp.REPORT_PREFIX):
            number = line[len(_seccomp.REPORT_PREFIX):].strip()
            if number.lstrip("-").isdigit() and len(number) < 6:
                return f"{_seccomp.syscall_name(int(number))} (number {number})"
    return None


def _spin_seconds(spin_us: float) -> float:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(0.0, spin_us) * 1e-6 if cpus > 1 else 0.0


def _reset_list(reset: object) -> list[int] | str:
    if isinstance(reset, str):
        if reset != "all":
            raise ValueError("reset must be 'all', a boolean mask or a list of indices")
        return "all"
    array = np.asarray(reset)
    if array.dtype == np.bool_:
        return [int(i) for i in np.flatnonzero(array)]
    return [int(i) for i in array.ravel()]


def _with_roundtrip(output: RawOutput, roundtrip: float) -> RawOutput:
    object.__setattr__(output, "roundtrip_s", roundtrip)  # a fresh, unshared frozen instance
    return output
