"""Tasks from a card, from a file written by a person, or from free text."""

import pytest

from reward_coder.errors import CardError, ConfigError, UnknownEnvError
from reward_coder.tasks import resolve_task, task_from_record
from reward_coder.types import to_jsonable

GOOD = """env: pendulum
name: hold-still
instruction: Hold the pendulum upright without moving.
success:
  kind: field_mean_below
  params: {field: angular_velocity, threshold: 0.5, abs: true}
  description: mean |angular velocity| below 0.5 rad/s
total_timesteps: 12000
"""


def test_named_task():
    task = resolve_task("pendulum/swing-up", None, None)
    assert task.key == "pendulum/swing-up" and task.named and task.success.params["field"] == "cos_theta"


def test_task_file(tmp_path):
    path = tmp_path / "hold.yaml"
    path.write_text(GOOD)
    task = resolve_task(str(path), None, None)
    assert task.key == "pendulum/hold-still" and task.total_timesteps == 12000
    assert task.success.kind == "field_mean_below" and task.success.params["abs"] is True
    record = {"key": task.key, "instruction": task.instruction, "env": task.card.id,
              "success": to_jsonable(task.success), "total_timesteps": task.total_timesteps}
    assert task_from_record(record) == task


@pytest.mark.parametrize(
    "text, needle",
    [
        ("env: pendulum\ninstruction: x\n", "missing key 'success'"),
        ("env: pendulum\ninstruction: x\nsuccess: {kind: field_mean_above, params: {field: wingspan, threshold: 1}}\n", "unknown field 'wingspan'"),
        ("env: pendulum\ninstruction: x\nsuccess: {kind: vibes, params: {}}\n", "success kind 'vibes' is unknown"),
        ("env: pendulum\ninstruction: x\nsuccess: {kind: field_mean_above, params: {field: theta}}\n", "needs parameter 'threshold'"),
        ("env: pendulum\ninstruction: [x\n", "line 3 column 1: is not valid YAML"),
        ("env: pendulum\ninstruction: '  '\nsuccess: {kind: info_flag, params: {key: s}}\n", "non-empty string"),
    ],
)
def test_task_file_errors_name_file_and_key(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CardError) as err:
        resolve_task(str(path), None, None)
    assert needle in str(err.value) and "bad.yaml" in str(err.value)


def test_task_file_with_unknown_env(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(GOOD.replace("env: pendulum", "env: Teleporter-v0"))
    with pytest.raises(UnknownEnvError):
        resolve_task(str(path), None, None)


def test_free_text_equal_to_a_named_task_is_that_task():
    task = resolve_task(None, "swing the pendulum up so it points straight up, and keep it balanced there.", "Pendulum-v1")
    assert task.key == "pendulum/swing-up" and task.named


def test_free_text_gets_a_stable_key():
    first = resolve_task(None, "spin slowly", "pendulum")
    assert first.key == resolve_task(None, "spin slowly", "pendulum").key and first.key.startswith("pendulum/custom-")
    assert not first.named


@pytest.mark.parametrize("instruction, env, needle", [("", "pendulum", "task is empty"), ("go", None, "--env")])
def test_free_text_errors(instruction, env, needle):
    with pytest.raises(ConfigError, match=needle):
        resolve_task(None, instruction, env)
