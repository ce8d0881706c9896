"""The text the designer LLM is shown about an environment: what it is, its fields, its action.

Deterministic and compact. It leaves out everything the LLM doesn't need to write a reward: field
sources (adapter internals), the env's own reward, training settings.
"""

from __future__ import annotations

import textwrap

from reward_coder.types import EnvCard

_WIDTH = 100


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(["n_envs", *map(str, shape)]) + (",)" if not shape else ")")


def _number(value: float) -> str:
    return f"{value:g}"


def describe_card(card: EnvCard) -> str:
    """Plain text: description, episode length, one line per state field, the action."""
    lines = [f"Environment: {card.env_id}", ""]
    lines += textwrap.wrap(" ".join(card.description.split()), _WIDTH)
    lines += ["", f"Episode length: at most {card.train.max_episode_steps} steps.", ""]
    lines += textwrap.wrap(
        "State fields, read as state.<name> and next_state.<name>; each is a float64 numpy array "
        "whose first dimension is the batch of parallel environments (n_envs):",
        _WIDTH,
    )
    for spec in card.fields:
        unit = f" [{spec.unit}]" if spec.unit else ""
        entry = f"- {spec.name} {_shape(spec.shape)}{unit}: {' '.join(spec.meaning.split())}"
        lines += textwrap.wrap(entry, _WIDTH, subsequent_indent="    ")
    action = card.action
    if action.discrete:
        return "\n".join(lines + [""] + _discrete_action(card)) + "\n"
    entry = (
        f"Action: `action` has shape {_shape(action.shape)}, each value in "
        f"[{_number(action.low)}, {_number(action.high)}]: {' '.join(action.description.split())}"
    )
    lines += [""] + textwrap.wrap(entry, _WIDTH)
    return "\n".join(lines) + "\n"


def _discrete_action(card: EnvCard) -> list[str]:
    """The lines of a discrete action: an integer index per env, and what each index means."""
    action = card.action
    entry = (
        f"Action: `action` is an int64 numpy array of shape (n_envs,): the index of the action each "
        f"environment took, one of {len(action.choices)} (0 to {len(action.choices) - 1}): "
        f"{' '.join(action.description.split())}"
    )
    lines = textwrap.wrap(entry, _WIDTH)
    for index, choice in enumerate(action.choices):
        lines += textwrap.wrap(f"- {index} = {choice.name}: {' '.join(choice.meaning.split())}", _WIDTH,
                               subsequent_indent="    ")
    return lines
