"""Building envs from cards: wrappers, time limits, seeding, picklable constructors, clear failures."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest

from reward_coder.envs import EnvBuildError, FieldProbe, env_fns, get_card, make_env
from reward_coder.errors import RewardCoderError


def test_make_env_wraps_in_field_probe_and_probes_every_step() -> None:
    env = make_env(get_card("hopper"), seed=1, max_episode_steps=3)
    assert isinstance(env, FieldProbe)
    _, info = env.reset()
    assert set(info["rc_probe"]) >= {"x_position", "foot_contact", "foot_clearance", "qvel"}
    ends = []
    for _ in range(3):
        _, _, terminated, truncated, info = env.step(np.zeros(3, dtype=np.float32))
        assert "rc_probe" in info
        ends.append(terminated or truncated)
    assert ends == [False, False, True], "the card's time limit is overridden by max_episode_steps"


def test_classic_envs_probe_nothing_and_skip_the_probe_wrapper() -> None:
    env = make_env(get_card("pendulum"))
    _, info = env.reset(seed=0)
    assert "rc_probe" not in info
    assert not any(isinstance(layer, FieldProbe) for layer in _layers(env))


def test_a_field_subset_probes_only_what_it_needs() -> None:
    card = get_card("halfcheetah")
    obs_only = make_env(card, fields=("forward_velocity", "torso_angle"))
    assert not any(isinstance(layer, FieldProbe) for layer in _layers(obs_only))
    with_position = make_env(card, fields=("x_position",))
    _, info = with_position.reset(seed=0)
    assert set(info["rc_probe"]) == {"x_position"}  # no kinematics or contact pass
    with_contacts = make_env(card, fields=("foot_contact",))
    _, info = with_contacts.reset(seed=0)
    assert "foot_contact" in info["rc_probe"] and "foot_clearance" not in info["rc_probe"]


def _layers(env):
    while True:
        yield env
        if not hasattr(env, "env"):
            return
        env = env.env


def test_default_time_limit_comes_from_the_card() -> None:
    env = make_env(get_card("pendulum"))
    assert env.spec.max_episode_steps == get_card("pendulum").train.max_episode_steps


def test_seed_makes_the_first_unseeded_reset_reproducible() -> None:
    card = get_card("halfcheetah")
    first = [make_env(card, seed=7).reset()[0] for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])
    other = make_env(card, seed=8).reset()[0]
    assert not np.array_equal(first[0], other)


def test_action_space_matches_the_card() -> None:
    for card_id in ("pendulum", "mountaincar", "halfcheetah", "hopper", "walker2d", "ant", "humanoid"):
        card = get_card(card_id)
        space = make_env(card).action_space
        assert space.shape == card.action.shape, card_id
        assert np.all(space.low == card.action.low) and np.all(space.high == card.action.high), card_id


def test_env_fns_are_picklable_and_seeded_per_env() -> None:
    fns = env_fns(get_card("ant"), n_envs=3, seed=10, max_episode_steps=5)
    restored = pickle.loads(pickle.dumps(fns))
    starts = [fn().reset()[0] for fn in restored]
    assert len({s.tobytes() for s in starts}) == 3
    np.testing.assert_array_equal(starts[1], make_env(get_card("ant"), seed=11).reset()[0])


def test_env_that_fails_to_build_is_one_line_naming_the_env() -> None:
    broken = replace(get_card("pendulum"), make_kwargs={"no_such_argument": 1})
    with pytest.raises(EnvBuildError) as caught:
        make_env(broken)
    message = str(caught.value)
    assert isinstance(caught.value, RewardCoderError)
    assert "Pendulum-v1" in message and "no_such_argument" in message and "\n" not in message
