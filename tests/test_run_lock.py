"""One owner per run folder: a kernel lock held for the life of a run, bench or resume (issue 15, item 1)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from reward_coder.errors import ConfigError
from reward_coder.report.runs import describe_run
from reward_coder.store import LOCK_FILE, RunStore, lock_holder

_HOLDER = """
import sys, time
from pathlib import Path
from reward_coder.store import RunStore
RunStore.create(Path(sys.argv[1])).acquire("reward-coder run")
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding tmp_path/run's lock (killed with SIGKILL at the end, or by the test)."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_writer_gets_one_line_naming_the_holders_pid_and_host(tmp_path, holder):
    with pytest.raises(ConfigError) as caught:
        RunStore.create(tmp_path / "run").acquire("reward-coder resume")
    message = str(caught.value)
    assert f"pid {holder.pid}" in message and socket.gethostname() in message and "reward-coder run" in message
    assert "\n" not in message
    assert lock_holder(tmp_path / "run")["pid"] == holder.pid


def test_the_lock_dies_with_its_holder_even_on_sigkill(tmp_path, holder):
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock_holder(tmp_path / "run") is None
    store = RunStore.create(tmp_path / "run")
    store.acquire("reward-coder resume")
    assert lock_holder(tmp_path / "run")["pid"] == os.getpid()
    store.release()
    assert lock_holder(tmp_path / "run") is None


def test_one_process_may_reopen_a_folder_it_holds_and_release_frees_it(tmp_path):
    first, second = RunStore.create(tmp_path / "run"), RunStore(tmp_path / "run")
    first.acquire("reward-coder refine")
    second.acquire("reward-coder resume")  # same process: shared, not a deadlock
    second.release()
    assert lock_holder(tmp_path / "run") is None


def _fake_run(folder, status):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"task": "pendulum/swing-up", "iterations": 2}))
    (folder / "state.json").write_text(json.dumps({"status": status, "iterations_done": 1, "started": time.time()}))


def test_runs_tells_a_live_run_from_a_dead_one(tmp_path, holder):
    _fake_run(tmp_path / "run", "running")  # the holder process owns this one
    _fake_run(tmp_path / "dead", "running")  # nobody does: it was killed before writing its end
    (tmp_path / "dead" / LOCK_FILE).write_text(json.dumps({"pid": 999999, "host": "gone"}))
    _fake_run(tmp_path / "done", "finished")
    assert describe_run(tmp_path / "run").status == "running"
    assert describe_run(tmp_path / "dead").status == "dead (resume it)"
    assert describe_run(tmp_path / "done").status == "finished"


def test_a_bench_folder_in_use_is_refused_before_anything_is_written(tmp_path, holder):
    from reward_coder.bench.runner import open_bench_folder
    from reward_coder.bench.suite import load_suite

    suite_file = tmp_path / "s.yaml"
    suite_file.write_text("name: s\nalgorithm: PPO\ntotal_timesteps: 1000\nseeds: [0]\ntasks: [pendulum/swing-up]\n")
    with pytest.raises(ConfigError, match=f"pid {holder.pid}"):
        open_bench_folder(load_suite(suite_file), tmp_path / "run")
    assert not (tmp_path / "run" / "suite.json").exists()


def test_resume_of_a_run_in_use_stops_with_one_line_and_writes_nothing(tmp_path, holder):
    from typer.testing import CliRunner

    from reward_coder.cli.main import app

    _fake_run(tmp_path / "run", "running")
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()}
    result = CliRunner().invoke(app, ["resume", str(tmp_path / "run"), "--max-cost", "1"])
    assert result.exit_code != 0
    assert f"pid {holder.pid}" in result.output and "Traceback" not in result.output
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "run").iterdir()} == before
