"""The env text shown to the designer LLM: complete, deterministic, free of adapter internals."""

from __future__ import annotations

import pytest

from reward_coder.envs import describe_card, get_card, list_cards


@pytest.mark.parametrize("card", list_cards(), ids=lambda c: c.id)
def test_description_lists_every_field_and_the_action(card) -> None:
    text = describe_card(card)
    assert text == describe_card(card)
    assert card.env_id in text
    for spec in card.fields:
        assert f"- {spec.name} (n_envs" in text
    if card.action.discrete:  # an index per env, and what each index means
        assert "Action: `action` is an int64 numpy array of shape (n_envs,)" in text
        for index, choice in enumerate(card.action.choices):
            assert f"- {index} = {choice.name}: " in text
    else:
        assert f"Action: `action` has shape (n_envs, {card.action.shape[0]})" in text
    assert f"at most {card.train.max_episode_steps} steps" in text
    for spec in card.fields:  # sources are adapter internals
        assert spec.source not in text
    assert "sim:" not in text and "obs[" not in text
    assert card.native_reward not in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_shapes_and_units_are_rendered() -> None:
    text = describe_card(get_card("ant"))
    assert "- contact_forces (n_envs, 13, 6) [N m, N (clipped to [-1, 1])]:" in text
    assert "- forward_velocity (n_envs,) [m/s]:" in text
    assert "- upright (n_envs,):" in text  # unitless: no brackets
    assert "each value in [-1, 1]" in text
