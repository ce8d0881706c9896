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
import time
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
        """Only bubblewrap gives filesystem and network isolation, and only with the syscall filter is it
        enough: without it (an architecture other than x86_64 and aarch64) runs refuse to start unless
        --allow-unsandboxed, as in the rlimits-only fallback."""
        return self.level == "bwrap" and self.seccomp

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


@dataclass(frozen=True)
class RootNamespaces:
    """Two user namespaces that let bubblewrap, started by root, run the worker as host uid 65534.

    bubblewrap started by root maps the sandbox's uid onto the caller's, i.e. onto host root, where the
    kernel does not enforce RLIMIT_NPROC and files the worker might reach are owned by it. Instead:
    `setup` maps 0 -> 0 and 65534 -> 65534, so bubblewrap mounts as root there (it can still read a
    Python install under /root or a checkout under a 0700 temporary folder); `sandbox`, a child of
    `setup`, maps its uid and gid 0 onto host 65534 only, and bubblewrap switches into it last
    (--userns2). The worker then makes itself uid/gid 0 in `sandbox` - host 65534 - and drops the two
    capabilities that took (see _worker_main._become_sandbox_user). Both are made once per process with
    util-linux's `unshare` and `nsenter`, and live as long as their file descriptors.
    """

    setup_fd: int
    sandbox_fd: int

    @property
    def fds(self) -> list[int]:
        return [self.setup_fd, self.sandbox_fd]


_namespaces_lock = threading.Lock()
_namespaces: tuple[int, RootNamespaces | None, str] | None = None


def root_namespaces() -> tuple[RootNamespaces | None, str]:
    """The user namespaces for a root-started sandbox (None when not root or when they cannot be made), and
    why not. Made once per process."""
    global _namespaces
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return None, "not running as root"
    with _namespaces_lock:
        if _namespaces is not None and _namespaces[0] == os.getpid():
            return _namespaces[1], _namespaces[2]
        made, why = None, ""
        for _attempt in range(3):  # a helper that dies early (a loaded machine) is worth another try
            try:
                made, why = _make_root_namespaces(), ""
                break
            except (OSError, subprocess.SubprocessError, RuntimeError) as err:
                why = str(err)[:200]
        _namespaces = (os.getpid(), made, why)
        return made, why


