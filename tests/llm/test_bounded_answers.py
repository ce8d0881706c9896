"""Bounded answers and split samples (issue 16, item 6), against the local fake OpenAI-compatible server.

Every request carries the `max_tokens` of its purpose; for a local server the n samples go out as n
single-sample requests, each with its own timeout, and the samples that arrived are never thrown away.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from reward_coder.config import DEFAULT_LLM_MAX_TOKENS, RunConfig
from reward_coder.errors import LLMConfigError, LLMUnavailableError
from reward_coder.llm import (
    JournalingCompleter,
    LiteLLMCompleter,
    PartialAnswerError,
    make_completer,
    parse_max_tokens,
    split_samples_by_default,
)
from reward_coder.llm.limits import REASONING_HEADROOM_TOKENS, is_local_endpoint, max_tokens_for
from reward_coder.types import CompletionRequest, Message

from fake_openai_server import FakeOpenAI


def _request(purpose: str = "designer", n: int = 1, content: str = "write a reward") -> CompletionRequest:
    return CompletionRequest(
        messages=(Message("user", content),), n=n, temperature=1.0, purpose=purpose, task_key="pendulum/swing-up"
    )


def _completer(server: FakeOpenAI, **kwargs: Any) -> LiteLLMCompleter:
    options: dict[str, Any] = {"max_retries": 2, "backoff_s": 0.01, "timeout_s": 10.0, "sleep": lambda _s: None}
    return LiteLLMCompleter("openai/fake-model", api_base=server.base_url, api_key="sk-fake", **{**options, **kwargs})


# -- the limits ------------------------------------------------------------------------------------


def test_max_tokens_spec_forms() -> None:
    assert parse_max_tokens("2048") == dict.fromkeys(DEFAULT_LLM_MAX_TOKENS, 2048)
    some = parse_max_tokens("designer=2048, critic=512")
    assert some["designer"] == 2048 and some["critic"] == 512
    assert some["analyzer"] == DEFAULT_LLM_MAX_TOKENS["analyzer"]  # not named: keeps its default
    mixed = parse_max_tokens("1024,critic=512")
    assert mixed["repair"] == mixed["default"] == 1024 and mixed["critic"] == 512


@pytest.mark.parametrize(
    ("spec", "needle"),
    [("critc=512", "unknown purpose 'critc'"), ("designer=lots", "not a number"), ("15", "too small"), (" , ", "empty")],
)
def test_bad_max_tokens_spec_names_the_fix(spec: str, needle: str) -> None:
    with pytest.raises(LLMConfigError, match=needle) as caught:
        parse_max_tokens(spec)
    assert "\n" not in str(caught.value)


def test_unlisted_purpose_takes_the_default_limit() -> None:
    limits = parse_max_tokens("default=700")
    assert max_tokens_for(limits, "verifier") == 700
    assert max_tokens_for(limits, "critic") == DEFAULT_LLM_MAX_TOKENS["critic"]


def test_defaults_bound_every_purpose_the_loop_uses() -> None:
    # the purposes that reward_coder's requests carry (grep purpose=): each has its own limit
    for purpose in ("designer", "repair", "critic", "analyzer", "success_proposal"):
        assert purpose in DEFAULT_LLM_MAX_TOKENS
    assert DEFAULT_LLM_MAX_TOKENS["critic"] < DEFAULT_LLM_MAX_TOKENS["designer"]
    assert DEFAULT_LLM_MAX_TOKENS["analyzer"] < DEFAULT_LLM_MAX_TOKENS["designer"]


@pytest.mark.parametrize(
    ("model", "api_base", "local"),
    [
        ("openai/qwen", "http://127.0.0.1:8080/v1", True),
        ("openai/qwen", "http://localhost:8080/v1", True),
        ("openai/qwen", "http://[::1]:8080/v1", True),
        ("openai/qwen", "http://127.0.1.1:8080/v1", True),
        ("ollama/qwen2.5-coder", None, True),
        ("ollama/qwen2.5-coder", "http://gpu-box:11434", False),
        ("openai/qwen", "http://gpu-box:8000/v1", False),
        ("gpt-4o", None, False),
        ("anthropic/claude-sonnet-4-5", None, False),
    ],
)
def test_local_servers_split_samples_by_default(model: str, api_base: str | None, local: bool) -> None:
    assert is_local_endpoint(model, api_base) is local
    assert split_samples_by_default(model, api_base) is local
    assert split_samples_by_default("replay:runs/x/llm_journal.jsonl", None) is False


# -- applied to every request ----------------------------------------------------------------------


def test_every_request_carries_the_limit_of_its_purpose(fake_openai: FakeOpenAI) -> None:
    completer = _completer(fake_openai, max_tokens=parse_max_tokens("designer=900,critic=300"))
    for purpose in ("designer", "repair", "critic", "analyzer", "success_proposal", "verifier"):
        completer.complete(_request(purpose, content=f"a {purpose} prompt"))

    sent = [r["body"]["max_tokens"] for r in fake_openai.requests]
    assert sent == [900, 1500, 300, 800, 400, 1500]


def test_a_request_of_its_own_limit_keeps_it(fake_openai: FakeOpenAI) -> None:
    request = CompletionRequest(messages=(Message("user", "x"),), purpose="critic", max_tokens=64)
    _completer(fake_openai).complete(request)
    assert fake_openai.requests[0]["body"]["max_tokens"] == 64


def test_a_runaway_answer_is_cut_at_the_cap(fake_openai: FakeOpenAI) -> None:
    fake_openai.truncate_to_max_tokens = True
    fake_openai.answers[:] = ["NOTES: - the reward is fine. " * 1000]
    completion = _completer(fake_openai, max_tokens={"critic": 50}).complete(_request("critic"))
    assert len(completion.samples[0].split()) == 50


def test_reasoning_models_get_headroom_for_hidden_reasoning(fake_openai: FakeOpenAI) -> None:
    completer = LiteLLMCompleter("o3-mini", api_base=fake_openai.base_url, api_key="sk-fake", split_samples=False)
    completer.complete(_request("critic"))
    # o3-mini takes max_completion_tokens; its reasoning counts against it
    body = fake_openai.requests[0]["body"]
    sent = body.get("max_completion_tokens", body.get("max_tokens"))
    assert sent == DEFAULT_LLM_MAX_TOKENS["critic"] + REASONING_HEADROOM_TOKENS


def test_journal_records_the_limit_a_request_ran_under(fake_openai: FakeOpenAI) -> None:
    records: list[dict[str, Any]] = []
    journal = JournalingCompleter(_completer(fake_openai, max_tokens={"repair": 777}), records.append)
    journal.complete(_request("repair"))
    assert records[0]["request"]["max_tokens"] == 777


def test_a_new_limit_is_not_answered_from_the_cache(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    _completer(fake_openai, cache_dir=tmp_path, max_tokens={"designer": 900}).complete(_request())
    again = _completer(fake_openai, cache_dir=tmp_path, max_tokens={"designer": 900}).complete(_request())
    other = _completer(fake_openai, cache_dir=tmp_path, max_tokens={"designer": 600}).complete(_request())
    assert again.cached and not other.cached and len(fake_openai.requests) == 2


def test_bad_limits_in_a_config_fail_before_the_run() -> None:
    limits: dict[str, Any] = {"critic": "short"}  # as a hand-edited config.json may hold
    with pytest.raises(LLMConfigError, match="max_tokens for 'critic'"):
        make_completer("openai/qwen", api_base="http://127.0.0.1:1/v1", max_tokens=limits)


# -- split samples ---------------------------------------------------------------------------------


def test_local_server_gets_one_request_per_sample(fake_openai: FakeOpenAI) -> None:
    completer = _completer(fake_openai)  # 127.0.0.1: split by default

    completion = completer.complete(_request(n=3))

    assert completer.split_samples
    assert len(completion.samples) == 3 and len(set(completion.samples)) == 3
    assert len(fake_openai.requests) == 3 and all("n" not in r["body"] for r in fake_openai.requests)
    assert completion.completion_tokens == 21 and completion.prompt_tokens == 33


def test_no_split_samples_asks_once_for_n(fake_openai: FakeOpenAI) -> None:
    completion = _completer(fake_openai, split_samples=False).complete(_request(n=3))
    assert len(completion.samples) == 3
    assert [r["body"].get("n") for r in fake_openai.requests] == [3]


def test_a_slow_sample_times_out_alone(fake_openai: FakeOpenAI) -> None:
    """One answer is slower than the timeout: only it is asked again; the finished ones are kept."""
    fake_openai.delays[:] = [3.0]  # the first request to arrive is slow, its retry is not
    completer = _completer(fake_openai, timeout_s=1.0)

    started = time.monotonic()
    completion = completer.complete(_request(n=3))

    assert len(completion.samples) == 3 and len(set(completion.samples)) == 3
    assert len(fake_openai.requests) == 4  # three samples + one retry of the slow one, not 2 x 3
    assert time.monotonic() - started < 3.0  # did not wait for the slow answer


def test_one_request_for_n_loses_everything_to_one_slow_answer(fake_openai: FakeOpenAI) -> None:
    """The old behaviour, still what --no-split-samples does: the whole call times out and is repeated."""
    fake_openai.delays[:] = [3.0, 3.0]
    with pytest.raises(LLMUnavailableError, match="timed out"):
        _completer(fake_openai, timeout_s=1.0, max_retries=1, split_samples=False).complete(_request(n=3))
    assert [r["body"].get("n") for r in fake_openai.requests] == [3, 3]


def test_arrived_samples_survive_a_failed_one(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.statuses[:] = [200, 503, 200]  # whichever request arrives second fails, with no retries
    records: list[dict[str, Any]] = []
    completer = _completer(fake_openai, max_retries=0, cache_dir=tmp_path)
    journal = JournalingCompleter(completer, records.append)

    with pytest.raises(PartialAnswerError) as caught:
        journal.complete(_request(n=3))

    assert len(caught.value.arrived) == 2 and "2 of 3 samples arrived" in str(caught.value)
    failed = records[0]
    assert failed["error"]["arrived_samples"] == list(caught.value.arrived)
    assert failed["completion_tokens"] == 14 and failed["prompt_tokens"] == 22  # spent, so counted

    # asked again (here by a new completer on the same cache, as a resumed run is): only the missing one
    fresh = JournalingCompleter(_completer(fake_openai, max_retries=0, cache_dir=tmp_path), records.append)
    completion = fresh.complete(_request(n=3))

    assert len(fake_openai.requests) == 4
    assert completion.samples[:2] == caught.value.arrived and len(set(completion.samples)) == 3
    assert completion.completion_tokens == 7  # the two kept samples were counted with the failed request
    assert journal.total_completion_tokens + fresh.total_completion_tokens == 21
    assert not list(tmp_path.glob("*.part*.json"))  # partial entries are gone once the answer is whole
    assert completer.complete(_request(n=3)).cached


def test_arrived_samples_are_kept_without_a_cache_too(fake_openai: FakeOpenAI) -> None:
    fake_openai.statuses[:] = [503, 200]
    completer = _completer(fake_openai, max_retries=0)
    with pytest.raises(PartialAnswerError):
        completer.complete(_request(n=2))
    completion = completer.complete(_request(n=2))
    assert len(completion.samples) == 2 and len(fake_openai.requests) == 3


def test_a_permanent_failure_is_raised_as_itself(fake_openai: FakeOpenAI) -> None:
    fake_openai.statuses[:] = [200, 401]
    with pytest.raises(LLMConfigError, match="rejected the API key"):
        _completer(fake_openai, max_retries=0).complete(_request(n=2))


# -- recorded in the config and honoured on resume ------------------------------------------------


def test_config_records_the_options_and_old_configs_still_load() -> None:
    config = RunConfig("swing up", "pendulum", llm_max_tokens=parse_max_tokens("critic=512"), llm_split_samples=True)
    saved = json.loads(json.dumps(config.to_dict()))
    assert RunConfig.from_dict(saved) == config
    assert saved["llm_max_tokens"]["critic"] == 512 and saved["llm_split_samples"] is True

    old = {k: v for k, v in saved.items() if k not in ("llm_max_tokens", "llm_split_samples")}
    loaded = RunConfig.from_dict(old)
    assert loaded.llm_max_tokens == DEFAULT_LLM_MAX_TOKENS and loaded.llm_split_samples is None


def test_cli_settings_resolve_what_config_json_says() -> None:
    from reward_coder.cli.common import llm_settings

    local = llm_settings("openai/qwen", "http://127.0.0.1:8080/v1", "designer=2048", None, 300.0)
    assert local == {
        "llm_max_tokens": {**DEFAULT_LLM_MAX_TOKENS, "designer": 2048},
        "llm_split_samples": True,
        "llm_timeout_s": 300.0,
    }
    hosted = llm_settings("gpt-4o", None, None, None, 120.0)
    assert hosted["llm_split_samples"] is False and hosted["llm_max_tokens"] == DEFAULT_LLM_MAX_TOKENS
    assert llm_settings("gpt-4o", None, None, True, 120.0)["llm_split_samples"] is True


def test_resumed_run_builds_its_completer_from_config_json(tmp_path: Path) -> None:
    from reward_coder.cli.progress import ProgressPrinter
    from reward_coder.cli.run_cmd import _services
    from reward_coder.store import RunStore

    config = RunConfig(
        "swing up", "pendulum", model="openai/qwen", api_base="http://gpu-box:8000/v1",
        llm_max_tokens=parse_max_tokens("critic=512"), llm_split_samples=True, llm_timeout_s=300.0,
        llm_price_per_1k_tokens=(0.5, 1.5),
    )
    store = RunStore.create(tmp_path / "run")
    store.write_json("config.json", config)
    resumed = RunConfig.from_dict(store.read_json("config.json"))

    services, journal = _services(resumed, store, ProgressPrinter("quiet", resumed.model), "inline", None, False)
    try:
        inner = journal.inner
        assert isinstance(inner, LiteLLMCompleter)
        assert inner.max_tokens["critic"] == 512 and inner.split_samples is True and inner.timeout_s == 300.0
        assert inner.pricing == "given" and inner.price_per_1k_tokens == (0.5, 1.5)
    finally:
        services.executor.close()
