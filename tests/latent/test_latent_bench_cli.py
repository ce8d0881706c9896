"""`reward-coder bench latent`: the comparison from the command line, its files, its resume and its bad inputs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reward_coder.cli.main import app

TASK = "hopper/hop-forward-episodic"


def bench(*args: str):
    return CliRunner().invoke(app, ["bench", "latent", *args])


def test_a_tiny_comparison_writes_its_table_and_curves_and_a_rerun_only_reevaluates(tmp_path):
    out = tmp_path / "latent-bench"
    args = [TASK, "--methods", "ircr,episodic", "--seeds", "0", "--timesteps", "300", "--eval-every", "300",
            "--eval-episodes", "1", "--episode-steps", "50", "--out", str(out)]
    first = bench(*args)
    assert first.exit_code == 0, first.output
    result = json.loads((out / "results.json").read_text())
    assert set(result["results"][TASK]) == {"ircr", "episodic"}
    assert result["bench"]["total_timesteps"] == 300 and result["bench"]["seeds"] == [0]
    for method in ("ircr", "episodic"):
        row = result["results"][TASK][method]
        assert row["native_return"]["n"] == 1 and row["failed"] == {}
        assert row["curve"][-1]["timesteps"] == 300
    assert "| ircr |" in (out / "results.md").read_text() and "| episodic |" in first.output
    assert (out / "curves-hopper__hop-forward-episodic.png").stat().st_size > 1000
    assert json.loads((out / "bench.json").read_text())["bench"]["methods"] == ["ircr", "episodic"]

    models = sorted((out / "hopper__hop-forward-episodic").rglob("model.zip"))
    assert len(models) == 2
    stamps = [model.stat().st_mtime_ns for model in models]
    again = bench(*args)
    assert again.exit_code == 0, again.output
    # the budget was reached: the rerun evaluates the saved policies and trains nothing more
    assert sorted((out / "hopper__hop-forward-episodic").rglob("model.zip")) == models
    assert [model.stat().st_mtime_ns for model in models] == stamps


@pytest.mark.parametrize("args, fragment", [
    ([], "usage: reward-coder bench latent TASK"),
    (["hopper/hop-forward"], "is not one: use a task whose name ends in -episodic"),
    ([TASK, "--seeds", "0,x"], "--seeds takes comma-separated integers"),
    ([TASK, "--seeds", "1,1"], "distinct non-negative"),
    ([TASK, "--methods", "latent,magic"], "--methods: unknown magic"),
])
def test_bad_inputs_stop_before_anything_trains(tmp_path, args, fragment):
    result = bench(*args, "--out", str(tmp_path / "b"))
    assert result.exit_code != 0
    assert fragment in " ".join(result.output.split())
    assert not (tmp_path / "b").exists()


def test_factors_from_must_be_a_latent_run(tmp_path):
    result = bench(TASK, "--factors-from", str(tmp_path), "--out", str(tmp_path / "b"))
    assert result.exit_code != 0 and "not a latent-mode run folder" in " ".join(result.output.split())
