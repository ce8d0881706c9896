"""Answer requests from recorded exchanges (JSON Lines), so the demo, the tests and CI run offline.

A record is one line:
    {"request_hash": str|null, "purpose": str, "task_key": str, "iteration": int, "model": str,
     "samples": [str, ...], "prompt_tokens": int, "completion_tokens": int, "cost_usd": float, "note": str}
optionally with "sample_index": k and a one-element "samples" (one sample per line). Journals written by
JournalingCompleter are such files; their lines with an "error" are skipped.

Modes: "exact" answers by `request.request_hash()` (same prompt, n and temperature); "loose" by
`request.loose_key()` (purpose|task|iteration|label), which survives prompt edits; "auto" tries exact,
then loose. Each answer says how it was found (`Completion.replay_match`: 'exact' or 'loose'), and the
journal keeps that, so a reproduction shows which prompts were answered with answers to other prompts.

Token counts are the recorded ones, except on a line of several samples whose completion_tokens is clearly
fewer than their text needs (llama.cpp's server reports the first of n answers only): those are counted
from the text with the tokenizer and marked `tokens_estimated`, as the live completer would have. Lines
with no token counts (hand-written stand-ins) stay at 0: nothing was generated or spent for them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, get_args

from reward_coder.errors import LLMConfigError, ReplayMissError
from reward_coder.llm.tokens import TokenCounter, litellm_counter, reconcile_usage
from reward_coder.textfile import REPLAY_MAX_BYTES, read_text_file
from reward_coder.types import Completion, CompletionRequest, loose_key

ReplayMode = Literal["exact", "loose", "auto"]


@dataclass(frozen=True)
class ReplayEntry:
    """One recorded exchange (one line of a replay file)."""

    request_hash: str | None
    purpose: str
    task_key: str
    iteration: int
    model: str
    samples: tuple[str, ...]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    sample_index: int | None = None
    label: str = ""
    """Extra part of the loose key (e.g. which candidate a repair or critic request is about)."""
    source: str = ""
    """'file.jsonl:LINE', for messages."""
    tokens_estimated: bool = False
    """The recorded counts were already counted from the text (see Completion.tokens_estimated)."""

    @property
    def loose_key(self) -> str:
        return loose_key(self.purpose, self.task_key, self.iteration, self.label)


def replay_files(path: Path) -> list[Path]:
    """The files a replay path names: itself, or the sorted `*.jsonl` files of a folder."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.jsonl") if p.is_file())
        if not files:
            raise LLMConfigError(f"replay folder {path} holds no *.jsonl files; point replay: at a recorded file")
        return files
    if path.is_file():
        return [path]
    raise LLMConfigError(f"replay path {path} does not exist; record a session first or fix the path after replay:")


def load_replay_entries(path: Path) -> list[ReplayEntry]:
    """All usable records under `path`, in file order; a malformed line is an LLMConfigError naming it."""
    entries: list[ReplayEntry] = []
    for file in replay_files(Path(path)):
        text = read_text_file(file, "replay file", limit_bytes=REPLAY_MAX_BYTES, error=LLMConfigError)
        for line_number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 is in answers
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LLMConfigError(
                    f"{file}:{line_number} is not JSON ({exc.msg}); fix or delete that line"
                ) from exc
            entry = _entry_from_record(record, file, line_number)
            if entry is not None:
                entries.append(entry)
    return entries


