"""The callback that keeps factors beside SAC's replay buffer, fits the decoder and relabels rewards
(issue 11, item 3), driven step by step as SB3's collect_rollouts drives it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from reward_coder.latent.decoder import DecoderConfig, EpisodeStore, RewardDecoder  # noqa: E402
from reward_coder.latent.relabel import DecodedRewardCallback, FactorTap  # noqa: E402

N_ENVS, N_FACTORS, BUFFER = 2, 2, 64


def fake_model():
    buffer = SimpleNamespace(pos=0, buffer_size=BUFFER, full=False, rewards=np.zeros((BUFFER, N_ENVS), np.float32))
    return SimpleNamespace(replay_buffer=buffer, num_timesteps=0)


def drive(callback, model, steps, rewards_of, factors_of=None, tap=None, lengths=(3, 5)):
    """`steps` env steps: env i's episodes last lengths[i]; SB3 stores each transition after the callback."""
    t = [0] * N_ENVS
    for step in range(steps):
        dones = np.zeros(N_ENVS, bool)
        infos = [{} for _ in range(N_ENVS)]
        rewards = np.zeros(N_ENVS, np.float32)
        for env in range(N_ENVS):
            t[env] += 1
            if t[env] == lengths[env]:
                dones[env] = True
                infos[env]["episode_native_return"] = rewards_of(env, step)
                t[env] = 0
        if tap is not None:
            tap.last_factors = factors_of(step)
        callback.locals = {"rewards": rewards, "dones": dones, "infos": infos}
        model.num_timesteps += N_ENVS
        callback._on_step()
        buffer = model.replay_buffer
        buffer.rewards[buffer.pos] = rewards  # what _store_transition does with the (possibly rewritten) array
        buffer.pos += 1


def test_uniform_redistribution_gives_every_step_of_an_episode_its_share():
    callback = DecodedRewardCallback(redistribution="uniform", n_envs=N_ENVS)
    model = fake_model()
    callback.model = model
    drive(callback, model, 10, rewards_of=lambda env, step: 30.0 if env == 0 else 10.0)
    rewards = model.replay_buffer.rewards
    np.testing.assert_allclose(rewards[:9, 0], 10.0)  # three whole episodes of 3 steps, R = 30
    assert rewards[9, 0] == 0.0  # an episode under way has no share yet
    np.testing.assert_allclose(rewards[:10, 1], 2.0)  # two whole episodes of 5 steps, R = 10


def test_decoder_mode_stores_whole_episodes_and_relabels_the_buffer_with_the_fitted_decoder():
    decoder = RewardDecoder(N_FACTORS, DecoderConfig(hidden=(), subsequence=8, episodes_per_batch=8,
                                                     learning_rate=5e-2), device="cpu", factor_names=("a", "b"))
    store = EpisodeStore(N_FACTORS)
    tap = FactorTap(factor_fn=None, names=("a", "b"), decoder=decoder)
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(40, N_ENVS, N_FACTORS))
    true_reward = lambda rows: 2.0 * rows[..., 0] - rows[..., 1]  # noqa: E731
    callback = DecodedRewardCallback(redistribution="decoder", n_envs=N_ENVS, tap=tap, decoder=decoder, store=store,
                                     fit_every=20, fit_updates=150)
    model = fake_model()
    callback.model = model
    starts = [0, 0]

    def episode_return(env, step):
        value = float(true_reward(factors[starts[env]: step + 1, env]).sum())
        starts[env] = step + 1
        return value

    drive(callback, model, 40, rewards_of=episode_return, factors_of=lambda step: factors[step], tap=tap)
    assert len(store) == 13 + 8  # env 0: 13 episodes of 3 steps, env 1: 8 of 5
    np.testing.assert_allclose(store.factors[0], factors[:3, 0])  # rows in step order, the env's own
    assert callback.relabels == 4 and decoder.updates == 600  # every 20 env steps (10 steps of 2 envs)
    stored = model.replay_buffer.rewards[:40]
    decoded = decoder.predict(factors.reshape(-1, N_FACTORS)).reshape(40, N_ENVS)
    # rows up to the last fit were relabelled by it; later ones got the decoder's reward as they came
    np.testing.assert_allclose(stored, decoded, rtol=1e-4, atol=1e-4)
    error = np.abs(decoded - true_reward(factors)).mean() / np.abs(true_reward(factors)).mean()
    assert error < 0.1, f"decoded reward off by {error:.2f} of the true one"


def test_checkpointed_state_keeps_the_filled_buffer_and_drops_unfinished_episodes():
    decoder = RewardDecoder(N_FACTORS, DecoderConfig(hidden=()), device="cpu")
    tap = FactorTap(factor_fn=None, names=("a", "b"), decoder=decoder)
    callback = DecodedRewardCallback(redistribution="decoder", n_envs=N_ENVS, tap=tap, decoder=decoder,
                                     store=EpisodeStore(N_FACTORS), fit_every=10_000)
    model = fake_model()
    callback.model = model
    drive(callback, model, 7, rewards_of=lambda env, step: 1.0, factors_of=lambda step: np.full((2, 2), step),
          tap=tap)
    state = callback.state_dict()
    shape, filled = state["factor_buffer"]
    assert shape == (BUFFER, N_ENVS, N_FACTORS) and filled.shape == (7, N_ENVS, N_FACTORS)
    again = DecodedRewardCallback(redistribution="decoder", n_envs=N_ENVS, tap=tap, decoder=decoder,
                                  store=EpisodeStore(N_FACTORS))
    again.load_state_dict(state)
    np.testing.assert_array_equal(again.factor_buffer[:7], callback.factor_buffer[:7])
    assert len(again.store) == len(callback.store) == 2 + 1
    assert again.episode_rows == [[], []]  # SB3 resets every env when a loaded model learns on
