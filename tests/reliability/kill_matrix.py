"""The kill matrix: SIGKILL a demo-sized run at random points, then resume it, and count what went wrong.

Two ways to die: the whole process group (a terminal's Ctrl-\\, a container stop) and only the main
process (the OOM killer, `kill -9 PID`, a supervisor). After each kill: processes of the run still
alive 5 s later (orphans), files of the run folder written after the kill, files that no longer parse
(every *.json, every line of every *.jsonl), whether `reward-coder resume` finishes the run, and whether
it picks the same best reward (same code) as an uninterrupted run with the same seed.

    python tests/reliability/kill_matrix.py --kills 20 --mode group --out runs/measure/kills.jsonl
    python tests/reliability/kill_matrix.py --kills 20 --mode main --out runs/measure/kills.jsonl

The run is `reward-coder run` on pendulum/swing-up with the stand-in answers (offline), 2 iterations of
3 candidates and a final on 1 fresh seed, on small training budgets. The first run of an invocation is
the uninterrupted reference; its wall time bounds the random kill points.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

RUN_ARGS = [
    "run", "--task", "pendulum/swing-up", "--model", "replay:standins", "-k", "3", "--iterations", "2",
    "--timesteps", "4096", "--eval-episodes", "3", "--workers", "2", "--finalists", "1", "--final-seeds", "1",
    "--seed", "0", "--progress", "quiet",
]
TOKEN_VARIABLE = "REWARD_CODER_KILL_MATRIX"
"""Set in the run's environment; every process still carrying it after the kill is an orphan."""
SETTLE_S = 5.0


def _cli() -> list[str]:
    return [sys.executable, "-c", "import sys; from reward_coder.cli.main import main; sys.exit(main())"]


def _ppid_and_start(pid: int) -> tuple[int, int] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] == "Z":  # a zombie has ended; it only waits for its parent to reap it
        return None
    return int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """pid -> start time of every live descendant of `root`."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        info = _ppid_and_start(int(entry.name))
        if info is not None:
            children.setdefault(info[0], []).append(int(entry.name))
            starts[int(entry.name)] = info[1]
    found, stack = {}, [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found[child] = starts[child]
            stack.append(child)
    return found


def _carrying(token: str) -> set[int]:
    pids = set()
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in Path(entry, "environ").read_bytes() and _ppid_and_start(int(entry.name)):
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def _alive(pids: dict[int, int]) -> set[int]:
    return {pid for pid, start in pids.items() if (_ppid_and_start(pid) or (0, -1))[1] == start}


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _unparsable(folder: Path) -> list[str]:
    bad = []
    for path in folder.rglob("*.json"):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            bad.append(str(path.relative_to(folder)))
    for path in folder.rglob("*.jsonl"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            try:
                json.loads(line)
            except ValueError:
                bad.append(f"{path.relative_to(folder)}:{number + 1}")
    return bad


def _best(folder: Path) -> str | None:
    best = folder / "best.py"
    return hashlib.sha256(best.read_bytes()).hexdigest()[:12] if best.exists() else None


def _start(args: list[str], token: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, TOKEN_VARIABLE: token}
    return subprocess.Popen(_cli() + args, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def reference(workdir: Path) -> dict[str, Any]:
    folder = workdir / "reference"
    started = time.monotonic()
    process = _start(RUN_ARGS + ["--out", str(folder)], uuid.uuid4().hex)
    _, stderr = process.communicate(timeout=1800)
    if process.returncode != 0:
        raise SystemExit(f"the reference run failed ({process.returncode}): {stderr.decode()[-2000:]}")
    return {"wall_s": time.monotonic() - started, "best": _best(folder)}


def one_kill(workdir: Path, index: int, mode: str, at_s: float, best: str | None) -> dict[str, Any]:
    folder = workdir / f"{mode}-{index}"
    token = uuid.uuid4().hex
    process = _start(RUN_ARGS + ["--out", str(folder)], token)
    deadline = time.monotonic() + at_s
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    row: dict[str, Any] = {"mode": mode, "index": index, "kill_at_s": round(at_s, 2)}
    if process.poll() is not None:
        row["note"] = "finished before the kill"
        return row
    tree = _descendants(process.pid)
    before = _files(folder) if folder.exists() else {}
    killed_ns = time.time_ns()
    if mode == "group":
        os.killpg(process.pid, signal.SIGKILL)
    else:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(SETTLE_S)
    survivors = _alive(tree) | _carrying(token)
    for pid in survivors:  # leave the machine clean for the next kill
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    after = _files(folder) if folder.exists() else {}
    written = sorted(p for p, mtime in after.items() if mtime > killed_ns and before.get(p) != mtime)
    row.update(processes_at_kill=len(tree) + 1, orphans=len(survivors), written_after_kill=written,
               unparsable_after_kill=_unparsable(folder) if folder.exists() else [])
    if not (folder / "config.json").exists():
        row["note"] = "killed before the run folder had a config; nothing to resume"
        return row
    resumed = subprocess.run(_cli() + ["resume", str(folder), "--progress", "quiet"], capture_output=True,
                             timeout=1800, env={**os.environ, TOKEN_VARIABLE: token})
    state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").exists() else {}
    row.update(resume_exit=resumed.returncode, resumed_status=state.get("status"),
               resume_error=resumed.stderr.decode("utf-8", "replace").strip().splitlines()[-1:],
               same_best=_best(folder) == best, unparsable_after_resume=_unparsable(folder))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--mode", choices=("group", "main"), default="group")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the kill points.")
    parser.add_argument("--workdir", type=Path, default=Path("runs/kill-matrix"))
    parser.add_argument("--reference-s", type=float, default=None, help="Reuse a measured reference wall time.")
    parser.add_argument("--reference-best", default=None)
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file the rows are appended to.")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.reference_s is None:
        ref = reference(args.workdir)
    else:
        ref = {"wall_s": args.reference_s, "best": args.reference_best}
    print(json.dumps({"reference": ref}), flush=True)
    rng = random.Random(args.seed)
    rows = []
    for index in range(args.kills):
        row = one_kill(args.workdir, index, args.mode, rng.uniform(1.0, 0.95 * ref["wall_s"]), ref["best"])
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with args.out.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({**row, "reference": ref}) + "\n")
    killed = [r for r in rows if "orphans" in r]
    resumed = [r for r in killed if "resume_exit" in r]
    print(json.dumps({
        "mode": args.mode, "kills": len(killed),
        "resumed_ok": sum(r["resume_exit"] == 0 and r["resumed_status"] == "finished" for r in resumed),
        "resumable": len(resumed),
        "runs_with_orphans": sum(r["orphans"] > 0 for r in killed),
        "runs_with_files_after_kill": sum(bool(r["written_after_kill"]) for r in killed),
        "runs_with_unparsable_files": sum(bool(r["unparsable_after_kill"] or r.get("unparsable_after_resume"))
                                          for r in killed),
        "same_best": sum(bool(r.get("same_best")) for r in resumed),
    }))


if __name__ == "__main__":
    main()
