"""Money that adds up: a model with no known price is refused unless priced or explicitly allowed."""

from __future__ import annotations

import pytest

from reward_coder.errors import LLMConfigError
from reward_coder.llm import JournalingCompleter, LiteLLMCompleter
from reward_coder.types import CompletionRequest, Message

from fake_openai_server import FakeOpenAI

REMOTE = "http://gpu-box.example:8000/v1"


def _request(n: int = 1) -> CompletionRequest:
    return CompletionRequest(messages=(Message("user", "write a reward"),), n=n)


def test_an_unpriced_model_is_refused_before_any_call() -> None:
    completer = LiteLLMCompleter("my-finetune", api_base=REMOTE)

    with pytest.raises(LLMConfigError) as caught:
        completer.pricing  # noqa: B018 - the CLI asks this before a run starts

    message = str(caught.value)
    assert "no price for model 'my-finetune'" in message
    assert "--price-per-1k-tokens IN,OUT" in message and "--allow-unpriced" in message


def test_allowed_unpriced_answers_say_their_cost_is_unknown() -> None:
    completer = LiteLLMCompleter("my-finetune", api_base=REMOTE, allow_unpriced=True, max_retries=0,
                                 litellm_kwargs={"mock_response": "def compute_reward(state, action):\n    return 0.0"})
    records: list[dict] = []

    completion = JournalingCompleter(completer, sink=records.append).complete(_request())

    assert completer.pricing == "unknown"
    assert completion.cost_unknown and completion.cost_usd == 0.0
    assert records[0]["cost_unknown"] is True


def test_a_given_price_prices_the_reported_tokens(fake_openai: FakeOpenAI) -> None:
    completer = LiteLLMCompleter("my-finetune", api_base=fake_openai.base_url, price_per_1k_tokens=(1.0, 2.0),
                                 split_samples=False, max_retries=0)

    completion = completer.complete(_request(n=2))  # the fake server reports 11 prompt, 7 + 7 output tokens

    assert completer.pricing == "given"
    assert completion.cost_usd == pytest.approx((11 * 1.0 + 14 * 2.0) / 1000)
    assert not completion.cost_unknown


def test_a_local_server_is_free_and_a_listed_model_is_priced_by_litellm(fake_openai: FakeOpenAI) -> None:
    assert LiteLLMCompleter("qwen2.5-coder", api_base=fake_openai.base_url).pricing == "local"
    assert LiteLLMCompleter("gpt-4o", api_key="sk-fake").pricing == "litellm"
    # a listed model behind a local proxy still costs what the provider charges
    assert LiteLLMCompleter("gpt-4o", api_base=fake_openai.base_url).pricing == "litellm"


@pytest.mark.parametrize("price", [(-1.0, 1.0), (float("nan"), 1.0), ("a", "b")])
def test_a_bad_price_is_one_clear_error(price) -> None:
    with pytest.raises(LLMConfigError, match="price"):
        LiteLLMCompleter("my-finetune", api_base=REMOTE, price_per_1k_tokens=price)


def test_generate_stops_at_its_max_cost(fake_openai: FakeOpenAI, tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from reward_coder.cli.main import app

    out = tmp_path / "gen"
    result = CliRunner().invoke(app, [
        "generate", "--task", "pendulum/swing-up", "--model", "my-finetune", "--api-base", fake_openai.base_url,
        "--price-per-1k-tokens", "1000,1000", "--max-cost", "0.01", "-k", "2", "--repair", "1", "--llm-cache", "off",
        "--retries", "0", "--out", str(out),
    ])

    assert result.exit_code == 3, result.stderr  # the fake's answers hold no code: the repairs would pay again
    assert "--max-cost" in result.stderr and "Traceback" not in result.stderr
    records = [json.loads(line) for line in (out / "llm_journal.jsonl").read_text().splitlines()]
    assert [r["purpose"] for r in records] == ["designer"] and records[0]["cost_usd"] > 0.01
    assert json.loads((out / "config.json").read_text())["llm_price_per_1k_tokens"] == [1000.0, 1000.0]
    assert "Interrupted" in (out / "summary.md").read_text()
