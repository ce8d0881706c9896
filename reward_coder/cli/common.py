"""Shared CLI plumbing: consoles, LLM options shared by commands, and user-facing errors as one stderr line."""

from __future__ import annotations

import functools
import os
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from rich.console import Console

from reward_coder.errors import RewardCoderError

# litellm downloads a price list at import unless told not to; we never want that (offline machines).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `error: message` on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def user_errors(func: F) -> F:
    """Turn RewardCoderError into one clear stderr line and a non-zero exit, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RewardCoderError as err:
            raise fail(str(err), err.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted; finished work is saved", 130) from None

    return wrapper  # type: ignore[return-value]


MaxTokensOption = Annotated[
    Optional[str],
    typer.Option(
        "--max-tokens",
        help="Most tokens per answer: N for every request, or purpose=N,... for some (designer, repair, critic, "
        "analyzer, success_proposal, default). Default: designer/repair 1500, critic 1200, analyzer 800.",
    ),
]
SplitSamplesOption = Annotated[
    Optional[bool],
    typer.Option(
        "--split-samples/--no-split-samples",
        help="Ask for the K samples as K concurrent requests, each with its own timeout, so a slow answer "
        "cannot cost the finished ones. Default: on for a local server (127.0.0.1, localhost, ::1, ollama/).",
        show_default=False,
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=1.0, help="Seconds one LLM call may take (per sample with split samples).")
]


def llm_settings(model: str, api_base: str | None, max_tokens: str | None, split_samples: bool | None,
                 timeout_s: float) -> dict[str, Any]:
    """RunConfig fields of the shared LLM options, resolved so that config.json says what was used.

    Unset options take their defaults here (the split-samples choice from the endpoint), so a resumed run
    keeps them even if the defaults change later.
    """
    from reward_coder.config import default_llm_max_tokens
    from reward_coder.llm import parse_max_tokens, split_samples_by_default

    return {
        "llm_max_tokens": parse_max_tokens(max_tokens) if max_tokens is not None else default_llm_max_tokens(),
        "llm_split_samples": split_samples_by_default(model, api_base) if split_samples is None else split_samples,
        "llm_timeout_s": float(timeout_s),
    }
