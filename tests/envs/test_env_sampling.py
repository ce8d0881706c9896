"""Sampled transitions: shapes, determinism, correct pairing at episode ends, reach of scripted policies."""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.envs import TransitionBatch, get_card, sample_transitions


def _rows(batch: TransitionBatch, name: str) -> tuple[np.ndarray, np.ndarray]:
    return batch.state[name], batch.next_state[name]


@pytest.mark.parametrize("card_id", ["pendulum", "mountaincar", "halfcheetah", "hopper", "walker2d", "ant", "humanoid"])
def test_shapes_and_pairing_across_episode_ends(card_id: str) -> None:
    card = get_card(card_id)
    n_envs, n_steps, policies = 2, 12, ("random", "scripted")
    batch = sample_transitions(card, n_envs=n_envs, n_steps=n_steps, seed=3, policies=policies, max_episode_steps=5)
    n = len(policies) * n_envs * n_steps
    assert len(batch) == n
    assert batch.action.shape == (n, *card.action.shape)
    assert batch.native_reward.shape == (n,) and batch.done.dtype == bool
    for spec in card.fields:
        assert batch.state[spec.name].shape == (n, *spec.shape)
        assert batch.next_state[spec.name].shape == (n, *spec.shape)
    assert batch.done.sum() >= len(policies) * n_envs * (n_steps // 5)

    # rows run policy-major, then step, then env: row (t, i) is followed by row (t + 1, i)
    blocks = np.arange(n).reshape(len(policies), n_steps, n_envs)
    current, following = blocks[:, :-1, :].ravel(), blocks[:, 1:, :].ravel()
    continues = ~batch.done[current]
    for spec in card.fields:
        state, next_state = _rows(batch, spec.name)
        np.testing.assert_array_equal(next_state[current[continues]], state[following[continues]], err_msg=spec.name)
    # at an episode end the next transition starts from the reset state, not the terminal one
    ended = current[~continues]
    first = card.fields[0].name
    state, next_state = _rows(batch, first)
    assert not np.array_equal(next_state[ended], state[following[~continues]])


def test_same_seed_same_batch_other_seed_other_batch() -> None:
    card = get_card("ant")
    a = sample_transitions(card, n_envs=2, n_steps=8, seed=5)
    b = sample_transitions(card, n_envs=2, n_steps=8, seed=5)
    c = sample_transitions(card, n_envs=2, n_steps=8, seed=6)
    for name in card.field_names():
        np.testing.assert_array_equal(a.next_state[name], b.next_state[name])
    np.testing.assert_array_equal(a.action, b.action)
    assert not np.array_equal(a.action, c.action)


def test_scripted_mountaincar_reaches_the_flag() -> None:
    batch = sample_transitions(get_card("mountaincar"), n_envs=2, n_steps=64, policies=("scripted",))
    at_flag = batch.done & (batch.next_state["position"] >= 0.45)
    assert at_flag.any()
    assert np.all(batch.native_reward[at_flag] > 99)  # the +100 flag bonus is on the terminal step


def test_scripted_pendulum_swings_up() -> None:
    batch = sample_transitions(get_card("pendulum"), n_envs=4, n_steps=64, policies=("scripted",))
    assert (batch.next_state["cos_theta"] > 0.95).mean() > 0.25


def test_scripted_drives_reach_states_random_actions_rarely_do() -> None:
    card = get_card("halfcheetah")
    random = sample_transitions(card, n_envs=4, n_steps=48, policies=("random",))
    scripted = sample_transitions(card, n_envs=4, n_steps=48, policies=("scripted",))
    assert np.abs(scripted.next_state["torso_angle"]).max() > np.abs(random.next_state["torso_angle"]).max()


def test_unknown_policy_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown policy 'expert'"):
        sample_transitions(get_card("pendulum"), policies=("expert",))
