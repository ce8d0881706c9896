"""`reward-coder run --mode latent` offline on stand-in answers, resume, and every training method (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reward_coder.cli.main import app

runner = CliRunner()
TINY = ["--timesteps", "1000", "--episode-steps", "50", "--eval-episodes", "1", "--device", "cpu",
        "--hyperparams", "learning_starts=100,batch_size=64"]


def test_mode_is_checked_before_anything_runs(tmp_path):
    result = runner.invoke(app, ["run", "--task", "hopper/hop-forward-episodic", "--mode", "latentx",
                                 "--model", "replay:standins", "--out", str(tmp_path / "r")])
    assert result.exit_code != 0 and "--mode must be reward or latent" in result.output
    assert not (tmp_path / "r").exists()
    result = runner.invoke(app, ["run", "--task", "hopper/hop-forward", "--episode-steps", "50",
                                 "--model", "replay:standins", "--out", str(tmp_path / "r")])
    assert result.exit_code != 0 and "--mode latent only" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("task, file", [("hopper/hop-forward-episodic", "hopper-hop-forward-episodic"),
                                        ("halfcheetah/run-forward-episodic", "halfcheetah-run-forward-episodic")])
def test_latent_run_offline_then_resume(tmp_path, task, file):
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["run", "--task", task, "--mode", "latent", "--model", "replay:standins",
                                 "-k", "4", "--out", str(run_dir), *TINY])
    assert result.exit_code == 0, result.output
    assert "latent factors (verified)" in result.output and "decoder attributions" in result.output
    latent = run_dir / "latent"
    design = json.loads((latent / "design.json").read_text())
    assert design["chosen"] == "verified"
    assert [s["status"] for s in design["samples"]].count("ok") >= 1
    assert any(s["status"] != "ok" for s in design["samples"])  # the broken stand-ins were caught
    for name in ("f0.py", "f0.response.md", "f0.json", "verified.py", "verified.json"):
        assert (latent / "samples" / name).exists()
    assert (latent / "prompts" / "designer" / "0_system.txt").exists()
    assert (latent / "prompts" / "verifier" / "1_user.txt").exists()
    train = latent / "train" / "latent-seed-0"
    curve = json.loads((train / "decoder_curve.json").read_text())
    assert curve["updates"] and curve["updates"] == sorted(curve["updates"])
    summary = json.loads((latent / "summary.json").read_text())
    shares = summary["attributions"]["shares"]
    assert set(shares) == {f["name"] for f in design["factors"]} and abs(sum(shares.values()) - 1) < 1e-6
    journal = [json.loads(line) for line in (run_dir / "llm_journal.jsonl").read_text().splitlines()]
    assert {r.get("purpose") for r in journal} >= {"latent_designer", "latent_verifier"}

    # resume: no new LLM call, training continues from the checkpoint (nothing left to train at this budget)
    result = runner.invoke(app, ["resume", str(run_dir)])
    assert result.exit_code == 0, result.output
    journal_again = (run_dir / "llm_journal.jsonl").read_text().splitlines()
    assert len(journal_again) == len(journal)
    again = json.loads((latent / "summary.json").read_text())
    assert "continued from step-000000001000" in again["outcome"]["notes"]
    assert json.loads((train / "decoder_curve.json").read_text()) == curve

    from reward_coder.report import build_report

    html = build_report(run_dir, video=False).html
    assert 'id="latent"' in html and design["factors"][0]["name"] in html


@pytest.mark.slow
def test_every_method_trains_and_a_continuation_extends_the_decoder_curve(tmp_path):
    from dataclasses import replace

    from reward_coder.latent.decoder import DecoderConfig
    from reward_coder.latent.train import METHODS, LatentJob, raw_state_factor_code, train_latent
    from reward_coder.tasks import resolve_task

    task = resolve_task("hopper/hop-forward-episodic", None, None)
    for method in METHODS:
        code, names = raw_state_factor_code(task.card) if method in ("rrd", "latent") else (None, ())
        job = LatentJob(method, task.card, task.success, str(tmp_path / method), method=method, factor_code=code,
                        factor_names=names, total_timesteps=300, eval_every=150, eval_episodes=1,
                        max_episode_steps=40, device="cpu", hyperparameters={"learning_starts": 50, "batch_size": 32},
                        fit_every=50, fit_updates=10, decoder=DecoderConfig(subsequence=16, episodes_per_batch=8))
        first = train_latent(replace(job, total_timesteps=150))
        assert first.status == "ok", first.failure
        outcome = train_latent(job)
        assert outcome.status == "ok" and outcome.timesteps == 300, outcome.failure
        assert [p.timesteps for p in outcome.curve] == [150, 300]
        assert any("continued from" in note for note in outcome.notes)
        if method in ("latent", "rrd"):
            curve = json.loads((Path(job.out_dir) / "decoder_curve.json").read_text())
            assert curve["env_steps"][-1] == 300 and len(curve["loss"]) == 6
