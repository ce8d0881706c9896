"""One-shot generation (Text2Reward's zero-shot mode): K candidates, extracted, checked, written out.

Nothing received is lost or paid twice. Every answer is journaled in the output folder's
llm_journal.jsonl as it arrives, the prompts are written before the first call, and each candidate as
soon as it is final; a Ctrl-C leaves those plus a summary saying it was interrupted. Answers are also
kept in an LLM cache shared by all `generate` runs (see `llm_cache_dir`), so running the same
`generate` again (same model, endpoint and prompt) is answered from it instead of paying again, and
samples that arrived before a Ctrl-C are not asked for again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from reward_coder.budget import BudgetExceeded
from reward_coder.config import RunConfig
from reward_coder.examples import example_for
from reward_coder.design import Candidate, DesignPrompt, candidate_record, design_candidates, designer_messages
from reward_coder.store import RunStore
from reward_coder.tasks import Task, describe_success
from reward_coder.llm.base import Completer
from reward_coder.types import Completion, CompletionRequest, Message

EventSink = Callable[..., None]

LLM_CACHE_ENV = "REWARD_CODER_LLM_CACHE"
"""Environment variable naming the LLM cache folder of `generate` ('off' for none)."""
NO_CACHE = "off"


def llm_cache_dir(choice: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder `generate` caches LLM answers in, or None for no cache.

    `choice` (the --llm-cache option) wins, then $REWARD_CODER_LLM_CACHE, then the user cache folder
    `$XDG_CACHE_HOME/reward-coder/llm` (~/.cache/reward-coder/llm). 'off' turns the cache off (fresh
    samples every time). A user folder rather than runs/: output folders go anywhere (--out), and the
    cache must outlive them to spare a rerun its cost; one JSON file per answer, safe to delete.
    A loop run keeps its own cache inside its run folder (llm_cache/), which is what `resume` reuses.
    """
    value = os.fspath(choice) if choice is not None else os.environ.get(LLM_CACHE_ENV, "")
    if value.strip().lower() == NO_CACHE:
        return None
    if value.strip():
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reward-coder" / "llm"


@dataclass(frozen=True)
class GenerateResult:
    candidates: list[Candidate]
    cost_usd: float
    reused: int = 0
    """Answers that came from the LLM cache (paid for by an earlier `generate`)."""


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


def summary_markdown(task: Task, candidates: list[Candidate], interrupted_of: int | None = None) -> str:
    """The summary table; `interrupted_of`: the candidates asked for, when a Ctrl-C stopped the run early."""
    lines = [f"# Candidates for {task.key}", ""]
    if interrupted_of is not None:
        lines += [
            f"**Interrupted** (Ctrl-C, or the next LLM call could pass --max-cost) with {len(candidates)} of "
            f"{interrupted_of} candidates finished. Every answer "
            "received is in llm_journal.jsonl; run the same command again to go on from the LLM cache "
            "without paying for them again.",
            "",
        ]
    lines += [
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


def run_generate(config: RunConfig, task: Task, store: RunStore, on_event: EventSink | None = None,
                 cache_dir: Path | None = None) -> GenerateResult:
    """Render the designer prompt, get K candidates, check and repair them, and store everything.

    `cache_dir`: the LLM cache (see `llm_cache_dir`); None for none. On Ctrl-C what was finished is
    written (prompts, candidates, a summary saying so) and the KeyboardInterrupt goes on to the caller.
    """
    from reward_coder.envs import describe_card
    from reward_coder.llm import JournalingCompleter, journaled_answers, make_completer

    emit = on_event or (lambda *_a, **_k: None)
    store.write_json("config.json", config)
    inner = make_completer(config.model, api_base=config.api_base, cache_dir=cache_dir,
                           max_retries=config.llm_retries, timeout_s=config.llm_timeout_s,
                           max_tokens=config.llm_max_tokens, split_samples=config.llm_split_samples,
                           on_retry=lambda note: emit("llm_retry", **note),
                           price_per_1k_tokens=config.llm_price_per_1k_tokens, allow_unpriced=config.llm_allow_unpriced)
    completer = JournalingCompleter(
        inner,
        sink=lambda record: store.append_jsonl("llm_journal.jsonl", record),
        # a rerun into the same folder is answered from the cache: those answers are journaled already
        journaled=journaled_answers(store.path("llm_journal.jsonl")),
    )
    from reward_coder.budget import BudgetedCompleter

    reused = _CacheHits(BudgetedCompleter(completer, config.max_cost_usd))  # --max-cost: this generate's total
    checker = make_checker(task, config, emit)
    prompt = DesignPrompt(
        instruction=task.instruction,
        env_description=describe_card(task.card),
        success_description=describe_success(task.success),
        example=example_for(task.card) if config.few_shot else None,
    )
    write_prompts(store, "prompts", designer_messages(task.card, prompt))  # before the first call
    finished: list[Candidate] = []

    def keep(candidate: Candidate) -> None:
        write_candidate(store, "candidates", candidate)
        finished.append(candidate)

    try:
        _messages, candidates = design_candidates(
            reused, task.card, prompt, checker,
            samples=config.samples, task_key=task.key, temperature=config.temperature,
            repair_attempts=config.repair_attempts, on_event=emit, on_candidate=keep,
        )
    except (KeyboardInterrupt, BudgetExceeded):
        done = sorted(finished, key=lambda c: c.index)
        store.write_json("summary.json", [candidate_record(c) for c in done])
        store.write_text("summary.md", summary_markdown(task, done, interrupted_of=config.samples))
        raise
    store.write_json("summary.json", [candidate_record(c) for c in candidates])
    store.write_text("summary.md", summary_markdown(task, candidates))
    return GenerateResult(candidates=candidates, cost_usd=completer.total_cost_usd, reused=reused.hits)


class _CacheHits:
    """Counts the answers that came from the LLM cache, for the closing line of `generate`."""

    def __init__(self, inner: Completer) -> None:
        self.inner = inner
        self.name = inner.name
        self.hits = 0

    def complete(self, request: CompletionRequest) -> Completion:
        completion = self.inner.complete(request)
        self.hits += int(completion.cached)
        return completion
