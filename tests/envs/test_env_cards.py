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
EXPECTED_IDS = {"pendulum", "mountaincar", "halfcheetah", "hopper", "walker2d", "ant", "humanoid", "fetch-reach", "fetch-push"} | {
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


@pytest.mark.parametrize(("where", "value", "key", "words"), MALFORMED, ids=[f"{m[0]}={m[1]!r}"[:40] for m in MALFORMED])
def test_malformed_card_names_file_and_key(pendulum_card_data, write_card, where, value, key, words) -> None:
    path = write_card(_mutate(pendulum_card_data, where, value))
    with pytest.raises(CardError) as caught:
        load_card(path)
    message = str(caught.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert words in message
    assert "\n" not in message


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
