"""The seccomp filter the worker installs on itself before it loads candidate code: default deny.

After start-up a reward worker only reads requests from a pipe, computes with numpy and writes answers
to another pipe, so the filter lists what that takes (ALLOWED, each with its reason) and treats every
other system call as a violation: the worker is stopped at once and the parent learns which call it was.
No sockets, no new processes or threads, no exec, no xattr, no memfd, no ptrace, no mount family, no
signals to others, no keyrings, no bpf, no io_uring, no file writes (open/openat only without write,
create or truncate flags), resource limits only read.

How a violation ends: with `trap=True` (the worker installed `install_reporter` first) the call is not
made and the kernel sends SIGSYS, whose handler writes `forbidden-syscall <nr>` to the report fd (the
parent's stderr pipe) and exits with status 128+SIGSYS; without it, the kernel kills the process outright
(SECCOMP_RET_KILL_PROCESS; the parent still sees SIGSYS, without the call's name). A candidate cannot
catch or ignore the signal: a blocked or ignored SIGSYS is reset to the default (kill) by the kernel,
and installing any handler for SIGSYS is itself a violation.

Both 64-bit Linux architectures are covered, x86_64 and aarch64, with their own syscall numbers; the
filter first checks the architecture (and refuses the x32 ABI), so a syscall made through a foreign
ABI is a violation too. On anything else `install()` says why it did nothing, and isolation.py refuses
to call that a sandbox.

Stdlib only: it runs inside the sandboxed worker.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import struct
import sys

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000

# linux/filter.h
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_TRAP = 0x00030000
_RET_KILL_PROCESS = 0x80000000

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_PR_SET_PDEATHSIG = 1
_SECCOMP_MODE_FILTER = 2

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_OFF_NR = 0
_OFF_ARCH = 4

VIOLATION_EXIT = 128 + signal.SIGSYS
"""Exit status of a worker stopped for a forbidden call: what a shell shows for a death by SIGSYS."""
REPORT_PREFIX = "forbidden-syscall "


def _arg_low(i: int) -> int:
    return 16 + 8 * i  # low 32 bits of args[i] (both architectures are little-endian)


def _arg_high(i: int) -> int:
    return 16 + 8 * i + 4


_O_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000  # O_WRONLY | O_RDWR | O_CREAT | O_TRUNC
_TCGETS = 0x5401
_TIOCGWINSZ = 0x5413

ALLOWED: dict[str, str] = {
    # the request/answer pipes and the read-only files of the sandbox
    "read": "requests from the parent's pipe; module files",
    "readv": "as read (glibc may gather)",
    "pread64": "module files (zipimport, shared libraries)",
    "write": "answers to the parent's pipe",
    "writev": "answers: one frame of header and arrays in a single call",
    "close": "file descriptors of modules it read",
    "lseek": "reading module files",
    "fstat": "io.open and the import system",
    "newfstatat": "the import system; warnings' source lookup",
    "statx": "as newfstatat on newer glibc",
    "getdents64": "the import system lists package folders",
    "readlinkat": "resolving paths of modules",
    "faccessat": "the import system",
    "faccessat2": "as faccessat on newer glibc",
    "getcwd": "the import system's relative paths",
    "fcntl": "os.set_blocking and descriptor flags",
    "dup": "the worker points its standard streams at /dev/null",
    "dup2": "as dup (x86_64)",
    "dup3": "as dup (aarch64 has no dup2)",
    "select": "waiting for the next request with a deadline",
    "pselect6": "as select (aarch64; newer glibc)",
    "poll": "as select",
    "ppoll": "as poll (aarch64)",
    # memory
    "brk": "the C heap",
    "mmap": "numpy's large arrays; OpenBLAS buffers",
    "munmap": "freeing them",
    "mremap": "growing them",
    "mprotect": "glibc's malloc arenas",
    "madvise": "glibc and numpy return memory (hugepage hints)",
    "mbind": "OpenBLAS sets the memory policy of its buffers on first use",
    # signals to itself, time, identity, randomness
    "futex": "glibc's pthread_once and locks wake waiters even in one thread (scipy's C++ code, first use)",
    "rt_sigaction": "Python installs and restores handlers (SIGSYS excepted, see the filter)",
    "rt_sigprocmask": "Python and glibc mask signals around critical sections",
    "rt_sigreturn": "returning from a signal handler",
    "sigaltstack": "Python's fault handler stack",
    "restart_syscall": "an interrupted sleep or wait resumed by the kernel",
    "clock_gettime": "timing calls (usually the vDSO; the syscall is the fallback)",
    "clock_getres": "as clock_gettime",
    "gettimeofday": "as clock_gettime",
    "getrandom": "np.random.default_rng() without a seed draws OS entropy",
    "getpid": "the worker reports its pid",
    "getppid": "the worker checks that its parent lives",
    "gettid": "glibc and Python's thread state",
    "getuid": "the worker reports its uid",
    "geteuid": "as getuid",
    "getgid": "as getuid",
    "getegid": "as getuid",
    "sched_yield": "spin-waiting for the next request",
    "sched_getaffinity": "os.cpu_count and OpenBLAS ask how many cores there are",
    "exit": "ending the process",
    "exit_group": "ending the process",
    # with their arguments checked (see build_filter)
    "open": "only without write, create or truncate flags (x86_64)",
    "openat": "only without write, create or truncate flags",
    "ioctl": "only TCGETS and TIOCGWINSZ (io.open asks whether a descriptor is a terminal)",
    "prlimit64": "only reading a limit (getrlimit), never setting one",
}
"""Every system call the worker may make after the filter is installed, and why it needs it."""

_CHECKED = ("open", "openat", "ioctl", "prlimit64", "rt_sigaction")

# arch/x86/entry/syscalls/syscall_64.tbl
_X86_64 = {
    "read": 0, "write": 1, "open": 2, "close": 3, "fstat": 5, "poll": 7, "lseek": 8, "mmap": 9,
    "mprotect": 10, "munmap": 11, "brk": 12, "rt_sigaction": 13, "rt_sigprocmask": 14, "rt_sigreturn": 15,
    "ioctl": 16, "pread64": 17, "readv": 19, "writev": 20, "select": 23, "sched_yield": 24, "mremap": 25, "madvise": 28,
    "dup": 32, "dup2": 33, "getpid": 39, "exit": 60, "futex": 202, "fcntl": 72, "getcwd": 79, "gettimeofday": 96, "getuid": 102,
    "getgid": 104, "geteuid": 107, "getegid": 108, "getppid": 110, "sigaltstack": 131, "gettid": 186,
    "sched_getaffinity": 204, "getdents64": 217, "restart_syscall": 219, "clock_gettime": 228,
    "clock_getres": 229, "exit_group": 231, "mbind": 237, "newfstatat": 262, "readlinkat": 267,
    "openat": 257, "faccessat": 269, "pselect6": 270, "ppoll": 271, "dup3": 292, "prlimit64": 302, "getrandom": 318,
    "statx": 332, "faccessat2": 439,
    # not allowed; named so that a violation's report reads as a name
    "stat": 4, "lstat": 6, "alarm": 37, "getpriority": 140, "setpriority": 141, "pwrite64": 18, "access": 21, "pipe": 22, "shmget": 29, "nanosleep": 35, "socket": 41, "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45,
    "bind": 49, "listen": 50, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59,
    "kill": 62, "uname": 63, "flock": 73, "truncate": 76, "ftruncate": 77, "chdir": 80, "rename": 82,
    "mkdir": 83, "rmdir": 84, "creat": 85, "link": 86, "unlink": 87, "symlink": 88, "readlink": 89,
    "chmod": 90, "fchmod": 91, "chown": 92, "fchown": 93, "umask": 95, "ptrace": 101, "setuid": 105,
    "setgid": 106, "setpgid": 109, "setsid": 112, "setgroups": 116, "rt_sigqueueinfo": 129, "mknod": 133,
    "personality": 135, "prctl": 157, "arch_prctl": 158, "setrlimit": 160, "chroot": 161, "mount": 165,
    "umount2": 166, "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "getxattr": 191,
    "lgetxattr": 192, "fgetxattr": 193, "listxattr": 194, "removexattr": 197, "tkill": 200, "clock_nanosleep": 230,
    "modify_ldt": 154, "io_setup": 206, "set_tid_address": 218, "tgkill": 234, "keyctl": 250,
    "add_key": 248, "request_key": 249, "mkdirat": 258, "mknodat": 259, "fchownat": 260, "unlinkat": 263,
    "renameat": 264, "linkat": 265, "symlinkat": 266, "fchmodat": 268, "unshare": 272,
    "set_robust_list": 273, "splice": 275, "perf_event_open": 298, "rt_tgsigqueueinfo": 297,
    "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "renameat2": 316, "seccomp": 317,
    "memfd_create": 319, "bpf": 321, "execveat": 322, "userfaultfd": 323, "pkey_mprotect": 329, "rseq": 334,
    "pidfd_send_signal": 424, "io_uring_setup": 425, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "pidfd_open": 434, "clone3": 435, "openat2": 437, "pidfd_getfd": 438,
    "fchmodat2": 452, "mount_setattr": 442, "memfd_secret": 447, "pipe2": 293, "epoll_create1": 291,
    "eventfd2": 290,
}

# include/uapi/asm-generic/unistd.h (aarch64 has none of the legacy calls: no open, fork, select, poll)
_AARCH64 = {
    "getcwd": 17, "dup": 23, "dup3": 24, "fcntl": 25, "ioctl": 29, "faccessat": 48, "openat": 56,
    "close": 57, "getdents64": 61, "lseek": 62, "read": 63, "write": 64, "readv": 65, "writev": 66,
    "pread64": 67, "pselect6": 72, "ppoll": 73, "readlinkat": 78, "newfstatat": 79, "fstat": 80,
    "exit": 93, "exit_group": 94, "clock_gettime": 113, "clock_getres": 114, "sched_getaffinity": 123,
    "sched_yield": 124, "restart_syscall": 128, "sigaltstack": 132, "rt_sigaction": 134,
    "rt_sigprocmask": 135, "rt_sigreturn": 139, "gettimeofday": 169, "getpid": 172, "getppid": 173,
    "getuid": 174, "geteuid": 175, "getgid": 176, "getegid": 177, "gettid": 178, "brk": 214, "munmap": 215,
    "mremap": 216, "mmap": 222, "mprotect": 226, "madvise": 233, "mbind": 235, "prlimit64": 261,
    "getrandom": 278, "statx": 291, "faccessat2": 439, "futex": 98,
    # not allowed; named for reports
    "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "getxattr": 8, "removexattr": 14, "eventfd2": 19,
    "epoll_create1": 20, "mknodat": 33, "mkdirat": 34, "unlinkat": 35, "symlinkat": 36, "linkat": 37,
    "renameat": 38, "umount2": 39, "mount": 40, "truncate": 45, "ftruncate": 46, "chdir": 49,
    "chroot": 51, "fchmod": 52, "fchmodat": 53, "fchownat": 54, "fchown": 55, "pipe2": 59,
    "pwrite64": 68, "splice": 76, "personality": 92, "set_robust_list": 99, "clock_nanosleep": 115,
    "nanosleep": 101, "ptrace": 117, "kill": 129, "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138,
    "setpriority": 140, "getpriority": 141, "setgid": 144, "setuid": 146, "setgroups": 159, "uname": 160, "setrlimit": 164, "umask": 166,
    "prctl": 167, "socket": 198, "socketpair": 199, "bind": 200, "listen": 201, "accept": 202,
    "connect": 203, "sendto": 206, "recvfrom": 207, "keyctl": 219, "add_key": 217, "request_key": 218,
    "clone": 220, "execve": 221, "rt_tgsigqueueinfo": 240, "perf_event_open": 241, "setns": 268,
    "unshare": 97, "process_vm_readv": 270, "process_vm_writev": 271, "renameat2": 276, "seccomp": 277,
    "memfd_create": 279, "bpf": 280, "execveat": 281, "userfaultfd": 282, "pkey_mprotect": 288,
    "rseq": 293, "pidfd_send_signal": 424, "io_uring_setup": 425, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "pidfd_open": 434, "clone3": 435, "openat2": 437,
    "pidfd_getfd": 438, "mount_setattr": 442, "memfd_secret": 447, "fchmodat2": 452,
}

SYSCALLS = {"x86_64": _X86_64, "aarch64": _AARCH64}


def machine() -> str:
    name = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(name, name)


def supported() -> bool:
    """Whether this machine gets the filter (Linux on x86_64 or aarch64)."""
    return sys.platform.startswith("linux") and machine() in SYSCALLS


def syscall_name(number: int, arch: str | None = None) -> str:
    """The name of syscall `number` on `arch` (this machine's by default), or 'syscall N'."""
    table = SYSCALLS.get(arch or machine(), {})
    for name, value in table.items():
        if value == number:
            return name
    return f"syscall {number}"


def build_filter(arch: str, trap: bool = True) -> bytes:
    """The BPF program for `arch` as bytes of `struct sock_filter[]` (code u16, jt u8, jf u8, k u32)."""
    table = SYSCALLS[arch]
    violation = _RET_TRAP if trap else _RET_KILL_PROCESS
    prog: list[tuple[int, object, object, int]] = []

    def emit(code: int, k: int, jt: object = 0, jf: object = 0) -> None:
        prog.append((code, jt, jf, k))

    emit(_LD_W_ABS, _OFF_ARCH)
    emit(_JEQ_K, AUDIT_ARCH[arch], 0, "violation")  # a foreign ABI (int 0x80, compat) gets nothing
    emit(_LD_W_ABS, _OFF_NR)
    if arch == "x86_64":
        emit(_JGE_K, X32_SYSCALL_BIT, "violation", 0)  # the x32 ABI, likewise
    plain = sorted({table[name] for name in ALLOWED if name in table and name not in _CHECKED})
    for nr in plain:
        emit(_JEQ_K, nr, "allow", 0)
    for name in _CHECKED:
        if name in table:
            emit(_JEQ_K, table[name], name, 0)
    emit(_RET_K, violation)
    labels: dict[str, int] = {}
    # open(path, flags, mode) / openat(dirfd, path, flags, mode): reading only
    for name, flags_arg in (("open", 1), ("openat", 2)):
        labels[name] = len(prog)
        emit(_LD_W_ABS, _arg_low(flags_arg))
        emit(_JSET_K, _O_WRITE_FLAGS, "violation", "allow")
    labels["ioctl"] = len(prog)  # ioctl(fd, request, ...): terminal queries only
    emit(_LD_W_ABS, _arg_low(1))
    emit(_JEQ_K, _TCGETS, "allow", 0)
    emit(_JEQ_K, _TIOCGWINSZ, "allow", "violation")
    labels["prlimit64"] = len(prog)  # prlimit64(pid, resource, new, old): allowed only to read
    emit(_LD_W_ABS, _arg_low(2))
    emit(_JEQ_K, 0, 0, "violation")
    emit(_LD_W_ABS, _arg_high(2))
    emit(_JEQ_K, 0, "allow", "violation")
    labels["rt_sigaction"] = len(prog)  # rt_sigaction(signum, act, old, size): never a SIGSYS handler
    emit(_LD_W_ABS, _arg_low(0))
    emit(_JEQ_K, signal.SIGSYS, 0, "allow")
    emit(_LD_W_ABS, _arg_low(1))  # reading the SIGSYS disposition (act == NULL) is harmless
    emit(_JEQ_K, 0, 0, "violation")
    emit(_LD_W_ABS, _arg_high(1))
    emit(_JEQ_K, 0, "allow", "violation")
    labels["allow"] = len(prog)
    emit(_RET_K, _RET_ALLOW)
    labels["violation"] = len(prog)
    emit(_RET_K, violation)

    out = bytearray()
    for index, (code, jt, jf, k) in enumerate(prog):
        offsets = []
        for target in (jt, jf):
            if isinstance(target, str):
                delta = labels[target] - index - 1
                if not 0 <= delta <= 255:
                    raise AssertionError("seccomp jump out of range")
                offsets.append(delta)
            else:
                offsets.append(int(target))
        out += struct.pack("=HBBI", code, offsets[0], offsets[1], k)
    return bytes(out)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class _SigAction(ctypes.Structure):
    """glibc's struct sigaction on 64-bit Linux (x86_64 and aarch64 share it)."""

    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16), ("flags", ctypes.c_int),
                ("restorer", ctypes.c_void_p)]


