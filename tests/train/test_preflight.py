"""Preflight: a setup that cannot train stops with one line before any LLM call (issue 15, item 4)."""

import dataclasses

import pytest
from typer.testing import CliRunner

from reward_coder.cli.main import app
from reward_coder.config import RunConfig
from reward_coder.errors import ConfigError
from reward_coder.loop import candidate_job
from reward_coder.tasks import resolve_task
from reward_coder.train.preflight import check_device, check_disk, preflight_job


def _job(tmp_path, **train_changes):
    task = resolve_task("pendulum/swing-up", None, None)
    if train_changes:
        train = dataclasses.replace(task.card.train, **train_changes)
        task = dataclasses.replace(task, card=dataclasses.replace(task.card, train=train))
    config = RunConfig(instruction=task.instruction, env=task.card.id, task=task.key, model="replay:standins")
    return candidate_job(config, task, "preflight", "", tmp_path, 0)


def test_the_cards_own_setup_passes(tmp_path):
    preflight_job(_job(tmp_path), tmp_path, source="card 'pendulum'")


@pytest.mark.parametrize("changes, expected", [
    ({"algorithm": "PPOX"}, "unknown algorithm 'PPOX'"),
    ({"hyperparameters": {"learning_rat": 0.001}}, "learning_rat"),
    ({"hyperparameters": {"policy_kwargs": {"activation_fn": "sigmoidish"}}}, "sigmoidish"),
])
def test_a_wrong_algorithm_or_hyperparameter_is_one_line_naming_it(tmp_path, changes, expected):
    with pytest.raises(ConfigError) as caught:
        preflight_job(_job(tmp_path, **changes), tmp_path, source="card 'pendulum'")
    assert expected in str(caught.value) and "card 'pendulum'" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unknown_or_absent_device_is_refused():
    with pytest.raises(ConfigError, match="tpu9"):
        check_device("tpu9")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no GPU"):
            check_device("cuda")
    assert check_device("cpu") == "cpu"


def test_too_little_disk_space_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="MB free"):
        check_disk(tmp_path, min_free_mb=10**12)
    check_disk(tmp_path / "not" / "yet", min_free_mb=1)


def test_run_with_a_bad_device_makes_no_llm_call_and_says_one_line(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "replay:standins",
                                      "--device", "tpu9", "--out", str(out)])
    assert result.exit_code != 0
    assert "tpu9" in result.output and "Traceback" not in result.output
    assert not out.exists()  # refused before the run folder was made: nothing to clean up
