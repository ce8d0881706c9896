"""The run store writes whole files or nothing, and reads back what a crash left."""

import json

import pytest

from reward_coder.config import RunConfig
from reward_coder.errors import ConfigError
from reward_coder.store import RunStore, make_run_id


def test_atomic_write_leaves_no_temp_files(tmp_path):
    store = RunStore.create(tmp_path / "run")
    store.write_json("a/b.json", {"x": (1, 2)})
    store.write_text("a/c.txt", "hello")
    assert store.read_json("a/b.json") == {"x": [1, 2]}
    assert sorted(p.name for p in (tmp_path / "run" / "a").iterdir()) == ["b.json", "c.txt"]


def test_jsonl_survives_a_torn_last_line(tmp_path):
    store = RunStore.create(tmp_path)
    store.append_jsonl("journal.jsonl", {"n": 1})
    store.append_jsonl("journal.jsonl", {"n": 2})
    with open(tmp_path / "journal.jsonl", "a") as handle:
        handle.write('{"n": 3, "trunc')  # a crash mid-write
    assert store.read_jsonl("journal.jsonl") == [{"n": 1}, {"n": 2}]


def test_paths_cannot_leave_the_run_folder(tmp_path):
    store = RunStore.create(tmp_path / "run")
    with pytest.raises(ValueError):
        store.write_text("../escape.txt", "x")
    assert not (tmp_path / "escape.txt").exists()


def test_unwritable_folder_is_a_clear_error_even_for_root(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="cannot write to output folder .*--out"):
        RunStore.create(blocker / "run")


def test_config_round_trips_and_ignores_unknown_keys(tmp_path):
    config = RunConfig(instruction="run", env="halfcheetah", samples=3)
    store = RunStore.create(tmp_path)
    store.write_json("config.json", config)
    data = store.read_json("config.json")
    data["a_key_from_a_newer_version"] = 1
    assert RunConfig.from_dict(data) == config


def test_run_id_is_readable():
    run_id = make_run_id("HalfCheetah-v5", "Make the cheetah run BACKWARDS!", 3, now=0)
    assert run_id.startswith("halfcheetah-v5__make-the-cheetah-run-backwards__3__")
    assert json.dumps(run_id)
