"""A small seccomp filter the worker installs on itself before it loads candidate code.

It is one layer of several (see isolation.py), and the one that matters most against fork bombs:
bubblewrap started by root maps the sandbox uid onto root outside, so the kernel does not enforce
RLIMIT_NPROC. The filter refuses, with an errno rather than a kill so the candidate sees an ordinary
Python exception:

- new processes and programs: fork, vfork, clone without CLONE_THREAD, clone3 (ENOSYS, so glibc
  falls back to clone, which is then checked), execve, execveat;
- network and exotic kernel interfaces: socket, socketpair, io_uring, bpf, perf_event_open,
  userfaultfd, keyctl, unshare, setns, mount, ptrace, process_vm_readv/writev;
- filesystem writes: open/openat with a write, create or truncate flag, openat2 (ENOSYS), creat,
  and every call that creates, renames, links, removes or changes the mode/owner of a path;
- signals to other processes (kill, tkill, tgkill, sigqueue, pidfd_send_signal) and changing
  resource limits (setrlimit, prlimit64 with a new limit).

Stdlib only: it runs inside the sandboxed worker. Only x86_64 is covered (the syscall numbers are
per architecture and this table is the one we test); elsewhere `install()` reports that it did
nothing and the other layers stand alone.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
import sys

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# linux/filter.h
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_PR_SET_PDEATHSIG = 1
_SECCOMP_MODE_FILTER = 2

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_OFF_NR = 0
_OFF_ARCH = 4


def _arg_low(i: int) -> int:
    return 16 + 8 * i  # low 32 bits of args[i] on a little-endian machine


def _arg_high(i: int) -> int:
    return 16 + 8 * i + 4


_CLONE_THREAD = 0x00010000
_O_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000  # O_WRONLY | O_RDWR | O_CREAT | O_TRUNC

# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl)
_X86_64_DENY_EPERM = {
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
    "socket": 41, "socketpair": 53, "io_uring_setup": 425, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249,
    "unshare": 272, "setns": 308, "mount": 165, "ptrace": 101,
    "process_vm_readv": 310, "process_vm_writev": 311,
    "creat": 85, "rename": 82, "renameat": 264, "renameat2": 316, "mkdir": 83, "mkdirat": 258,
    "rmdir": 84, "unlink": 87, "unlinkat": 263, "link": 86, "linkat": 265, "symlink": 88,
    "symlinkat": 266, "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "chown": 92,
    "fchown": 93, "lchown": 94, "fchownat": 260, "truncate": 76, "mknod": 133, "mknodat": 259,
    "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
    "pidfd_send_signal": 424, "setrlimit": 160,
}
_X86_64_DENY_ENOSYS = {"clone3": 435, "openat2": 437}
_X86_64_CLONE = 56
_X86_64_OPEN = 2
_X86_64_OPENAT = 257
_X86_64_PRLIMIT64 = 302


def _stmt(code: int, k: int) -> tuple[int, int, int, int]:
    return (code, 0, 0, k)


def build_filter_x86_64() -> bytes:
    """The BPF program as bytes of `struct sock_filter[]` (code u16, jt u8, jf u8, k u32)."""
    eperm = _RET_ERRNO | errno.EPERM
    enosys = _RET_ERRNO | errno.ENOSYS
    # Instructions refer to labels; jumps are resolved to relative offsets afterwards.
    prog: list[tuple[int, object, object, int]] = []

    def emit(code: int, k: int, jt: object = 0, jf: object = 0) -> None:
        prog.append((code, jt, jf, k))

    emit(_LD_W_ABS, _OFF_ARCH)
    emit(_JEQ_K, AUDIT_ARCH_X86_64, 0, "eperm")  # a foreign ABI (int 0x80) gets nothing
    emit(_LD_W_ABS, _OFF_NR)
    emit(_JGE_K, X32_SYSCALL_BIT, "eperm", 0)  # the x32 ABI, likewise
    for nr in sorted(_X86_64_DENY_EPERM.values()):
        emit(_JEQ_K, nr, "eperm", 0)
    for nr in sorted(_X86_64_DENY_ENOSYS.values()):
        emit(_JEQ_K, nr, "enosys", 0)
    emit(_JEQ_K, _X86_64_CLONE, "clone", 0)
    emit(_JEQ_K, _X86_64_OPEN, "open", 0)
    emit(_JEQ_K, _X86_64_OPENAT, "openat", 0)
    emit(_JEQ_K, _X86_64_PRLIMIT64, "prlimit", 0)
    emit(_RET_K, _RET_ALLOW)
    labels: dict[str, int] = {}
    labels["clone"] = len(prog)
    emit(_LD_W_ABS, _arg_low(0))
    emit(_JSET_K, _CLONE_THREAD, "allow", "eperm")
    labels["open"] = len(prog)
    emit(_LD_W_ABS, _arg_low(1))
    emit(_JSET_K, _O_WRITE_FLAGS, "eperm", "allow")
    labels["openat"] = len(prog)
    emit(_LD_W_ABS, _arg_low(2))
    emit(_JSET_K, _O_WRITE_FLAGS, "eperm", "allow")
    labels["prlimit"] = len(prog)  # prlimit64(pid, resource, new, old): allowed only to read
    emit(_LD_W_ABS, _arg_low(2))
    emit(_JEQ_K, 0, 0, "eperm")
    emit(_LD_W_ABS, _arg_high(2))
    emit(_JEQ_K, 0, "allow", "eperm")
    labels["allow"] = len(prog)
    emit(_RET_K, _RET_ALLOW)
    labels["eperm"] = len(prog)
    emit(_RET_K, eperm)
    labels["enosys"] = len(prog)
    emit(_RET_K, enosys)

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


def supported() -> bool:
    """Whether this machine gets the filter (Linux on x86_64)."""
    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send `signum` to this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    return _libc().prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0


def install() -> str | None:
    """Install the filter on the calling process (irreversible). Returns None on success or why not."""
    if not supported():
        return f"no seccomp filter for {sys.platform}/{platform.machine()}"
    program = build_filter_x86_64()
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(PR_SET_NO_NEW_PRIVS) failed: errno {ctypes.get_errno()}"
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p).value)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return f"prctl(PR_SET_SECCOMP) failed: errno {ctypes.get_errno()}"
    return None
