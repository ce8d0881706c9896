"""The few-shot examples are complete, correct rewards: each passes the sandbox checks, the direction
check included, on real states of its own card; and the one shown is never for the card at hand."""

from __future__ import annotations

import pytest

from reward_coder.config import RunConfig
from reward_coder.envs.registry import list_cards
from reward_coder.examples import all_examples, example_for
from reward_coder.generate import make_checker
from reward_coder.tasks import resolve_task

EXAMPLES = all_examples()


def test_every_family_with_two_cards_has_an_example_and_none_is_for_its_own_card() -> None:
    families: dict[str, set[str]] = {}
    for card in list_cards():
        families.setdefault(card.family, set()).add(card.id)
    for card in list_cards():
        example = example_for(card)
        if example is None:
            assert not any(e.family == card.family and e.card_id != card.id for e in EXAMPLES)
            continue
        assert example.family == card.family and example.card_id != card.id
    covered = {e.family for e in EXAMPLES}
    assert {"classic", "mujoco_locomotion", "metaworld", "fetch"} <= covered


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.card_id}/{e.task_name}")
def test_each_example_passes_the_checks_on_its_own_card(example) -> None:
    task = resolve_task(f"{example.card_id}/{example.task_name}", None, None)
    config = RunConfig(instruction=task.instruction, env=task.card.id, task=task.key, check_steps=32)
    report = make_checker(task, config, lambda *_a, **_k: None)(example.code)

    assert report.ok, [issue.message for issue in report.errors]
    assert not [i for i in report.warnings if "direction" in i.rule], [i.message for i in report.warnings]
    assert len(report.term_stats) >= 2  # named terms, as the prompt asks


def test_the_designer_sees_the_example_unless_told_not_to(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from reward_coder.cli.main import app

    seen = {}
    for flag in ([], ["--no-example"]):
        out = tmp_path / ("off" if flag else "on")
        result = CliRunner().invoke(app, ["generate", "--task", "pendulum/swing-up", "--model", "replay:standins",
                                          "-k", "3", "--repair", "0", "--llm-cache", "off", "--out", str(out), *flag])
        assert result.exit_code == 0, result.stderr
        system = (out / "prompts" / "0_system.txt").read_text()
        seen[bool(flag)] = ("MountainCarContinuous-v0" in system, json.loads((out / "config.json").read_text())["few_shot"])
    assert seen == {False: (True, True), True: (False, False)}
    # the pendulum task is shown the mountain car's reward, never the pendulum's own example
    system = (tmp_path / "on" / "prompts" / "0_system.txt").read_text()
    assert "energy_gain" in system and "cos_theta" not in system
