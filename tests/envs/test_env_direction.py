"""Direction sections of env cards: parsing, malformed sections, and the reference rollouts they sample."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from reward_coder.envs import get_card, load_card
from reward_coder.envs.sampling import sample_reference
from reward_coder.errors import CardError
from reward_coder.resources import data_dir

PACKAGED = sorted(data_dir("envs").glob("*.yaml"))
MEANINGFUL = ("pendulum", "mountaincar", "halfcheetah", "hopper", "walker2d", "ant", "humanoid", "fetch-reach", "fetch-push",
              "cartpole", "acrobot", "reacher", "inverted-double-pendulum")
NO_DIRECTION = ("crafter", "crafter-pixels")
"""Cards whose tasks (an achievement unlocked in a random world) no fixed pair of rollouts can encode."""


def test_every_card_where_a_direction_is_meaningful_declares_one() -> None:
    cards = {path.stem: load_card(path) for path in PACKAGED}
    wanted = [c for c in cards if c in MEANINGFUL or c.startswith("metaworld-")]
    assert sorted(wanted + [c for c in cards if c in NO_DIRECTION]) == sorted(cards)  # every packaged card is one of those
    for card_id in wanted:
        card = cards[card_id]
        assert card.direction, f"{card_id} declares no direction pairs"
        judged = {task for pair in card.direction for task in pair.tasks}
        assert judged <= {t.name for t in card.tasks}


def test_pendulum_pairs_parse_with_their_tasks() -> None:
    card = get_card("pendulum")
    pairs = {pair.name: pair for pair in card.direction}
    upright = pairs["upright-vs-hanging"]
    assert upright.tasks == ("swing-up", "balance-inverted")
    assert upright.good.policy == "scripted" and upright.bad.policy == "zero"
    assert upright.good.start == {"state": [[-0.2, 0.2], [-0.5, 0.5]]}
    assert [p.name for p in card.direction_for("spin")] == ["spin-vs-still"]
    assert card.direction_for("no-such-task") == ()


def test_tasks_default_to_every_task_of_the_card() -> None:
    card = get_card("metaworld-reach")
    assert card.direction[0].tasks == tuple(t.name for t in card.tasks)


def _with_direction(data: dict, **changes: object) -> dict:
    data = copy.deepcopy(data)
    pair = data["direction"][0]
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = pair
        for key in parents:
            node = node[key]
        node[last] = value
    return data


@pytest.mark.parametrize("changes, key, needle", [
    ({"tasks": ["fly"]}, "direction[0].tasks", "'fly', which is not a task"),
    ({"good__policy": "teleport"}, "direction[0].good.policy", "use one of"),
    ({"good__start": {"state": [[0.5, 0.1], 0.0]}}, "direction[0].good.start.state[0]", "low must not exceed high"),
    ({"good__start": {"state": [[0.0, 0.1, 0.2], 0.0]}}, "direction[0].good.start.state[0]", "[low, high]"),
    ({"good__start": {"qacc": {}}}, "direction[0].good.start.qacc", "not a known key"),
    ({"good__start": {"qpos": {"rooty": 0.1}}}, "direction[0].good.start.qpos", "allowed: state"),
    ({"good__policy": "expert"}, "direction[0].good.policy", "only cards of family 'metaworld'"),
    ({"bad__steps": 0}, "direction[0].bad.steps", ">= 1"),
    ({"bad__episodes": 1}, "direction[0].bad.episodes", ">= 2"),
    ({"good__color": "red"}, "direction[0].good.color", "not a known key"),
])
def test_malformed_direction_names_file_and_key(pendulum_card_data, write_card, changes, key, needle) -> None:
    path = write_card(_with_direction(pendulum_card_data, **changes))
    with pytest.raises(CardError) as err:
        load_card(path)
    message = str(err.value)
    assert str(path) in message and f"key '{key}'" in message and needle in message, message


def test_a_missing_side_is_named(pendulum_card_data, write_card) -> None:
    data = copy.deepcopy(pendulum_card_data)
    del data["direction"][0]["bad"]
    with pytest.raises(CardError, match=r"key 'direction\[0\]\.bad' is missing"):
        load_card(write_card(data))


def test_repeated_pair_names_are_refused(pendulum_card_data, write_card) -> None:
    data = copy.deepcopy(pendulum_card_data)
    data["direction"][1]["name"] = data["direction"][0]["name"]
    with pytest.raises(CardError, match="repeats the direction pair"):
        load_card(write_card(data))


def test_reference_rollouts_start_where_the_card_says() -> None:
    card = get_card("pendulum")
    good, bad = sample_reference(card, [card.direction[0].good, card.direction[0].bad], seed=0)
    assert np.all(good.next_state["cos_theta"] > 0.95)  # held upright by the balancing controller
    assert np.all(bad.next_state["cos_theta"] < -0.8)  # swinging near the bottom
    assert sorted(set(good.env_index)) == list(range(card.direction[0].good.episodes))
    assert len(good) == card.direction[0].good.episodes * card.direction[0].good.steps
    # the recorded state follows the set one: state and next_state differ by one real step
    assert np.allclose(good.state["theta"][1:16], good.next_state["theta"][:15])


def test_reference_rollouts_are_deterministic_per_seed() -> None:
    card = get_card("pendulum")
    side = card.direction[0].bad
    first, again, other = (sample_reference(card, [side], seed=s)[0] for s in (0, 0, 1))
    assert np.array_equal(first.next_state["theta"], again.next_state["theta"])
    assert not np.array_equal(first.next_state["theta"], other.next_state["theta"])


def test_a_rollout_stops_at_the_end_of_its_episode_on_the_terminal_state() -> None:
    card = get_card("hopper")
    fallen = {pair.name: pair for pair in card.direction}["standing-vs-fallen"].bad
    batch = sample_reference(card, [fallen], seed=0)[0]
    # lying on its back is unhealthy: one transition per rollout, ending the episode, scored on the fallen state
    assert len(batch) == fallen.episodes and batch.done.all()
    assert np.all(batch.state["torso_height"] < 0.6) and np.all(batch.next_state["torso_height"] < 0.6)
    assert np.all(np.abs(batch.state["torso_angle"]) > 1.2)


def test_a_start_naming_an_unknown_joint_is_a_card_error(write_card) -> None:
    import yaml

    from reward_coder.direction import direction_references

    data = yaml.safe_load((data_dir("envs") / "hopper.yaml").read_text())
    data["direction"][0]["bad"]["start"] = {"qpos": {"hip": 0.3}}
    card = load_card(write_card(data))
    with pytest.raises(CardError, match="joint 'hip', which this model does not have; its joints: rootx"):
        direction_references(card, "hop-forward", seed=123)


def test_joint_components_of_a_free_joint_are_set() -> None:
    card = get_card("ant")
    pair = {pair.name: pair for pair in card.direction}["left-vs-right"]
    left, right = sample_reference(card, [pair.good, pair.bad], seed=0)
    # qvel root[1] is the velocity along y: the ant slides to its left on one side, to its right on the other
    assert left.state["lateral_velocity"].mean() > 0.5 and right.state["lateral_velocity"].mean() < -0.5
    assert abs(left.state["forward_velocity"].mean()) < 0.5
