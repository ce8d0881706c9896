"""Checkpoints a rung can trust: atomic, verified, with normalization statistics, replay buffers and RNG streams."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from reward_coder.envs import get_card
from reward_coder.train.checkpoint import CHECKPOINTS, latest_checkpoint, save_checkpoint
from reward_coder.train.sb3 import BUFFER_FILE, NORMALIZE_FILE, TrainJob, train_candidate

UPRIGHT = """import numpy as np

def compute_reward(state, action, next_state):
    up = next_state.cos_theta
    effort = -0.001 * np.sum(action ** 2, axis=1)
    return up + effort, {"up": up, "effort": effort}
"""


def _ppo_job(tmp_path: Path, **changes) -> TrainJob:
    card = get_card("pendulum")
    job = TrainJob(
        candidate_id="c0", card=card, success=card.task("swing-up").success, out_dir=str(tmp_path / "c0"),
        code=UPRIGHT, algorithm="PPO", total_timesteps=256, n_envs=2, seed=3, device="cpu",
        hyperparameters={"n_steps": 64, "batch_size": 64, "n_epochs": 1}, eval_episodes=1, eval_every=128,
        max_episode_steps=50, tensorboard=False, normalize_obs=True, normalize_reward=True,
    )
    return replace(job, **changes)


def _stats(path: Path):
    import pickle

    with open(path, "rb") as handle:
        return pickle.load(handle)


def test_checkpoint_write_is_verified_and_a_torn_one_is_skipped(tmp_path):
    def writer(text):
        return lambda path: path.write_text(text)

    save_checkpoint(tmp_path, 100, {"a.txt": writer("one")})
    save_checkpoint(tmp_path, 200, {"a.txt": writer("two")})
    newest, problems = latest_checkpoint(tmp_path)
    assert newest.timesteps == 200 and problems == ()
    (newest.path("a.txt")).write_text("half")  # a file changed after its hash was taken
    fallback, problems = latest_checkpoint(tmp_path)
    assert fallback.timesteps == 100 and fallback.path("a.txt").read_text() == "one"
    assert len(problems) == 1 and "does not match its hash" in problems[0]
    # a crash before the rename leaves only a temp folder, never a step folder without a manifest
    (tmp_path / CHECKPOINTS / ".tmp-300-1").mkdir()
    assert latest_checkpoint(tmp_path)[0].timesteps == 100


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    for step in (1, 2, 3, 4):
        save_checkpoint(tmp_path, step, {"x": lambda path: path.write_bytes(b"x")})
    kept = sorted(p.name for p in (tmp_path / CHECKPOINTS).iterdir())
    assert kept == ["step-000000000003", "step-000000000004"]


def test_normalization_statistics_survive_a_rung_and_evaluation_freezes_them(tmp_path):
    first = train_candidate(_ppo_job(tmp_path, total_timesteps=128))
    assert first.status == "ok", first.failure
    assert first.normalized
    checkpoint, _ = latest_checkpoint(tmp_path / "c0")
    assert checkpoint.timesteps == 128 and checkpoint.has(NORMALIZE_FILE)
    before = _stats(checkpoint.path(NORMALIZE_FILE))
    # training updates the statistics; evaluations (several episodes in between) must not
    assert before.obs_rms.count == pytest.approx(128 + 2, abs=2)

    second = train_candidate(_ppo_job(tmp_path, total_timesteps=256))
    assert second.status == "ok", second.failure
    after = _stats(latest_checkpoint(tmp_path / "c0")[0].path(NORMALIZE_FILE))
    # continued from the saved statistics: the count carries on instead of starting again
    assert after.obs_rms.count == pytest.approx(256 + 4, abs=4)
    assert [p.timesteps for p in second.curve] == [128, 256]


def test_a_broken_newest_checkpoint_retrains_from_the_one_before(tmp_path):
    job = _ppo_job(tmp_path)
    assert train_candidate(job).status == "ok"
    newest, _ = latest_checkpoint(tmp_path / "c0")
    assert newest.timesteps == 256
    newest.path("model.zip").write_bytes(b"torn")
    again = train_candidate(replace(job, total_timesteps=384))
    assert again.status == "ok", again.failure
    assert any("does not match its hash" in note for note in again.notes)
    assert any("continued from step-000000000128" in note for note in again.notes)
    # the curve drops the point of the broken checkpoint and continues from 128
    assert [p.timesteps for p in again.curve] == [128, 256, 384]


def test_sac_keeps_its_replay_buffer_across_rungs(tmp_path):
    card = get_card("pendulum")
    job = TrainJob(
        candidate_id="sac", card=card, success=card.task("swing-up").success, out_dir=str(tmp_path / "sac"),
        code=UPRIGHT, algorithm="SAC", total_timesteps=120, n_envs=1, seed=0, device="cpu",
        hyperparameters={"learning_starts": 50, "batch_size": 32, "buffer_size": 10_000},
        eval_episodes=1, eval_every=120, max_episode_steps=40, tensorboard=False,
    )
    assert train_candidate(job).status == "ok"
    checkpoint, _ = latest_checkpoint(tmp_path / "sac")
    assert checkpoint.has(BUFFER_FILE)
    assert _stats(checkpoint.path(BUFFER_FILE)).size() == 120
    assert train_candidate(replace(job, total_timesteps=240)).status == "ok"
    buffer = _stats(latest_checkpoint(tmp_path / "sac")[0].path(BUFFER_FILE))
    # 240 transitions: the first rung's 120 were kept (without the buffer file it would be 120)
    assert buffer.size() == 240


def test_a_continuation_draws_new_start_states_instead_of_replaying_the_first(tmp_path):
    """SB3's load() reseeds the envs (rung 0's start states again); the restored RNG streams continue instead."""
    from stable_baselines3 import PPO

    from reward_coder.train.sb3 import RNG_FILE, _read_pickle, _restore_rng, make_vec_env, save_training_state

    card = get_card("pendulum")
    venv = make_vec_env(card, 2, seed=5, max_episode_steps=20)
    model = PPO("MlpPolicy", venv, n_steps=20, batch_size=40, n_epochs=1, seed=5, device="cpu")
    first_starts = venv.reset()
    model.learn(40)
    checkpoint = save_training_state(tmp_path, model, venv, None, [])
    continuing = venv.reset()  # what an uninterrupted run's next episodes start from

    resumed_venv = make_vec_env(card, 2, seed=5, max_episode_steps=20, seed_resets=False)
    resumed = PPO.load(checkpoint.path("model.zip"), env=resumed_venv, device="cpu")
    _restore_rng(_read_pickle(checkpoint.path(RNG_FILE)), resumed, resumed_venv)
    resumed_starts = resumed_venv.reset()
    assert not np.allclose(resumed_starts, first_starts)
    np.testing.assert_allclose(resumed_starts, continuing)

    replayed_venv = make_vec_env(card, 2, seed=5, max_episode_steps=20, seed_resets=False)
    PPO.load(checkpoint.path("model.zip"), env=replayed_venv, device="cpu")  # without restoring the streams
    np.testing.assert_allclose(replayed_venv.reset(), first_starts)  # the trap this guards against
    for env in (venv, resumed_venv, replayed_venv):
        env.close()


def test_checkpoint_manifest_names_every_file(tmp_path):
    assert train_candidate(_ppo_job(tmp_path, total_timesteps=128)).status == "ok"
    checkpoint, _ = latest_checkpoint(tmp_path / "c0")
    manifest = json.loads((checkpoint.folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.zip", "vecnormalize.pkl", "rng.pkl"}
    assert manifest["timesteps"] == 128
