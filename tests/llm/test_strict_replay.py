"""Replay says what it did: strict by default, loose only when asked, and every loose answer marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reward_coder.errors import ReplayMissError
from reward_coder.llm import JournalingCompleter, make_completer
from reward_coder.types import CompletionRequest, Message


def _designer(prompt: str) -> CompletionRequest:
    return CompletionRequest(messages=(Message("user", prompt),), n=1, purpose="designer", task_key="pendulum/swing-up")


def _recording(tmp_path: Path) -> Path:
    request = _designer("the prompt as recorded")
    record = {"request_hash": request.request_hash(), "purpose": "designer", "task_key": "pendulum/swing-up",
              "iteration": 0, "label": "", "model": "gpt-4o", "samples": ["recorded answer"]}
    path = tmp_path / "llm_journal.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return path


def test_strict_replay_answers_the_recorded_prompt_and_names_a_miss(tmp_path: Path) -> None:
    path = _recording(tmp_path)
    replay = make_completer(f"replay:{path}")

    assert replay.complete(_designer("the prompt as recorded")).replay_match == "exact"
    with pytest.raises(ReplayMissError) as caught:
        replay.complete(_designer("a prompt edited since"))
    message = str(caught.value)
    assert "purpose='designer' task='pendulum/swing-up' iteration=0" in message
    assert f"replay-loose:{path}" in message  # how to accept the recorded answer anyway


def test_loose_replay_marks_each_answer_in_the_journal(tmp_path: Path) -> None:
    path = _recording(tmp_path)
    records: list[dict] = []
    replay = JournalingCompleter(make_completer(f"replay-loose:{path}"), sink=records.append)

    same = replay.complete(_designer("the prompt as recorded"))
    other = replay.complete(_designer("a prompt edited since"))

    assert (same.replay_match, other.replay_match) == ("exact", "loose")
    assert other.samples == ("recorded answer",)
    assert [r["replay_match"] for r in records] == ["exact", "loose"]


def test_the_report_counts_loose_answers(tmp_path: Path) -> None:
    from reward_coder.report.build import llm_usage

    usage = llm_usage([{"purpose": "designer", "replay_match": "loose"}, {"purpose": "critic", "replay_match": "exact"}])
    assert usage.replay_loose == 1
