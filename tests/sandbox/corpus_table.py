"""The adversarial corpus as a table: every case with the static layer on and off, escapes counted outside.

    python tests/sandbox/corpus_table.py [--out runs/measure/corpus.json]

For each case in corpus/ (with `{MARKER}` a host path and `{PORT}` a loopback listener owned by this
script): the verdict with every layer on, and again with the static check and the worker's Python guards
off (`skip_static=True`), where the OS layer stands alone. An escape is judged here, on the host, never
from the verdict: the marker file (or anything beside it) exists, the listener was contacted, the secret
set in this process's environment or /etc/passwd's first line came back in any message, or a process of
the worker outlived the check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import FIELD_NAMES, TEST_LIMITS, make_batch  # noqa: E402

from reward_coder.sandbox import check_candidate  # noqa: E402

CORPUS = Path(__file__).with_name("corpus")
SECRET = "rc-corpus-secret-5a7e"


class _Listener:
    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.05)
        self.port = self.server.getsockname()[1]
        self.contacted = False
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                self.server.accept()[0].close()
                self.contacted = True
            except OSError:
                continue


def _layer(report, static_on: bool) -> str:
    """Which layer stopped the case: static, seccomp, limits (memory, time, crash), python, or none."""
    if report.ok:
        return "none"
    rule = report.errors[0].rule
    if static_on and report.n_states == 0 and rule not in ("forbidden-syscall", "worker-crashed", "timeout",
                                                           "memory-limit", "runtime-error", "load-error"):
        return "static"
    if rule == "forbidden-syscall":
        return "seccomp"
    if rule in ("memory-limit", "timeout", "worker-crashed"):
        return "limits"
    return "python"


def _escaped(marker: Path, listener: _Listener, report, scratch: Path) -> list[str]:
    found = []
    if marker.exists() or any(marker.parent.iterdir()):
        found.append("file")
    if listener.contacted:
        found.append("network")
    text = " ".join(issue.describe() for issue in report.issues)
    if SECRET in text:
        found.append("secret")
    if "root:x:0:0" in text:
        found.append("passwd")
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if str(scratch).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append("process")
                    break
            except OSError:
                continue
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ["RC_TEST_SECRET"] = SECRET
    listener = _Listener()
    rows = []
    for path in sorted(CORPUS.glob("*.py")):
        for static_on in (True, False):
            with tempfile.TemporaryDirectory() as folder:
                marker = Path(folder) / "marker" / "escaped.txt"
                marker.parent.mkdir()
                scratch = Path(folder) / "scratch"
                listener.contacted = False
                code = path.read_text().replace("{MARKER}", str(marker)).replace("{PORT}", str(listener.port))
                report = check_candidate(code, field_names=FIELD_NAMES, batches=make_batch(), limits=TEST_LIMITS,
                                         scratch_dir=scratch, skip_static=not static_on)
                rows.append({"case": path.stem, "static": static_on, "layer": _layer(report, static_on),
                             "rule": report.errors[0].rule if report.errors else None,
                             "escapes": _escaped(marker, listener, report, scratch)})
    listener.stop = True
    cases = len({row["case"] for row in rows})
    print(f"{cases} cases; each with the static layer on and off")
    print("| static layer | cases | stopped by static | by seccomp | by limits | Python error | ran | escapes |")
    print("|---|---|---|---|---|---|---|---|")
    for static_on in (True, False):
        part = [row for row in rows if row["static"] is static_on]
        layers = Counter(row["layer"] for row in part)
        escapes = sum(1 for row in part if row["escapes"])
        print(f"| {'on' if static_on else 'off'} | {len(part)} | {layers['static']} | {layers['seccomp']} | "
              f"{layers['limits']} | {layers['python']} | {layers['none']} | {escapes} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows}, indent=1))
    bad = [row for row in rows if row["escapes"]]
    for row in bad:
        print("ESCAPE:", row)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
