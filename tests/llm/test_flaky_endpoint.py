"""A flaky endpoint is survived: every fault a real server makes is retried, shown and journaled, and
samples that arrived are kept while the rest are asked again. Against fault_server.py on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from fault_server import FAULTS, FaultyServer, serve_faulty
from flaky_runs import measure
from rich.console import Console

from reward_coder.cli.progress import ProgressPrinter
from reward_coder.errors import LLMUnavailableError
from reward_coder.llm import JournalingCompleter, LiteLLMCompleter, PartialAnswerError
from reward_coder.types import CompletionRequest, Message


@pytest.fixture(scope="module")
def _served() -> Iterator[FaultyServer]:
    yield from serve_faulty(FaultyServer(fault_rate=0.0, slow_s=0.8))


@pytest.fixture
def flaky(_served: FaultyServer) -> FaultyServer:
    _served.restart(0, fault_rate=0.0)
    _served.script.clear()
    return _served


def _request(n: int = 1, text: str = "write a reward") -> CompletionRequest:
    return CompletionRequest(messages=(Message("user", text),), n=n, purpose="designer", iteration=1, label="")


def _completer(server: FaultyServer, **kwargs: Any) -> LiteLLMCompleter:
    options: dict[str, Any] = {"max_retries": 3, "backoff_s": 0.001, "timeout_s": 0.4, "split_samples": False}
    return LiteLLMCompleter("openai/flaky", api_base=server.base_url, **{**options, **kwargs})


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_retried_and_recorded_with_its_reason(flaky: FaultyServer, fault: str) -> None:
    flaky.script[:] = [fault, fault]
    notes: list[dict[str, Any]] = []

    completion = _completer(flaky, on_retry=notes.append).complete(_request())

    assert len(completion.samples) == 1
    assert [entry["outcome"] for entry in flaky.log] == [fault, fault, "ok"]
    assert [(r["attempt"], r["of"]) for r in completion.retries] == [(2, 4), (3, 4)]
    assert notes == list(completion.retries)  # shown as they happened, then kept with the answer
    reason = completion.retries[0]["reason"]
    expected = {"empty_choices": "no choices", "short_choices": "no choices", "timeout": "within 0.4 s"}
    assert expected.get(fault, "Error") in reason, reason
    assert completion.retries[0]["purpose"] == "designer" and completion.retries[0]["call"] == "sample 1 of 1"


def test_an_endpoint_that_only_answers_with_no_choices_fails_with_what_to_do(flaky: FaultyServer) -> None:
    flaky.script[:] = ["empty_choices"] * 4

    with pytest.raises(LLMUnavailableError) as caught:
        _completer(flaky).complete(_request())

    message = str(caught.value)
    assert "no choices 4 times" in message and "--retries" in message
    assert "fewer samples" not in message  # the old advice, wrong for a flaky server
    assert len(caught.value.retries) == 3  # type: ignore[attr-defined]


def test_a_short_answer_is_kept_and_topped_up(flaky: FaultyServer) -> None:
    flaky.script[:] = ["short_choices"]  # 3 asked, 2 come back

    completion = _completer(flaky).complete(_request(n=3))

    assert len(completion.samples) == 3
    assert [entry["n"] for entry in flaky.log] == [3, 1]  # only the missing sample was asked again


def test_samples_that_arrived_are_kept_while_the_missing_one_fails(flaky: FaultyServer, tmp_path: Path) -> None:
    # split samples: three single-sample calls; one of them fails on every attempt
    flaky.script[:] = ["ok", "ok"] + ["status_503"] * 4
    completer = _completer(flaky, split_samples=True, max_parallel=1, cache_dir=tmp_path)

    with pytest.raises(PartialAnswerError) as caught:
        completer.complete(_request(n=3))
    assert len(caught.value.arrived) == 2 and "asking again asks only for the 1 missing" in str(caught.value)

    calls_before = len(flaky.log)
    again = LiteLLMCompleter("openai/flaky", api_base=flaky.base_url, max_retries=3, backoff_s=0.001,
                             timeout_s=0.4, split_samples=True, cache_dir=tmp_path)  # a resumed run
    completion = again.complete(_request(n=3))
    assert len(completion.samples) == 3
    assert len(flaky.log) - calls_before == 1  # from the run's cache: the two kept, one asked for


def test_retries_are_journaled_with_the_exchange(flaky: FaultyServer) -> None:
    flaky.script[:] = ["status_500", "malformed_json"]
    records: list[dict[str, Any]] = []
    journal = JournalingCompleter(_completer(flaky), sink=records.append)

    journal.complete(_request())
    flaky.script[:] = ["timeout"] * 4
    with pytest.raises(LLMUnavailableError):
        journal.complete(_request(text="another prompt"))

    answered, failed = records
    assert [r["attempt"] for r in answered["retries"]] == [2, 3]
    assert "500" in answered["retries"][0]["reason"]
    assert failed["error"] is not None and len(failed["retries"]) == 3
    assert all("within 0.4 s" in r["reason"] for r in failed["retries"])
    json.dumps(records)  # journal lines are JSON


def test_the_progress_view_shows_each_retry() -> None:
    console = Console(record=True, width=200)
    printer = ProgressPrinter("text", "openai/flaky", console=console, live=False)

    printer("llm_retry", purpose="critic", label="c1-r0", iteration=0, call="sample 1 of 1", attempt=2, of=9,
            reason="ServiceUnavailableError 503: flaky server says 503", wait_s=1.04)

    line = console.export_text()
    assert "retrying critic c1-r0 (sample 1 of 1): attempt 2 of 9 in 1.0 s, after ServiceUnavailableError 503" in line


def test_demo_sized_runs_survive_thirty_percent_faults() -> None:
    figures = measure(runs=8, fault_rate=0.3, seed=1)

    assert figures["faults"] > 0.2 * figures["http_requests"]  # the faults did happen
    assert figures["aborted"] == 0, figures["aborts"]


@pytest.mark.slow
def test_a_hundred_demo_sized_runs_survive_thirty_percent_faults() -> None:
    figures = measure(runs=100, fault_rate=0.3, seed=0)

    assert figures["aborted"] == 0, figures["aborts"]
