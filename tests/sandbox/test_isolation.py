"""Which isolation is in force, the refusal to run without a sandbox, and the rlimits fallback."""

from __future__ import annotations

import os
import shutil
import socket

import numpy as np
import pytest

from reward_coder.errors import IsolationError
from reward_coder.sandbox import (
    NO_BWRAP_ENV,
    IsolationStatus,
    SandboxedReward,
    check_candidate,
    detect_isolation,
    require_isolation,
    sandbox_health,
)

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch

bwrap_works = pytest.mark.skipif(
    shutil.which("bwrap") is None or not detect_isolation().is_sandbox,
    reason="bubblewrap is not usable on this machine",
)


@pytest.fixture
def no_bwrap(monkeypatch) -> IsolationStatus:
    monkeypatch.setenv(NO_BWRAP_ENV, "1")
    status = detect_isolation()
    assert status.level == "rlimits"
    return status


@bwrap_works
def test_bubblewrap_is_detected_and_described():
    status = detect_isolation()
    assert status.level == "bwrap" and status.bwrap_path
    assert "no network" in status.detail
    assert status.describe().startswith("isolation: bwrap - ")
    assert require_isolation(False) is status


def test_the_fallback_is_reported_and_refused_without_the_flag(no_bwrap):
    assert NO_BWRAP_ENV in no_bwrap.detail and "not a sandbox" in no_bwrap.detail
    with pytest.raises(IsolationError) as refused:
        require_isolation(False)
    message = str(refused.value)
    assert "apt-get install bubblewrap" in message and "--allow-unsandboxed" in message
    assert "\n" not in message
    assert require_isolation(True).level == "rlimits"


def test_workers_still_run_under_resource_limits_in_the_fallback(no_bwrap):
    code = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n" \
           "    return next_state.x_velocity * 2, {'forward': next_state.x_velocity}\n"
    state, action, next_state = make_batch()
    with SandboxedReward(code, limits=TEST_LIMITS, isolation=no_bwrap) as sandbox:
        raw = sandbox.call(state, action, next_state)
        np.testing.assert_allclose(raw.reward, next_state["x_velocity"] * 2)
        if os.geteuid() == 0:
            assert sandbox.worker_uid == 65534, "root must be dropped in the fallback"
    report = check_candidate(code, field_names=FIELD_NAMES, batches=(state, action, next_state), limits=TEST_LIMITS,
                             isolation=no_bwrap)
    assert report.ok and report.isolation == "rlimits"


_FALLBACK_ATTEMPTS = {
    "write": ("open({marker!r}, 'w')", "forbidden", "openat"),
    "socket": ("ctypes.CDLL(None, use_errno=True).socket(2, 1, 0)", "forbidden", "socket"),
    "fork": ("os.fork()", "forbidden", "clone"),
    "memory bomb": ("np.ones(10**10)", "memory", None),
    "environment": ("os.environ.get('RC_TEST_SECRET', 'no-secret')", "exception", "no-secret"),
}


@pytest.mark.parametrize("attempt", list(_FALLBACK_ATTEMPTS))
def test_the_fallback_still_stops_writes_sockets_forks_and_memory_bombs(attempt, no_bwrap, tmp_path, monkeypatch):
    monkeypatch.setenv("RC_TEST_SECRET", "fallback-secret-93")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.05)
    marker = tmp_path / "escaped.txt"
    expression, kind, named = _FALLBACK_ATTEMPTS[attempt]
    # Only modules the worker has already loaded: dropped to uid 65534, it may not read the stdlib.
    code = f"""
import ctypes
import os

import numpy as np


def compute_reward(state, action, next_state):
    raise ValueError(str({expression.format(marker=str(marker))}))
"""
    with SandboxedReward(code, limits=TEST_LIMITS, isolation=no_bwrap, skip_static=True) as sandbox:
        raw = sandbox.call(*make_batch(n=4))
    try:
        server.accept()
        contacted = True
    except OSError:
        contacted = False
    server.close()
    assert raw.error is not None and raw.error.kind == kind, raw.error
    if named is not None:
        assert named in raw.error.message
    assert "fallback-secret-93" not in raw.error.message
    assert not marker.exists() and not contacted


def test_sandbox_health_for_the_doctor_command():
    health = sandbox_health(calls=20)
    assert health.worker_ok, health.problem
    lines = health.lines()
    assert lines[0].startswith(f"isolation: {health.isolation.level}")
    assert lines[1].startswith("sandbox worker: ok") and health.call_us is not None


def test_tmpfs_is_mounted_before_the_python_binds(monkeypatch):
    """A venv or checkout under /tmp (as in many CI clones) must not vanish behind the sandbox's tmpfs."""
    from reward_coder.sandbox import isolation

    monkeypatch.setattr(isolation, "_python_paths", lambda: ["/tmp/ci-clone/.venv", "/opt/python"])
    command = isolation.bwrap_command("/usr/bin/bwrap", "/tmp/scratch", ["-c", "pass"])
    tmpfs = command.index("--tmpfs")
    venv_bind = command.index("/tmp/ci-clone/.venv")
    scratch_bind = command.index("/tmp/scratch")
    assert tmpfs < venv_bind and tmpfs < scratch_bind
