"""The reward decoder recovers a known per-step reward from episodic returns alone (issue 11, item 6)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reward_coder.latent.decoder import DecoderConfig, EpisodeStore, RewardDecoder, uniform_rewards  # noqa: E402

N_FACTORS = 4


def true_reward(z: np.ndarray) -> np.ndarray:
    """A per-step reward the decoder never sees: linear in two factors, nonlinear in a third, one unused."""
    return 1.5 * z[:, 0] - 0.8 * z[:, 1] + 0.5 * np.tanh(2.0 * z[:, 2]) + 0.2


def episodic_store(episodes: int, seed: int = 0) -> EpisodeStore:
    """Episodes of 20..60 steps whose only label is the sum of the hidden per-step reward."""
    rng = np.random.default_rng(seed)
    store = EpisodeStore(N_FACTORS)
    for _ in range(episodes):
        length = int(rng.integers(20, 60))
        # a per-episode offset, as different policies visit different regions
        z = rng.normal(size=(length, N_FACTORS)) + 0.5 * rng.normal(size=N_FACTORS)
        store.add(z, float(true_reward(z).sum()))
    return store


def relative_error(decoder: RewardDecoder, seed: int = 1) -> float:
    z = np.random.default_rng(seed).normal(size=(2000, N_FACTORS))
    truth = true_reward(z)
    return float(np.sqrt(np.mean((decoder.predict(z) - truth) ** 2)) / np.std(truth))


@pytest.fixture(scope="module")
def trained() -> RewardDecoder:
    torch.set_num_threads(1)
    store = episodic_store(200)
    decoder = RewardDecoder(N_FACTORS, DecoderConfig(hidden=(32, 32), subsequence=64, episodes_per_batch=32,
                                                     learning_rate=3e-3), device="cpu",
                            factor_names=("speed", "effort", "posture", "noise"))
    for _ in range(4):
        decoder.fit(store, 200)
    return decoder


def test_decoder_recovers_the_hidden_per_step_reward(trained: RewardDecoder):
    error = relative_error(trained)
    assert error < 0.12, f"relative RMSE {error:.3f} of the decoded per-step reward"


def test_untrained_decoder_does_not_pass_the_same_bar():
    untrained = RewardDecoder(N_FACTORS, DecoderConfig(hidden=(32, 32)), device="cpu")
    untrained._refresh_statistics(episodic_store(20))
    assert relative_error(untrained) > 0.5


def test_loss_curve_falls(trained: RewardDecoder):
    assert len(trained.curve.loss) == 4
    assert trained.curve.loss[-1] < 0.2 * trained.curve.loss[0]
    assert trained.curve.updates == [200, 400, 600, 800]


def test_attributions_name_the_factors_that_carry_the_return(trained: RewardDecoder):
    z = np.random.default_rng(2).normal(size=(1000, N_FACTORS))
    shares = trained.attributions(z)
    assert abs(sum(shares.values()) - 1.0) < 1e-6
    assert shares["speed"] > shares["effort"] > shares["posture"] > shares["noise"]
    assert shares["noise"] < 0.08
    weights = trained.linear_weights(z)
    assert weights["speed"] > 1.0 and weights["effort"] < -0.5


def test_sub_sampled_decomposition_still_recovers_the_reward():
    """K well below T (the long-horizon case RRD exists for): the variance term biases it a little."""
    torch.set_num_threads(1)
    decoder = RewardDecoder(N_FACTORS, DecoderConfig(hidden=(32, 32), subsequence=12, episodes_per_batch=64,
                                                     learning_rate=3e-3), device="cpu")
    decoder.fit(episodic_store(200), 600)
    assert relative_error(decoder) < 0.3


def test_checkpoint_round_trip_continues_identically(trained: RewardDecoder):
    state = trained.state_dict()
    copy = RewardDecoder.from_state_dict(state, device="cpu")
    z = np.random.default_rng(3).normal(size=(50, N_FACTORS))
    np.testing.assert_allclose(copy.predict(z), trained.predict(z), rtol=1e-6)
    assert copy.curve.loss == trained.curve.loss and copy.updates == trained.updates
    store = episodic_store(30, seed=5)
    a = RewardDecoder.from_state_dict(state, device="cpu")
    b = RewardDecoder.from_state_dict(state, device="cpu")
    assert a.fit(store, 5) == pytest.approx(b.fit(store, 5), rel=1e-6)


def test_episode_store_refuses_non_finite_and_keeps_the_newest():
    store = EpisodeStore(2, max_episodes=3)
    with pytest.raises(ValueError):
        store.add(np.array([[np.nan, 0.0]]), 1.0)
    for value in range(5):
        store.add(np.zeros((3, 2)), float(value))
    assert store.returns == [2.0, 3.0, 4.0]


def test_uniform_redistribution_spreads_the_return_evenly():
    rewards = uniform_rewards(10.0, 4)
    assert rewards.tolist() == [2.5, 2.5, 2.5, 2.5]


def test_auto_device_follows_what_torch_sees():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert RewardDecoder(2, device="auto").device.type == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_decoder_trains_on_cuda_and_its_checkpoint_loads_on_cpu():
    decoder = RewardDecoder(N_FACTORS, DecoderConfig(hidden=(32, 32), learning_rate=3e-3), device="cuda")
    decoder.fit(episodic_store(100), 400)
    assert relative_error(decoder) < 0.3
    on_cpu = RewardDecoder.from_state_dict(decoder.state_dict(), device="cpu")
    z = np.random.default_rng(4).normal(size=(20, N_FACTORS))
    np.testing.assert_allclose(on_cpu.predict(z), decoder.predict(z), rtol=1e-4, atol=1e-5)
