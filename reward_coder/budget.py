"""--max-cost: a completer that refuses the call that could pass the run's LLM budget."""

from __future__ import annotations

from typing import Any

from reward_coder.errors import RewardCoderError
from reward_coder.types import CompletionRequest


class BudgetExceeded(RewardCoderError):
    """The next LLM call could pass --max-cost; the run stops cleanly and can be resumed with a higher limit."""

    exit_code = 3


class BudgetedCompleter:
    """Refuses a call when spending so far plus the largest call seen could pass the limit.

    `spent_before`: what earlier sessions of the run spent (from its journal), so --max-cost is the run's
    total, not each session's; `largest_call_before`: the dearest call of those sessions, so the first call
    of a resumed session cannot pass the limit either.
    """

    def __init__(self, inner: Any, max_cost_usd: float | None, spent_before: float = 0.0,
                 largest_call_before: float = 0.0) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "budgeted")
        self.max_cost_usd = max_cost_usd
        self.spent_before = float(spent_before)
        self._largest_call = float(largest_call_before)

    @property
    def spent_usd(self) -> float:
        """The run's LLM spending so far: earlier sessions plus this one."""
        return self.spent_before + float(getattr(self.inner, "total_cost_usd", 0.0))

    def complete(self, request: CompletionRequest):
        spent = self.spent_usd
        if self.max_cost_usd is not None and spent >= self.max_cost_usd:
            raise BudgetExceeded(
                f"the run's LLM spending ${spent:.4f} has reached --max-cost ${self.max_cost_usd:.4f}; "
                "stopped cleanly, resume with a higher --max-cost"
            )
        if self.max_cost_usd is not None and spent + self._largest_call > self.max_cost_usd:
            raise BudgetExceeded(
                f"the run's LLM spending ${spent:.4f} plus the next call (up to ${self._largest_call:.4f}) would pass "
                f"--max-cost ${self.max_cost_usd:.4f}; stopped cleanly, resume with a higher --max-cost"
            )
        completion = self.inner.complete(request)
        self._largest_call = max(self._largest_call, completion.cost_usd)
        return completion
