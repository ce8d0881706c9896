"""--max-cost is the run's total: what earlier sessions spent (its journal) counts after a resume."""

from __future__ import annotations

import json

import pytest

from reward_coder.config import RunConfig
from reward_coder.llm import JournalingCompleter, ScriptedCompleter
from reward_coder.llm.journal import journaled_cost
from reward_coder.loop import BudgetedCompleter, BudgetExceeded
from reward_coder.store import RunStore
from reward_coder.types import Completion, CompletionRequest, Message


class Paid(ScriptedCompleter):
    """Scripted answers that each cost `price` (a stand-in for a paid provider)."""

    def __init__(self, price: float, n: int) -> None:
        super().__init__([["answer"]] * n)
        self.price = price

    def complete(self, request):
        done = super().complete(request)
        return Completion(done.samples, "paid", cost_usd=self.price)


def _request(i: int) -> CompletionRequest:
    return CompletionRequest(messages=(Message("user", f"prompt {i}"),))


def _session(records: list, spent_before: float, max_cost: float, calls: int, largest: float = 0.0) -> int:
    journal = JournalingCompleter(Paid(0.3, calls), sink=records.append)
    budget = BudgetedCompleter(journal, max_cost, spent_before=spent_before, largest_call_before=largest)
    made = 0
    with pytest.raises(BudgetExceeded, match="the run's LLM spending"):
        for i in range(calls):
            budget.complete(_request(i))
            made += 1
    return made


def test_a_resumed_run_does_not_get_a_fresh_budget(tmp_path) -> None:
    records: list = []
    made_first = _session(records, 0.0, 2.5, 20)  # 0.3 a call: stops before passing 2.5
    spent = sum(r["cost_usd"] for r in records)
    assert made_first == 8 and spent == pytest.approx(2.4)

    path = tmp_path / "llm_journal.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"cost_usd": 1', encoding="utf-8")  # torn
    before, unknown, largest = journaled_cost(path)
    assert before == pytest.approx(2.4) and unknown == 0

    assert largest == pytest.approx(0.3)

    # same --max-cost 2.5 on resume: 2.4 spent plus a call as dear as the dearest so far would pass it
    assert _session([], before, 2.5, 20, largest=largest) == 0
    # a higher limit on resume buys what it says: (3.0 - 2.4) / 0.3 = 2 calls
    assert _session([], before, 3.0, 20, largest=0.3) == 2
    # a session starting at the limit makes no call at all
    assert _session([], 2.7, 2.5, 5) == 0


def test_the_cli_counts_the_journal_of_earlier_sessions(tmp_path) -> None:
    from reward_coder.cli.progress import ProgressPrinter
    from reward_coder.cli.run_cmd import _services

    store = RunStore.create(tmp_path / "run")
    for cost in (0.5, 0.75):
        store.append_jsonl("llm_journal.jsonl", {"purpose": "designer", "cost_usd": cost, "cost_unknown": False})
    store.append_jsonl("llm_journal.jsonl", {"purpose": "critic", "cost_usd": 0.0, "cost_unknown": True})
    config = RunConfig("swing up", "pendulum", model="replay:standins", max_cost_usd=2.0)

    services, _ = _services(config, store, ProgressPrinter("quiet"), "inline", None, False)
    try:
        assert services.completer.spent_before == pytest.approx(1.25)
        assert services.completer._largest_call == pytest.approx(0.75)  # the dearest earlier call guards the next
        assert services.completer.spent_usd == pytest.approx(1.25)
    finally:
        services.executor.close()
    assert journaled_cost(store.path("llm_journal.jsonl")) == (pytest.approx(1.25), 1, pytest.approx(0.75))


def test_runs_say_when_the_cost_is_unknown(tmp_path) -> None:
    from typer.testing import CliRunner

    from reward_coder.cli.main import app
    from reward_coder.report.runs import describe_run

    store = RunStore.create(tmp_path / "runs" / "r1")
    store.write_json("config.json", RunConfig("swing up", "pendulum", model="my-finetune", llm_allow_unpriced=True))
    store.write_json("state.json", {"status": "finished", "iterations_done": 1})
    store.append_jsonl("llm_journal.jsonl", {"purpose": "designer", "cost_usd": 0.0, "cost_unknown": True})

    listing = describe_run(store.root)
    assert listing is not None and listing.cost_unknown == 1

    result = CliRunner().invoke(app, ["runs", "--dir", str(tmp_path / "runs")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "$0.0000 + ?" in result.stdout
