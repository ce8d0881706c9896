"""Token and cost accounting when the provider under-reports (issue 16, item 7).

llama.cpp's server reports the usage of the first choice only when n > 1; the recorded real-model journals
in tests/fixtures/realmodel/ hold such answers. Counts are then taken from the text with the tokenizer
(offline: litellm's bundled default) and marked `tokens_estimated`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reward_coder.llm import JournalingCompleter, LiteLLMCompleter, ReplayCompleter
from reward_coder.llm.litellm_provider import import_litellm
from reward_coder.llm.tokens import litellm_counter, reconcile_usage, under_reported
from reward_coder.types import CompletionRequest, Message

from fake_openai_server import FakeOpenAI

REALMODEL = Path(__file__).resolve().parents[1] / "fixtures" / "realmodel"


def _records() -> list[tuple[str, dict[str, Any]]]:
    records = []
    for path in sorted(REALMODEL.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                records.append((f"{path.name}:{number}", json.loads(line)))
    return records


RECORDS = _records()
MULTI = [(where, record) for where, record in RECORDS if len(record["samples"]) > 1]
SINGLE = [(where, record) for where, record in RECORDS if len(record["samples"]) == 1]


def _words(text: str) -> int:
    return len(text.split())


def _request(n: int = 1) -> CompletionRequest:
    return CompletionRequest(messages=(Message("user", "write a reward"),), n=n, purpose="designer")


# -- the rule --------------------------------------------------------------------------------------


def test_reported_counts_that_fit_the_text_are_kept() -> None:
    usage = reconcile_usage(["one two three four"] * 2, 10, 8, _words)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (10, 8, False)
    # more than the text shows is kept too: reasoning models bill hidden tokens
    assert reconcile_usage(["short"], 10, 900, _words).completion_tokens == 900


def test_missing_usage_is_counted_from_the_text() -> None:
    usage = reconcile_usage(["a b c", "d e"], None, 0, _words, messages=(Message("user", "x y"),))
    assert usage.completion_tokens == 5 and usage.prompt_tokens > 0 and usage.estimated


def test_under_report_needs_a_clear_margin() -> None:
    assert under_reported(559, 2465) and under_reported(697, 1205)  # recorded n=4 and n=2 answers
    assert not under_reported(314, 315) and not under_reported(2048, 2057)  # recorded single answers
    assert not under_reported(5, 15)  # a short answer counted by another tokenizer: too small to judge


def test_empty_answers_cost_no_output_tokens() -> None:
    usage = reconcile_usage(["", ""], 10, 0, _words)
    assert usage.completion_tokens == 0 and not usage.estimated


# -- the recorded llama.cpp journals ---------------------------------------------------------------


def test_the_recorded_journals_hold_both_kinds() -> None:
    assert len(MULTI) == 8 and len(SINGLE) >= 20


@pytest.mark.parametrize(("where", "record"), MULTI, ids=[where for where, _ in MULTI])
def test_recorded_multi_sample_answers_come_out_estimated(where: str, record: dict[str, Any]) -> None:
    count = litellm_counter(record["model"])
    counted = sum(count(sample) for sample in record["samples"])
    request = CompletionRequest.from_dict(record["request"])
    replay = ReplayCompleter(REALMODEL / where.split(":")[0], mode="exact")

    completion = replay.complete(request)

    assert completion.samples == tuple(record["samples"])
    assert completion.tokens_estimated
    assert record["completion_tokens"] < 0.6 * counted  # what llama.cpp reported: one answer's worth
    assert abs(completion.completion_tokens - counted) <= 0.02 * counted
    assert completion.prompt_tokens == record["prompt_tokens"]  # the prompt was reported right


@pytest.mark.parametrize(("where", "record"), SINGLE, ids=[where for where, _ in SINGLE])
def test_recorded_single_answers_keep_their_reported_counts(where: str, record: dict[str, Any]) -> None:
    count = litellm_counter(record["model"])
    usage = reconcile_usage(record["samples"], record["prompt_tokens"], record["completion_tokens"], count)
    assert not usage.estimated and usage.completion_tokens == record["completion_tokens"]


def test_replaying_a_recorded_run_journals_the_estimate(tmp_path: Path) -> None:
    path = REALMODEL / "qwen2.5-coder-0.5b.generate-pendulum.jsonl"
    designer = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    records: list[dict[str, Any]] = []
    journal = JournalingCompleter(ReplayCompleter(path, mode="exact"), records.append)

    journal.complete(CompletionRequest.from_dict(designer["request"]))

    assert designer["completion_tokens"] == 559  # the figure: 559 recorded against ~2,470 generated
    assert records[0]["tokens_estimated"] is True and 2400 <= records[0]["completion_tokens"] <= 2550
    assert journal.n_tokens_estimated == 1


def test_journal_lines_marked_estimated_are_replayed_as_such(tmp_path: Path) -> None:
    line = {"purpose": "designer", "samples": ["a"], "prompt_tokens": 9, "completion_tokens": 3, "tokens_estimated": True}
    path = tmp_path / "estimated.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    completion = ReplayCompleter(path, mode="loose").complete(_request())
    assert completion.tokens_estimated and completion.completion_tokens == 3


def test_stand_in_lines_without_counts_stay_at_zero(tmp_path: Path) -> None:
    line = {"purpose": "designer", "samples": ["some text here", "more text"], "prompt_tokens": 0, "completion_tokens": 0}
    path = tmp_path / "standin.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    completion = ReplayCompleter(path, mode="loose", count_tokens=_words).complete(_request(n=2))
    assert completion.completion_tokens == 0 and not completion.tokens_estimated


# -- the live path, against a fake server that under-reports like llama.cpp -----------------------


def _llama_like(server: FakeOpenAI) -> list[str]:
    designer = json.loads((REALMODEL / "qwen2.5-coder-0.5b.generate-pendulum.jsonl").read_text().splitlines()[0])
    server.answers[:] = designer["samples"]
    server.choice_tokens[:] = [559, 384, 644, 882]
    server.usage_mode = "first_choice"
    return designer["samples"]


def test_under_reported_n_answers_are_counted_and_marked(fake_openai: FakeOpenAI) -> None:
    samples = _llama_like(fake_openai)
    records: list[dict[str, Any]] = []
    completer = LiteLLMCompleter("openai/qwen2.5-coder", api_base=fake_openai.base_url, split_samples=False)
    journal = JournalingCompleter(completer, records.append)

    completion = journal.complete(_request(n=4))

    count = litellm_counter("openai/qwen2.5-coder")
    assert fake_openai.requests[0]["body"]["n"] == 4  # one request, as a hosted API would get
    assert completion.tokens_estimated and completion.completion_tokens == sum(count(s) for s in samples)
    assert completion.prompt_tokens == 11  # reported, and right
    assert records[0]["tokens_estimated"] is True and records[0]["completion_tokens"] == completion.completion_tokens
    assert journal.total_completion_tokens == completion.completion_tokens


def test_split_samples_are_reported_right_and_not_estimated(fake_openai: FakeOpenAI) -> None:
    samples = _llama_like(fake_openai)
    fake_openai.choice_tokens[:] = [litellm_counter("openai/qwen2.5-coder")(samples[0])]
    completion = LiteLLMCompleter("openai/qwen2.5-coder", api_base=fake_openai.base_url).complete(_request(n=4))
    assert len(fake_openai.requests) == 4 and not completion.tokens_estimated
    assert completion.completion_tokens == 4 * fake_openai.choice_tokens[0]


def test_server_without_usage_is_counted(fake_openai: FakeOpenAI) -> None:
    fake_openai.usage_mode = "none"
    fake_openai.answers[:] = ["def compute_reward(state, action, next_state):\n    return -next_state.theta ** 2, {}"]
    completion = LiteLLMCompleter("openai/qwen", api_base=fake_openai.base_url).complete(_request())
    assert completion.tokens_estimated and completion.prompt_tokens > 0 and completion.completion_tokens > 10


def test_estimated_tokens_are_priced(fake_openai: FakeOpenAI) -> None:
    """A priced model behind an under-reporting proxy: the cost follows the counted tokens."""
    _llama_like(fake_openai)
    completion = LiteLLMCompleter(
        "gpt-4o", api_base=fake_openai.base_url, api_key="sk-fake", split_samples=False
    ).complete(_request(n=4))
    prompt_cost, output_cost = import_litellm().cost_per_token(
        model="openai/gpt-4o", prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens
    )
    reported_only = import_litellm().cost_per_token(model="openai/gpt-4o", prompt_tokens=11, completion_tokens=559)
    assert completion.tokens_estimated and completion.cost_usd == pytest.approx(prompt_cost + output_cost)
    assert completion.cost_usd > 3 * sum(reported_only)


# -- tokenizers that live on the Hugging Face Hub ----------------------------------------------------


def test_a_llama_model_is_counted_at_once_when_its_tokenizer_is_not_on_this_machine(tmp_path, monkeypatch) -> None:
    """litellm would download Llama-3's tokenizer and, offline, retry for ~24 s before falling back."""
    import time

    from reward_coder.llm.tokens import counting_model

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    model = "groq/llama-3.1-8b-instant"

    assert counting_model(model) == ""  # the bundled default
    assert counting_model("gpt-4o-mini") == "gpt-4o-mini"  # tiktoken's own, bundled: kept
    started = time.perf_counter()
    tokens = litellm_counter(model)("def compute_reward(state, action):\n    return -abs(state.theta)\n")
    assert 8 <= tokens <= 40 and time.perf_counter() - started < 5.0


def test_a_cached_hub_tokenizer_is_used(monkeypatch) -> None:
    import huggingface_hub

    from reward_coder.llm.tokens import counting_model

    asked = []
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache",
                        lambda repo, name: asked.append((repo, name)) or f"/cache/{repo}/{name}")

    assert counting_model("groq/llama-3.1-8b-instant") == "groq/llama-3.1-8b-instant"
    assert asked == [("Xenova/llama-3-tokenizer", "tokenizer.json")]
