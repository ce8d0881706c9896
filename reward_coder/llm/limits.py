"""How long an answer may be, and how n samples are asked for: pure rules, no litellm import.

Answer limits are per request purpose (a critic's verdict needs fewer tokens than a reward function),
read from the run config and applied by the completer to every request. Samples are split into
single-sample requests for local servers, where the n answers of one request share one small machine
and one timeout: a slow fourth answer used to cost the three finished ones.
"""

from __future__ import annotations

import ipaddress
from typing import Mapping
from urllib.parse import urlsplit

from reward_coder.config import DEFAULT_LLM_MAX_TOKENS
from reward_coder.errors import LLMConfigError

PURPOSES = ("designer", "repair", "critic", "analyzer", "success_proposal")
"""The purposes the loop's requests carry; 'default' covers any other."""

DEFAULT_PURPOSE = "default"

MIN_MAX_TOKENS = 16
"""Below this no reward function fits; a smaller value is taken as a typo (e.g. 15 for 1500)."""

REASONING_HEADROOM_TOKENS = 8192
"""Added to the cap for models that reason before answering (o1, o3-mini, ...): their hidden reasoning
counts against max_tokens, and a cap sized for the visible answer alone would leave it empty."""


def parse_max_tokens(spec: str, base: Mapping[str, int] | None = None) -> dict[str, int]:
    """Per-purpose limits from a `--max-tokens` value: 'N' for every purpose, 'purpose=N,...' for some.

    Both forms mix ('1024,critic=512': 1024 for all but the critic); purposes not named keep `base`
    (the defaults). An unknown purpose or a value below MIN_MAX_TOKENS is an LLMConfigError naming it.
    """
    limits = resolve_max_tokens(base)
    parts = [part.strip() for part in spec.split(",") if part.strip()]
    if not parts:
        raise LLMConfigError("--max-tokens is empty; give N for every purpose or e.g. designer=2048,critic=512")
    for part in parts:
        name, sep, value_text = part.partition("=")
        name = name.strip()
        if not sep:
            value_text, name = name, ""
        value = _limit_value(value_text.strip(), part)
        if not name:
            limits = dict.fromkeys(limits, value)
        elif name in limits:
            limits[name] = value
        else:
            raise LLMConfigError(
                f"unknown purpose '{name}' in --max-tokens '{spec}'; use {', '.join((*PURPOSES, DEFAULT_PURPOSE))}"
            )
    return limits


def resolve_max_tokens(limits: Mapping[str, int] | None) -> dict[str, int]:
    """Every known purpose's limit: `limits` over the defaults; values checked (a config may be hand-edited)."""
    resolved = dict(DEFAULT_LLM_MAX_TOKENS)
    for name, value in (limits or {}).items():
        if isinstance(value, bool) or not isinstance(value, int) or value < MIN_MAX_TOKENS:
            raise LLMConfigError(
                f"max_tokens for '{name}' must be a whole number >= {MIN_MAX_TOKENS}, got {value!r}; "
                "fix llm_max_tokens in config.json or pass --max-tokens"
            )
        resolved[str(name)] = value
    return resolved


def max_tokens_for(limits: Mapping[str, int], purpose: str) -> int:
    """The limit of one request purpose; 'default' for a purpose the limits do not name."""
    if purpose in limits:
        return int(limits[purpose])
    return int(limits.get(DEFAULT_PURPOSE, DEFAULT_LLM_MAX_TOKENS[DEFAULT_PURPOSE]))


def is_local_endpoint(model: str, api_base: str | None) -> bool:
    """True for a model served on this machine: an ollama/ model, or an api_base on a loopback address."""
    lowered = model.strip().lower()
    if lowered.startswith(("ollama/", "ollama_chat/")) and not api_base:
        return True
    if not api_base:
        return False
    try:
        host = urlsplit(api_base if "//" in api_base else f"http://{api_base}").hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified  # 0.0.0.0 reaches this machine too


def split_samples_by_default(model: str, api_base: str | None) -> bool:
    """Whether n samples go out as n single-sample requests when the user did not say: yes for local servers.

    Hosted APIs compute the n answers of one request in parallel and bill the prompt once, so they keep
    one request; on a local server (llama.cpp, Ollama, LM Studio) they share one machine and one timeout.
    """
    if model.strip().lower().startswith(("replay:", "replay-loose:")):
        return False
    return is_local_endpoint(model, api_base)


def _limit_value(text: str, part: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise LLMConfigError(
            f"--max-tokens part '{part}' is not a number; give N or purpose=N, e.g. designer=2048"
        ) from None
    if value < MIN_MAX_TOKENS:
        raise LLMConfigError(
            f"--max-tokens {value} is too small to hold a reward function; use at least {MIN_MAX_TOKENS}"
        )
    return value
