"""Record every exchange with the LLM, so a session can be audited, priced and replayed later.

`JournalingCompleter` wraps any completer and hands one JSON-able record per request to a sink. The
records carry the replay fields (request_hash, purpose, task_key, iteration, model, samples, tokens,
cost), so a journal file is itself a replay file: `--model replay:journal.jsonl` reruns the session.
`tokens_estimated` marks token counts that were counted from the text because the provider reported
none or too few; the request is recorded as sent, with the `max_tokens` it ran under.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from reward_coder.errors import LLMError
from reward_coder.llm.base import Completer
from reward_coder.llm.litellm_provider import PartialAnswerError
from reward_coder.types import Completion, CompletionRequest, to_jsonable

JournalSink = Callable[[dict[str, Any]], None]


def journal_record(
    request: CompletionRequest,
    model: str,
    completion: Completion | None,
    error: BaseException | None,
    latency_s: float,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The JSON-able record of one request: the full request and answer (or error), plus replay fields.

    A request that failed after some of its samples arrived (PartialAnswerError) records their tokens and
    cost, which were spent, and the samples under `error.arrived_samples` (replay skips error records).
    """
    when = (timestamp or datetime.now(timezone.utc)).isoformat(timespec="milliseconds")
    partial = error if isinstance(error, PartialAnswerError) else None
    error_record: dict[str, Any] | None = None
    if error is not None:
        error_record = {"type": type(error).__name__, "message": str(error)}
        if partial is not None:
            error_record["arrived_samples"] = list(partial.arrived)
    spent: Completion | PartialAnswerError | None = completion if completion is not None else partial
    return {
        "timestamp": when,
        "model": completion.model if completion is not None else model,
        "request_hash": request.request_hash(),
        "loose_key": request.loose_key(),
        "purpose": request.purpose,
        "task_key": request.task_key,
        "iteration": request.iteration,
        "label": request.label,
        "samples": list(completion.samples) if completion is not None else [],
        "prompt_tokens": spent.prompt_tokens if spent is not None else 0,
        "completion_tokens": spent.completion_tokens if spent is not None else 0,
        "tokens_estimated": spent.tokens_estimated if spent is not None else False,
        "cost_usd": spent.cost_usd if spent is not None else 0.0,
        "cached": completion.cached if completion is not None else False,
        "latency_s": round(latency_s, 6),
        "request": to_jsonable(request),
        "completion": to_jsonable(completion) if completion is not None else None,
        "error": error_record,
        "note": "",
    }


class JournalingCompleter:
    """Wraps a completer: records each request through `sink` and keeps running totals.

    `n_requests` counts every request (failed ones included, they are journaled too); tokens and cost
    add up answered requests and the arrived part of partly answered ones (PartialAnswerError), which
    were paid for. `tokens_estimated` counts answers whose tokens were counted, not reported. A failure
    is recorded and then re-raised unchanged. The inner completer's `bounded(request)`, when it has one,
    gives the request as sent (with its max_tokens), which is what the record holds.
    """

    def __init__(self, inner: Completer, sink: JournalSink) -> None:
        self.inner = inner
        self.sink = sink
        self.name = inner.name
        self.total_cost_usd = 0.0
        self.total_prompt_tokens = 0
        self.total_completion_tokens = 0
        self.n_requests = 0
        self.n_errors = 0
        self.n_tokens_estimated = 0
        self._lock = threading.Lock()

    def complete(self, request: CompletionRequest) -> Completion:
        """Ask the inner completer, journal the exchange, return its answer (or re-raise its error)."""
        bounded = getattr(self.inner, "bounded", None)
        sent = bounded(request) if callable(bounded) else request
        started = time.monotonic()
        try:
            completion = self.inner.complete(request)
        except Exception as exc:
            record = journal_record(sent, self.name, None, exc, time.monotonic() - started)
            with self._lock:
                self.n_requests += 1
                self.n_errors += 1
                if isinstance(exc, PartialAnswerError):
                    self._add(exc)
            self.sink(record)
            raise
        record = journal_record(sent, self.name, completion, None, time.monotonic() - started)
        with self._lock:
            self.n_requests += 1
            self._add(completion)
        self.sink(record)
        return completion

    def _add(self, spent: Completion | PartialAnswerError) -> None:
        self.total_cost_usd += spent.cost_usd
        self.total_prompt_tokens += spent.prompt_tokens
        self.total_completion_tokens += spent.completion_tokens
        self.n_tokens_estimated += int(spent.tokens_estimated)


def jsonl_file_sink(path: str | Path) -> JournalSink:
    """A sink appending one JSON line per record, flushed and fsynced so a crash loses nothing answered."""
    target = Path(path)
    lock = threading.Lock()

    def write(record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            with lock:
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("a", encoding="utf-8") as handle:
                    handle.write(line)
                    handle.flush()
                    os.fsync(handle.fileno())
        except OSError as exc:
            raise LLMError(
                f"cannot write the LLM journal {target} ({exc.strerror or exc}); check free disk space and permissions"
            ) from exc

    return write
