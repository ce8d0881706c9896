"""`reward-coder generate`: K checked reward candidates for a task, in one shot (no training)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from reward_coder.cli.common import console, err_console, fail, user_errors
from reward_coder.cli.common import MaxTokensOption, RetriesOption, SplitSamplesOption, TimeoutOption, llm_settings
from reward_coder.cli.common import AllowUnpricedOption, PriceOption, check_llm, finite_positive, pricing_settings
from reward_coder.cli.common import SEED_MAX, finite, http_url, out_folder
from reward_coder.cli.progress import ProgressPrinter


@user_errors
def generate(
    instruction: Annotated[Optional[str], typer.Argument(help="The task in words, e.g. \"make the cheetah run backwards\".")] = None,
    env: Annotated[Optional[str], typer.Option("--env", "-e", help="Env card id or gymnasium id (see `reward-coder envs`).")] = None,
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="A named task, CARD/TASK, instead of free text.")] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="litellm model string, or replay:PATH to answer from recorded responses.")] = "gpt-4o",
    samples: Annotated[int, typer.Option("-k", "--samples", min=1, max=64, help="Candidates to ask for.")] = 4,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", callback=out_folder, help="Folder for candidates and reports (default: runs/generate__...).")] = None,
    no_example: Annotated[bool, typer.Option("--no-example", help="Leave out the few-shot example (a complete reward for another env of the same family) from the designer prompt.")] = False,
    repair: Annotated[int, typer.Option(min=0, max=5, help="Rounds in which failed candidates go back with their errors.")] = 1,
    api_base: Annotated[Optional[str], typer.Option(callback=http_url, help="Base URL of an OpenAI-compatible server (vLLM, proxy).")] = None,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, callback=finite)] = 1.0,
    retries: RetriesOption = 8,
    max_tokens: MaxTokensOption = None,
    split_samples: SplitSamplesOption = None,
    timeout: TimeoutOption = 120.0,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", callback=finite_positive, help="Stop cleanly before LLM spending passes this (USD).")] = None,
    price_per_1k_tokens: PriceOption = None,
    allow_unpriced: AllowUnpricedOption = False,
    seed: Annotated[int, typer.Option(min=0, max=SEED_MAX, help="Seed of the rollouts whose states the checks run on.")] = 0,
    allow_unsandboxed: Annotated[bool, typer.Option("--allow-unsandboxed", help="Run candidate code with resource limits only when bubblewrap is missing.")] = False,
    strict_direction: Annotated[bool, typer.Option("--strict-direction", help="Count a candidate that prefers the card's known-bad reference states as failed (else a warning).")] = False,
    llm_cache: Annotated[Optional[str], typer.Option("--llm-cache", help="Folder of cached LLM answers shared by generate runs, so the same generate again costs nothing; 'off' for fresh answers. Default: $REWARD_CODER_LLM_CACHE, else ~/.cache/reward-coder/llm.")] = None,
) -> None:
    """Ask an LLM for K reward candidates, extract and check each on real states, and write them out."""
    from reward_coder.config import RunConfig
    from reward_coder.generate import llm_cache_dir, run_generate
    from reward_coder.store import RunStore, make_run_id
    from reward_coder.tasks import resolve_task

    resolved = resolve_task(task, instruction, env)
    config = RunConfig(
        instruction=resolved.instruction, env=resolved.card.id, task=resolved.key if resolved.named else "",
        model=model, api_base=api_base, samples=samples, temperature=temperature,
        repair_attempts=repair, seed=seed, allow_unsandboxed=allow_unsandboxed, llm_retries=retries,
        **llm_settings(model, api_base, max_tokens, split_samples, timeout),
        **pricing_settings(price_per_1k_tokens, allow_unpriced), max_cost_usd=max_cost, few_shot=not no_example,
        strict_direction=strict_direction,
    )
    check_llm(config)
    if out is None:
        out = Path("runs") / ("generate__" + make_run_id(resolved.card.id, resolved.key.split("/")[-1], seed))
    store = RunStore.create(out)

    cache_dir = llm_cache_dir(llm_cache)
    try:
        result = run_generate(config, resolved, store, on_event=ProgressPrinter("text", model), cache_dir=cache_dir)
    except KeyboardInterrupt:
        again = (f" and the LLM cache ({cache_dir}): the same command again reuses them" if cache_dir is not None
                 else " (--llm-cache off: the same command again asks anew)")
        raise fail(f"interrupted; the finished candidates are in {store.root}/candidates/, the answers received in "
                   f"{store.root}/llm_journal.jsonl{again}", 130) from None

    table = Table(title=f"{len(result.candidates)} candidates for {resolved.key}")
    for column in ("candidate", "status", "attempts", "warnings", "problem / terms"):
        table.add_column(column)
    for candidate in result.candidates:
        check = candidate.check
        detail = candidate.failure_summary() or (", ".join(sorted(check.term_stats)) if check else "")
        if candidate.status == "ok" and candidate.repaired_from():
            detail += " (repaired after: " + candidate.repaired_from()[0] + ")"
        table.add_row(
            candidate.id,
            "[green]ok[/]" if candidate.status == "ok" else f"[red]{candidate.status}[/]",
            str(len(candidate.attempts)),
            str(len(check.warnings)) if check else "-",
            detail[:160],
        )
    from reward_coder.cli.tables import print_table

    print_table(table)  # into a pipe or a file, drawn as wide as its cells: nothing is cut
    reused = f" ({result.reused} answers from the LLM cache)" if result.reused else ""
    console.print(f"written to {store.root}/ (summary.md, candidates/, llm_journal.jsonl); LLM cost ${result.cost_usd:.4f}{reused}")
    if not any(c.status == "ok" for c in result.candidates):
        err_console.print(f"[bold red]no candidate passed the checks[/]; see {store.root}/summary.md for why")
        raise typer.Exit(1)
