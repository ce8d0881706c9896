"""Which isolation candidate code runs under, and the command line that starts a worker.

Levels, strongest first:

- 'bwrap': bubblewrap with every namespace unshared (no network, own pid space), all capabilities
  dropped, uid 65534, a read-only view of only the system libraries, the Python install and the
  sandbox code, a small tmpfs /tmp, a scratch folder, and an emptied environment. Inside it the
  worker sets resource limits and (on x86_64) installs a seccomp filter (see _seccomp.py) before
  it loads the candidate.
- 'rlimits': no bubblewrap (missing, broken, or disabled with REWARD_CODER_NO_BWRAP=1). The worker
  is a fresh process with an emptied environment, resource limits, root dropped to uid 65534 when
  we run as root, and the seccomp filter, which refuses sockets, new processes and file writes. It
  can still *read* whatever that uid can read, so this is not a sandbox: runs refuse to start in
  this state unless the user passes --allow-unsandboxed (see require_isolation).
- 'none': workers cannot even be given resource limits (no POSIX `resource` module) or cannot
  start at all.

Probing runs bwrap once per process (cached): the binary can exist and still fail, e.g. where user
namespaces are disabled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reward_coder.errors import IsolationError
from reward_coder.sandbox import _seccomp

IsolationLevel = Literal["bwrap", "rlimits", "none"]

NO_BWRAP_ENV = "REWARD_CODER_NO_BWRAP"
"""Set to 1 to act as if bubblewrap were unavailable (tests of the fallback; debugging)."""

SANDBOX_UID = 65534
WORKER_DIR_IN_SANDBOX = "/opt/reward_coder_worker"
TMPFS_BYTES = 16 << 20
"""Size of the sandbox's /tmp: tmpfs pages are host memory that RLIMIT_AS does not count."""

_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf")
_PROBE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class IsolationStatus:
    """The isolation in force for candidate code, and why."""

    level: IsolationLevel
    detail: str
    """One line a person can act on: what is in force, or why bubblewrap could not be used."""
    bwrap_path: str | None = None
    seccomp: bool = False
    """Whether workers install the seccomp filter (no fork/exec, sockets or file writes)."""

    @property
    def is_sandbox(self) -> bool:
        """Only bubblewrap gives filesystem and network isolation."""
        return self.level == "bwrap"

    def describe(self) -> str:
        """What `reward-coder doctor` prints."""
        return f"isolation: {self.level} - {self.detail}"


def worker_script() -> Path:
    return Path(__file__).with_name("_worker_main.py")


