"""Few-shot examples for the designer prompt: one complete, correct reward for another env of the family.

Text2Reward found that an example helps weaker models; a real 135M model given our prompt without one
failed every check although the messages were right. The examples live in prompts/examples/ (one file
per card and task, hand-written for this project). The one shown is chosen by the task's card: an
example of the card's family written for a *different* card (never the card or task at hand, so the
model is shown the form of an answer, not the answer): the family's primary example (header marked
`primary`, chosen to give the least away, e.g. reaching for Meta-World), else the first other one in
sorted order, so a prompt is stable.
A family without a second card has no example, and none is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reward_coder.resources import data_dir
from reward_coder.types import EnvCard

EXAMPLE_HEADER = re.compile(r"^# example: (?P<card>[a-z0-9_.-]+)/(?P<task>[a-z0-9_.-]+)(?P<primary> primary)?\s*$")


@dataclass(frozen=True)
class Example:
    """One example reward, with what the prompt says about where it comes from."""

    card_id: str
    task_name: str
    env_id: str
    family: str
    instruction: str
    code: str
    """The reward code without its header line."""
    path: Path
    primary: bool = False


def examples_dir() -> Path:
    return data_dir("prompts") / "examples"


@lru_cache(maxsize=1)
def all_examples() -> tuple[Example, ...]:
    """Every example under prompts/examples/ whose card and task exist (an unknown one is an error)."""
    from reward_coder.envs.registry import get_card

    found = []
    for path in sorted(examples_dir().glob("*.py")):
        first, _, code = path.read_text(encoding="utf-8").partition("\n")
        match = EXAMPLE_HEADER.match(first)
        if match is None:
            raise ValueError(f"{path} must start with '# example: CARD/TASK'")
        card = get_card(match["card"])
        task = card.task(match["task"])
        found.append(Example(card.id, task.name, card.env_id, card.family, task.instruction, code.strip() + "\n",
                             path, primary=bool(match["primary"])))
    return tuple(sorted(found, key=lambda e: (not e.primary, e.card_id, e.task_name)))


def example_for(card: EnvCard) -> Example | None:
    """The example the designer is shown for a task on `card`: same family, another card; None if none."""
    for example in all_examples():
        if example.family == card.family and example.card_id != card.id:
            return example
    return None
