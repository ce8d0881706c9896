"""`resume` and `refine` keep the executor and Ray address a run was started with (executor.json);
--executor/--address override them, and the override is recorded. Offline: stand-in answers, a
stand-in trainer, and a make_executor that records what it is asked for and runs jobs inline."""

from __future__ import annotations

import functools
import json

import pytest
from typer.testing import CliRunner

from reward_coder.cli.main import app
from reward_coder.outcomes import TrainOutcome
from reward_coder.store import RunStore
from reward_coder.train.sb3 import TrainJob

runner = CliRunner()


def quick_train(job: TrainJob) -> TrainOutcome:
    """A stand-in for training: every candidate 'succeeds' half the time, at once."""
    episodes = [dict(length=200, terminated=False, native_return=-200.0, success=i < 5, metric=0.5,
                     field_means={}, field_finals={}, term_sums={}) for i in range(10)]
    evaluation = dict(success_rate=0.5, metric_mean=0.5, native_return_mean=-200.0, native_return_std=0.0,
                      length_mean=200.0, episodes=episodes, term_stats={})
    return TrainOutcome(job.candidate_id, "ok", job.total_timesteps, eval=evaluation, seed=job.seed,
                        eval_seed=job.eval_seed, device="cpu", device_reason="stand-in")


@pytest.fixture
def asked(monkeypatch):
    """What each command asked make_executor for: (kind, address)."""
    import reward_coder.loop as loop
    import reward_coder.train.executor as executor_module

    calls: list[tuple[str, str | None]] = []

    def recording_make_executor(kind="local", workers=0, address=None, gpus_per_job=None, storage=None):
        calls.append((kind, address) + ((storage,) if storage else ()))
        return executor_module.InlineExecutor()

    monkeypatch.setattr(executor_module, "make_executor", recording_make_executor)
    monkeypatch.setattr(loop, "LoopServices", functools.partial(loop.LoopServices, train=quick_train))
    return calls


def start(run_dir, *extra: str):
    result = runner.invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "replay:standins", "-k", "2",
                                 "--iterations", "1", "--timesteps", "1000", "--eval-episodes", "1",
                                 "--finalists", "0", "--no-critic", "--out", str(run_dir), *extra])
    assert result.exit_code == 0, result.stderr + result.stdout
    return result


def test_resume_keeps_the_executor_the_run_started_with(tmp_path, asked):
    run_dir = tmp_path / "run"
    start(run_dir, "--executor", "inline")
    assert asked == [("inline", None)]
    record = json.loads((run_dir / "executor.json").read_text())
    assert (record["executor"], record["address"]) == ("inline", None)

    result = runner.invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("inline", None)  # no flags: the run's own executor

    result = runner.invoke(app, ["resume", str(run_dir), "--executor", "local"])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("local", None)  # an explicit one overrides ...
    record = json.loads((run_dir / "executor.json").read_text())
    assert record["executor"] == "local"  # ... and is recorded, with what came before
    assert [h["command"] for h in record["history"]] == ["run", "resume"]
    assert "overrides inline" in record["history"][-1]["note"]

    result = runner.invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("local", None)


def test_an_address_given_at_run_is_kept_by_resume_and_refine(tmp_path, asked):
    run_dir = tmp_path / "run"
    start(run_dir, "--executor", "ray", "--address", "ray://head:10001")
    assert asked == [("ray", "ray://head:10001")]

    result = runner.invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("ray", "ray://head:10001")

    result = runner.invoke(app, ["refine", str(run_dir), "--feedback", "swing up faster"])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("ray", "ray://head:10001")

    # a new address alone keeps the executor; another executor does not inherit the old address
    result = runner.invoke(app, ["resume", str(run_dir), "--address", "ray://other:10001"])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("ray", "ray://other:10001")
    result = runner.invoke(app, ["resume", str(run_dir), "--executor", "inline"])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("inline", None)


def test_a_ray_storage_location_is_kept_by_resume_overridden_or_cleared_and_refused_without_ray(tmp_path, asked):
    run_dir, storage = tmp_path / "run", tmp_path / "nfs" / "rc"
    start(run_dir, "--executor", "ray", "--address", "ray://head:10001", "--ray-storage", str(storage))
    assert asked == [("ray", "ray://head:10001", str(storage))]
    assert json.loads((run_dir / "executor.json").read_text())["storage"] == str(storage)

    result = runner.invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("ray", "ray://head:10001", str(storage))
    result = runner.invoke(app, ["resume", str(run_dir), "--address", "ray://other:10001"])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("ray", "ray://other:10001", str(storage))  # a new address keeps the storage
    result = runner.invoke(app, ["refine", str(run_dir), "--feedback", "hold it longer", "--ray-storage", "s3://b/p"])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("ray", "ray://other:10001", "s3://b/p")
    result = runner.invoke(app, ["resume", str(run_dir), "--ray-storage", ""])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("ray", "ray://other:10001")  # cleared: files travel through Ray again
    record = json.loads((run_dir / "executor.json").read_text())
    assert record["storage"] is None and "with storage s3://b/p" in record["history"][-1]["note"]
    result = runner.invoke(app, ["resume", str(run_dir), "--executor", "local", "--ray-storage", str(storage)])
    assert result.exit_code == 2 and "--ray-storage applies to --executor ray, not local" in result.stderr
    count = len(asked)
    result = runner.invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "replay:standins",
                                 "--ray-storage", str(storage), "--out", str(tmp_path / "run2")])
    assert result.exit_code == 2 and "--ray-storage applies to --executor ray, not local" in result.stderr
    assert not (tmp_path / "run2").exists() and len(asked) == count


def test_a_run_without_a_recorded_executor_resumes_locally(tmp_path, asked):
    run_dir = tmp_path / "run"
    start(run_dir, "--executor", "inline")
    (run_dir / "executor.json").unlink()  # a run of an older version
    assert RunStore(run_dir).read_executor() == ("local", None, None)
    result = runner.invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.stderr + result.stdout
    assert asked[-1] == ("local", None)


def test_an_unknown_executor_is_one_clear_line(tmp_path, asked):
    result = runner.invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "replay:standins",
                                 "--executor", "slurm", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "unknown executor 'slurm'" in result.stderr
    assert not (tmp_path / "run").exists() and asked == []
