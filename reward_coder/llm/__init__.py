"""The LLM layer: one `Completer` protocol and the providers behind it.

`make_completer("gpt-4o")` talks to a provider through litellm (imported on first call);
`make_completer("replay:runs/demo/llm.jsonl")` answers from a recording; `ScriptedCompleter` serves tests.
Nothing outside this package talks to a provider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from reward_coder.errors import LLMConfigError
from reward_coder.llm.base import Completer
from reward_coder.llm.journal import (
    JournalingCompleter,
    JournalSink,
    answer_key,
    journal_record,
    journaled_answers,
    jsonl_file_sink,
)
from reward_coder.llm.limits import PURPOSES, parse_max_tokens, split_samples_by_default
from reward_coder.llm.litellm_provider import DEFAULT_RETRIES, LiteLLMCompleter, PartialAnswerError, RetryNote
from reward_coder.llm.replay import ReplayCompleter, ReplayEntry, ReplayMode, load_replay_entries
from reward_coder.llm.routing import ACCEPTED_FORMS, ProviderRoute, resolve_route
from reward_coder.llm.scripted import ScriptedCompleter, ScriptedResponse, ScriptExhaustedError

REPLAY_PREFIX = "replay:"
"""`replay:PATH` answers only requests recorded with the very same prompt (exact); a miss names the request."""
REPLAY_LOOSE_PREFIX = "replay-loose:"
"""`replay-loose:PATH` falls back to the loose key (purpose, task, iteration, label) when the prompt differs;
every answer found that way is marked `replay_match: loose` in the journal and counted in the report."""
STANDINS = "standins"
"""`--model replay:standins` replays the hand-written stand-in responses shipped with the package."""

__all__ = [
    "ACCEPTED_FORMS",
    "Completer",
    "DEFAULT_RETRIES",
    "JournalSink",
    "JournalingCompleter",
    "LiteLLMCompleter",
    "PURPOSES",
    "PartialAnswerError",
    "ProviderRoute",
    "REPLAY_LOOSE_PREFIX",
    "REPLAY_PREFIX",
    "ReplayCompleter",
    "ReplayEntry",
    "ReplayMode",
    "RetryNote",
    "ScriptExhaustedError",
    "ScriptedCompleter",
    "ScriptedResponse",
    "answer_key",
    "journal_record",
    "journaled_answers",
    "jsonl_file_sink",
    "load_replay_entries",
    "make_completer",
    "parse_max_tokens",
    "resolve_route",
    "split_samples_by_default",
]


def make_completer(
    model: str,
    *,
    api_base: str | None = None,
    api_key: str | None = None,
    cache_dir: Path | None = None,
    timeout_s: float = 120.0,
    max_retries: int = DEFAULT_RETRIES,
    max_tokens: Mapping[str, int] | None = None,
    split_samples: bool | None = None,
    on_retry: Callable[[RetryNote], None] | None = None,
    price_per_1k_tokens: tuple[float, float] | None = None,
    allow_unpriced: bool = False,
) -> Completer:
    """The completer a model string names: 'replay:PATH' replays exactly, 'replay-loose:PATH' falls back to the
    loose key, 'replay:standins' replays the stand-ins (loose: they are matched by purpose, iteration and
    label), anything else goes to litellm.

    max_tokens: answer limit by request purpose (RunConfig.llm_max_tokens); None: the defaults.
    split_samples: n samples as n concurrent single-sample calls; None: for a local server only.
    on_retry: told of each retry before its wait (the progress view shows it).
    price_per_1k_tokens / allow_unpriced: for a model litellm has no price for (see LiteLLMCompleter).
    These are ignored by replay, which answers what was recorded. Fails fast with a one-line
    LLMConfigError on an empty or unknown model string, a missing key, a missing replay file or a bad
    limit, so the CLI can stop before a run starts.
    """
    model = (model or "").strip()
    if not model:
        raise LLMConfigError(f"no model given; pass --model with one of {ACCEPTED_FORMS}")
    for prefix, mode in ((REPLAY_PREFIX, "exact"), (REPLAY_LOOSE_PREFIX, "auto")):
        if not model.startswith(prefix):
            continue
        path_text = model[len(prefix) :].strip()
        if not path_text:
            raise LLMConfigError(f"{prefix} needs a path, e.g. --model {prefix}runs/<id>/llm_journal.jsonl")
        if path_text == STANDINS:
            from reward_coder.resources import standins_dir

            return ReplayCompleter(standins_dir(), mode="loose")
        return ReplayCompleter(Path(path_text).expanduser(), mode=mode)  # type: ignore[arg-type]
    return LiteLLMCompleter(
        model,
        api_base=api_base,
        api_key=api_key,
        timeout_s=timeout_s,
        max_retries=max_retries,
        cache_dir=cache_dir,
        max_tokens=max_tokens,
        split_samples=split_samples,
        on_retry=on_retry,
        price_per_1k_tokens=price_per_1k_tokens,
        allow_unpriced=allow_unpriced,
    )
