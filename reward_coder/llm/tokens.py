"""Token counts that add up when a provider reports none or too few, counted with the model's tokenizer.

llama.cpp's server answers a request for n > 1 choices with the usage of the first choice only (559
output tokens recorded against 2,465 in the four answers' text), and some servers send no usage at all.
The figures are then counted from the text through `litellm.token_counter` (the model's own tokenizer
when litellm knows it, else its bundled default) and marked as estimated. litellm downloads the tokenizers
of Llama and Command-R models from the Hugging Face Hub; on a machine without network that download
retries for ~24 s before falling back, so such a tokenizer is used only when it is already in the local
cache, and the bundled default counts otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from reward_coder.types import Message

UNDER_REPORT_RATIO = 0.75
"""Reported output tokens below this share of the counted ones are taken as under-reported. On the recorded
llama.cpp answers a single answer's report is 0.99-1.03 of the count and an n > 1 report 0.23-0.58, so the
line sits between; tokenizers of other model families differ from the default by well under 25%."""

UNDER_REPORT_MARGIN = 16
"""...and at least this many tokens below, so that a short answer counted by another tokenizer is trusted."""

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class TokenUsage:
    """Token counts of one response, and whether any of them was counted here rather than reported."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False


HUB_TOKENIZERS = {
    "llama2": "hf-internal-testing/llama-tokenizer",
    "llama3": "Xenova/llama-3-tokenizer",
    "cohere": "Xenova/c4ai-command-r-v01-tokenizer",
}
"""The tokenizers litellm fetches from the Hugging Face Hub, by litellm's name for their kind."""


def counting_model(model: str) -> str:
    """The model name to count `model`'s tokens with: itself, or "" (litellm's bundled default) when its
    tokenizer would have to be downloaded and is not in the local Hugging Face cache."""
    try:
        from litellm.utils import huggingface_tokenizer_kind

        repo = HUB_TOKENIZERS.get(str(huggingface_tokenizer_kind(model)))
    except Exception:  # noqa: BLE001 - litellm without this helper: count as it does
        return model
    if repo is None:
        return model
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo, "tokenizer.json")
    except Exception:  # noqa: BLE001 - no hub library: nothing is cached
        cached = None
    return model if isinstance(cached, str) else ""


def litellm_counter(model: str) -> TokenCounter:
    """Count tokens of a text as `model` would (litellm's default tokenizer for a model it does not know,
    or whose tokenizer is not on this machine)."""
    from reward_coder.llm.litellm_provider import import_litellm

    litellm = import_litellm()
    counted_as = counting_model(model)

    def count(text: str) -> int:
        if not text:
            return 0
        try:
            return int(litellm.token_counter(model=counted_as, text=text))
        except Exception:  # noqa: BLE001 - a tokenizer that cannot load must not lose an answer
            return math.ceil(len(text) / 4)  # ~4 characters per token in English and code

    return count


def count_prompt_tokens(messages: Sequence[Message], count: TokenCounter) -> int:
    """Tokens of a chat prompt: its texts plus a few per message for the role markers."""
    return sum(count(message.content) + 4 for message in messages) + 3 if messages else 0


def under_reported(reported: int, counted: int) -> bool:
    """True when a reported output count is smaller than the text needs by a clear margin."""
    return reported < UNDER_REPORT_RATIO * counted and counted - reported >= UNDER_REPORT_MARGIN


def reconcile_usage(
    samples: Sequence[str],
    prompt_tokens: int | None,
    completion_tokens: int | None,
    count: TokenCounter,
    messages: Sequence[Message] | None = None,
) -> TokenUsage:
    """The token counts to record for one response: the reported ones, or counts of the text where those
    are missing (None or 0 with text present) or under-reported (see `under_reported`).

    More reported than counted is kept: reasoning models bill hidden tokens the text does not show.
    The prompt is counted only when `messages` are given and no prompt count was reported.
    """
    estimated = False
    prompt = int(prompt_tokens or 0)
    if prompt <= 0 and messages:
        prompt = count_prompt_tokens(messages, count)
        estimated = True
    reported = int(completion_tokens or 0)
    completion = reported
    if any(samples):
        counted = sum(count(sample) for sample in samples)
        if reported <= 0 or under_reported(reported, counted):
            completion = counted
            estimated = True
    return TokenUsage(prompt_tokens=prompt, completion_tokens=completion, estimated=estimated)
