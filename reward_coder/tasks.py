"""A task = instruction + env card + success metric (DESIGN.md "Tasks and success")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from reward_coder.errors import CardError, ConfigError
from reward_coder.textfile import check_text_length
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


def load_task_file(path: Path) -> Task:
    """A task written in a YAML file by a person: env, instruction, success, optional name and budget.

    Every problem is a one-line CardError naming the file and the key, e.g. a success metric that reads
    a field the card does not have.
    """
    from reward_coder.envs import get_card
    from reward_coder.success import validate_success
    from reward_coder.textfile import TASK_FILE_MAX_BYTES
    from reward_coder.yamlfile import read_yaml

    where = str(path)
    data = read_yaml(path, "task file", CardError, limit_bytes=TASK_FILE_MAX_BYTES)
    if not isinstance(data, dict):
        raise CardError(f"task file {where} must be a mapping with keys env, instruction, success")
    for key in ("env", "instruction", "success"):
        if key not in data:
            raise CardError(f"task file {where}: missing key '{key}' (a task needs env, instruction and success)")
    if not isinstance(data["instruction"], str) or not data["instruction"].strip():
        raise CardError(f"task file {where}: 'instruction' must be a non-empty string")
    check_text_length(data["instruction"], f"task file {where}: 'instruction'", error=CardError)
    card = get_card(str(data["env"]))
    raw = data["success"]
    if not isinstance(raw, dict) or "kind" not in raw:
        raise CardError(f"task file {where}: 'success' must be a mapping with 'kind' and 'params'")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise CardError(f"task file {where}: 'success.params' must be a mapping")
    success = SuccessSpec(kind=str(raw["kind"]), params=dict(params), description=str(raw.get("description", "")))
    validate_success(success, card.field_names(), f"task file {where}")
    steps = data.get("total_timesteps", card.train.total_timesteps)
    if not isinstance(steps, int) or steps <= 0:
        raise CardError(f"task file {where}: 'total_timesteps' must be a positive integer")
    name = str(data.get("name") or path.stem)
    return Task(key=f"{card.id}/{name}", instruction=data["instruction"].strip(), card=card, success=success,
                total_timesteps=steps, named=True)


def resolve_task(task: str | None, instruction: str | None, env: str | None) -> Task:
    """Build a Task from `--task card/name`, `--task path/to/task.yaml`, or free text plus `--env`.

    Free text without a metric falls back to the card's default success metric (the env's own goal);
    the loop may replace it with a proposed metric and records that it did.
    """
    from reward_coder.envs import get_card, resolve_task as resolve_named

    if instruction:
        check_text_length(instruction, "the task instruction")
    if task and (task.endswith((".yaml", ".yml")) or Path(task).is_file()):
        loaded = load_task_file(Path(task))
        text = (instruction or "").strip()
        return replace(loaded, instruction=text) if text else loaded
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


def task_from_record(record: dict) -> Task:
    """The Task a run started with, from its task.json (so resume keeps a proposed or file-given metric)."""
    from reward_coder.envs import get_card

    return Task(
        key=record["key"], instruction=record["instruction"], card=get_card(record["env"]),
        success=SuccessSpec(**record["success"]), total_timesteps=int(record["total_timesteps"]),
        named=not record["key"].split("/")[-1].startswith("custom-"),
    )
