"""Pool workers die with their run's main process, however it dies (issue 15, item 2).

An outside test killed only the main process (what `kill -9 PID` and the OOM killer do) and found the pool
workers still training minutes later, rewriting checkpoints beside the `resume` that followed.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

_SCRIPT = '''
import os, sys, time
from pathlib import Path

def job(folder):
    """Stands in for a training job: rewrites a file of its own every millisecond, forever."""
    path = Path(folder) / f"worker-{os.getpid()}"
    while True:
        path.write_text(str(time.time()))
        time.sleep(0.001)

if __name__ == "__main__":
    from reward_coder.train.executor import LocalExecutor
    jobs = LocalExecutor(2).map_unordered(job, [sys.argv[1], sys.argv[1]])
    next(jobs)
'''


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_killing_only_the_main_process_leaves_no_worker_and_no_later_write(tmp_path):
    script = tmp_path / "main.py"
    script.write_text(_SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    main = subprocess.Popen([sys.executable, str(script), str(out)])
    try:
        deadline = time.monotonic() + 60
        while len(list(out.glob("worker-*"))) < 2:
            assert time.monotonic() < deadline, "the workers never started"
            assert main.poll() is None
            time.sleep(0.1)
        workers = [int(p.name.split("-")[1]) for p in out.glob("worker-*")]
        assert all(_alive(pid) for pid in workers)
        os.kill(main.pid, signal.SIGKILL)  # the main process only, not its group
        main.wait()
        killed_at = time.time()
        time.sleep(1.5)
        assert [pid for pid in workers if _alive(pid)] == []
        # the kernel kills the workers as the main process dies (PR_SET_PDEATHSIG), so no write starts
        # after it; the 20 ms polling fallback alone would let a job write for up to 20 more ms
        written_after = [p.name for p in out.iterdir() if p.stat().st_mtime > killed_at + 0.005]
        assert written_after == []
    finally:
        main.kill()
        for p in out.glob("worker-*"):
            try:
                os.kill(int(p.name.split("-")[1]), signal.SIGKILL)
            except ProcessLookupError:
                pass
