"""JournalingCompleter: one record per request, totals, failures, and journals that replay."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from reward_coder.errors import LLMError, LLMUnavailableError, ReplayMissError
from reward_coder.llm import JournalingCompleter, ReplayCompleter, ScriptedCompleter, jsonl_file_sink, make_completer
from reward_coder.types import Completion, CompletionRequest, Message


def _request(purpose: str = "designer", n: int = 2, iteration: int = 0) -> CompletionRequest:
    return CompletionRequest(
        messages=(Message("system", "you write rewards"), Message("user", f"{purpose} prompt {iteration}")),
        n=n,
        temperature=0.5,
        purpose=purpose,
        task_key="halfcheetah/run-backwards",
        iteration=iteration,
    )


def _read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_journal_replays_the_session(tmp_path: Path) -> None:
    journal_path = tmp_path / "logs" / "llm.jsonl"
    designer, critic = _request("designer", n=2), _request("critic", n=1)
    inner = ScriptedCompleter([["code A", "code B"], ["looks fine"]])
    journaled = JournalingCompleter(inner, jsonl_file_sink(journal_path))

    live = [journaled.complete(designer), journaled.complete(critic)]

    for mode in ("exact", "loose", "auto"):
        replay = ReplayCompleter(journal_path, mode=mode)  # type: ignore[arg-type]
        assert [replay.complete(r).samples for r in (designer, critic)] == [c.samples for c in live]
    assert make_completer(f"replay:{journal_path}").complete(designer).samples == ("code A", "code B")


def test_record_holds_request_answer_and_replay_fields(tmp_path: Path) -> None:
    records: list[dict[str, Any]] = []
    request = _request()
    JournalingCompleter(ScriptedCompleter([["code A", "code B"]]), records.append).complete(request)

    [record] = records
    json.dumps(record)  # JSON-able as is
    assert record["request"] == json.loads(json.dumps(request.to_dict()))
    assert CompletionRequest.from_dict(record["request"]) == request
    assert Completion.from_dict(record["completion"]).samples == ("code A", "code B")
    assert record["request_hash"] == request.request_hash() and record["loose_key"] == request.loose_key()
    assert (record["purpose"], record["task_key"], record["iteration"]) == ("designer", "halfcheetah/run-backwards", 0)
    assert record["model"] == "scripted" and record["samples"] == ["code A", "code B"]
    assert record["error"] is None and record["latency_s"] >= 0
    assert record["prompt_tokens"] > 0 and record["completion_tokens"] == 4 and record["cost_usd"] == 0.0
    datetime.fromisoformat(record["timestamp"])


def test_failure_is_journaled_and_reraised(tmp_path: Path) -> None:
    journal_path = tmp_path / "llm.jsonl"
    down = LLMUnavailableError("http://127.0.0.1:9/v1 could not be reached; check the server")
    journaled = JournalingCompleter(ScriptedCompleter([down]), jsonl_file_sink(journal_path))

    with pytest.raises(LLMUnavailableError) as caught:
        journaled.complete(_request())

    assert caught.value is down
    [record] = _read_lines(journal_path)
    assert record["error"] == {"type": "LLMUnavailableError", "message": str(down)}
    assert record["completion"] is None and record["samples"] == []
    assert (journaled.n_requests, journaled.n_errors) == (1, 1)
    with pytest.raises(ReplayMissError):  # a failure is no answer to replay
        ReplayCompleter(journal_path, mode="auto").complete(_request())


def test_running_totals() -> None:
    class Priced:
        name = "priced"

        def complete(self, request: CompletionRequest) -> Completion:
            return Completion(
                samples=("x",) * request.n, model=self.name, prompt_tokens=10, completion_tokens=5, cost_usd=0.25
            )

    journaled = JournalingCompleter(Priced(), lambda record: None)
    for iteration in range(3):
        journaled.complete(_request(iteration=iteration))

    assert journaled.name == "priced" and journaled.n_requests == 3
    assert (journaled.total_prompt_tokens, journaled.total_completion_tokens) == (30, 15)
    assert journaled.total_cost_usd == pytest.approx(0.75)


def test_file_sink_appends_lines(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "llm.jsonl"
    sink = jsonl_file_sink(path)
    sink({"n": 1, "text": "line\nbreak"})
    sink({"n": 2})
    assert _read_lines(path) == [{"n": 1, "text": "line\nbreak"}, {"n": 2}]


def test_file_sink_reports_an_unwritable_journal(tmp_path: Path) -> None:
    sink = jsonl_file_sink(tmp_path)  # a folder cannot be opened for appending
    with pytest.raises(LLMError, match="cannot write the LLM journal .*check free disk space"):
        sink({"n": 1})
