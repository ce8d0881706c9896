"""Shared CLI plumbing: consoles, LLM options shared by commands, and user-facing errors as one stderr line."""

from __future__ import annotations

import errno
import functools
import math
import os
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from rich.console import Console
from typer.core import TyperGroup

from reward_coder.errors import RewardCoderError, write_failure

# litellm downloads a price list at import unless told not to; we never want that (offline machines).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `error: message` on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
"""OSErrors that can only mean the disk refused a write: a full disk, a spent quota, a read-only mount."""


def user_errors(func: F) -> F:
    """Turn RewardCoderError into one clear stderr line and a non-zero exit, never a traceback.

    The writes of the product go through RunStore, which raises WriteError; a full or read-only disk met
    by a write outside it (a library writing its own file) is the same one line, not a traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RewardCoderError as err:
            raise fail(str(err), err.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted; finished work is saved", 130) from None
        except OSError as err:
            if err.errno not in _DISK_ERRNOS:
                raise
            failure = write_failure(err.filename or "a file", err)
            raise fail(str(failure), failure.exit_code) from None

    return wrapper  # type: ignore[return-value]


UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
"""click's UsageError as typer raises it (recent typer vendors click, so `click.UsageError` is another class)."""


class OneLineErrorsGroup(TyperGroup):
    """The app's command group: a bad option or argument (click's usage errors: a value out of range, a
    failed callback, an unknown option) is one `error:` line naming the option, like every other error,
    instead of click's usage box. The check still runs at parse time, before the command does anything."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as err:
            where = err.ctx.command_path if getattr(err, "ctx", None) is not None else ctx.command_path
            message = " ".join(err.format_message().split())
            raise fail(f"{message} (see `{where} --help`)", err.exit_code) from None


# ------------------------------------------------------------------------------------------------
# Parse-time checks of options several commands share (typer callbacks: they run before the command)
# ------------------------------------------------------------------------------------------------

SEED_MAX = 1_000_000_000
"""Largest --seed: the seeds derived from it (evaluation seed + 10,000, finals seed + k, ...) stay under
2**31, which numpy, torch and gymnasium all accept."""

WORKERS_MAX = 1024
"""Most --workers: each is a training process; more than this is a typo, not a machine."""


def finite_positive(value: float | None) -> float | None:
    """--max-cost: a finite number above 0 (0, a negative, nan or inf would stop or never stop a run)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a number above 0, got {value}")
    return value


def gpu_share(value: float | None) -> float | None:
    """--gpus-per-job: a fraction of one GPU (0 < x <= 1) or a whole number of GPUs, as Ray schedules them."""
    if value is None:
        return None
    if not (math.isfinite(value) and value > 0) or (value > 1 and value != int(value)):
        raise typer.BadParameter(f"must be a share of one GPU (above 0, at most 1) or a whole number of GPUs, got {value}")
    return value


def finite(value: float | None) -> float | None:
    """A float option that must be a real number (click's ranges let nan and inf through)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, got {value}")
    return value


def _holds_cwd(path: Path) -> bool:
    here = Path.cwd().resolve()
    target = path.expanduser().resolve()
    return target == here or target in here.parents


def out_folder(value: Path | None) -> Path | None:
    """--out of a run folder: not empty, not the current folder (or one above it), not an existing file.

    typer turns '' into Path('.'), so an empty --out would write a run's files into the current folder.
    """
    if value is None:
        return None
    if str(value).strip() in ("", ".") or _holds_cwd(value):
        raise typer.BadParameter("must name a run folder, not the current folder; e.g. --out runs/my-run")
    if value.expanduser().is_file():
        raise typer.BadParameter(f"'{value}' is an existing file; --out names a folder")
    return value


def out_target(value: Path | None) -> Path | None:
    """--out of a file or folder (report, bench): not empty and not the current folder or one above it."""
    if value is None:
        return None
    if str(value).strip() in ("", ".") or _holds_cwd(value):
        raise typer.BadParameter("must name a file or folder to write, not the current folder")
    return value


def http_url(value: str | None) -> str | None:
    """--api-base: an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000/v1."""
    from urllib.parse import urlsplit

    if value is None:
        return None
    text = value.strip()
    try:
        parts = urlsplit(text)
        host, _port = parts.hostname, parts.port  # .port raises ValueError on a bad port
    except ValueError as err:
        raise typer.BadParameter(f"'{value}' is not a URL ({err})") from None
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in text):
        raise typer.BadParameter(f"'{value}' is not an http:// or https:// URL with a host, "
                                 "e.g. http://127.0.0.1:8000/v1")
    return text


def http_url_or_empty(value: str | None) -> str | None:
    """--api-base of resume/refine: a URL as for `run`, or '' to go back to the provider's default."""
    if value is not None and not value.strip():
        return value
    return http_url(value)


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
    float, typer.Option("--timeout", min=1.0, callback=finite,
                        help="Seconds one LLM call may take (per sample with split samples).")
]
RETRIES_HELP = ("LLM retries of one call on rate limits, 5xx, timeouts, lost connections, empty or malformed "
                "answers; each is shown with its reason and wait (backoff from 1 s, at most 60 s each).")
RetriesOption = Annotated[int, typer.Option("--retries", min=0, max=20, help=RETRIES_HELP)]


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


def price_pair(value: str | None) -> tuple[float, float] | None:
    """--price-per-1k-tokens IN,OUT: two finite numbers >= 0, USD per 1,000 prompt and completion tokens."""
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    try:
        price_in, price_out = (float(part) for part in parts)
    except ValueError:
        raise typer.BadParameter(f"must be IN,OUT (USD per 1,000 prompt and completion tokens), e.g. 0.15,0.60; got {value!r}") from None
    if not all(math.isfinite(p) and p >= 0 for p in (price_in, price_out)):
        raise typer.BadParameter(f"prices must be finite and >= 0, got {value!r}")
    return price_in, price_out


PriceOption = Annotated[
    Optional[str],
    typer.Option("--price-per-1k-tokens", metavar="IN,OUT",
                 help="USD per 1,000 prompt and completion tokens, for a model litellm has no price for (or to "
                 "override its price), e.g. 0.15,0.60. Counted against --max-cost."),
]
AllowUnpricedOption = Annotated[
    bool,
    typer.Option("--allow-unpriced", help="Run a model that has no known price; its cost is then shown and "
                 "journaled as unknown and --max-cost cannot stop it. Local servers need neither."),
]


def pricing_settings(price: str | None, allow_unpriced: bool) -> dict[str, Any]:
    """RunConfig fields of --price-per-1k-tokens and --allow-unpriced (checked here, at parse time)."""
    from reward_coder.errors import ConfigError

    try:
        pair = price_pair(price)
    except typer.BadParameter as err:
        raise ConfigError(f"--price-per-1k-tokens {err.message}") from None
    return {"llm_price_per_1k_tokens": pair, "llm_allow_unpriced": bool(allow_unpriced)}


def check_llm(config: Any) -> None:
    """Build the run's completer once and ask how it prices answers, before anything is created or paid:
    an unknown model, a missing key or a model with no price is one line now, not after the first prompt."""
    from reward_coder.llm import make_completer

    completer = make_completer(config.model, api_base=config.api_base, max_retries=config.llm_retries,
                               timeout_s=config.llm_timeout_s, max_tokens=config.llm_max_tokens,
                               split_samples=config.llm_split_samples,
                               price_per_1k_tokens=config.llm_price_per_1k_tokens,
                               allow_unpriced=config.llm_allow_unpriced)
    getattr(completer, "pricing", None)
