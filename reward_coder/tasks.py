"""A task = instruction + env card + success metric (DESIGN.md "Tasks and success")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from reward_coder.errors import ConfigError
from reward_coder.types import EnvCard, SuccessSpec


@dataclass(frozen=True)
class Task:
    key: str
    """'card/task' for a named task, 'card/custom-<hash>' for free text (stable, so replays find it)."""
    instruction: str
    card: EnvCard
    success: SuccessSpec
    total_timesteps: int
    named: bool


def describe_success(success: SuccessSpec) -> str:
    """Plain sentence of how success is judged, for prompts and reports."""
    if success.description:
        return success.description
    params = ", ".join(f"{k}={v}" for k, v in sorted(success.params.items()))
    return f"{success.kind}({params})"


def resolve_task(task: str | None, instruction: str | None, env: str | None) -> Task:
    """Build a Task from `--task card/name`, or from free text plus `--env`.

    Free text without a metric falls back to the card's default success metric (the env's own goal);
    the loop may replace it with a proposed metric and records that it did.
    """
    from reward_coder.envs import get_card, resolve_task as resolve_named

    if task:
        card, spec = resolve_named(task)
        text = (instruction or "").strip() or spec.instruction
        return Task(
            key=f"{card.id}/{spec.name}",
            instruction=text,
            card=card,
            success=spec.success,
            total_timesteps=spec.total_timesteps or card.train.total_timesteps,
            named=True,
        )
    text = (instruction or "").strip()
    if not text:
        raise ConfigError('the task is empty; describe it in words, e.g. "make the cheetah run backwards", or pass --task CARD/TASK')
    if not env:
        raise ConfigError("no environment given; pass --env ID (list them with `reward-coder envs`)")
    card = get_card(env)
    # a free-text instruction equal to a named task's instruction is that task (replays and metrics follow)
    for spec in card.tasks:
        if spec.instruction.strip().lower() == text.lower():
            return resolve_task(f"{card.id}/{spec.name}", text, None)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return Task(
        key=f"{card.id}/custom-{digest}",
        instruction=text,
        card=card,
        success=card.success,
        total_timesteps=card.train.total_timesteps,
        named=False,
    )
