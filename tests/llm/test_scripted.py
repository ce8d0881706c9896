"""ScriptedCompleter: canned answers in order, recorded requests, loud when the script runs out."""

from __future__ import annotations

import pytest

from reward_coder.errors import LLMError, LLMUnavailableError
from reward_coder.llm import Completer, ScriptedCompleter, ScriptExhaustedError
from reward_coder.types import CompletionRequest, Message


def _request(text: str = "hello there", n: int = 1, purpose: str = "designer") -> CompletionRequest:
    return CompletionRequest(messages=(Message("user", text),), n=n, purpose=purpose, task_key="t", iteration=2)


def test_answers_in_order_and_records_requests() -> None:
    echo = lambda request: [request.messages[-1].content.upper()] * request.n  # noqa: E731
    scripted = ScriptedCompleter([["first"], echo])
    assert isinstance(scripted, Completer)

    first = scripted.complete(_request("one"))
    second = scripted.complete(_request("two words", n=2))

    assert first.samples == ("first",) and first.model == "scripted" and first.cost_usd == 0.0
    assert second.samples == ("TWO WORDS", "TWO WORDS")
    assert (second.prompt_tokens, second.completion_tokens) == (2, 4)
    assert [r.messages[-1].content for r in scripted.requests] == ["one", "two words"]
    assert scripted.remaining == 0


def test_scripted_exception_is_raised() -> None:
    scripted = ScriptedCompleter([LLMUnavailableError("down")])
    with pytest.raises(LLMUnavailableError, match="down"):
        scripted.complete(_request())
    assert len(scripted.requests) == 1


def test_running_out_is_a_clear_error() -> None:
    scripted = ScriptedCompleter([["only answer"]])
    scripted.complete(_request())
    with pytest.raises(ScriptExhaustedError) as caught:
        scripted.complete(_request(purpose="critic"))
    assert isinstance(caught.value, LLMError) and isinstance(caught.value, AssertionError)
    assert "ran out of answers at request 2" in str(caught.value) and "purpose='critic'" in str(caught.value)
    scripted.add(["more"])
    assert scripted.complete(_request()).samples == ("more",)


def test_wrong_number_of_samples_is_reported() -> None:
    with pytest.raises(LLMError, match="has 1 samples but the request asked for n=3"):
        ScriptedCompleter([["one"]]).complete(_request(n=3))
    with pytest.raises(LLMError, match="list of strings"):
        ScriptedCompleter(["not a list"]).complete(_request())
