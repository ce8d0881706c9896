"""LiteLLMCompleter against a local fake OpenAI-compatible server: samples, retries, errors, cache."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from reward_coder.errors import LLMConfigError, LLMError, LLMUnavailableError
from reward_coder.llm import LiteLLMCompleter
from reward_coder.llm.litellm_provider import MAX_DELAY_S, import_litellm
from reward_coder.types import CompletionRequest, Message

from fake_openai_server import FakeOpenAI


def _request(n: int = 1, content: str = "write a reward", max_tokens: int | None = None) -> CompletionRequest:
    return CompletionRequest(
        messages=(Message("system", "you write rewards"), Message("user", content)),
        n=n,
        temperature=0.7,
        max_tokens=max_tokens,
        purpose="designer",
        task_key="cartpole/balance",
    )


def _completer(server: FakeOpenAI, sleeps: list[float] | None = None, **kwargs: Any) -> LiteLLMCompleter:
    recorded = sleeps if sleeps is not None else []
    options: dict[str, Any] = {"max_retries": 4, "backoff_s": 1.0, "timeout_s": 10.0, "split_samples": False, **kwargs}
    return LiteLLMCompleter(
        "openai/fake-model",
        api_base=server.base_url,
        api_key="sk-fake",
        sleep=recorded.append,
        **options,
    )


def test_n_samples_with_token_counts(fake_openai: FakeOpenAI) -> None:
    completion = _completer(fake_openai).complete(_request(n=3))

    assert completion.samples == ("sample 1.0", "sample 1.1", "sample 1.2")
    assert (completion.prompt_tokens, completion.completion_tokens) == (11, 21)
    assert completion.cost_usd == 0.0  # litellm has no price for 'fake-model': no crash, no cost
    assert completion.model == "openai/fake-model" and not completion.cached
    [sent] = fake_openai.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["model"] == "fake-model" and sent["body"]["n"] == 3
    assert sent["body"]["messages"][1] == {"role": "user", "content": "write a reward"}
    assert sent["auth"] == "Bearer sk-fake"


def test_rate_limit_is_retried_with_growing_backoff(fake_openai: FakeOpenAI) -> None:
    fake_openai.statuses[:] = [429, 429]
    sleeps: list[float] = []

    completion = _completer(fake_openai, sleeps).complete(_request(n=2))

    assert len(completion.samples) == 2
    assert len(fake_openai.requests) == 3
    assert len(sleeps) == 2
    assert 1.0 <= sleeps[0] <= 1.1 and 2.0 <= sleeps[1] <= 2.2  # backoff_s * 2**k plus at most 10% jitter


def test_server_errors_give_up_after_max_retries(fake_openai: FakeOpenAI) -> None:
    fake_openai.always_status = 500
    sleeps: list[float] = []

    with pytest.raises(LLMUnavailableError) as caught:
        _completer(fake_openai, sleeps, max_retries=2).complete(_request())

    assert len(fake_openai.requests) == 3  # max_retries + 1: litellm and the OpenAI client add none
    assert len(sleeps) == 2
    message = str(caught.value)
    assert fake_openai.base_url in message and "after 3 attempts" in message
    assert "check that the server is running" in message and "\n" not in message


def test_service_unavailable_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.statuses[:] = [503, 502]
    completion = _completer(fake_openai).complete(_request())
    assert completion.samples == ("sample 3.0",)
    assert len(fake_openai.requests) == 3


def test_rejected_key_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.always_status = 401
    sleeps: list[float] = []

    with pytest.raises(LLMConfigError) as caught:
        _completer(fake_openai, sleeps).complete(_request())

    assert len(fake_openai.requests) == 1 and sleeps == []
    message = str(caught.value)
    assert "rejected the API key" in message and "'openai/fake-model'" in message and "\n" not in message


def test_unknown_model_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.always_status = 404
    with pytest.raises(LLMConfigError, match="was not found at .*check the model name"):
        _completer(fake_openai).complete(_request())
    assert len(fake_openai.requests) == 1


def test_bad_request_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.always_status = 400
    with pytest.raises(LLMError, match="rejected the request") as caught:
        _completer(fake_openai).complete(_request())
    assert not isinstance(caught.value, LLMUnavailableError)
    assert len(fake_openai.requests) == 1


def test_closed_port_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/v1"
    sleeps: list[float] = []
    completer = LiteLLMCompleter("openai/fake-model", api_base=endpoint, max_retries=1, sleep=sleeps.append)

    with pytest.raises(LLMUnavailableError) as caught:
        completer.complete(_request())

    assert len(sleeps) == 1
    assert endpoint in str(caught.value) and "check that the server is running" in str(caught.value)


def test_timeout_is_retried_then_unavailable(fake_openai: FakeOpenAI) -> None:
    fake_openai.delay_s = 1.0
    with pytest.raises(LLMUnavailableError, match=r"timed out \(limit 0.2 s\)"):
        _completer(fake_openai, max_retries=1, timeout_s=0.2).complete(_request())
    assert len(fake_openai.requests) == 2


def test_provider_ignoring_n_is_topped_up(fake_openai: FakeOpenAI) -> None:
    fake_openai.ignore_n = True

    completion = _completer(fake_openai).complete(_request(n=3))

    assert len(completion.samples) == 3 and len(set(completion.samples)) == 3
    assert len(fake_openai.requests) == 3  # one asking n=3, then two single-sample calls
    assert fake_openai.requests[0]["body"]["n"] == 3
    assert all("n" not in r["body"] for r in fake_openai.requests[1:])
    assert (completion.prompt_tokens, completion.completion_tokens) == (33, 21)


def test_cache_answers_repeats_without_a_call(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    completer = _completer(fake_openai, cache_dir=tmp_path / "cache")

    first = completer.complete(_request(n=2))
    again = completer.complete(_request(n=2))
    shorter = completer.complete(_request(n=2, max_tokens=50))

    assert len(fake_openai.requests) == 2  # the repeat came from disk; a new max_tokens did not
    assert again.samples == first.samples and again.cached and again.cost_usd == 0.0
    assert not shorter.cached and fake_openai.requests[1]["body"]["max_tokens"] == 50
    other_endpoint = LiteLLMCompleter(
        "openai/fake-model", api_base=fake_openai.base_url + "/", cache_dir=tmp_path / "cache"
    )
    assert not other_endpoint.complete(_request(n=2)).cached


def test_corrupt_cache_entry_is_refetched(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    completer = _completer(fake_openai, cache_dir=tmp_path)
    completer.complete(_request())
    for entry in tmp_path.glob("*.json"):
        entry.write_text("{not json")
    assert not completer.complete(_request()).cached
    assert len(fake_openai.requests) == 2


def test_mock_response_prices_known_models() -> None:
    completer = LiteLLMCompleter("gpt-4o", api_key="sk-fake", litellm_kwargs={"mock_response": "def compute_reward"})
    completion = completer.complete(_request(n=2))
    assert completion.samples == ("def compute_reward", "def compute_reward")
    assert completion.prompt_tokens > 0 and completion.cost_usd > 0.0


def test_mocked_rate_limit_exhausts_retries() -> None:
    sleeps: list[float] = []
    completer = LiteLLMCompleter(
        "gpt-4o",
        api_key="sk-fake",
        max_retries=2,
        sleep=sleeps.append,
        litellm_kwargs={"mock_response": "litellm.RateLimitError"},
    )
    with pytest.raises(LLMUnavailableError, match="kept rate-limiting .* after 3 attempts"):
        completer.complete(_request())
    assert len(sleeps) == 2


def test_provider_without_n_gets_single_sample_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = import_litellm()
    calls: list[dict[str, Any]] = []
    real_completion = litellm.completion

    def counting_completion(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real_completion(**kwargs)

    monkeypatch.setattr(litellm, "completion", counting_completion)
    completer = LiteLLMCompleter(
        "claude-sonnet-4-5", api_key="sk-ant-fake", litellm_kwargs={"mock_response": "def compute_reward"}
    )

    completion = completer.complete(_request(n=3))

    assert len(completion.samples) == 3
    assert len(calls) == 3 and all("n" not in call for call in calls)
    assert {call["model"] for call in calls} == {"anthropic/claude-sonnet-4-5"}


def test_backoff_honours_retry_after_and_is_capped() -> None:
    class Response:
        headers = {"retry-after": "7"}

    class Throttled(Exception):
        response = Response()

    completer = LiteLLMCompleter("ollama/qwen2.5-coder", backoff_s=1.0)
    assert 7.0 <= completer._delay(0, Throttled()) <= 7.7
    assert completer._delay(20, Exception()) == MAX_DELAY_S


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(LLMConfigError, match="max_retries"):
        LiteLLMCompleter("ollama/qwen2.5-coder", max_retries=-1)
    with pytest.raises(LLMConfigError, match="timeout"):
        LiteLLMCompleter("ollama/qwen2.5-coder", timeout_s=0)
