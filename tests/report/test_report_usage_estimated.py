"""Estimated token counts (provider under-reported) are marked as such in the report and the live view."""

import json

from reward_coder.cli.progress import _Usage
from reward_coder.report.build import llm_usage


def _records():
    return [
        {"purpose": "designer", "prompt_tokens": 805, "completion_tokens": 1205, "cost_usd": 0.0, "tokens_estimated": True},
        {"purpose": "repair", "prompt_tokens": 900, "completion_tokens": 300, "cost_usd": 0.0, "tokens_estimated": False},
        {"purpose": "critic", "prompt_tokens": 700, "completion_tokens": 200, "cost_usd": 0.0},  # an older journal line
    ]


def test_report_usage_counts_the_calls_whose_tokens_were_estimated():
    usage = llm_usage(_records())
    assert usage.calls == 3
    assert usage.estimated == 1
    assert usage.completion_tokens == 1705


def test_report_usage_of_a_journal_with_reported_counts_only_is_not_estimated():
    assert llm_usage(_records()[1:]).estimated == 0


def test_live_view_marks_tokens_as_approximate_once_one_call_was_estimated(tmp_path):
    journal = tmp_path / "llm_journal.jsonl"
    journal.write_text("".join(json.dumps(r) + "\n" for r in _records()[1:]), encoding="utf-8")
    usage = _Usage()
    usage.poll(journal)
    assert not usage.tokens_estimated and usage.tokens == 2100
    with open(journal, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(_records()[0]) + "\n")
    usage.poll(journal)
    assert usage.tokens_estimated and usage.tokens == 2100 + 2010