def worker_environment(home: str) -> dict[str, str]:
    """The whole environment of a worker: no inherited variables (API keys stay outside)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
    }


def _python_paths() -> list[str]:
    """Directories the worker's Python needs, read-only: the install, the venv, numpy's site dir."""
    import numpy

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(str(Path(numpy.__file__).resolve().parent.parent))
    executable = Path(sys.executable)
    paths.add(str(executable.parent))
    paths.add(str(executable.resolve().parent))
    resolved = set()
    for path in paths:
        for candidate in (os.path.abspath(path), os.path.realpath(path)):
            if os.path.isdir(candidate) and not candidate.startswith(tuple(d + "/" for d in _SYSTEM_DIRS)):
                resolved.add(candidate)
    # bind parents before children; drop children of an already-bound parent
    ordered: list[str] = []
    for path in sorted(resolved, key=len):
        if not any(path == p or path.startswith(p + "/") for p in ordered):
            ordered.append(path)
    return ordered


def bwrap_command(bwrap: str, scratch: str, python_args: list[str], info_fd: int | None = None) -> list[str]:
    """The bubblewrap command line that runs `python_args` (after the interpreter) in the sandbox.

    With `info_fd`, bubblewrap writes the host pid of the sandbox's init there (JSON 'child-pid'): when
    that process is gone, so is everything in the sandbox's pid namespace.
    """
    command = [
        bwrap,
        *(["--info-fd", str(info_fd)] if info_fd is not None else []),
        "--unshare-all", "--unshare-user", "--disable-userns",
        "--die-with-parent", "--new-session",
        "--cap-drop", "ALL",
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--hostname", "sandbox",
    ]
    for directory in _SYSTEM_DIRS:
        if os.path.islink(directory):
            command += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            command += ["--ro-bind", directory, directory]
    for file in _SYSTEM_FILES:
        command += ["--ro-bind-try", file, file]
    # /tmp first: binds made after it land on top of the tmpfs, so a Python install, venv or checkout
    # that lives under /tmp (CI clones often do) stays visible instead of being hidden by it.
    command += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp"]
    for path in _python_paths():
        command += ["--ro-bind", path, path]
    command += ["--ro-bind", str(worker_script().parent), WORKER_DIR_IN_SANDBOX]
    command += ["--bind", scratch, scratch, "--remount-ro", "/", "--chdir", scratch, "--clearenv"]
    for key, value in worker_environment(scratch).items():
        command += ["--setenv", key, value]
    command += ["--", sys.executable, *python_args]
    return command


def worker_python_args(level: IsolationLevel, extra: list[str]) -> list[str]:
    """Interpreter flags and script path: -I (ignore PYTHON* variables, user site, cwd), -B (no .pyc)."""
    script = f"{WORKER_DIR_IN_SANDBOX}/_worker_main.py" if level == "bwrap" else str(worker_script())
    return ["-I", "-B", script, *extra]


def _probe_bwrap(bwrap: str) -> str | None:
    """Run `import numpy` in the exact sandbox workers get. None if it works, else why not."""
    from reward_coder.sandbox.scratch import PROBE_PREFIX, make_scratch

    scratch = make_scratch(PROBE_PREFIX)
    try:
        command = bwrap_command(bwrap, str(scratch), ["-I", "-B", "-c", "import numpy"])
        done = subprocess.run(
            command, capture_output=True, timeout=_PROBE_TIMEOUT_S, env={"PATH": "/usr/bin:/bin"}, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{type(err).__name__}: {err}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return message[-1][:200] if message else f"exit status {done.returncode}"
    return None


_lock = threading.Lock()
_cached: IsolationStatus | None = None


def _rlimits_status(reason: str) -> IsolationStatus:
    try:
        import resource  # noqa: F401
    except ImportError:
        return IsolationStatus("none", f"{reason}; no POSIX resource limits on this platform either")
    parts = ["fresh process with an emptied environment and CPU/memory/file/process limits"]
    if os.geteuid() == 0:
        parts.append(f"root dropped to uid {SANDBOX_UID}")
    seccomp = _seccomp.supported()
    if seccomp:
        parts.append("seccomp filter (no sockets, new processes or file writes)")
    else:
        parts.append("no seccomp filter on this architecture")
    return IsolationStatus(
        "rlimits",
        f"{reason}; workers run as a {', '.join(parts)}, but can read files: not a sandbox",
        seccomp=seccomp,
    )


def detect_isolation(refresh: bool = False) -> IsolationStatus:
    """The strongest isolation that works here (probed once per process unless `refresh`)."""
    global _cached
    if os.environ.get(NO_BWRAP_ENV, "") not in ("", "0"):
        return _rlimits_status(f"bubblewrap disabled by {NO_BWRAP_ENV}")
    with _lock:
        if _cached is not None and not refresh:
            return _cached
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            status = _rlimits_status("bubblewrap (bwrap) is not installed")
        elif not sys.platform.startswith("linux"):
            status = _rlimits_status("bubblewrap needs Linux")
        else:
            problem = _probe_bwrap(bwrap)
            if problem is None:
                seccomp = _seccomp.supported()
                filter_text = "seccomp filter, " if seccomp else "no seccomp filter on this architecture, "
                status = IsolationStatus(
                    "bwrap",
                    f"bubblewrap ({bwrap}): no network, own pid/ipc/user namespaces, capabilities dropped, "
                    f"uid {SANDBOX_UID}, read-only filesystem but a scratch folder, emptied environment, "
                    f"{filter_text}resource limits",
                    bwrap_path=bwrap,
                    seccomp=seccomp,
                )
            else:
                status = _rlimits_status(f"bubblewrap ({bwrap}) failed to start a sandbox: {problem}")
        _cached = status
        return status


def require_isolation(allow_unsandboxed: bool, status: IsolationStatus | None = None) -> IsolationStatus:
    """The isolation to use for a run; raises IsolationError without a sandbox unless allowed."""
    status = status or detect_isolation()
    if status.is_sandbox or allow_unsandboxed:
        return status
    raise IsolationError(
        f"no sandbox for generated code ({status.detail}). Install bubblewrap "
        "(`apt-get install bubblewrap`) or pass --allow-unsandboxed to run with resource limits only."
    )
