"""The one place that calls a real provider, through litellm: bounded retries, timeouts, cost, disk cache.

litellm is imported on first use (its import takes seconds), and its own retry layers are switched off
(`num_retries=0`, `max_retries=0`) so the loop here is the only one and the attempt count is exact.
Every request carries a `max_tokens` (the limit of its purpose); for a local server the n samples go out
as n concurrent single-sample calls, each with its own timeout and retries, and the samples that arrived
are kept (in memory for the completer's lifetime, and in the disk cache) when another one fails.

What a flaky endpoint does is retried like a 5xx: an answer with no choices, a truncated body or
malformed JSON (litellm raises those as InternalServerError), rate limits, timeouts and lost
connections. Each retry is announced through `on_retry` (the progress view) and recorded with the
exchange (`Completion.retries`, or `.retries` on the error), so the journal shows what it took.
"""

from __future__ import annotations

import functools
import math
import os
import random
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

RetryNote = dict[str, Any]
"""One retry: purpose, label, call (which of the request's calls), attempt (the one about to start),
of (attempts allowed), reason (what failed), wait_s (the backoff before it)."""

from reward_coder.errors import LLMConfigError, LLMError, LLMUnavailableError
from reward_coder.llm.cache import CompletionCache, cache_key
from reward_coder.llm.limits import (
    REASONING_HEADROOM_TOKENS,
    is_local_endpoint,
    max_tokens_for,
    resolve_max_tokens,
)
from reward_coder.llm.routing import ProviderRoute, resolve_route
from reward_coder.llm.tokens import TokenCounter, litellm_counter, reconcile_usage
from reward_coder.types import Completion, CompletionRequest

MAX_DELAY_S = 60.0
"""Upper bound of one backoff wait, whatever the attempt number or a server's Retry-After says."""

DEFAULT_RETRIES = 8
"""Retries after the first attempt of one call. With a 1 s backoff doubling up to MAX_DELAY_S, the waits
add up to ~3 min before a call gives up (every retry is shown). An endpoint failing 30% of its requests
then loses a call once in ~50,000 (0.3 ** 9); with 4 retries it was once in ~400, one demo-sized run in 25."""
DEFAULT_BACKOFF_S = 1.0

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]")


@functools.cache
def import_litellm() -> ModuleType:
    """Import litellm once, with the offline price list and without its banner prints on errors."""
    # Without this litellm downloads a price list at import time (and hangs where there is no network).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


@dataclass(frozen=True)
class _Answer:
    """What one provider call returned (or, with cost 0, what an earlier call left in the cache)."""

    samples: tuple[str, ...]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    tokens_estimated: bool = False


class PartialAnswerError(LLMUnavailableError):
    """Some of the n samples arrived, the others kept failing; the arrived ones are kept, not thrown away.

    They stay with the completer and in its disk cache, so asking again asks only for the missing ones.
    Their tokens and cost are counted here, once (the journal records them with the failed request), and
    not again when the kept samples complete a later answer.
    """

    def __init__(
        self,
        message: str,
        arrived: tuple[str, ...],
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost_usd: float = 0.0,
        tokens_estimated: bool = False,
    ) -> None:
        super().__init__(message)
        self.arrived = arrived
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.cost_usd = cost_usd
        self.tokens_estimated = tokens_estimated


