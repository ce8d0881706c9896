"""Model string -> provider route, checked before any call so a missing key fails in one clear line.

The forms used most (OpenAI, Anthropic, Ollama, an OpenAI-compatible --api-base) are routed here without
importing litellm, in microseconds. Every other model string goes to litellm, which knows ~100 providers
(gemini/, azure/, bedrock/, vertex_ai/, groq/, mistral/, deepseek/, openrouter/, together_ai/, ...): it
says which provider a string names (`get_llm_provider`) and which environment variables that provider
reads and are unset (`validate_environment`), so a missing key is one line naming the variable.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping

from reward_coder.errors import LLMConfigError

ACCEPTED_FORMS = (
    '"gpt-4o", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.0-flash", "azure/<deployment>", '
    '"bedrock/<model id>", "ollama/qwen2.5-coder", any other litellm provider/model, '
    '"openai/<name> --api-base http://host:port/v1", "replay:PATH"'
)
"""Shown whenever a model string is not understood."""

OPENAI_DEFAULT_ENDPOINT = "https://api.openai.com/v1"
ANTHROPIC_DEFAULT_ENDPOINT = "https://api.anthropic.com"
OLLAMA_DEFAULT_ENDPOINT = "http://localhost:11434"

NO_KEY_PLACEHOLDER = "sk-no-key-required"
"""The OpenAI client refuses to start without some key; local OpenAI-compatible servers ignore it."""

_BARE_OPENAI = re.compile(r"^(gpt-|chatgpt-|o\d|ft:gpt-)", re.IGNORECASE)

_PASSTHROUGH_WITH_API_BASE = ("hosted_vllm/", "lm_studio/", "llamafile/", "openai_like/", "text-completion-openai/")
"""litellm providers meant for self-hosted endpoints; with --api-base other names are sent as OpenAI-compatible."""


@dataclass(frozen=True)
class ProviderRoute:
    """How to call one model through litellm, and what to tell the user when it fails."""

    model: str
    """The model string as the user typed it (recorded in journals and cache keys)."""
    litellm_model: str
    """What litellm is called with: always provider-prefixed, so litellm never has to guess."""
    provider: str
    """'openai', 'anthropic', 'ollama', 'openai-compatible', or the litellm provider name ('gemini', ...)."""
    endpoint: str
    """Where requests go; named in 'unreachable' messages."""
    api_base: str | None
    key_hint: str
    """How to fix a rejected key, e.g. 'check OPENAI_API_KEY'."""
    api_key: str | None = field(default=None, repr=False)
    """Never shown in reprs or messages."""


def resolve_route(
    model: str,
    api_base: str | None = None,
    api_key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ProviderRoute:
    """Validate `model` (+ endpoint and key) and say how to call it; raise LLMConfigError otherwise."""
    env = os.environ if env is None else env
    model = model.strip()
    if not model:
        raise LLMConfigError(f"no model given; pass --model with one of {ACCEPTED_FORMS}")
    lowered = model.lower()
    api_base = api_base or None

    if lowered.startswith(("ollama/", "ollama_chat/")):
        return ProviderRoute(
            model=model,
            litellm_model=model,
            provider="ollama",
            endpoint=api_base or OLLAMA_DEFAULT_ENDPOINT,
            api_base=api_base,
            key_hint="ollama needs no key; check the server's settings",
            api_key=api_key,
        )

    if lowered.startswith(("anthropic/", "claude")):
        litellm_model = model if lowered.startswith("anthropic/") else f"anthropic/{model}"
        key = api_key or env.get("ANTHROPIC_API_KEY") or None
        if key is None and api_base is None:
            raise LLMConfigError(
                f"model '{model}' needs ANTHROPIC_API_KEY; export ANTHROPIC_API_KEY=... "
                "(or pass --api-base for a self-hosted endpoint)"
            )
        return ProviderRoute(
            model=model,
            litellm_model=litellm_model,
            provider="anthropic",
            endpoint=api_base or ANTHROPIC_DEFAULT_ENDPOINT,
            api_base=api_base,
            key_hint="check ANTHROPIC_API_KEY",
            api_key=key,
        )

    if lowered.startswith("openai/") or _BARE_OPENAI.match(model):
        litellm_model = model if lowered.startswith("openai/") else f"openai/{model}"
        key = api_key or env.get("OPENAI_API_KEY") or None
        if key is None and api_base is None:
            raise LLMConfigError(
                f"model '{model}' needs OPENAI_API_KEY; export OPENAI_API_KEY=... "
                "(or pass --api-base http://host:port/v1 for an OpenAI-compatible server)"
            )
        return ProviderRoute(
            model=model,
            litellm_model=litellm_model,
            provider="openai" if api_base is None else "openai-compatible",
            endpoint=api_base or OPENAI_DEFAULT_ENDPOINT,
            api_base=api_base,
            key_hint="check OPENAI_API_KEY" if api_base is None else f"check the key the server at {api_base} expects",
            api_key=key or NO_KEY_PLACEHOLDER,
        )

    if api_base is not None and "/" in model and _litellm_provider_prefix(model) is not None:
        # e.g. azure/<deployment> --api-base https://<resource>.openai.azure.com: the provider's own API
        return _litellm_route(model, api_base, api_key, env)

    if api_base is not None:
        # Any model behind an explicit endpoint is taken as an OpenAI-compatible server's model name
        # (vLLM names such as 'Qwen/Qwen2.5-Coder-7B' contain slashes, so the prefix cannot be trusted).
        passthrough = lowered.startswith(_PASSTHROUGH_WITH_API_BASE)
        return ProviderRoute(
            model=model,
            litellm_model=model if passthrough else f"openai/{model}",
            provider="openai-compatible",
            endpoint=api_base,
            api_base=api_base,
            key_hint=f"check the key the server at {api_base} expects",
            api_key=api_key or env.get("OPENAI_API_KEY") or NO_KEY_PLACEHOLDER,
        )

    return _litellm_route(model, api_base, api_key, env)


PROVIDER_DOCS = "https://docs.litellm.ai/docs/providers"

_NOT_PROVIDERS = {"openai", "text-completion-openai", "custom_openai", "openai_like", "hosted_vllm", "lm_studio",
                  "llamafile"}
"""litellm provider names that mean an OpenAI-compatible endpoint: routed as such above, never here."""


def _litellm_provider_prefix(model: str) -> str | None:
    """The litellm provider a 'provider/...' model string starts with, if litellm knows it by that name."""
    from reward_coder.llm.litellm_provider import import_litellm

    prefix = model.split("/", 1)[0].lower()
    known = {str(getattr(p, "value", p)) for p in import_litellm().provider_list}
    return prefix if prefix in known and prefix not in _NOT_PROVIDERS else None


def _litellm_route(model: str, api_base: str | None, api_key: str | None, env: Mapping[str, str]) -> ProviderRoute:
    """Route any model string litellm can: its provider, and the variables it needs that are unset."""
    from reward_coder.llm.litellm_provider import import_litellm

    litellm = import_litellm()
    try:
        _, provider, _, _ = litellm.get_llm_provider(model=model, api_base=api_base)
    except Exception:  # noqa: BLE001 - litellm raises BadRequestError (and prints a banner) for unknown strings
        raise LLMConfigError(
            f"unknown model '{model}': litellm cannot tell its provider; use one of {ACCEPTED_FORMS} "
            f"(providers: {PROVIDER_DOCS})"
        ) from None
    missing = [] if api_key is not None else missing_variables(model, env)
    if missing and api_base is not None:
        missing = [name for name in missing if not name.endswith(("_API_BASE", "_BASE_URL", "_ENDPOINT"))]
    if missing:
        raise LLMConfigError(
            f"model '{model}' (provider {provider}) needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not set; export {missing[0]}=... "
            f"(litellm's check; {PROVIDER_DOCS}/{provider})"
        )
    return ProviderRoute(
        model=model,
        litellm_model=model,
        provider=str(provider),
        endpoint=api_base or f"the {provider} API",
        api_base=api_base,
        key_hint=f"check the {provider} credentials ({PROVIDER_DOCS}/{provider})",
        api_key=api_key,
    )


def missing_variables(model: str, env: Mapping[str, str] | None = None) -> list[str]:
    """Environment variables litellm says the model's provider needs and that are unset (in `env` too)."""
    from reward_coder.llm.litellm_provider import import_litellm

    env = os.environ if env is None else env
    try:
        report = import_litellm().validate_environment(model=model)
    except Exception:  # noqa: BLE001 - a provider litellm cannot check: let the first call say what is wrong
        return []
    if report.get("keys_in_environment"):
        return []
    return [name for name in report.get("missing_keys", []) if not env.get(name)]
