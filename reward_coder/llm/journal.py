"""Record every exchange with the LLM, so a session can be audited, priced and replayed later.

`JournalingCompleter` wraps any completer and hands one JSON-able record per request to a sink. The
records carry the replay fields (request_hash, purpose, task_key, iteration, model, samples, tokens,
cost), so a journal file is itself a replay file: `--model replay:journal.jsonl` reruns the session.
`retries` lists the retries the exchange took (which call, attempt, reason, wait), failed ones included.
`tokens_estimated` marks token counts that were counted from the text because the provider reported
none or too few; the request is recorded as sent, with the `max_tokens` it ran under.

Each exchange is journaled once. A resumed run asks again what the killed session had already asked
(the phase it was in is redone), and the answer then comes back from the run's LLM cache or the replay
file unchanged: an answer identical to one the journal already holds (same request_hash, model and
samples) on which nothing new was spent (a cache hit, or cost 0 at a known price: a replay) writes no
record; the first record stands for it, so token and cost totals and replay (`replay:` serves the first
record of a request) stay right. A paid answer, a different answer and every failure get their own
full record. A request interrupted by
Ctrl-C is recorded as a failure of type KeyboardInterrupt, with the samples that had arrived when the
inner completer can say (`arrived_samples(request)`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence

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
        "cost_unknown": bool(getattr(completion, "cost_unknown", False)),
        "replay_match": getattr(completion, "replay_match", "") if completion is not None else "",
        "cached": completion.cached if completion is not None else False,
        "latency_s": round(latency_s, 6),
        "retries": [dict(note) for note in (completion.retries if completion is not None else getattr(error, "retries", ()))],
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

    def __init__(self, inner: Completer, sink: JournalSink, journaled: Iterable[str] = ()) -> None:
        """`journaled`: answer keys (see `journaled_answers`) of the records the journal already holds,
        e.g. those of the killed session a resume continues; such an answer, given again at no cost,
        is not journaled twice (see the module docstring)."""
        self.inner = inner
        self.sink = sink
        self.name = inner.name
        self.total_cost_usd = 0.0
        self.total_prompt_tokens = 0
        self.total_completion_tokens = 0
        self.n_requests = 0
        self.n_errors = 0
        self.n_tokens_estimated = 0
        self.n_reused = 0
        """Answers that were already journaled (given again from a cache or a replay) and so not recorded."""
        self._journaled = set(journaled)
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
        except KeyboardInterrupt:
            self._journal_interrupt(request, sent, time.monotonic() - started)
            raise
        key = answer_key(sent.request_hash(), completion.model, completion.samples)
        with self._lock:
            self.n_requests += 1
            self._add(completion)
            free = completion.cached or (completion.cost_usd == 0.0 and not getattr(completion, "cost_unknown", False))
            reused = key in self._journaled and free
            self._journaled.add(key)
            self.n_reused += int(reused)
        if not reused:
            self.sink(journal_record(sent, self.name, completion, None, time.monotonic() - started))
        return completion

    def _journal_interrupt(self, request: CompletionRequest, sent: CompletionRequest, latency_s: float) -> None:
        """Record a request cut short by Ctrl-C, with what had arrived of it; never hides the interrupt."""
        arrived_of = getattr(self.inner, "arrived_samples", None)
        try:
            arrived = tuple(arrived_of(request)) if callable(arrived_of) else ()
        except Exception:  # noqa: BLE001 - best effort while stopping; the interrupt must go on
            arrived = ()
        stop = KeyboardInterrupt(
            f"interrupted (Ctrl-C) before the answer was complete; {len(arrived)} of {request.n} samples had arrived"
        )
        record = journal_record(sent, self.name, None, stop, latency_s)
        if arrived:
            record["error"]["arrived_samples"] = list(arrived)
        with self._lock:
            self.n_requests += 1
            self.n_errors += 1
        try:
            self.sink(record)
        except Exception:  # noqa: BLE001 - a full disk must not turn Ctrl-C into another error
            pass

    def _add(self, spent: Completion | PartialAnswerError) -> None:
        self.total_cost_usd += spent.cost_usd
        self.total_prompt_tokens += spent.prompt_tokens
        self.total_completion_tokens += spent.completion_tokens
        self.n_tokens_estimated += int(spent.tokens_estimated)


def answer_key(request_hash: str, model: str, samples: Sequence[str]) -> str:
    """Identity of one answered exchange: the request as the model saw it, the model, and the samples."""
    blob = json.dumps([request_hash, model, list(samples)], ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def journaled_answers(path: str | Path) -> set[str]:
    """Answer keys of the answered records of a journal file (none if it does not exist yet).

    Read when a run resumes, so that answers it is given again are not journaled twice. A torn last
    line (a kill mid-write) and lines that are not answered records are skipped.
    """
    keys: set[str] = set()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return keys
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or record.get("error") or not isinstance(record.get("samples"), list):
            continue
        keys.add(answer_key(str(record.get("request_hash") or ""), str(record.get("model") or ""), record["samples"]))
    return keys


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


class JournalCost(NamedTuple):
    """What the exchanges of a journal cost, earlier sessions of a run included."""

    spent_usd: float
    unknown: int
    """Answers of a model with no known price (their cost is not in spent_usd)."""
    largest_usd: float
    """The dearest single exchange: a resumed budget guards against a call that large."""


def journaled_cost(path: str | Path) -> JournalCost:
    """The cost of every exchange a journal holds, so a budget holds across resumes. A torn last line (a
    kill mid-write) is skipped; a missing journal cost nothing."""
    spent, unknown, largest = 0.0, 0, 0.0
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return JournalCost(0.0, 0, 0.0)
    except OSError as exc:
        raise LLMError(f"cannot read the LLM journal {path} ({exc.strerror or exc})") from exc
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            cost = float(record.get("cost_usd") or 0.0)
            spent += cost
            largest = max(largest, cost)
            unknown += bool(record.get("cost_unknown"))
    return JournalCost(spent, unknown, largest)
