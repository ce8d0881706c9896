"""Card files: every packaged card is valid, and every malformed card fails with file and key named."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from reward_coder.envs import get_adapter, load_card
from reward_coder.envs.cards import SUCCESS_KINDS
from reward_coder.errors import CardError
from reward_coder.resources import data_dir

PACKAGED = sorted(data_dir("envs").glob("*.yaml"))
DECLARED_IDS = {"cartpole", "acrobot", "reacher", "inverted-double-pendulum"}
"""Cards of family 'declared': their fields are expressions in the card, no adapter code per env."""
EXPECTED_IDS = {"pendulum", "mountaincar", "halfcheetah", "hopper", "walker2d", "ant", "humanoid", "fetch-reach", "fetch-push",
                "crafter", "crafter-pixels"} | DECLARED_IDS | {
    f"metaworld-{name}"
    for name in (
        "reach", "push", "pick-place", "button-press", "door-open", "door-close", "drawer-open", "drawer-close",
        "window-open", "window-close", "handle-press", "handle-press-side", "sweep-into", "door-unlock", "faucet-open",
    )
}


def test_all_expected_cards_are_packaged() -> None:
    assert {load_card(p).id for p in PACKAGED} == EXPECTED_IDS


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.stem)
def test_packaged_card_is_complete(path: Path) -> None:
    card = load_card(path)
    assert card.id == path.stem
    if card.family == "declared":
        assert card.id in DECLARED_IDS  # its sources were checked on loading; tests/envs/test_env_declared.py runs them
    else:
        available = get_adapter(card.family).available_fields(card.env_id, card.make_kwargs)
        assert {f.name: f.shape for f in card.fields}.items() <= available.items()
    assert card.tasks, "every packaged card offers benchmark tasks"
    for spec in [card.success, *(t.success for t in card.tasks)]:
        assert spec.kind in SUCCESS_KINDS
        assert spec.written_by == "person" and spec.description
    assert card.train.total_timesteps > 0 and card.train.max_episode_steps > 0
    assert card.native_reward and card.action.description


def _mutate(data: dict, dotted: str, value: object) -> dict:
    """Copy of data with data[a][b]... set to value (or deleted when value is DELETE)."""
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is DELETE:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


DELETE = object()

MALFORMED = [
    # (mutation path, value, key named in the message, words the message must contain)
    ("env_id", DELETE, "env_id", "missing"),
    ("fields", DELETE, "fields", "missing"),
    ("action.high", DELETE, "action.high", "missing"),
    ("train.n_envs", DELETE, "train.n_envs", "missing"),
    ("fields.0.unit", DELETE, "fields[0].unit", "missing"),
    ("id", 5, "id", "text"),
    ("id", "Has Spaces", "id", "lowercase"),
    ("description", ["a", "list"], "description", "text"),
    ("fields", {"theta": 1}, "fields", "list"),
    ("fields", [], "fields", "non-empty list"),
    ("fields.0", "theta", "fields[0]", "mapping"),
    ("fields.0.shape", "scalar", "fields[0].shape", "list of positive whole numbers"),
    ("fields.0.shape", [0], "fields[0].shape", "list of positive whole numbers"),
    ("fields.1.name", "theta", "fields[1].name", "unique"),
    ("action.low", "minus two", "action.low", "number"),
    ("action.low", 3.0, "action.high", "greater"),
    ("action.shape", 1, "action.shape", "list"),
    ("train.total_timesteps", 1.5, "train.total_timesteps", "whole number"),
    ("train.n_envs", True, "train.n_envs", "whole number"),
    ("train.n_envs", 0, "train.n_envs", ">= 1"),
    ("train.hyperparameters", [1, 2], "train.hyperparameters", "mapping"),
    ("train.optimizer", "adam", "train.optimizer", "not a known key"),
    ("success.kind", "looks_good", "success.kind", "native_return_above"),
    ("success.params.threshold", "high", "success.params.threshold", "number"),
    ("success.params", {}, "success.params.threshold", "missing"),
    ("tasks.1.success.params.field", "height", "tasks[1].success.params.field", "not a field of this card"),
    ("tasks.1.success.params.index", 2, "tasks[1].success.params.index", "shape"),
    ("tasks.0.name", "Swing Up", "tasks[0].name", "lowercase"),
    ("tasks.1.name", "swing-up", "tasks[1].name", "unique"),
    ("tasks.0.total_timesteps", "lots", "tasks[0].total_timesteps", "whole number"),
    ("uses_memory", "yes", "uses_memory", "true or false"),
    ("typo_key", 1, "typo_key", "not a known key"),
    ("family", "robotics_arm", "family", "unknown adapter family"),
    ("env_id", "CartPole-v1", "env_id", "supports"),
    ("fields.0.name", "tip_position", "fields[0].name", "cannot produce"),
    ("fields.0.shape", [2], "fields[0].shape", "produces []"),
]


def _assert_one_line_error(path, key: str, words: str) -> None:
    """Loading the card fails with one line that names the file, the key and what is wrong."""
    with pytest.raises(CardError) as caught:
        load_card(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize(("where", "value", "key", "words"), MALFORMED, ids=[f"{m[0]}={m[1]!r}"[:40] for m in MALFORMED])
def test_malformed_card_names_file_and_key(pendulum_card_data, write_card, where, value, key, words) -> None:
    path = write_card(_mutate(pendulum_card_data, where, value))
    _assert_one_line_error(path, key, words)


def test_vector_field_in_success_needs_an_index(write_card) -> None:
    data = load_card_data("halfcheetah")
    data["tasks"][0]["success"]["params"] = {"field": "foot_contact", "threshold": 0.5}
    with pytest.raises(CardError, match=r"tasks\[0\]\.success\.params\.index.*is missing"):
        load_card(write_card(data))


def load_card_data(card_id: str) -> dict:
    import yaml

    return yaml.safe_load((data_dir("envs") / f"{card_id}.yaml").read_text())


def test_yaml_syntax_error_names_file_and_line(write_card) -> None:
    path = write_card("id: broken\nfields: [unclosed\nfamily: classic\n")
    with pytest.raises(CardError) as caught:
        load_card(path)
    message = str(caught.value)
    assert str(path) in message and "not valid YAML" in message and "line" in message
    assert "\n" not in message


def test_empty_and_non_mapping_and_missing_files(write_card, tmp_path) -> None:
    with pytest.raises(CardError, match="is empty"):
        load_card(write_card("", name="empty.yaml"))
    with pytest.raises(CardError, match="must be a mapping"):
        load_card(write_card("- just\n- a list\n", name="list.yaml"))
    with pytest.raises(CardError, match="cannot be read"):
        load_card(tmp_path / "nope.yaml")


def test_card_may_declare_a_subset_of_the_adapter_fields(pendulum_card_data, write_card) -> None:
    data = copy.deepcopy(pendulum_card_data)
    data["fields"] = [f for f in data["fields"] if f["name"] in ("cos_theta", "angular_velocity")]
    data["tasks"] = [t for t in data["tasks"] if t["success"]["params"].get("field") != "theta"]
    card = load_card(write_card(data))
    assert card.field_names() == ("cos_theta", "angular_velocity")


def test_layout_changing_make_kwargs_are_rejected(write_card) -> None:
    data = load_card_data("halfcheetah")
    data["make_kwargs"] = {"exclude_current_positions_from_observation": False}
    with pytest.raises(CardError, match="remove make_kwargs.exclude_current_positions_from_observation"):
        load_card(write_card(data))
    data["make_kwargs"] = {"ctrl_cost_weight": 0.2}  # harmless to the layout
    assert load_card(write_card(data)).make_kwargs == {"ctrl_cost_weight": 0.2}


# --------------------------------------------------------------------------------------------------
# angle fields, task distances and the progress measure
# --------------------------------------------------------------------------------------------------


def _with_distances(data: dict) -> dict:
    """halfcheetah's card plus two distances (a scalar pair and a vector pair) and a progress measure."""
    data = copy.deepcopy(data)
    data["distances"] = [
        {"name": "height_gap", "between": ["torso_height", "x_position"], "meaning": "torso height minus x"},
        {"name": "feet_apart", "between": ["foot_height", "foot_contact"], "axes": [1], "offset": [0.5, 0.0],
         "meaning": "front foot height against its contact flag"},
    ]
    data["progress"] = {"distance": "feet_apart", "reduce": "min", "description": "lower is nearer"}
    return data


