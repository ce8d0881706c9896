"""One-shot generation (Text2Reward's zero-shot mode): K candidates, extracted, checked, written out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from reward_coder.config import RunConfig
from reward_coder.design import Candidate, DesignPrompt, candidate_record, design_candidates
from reward_coder.store import RunStore
from reward_coder.tasks import Task, describe_success
from reward_coder.types import Message

EventSink = Callable[..., None]


@dataclass(frozen=True)
class GenerateResult:
    candidates: list[Candidate]
    cost_usd: float


def make_checker(task: Task, config: RunConfig, on_event: EventSink):
    """Sample real transitions once and return a checker that runs a candidate on them in the sandbox."""
    from reward_coder.direction import direction_references, task_name_of
    from reward_coder.envs import sample_transitions
    from reward_coder.sandbox import check_candidate, require_isolation

    isolation = require_isolation(config.allow_unsandboxed)
    on_event("isolation", level=isolation.level, detail=isolation.detail)
    batch = sample_transitions(task.card, n_envs=4, n_steps=config.check_steps, seed=config.seed)
    on_event("sampling", n=len(batch.action), env=task.card.env_id)
    field_names = task.card.field_names()
    # good and bad reference states of the task, sampled once: every candidate is scored on the same ones
    direction = direction_references(task.card, task_name_of(task.key, task.named), seed=config.seed)

    def checker(code: str):
        return check_candidate(code, field_names=field_names, batches=batch, isolation=isolation,
                               direction=direction, strict_direction=config.strict_direction)

    return checker


def write_prompts(store: RunStore, folder: str, messages: tuple[Message, ...]) -> None:
    for position, message in enumerate(messages):
        store.write_text(f"{folder}/{position}_{message.role}.txt", message.content)


def write_candidate(store: RunStore, folder: str, candidate: Candidate) -> None:
    """Code, every response, and the check report of one candidate."""
    name = f"{folder}/{candidate.id}"
    if candidate.code is not None:
        store.write_text(f"{name}.py", candidate.code)
    responses = "\n\n".join(
        f"<!-- attempt {i} -->\n{attempt.response}" for i, attempt in enumerate(candidate.attempts)
    )
    store.write_text(f"{name}.responses.md", responses)
    store.write_json(f"{name}.json", candidate_record(candidate))


def summary_markdown(task: Task, candidates: list[Candidate]) -> str:
    lines = [
        f"# Candidates for {task.key}",
        "",
        f"Task: {task.instruction}",
        f"Environment: {task.card.env_id} (card '{task.card.id}')",
        f"Success: {describe_success(task.success)}",
        "",
        "| candidate | status | attempts | earlier attempts failed with | errors | warnings |",
        "|---|---|---|---|---|---|",
    ]
    for c in candidates:
        check = c.check
        errors = c.failure_summary()
        warnings = "; ".join(i.describe() for i in check.warnings) if check else ""
        earlier = " / ".join(c.repaired_from())
        cells = [c.id, c.status, c.attempts_text(), earlier or "-", errors or "-", warnings or "-"]
        lines.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def run_generate(config: RunConfig, task: Task, store: RunStore, on_event: EventSink | None = None) -> GenerateResult:
    """Render the designer prompt, get K candidates, check and repair them, and store everything."""
    from reward_coder.envs import describe_card
    from reward_coder.llm import JournalingCompleter, make_completer

    emit = on_event or (lambda *_a, **_k: None)
    store.write_json("config.json", config)
    completer = JournalingCompleter(
        make_completer(config.model, api_base=config.api_base, max_retries=config.llm_retries,
                       timeout_s=config.llm_timeout_s, max_tokens=config.llm_max_tokens,
                       split_samples=config.llm_split_samples),
        sink=lambda record: store.append_jsonl("llm_journal.jsonl", record),
    )
    checker = make_checker(task, config, emit)
    prompt = DesignPrompt(
        instruction=task.instruction,
        env_description=describe_card(task.card),
        success_description=describe_success(task.success),
    )
    messages, candidates = design_candidates(
        completer, task.card, prompt, checker,
        samples=config.samples, task_key=task.key, temperature=config.temperature,
        repair_attempts=config.repair_attempts, on_event=emit,
    )
    write_prompts(store, "prompts", messages)
    for candidate in candidates:
        write_candidate(store, "candidates", candidate)
    store.write_json("summary.json", [candidate_record(c) for c in candidates])
    store.write_text("summary.md", summary_markdown(task, candidates))
    return GenerateResult(candidates=candidates, cost_usd=completer.total_cost_usd)
