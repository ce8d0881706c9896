"""The one interface the loop talks to: a `Completer` turns a CompletionRequest into a Completion.

Adding a provider means adding a class with `name` and `complete`; the loop never knows which one it has.
A provider that changes a request before sending it (LiteLLMCompleter fills in `max_tokens`) may also offer
`bounded(request) -> CompletionRequest`, the request as sent; the journal records that form.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from reward_coder.types import Completion, CompletionRequest


@runtime_checkable
class Completer(Protocol):
    """Anything that answers chat requests with `request.n` samples."""

    name: str
    """Human-readable model name, e.g. 'gpt-4o' or 'replay:demo.jsonl'; recorded in journals and reports."""

    def complete(self, request: CompletionRequest) -> Completion:
        """Return exactly `request.n` samples with token counts and cost, or raise an LLMError subclass."""
        ...