_SA_SIGINFO = 0x4
_SA_NODEFER = 0x40000000
_SIGINFO_SYSCALL_OFFSET = 24
"""siginfo_t for SIGSYS: si_signo, si_errno, si_code (3 ints, padded to 16), void *_call_addr, int _syscall."""
_HANDLER_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_kept: list[object] = []  # the handler and its fd must outlive install_reporter


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def install_reporter(report_fd: int) -> bool:
    """Install the SIGSYS handler that names a trapped call on `report_fd`, then ends the worker.

    The handler runs on the thread that made the forbidden call, which is not inside malloc (every call
    malloc makes is allowed), so the little Python it runs is safe there.
    """
    if not supported():
        return False

    def on_sigsys(_signum: int, info: int, _context: int) -> None:
        try:
            number = ctypes.c_int.from_address(info + _SIGINFO_SYSCALL_OFFSET).value if info else -1
            os.write(report_fd, f"\n{REPORT_PREFIX}{number}\n".encode("ascii"))
        finally:
            os._exit(VIOLATION_EXIT)

    handler = _HANDLER_TYPE(on_sigsys)
    action = _SigAction()
    action.handler = ctypes.cast(handler, ctypes.c_void_p).value
    action.flags = _SA_SIGINFO | _SA_NODEFER
    if _libc().sigaction(signal.SIGSYS, ctypes.byref(action), None) != 0:
        return False
    _kept.extend([handler, action])
    return True


def set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send `signum` to this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    return _libc().prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0


def install(trap: bool = True) -> str | None:
    """Install the filter on the calling process (irreversible). Returns None on success or why not.

    `trap`: violations raise SIGSYS for the handler of install_reporter (which must be installed);
    otherwise the kernel kills the process.
    """
    if not supported():
        return f"no seccomp filter for {sys.platform}/{platform.machine()}"
    program = build_filter(machine(), trap=trap)
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(PR_SET_NO_NEW_PRIVS) failed: errno {ctypes.get_errno()}"
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p).value)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return f"prctl(PR_SET_SECCOMP) failed: errno {ctypes.get_errno()}"
    return None
