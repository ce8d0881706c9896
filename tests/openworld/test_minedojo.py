"""The MineDojo adapter on observation dicts built to MineDojo's documented structure (minedojo is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.envs.adapters import adapter_for
from reward_coder.envs.cards import load_card
from reward_coder.envs.factory import EnvBuildError, make_env
from reward_coder.openworld.minedojo import ACTIONS, FIELD_SHAPES, NOT_SEEN, fields_from_obs



def _card():
    from pathlib import Path

    import reward_coder.openworld as openworld

    return load_card(Path(openworld.__file__).parent / "cards" / "minedojo-harvest-log.yaml")


def _obs(voxel_blocks=None, entities=(("null", -1.0),)) -> dict:
    """One observation dict shaped as docs.minedojo.org documents it (inventory of 36 slots, 3x3x3 voxels)."""
    names = np.array(["air"] * 36, dtype=object)
    quantity = np.zeros(36, dtype=np.int64)
    names[0], quantity[0] = "log", 3
    names[5], quantity[5] = "log", 2
    names[7], quantity[7] = "wooden pickaxe", 1
    names[8], quantity[8] = "crafting table", 1
    blocks = np.full((3, 3, 3), "air", dtype=object)
    for (x, y, z), name in (voxel_blocks or {}).items():
        blocks[x, y, z] = name
    return {
        "rgb": np.zeros((3, 64, 64), dtype=np.uint8),
        "inventory": {"name": names, "quantity": quantity},
        "life_stats": {"life": np.array([14.0]), "food": np.array([17.0]), "saturation": np.array([5.0]),
                       "oxygen": np.array([300.0]), "armor": np.array([0.0]), "xp": np.array([0.0]),
                       "is_sleeping": np.array([False])},
        "location_stats": {"pos": np.array([10.5, 64.0, -3.25]), "yaw": np.array([90.0]), "pitch": np.array([15.0]),
                           "sun_brightness": np.array([0.8])},
        "voxels": {"block_name": blocks},
        "rays": {"entity_name": np.array([name for name, _ in entities]),
                 "entity_distance": np.array([d for _, d in entities], dtype=np.float32)},
    }


def test_fields_follow_the_documented_observation_dict() -> None:
    obs = _obs({(2, 1, 1): "log", (0, 0, 0): "lava"}, entities=(("zombie", 6.5), ("cow", 2.0), ("zombie", 3.0)))
    fields = fields_from_obs(obs)
    assert set(fields) == set(FIELD_SHAPES)
    assert fields["health"] == 14.0 and fields["food"] == 17.0 and fields["daylight"] == 0.8
    assert fields["log"] == 5.0 and fields["wooden_pickaxe"] == 1.0 and fields["crafting_table"] == 1.0
    assert fields["position"].tolist() == [10.5, 64.0, -3.25] and fields["yaw"] == 90.0
    assert fields["tree_distance"] == 1.0 and fields["tree_offset"].tolist() == [1.0, 0.0, 0.0]
    assert fields["lava_distance"] == pytest.approx(np.sqrt(3.0))
    assert fields["lava_offset"].tolist() == [-1.0, -1.0, -1.0]
    assert fields["zombie_distance"] == 3.0 and fields["cow_distance"] == 2.0
    assert fields["skeleton_distance"] == NOT_SEEN and fields["iron_distance"] == NOT_SEEN
    assert fields["compass_angle"] == 0.0  # no compass in this task's obs


def test_the_adapter_batches_the_card_fields_of_several_envs() -> None:
    card = _card()
    adapter = adapter_for(card)
    probes = [adapter.probe_obs(_obs()), adapter.probe_obs(_obs({(1, 1, 2): "leaves"}))]
    fields = adapter.fields(np.zeros((2, 64, 64, 3)), probes)
    assert set(fields) == set(card.field_names())
    assert fields["tree_distance"].tolist() == [NOT_SEEN, 1.0]
    assert fields["tree_offset"].shape == (2, 3) and fields["position"].shape == (2, 3)
    assert fields["health"].tolist() == [14.0, 14.0]


def test_named_actions_are_valid_points_of_minedojos_multidiscrete_space() -> None:
    nvec = np.array([3, 3, 4, 25, 25, 8, 244, 36])
    card = _card()
    assert [c.name for c in card.action.choices] == list(ACTIONS)
    for name, vector in ACTIONS.items():
        assert len(vector) == 8 and np.all(np.array(vector) < nvec) and np.all(np.array(vector) >= 0), name
    assert ACTIONS["noop"][3:5] == (12, 12)  # the camera centre is no turn
    assert ACTIONS["attack"][5] == 3 and ACTIONS["forward"][0] == 1


def test_without_minedojo_building_the_env_says_so_in_one_line() -> None:
    pytest.importorskip("gymnasium")
    try:
        import minedojo  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("minedojo is installed here")
    with pytest.raises(EnvBuildError) as err:
        make_env(_card())
    message = str(err.value)
    assert "\n" not in message and "minedojo" in message and "JDK 8" in message