def test_card_declares_angles_distances_and_progress(write_card) -> None:
    from reward_coder.types import DistanceSpec, ProgressSpec

    card = load_card(write_card(_with_distances(load_card_data("halfcheetah"))))
    assert [f.name for f in card.fields if f.angle] == ["torso_angle", "joint_angles"]
    assert card.distances == (
        DistanceSpec("height_gap", "torso_height", "x_position", "torso height minus x"),
        DistanceSpec("feet_apart", "foot_height", "foot_contact", "front foot height against its contact flag",
                     axes=(1,), offset=(0.5, 0.0)),
    )
    assert card.progress == ProgressSpec("feet_apart", "min", "lower is nearer")
    plain = load_card(write_card(load_card_data("mountaincar")))
    assert plain.distances == () and plain.progress is None


def test_every_manipulation_card_declares_its_success_distance_as_progress() -> None:
    for path in PACKAGED:
        card = load_card(path)
        if card.family == "declared" and card.progress is not None:  # e.g. reacher: fingertip to target
            assert card.progress.distance in {d.name for d in card.distances}
            assert "success needs" in card.progress.description
            continue
        if card.family not in ("metaworld", "fetch"):
            assert card.progress is None
            continue
        assert card.progress is not None, card.id
        assert card.progress.reduce == ("min" if card.family == "metaworld" else "final"), card.id
        assert card.progress.distance in {d.name for d in card.distances}
        assert "success needs" in card.progress.description


