"""A completer for tests: a queue of canned answers, and a record of every request it was asked.

Like simonw/llm's mock model: tests of the loop script what the "LLM" says and then assert on what the
loop asked, without a network or a replay file.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Iterable, Sequence, Union

from reward_coder.errors import LLMError
from reward_coder.types import Completion, CompletionRequest

ScriptedResponse = Union[Sequence[str], Callable[[CompletionRequest], Sequence[str]], BaseException]
"""A list of sample texts, a function of the request returning them, or an exception to raise."""


class ScriptExhaustedError(LLMError, AssertionError):
    """The script ran out of answers: the code under test asked more than the test expected."""


class ScriptedCompleter:
    """Answers requests from a queue, in order; records each request in `.requests`.

    Token counts are whitespace word counts of the prompt and the samples, so totals in tests are
    predictable; cost is always 0.0.
    """

    def __init__(self, responses: Iterable[ScriptedResponse] = (), name: str = "scripted") -> None:
        self.name = name
        self.requests: list[CompletionRequest] = []
        self._queue: deque[ScriptedResponse] = deque(responses)
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        """Answers not yet used."""
        return len(self._queue)

    def add(self, *responses: ScriptedResponse) -> None:
        """Append answers to the end of the queue."""
        with self._lock:
            self._queue.extend(responses)

    def complete(self, request: CompletionRequest) -> Completion:
        """Pop the next answer; raise it if it is an exception, call it if it is a function."""
        with self._lock:
            self.requests.append(request)
            if not self._queue:
                raise ScriptExhaustedError(
                    f"scripted completer ran out of answers at request {len(self.requests)} "
                    f"(purpose='{request.purpose}' task='{request.task_key}' iteration={request.iteration}); "
                    "add more responses to the script"
                )
            response = self._queue.popleft()
        if isinstance(response, BaseException):
            raise response
        samples = response(request) if callable(response) else response
        if isinstance(samples, str) or not all(isinstance(s, str) for s in samples):
            raise LLMError(f"scripted answer must be a list of strings, got {samples!r}; wrap a single text in a list")
        if len(samples) != request.n:
            raise LLMError(
                f"scripted answer has {len(samples)} samples but the request asked for n={request.n}; "
                "script as many samples as the code under test asks for"
            )
        return Completion(
            samples=tuple(samples),
            model=self.name,
            prompt_tokens=sum(len(m.content.split()) for m in request.messages),
            completion_tokens=sum(len(s.split()) for s in samples),
            cost_usd=0.0,
        )
