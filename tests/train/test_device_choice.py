"""--device as an expert would choose it: CPU for MLP policies, CUDA for CNN policies and the latent
decoder when a GPU is visible; 'cuda' forced is refused clearly without one; the choice and its
reason are recorded in every outcome, and a job says what it needs of a cluster (CPUs, a GPU share)."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from reward_coder.bench.suite import SUITES_DIR
from reward_coder.envs import get_card
from reward_coder.errors import ConfigError
from reward_coder.outcomes import TrainOutcome, outcome_from_dict, outcome_to_dict
from reward_coder.train.sb3 import GPU_SHARE, TrainJob, choose_device, policy_name, train_candidate

STANDIN = (Path(SUITES_DIR) / "rewards" / "pendulum-swing-up.handwritten-standin.py").read_text()


@pytest.fixture
def gpu_visible(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def image_policy() -> str:
    import gymnasium as gym

    return policy_name(gym.spaces.Box(0, 255, (64, 64, 3), np.uint8))


def test_auto_with_a_gpu_puts_mlps_on_cpu_and_cnns_and_the_decoder_on_cuda(gpu_visible):
    device, reason = choose_device("auto", "MlpPolicy", "policy")
    assert (device, reason) == ("cpu", "auto: MlpPolicy trains faster on CPU (SB3's own advice)")
    assert image_policy() == "CnnPolicy"
    assert choose_device("auto", image_policy(), "policy") == ("cuda", "auto: CnnPolicy on a visible GPU")
    device, reason = choose_device("auto", "MlpPolicy", "decoder")
    assert device == "cuda" and "decoder" in reason
    # a wide MLP is no longer small: it gets the GPU, and the reason says why
    device, reason = choose_device("auto", "MlpPolicy", "policy", {"policy_kwargs": {"net_arch": [1024, 1024]}})
    assert device == "cuda" and "1024" in reason
    device, _ = choose_device("auto", "MlpPolicy", "policy", {"policy_kwargs": {"net_arch": dict(pi=[64], qf=[256])}})
    assert device == "cpu"


def test_auto_without_a_gpu_is_cpu_for_everything(no_gpu):
    for policy, what in (("MlpPolicy", "policy"), ("CnnPolicy", "policy"), ("MlpPolicy", "decoder")):
        assert choose_device("auto", policy, what) == ("cpu", "auto: no CUDA device visible")


def test_cpu_and_cuda_are_obeyed(gpu_visible):
    assert choose_device("cpu", "CnnPolicy")[0] == "cpu"
    device, reason = choose_device("cuda", "MlpPolicy")
    assert device == "cuda" and "--device cuda" in reason
    assert choose_device("cuda:1", "MlpPolicy")[0] == "cuda:1"


def test_cuda_without_a_gpu_is_a_clear_error(no_gpu):
    with pytest.raises(ConfigError, match=r"--device cuda asks for CUDA, but torch.cuda.is_available\(\) is False"):
        choose_device("cuda", "MlpPolicy")


def test_the_latent_decoder_uses_the_same_choice(gpu_visible):
    from reward_coder.latent.decoder import resolve_device

    assert resolve_device("auto") == "cuda"
    assert resolve_device("cpu") == "cpu"


def fast_job(tmp_path, card_id: str = "pendulum", device: str = "auto", **changes) -> TrainJob:
    card = get_card(card_id)
    hyperparameters = {**card.train.hyperparameters, "n_steps": 64, "batch_size": 64, "n_epochs": 1}
    return TrainJob(candidate_id="dev", card=card, success=card.tasks[0].success, out_dir=str(tmp_path / "c"),
                    code=STANDIN, algorithm="PPO", total_timesteps=256, n_envs=2, seed=0, device=device,
                    hyperparameters=hyperparameters, eval_episodes=1, eval_every=256,
                    max_episode_steps=card.train.max_episode_steps, tensorboard=False, **changes)


def test_a_job_declares_its_cluster_resources(tmp_path, monkeypatch):
    job = fast_job(tmp_path)
    assert job.resources_cpus == 1.0
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert job.resources_gpus == 0.0  # an MLP trains on CPU: it needs no GPU share
    assert fast_job(tmp_path, device="cuda").resources_gpus == GPU_SHARE
    assert fast_job(tmp_path, card_id="crafter-pixels").resources_gpus == GPU_SHARE  # pixels: CnnPolicy
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert fast_job(tmp_path, card_id="crafter-pixels").resources_gpus == 0.0
    assert pickle.loads(pickle.dumps(job)) == job  # properties, not fields: the job pickles as before


def test_gpus_per_job_sets_the_share_of_cuda_jobs_only(tmp_path, monkeypatch):
    from reward_coder.config import RunConfig
    from reward_coder.loop import candidate_job
    from reward_coder.tasks import resolve_task

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    task = resolve_task("pendulum/swing-up", None, None)
    half = RunConfig(instruction="x", env="pendulum", task=task.key, device="cuda", gpus_per_job=0.5)
    assert candidate_job(half, task, "c", STANDIN, tmp_path, 0).resources_gpus == 0.5
    assert candidate_job(replace(half, gpus_per_job=None), task, "c", STANDIN, tmp_path, 0).resources_gpus == GPU_SHARE
    on_cpu = replace(half, device="auto")  # an MLP on auto trains on CPU: no GPU share, whatever was asked
    assert candidate_job(on_cpu, task, "c", STANDIN, tmp_path, 0).resources_gpus == 0.0
    assert RunConfig.from_dict(half.to_dict()).gpus_per_job == 0.5  # resume keeps it


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "nan"])
def test_gpus_per_job_rejects_what_ray_cannot_schedule(value, tmp_path):
    from typer.testing import CliRunner

    from reward_coder.cli.main import app

    result = CliRunner().invoke(app, ["run", "--task", "pendulum/swing-up", "--model", "scripted", "--gpus-per-job",
                                      value, "--out", str(tmp_path / "r")])
    assert result.exit_code != 0 and "share of one GPU" in " ".join(result.output.split())
    assert not (tmp_path / "r").exists()


def test_the_outcome_keeps_the_reason_and_old_records_still_load():
    outcome = TrainOutcome("c", "ok", 10, device="cpu", device_reason="auto: no CUDA device visible")
    assert outcome_from_dict(outcome_to_dict(outcome)) == outcome
    old = outcome_to_dict(outcome)
    del old["device_reason"]
    assert outcome_from_dict(old).device_reason == ""


def test_a_tiny_real_training_records_its_device_and_why(tmp_path):
    outcome = train_candidate(fast_job(tmp_path))
    assert outcome.status == "ok", outcome.failure
    assert outcome.device == "cpu" and outcome.device_reason.startswith("auto: ")
    assert outcome_from_dict(outcome_to_dict(outcome)).device_reason == outcome.device_reason


def test_a_forced_cuda_without_a_gpu_fails_the_job_with_the_reason(tmp_path, no_gpu):
    outcome = train_candidate(fast_job(tmp_path, device="cuda"))
    assert outcome.status == "crashed" and "torch.cuda.is_available() is False" in outcome.failure