class LiteLLMCompleter:
    """Completer for any model litellm can reach (OpenAI, Anthropic, Ollama, OpenAI-compatible servers)."""

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = DEFAULT_RETRIES,
        backoff_s: float = DEFAULT_BACKOFF_S,
        cache_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_parallel: int = 4,
        litellm_kwargs: Mapping[str, Any] | None = None,
        max_tokens: Mapping[str, int] | None = None,
        split_samples: bool | None = None,
        count_tokens: TokenCounter | None = None,
        on_retry: Callable[[RetryNote], None] | None = None,
        price_per_1k_tokens: tuple[float, float] | None = None,
        allow_unpriced: bool = False,
    ) -> None:
        """Check the model string and key now, so a misconfiguration fails before the run starts.

        timeout_s: per call; 120 s fits a long reward function from a slow model.
        max_retries: retries after the first attempt, only for transient failures (rate limits, 5xx,
            timeouts, lost connections, answers with no choices, truncated or malformed bodies); see
            DEFAULT_RETRIES for the default and the waits it adds up to.
        max_parallel: concurrent single-sample calls (split samples, and providers that ignore `n`);
            4 matches llama.cpp's default of 4 server slots.
        litellm_kwargs: extra arguments for every `litellm.completion` call (e.g. `mock_response`, `extra_headers`).
        max_tokens: answer limit by request purpose (see RunConfig.llm_max_tokens); None: the defaults. A
            request's own `max_tokens` wins.
        split_samples: ask for n samples as n single-sample calls; None: yes for a local server (loopback
            api_base or ollama/), where n answers of one call share one machine and one timeout.
        count_tokens: tokenizer for answers whose usage is missing or under-reported; None: litellm's.
        on_retry: called with a RetryNote before each backoff wait (from the calling thread; with split
            samples from several at once), so a progress view can say what is being waited for.
        price_per_1k_tokens: (prompt, completion) USD per 1,000 tokens, used instead of litellm's prices.
        allow_unpriced: accept a model litellm has no price for, its cost then unknown (journaled as such);
            without it such a model is refused here, since a cost of 0 would never trip --max-cost. A
            local server (loopback api_base, ollama/) costs nothing and needs neither.
        """
        if max_retries < 0:
            raise LLMConfigError(f"max_retries must be >= 0, got {max_retries}; pass 0 to disable retries")
        if timeout_s <= 0:
            raise LLMConfigError(f"timeout must be positive, got {timeout_s} s; pass e.g. --timeout 120")
        self.route: ProviderRoute = resolve_route(model, api_base, api_key)
        self.name = self.route.model
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.max_parallel = max(1, int(max_parallel))
        self.litellm_kwargs = dict(litellm_kwargs or {})
        self.max_tokens = resolve_max_tokens(max_tokens)
        self.split_samples = (
            is_local_endpoint(model, self.route.api_base) if split_samples is None else bool(split_samples)
        )
        self._cache = CompletionCache(Path(cache_dir)) if cache_dir is not None else None
        self._sleep = sleep
        self._rng = random.Random()
        self._supports_n: bool | None = None
        self._reasons: bool | None = None
        self._count_tokens = count_tokens
        self.on_retry = on_retry
        self.price_per_1k_tokens = _checked_price(price_per_1k_tokens)
        self.allow_unpriced = bool(allow_unpriced)
        self._pricing: str | None = None
        self._kept: dict[str, list[_Answer]] = {}
        """Single-sample answers of requests that failed part-way, by cache key: asked again, they are reused."""
        self._kept_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LiteLLMCompleter(model={self.name!r}, endpoint={self.route.endpoint!r})"

    @property
    def pricing(self) -> str:
        """How answers are priced: 'given' (price_per_1k_tokens), 'litellm' (its price list), 'local' (a
        loopback or ollama server with no listed price: free) or 'unknown' (allow_unpriced).

        Decided on first use (it imports litellm, which takes seconds); the CLI asks before a run starts,
        so an unpriced model is refused before anything is spent. Raises LLMConfigError for a model with no
        price unless allow_unpriced.
        """
        if self._pricing is None:
            self._pricing = self._decide_pricing()
        return self._pricing

    def _decide_pricing(self) -> str:
        if self.price_per_1k_tokens is not None:
            return "given"
        if _has_price(self.route.litellm_model):
            return "litellm"
        if is_local_endpoint(self.name, self.route.api_base):
            return "local"
        if self.allow_unpriced or "mock_response" in self.litellm_kwargs:  # litellm's canned answers: unbilled
            return "unknown"
        raise LLMConfigError(
            f"litellm has no price for model '{self.name}', so its cost would count as $0 and --max-cost could "
            "never stop it; pass --price-per-1k-tokens IN,OUT (USD per 1,000 prompt and completion tokens) or "
            "--allow-unpriced to run with the cost unknown"
        )

    def bounded(self, request: CompletionRequest) -> CompletionRequest:
        """The request as it is sent: with its own max_tokens, else the limit of its purpose.

        The journal records this form, so every exchange shows the limit it ran under.
        """
        if request.max_tokens is not None:
            return request
        return replace(request, max_tokens=max_tokens_for(self.max_tokens, request.purpose))

    def arrived_samples(self, request: CompletionRequest) -> tuple[str, ...]:
        """Samples of `request` that arrived but do not make a whole answer yet (kept for asking again).

        The journal records them with a request cut short by Ctrl-C.
        """
        key = cache_key(self.name, self.bounded(request), self.route.api_base)
        with self._kept_lock:
            return tuple(sample for answer in self._kept.get(key, ()) for sample in answer.samples)

    def complete(self, request: CompletionRequest) -> Completion:
        """Answer with `request.n` samples; from the disk cache when it holds this exact request."""
        if request.n < 1:
            raise LLMError(f"a completion request needs n >= 1 samples, got n={request.n}")
        request = self.bounded(request)
        key = cache_key(self.name, request, self.route.api_base)
        if self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None and len(hit.samples) == request.n:
                return hit
        started = time.monotonic()
        log = _RetryLog(request, self.on_retry)
        try:
            answer = self._collect(request, key, log)
        except LLMError as exc:
            exc.retries = log.notes()  # type: ignore[attr-defined] - read by the journal
            raise
        completion = Completion(
            samples=answer.samples,
            model=self.name,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            cost_usd=answer.cost_usd,
            latency_s=time.monotonic() - started,
            tokens_estimated=answer.tokens_estimated,
            retries=log.notes(),
            cost_unknown=self.pricing == "unknown",
        )
        if self._cache is not None:
            self._cache.put(key, completion)
            for ordinal in range(request.n + 1):  # at most 1 + n calls left partial answers
                self._cache.discard(_partial_key(key, ordinal))
        with self._kept_lock:
            self._kept.pop(key, None)
        return completion

    # -- collecting n samples ------------------------------------------------------------------------

    def _collect(self, request: CompletionRequest, key: str, log: _RetryLog) -> _Answer:
        """Gather n samples: one call asking for n, or n single-sample calls; then top up what is missing.

        Some providers ignore `n` (Anthropic, Ollama, many OpenAI-compatible servers), so a short answer
        is topped up. At most 1 + n calls are made (plus each call's retries), so a provider that returns
        nothing cannot loop us. Answers are kept as they arrive; when a call fails for good the others
        still finish, a PartialAnswerError says what arrived, and asking again asks only for the rest.
        """
        answers: list[_Answer] = self._kept_answers(key, request.n)
        have = sum(len(answer.samples) for answer in answers)
        failures: list[LLMError] = []
        calls = 0
        for round_index in range(2):
            needed = request.n - have
            if needed <= 0 or failures:
                break
            one_call = round_index == 0 and needed > 1 and not self.split_samples and self._provider_supports_n()
            batch = [needed] if one_call else [1] * needed
            calls += len(batch)
            try:
                results = self._call_many(request, batch, log, have)
            except KeyboardInterrupt as stop:
                # Ctrl-C: the calls that were running have finished; keep what they brought for next time
                for result in getattr(stop, "arrived_answers", ()):
                    self._keep(key, len(answers), result)
                    answers.append(result)
                raise
            for result in results:
                if isinstance(result, LLMError):
                    failures.append(result)
                    continue
                if result.samples:
                    self._keep(key, len(answers), result)
                answers.append(result)
                have += len(result.samples)
        samples = tuple(sample for answer in answers for sample in answer.samples)
        if failures:
            raise self._failed_part_way(failures, answers, request.n)
        if len(samples) < request.n:  # every call answered, but the top-up round was not enough
            raise LLMUnavailableError(
                f"model '{self.name}' at {self.route.endpoint} returned {len(samples)} of {request.n} samples in "
                f"{calls} calls; asking again asks only for the missing ones (the others are kept)"
            )
        return _Answer(
            samples=samples[: request.n],
            prompt_tokens=sum(answer.prompt_tokens for answer in answers),
            completion_tokens=sum(answer.completion_tokens for answer in answers),
            cost_usd=sum(answer.cost_usd for answer in answers),
            tokens_estimated=any(answer.tokens_estimated for answer in answers),
        )

    def _failed_part_way(self, failures: list[LLMError], answers: list[_Answer], n: int) -> LLMError:
        """The error to raise when calls failed: the first failure, saying what arrived and where it is kept."""
        first = failures[0]
        arrived = tuple(sample for answer in answers for sample in answer.samples)
        if not arrived or not isinstance(first, LLMUnavailableError):
            return first
        kept = "kept in the run's LLM cache" if self._cache is not None else "kept by this completer"
        return PartialAnswerError(
            f"{first} ({len(arrived)} of {n} samples arrived and are {kept}; asking again asks only for the "
            f"{n - len(arrived)} missing)",
            arrived,
            prompt_tokens=sum(answer.prompt_tokens for answer in answers),
            completion_tokens=sum(answer.completion_tokens for answer in answers),
            cost_usd=sum(answer.cost_usd for answer in answers),
            tokens_estimated=any(answer.tokens_estimated for answer in answers),
        )

    def _kept_answers(self, key: str, n: int) -> list[_Answer]:
        """Answers an earlier, failed try of this request left, from memory or else the disk cache.

        Their tokens and cost were counted with the failed try (PartialAnswerError), so they come back as 0.
        """
        with self._kept_lock:
            kept = list(self._kept.get(key, ()))
        if self._cache is not None:
            ordinal = len(kept)
            while sum(len(answer.samples) for answer in kept) < n and ordinal <= n:
                hit = self._cache.get(_partial_key(key, ordinal))
                if hit is None:
                    break
                kept.append(_Answer(hit.samples, 0, 0, 0.0))
                ordinal += 1
        return kept

    def _keep(self, key: str, ordinal: int, answer: _Answer) -> None:
        """Remember one call's answer until the whole request is answered (the ordinal-th answer of it)."""
        with self._kept_lock:
            self._kept.setdefault(key, []).append(_Answer(answer.samples, 0, 0, 0.0))
        if self._cache is not None:
            self._cache.put(
                _partial_key(key, ordinal),
                Completion(
                    samples=answer.samples,
                    model=self.name,
                    prompt_tokens=answer.prompt_tokens,
                    completion_tokens=answer.completion_tokens,
                    cost_usd=answer.cost_usd,
                    tokens_estimated=answer.tokens_estimated,
                ),
            )

    def _provider_supports_n(self) -> bool:
        if self._supports_n is None:
            litellm = import_litellm()
            import openai

            try:
                params = litellm.get_supported_openai_params(model=self.route.litellm_model) or []
            except openai.OpenAIError:
                params = ["n"]  # unknown to litellm: ask for n and let the top-up handle a short answer
            self._supports_n = "n" in params
        return self._supports_n

    def _call_many(self, request: CompletionRequest, batch: list[int], log: _RetryLog,
                   have: int = 0) -> list[_Answer | LLMError]:
        """Run calls asking for batch[i] samples each; concurrently when there are several.

        A call that fails for good is returned as its error, so the other calls' answers are not lost.
        `have`: samples already in hand, so the calls are named by the samples they ask for.
        """
        labels, first = [], have
        for n in batch:
            labels.append(f"sample {first + 1} of {request.n}" if n == 1 else f"{n} samples")
            first += n
        if len(batch) == 1:
            return [self._call_or_error(request, batch[0], log, labels[0])]
        with ThreadPoolExecutor(max_workers=min(len(batch), self.max_parallel)) as pool:
            futures: list[Future[_Answer | LLMError]] = [
                pool.submit(self._call_or_error, request, n, log, label) for n, label in zip(batch, labels)
            ]
            try:
                return [future.result() for future in futures]
            except BaseException as stop:
                for future in futures:
                    future.cancel()
                wait(futures)  # the running calls finish (the pool waits for them anyway): their answers are paid
                stop.arrived_answers = [  # type: ignore[attr-defined] - read by _collect on Ctrl-C
                    f.result() for f in futures
                    if not f.cancelled() and f.exception() is None and isinstance(f.result(), _Answer)
                    and f.result().samples
                ]
                raise

    def _call_or_error(self, request: CompletionRequest, n: int, log: _RetryLog, label: str) -> _Answer | LLMError:
        try:
            return self._call_with_retries(request, n, log, label)
        except LLMError as exc:
            return exc

    # -- one call with bounded retries --------------------------------------------------------------

    def _call_with_retries(self, request: CompletionRequest, n: int, log: _RetryLog, label: str) -> _Answer:
        """One logical call: up to max_retries + 1 attempts, retrying only transient failures.

        An answer without a single choice is a transient failure too (an overloaded proxy, a dropped
        generation); an answer with fewer choices than asked is returned, and the caller tops it up.
        """
        import openai

        attempts = self.max_retries + 1
        last: openai.OpenAIError | None = None
        for attempt in range(attempts):
            try:
                answer = self._call_once(request, n)
            except openai.OpenAIError as exc:  # every litellm provider error derives from it
                if not self._is_transient(exc):
                    raise self._permanent_error(exc) from exc
                last, reason = exc, self._reason(exc)
            else:
                if answer.samples:
                    return answer
                last, reason = None, "an answer with no choices"
            if attempt + 1 < attempts:
                wait = self._delay(attempt, last)
                log.add(call=label, attempt=attempt + 2, of=attempts, reason=reason, wait_s=round(wait, 3))
                self._sleep(wait)
        error = self._unavailable_error(last, attempts)
        if last is None:
            raise error
        raise error from last

    def _call_once(self, request: CompletionRequest, n: int) -> _Answer:
        litellm = import_litellm()
        kwargs: dict[str, Any] = {
            "model": self.route.litellm_model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
            "timeout": self.timeout_s,
            # Our loop is the only retry layer: litellm's wrapper and the OpenAI client would retry too.
            "num_retries": 0,
            "max_retries": 0,
            # e.g. o-series models reject a temperature; drop it rather than fail the run.
            "drop_params": True,
        }
        if n > 1:
            kwargs["n"] = n
        if request.max_tokens is not None:
            headroom = REASONING_HEADROOM_TOKENS if self._reasons_first() else 0
            kwargs["max_tokens"] = request.max_tokens + headroom
        if self.route.api_base is not None:
            kwargs["api_base"] = self.route.api_base
        if self.route.api_key is not None:
            kwargs["api_key"] = self.route.api_key
        kwargs.update(self.litellm_kwargs)
        response = litellm.completion(**kwargs)
        choices = list(getattr(response, "choices", None) or [])
        samples = tuple((choice.message.content or "") for choice in choices)
        usage = getattr(response, "usage", None)
        tokens = reconcile_usage(
            samples,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            count=self._counter(),
            messages=request.messages,
        )
        if self.pricing == "given":
            price_in, price_out = self.price_per_1k_tokens  # type: ignore[misc]
            cost = (tokens.prompt_tokens * price_in + tokens.completion_tokens * price_out) / 1000.0
        elif self.pricing in ("local", "unknown"):
            cost = 0.0
        elif tokens.estimated:
            cost = _estimated_cost(litellm, self.route.litellm_model, tokens.prompt_tokens, tokens.completion_tokens)
        else:
            cost = _response_cost(litellm, response)
        return _Answer(
            samples=samples,
            prompt_tokens=tokens.prompt_tokens,
            completion_tokens=tokens.completion_tokens,
            cost_usd=cost,
            tokens_estimated=tokens.estimated,
        )

    def _counter(self) -> TokenCounter:
        if self._count_tokens is None:
            self._count_tokens = litellm_counter(self.route.litellm_model)
        return self._count_tokens

    def _reasons_first(self) -> bool:
        """Whether litellm lists the model as one that reasons before answering (o1, o3-mini, ...)."""
        if self._reasons is None:
            litellm = import_litellm()
            try:
                self._reasons = bool(litellm.supports_reasoning(model=self.route.litellm_model))
            except Exception:  # noqa: BLE001 - unknown models: litellm raises or logs; no headroom then
                self._reasons = False
        return self._reasons

    # -- classifying failures -----------------------------------------------------------------------

    @staticmethod
    def _is_transient(exc: BaseException) -> bool:
        """Rate limits, 5xx, timeouts and lost connections may pass on retry; anything else will not."""
        litellm = import_litellm()
        import openai

        names = (
            "RateLimitError",
            "Timeout",
            "APIConnectionError",
            "ServiceUnavailableError",
            "InternalServerError",
            "BadGatewayError",
        )
        transient = tuple(t for t in (getattr(litellm, name, None) for name in names) if isinstance(t, type))
        transient += (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)
        if isinstance(exc, transient):
            return True
        status = getattr(exc, "status_code", None)
        return isinstance(status, int) and (status in (408, 429) or status >= 500)

    def _reason(self, exc: BaseException) -> str:
        """A few words on why an attempt failed, for the retry line: the error class and status."""
        import openai

        if isinstance(exc, openai.APITimeoutError) or type(exc).__name__ == "Timeout":
            return f"no answer within {self.timeout_s:g} s"
        status = getattr(exc, "status_code", None)
        detail = _one_line(str(exc), 90)
        name = type(exc).__name__
        return f"{name} {status}: {detail}" if isinstance(status, int) else f"{name}: {detail}"

    def _delay(self, attempt: int, exc: BaseException | None) -> float:
        """Exponential backoff with up to 10% jitter; a server's Retry-After is honoured, both capped."""
        delay = self.backoff_s * (2**attempt)
        retry_after = _retry_after_s(exc)
        if retry_after is not None:
            delay = max(delay, retry_after)
        delay += self._rng.uniform(0.0, 0.1 * delay)
        return min(delay, MAX_DELAY_S)

    def _permanent_error(self, exc: BaseException) -> LLMError:
        import openai

        route = self.route
        status = getattr(exc, "status_code", None)
        detail = _one_line(str(exc))
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)) or status in (401, 403):
            return LLMConfigError(
                f"{route.endpoint} rejected the API key for model '{self.name}' ({status}: {detail}); {route.key_hint}"
            )
        if isinstance(exc, openai.NotFoundError) or status == 404:
            pull = " (for ollama: run `ollama pull NAME`)" if route.provider == "ollama" else ""
            return LLMConfigError(
                f"model '{self.name}' was not found at {route.endpoint} ({detail}); check the model name{pull}"
            )
        if type(exc).__name__ == "ContextWindowExceededError":
            return LLMError(
                f"the prompt is too long for model '{self.name}' ({detail}); "
                "use a model with a longer context or shorten the history kept in the prompt"
            )
        return LLMError(
            f"model '{self.name}' at {route.endpoint} rejected the request ({status}: {detail}); "
            "check the model name and its options"
        )

    def _unavailable_error(self, exc: BaseException | None, attempts: int) -> LLMUnavailableError:
        """The error of a call whose every attempt failed; `exc` None: each answer had no choices."""
        import openai

        route = self.route
        if exc is None:
            return LLMUnavailableError(
                f"{route.endpoint} answered with no choices {attempts} times for model '{self.name}'; "
                "the server may be overloaded or filtering answers: resume later (answers that arrived are "
                "kept) or raise --retries"
            )
        status = getattr(exc, "status_code", None)
        detail = _one_line(str(exc))
        local = route.api_base is not None or route.provider == "ollama" or route.endpoint.startswith(
            tuple(f"http://{host}" for host in _LOCAL_HOSTS)
        )
        if isinstance(exc, openai.RateLimitError) or status == 429:
            what, fix = "kept rate-limiting", "wait a minute, ask for fewer samples, or raise the retry limit"
        elif isinstance(exc, openai.APITimeoutError) or status == 408:
            what, fix = f"timed out (limit {self.timeout_s:g} s)", "raise the timeout or check the server's load"
        elif local:
            what, fix = "could not be reached or kept failing", f"check that the server is running at {route.endpoint}"
        else:
            what, fix = "could not be reached or kept failing", "check your network and the provider's status page"
        return LLMUnavailableError(
            f"{route.endpoint} {what} for model '{self.name}' after {attempts} attempts "
            f"(last error: {detail}); {fix}"
        )


