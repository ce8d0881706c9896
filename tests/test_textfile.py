"""The shared reader: UTF-8 or one clear line, binary refused, size limits stated, a torn journal tail survived."""

from __future__ import annotations

from pathlib import Path

import pytest

from reward_coder.errors import CardError, ConfigError
from reward_coder.store import RunStore
from reward_coder.textfile import check_text_length, read_json_file, read_text_file


def test_utf8_text_is_read_and_a_byte_order_mark_dropped(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_bytes("\ufeffinstruction: café\n".encode("utf-8"))
    assert read_text_file(path, "task file", limit_bytes=1024) == "instruction: café\n"


def test_a_bad_byte_names_the_file_the_byte_and_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_bytes(b"id: ok\nname: caf\xe9\n")
    with pytest.raises(CardError, match=r"env card .*card.yaml: is not UTF-8 text \(byte 0xe9 at offset 16\)"):
        read_text_file(path, "env card", limit_bytes=1024, error=CardError)


def test_binary_content_and_size_are_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_bytes(b"abc\x00def")
    with pytest.raises(ConfigError, match=r"is binary, not text \(a NUL byte at offset 3\)"):
        read_text_file(path, "reward file", limit_bytes=1024)
    path.write_bytes(b"a" * 2049)
    with pytest.raises(ConfigError, match="larger than the limit of 2 KB"):
        read_text_file(path, "reward file", limit_bytes=2048)
    with pytest.raises(ConfigError, match="cannot be read"):
        read_text_file(tmp_path / "missing.py", "reward file", limit_bytes=2048)


def test_json_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{\n  "a": 1,\n  oops\n}')
    with pytest.raises(ConfigError, match="line 3 column 3 is not valid JSON"):
        read_json_file(path, "run file")


def test_text_length_limit_is_in_the_message() -> None:
    assert check_text_length("swing up", "the task instruction") == "swing up"
    with pytest.raises(ConfigError, match="11 characters long, over the limit of 10"):
        check_text_length("x" * 11, "the task instruction", 10)


def test_a_journal_cut_inside_a_character_keeps_its_whole_lines(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    store.append_jsonl("journal.jsonl", {"answer": "é"})
    with open(tmp_path / "journal.jsonl", "ab") as handle:
        handle.write('{"answer": "é'.encode("utf-8")[:-1])  # a crash between the two bytes of é
    assert store.read_jsonl("journal.jsonl") == [{"answer": "é"}]
