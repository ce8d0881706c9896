"""Shared CLI plumbing: consoles, and turning user-facing errors into one line on stderr."""

from __future__ import annotations

import functools
import os
from typing import Any, Callable, TypeVar

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