def test_distances_and_progress_stay_out_of_the_designer_text() -> None:
    from reward_coder.envs import describe_card

    for card_id in ("metaworld-push", "fetch-push"):
        card = load_card(data_dir("envs") / f"{card_id}.yaml")
        text = describe_card(card)
        assert "obj_goal" not in text and "hand_obj" not in text and "progress" not in text.lower()
        assert card.progress.description not in text


BAD_DISTANCES = [
    # (mutation path, value, key named in the message, words the message must contain)
    ("distances", {"height_gap": 1}, "distances", "list"),
    ("distances.0", "height_gap", "distances[0]", "mapping"),
    ("distances.0.between", DELETE, "distances[0].between", "missing"),
    ("distances.0.meaning", DELETE, "distances[0].meaning", "missing"),
    ("distances.0.units", "m", "distances[0].units", "not a known key"),
    ("distances.0.name", "Height Gap", "distances[0].name", "identifier"),
    ("distances.0.name", "torso_height", "distances[0].name", "a field of this card"),
    ("distances.1.name", "height_gap", "distances[1].name", "unique"),
    ("distances.0.between", ["torso_height"], "distances[0].between", "two field names"),
    ("distances.0.between", "torso_height", "distances[0].between", "two field names"),
    ("distances.0.between", ["torso_height", "nose_pos"], "distances[0].between", "not a field of this card"),
    ("distances.0.between", ["torso_height", "foot_height"], "distances[0].between", "same shape"),
    ("distances.0.between", ["joint_angles", "joint_velocities"], "distances[0].between", "angle field"),
    ("distances.1.axes", [2], "distances[1].axes", "component indices in [0, 2)"),
    ("distances.1.axes", [1, 1], "distances[1].axes", "distinct"),
    ("distances.1.axes", [], "distances[1].axes", "component indices"),
    ("distances.1.offset", [0.5], "distances[1].offset", "2 numbers"),
    ("distances.1.offset", [0.5, "up"], "distances[1].offset[1]", "number"),
    ("progress", "feet_apart", "progress", "mapping"),
    ("progress.distance", DELETE, "progress.distance", "missing"),
    ("progress.distance", "torso_height", "progress.distance", "not one of the card's distances"),
    ("progress.reduce", "max", "progress.reduce", "final, min, mean"),
    ("progress.higher_is_better", True, "progress.higher_is_better", "not a known key"),
    ("progress.description", ["a"], "progress.description", "text"),
    ("fields.2.angle", "yes", "fields[2].angle", "true or false"),
    ("fields.1.angle", True, "fields[1].angle", "unit must be 'rad'"),
]


@pytest.mark.parametrize(("where", "value", "key", "words"), BAD_DISTANCES,
                         ids=[f"{m[0]}={m[1]!r}"[:40] for m in BAD_DISTANCES])
def test_malformed_distance_or_progress_names_file_and_key(write_card, where, value, key, words) -> None:
    path = write_card(_mutate(_with_distances(load_card_data("halfcheetah")), where, value))
    _assert_one_line_error(path, key, words)


def test_progress_needs_declared_distances(write_card) -> None:
    data = load_card_data("mountaincar")
    data["progress"] = {"distance": "to_flag"}
    with pytest.raises(CardError, match=r"'progress.distance'.*none declared"):
        load_card(write_card(data))
