"""No traceback for any input: a table of bad inputs, each one `error:` line, the exit code, and nothing half-written.

Every row is a command line, the files it needs, the exit code and a fragment of the one stderr line. Every
case fails before anything trains or asks an LLM. Options wrong at parse time (`--seed -5`, `--out ''`)
must leave the folder exactly as it was; the other rows must leave no temp file (`*.tmp`, `.tmp-*`) and no
run folder beyond the one a command had already made. Write failures (disk full, read-only folder, no
permission) are simulated by patching the OS calls, so the table runs as any user on any disk.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from reward_coder.cli.main import app
from reward_coder.config import RunConfig
from reward_coder.textfile import (CARD_MAX_BYTES, INSTRUCTION_MAX_CHARS, REWARD_FILE_MAX_BYTES, SUITE_MAX_BYTES,
                                   TASK_FILE_MAX_BYTES)

LATIN1 = "instruction: \"swing it up, caf\xe9\"\n".encode("latin-1")  # 0xe9 alone is not UTF-8
BINARY = b"PK\x03\x04\x00\x00binary\x00content"
TASK = "env: pendulum\ninstruction: swing the pole up\nsuccess: {kind: native_return_above, params: {threshold: -200}}\n"
SUITE = ("name: tiny\nalgorithm: PPO\ntotal_timesteps: 1000\nseeds: [0]\ntasks: [pendulum/swing-up]\n")
REWARD_SUITE = SUITE + "rewards:\n  mine:\n    pendulum/swing-up: reward.py\n"
CONFIG = json.dumps({k: v for k, v in RunConfig(instruction="swing up", env="pendulum", task="pendulum/swing-up",
                                                model="replay:standins", iterations=1).__dict__.items()})
STATE = json.dumps({"iterations_done": 1, "status": "finished"})
TASK_RECORD = json.dumps({"key": "pendulum/swing-up", "instruction": "swing up", "env": "pendulum",
                          "success": {"kind": "native_return_above", "params": {"threshold": -200}},
                          "total_timesteps": 1000})
RUN = {"run/config.json": CONFIG, "run/state.json": STATE, "run/task.json": TASK_RECORD}
"""A finished run folder as `refine` and `resume` find it (no training happened in it)."""


def _card_text() -> str:
    from reward_coder.resources import data_dir

    return (data_dir("envs") / "pendulum.yaml").read_text(encoding="utf-8")


def _oserror(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _fail_fsync(code: int) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """Every fsync fails with `code` (a full disk shows up at the write or the fsync of a temp file)."""

    def patch(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
        def fsync(fd: int) -> None:
            raise _oserror(code)

        monkeypatch.setattr(os, "fsync", fsync)

    return patch


def _fail_mkdir_under(relative: str, code: int) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """Creating any folder under `root/relative` fails with `code` (a read-only or not-ours folder)."""

    def patch(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
        original = pathlib.Path.mkdir
        limit = (root / relative).resolve()

        def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
            target = Path(self).resolve()
            if target == limit or limit in target.parents:
                raise _oserror(code)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
        real_mkstemp = tempfile.mkstemp

        def mkstemp(*args: Any, dir: Any = None, **kwargs: Any) -> Any:
            if dir is not None and (Path(dir).resolve() == limit or limit in Path(dir).resolve().parents):
                raise _oserror(code)
            return real_mkstemp(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)

    return patch


def _limit(module: str, name: str, value: int) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """A smaller size limit, so a 'too large' file needs KBs, not the real limit's MBs."""

    def patch(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
        monkeypatch.setattr(f"{module}.{name}", value)

    return patch


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    fragment: str
    """Text the one error line must contain (whitespace-normalized)."""
    files: dict[str, str | bytes] = field(default_factory=dict)
    code: int = 2
    parse_time: bool = False
    """The error comes from option parsing: the folder must be exactly as it was."""
    env: dict[str, str] = field(default_factory=dict)
    patch: Callable[[pytest.MonkeyPatch, Path], None] | None = None


def case(id: str, *argv: str, fragment: str, **kwargs: Any) -> Case:
    return Case(id, tuple(argv), fragment, **kwargs)


PENDULUM = ("--task", "pendulum/swing-up", "--model", "replay:standins")
RUN_ARGS = ("run", *PENDULUM)
GEN_ARGS = ("generate", *PENDULUM)

CASES: list[Case] = [
    # ---- --seed, --workers: whole numbers in range, checked at parse time ------------------------------
    case("run-seed-negative", *RUN_ARGS, "--seed", "-5", fragment="'--seed'", parse_time=True),
    case("run-seed-not-a-number", *RUN_ARGS, "--seed", "abc", fragment="'--seed'", parse_time=True),
    case("run-seed-too-large", *RUN_ARGS, "--seed", "99999999999", fragment="'--seed'", parse_time=True),
    case("generate-seed-negative", *GEN_ARGS, "--seed", "-1", fragment="'--seed'", parse_time=True),
    case("run-workers-negative", *RUN_ARGS, "--workers", "-1", fragment="'--workers'", parse_time=True),
    case("run-workers-absurd", *RUN_ARGS, "--workers", "100000", fragment="'--workers'", parse_time=True),
    case("bench-workers-negative", "bench", "metaworld-small", "--workers", "-2", fragment="'--workers'",
         parse_time=True),
    # ---- --max-cost: a finite number above 0 ------------------------------------------------------------
    case("run-max-cost-zero", *RUN_ARGS, "--max-cost", "0", fragment="'--max-cost': must be a number above 0",
         parse_time=True),
    case("run-max-cost-negative", *RUN_ARGS, "--max-cost", "-1", fragment="above 0", parse_time=True),
    case("run-max-cost-nan", *RUN_ARGS, "--max-cost", "nan", fragment="got nan", parse_time=True),
    case("run-max-cost-inf", *RUN_ARGS, "--max-cost", "inf", fragment="got inf", parse_time=True),
    case("run-max-cost-text", *RUN_ARGS, "--max-cost", "ten", fragment="'--max-cost'", parse_time=True),
    case("resume-max-cost-zero", "resume", "{tmp}/run", "--max-cost", "0", fragment="above 0", parse_time=True,
         files=RUN),
    case("resume-max-cost-nan", "resume", "{tmp}/run", "--max-cost", "nan", fragment="got nan", parse_time=True,
         files=RUN),
    # ---- --out: not empty, not the current folder, not an existing file ---------------------------------
    case("run-out-empty", *RUN_ARGS, "--out", "", fragment="not the current folder", parse_time=True),
    case("run-out-dot", *RUN_ARGS, "--out", ".", fragment="not the current folder", parse_time=True),
    case("run-out-parent", *RUN_ARGS, "--out", "..", fragment="not the current folder", parse_time=True),
    case("run-out-cwd-absolute", *RUN_ARGS, "--out", "{tmp}", fragment="not the current folder", parse_time=True),
    case("run-out-is-a-file", *RUN_ARGS, "--out", "{tmp}/notes.txt", fragment="is an existing file",
         files={"notes.txt": "x"}, parse_time=True),
    case("generate-out-empty", *GEN_ARGS, "--out", "", fragment="not the current folder", parse_time=True),
    case("generate-out-is-a-file", *GEN_ARGS, "-o", "{tmp}/notes.txt", fragment="is an existing file",
         files={"notes.txt": "x"}, parse_time=True),
    case("demo-out-empty", "demo", "--out", "", fragment="not the current folder", parse_time=True),
    case("demo-out-is-a-file", "demo", "--out", "{tmp}/notes.txt", fragment="is an existing file",
         files={"notes.txt": "x"}, parse_time=True),
    case("bench-out-empty", "bench", "overhead", "--out", "", fragment="not the current folder", parse_time=True),
    case("report-out-empty", "report", "{tmp}/run", "--out", "", fragment="not the current folder",
         files=RUN, parse_time=True),
    # ---- --api-base: an http(s) URL with a host --------------------------------------------------------
    case("run-api-base-ftp", *RUN_ARGS, "--api-base", "ftp://example.com", fragment="http:// or https://",
         parse_time=True),
    case("run-api-base-words", *RUN_ARGS, "--api-base", "my server", fragment="'--api-base'", parse_time=True),
    case("run-api-base-no-host", *RUN_ARGS, "--api-base", "http://", fragment="with a host", parse_time=True),
    case("run-api-base-bad-port", *RUN_ARGS, "--api-base", "http://127.0.0.1:99999/v1", fragment="not a URL",
         parse_time=True),
    case("generate-api-base-no-scheme", *GEN_ARGS, "--api-base", "localhost:8000", fragment="http:// or https://",
         parse_time=True),
    case("generate-api-base-empty", *GEN_ARGS, "--api-base", "", fragment="'--api-base'", parse_time=True),
    case("resume-api-base-ftp", "resume", "{tmp}/run", "--api-base", "ftp://x", fragment="'--api-base'",
         files=RUN, parse_time=True),
    case("refine-api-base-space", "refine", "{tmp}/run", "-f", "damp it", "--api-base", "http://a b/",
         fragment="'--api-base'", files=RUN, parse_time=True),
    # ---- other numbers and plain usage errors: one line too ----------------------------------------------
    case("generate-temperature-nan", *GEN_ARGS, "--temperature", "nan", fragment="'--temperature'", parse_time=True),
    case("generate-timeout-inf", *GEN_ARGS, "--timeout", "inf", fragment="finite", parse_time=True),
    case("resume-timeout-nan", "resume", "{tmp}/run", "--timeout", "nan", fragment="'--timeout'", files=RUN,
         parse_time=True),
    case("run-samples-zero", *RUN_ARGS, "-k", "0", fragment="'-k'", parse_time=True),
    case("run-unknown-option", *RUN_ARGS, "--frobnicate", fragment="No such option", parse_time=True),
    case("unknown-command", "frobnicate", fragment="No such command", parse_time=True),
    case("envs-show-missing-argument", "envs", "show", fragment="Missing argument", parse_time=True),
    # ---- instructions and feedback: a size limit stated in the message -----------------------------------
    case("run-instruction-too-long", "run", "x" * (INSTRUCTION_MAX_CHARS + 1), "--env", "pendulum",
         "--model", "replay:standins", fragment=f"over the limit of {INSTRUCTION_MAX_CHARS:,}"),
    case("generate-instruction-too-long", "generate", "y" * (INSTRUCTION_MAX_CHARS * 3), "--env", "pendulum",
         "--model", "replay:standins", fragment="characters long"),
    case("run-instruction-over-named-task", "run", "z" * (INSTRUCTION_MAX_CHARS + 5), *PENDULUM,
         fragment="over the limit"),
    case("refine-feedback-too-long", "refine", "{tmp}/run", "--feedback", "f" * (INSTRUCTION_MAX_CHARS + 1),
         fragment="--feedback is", files=RUN),
    # ---- task files --------------------------------------------------------------------------------------
    case("task-file-latin1", "run", "--task", "{tmp}/task.yaml", "--model", "replay:standins",
         files={"task.yaml": LATIN1}, fragment="is not UTF-8 text (byte 0xe9 at offset"),
    case("task-file-binary", "generate", "--task", "{tmp}/task.yaml", "--model", "replay:standins",
         files={"task.yaml": BINARY}, fragment="is binary, not text"),
    case("task-file-too-large", "run", "--task", "{tmp}/task.yaml", "--model", "replay:standins",
         files={"task.yaml": TASK + "#" * TASK_FILE_MAX_BYTES}, fragment=f"limit of {TASK_FILE_MAX_BYTES // 1024} KB"),
    case("task-file-instruction-too-long", "run", "--task", "{tmp}/task.yaml", "--model", "replay:standins",
         files={"task.yaml": TASK.replace("swing the pole up", "w" * (INSTRUCTION_MAX_CHARS + 1))},
         fragment="'instruction' is"),
    case("task-file-is-a-folder", "run", "--task", "{tmp}/tasks.yaml", "--model", "replay:standins",
         files={"tasks.yaml/inner.txt": "x"}, fragment="is a folder"),
    case("task-file-bad-yaml", "generate", "--task", "{tmp}/task.yaml", "--model", "replay:standins",
         files={"task.yaml": "env: [pendulum\n"}, fragment="is not valid YAML"),
    case("task-file-deep-nesting", "generate", "--task", "{tmp}/task.yaml", "--model", "replay:standins",
         files={"task.yaml": "[" * 20_000}, fragment="task file"),
    # ---- env cards, including REWARD_CODER_CARDS (a bad card is one line for every command) --------------
    case("card-latin1-envs", "envs", files={"cards/mine.yaml": LATIN1}, env={"REWARD_CODER_CARDS": "{tmp}/cards"},
         fragment="mine.yaml: is not UTF-8 text"),
    case("card-latin1-breaks-run-in-one-line", *RUN_ARGS, files={"cards/mine.yaml": LATIN1},
         env={"REWARD_CODER_CARDS": "{tmp}/cards"}, fragment="env card"),
    case("card-latin1-envs-show", "envs", "show", "pendulum", files={"cards/mine.yaml": LATIN1},
         env={"REWARD_CODER_CARDS": "{tmp}/cards"}, fragment="is not UTF-8"),
    case("card-binary", "envs", files={"cards/mine.yml": BINARY}, env={"REWARD_CODER_CARDS": "{tmp}/cards"},
         fragment="is binary"),
    case("card-too-large", "envs", files={"cards/big.yaml": "#" * (CARD_MAX_BYTES + 1)},
         env={"REWARD_CODER_CARDS": "{tmp}/cards"}, fragment=f"limit of {CARD_MAX_BYTES // (1024 * 1024)} MB"),
    case("card-folder-is-a-file", "envs", files={"cards": "not a folder"}, env={"REWARD_CODER_CARDS": "{tmp}/cards"},
         fragment="not a folder"),
    case("card-latin1-in-generate", *GEN_ARGS, files={"cards/x.yaml": _card_text().encode() + b"\n# \xff\n"},
         env={"REWARD_CODER_CARDS": "{tmp}/cards"}, fragment="byte 0xff"),
    # ---- suites and the reward files they name -----------------------------------------------------------
    case("suite-latin1", "bench", "{tmp}/suite.yaml", files={"suite.yaml": LATIN1}, fragment="is not UTF-8"),
    case("suite-binary", "bench", "{tmp}/suite.yaml", files={"suite.yaml": BINARY}, fragment="is binary"),
    case("suite-too-large", "bench", "{tmp}/suite.yaml", files={"suite.yaml": SUITE + "#" * SUITE_MAX_BYTES},
         fragment="larger than the limit of 1 MB"),
    case("suite-negative-seed", "bench", "{tmp}/suite.yaml", files={"suite.yaml": SUITE.replace("[0]", "[-3]")},
         fragment="whole numbers >= 0"),
    case("suite-reward-latin1", "bench", "{tmp}/suite.yaml",
         files={"suite.yaml": REWARD_SUITE, "reward.py": b"def compute_reward():\n    return 1  # \xe9\n"},
         fragment="reward file"),
    case("suite-reward-binary", "bench", "{tmp}/suite.yaml",
         files={"suite.yaml": REWARD_SUITE, "reward.py": BINARY}, fragment="is binary"),
    case("suite-reward-too-large", "bench", "{tmp}/suite.yaml",
         files={"suite.yaml": REWARD_SUITE, "reward.py": "#" * (REWARD_FILE_MAX_BYTES + 1)},
         fragment=f"limit of {REWARD_FILE_MAX_BYTES // 1024} KB"),
    case("bench-folder-suite-json-latin1", "bench", "{tmp}/benchdir",
         files={"benchdir/suite.json": b'{"name": "\xe9"}'}, fragment="is not UTF-8"),
    case("bench-folder-suite-json-wrong", "bench", "{tmp}/benchdir",
         files={"benchdir/suite.json": "[1, 2]"}, fragment="not a suite this version can read"),
    # ---- replay files and journals -----------------------------------------------------------------------
    case("replay-latin1", *GEN_ARGS[:3], "--model", "replay:{tmp}/answers.jsonl", "--out", "{tmp}/gen",
         files={"answers.jsonl": b'{"purpose": "designer", "samples": ["caf\xe9"]}\n'}, fragment="is not UTF-8"),
    case("replay-binary", *GEN_ARGS[:3], "--model", "replay:{tmp}/answers.jsonl", "--out", "{tmp}/gen",
         files={"answers.jsonl": BINARY}, fragment="is binary"),
    case("replay-too-large", *GEN_ARGS[:3], "--model", "replay:{tmp}/answers.jsonl", "--out", "{tmp}/gen",
         files={"answers.jsonl": "\n" * 5000}, fragment="larger than the limit of 4 KB",
         patch=_limit("reward_coder.llm.replay", "REPLAY_MAX_BYTES", 4096)),
    case("bench-answers-latin1", "bench", "answers", "{tmp}/journal.jsonl", "--out", "{tmp}/out/answers.json",
         files={"journal.jsonl": b'{"purpose": "designer", "task_key": "pendulum/swing-up", "x": "\xe9"}\n'},
         fragment="is not UTF-8"),
    case("bench-answers-binary", "bench", "answers", "{tmp}/journal.jsonl", "--out", "{tmp}/out/answers.json",
         files={"journal.jsonl": BINARY}, fragment="is binary"),
    case("bench-answers-not-objects", "bench", "answers", "{tmp}/journal.jsonl", "--out", "{tmp}/out/answers.json",
         files={"journal.jsonl": "[1, 2]\n"}, fragment="not a journal record"),
    case("bench-answers-no-task", "bench", "answers", "{tmp}/journal.jsonl", "--out", "{tmp}/out/answers.json",
         files={"journal.jsonl": '{"purpose": "designer"}\n'}, fragment="names no task_key"),
    # ---- a run folder's own files, read back by resume and refine ----------------------------------------
    case("resume-config-latin1", "resume", "{tmp}/run", files={**RUN, "run/config.json": b'{"env": "\xe9"}'},
         fragment="config.json: is not UTF-8"),
    case("resume-config-binary", "resume", "{tmp}/run", files={**RUN, "run/config.json": BINARY},
         fragment="is binary"),
    case("resume-config-not-json", "resume", "{tmp}/run", files={**RUN, "run/config.json": "{env: pendulum"},
         fragment="is not valid JSON"),
    case("resume-config-a-list", "resume", "{tmp}/run", files={**RUN, "run/config.json": "[1, 2, 3]"},
         fragment="not a run configuration"),
    case("resume-task-latin1", "resume", "{tmp}/run", files={**RUN, "run/task.json": b'{"key": "\xff"}'},
         fragment="task.json: is not UTF-8"),
    case("resume-task-wrong-keys", "resume", "{tmp}/run", files={**RUN, "run/task.json": '{"key": "a/b"}'},
         fragment="not a task record"),
    case("refine-state-latin1", "refine", "{tmp}/run", "-f", "damp it", files={**RUN, "run/state.json": b"\xfe{}"},
         fragment="state.json: is not UTF-8"),
    case("refine-state-wrong", "refine", "{tmp}/run", "-f", "damp it",
         files={**RUN, "run/state.json": '{"iterations_done": "many"}'}, fragment="not a run state"),
    # ---- writes: disk full, read-only folder, no permission ----------------------------------------------
    case("refine-read-only-run-folder", "refine", "{tmp}/run", "-f", "damp it", files=RUN,
         patch=_fail_mkdir_under("run/iterations", errno.EROFS),
         fragment="could not write"),
    case("refine-folder-not-ours", "refine", "{tmp}/run", "-f", "damp it", files=RUN,
         patch=_fail_mkdir_under("run/iterations", errno.EACCES), fragment="Permission denied"),
    case("resume-disk-full", "resume", "{tmp}/run", "--max-cost", "1", files=RUN, patch=_fail_fsync(errno.ENOSPC),
         fragment="No space left on device; free disk space"),
    case("refine-disk-full", "refine", "{tmp}/run", "-f", "damp it", files=RUN, patch=_fail_fsync(errno.ENOSPC),
         fragment="feedback.txt"),
    case("generate-out-read-only", *GEN_ARGS, "--out", "{tmp}/ro/gen", patch=_fail_mkdir_under("ro", errno.EROFS),
         fragment="cannot write to output folder"),
    case("report-disk-full", "report", "{tmp}/run", "--no-video", files=RUN, patch=_fail_fsync(errno.ENOSPC),
         fragment="report.html"),
    case("report-out-read-only", "report", "{tmp}/run", "--no-video", "--out", "{tmp}/ro/report.html", files=RUN,
         patch=_fail_mkdir_under("ro", errno.EROFS), fragment="Read-only file system"),
    case("run-out-not-ours", *RUN_ARGS, "--out", "{tmp}/theirs/run", patch=_fail_mkdir_under("theirs", errno.EACCES),
         fragment="cannot write to output folder"),
    case("bench-answers-out-read-only", "bench", "answers", "{tmp}/journal.jsonl", "--out", "{tmp}/ro/a.json",
         files={"journal.jsonl": '{"purpose": "designer", "task_key": "pendulum/swing-up", "samples": []}\n'},
         patch=_fail_mkdir_under("ro", errno.EROFS), fragment="cannot write to output folder"),
]


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in sorted(root.rglob("*"))}