def _entry_from_record(record: Any, file: Path, line_number: int) -> ReplayEntry | None:
    """One parsed line as an entry; None for a journaled failure, which holds no answer."""
    if not isinstance(record, dict):
        raise LLMConfigError(f"{file}:{line_number} is not a JSON object; fix or delete that line")
    if record.get("error"):
        return None
    try:
        samples = record["samples"]
        if not isinstance(samples, list) or not all(isinstance(s, str) for s in samples):
            raise TypeError("'samples' must be a list of strings")
        sample_index = record.get("sample_index")
        if sample_index is not None and (not isinstance(sample_index, int) or sample_index < 0 or len(samples) != 1):
            raise TypeError("a line with 'sample_index' must carry exactly one sample and an index >= 0")
        return ReplayEntry(
            request_hash=record.get("request_hash") or None,
            purpose=str(record["purpose"]),
            task_key=str(record.get("task_key", "")),
            iteration=int(record.get("iteration", 0)),
            model=str(record.get("model", "")),
            samples=tuple(samples),
            prompt_tokens=int(record.get("prompt_tokens") or 0),
            completion_tokens=int(record.get("completion_tokens") or 0),
            sample_index=sample_index,
            label=str(record.get("label", "")),
            source=f"{file.name}:{line_number}",
            tokens_estimated=bool(record.get("tokens_estimated", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise LLMConfigError(
            f"{file}:{line_number} is not a replay record ({reason}); fix or delete that line"
        ) from exc


def _slots(entries: Iterable[ReplayEntry]) -> dict[int, tuple[str, ReplayEntry]]:
    """Sample position -> (sample, line it came from), for the lines of one key in file order.

    A line with `sample_index` k fills slot k (the first such line wins); other lines append their
    samples after the highest slot filled so far.
    """
    slots: dict[int, tuple[str, ReplayEntry]] = {}
    for entry in entries:
        if entry.sample_index is not None:
            slots.setdefault(entry.sample_index, (entry.samples[0], entry))
            continue
        start = max(slots) + 1 if slots else 0
        for offset, sample in enumerate(entry.samples):
            slots[start + offset] = (sample, entry)
    return slots


def _available(slots: dict[int, tuple[str, ReplayEntry]]) -> int:
    """How many samples can be served: slots 0, 1, ... without a gap."""
    count = 0
    while count in slots:
        count += 1
    return count


class ReplayCompleter:
    """Completer that answers from a replay file or folder; nothing is spent (cost 0.0)."""

    def __init__(
        self, path: str | Path, mode: ReplayMode = "exact", count_tokens: TokenCounter | None = None
    ) -> None:
        """count_tokens: tokenizer for under-reported multi-sample lines; None: litellm's for the line's model."""
        if mode not in get_args(ReplayMode):
            raise LLMConfigError(f"unknown replay mode '{mode}'; use one of exact, loose, auto")
        self.path = Path(path)
        self.mode: ReplayMode = mode
        self.name = f"replay:{self.path.name}"
        self.entries = load_replay_entries(self.path)
        self._count_tokens = count_tokens
        self._usage: dict[int, tuple[int, int, bool]] = {}
        self._by_hash: dict[str, list[ReplayEntry]] = defaultdict(list)
        self._by_loose: dict[str, list[ReplayEntry]] = defaultdict(list)
        for entry in self.entries:
            if entry.request_hash:
                self._by_hash[entry.request_hash].append(entry)
            self._by_loose[entry.loose_key].append(entry)

    def __repr__(self) -> str:
        return f"ReplayCompleter(path={str(self.path)!r}, mode={self.mode!r}, entries={len(self.entries)})"

    def complete(self, request: CompletionRequest) -> Completion:
        """The recorded samples for this request, or ReplayMissError saying what is recorded instead."""
        request_hash = request.request_hash()
        short_by: int | None = None
        if self.mode in ("exact", "auto"):
            slots = _slots(self._by_hash.get(request_hash, ()))
            if _available(slots) >= request.n:
                return self._completion(slots, request.n, "exact")
        if self.mode in ("loose", "auto"):
            slots = _slots(self._by_loose.get(request.loose_key(), ()))
            available = _available(slots)
            if available >= request.n:
                exact = all(entry.request_hash == request_hash for _, entry in (slots[i] for i in range(request.n)))
                return self._completion(slots, request.n, "exact" if exact else "loose")
            if available:
                short_by = available
        raise ReplayMissError(self._miss_message(request, request_hash, short_by))

    def _completion(self, slots: dict[int, tuple[str, ReplayEntry]], n: int, match: str) -> Completion:
        used = [slots[i] for i in range(n)]
        lines = {id(entry): entry for _, entry in used}.values()
        usages = [self._line_usage(entry) for entry in lines]
        return Completion(
            samples=tuple(sample for sample, _ in used),
            model=self.name,
            prompt_tokens=sum(prompt for prompt, _, _ in usages),
            completion_tokens=sum(completion for _, completion, _ in usages),
            cost_usd=0.0,
            tokens_estimated=any(estimated for _, _, estimated in usages),
            replay_match=match,
        )

    def _line_usage(self, entry: ReplayEntry) -> tuple[int, int, bool]:
        """(prompt, completion, estimated) tokens of one recorded line; see the module docstring."""
        if entry.tokens_estimated or len(entry.samples) < 2 or entry.completion_tokens <= 0:
            return entry.prompt_tokens, entry.completion_tokens, entry.tokens_estimated
        if id(entry) not in self._usage:
            count = self._count_tokens or litellm_counter(entry.model or "gpt-3.5-turbo")
            usage = reconcile_usage(entry.samples, entry.prompt_tokens, entry.completion_tokens, count)
            self._usage[id(entry)] = (usage.prompt_tokens, usage.completion_tokens, usage.estimated)
        return self._usage[id(entry)]

    def _miss_message(self, request: CompletionRequest, request_hash: str, short_by: int | None) -> str:
        label = f"purpose='{request.purpose}' task='{request.task_key}' iteration={request.iteration}"
        if request.label:
            label += f" label='{request.label}'"
        same_task = [e for e in self.entries if e.purpose == request.purpose and e.task_key == request.task_key]
        iterations = sorted({e.iteration for e in same_task})
        recorded = f"{len(same_task)} entries for {request.purpose}/{request.task_key or '-'}"
        if iterations:
            recorded += f" (iterations {', '.join(map(str, iterations))})"
        if short_by is not None:
            problem = f"only {short_by} recorded samples for {label} but n={request.n} were asked"
        else:
            problem = f"no recorded answer for {label}"
        hint = "re-record with a real --model"
        if self.mode == "exact" and request.loose_key() in self._by_loose:
            hint = (f"the prompt changed since recording: --model replay-loose:{self.path} answers it with the "
                    "answer recorded for the same purpose, iteration and label (marked loose in the journal), "
                    "or re-record with a real --model")
        return (
            f"replay miss in {self.path} ({self.mode} mode): {problem} (request hash {request_hash}); "
            f"the file has {recorded}; {hint}"
        )
