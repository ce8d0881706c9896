"""The one place that calls a real provider, through litellm: bounded retries, timeouts, cost, disk cache.

litellm is imported on first use (its import takes seconds), and its own retry layers are switched off
(`num_retries=0`, `max_retries=0`) so the loop here is the only one and the attempt count is exact.
Every request carries a `max_tokens` (the limit of its purpose); for a local server the n samples go out
as n concurrent single-sample calls, each with its own timeout and retries, and the samples that arrived
are kept (in memory for the completer's lifetime, and in the disk cache) when another one fails.
"""

from __future__ import annotations

import functools
import math
import os
import random
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

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
        max_retries: int = 4,
        backoff_s: float = 2.0,
        cache_dir: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_parallel: int = 4,
        litellm_kwargs: Mapping[str, Any] | None = None,
        max_tokens: Mapping[str, int] | None = None,
        split_samples: bool | None = None,
        count_tokens: TokenCounter | None = None,
    ) -> None:
        """Check the model string and key now, so a misconfiguration fails before the run starts.

        timeout_s: per call; 120 s fits a long reward function from a slow model.
        max_retries: retries after the first attempt, only for rate limits, 5xx, timeouts and lost
            connections; 4 with backoff 2 s waits at most ~30 s in total before giving up.
        max_parallel: concurrent single-sample calls (split samples, and providers that ignore `n`);
            4 matches llama.cpp's default of 4 server slots.
        litellm_kwargs: extra arguments for every `litellm.completion` call (e.g. `mock_response`, `extra_headers`).
        max_tokens: answer limit by request purpose (see RunConfig.llm_max_tokens); None: the defaults. A
            request's own `max_tokens` wins.
        split_samples: ask for n samples as n single-sample calls; None: yes for a local server (loopback
            api_base or ollama/), where n answers of one call share one machine and one timeout.
        count_tokens: tokenizer for answers whose usage is missing or under-reported; None: litellm's.
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
        self._kept: dict[str, list[_Answer]] = {}
        """Single-sample answers of requests that failed part-way, by cache key: asked again, they are reused."""
        self._kept_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LiteLLMCompleter(model={self.name!r}, endpoint={self.route.endpoint!r})"

    def bounded(self, request: CompletionRequest) -> CompletionRequest:
        """The request as it is sent: with its own max_tokens, else the limit of its purpose.

        The journal records this form, so every exchange shows the limit it ran under.
        """
        if request.max_tokens is not None:
            return request
        return replace(request, max_tokens=max_tokens_for(self.max_tokens, request.purpose))

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
        answer = self._collect(request, key)
        completion = Completion(
            samples=answer.samples,
            model=self.name,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            cost_usd=answer.cost_usd,
            latency_s=time.monotonic() - started,
            tokens_estimated=answer.tokens_estimated,
        )
        if self._cache is not None:
            self._cache.put(key, completion)
            for ordinal in range(request.n + 1):  # at most 1 + n calls left partial answers
                self._cache.discard(_partial_key(key, ordinal))
        with self._kept_lock:
            self._kept.pop(key, None)
        return completion

    # -- collecting n samples ------------------------------------------------------------------------

    def _collect(self, request: CompletionRequest, key: str) -> _Answer:
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
            for result in self._call_many(request, batch):
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
        if len(samples) < request.n:
            raise LLMError(
                f"model '{self.name}' returned {len(samples)} of {request.n} samples in {calls} calls; "
                "ask for fewer samples or try another model"
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

    def _call_many(self, request: CompletionRequest, batch: list[int]) -> list[_Answer | LLMError]:
        """Run calls asking for batch[i] samples each; concurrently when there are several.

        A call that fails for good is returned as its error, so the other calls' answers are not lost.
        """
        if len(batch) == 1:
            return [self._call_or_error(request, batch[0])]
        with ThreadPoolExecutor(max_workers=min(len(batch), self.max_parallel)) as pool:
            futures: list[Future[_Answer | LLMError]] = [
                pool.submit(self._call_or_error, request, n) for n in batch
            ]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _call_or_error(self, request: CompletionRequest, n: int) -> _Answer | LLMError:
        try:
            return self._call_with_retries(request, n)
        except LLMError as exc:
            return exc

    # -- one call with bounded retries --------------------------------------------------------------

    def _call_with_retries(self, request: CompletionRequest, n: int) -> _Answer:
        """One logical call: up to max_retries + 1 attempts, retrying only transient failures."""
        import openai

        attempts = self.max_retries + 1
        last: openai.OpenAIError | None = None
        for attempt in range(attempts):
            try:
                return self._call_once(request, n)
            except openai.OpenAIError as exc:  # every litellm provider error derives from it
                if not self._is_transient(exc):
                    raise self._permanent_error(exc) from exc
                last = exc
                if attempt + 1 < attempts:
                    self._sleep(self._delay(attempt, exc))
        assert last is not None
        raise self._unavailable_error(last, attempts) from last

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
        if tokens.estimated:
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

    def _delay(self, attempt: int, exc: BaseException) -> float:
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

    def _unavailable_error(self, exc: BaseException, attempts: int) -> LLMUnavailableError:
        import openai

        route = self.route
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
