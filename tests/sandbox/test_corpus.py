"""The adversarial and buggy corpus: every candidate gets its expected outcome, and nothing escapes.

Each file in corpus/ starts with header comments:

    # expect: <outcome>             what check_candidate reports with all layers on
    # bypass: <outcome>             (optional) with the static check and Python guards OFF
    # probe: marker listener ...    host-side effects that must not happen in the bypass run

An outcome is `ok`, `static:<rule>`, `runtime:<rule>`, `verdict:<rule>`, `warning:<rule>`, `any`
(only the probes matter), or several joined by `|`. `{MARKER}` and `{PORT}` in the code are replaced
by a host path and a loopback port owned by the test. In the bypass run the OS layer stands alone:
the marker file must not appear, the listener must not be contacted, the secret environment
variable and /etc/passwd must not come back in any message, no process of the worker may remain,
and this pytest process must still be alive to assert all that.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from pathlib import Path

import pytest

from reward_coder.sandbox import check_candidate, detect_isolation
from reward_coder.types import CheckReport

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch

CORPUS = Path(__file__).with_name("corpus")
CORPUS_FILES = sorted(CORPUS.glob("*.py"))
SECRET = "rc-test-secret-6f1d2a"
PASSWD_TEXT = "root:x:0:0"


def _header(text: str, key: str) -> str | None:
    match = re.search(rf"^# {key}: (.+)$", text, flags=re.MULTILINE)
    return match.group(1).strip() if match else None


def _matches(report: CheckReport, outcome: str) -> bool:
    if outcome == "any":
        return True
    if outcome == "ok":
        return report.ok and not report.warnings
    stage, _, rule = outcome.partition(":")
    if stage == "warning":
        return report.ok and any(i.rule == rule for i in report.warnings)
    return not report.ok and any(i.rule == rule for i in report.errors)


def _assert_outcome(report: CheckReport, expected: str, name: str) -> None:
    options = [o.strip() for o in expected.split("|")]
    found = [f"{i.severity}:{i.rule}: {i.describe()}" for i in report.issues] or ["no issues"]
    assert any(_matches(report, o) for o in options), f"{name}: expected {expected}, got\n" + "\n".join(found)
    if any(o.startswith("static:") for o in options) and not report.ok:
        assert report.n_states == 0, "a statically refused candidate must never run"


class Listener:
    """A loopback TCP server that records whether anyone connected."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.05)
        self.port = self.server.getsockname()[1]
        self.contacted = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.contacted.set()
            connection.close()

    def close(self) -> None:
        self.stop.set()
        self.server.close()
        self.thread.join(timeout=2)


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def secret_in_environment(monkeypatch):
    monkeypatch.setenv("RC_TEST_SECRET", SECRET)


def _render(text: str, marker: Path, port: int) -> str:
    return text.replace("{MARKER}", str(marker)).replace("{PORT}", str(port))


def _processes_mentioning(needle: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if needle.encode() in handle.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def test_corpus_is_large_and_covers_every_outcome_kind():
    assert len(CORPUS_FILES) >= 120
    kinds = {(_header(p.read_text(), "expect") or "").split(":")[0] for p in CORPUS_FILES}
    assert {"ok", "static", "runtime", "verdict", "warning"} <= kinds
    for path in CORPUS_FILES:
        assert _header(path.read_text(), "expect"), f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_expected_outcome(path: Path, tmp_path: Path, listener: Listener):
    text = path.read_text()
    marker = tmp_path / "marker" / "escaped.txt"
    marker.parent.mkdir()
    code = _render(text, marker, listener.port)
    report = check_candidate(
        code, field_names=FIELD_NAMES, batches=make_batch(), limits=TEST_LIMITS, scratch_dir=tmp_path / "scratch"
    )
    _assert_outcome(report, _header(text, "expect") or "", path.name)
    assert not marker.exists()
    assert not listener.contacted.is_set()


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_os_layer_holds_without_static_checks(path: Path, tmp_path: Path, listener: Listener):
    text = path.read_text()
    marker = tmp_path / "marker" / "escaped.txt"
    marker.parent.mkdir()
    scratch = tmp_path / "scratch"
    code = _render(text, marker, listener.port)
    report = check_candidate(
        code, field_names=FIELD_NAMES, batches=make_batch(), limits=TEST_LIMITS, scratch_dir=scratch,
        skip_static=True,
    )
    _assert_outcome(report, _header(text, "bypass") or "any", path.name)  # no header: only the probes count
    messages = " ".join(i.describe() for i in report.issues)
    assert not marker.exists(), "the candidate wrote a file on the host"
    assert not any(marker.parent.iterdir()), "the candidate created something next to the marker"
    assert not listener.contacted.is_set(), "the candidate reached a loopback listener"
    assert SECRET not in messages, "a secret from the parent's environment came back"
    if detect_isolation().is_sandbox:
        assert PASSWD_TEXT not in messages, "/etc/passwd came back from the sandbox"
    assert _processes_mentioning(str(scratch)) == [], "a process of the worker outlived it"
