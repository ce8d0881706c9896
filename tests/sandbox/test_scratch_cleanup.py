"""No scratch folder is left behind on any exit path: close, a crash, a timeout, an exception or Ctrl-C during
start-up, SIGTERM, and (swept by the next run) SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reward_coder.sandbox import SandboxedReward, _protocol
from reward_coder.sandbox.scratch import PROBE_PREFIX, WORKER_PREFIX, make_scratch, sweep_stale

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch
from .test_worker import FORWARD, LOOP_FOREVER, alive

REPO = Path(__file__).resolve().parents[2]


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith((WORKER_PREFIX, PROBE_PREFIX)))


def test_close_removes_the_folder(tmp_path: Path) -> None:
    with SandboxedReward(FORWARD, field_names=FIELD_NAMES, limits=TEST_LIMITS, scratch_dir=tmp_path) as sandbox:
        assert sandbox.call(*make_batch(4)).error is None
        assert len(leftovers(tmp_path)) == 1
    assert leftovers(tmp_path) == []


def test_a_crashed_worker_leaves_no_folder(tmp_path: Path) -> None:
    segfault = "import ctypes\n\ndef compute_reward(state, action, next_state):\n    ctypes.string_at(0)\n"
    sandbox = SandboxedReward(segfault, limits=TEST_LIMITS, scratch_dir=tmp_path, skip_static=True)
    assert len(leftovers(tmp_path)) == 1
    assert sandbox.call(*make_batch(4)).error.kind == "crashed"
    assert leftovers(tmp_path) == []  # gone already, not only after close()
    sandbox.close()


def test_a_timed_out_worker_leaves_no_folder(tmp_path: Path) -> None:
    sandbox = SandboxedReward(LOOP_FOREVER, field_names=FIELD_NAMES, limits=TEST_LIMITS, scratch_dir=tmp_path)
    assert sandbox.call(*make_batch(4)).error.kind == "timeout"
    assert leftovers(tmp_path) == []
    sandbox.close()


@pytest.mark.parametrize("stop", [RuntimeError("a bug"), KeyboardInterrupt()], ids=["exception", "ctrl-c"])
def test_an_interrupted_start_leaves_no_folder_and_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              stop: BaseException) -> None:
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def write_all(*_args, **_kwargs):
        raise stop

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(_protocol, "write_all", write_all)
    with pytest.raises(type(stop)):
        SandboxedReward(FORWARD, field_names=FIELD_NAMES, limits=TEST_LIMITS, scratch_dir=tmp_path)
    assert leftovers(tmp_path) == []
    assert started and not alive(started[0].pid)


def _child(script: str, root: Path) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import os, signal, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from reward_coder.sandbox import SandboxedReward
        from reward_coder.cli.main import _terminated
        signal.signal(signal.SIGTERM, _terminated)
        sandbox = SandboxedReward("def compute_reward(s, a, n):\\n    return a[:, 0], {{}}\\n", scratch_dir={str(root)!r})
        assert sandbox.start_error is None, sandbox.start_error
        print("ready", flush=True)
        {script}
    """)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_sigterm_removes_the_folder(tmp_path: Path) -> None:
    child = _child("time.sleep(60)", tmp_path)
    assert child.stdout.readline().strip() == "ready"
    assert len(leftovers(tmp_path)) == 1
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)
    assert leftovers(tmp_path) == []


def test_sigkill_leftovers_are_swept_by_the_next_worker(tmp_path: Path) -> None:
    child = _child("os.kill(os.getpid(), signal.SIGKILL)", tmp_path)
    assert child.stdout.readline().strip() == "ready"
    child.wait(timeout=30)
    assert len(leftovers(tmp_path)) == 1  # nothing can clean up after SIGKILL itself
    legacy = tmp_path / "rc-worker-0123456789ab-abcd1234"  # the old naming, from an older version
    legacy.mkdir()
    os.utime(legacy, (0, 0))
    with SandboxedReward(FORWARD, field_names=FIELD_NAMES, limits=TEST_LIMITS, scratch_dir=tmp_path):
        assert len(leftovers(tmp_path)) == 1  # only this worker's own
    assert leftovers(tmp_path) == []


def test_the_sweep_spares_live_owners(tmp_path: Path) -> None:
    mine = make_scratch(WORKER_PREFIX, tmp_path)
    fresh_legacy = tmp_path / "rc-worker-0123456789ab-abcd1234"
    fresh_legacy.mkdir()  # too young to be called left over
    dead = tmp_path / f"{WORKER_PREFIX}999999999.1-abcdefgh"
    dead.mkdir()
    assert sweep_stale(tmp_path) == [dead]
    assert mine.exists() and fresh_legacy.exists()
