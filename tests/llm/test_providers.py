"""Every provider litellm routes is accepted; a missing key is one line naming litellm's variable.

Calls go through litellm's own `mock_response`, so no provider is reached and no real key is used.
"""

from __future__ import annotations

import pytest

from reward_coder.errors import LLMConfigError
from reward_coder.llm import LiteLLMCompleter, make_completer, resolve_route
from reward_coder.types import CompletionRequest, Message

PROVIDERS = {
    "gemini/gemini-2.0-flash": ("gemini", {"GEMINI_API_KEY": "fake"}, "GEMINI_API_KEY"),
    "azure/my-gpt-4o-deployment": (
        "azure",
        {"AZURE_API_KEY": "fake", "AZURE_API_BASE": "https://example.openai.azure.com", "AZURE_API_VERSION": "2024-06-01"},
        "AZURE_API_KEY",
    ),
    "bedrock/anthropic.claude-3-sonnet-20240229-v1:0": (
        "bedrock",
        {"AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake", "AWS_REGION_NAME": "us-east-1"},
        "AWS_ACCESS_KEY_ID",
    ),
    "groq/llama-3.1-8b-instant": ("groq", {"GROQ_API_KEY": "fake"}, "GROQ_API_KEY"),
    "deepseek/deepseek-coder": ("deepseek", {"DEEPSEEK_API_KEY": "fake"}, "DEEPSEEK_API_KEY"),
    "mistral/codestral-latest": ("mistral", {"MISTRAL_API_KEY": "fake"}, "MISTRAL_API_KEY"),
    "openrouter/qwen/qwen-2.5-coder-32b-instruct": ("openrouter", {"OPENROUTER_API_KEY": "fake"}, "OPENROUTER_API_KEY"),
}
CREDENTIALS = sorted({name for _, env, _ in PROVIDERS.values() for name in env} | {"GOOGLE_API_KEY", "AWS_PROFILE"})


@pytest.fixture(autouse=True)
def no_provider_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("model", sorted(PROVIDERS))
def test_a_missing_credential_is_one_line_naming_it(model: str) -> None:
    provider, _, variable = PROVIDERS[model]

    with pytest.raises(LLMConfigError) as caught:
        make_completer(model)

    message = str(caught.value)
    assert "\n" not in message and model in message and f"provider {provider}" in message
    assert variable in message and "unknown model" not in message


@pytest.mark.parametrize("model", sorted(PROVIDERS))
def test_each_provider_answers_through_litellm(model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    provider, env, _ = PROVIDERS[model]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    completer = LiteLLMCompleter(model, max_retries=0, split_samples=False,
                                 litellm_kwargs={"mock_response": "def compute_reward(state, action):\n    return 0.0"})

    assert completer.route.provider == provider and completer.route.litellm_model == model
    completion = completer.complete(CompletionRequest(messages=(Message("user", "write a reward"),), n=2))

    assert len(completion.samples) == 2 and all("compute_reward" in s for s in completion.samples)
    assert completion.model == model


def test_azure_with_an_api_base_stays_azure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_KEY", "fake")
    monkeypatch.setenv("AZURE_API_VERSION", "2024-06-01")

    route = resolve_route("azure/my-deployment", api_base="https://example.openai.azure.com")

    assert route.provider == "azure" and route.litellm_model == "azure/my-deployment"
    assert route.endpoint == "https://example.openai.azure.com"


def test_an_openai_compatible_base_url_answers_through_litellm() -> None:
    completer = LiteLLMCompleter("my-local-model", api_base="http://127.0.0.1:9/v1", max_retries=0,
                                 litellm_kwargs={"mock_response": "def compute_reward(state, action):\n    return 1.0"})

    assert completer.route.provider == "openai-compatible"
    assert completer.complete(CompletionRequest(messages=(Message("user", "hi"),))).samples[0].endswith("1.0")


def test_a_string_litellm_cannot_route_lists_the_forms() -> None:
    with pytest.raises(LLMConfigError, match="unknown model 'not-a-provider/x'.*gemini/"):
        make_completer("not-a-provider/x")