def _fill(text: str, tmp: Path) -> str:
    return text.replace("{tmp}", str(tmp))


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_is_one_error_line(bad: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, content in bad.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REWARD_CODER_CARDS", raising=False)
    before = _tree(tmp_path)
    if bad.patch is not None:
        bad.patch(monkeypatch, tmp_path)
    env = {key: _fill(value, tmp_path) for key, value in bad.env.items()}
    result = CliRunner().invoke(app, [_fill(arg, tmp_path) for arg in bad.argv], env=env or None)
    monkeypatch.undo()  # the OS again, to look at what was left

    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == bad.code, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # progress lines may come before it
    assert bad.fragment in " ".join(errors[0].split()), errors[0]

    after = _tree(tmp_path)
    left = [name for name in after if name not in before]
    assert not [n for n in left if Path(n).name.endswith(".tmp") or Path(n).name.startswith((".tmp-", ".write-test"))], left
    if bad.parse_time:
        assert after == before, left
    else:
        assert not (tmp_path / "runs").exists(), left
        assert [n for n in left if after[n] == 0 and not n.endswith(".lock")] == [], left


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def test_a_failed_write_leaves_no_temp_file_and_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reward_coder.errors import WriteError
    from reward_coder.store import RunStore

    store = RunStore.create(tmp_path / "run")
    store.write_text("a.txt", "old")

    def fsync(fd: int) -> None:
        raise _oserror(errno.ENOSPC)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(WriteError, match="a.txt': No space left on device; free disk space"):
        store.write_text("a.txt", "new")
    with pytest.raises(WriteError, match="could not append to"):
        store.append_jsonl("journal.jsonl", {"n": 1})
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["a.txt", "journal.jsonl"]
    assert store.read_text("a.txt") == "old"
    assert (tmp_path / "run" / "journal.jsonl").read_bytes() == b""  # the torn line was cut


def test_a_failing_tensorboard_writer_thread_prints_no_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    import threading

    pytest.importorskip("tensorboard")
    from tensorboard.summary.writer.event_file_writer import _AsyncWriter

    from reward_coder.train.tb_callback import quiet_tensorboard_write_failures

    class FullDisk:
        def write(self, data: bytes) -> None:
            raise _oserror(errno.ENOSPC)

        def flush(self) -> None:
            raise _oserror(errno.ENOSPC)

        def close(self) -> None:
            pass

    printed: list[BaseException | None] = []  # what would have reached stderr as "Exception in thread ..."
    previous = threading.excepthook
    threading.excepthook = lambda args: printed.append(args.exc_value)
    try:
        quiet_tensorboard_write_failures()
        writer = _AsyncWriter(FullDisk())
        writer.write(b"event")
        writer._worker.join(timeout=5)
        with pytest.raises(OSError, match="No space left"):  # the training thread still hears of it
            writer.write(b"event")
        other = threading.Thread(target=lambda: 1 / 0)  # any other thread's failure is still shown
        other.start()
        other.join()
    finally:
        threading.excepthook = previous
    assert [type(e) for e in printed] == [ZeroDivisionError]
    assert "Traceback" not in capfd.readouterr().err
