"""No host root, no /proc, no CPU between calls, and cgroup quotas where delegated (issue 13, items 4-6)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reward_coder.sandbox import SandboxedReward, check_candidate, detect_isolation
from reward_coder.sandbox import cgroups
from reward_coder.sandbox.isolation import root_namespaces

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch

needs_bwrap = pytest.mark.skipif(not detect_isolation().is_sandbox, reason="bubblewrap sandbox not available")

SIMPLE = """
import numpy as np


def compute_reward(state, action, next_state):
    return next_state.x_velocity, {"speed": next_state.x_velocity}
"""


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {line.split(":")[0]: line.split(":", 1)[1].strip() for line in lines if ":" in line}


@needs_bwrap
def test_the_worker_is_an_unprivileged_host_user_with_no_capabilities():
    with SandboxedReward(SIMPLE, field_names=FIELD_NAMES, limits=TEST_LIMITS) as sandbox:
        assert sandbox.start_error is None, sandbox.start_error
        pid = sandbox._worker_host_pid()
        assert pid is not None
        status = _status(pid)
        limits = Path(f"/proc/{pid}/limits").read_text()
    uids = status["Uid"].split()
    if os.geteuid() == 0:
        assert root_namespaces()[0] is not None, root_namespaces()[1]
        assert uids == ["65534"] * 4, "a worker started by root must not be host root"
    else:
        assert uids[0] == str(os.getuid())
    assert sandbox.worker_uid == int(uids[0])
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
    assert int(status["CapAmb"], 16) == 0
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"
    processes = next(line for line in limits.splitlines() if line.startswith("Max processes")).split()
    assert processes[2] == "1"  # RLIMIT_NPROC, enforced for an unprivileged uid


@needs_bwrap
def test_the_worker_sees_no_proc_at_all():
    code = """
import os


def compute_reward(state, action, next_state):
    found = [path for path in ("/proc/meminfo", "/proc/loadavg", "/proc/sys", "/proc/self/mountinfo", "/proc/1")
             if os.path.exists(path)]
    raise ValueError("visible: " + repr(found))
"""
    report = check_candidate(code, field_names=FIELD_NAMES, batches=make_batch(), limits=TEST_LIMITS,
                             skip_static=True)
    messages = " ".join(issue.describe() for issue in report.errors)
    assert "visible: []" in messages, messages


@needs_bwrap
def test_a_worker_spends_no_cpu_between_calls():
    with SandboxedReward(SIMPLE, field_names=FIELD_NAMES, limits=TEST_LIMITS) as sandbox:
        state, action, next_state = make_batch(n=64)
        sandbox.call(state, action, next_state)
        before = sandbox.cpu_seconds()
        time.sleep(0.5)
        after = sandbox.cpu_seconds()
    assert before is not None and after is not None
    assert after - before < 0.02


def _fake_hierarchy(tmp_path: Path, controllers: str = "cpu io memory pids", enabled: str = "") -> Path:
    root = tmp_path / "cgroup"
    own = root / "user.slice" / "rc.scope"
    own.mkdir(parents=True)
    (root / "cgroup.controllers").write_text(controllers)
    (own / "cgroup.controllers").write_text(controllers)
    (own / "cgroup.subtree_control").write_text(enabled)
    return root


def test_cgroup_v2_with_delegated_controllers_gives_each_worker_a_leaf(tmp_path):
    root = _fake_hierarchy(tmp_path)
    support = cgroups.detect(root, "0::/user.slice/rc.scope\n")
    assert support.available and support.parent == root / "user.slice" / "rc.scope"
    assert (support.parent / "cgroup.subtree_control").read_text() == "+cpu +memory"
    group = cgroups.WorkerCgroup(support, memory_bytes=512 << 20, cpu_cores=0.5)
    (group.path / "cgroup.procs").write_text("")
    group.add([1234])
    assert (group.path / "memory.max").read_text() == str(512 << 20)
    assert (group.path / "cpu.max").read_text() == "50000 100000"
    assert (group.path / "cgroup.procs").read_text() == "1234"
    (group.path / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    assert group.cpu_seconds() == 2.5
    for child in group.path.iterdir():
        child.unlink()
    group.remove()
    assert not group.path.exists()


@pytest.mark.parametrize("case, proc, expected", [
    ("v1", None, "not a cgroup v2"),
    ("no memory", "0::/user.slice/rc.scope\n", "memory controller"),
    ("hidden", "0::/elsewhere\n", "not visible"),
])
def test_without_delegation_quotas_are_reported_as_not_in_force(tmp_path, case, proc, expected):
    root = _fake_hierarchy(tmp_path, controllers="cpu io pids" if case == "no memory" else "cpu io memory pids")
    if case == "v1":
        (root / "cgroup.controllers").unlink()
        proc = "4:memory:/x\n0::/\n"
    support = cgroups.detect(root, proc)
    assert not support.available
    assert expected in support.detail
    assert support.describe().startswith("cgroup quotas: not in force")


def test_this_machine_reports_what_is_in_force():
    support = cgroups.detect()
    assert support.describe().startswith("cgroup quotas:")


@pytest.mark.skipif(os.geteuid() != 0, reason="the namespaces are made only under root")
def test_the_root_namespaces_are_made_reliably():
    """The second helper passes through the first one's namespace; the maps must wait for its own."""
    from reward_coder.sandbox import isolation

    for _ in range(15):
        made = isolation._make_root_namespaces()
        os.close(made.setup_fd)
        os.close(made.sandbox_fd)