def _has_price(model: str) -> bool:
    """Whether litellm's (offline) price list prices this model."""
    litellm = import_litellm()
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(model=model, prompt_tokens=1000, completion_tokens=1000)
        return math.isfinite(float(prompt_cost) + float(completion_cost))
    except Exception:  # noqa: BLE001 - litellm raises NotFoundError / ModelNotMappedError / ValueError
        return False


def _checked_price(price: tuple[float, float] | None) -> tuple[float, float] | None:
    if price is None:
        return None
    try:
        price_in, price_out = (float(value) for value in price)
    except (TypeError, ValueError):
        raise LLMConfigError(f"a price is two numbers, USD per 1,000 prompt and completion tokens, not {price!r}") from None
    if not (math.isfinite(price_in) and math.isfinite(price_out)) or price_in < 0 or price_out < 0:
        raise LLMConfigError(f"prices must be finite and >= 0, got {price_in}, {price_out}")
    return price_in, price_out


def _response_cost(litellm: ModuleType, response: Any) -> float:
    """Price of one response in USD; 0.0 when litellm has no price for the model."""
    try:
        cost = litellm.completion_cost(completion_response=response)
    except Exception:  # noqa: BLE001 - pricing is best effort (ModelNotMappedError & co.); never lose a paid answer
        return 0.0
    try:
        value = float(cost or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) and value >= 0 else 0.0