def _wait_for_own_namespace(pid: int, *others: str) -> str:
    """The user namespace of helper `pid` once it is none of `others` (it starts in ours, and the second
    helper passes through the first one's on its way to its own)."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            link = os.readlink(f"/proc/{pid}/ns/user")
        except OSError:
            link = others[0]
        if link not in others:
            return link
        time.sleep(0.005)
    raise RuntimeError("a helper did not enter its user namespace within 5 s")


def _write_maps(pid: int, uid_map: str, via: int | None = None) -> None:
    """Write uid_map, setgroups=deny and gid_map of `pid`, from the host or from inside namespace holder `via`."""
    base = f"/proc/{pid}"
    if via is None:
        for name, text in (("uid_map", uid_map), ("setgroups", "deny"), ("gid_map", uid_map)):
            with open(f"{base}/{name}", "w") as handle:
                handle.write(text)
        return
    script = (f"printf '{uid_map}' > {base}/uid_map && printf deny > {base}/setgroups "
              f"&& printf '{uid_map}' > {base}/gid_map")
    subprocess.run(["nsenter", f"--user=/proc/{via}/ns/user", "--preserve-credentials", "--", "/bin/sh", "-c", script],
                   check=True, capture_output=True, timeout=10, env={"PATH": "/usr/bin:/bin"})


def _make_root_namespaces() -> RootNamespaces:
    for tool in ("unshare", "nsenter"):
        if shutil.which(tool, path="/usr/bin:/bin") is None:
            raise RuntimeError(f"util-linux's {tool} is not installed")
    env = {"PATH": "/usr/bin:/bin"}
    own = os.readlink("/proc/self/ns/user")
    helpers: list[subprocess.Popen] = []
    try:
        setup = subprocess.Popen(["unshare", "--user", "--", "cat"], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        helpers.append(setup)
        setup_ns = _wait_for_own_namespace(setup.pid, own)
        _write_maps(setup.pid, f"0 0 1\n{SANDBOX_UID} {SANDBOX_UID} 1\n")
        sandbox = subprocess.Popen(
            ["nsenter", f"--user=/proc/{setup.pid}/ns/user", "--preserve-credentials", "--", "unshare", "--user",
             "--", "cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        helpers.append(sandbox)
        _wait_for_own_namespace(sandbox.pid, own, setup_ns)
        _write_maps(sandbox.pid, f"0 {SANDBOX_UID} 1\n", via=setup.pid)
        setup_fd = os.open(f"/proc/{setup.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        sandbox_fd = os.open(f"/proc/{sandbox.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        return RootNamespaces(setup_fd, sandbox_fd)
    finally:
        for helper in helpers:
            if helper.stdin is not None:
                helper.stdin.close()
            try:
                helper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                helper.kill()
                helper.wait()


def bwrap_command(bwrap: str, scratch: str, python_args: list[str], info_fd: int | None = None,
                  namespaces: RootNamespaces | None = None) -> list[str]:
    """The bubblewrap command line that runs `python_args` (after the interpreter) in the sandbox.

    With `info_fd`, bubblewrap writes the host pid of the sandbox's init there (JSON 'child-pid'): when
    that process is gone, so is everything in the sandbox's pid namespace. With `namespaces` (we run as
    root), the worker ends up as host uid 65534 instead of host root (see RootNamespaces); the caller
    passes their fds to bubblewrap.
    """
    if namespaces is None:
        identity = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                    "--cap-drop", "ALL", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    else:
        identity = ["--userns", str(namespaces.setup_fd), "--userns2", str(namespaces.sandbox_fd),
                    "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                    "--die-with-parent", "--new-session",
                    "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--uid", "0", "--gid", "0"]
    command = [
        bwrap,
        *(["--info-fd", str(info_fd)] if info_fd is not None else []),
        *identity,
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
    # No /proc: the worker needs none, and a procfs, even of its own pid namespace, shows host-wide
    # memory, load, kernel settings and the host paths of every mount.
    command += ["--dev", "/dev", "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp"]
    binds = [*_python_paths(), WORKER_DIR_IN_SANDBOX, scratch]
    if namespaces is not None:
        # folders bubblewrap makes for a bind's parents are 0700 root; the worker (host uid 65534) must
        # pass through them
        for parent in _parents_to_make(binds):
            command += ["--perms", "0755", "--dir", parent]
    for path in _python_paths():
        command += ["--ro-bind", path, path]
    command += ["--ro-bind", str(worker_script().parent), WORKER_DIR_IN_SANDBOX]
    command += ["--bind", scratch, scratch, "--remount-ro", "/", "--chdir", scratch, "--clearenv"]
    for key, value in worker_environment(scratch).items():
        command += ["--setenv", key, value]
    command += ["--", sys.executable, *python_args]
    return command


def _parents_to_make(paths: list[str]) -> list[str]:
    """Ancestors of `paths` that bubblewrap would create (not /, the system folders, /tmp or a bound path)."""
    bound = set(paths)
    keep = {"/", "/tmp", "/dev", *_SYSTEM_DIRS}
    parents: set[str] = set()
    for path in paths:
        parent = os.path.dirname(path.rstrip("/"))
        while parent not in keep and parent not in bound and parent:
            parents.add(parent)
            parent = os.path.dirname(parent)
    return sorted(parents, key=lambda p: (p.count("/"), p))


def worker_python_args(level: IsolationLevel, extra: list[str]) -> list[str]:
    """Interpreter flags and script path: -I (ignore PYTHON* variables, user site, cwd), -B (no .pyc)."""
    script = f"{WORKER_DIR_IN_SANDBOX}/_worker_main.py" if level == "bwrap" else str(worker_script())
    return ["-I", "-B", script, *extra]


def _probe_bwrap(bwrap: str) -> str | None:
    """Run `import numpy` in the exact sandbox workers get. None if it works, else why not."""
    from reward_coder.sandbox.scratch import PROBE_PREFIX, make_scratch

    scratch = make_scratch(PROBE_PREFIX)
    namespaces, _why = root_namespaces()
    try:
        command = bwrap_command(bwrap, str(scratch), ["-I", "-B", "-c", "import numpy"], namespaces=namespaces)
        done = subprocess.run(
            command, capture_output=True, timeout=_PROBE_TIMEOUT_S, env={"PATH": "/usr/bin:/bin"}, check=False,
            pass_fds=namespaces.fds if namespaces else (),
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
                filter_text = ("default-deny seccomp filter, " if seccomp else
                               f"NO seccomp filter for {_seccomp.machine()} (only x86_64 and aarch64 have one), ")
                namespaces, why = root_namespaces()
                if os.geteuid() != 0:
                    uid_text = f"uid {SANDBOX_UID} inside, your own uid outside"
                elif namespaces is not None:
                    uid_text = f"host uid {SANDBOX_UID} (not root)"
                else:
                    uid_text = f"host ROOT (uid {SANDBOX_UID} inside maps to root: {why})"
                status = IsolationStatus(
                    "bwrap",
                    f"bubblewrap ({bwrap}): no network, own pid/ipc/user namespaces, capabilities dropped, "
                    f"{uid_text}, read-only filesystem but a scratch folder, no /proc, emptied environment, "
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
