"""The worker's syscall filter is default deny, on both architectures it supports (issue 13, item 3).

The BPF program is run here by a small interpreter of the five instructions it uses, so the aarch64
filter is checked on an x86_64 machine too; live tests then show that a forbidden call stops the worker
and is named in the verdict.
"""

from __future__ import annotations

import signal
import struct

import pytest

from reward_coder.sandbox import _seccomp, check_candidate, detect_isolation
from reward_coder.sandbox.isolation import IsolationStatus, require_isolation
from reward_coder.errors import IsolationError

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch

ALLOW = 0x7FFF0000
TRAP = 0x00030000
KILL = 0x80000000


def run_filter(program: bytes, arch: int, nr: int, args: tuple[int, ...] = ()) -> int:
    """What the kernel would decide for one call (struct seccomp_data: nr, arch, ip, args[6])."""
    full = tuple(a & 0xFFFFFFFFFFFFFFFF for a in (tuple(args) + (0,) * 6)[:6])
    data = struct.pack("=iIQ6Q", nr, arch, 0, *full)
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        if code == 0x20:  # ld w abs
            acc = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif code in (0x15, 0x35, 0x45):  # jeq, jge, jset
            taken = acc == k if code == 0x15 else acc >= k if code == 0x35 else bool(acc & k)
            pc += 1 + (jt if taken else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unknown instruction {code:#x}")


ARCHES = sorted(_seccomp.SYSCALLS)
FORBIDDEN = ["socket", "connect", "socketpair", "clone", "clone3", "fork", "vfork", "execve", "execveat",
             "setxattr", "fsetxattr", "lsetxattr", "memfd_create", "ptrace", "mount", "umount2", "open_tree",
             "move_mount", "fsopen", "fsmount", "pidfd_open", "pidfd_getfd", "modify_ldt", "personality",
             "unshare", "setns", "bpf", "io_uring_setup", "userfaultfd", "perf_event_open", "keyctl", "kill",
             "tgkill", "setrlimit", "prctl", "seccomp", "unlinkat", "renameat2", "mkdirat", "fchmodat",
             "process_vm_readv", "nanosleep", "clock_nanosleep", "uname", "pwrite64"]


@pytest.mark.parametrize("arch", ARCHES)
def test_every_allowed_call_passes_and_every_other_is_a_violation(arch):
    table = _seccomp.SYSCALLS[arch]
    audit = _seccomp.AUDIT_ARCH[arch]
    program = _seccomp.build_filter(arch)
    checked = {"open", "openat", "ioctl", "prlimit64", "rt_sigaction"}
    for name in _seccomp.ALLOWED:
        if name in table and name not in checked:
            assert run_filter(program, audit, table[name]) == ALLOW, name
    for name in FORBIDDEN:
        if name in table:
            assert run_filter(program, audit, table[name]) == TRAP, name
    listed = set(table.values())
    unknown = [nr for nr in range(0, 460) if nr not in listed]
    assert all(run_filter(program, audit, nr) == TRAP for nr in unknown), "an unlisted call must be denied"


@pytest.mark.parametrize("arch", ARCHES)
def test_calls_allowed_only_with_harmless_arguments(arch):
    table = _seccomp.SYSCALLS[arch]
    audit = _seccomp.AUDIT_ARCH[arch]
    program = _seccomp.build_filter(arch)
    openat = table["openat"]
    assert run_filter(program, audit, openat, (-100, 0, 0o0)) == ALLOW  # O_RDONLY
    for flags in (0o1, 0o2, 0o100, 0o1000, 0o2 | 0o100):
        assert run_filter(program, audit, openat, (-100, 0, flags)) == TRAP, oct(flags)
    ioctl = table["ioctl"]
    assert run_filter(program, audit, ioctl, (1, 0x5401)) == ALLOW  # TCGETS
    assert run_filter(program, audit, ioctl, (1, 0x5412)) == TRAP  # TIOCSTI: push input to a terminal
    prlimit = table["prlimit64"]
    assert run_filter(program, audit, prlimit, (0, 7, 0, 0x1000)) == ALLOW  # read only
    assert run_filter(program, audit, prlimit, (0, 7, 0x1000, 0)) == TRAP
    assert run_filter(program, audit, prlimit, (0, 7, 1 << 40, 0)) == TRAP  # a pointer above 4 GiB
    sigaction = table["rt_sigaction"]
    assert run_filter(program, audit, sigaction, (signal.SIGINT, 0x1000)) == ALLOW
    assert run_filter(program, audit, sigaction, (signal.SIGSYS, 0)) == ALLOW  # reading it
    assert run_filter(program, audit, sigaction, (signal.SIGSYS, 0x1000)) == TRAP  # replacing the reporter


def test_a_foreign_abi_gets_nothing():
    program = _seccomp.build_filter("x86_64")
    read = _seccomp.SYSCALLS["x86_64"]["read"]
    assert run_filter(program, _seccomp.AUDIT_ARCH["x86_64"], read) == ALLOW
    assert run_filter(program, 0x40000003, 3) == TRAP  # i386 through int 0x80
    assert run_filter(program, _seccomp.AUDIT_ARCH["x86_64"], read | 0x40000000) == TRAP  # x32
    assert run_filter(_seccomp.build_filter("aarch64"), _seccomp.AUDIT_ARCH["x86_64"], 63) == TRAP


def test_without_the_reporter_the_kernel_kills():
    program = _seccomp.build_filter("x86_64", trap=False)
    assert run_filter(program, _seccomp.AUDIT_ARCH["x86_64"], 41) == KILL


def test_every_allowed_call_has_a_reason_and_a_number_on_some_architecture():
    for name, reason in _seccomp.ALLOWED.items():
        assert len(reason) > 5, name
        assert any(name in table for table in _seccomp.SYSCALLS.values()), name


def test_without_a_filter_for_this_architecture_bubblewrap_is_not_called_a_sandbox():
    status = IsolationStatus("bwrap", "bubblewrap, no seccomp filter for riscv64", bwrap_path="/usr/bin/bwrap",
                             seccomp=False)
    assert not status.is_sandbox
    with pytest.raises(IsolationError, match="no sandbox"):
        require_isolation(False, status)
    assert require_isolation(True, status) is status


def _bypass(code: str):
    return check_candidate(code, field_names=FIELD_NAMES, batches=make_batch(), limits=TEST_LIMITS, skip_static=True)


LIVE = {
    "memfd_create": "os.memfd_create('x')",
    "setxattr": "os.setxattr('.', 'user.rc', b'1')",
    "socket": "__import__('_socket').socket()",
    "pidfd_open": "ctypes.CDLL(None).syscall(434, os.getpid(), 0)",
    "personality": "ctypes.CDLL(None).syscall(135, 0xffffffff)",
    "modify_ldt": "ctypes.CDLL(None).syscall(154, 0, 0, 0)",
    "open_tree": "ctypes.CDLL(None).syscall(428, -100, b'/', 1)",
    "ptrace": "ctypes.CDLL(None).ptrace(0, 0, 0, 0)",
}


@pytest.mark.skipif(_seccomp.machine() != "x86_64" or not detect_isolation().seccomp,
                    reason="live syscall numbers are x86_64's")
@pytest.mark.parametrize("name", list(LIVE))
def test_a_forbidden_call_stops_the_worker_and_is_named(name):
    code = f"""
import ctypes
import os


def compute_reward(state, action, next_state):
    {LIVE[name]}
    return next_state.x_velocity, {{}}
"""
    report = _bypass(code)
    assert not report.ok
    rules = [issue.rule for issue in report.errors]
    assert rules == ["forbidden-syscall"], [i.describe() for i in report.errors]
    assert f"{name} (number" in report.errors[0].describe()


@pytest.mark.skipif(not detect_isolation().seccomp, reason="no seccomp filter here")
def test_ignoring_sigsys_does_not_save_a_forbidden_call():
    code = """
import os
import signal

signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGSYS])


def compute_reward(state, action, next_state):
    os.memfd_create('x')
    return next_state.x_velocity, {}
"""
    report = _bypass(code)
    assert [issue.rule for issue in report.errors] == ["forbidden-syscall"]