def _estimated_cost(litellm: ModuleType, model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Price of counted (not reported) tokens at the model's list price; 0.0 when litellm has none."""
    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
        value = float(prompt_cost) + float(completion_cost)
    except Exception:  # noqa: BLE001 - pricing is best effort, as in _response_cost
        return 0.0
    return value if math.isfinite(value) and value >= 0 else 0.0


class _RetryLog:
    """The retries of one request, from all its calls (threads), passed on to `on_retry` as they happen."""

    def __init__(self, request: CompletionRequest, on_retry: Callable[[RetryNote], None] | None) -> None:
        self._context = {"purpose": request.purpose, "label": request.label, "iteration": request.iteration}
        self._on_retry = on_retry
        self._notes: list[RetryNote] = []
        self._lock = threading.Lock()

    def add(self, **note: Any) -> None:
        record = {**self._context, **note}
        with self._lock:
            self._notes.append(record)
        if self._on_retry is not None:
            self._on_retry(dict(record))

    def notes(self) -> tuple[RetryNote, ...]:
        with self._lock:
            return tuple(self._notes)


def _partial_key(key: str, ordinal: int) -> str:
    """Cache key of the ordinal-th call's answer of a request that is not yet answered in full."""
    return f"{key}.part{ordinal}"


def _retry_after_s(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header of the failed response, when the server sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None  # HTTP-date form: fall back to our own backoff


def _one_line(text: str, limit: int = 200) -> str:
    """litellm messages span lines and repeat prefixes; the CLI prints one line."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."
