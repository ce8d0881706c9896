"""`reward-coder run | resume | refine | demo`: the full design-train-analyze loop."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from reward_coder.cli.common import console, err_console, fail, user_errors
from reward_coder.cli.common import MaxTokensOption, RetriesOption, SplitSamplesOption, TimeoutOption, llm_settings
from reward_coder.cli.common import AllowUnpricedOption, PriceOption, check_llm, pricing_settings
from reward_coder.cli.common import SEED_MAX, WORKERS_MAX, finite, finite_positive, gpu_share, http_url, http_url_or_empty
from reward_coder.cli.common import out_folder
from reward_coder.cli.knobs import AlgoOption, HyperparamsOption, knob_settings
from reward_coder.cli.progress import ProgressPrinter
from reward_coder.config import RunConfig
from reward_coder.errors import ConfigError
from reward_coder.store import RunStore, make_run_id
from reward_coder.textfile import check_text_length

DEMO_TASK = "pendulum/swing-up"
RayStorageOption = Annotated[Optional[str], typer.Option("--ray-storage", help=(
    "Ray: a folder every node and the driver mount (NFS) or an fsspec URL (s3://bucket/prefix, needs s3fs) "
    "through which the jobs' checkpoints, curves and TensorBoard files travel (default: through Ray itself)."))]
NOTHING_TRAINED_EXIT_CODE = 4
"""`run`, `resume`, `refine` and `demo` exit with this when no candidate of the whole run trained."""


def _services(config: RunConfig, store: RunStore, printer: ProgressPrinter, executor: str, address: str | None,
              interactive: bool, storage: str | None = None):
    from reward_coder.llm import JournalingCompleter, journaled_answers, make_completer
    from reward_coder.llm.journal import journaled_cost
    from reward_coder.loop import BudgetedCompleter, LoopServices
    from reward_coder.train.executor import make_executor

    journal = JournalingCompleter(
        make_completer(config.model, api_base=config.api_base, cache_dir=store.path("llm_cache"),
                       max_retries=config.llm_retries, timeout_s=config.llm_timeout_s,
                       max_tokens=config.llm_max_tokens, split_samples=config.llm_split_samples,
                       on_retry=lambda note: printer("llm_retry", **note),
                       price_per_1k_tokens=config.llm_price_per_1k_tokens, allow_unpriced=config.llm_allow_unpriced),
        sink=lambda record: store.append_jsonl("llm_journal.jsonl", record),
        # a resume redoes the phase it was killed in: answers already journaled are not journaled twice
        journaled=journaled_answers(store.path("llm_journal.jsonl")),
    )
    before = journaled_cost(store.path("llm_journal.jsonl"))
    completer = BudgetedCompleter(journal, config.max_cost_usd, spent_before=before.spent_usd,
                                  largest_call_before=before.largest_usd)
    return LoopServices(
        completer=completer, executor=make_executor(executor, config.workers, address, storage=storage), store=store,
        on_event=printer, ask_feedback=_ask_feedback if interactive else None,
    ), journal


def _check_storage_option(kind: str, storage: str | None) -> str | None:
    """The --ray-storage given, or None; a local path made absolute (a resume may start elsewhere)."""
    storage = storage.strip() or None if storage is not None else None
    if storage and kind != "ray":
        raise ConfigError(f"--ray-storage applies to --executor ray, not {kind}")
    if storage and "://" not in storage:
        storage = str(Path(storage).expanduser().resolve())
    return storage


def _ask_feedback(summary: dict[str, Any]) -> str | None:
    err_console.print(f"\niteration {summary['iteration']}: best {summary.get('best_candidate')} "
                      f"(success {summary.get('best_success_rate')})")
    return typer.prompt("feedback for the next iteration (empty to go on)", default="", show_default=False)


def _command() -> str:
    """What the lock file says holds a run folder: 'reward-coder run', 'reward-coder resume', ..."""
    return " ".join(["reward-coder", *sys.argv[1:2]])


def _check_executor(executor: str) -> str:
    from reward_coder.store import EXECUTORS

    kind = executor.strip().lower()
    if kind not in EXECUTORS:
        raise ConfigError(f"unknown executor '{executor}'; use local, inline or ray")
    return kind


def _continued_executor(store: RunStore, executor: str | None, address: str | None, command: str,
                        storage: str | None = None) -> tuple[str, str | None, str | None]:
    """The executor, address and Ray storage location a continued run trains with: those it was started with
    (executor.json; local for a run of an older version), unless --executor/--address/--ray-storage override
    them (recorded; an empty --address or --ray-storage clears it)."""
    stored_kind, stored_address, stored_storage = store.read_executor()
    if executor is None and address is None and storage is None:
        return stored_kind, stored_address, stored_storage
    kind = _check_executor(executor) if executor is not None else stored_kind
    # the run's address and storage go on with the run's executor, not with another one
    if address is None:
        address = stored_address if kind == stored_kind else None
    if storage is None:
        storage = stored_storage if kind == stored_kind else None
    address = address.strip() or None if address is not None else None
    storage = _check_storage_option(kind, storage)
    if (kind, address, storage) != (stored_kind, stored_address, stored_storage):
        store.write_executor(kind, address, command=command, storage=storage,
                             note=f"overrides {stored_kind}" + (f" at {stored_address}" if stored_address else "")
                             + (f" with storage {stored_storage}" if stored_storage else ""))
    return kind, address, storage


def _execute(config: RunConfig, store: RunStore, task, *, progress: str, executor: str, address: str | None,
             interactive: bool, preflighted: bool = False, storage: str | None = None) -> None:
    store.acquire(_command())
    try:
        _execute_locked(config, store, task, progress=progress, executor=executor, address=address,
                        interactive=interactive, preflighted=preflighted, storage=storage)
    finally:
        store.release()


def _preflight(config: RunConfig, task, folder: Path) -> None:
    """Build the training setup once (device, algorithm, hyperparameters, env, disk) before any LLM call."""
    from reward_coder.loop import candidate_job
    from reward_coder.train.preflight import preflight_job

    job = candidate_job(config, task, "preflight", "", folder, config.seed)
    given = ", with --algo/--hyperparams" if config.algorithm or config.hyperparameters else ""
    preflight_job(job, folder, source=f"card '{task.card.id}' (train: {job.algorithm}{given})")


def _execute_locked(config: RunConfig, store: RunStore, task, *, progress: str, executor: str,
                    address: str | None, interactive: bool, preflighted: bool = False,
                    storage: str | None = None) -> None:
    from reward_coder.generate import make_checker
    from reward_coder.loop import run_loop, start_run

    if config.mode == "latent":
        _execute_latent(config, store, task, progress=progress)
        return
    if not preflighted:
        _preflight(config, task, store.root)
    printer = ProgressPrinter(progress, config.model, run_dir=store.root)
    services, journal = _services(config, store, printer, executor, address, interactive, storage)
    try:
        checker = make_checker(task, config, printer)
        if not store.exists("task.json"):
            task = start_run(config, task, store, services.completer, printer)
        err_console.print(f"run folder: {store.root}", highlight=False)
        state = run_loop(config, task, services, checker)
    finally:
        services.executor.close()
        printer.close()
    trained = _print_result(store, state, journal.total_cost_usd)
    if not trained:
        raise fail("no candidate was trained in this run: each failed before or during training, for the reasons "
                   f"in the table above; see {store.root}/iterations/*/analysis.md", NOTHING_TRAINED_EXIT_CODE)


def _execute_latent(config: RunConfig, store: RunStore, task, *, progress: str) -> None:
    """Latent mode (LaRe): factor design and verification, then SAC on the decoded reward, trained inline."""
    from reward_coder.loop import run_latent_mode, start_run

    printer = ProgressPrinter(progress, config.model, run_dir=store.root)
    services, journal = _services(config, store, printer, "inline", None, False)
    try:
        if not store.exists("task.json"):
            task = start_run(config, task, store, services.completer, printer)
        err_console.print(f"run folder: {store.root}", highlight=False)
        summary = run_latent_mode(config, task, services)
    finally:
        services.executor.close()
        printer.close()
    if summary["status"] == "no_factors":
        raise fail(f"no factor function passed the checks ({summary['note']}); see {store.root}/latent/samples/",
                   NOTHING_TRAINED_EXIT_CODE)
    factors = ", ".join(f["name"] for f in summary["factors"])
    console.print(f"latent factors ({summary['chosen']}): {factors}", highlight=False)
    console.print(f"  {summary['note']}", highlight=False)
    shares = (summary.get("attributions") or {}).get("shares") or {}
    if shares:
        console.print("  decoder attributions: " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                           sorted(shares.items(), key=lambda kv: -kv[1])),
                      highlight=False)
    outcome = summary["outcome"]
    if summary["status"] == "ok":
        record = outcome.get("eval") or {}
        console.print(f"training: {outcome['timesteps']} steps; final evaluation: success rate "
                      f"{record.get('success_rate', 0.0):.2f}, native return {record.get('native_return_mean', 0.0):.1f}",
                      highlight=False)
    else:
        console.print(f"training {summary['status']}: {summary['failure']}", highlight=False)
    console.print(f"LLM cost: {describe_cost(store, journal.total_cost_usd)}; everything is in {store.root}/",
                  highlight=False)
    if summary["status"] != "ok":
        raise fail("latent-mode training did not finish; see the line above", NOTHING_TRAINED_EXIT_CODE)


def describe_best(best: dict[str, Any]) -> str:
    """The best reward's figure and what stands behind it: fresh-seed finals when they ran."""
    from reward_coder.stats import SeedStats

    final = best.get("final")
    if not final:
        return (f"success rate {best['success_rate']:.2f} on its selection run (1 seed; no finals were run, "
                "so this is the figure it was chosen by)")
    stats = SeedStats(**final["held_out"]["success_rate"])
    text = (f"success rate {stats.describe()} over {final['ok_seeds']} fresh training seeds x "
            f"{final['episodes_per_seed']} held-out evaluation episodes each")
    if final.get("failed"):
        text += f"; {len(final['failed'])} seed(s) did not finish: " + "; ".join(final["failed"].values())[:200]
    return text


def candidate_note(c: dict[str, Any], best_candidate: str | None) -> str:
    """The final table's note on one candidate: why it did not train (the stated error), or how it fared,
    and its attempt count when it was repaired (a repair that repeated its code counted as unchanged)."""
    trained = c.get("training") == "ok"
    repaired = bool(c.get("repaired_from"))
    attempts = (c.get("attempts_text") or f"{c.get('attempts', 1)} attempts") + "; " if repaired else ""
    if not trained:
        reason = c.get("not_trained_because") or c["failure"] or f"training {c.get('training') or 'not run'}"
        return (attempts + reason)[:160]
    note = f"pruned at rung {c['pruned_at_rung']}" if c["pruned_at_rung"] is not None else ""
    if c.get("same_as"):
        note = f"same code as {c['same_as']}, trained once"
    elif repaired:
        note = (note + "; " if note else "") + f"{attempts}repaired after: " + c["repaired_from"][0]
    if c["id"] == best_candidate:
        note = "best of iteration " + note
    return note[:160]


def describe_cost(store: RunStore, session_cost: float) -> str:
    """This session's and the whole run's LLM cost, and how many answers had no known price."""
    from reward_coder.llm.journal import journaled_cost

    total, unknown, _ = journaled_cost(store.path("llm_journal.jsonl"))
    text = f"${session_cost:.4f} this session, ${total:.4f} for the whole run"
    if unknown:
        text += f" (plus {unknown} answer(s) of a model with no known price: the true cost is unknown)"
    return text


def _print_result(store: RunStore, state: dict[str, Any], cost: float) -> bool:
    """Print the table of every candidate of the run; return whether any candidate trained."""
    table = Table(title=f"run {store.root.name}")
    for column in ("iteration", "candidate", "status", "training", "success", "note"):
        table.add_column(column)
    trained = False
    for iteration in range(state.get("iterations_done", 0)):
        summary = store.read_json(f"iterations/{iteration}/summary.json")
        for c in summary["candidates"]:
            trained = trained or c.get("training") == "ok"
            # a candidate that did not train has no success rate (its outcome says 0.0): '-', and the note says why
            success = f"{c['success_rate']:.2f}" if c["success_rate"] is not None and c.get("training") == "ok" else "-"
            table.add_row(str(iteration), c["id"], c["status"], c["training"] or "-", success,
                          candidate_note(c, summary["best_candidate"]))
    from reward_coder.cli.tables import print_table

    print_table(table)  # into a pipe or a file, drawn as wide as its cells: no note is cut
    best = state.get("best")
    if best:
        console.print(f"best reward: {best['candidate']} (iteration {best['iteration']}) -> {store.root / 'best.py'}")
        console.print("  " + describe_best(best), highlight=False)
    else:
        console.print("no candidate was trained successfully; the note of each says why")
    console.print(f"LLM cost: {describe_cost(store, cost)}; everything is in {store.root}/", highlight=False)
    return trained


@user_errors
def run(
    instruction: Annotated[Optional[str], typer.Argument(help="The task in words.")] = None,
    env: Annotated[Optional[str], typer.Option("--env", "-e", help="Env card id or gymnasium id.")] = None,
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="Named task CARD/TASK (see `reward-coder envs`).")] = None,
    model: Annotated[str, typer.Option("--model", "-m", help="litellm model string or replay:PATH.")] = "gpt-4o",
    samples: Annotated[int, typer.Option("-k", "--samples", min=1, max=64, help="Candidates per iteration.")] = 4,
    iterations: Annotated[int, typer.Option("--iterations", "-n", min=1, max=50)] = 2,
    timesteps: Annotated[Optional[int], typer.Option(min=1_000, help="Training steps per candidate (default: the task's).")] = None,
    eval_episodes: Annotated[Optional[int], typer.Option(min=1, help="Evaluation episodes per candidate and rung (default: the card's, 10).")] = None,
    finalists: Annotated[int, typer.Option(min=0, max=16, help="Best rewards retrained on fresh seeds at the end (0: none).")] = 2,
    final_seeds: Annotated[int, typer.Option(min=0, max=32, help="Fresh training seeds per finalist; best.json reports their mean, std and 95% interval.")] = 3,
    no_critic: Annotated[bool, typer.Option("--no-critic", help="Skip the critic review.")] = False,
    no_example: Annotated[bool, typer.Option("--no-example", help="Leave out the few-shot example (a complete reward for another env of the same family) from the designer prompt.")] = False,
    llm_analysis: Annotated[bool, typer.Option("--llm-analysis", help="Also have the LLM diagnose each trained policy from the measurements.")] = False,
    interactive: Annotated[bool, typer.Option("--interactive", help="Ask for feedback after each iteration.")] = False,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", callback=finite_positive, help="Stop cleanly before LLM spending passes this (USD).")] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    workers: Annotated[int, typer.Option(min=0, max=WORKERS_MAX, help="Candidates trained side by side (0: one per core).")] = 0,
    executor: Annotated[str, typer.Option(help="local (process pool), inline, or ray.")] = "local",
    address: Annotated[Optional[str], typer.Option(help="Ray cluster address for --executor ray.")] = None,
    ray_storage: RayStorageOption = None,
    gpus_per_job: Annotated[Optional[float], typer.Option("--gpus-per-job", callback=gpu_share, help="Ray: share of a GPU each candidate training on CUDA asks for (default 0.25: four share a card; 1 or more: whole GPUs).")] = None,
    seed: Annotated[int, typer.Option(min=0, max=SEED_MAX)] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", callback=out_folder, help="Run folder (default runs/<run-id>).")] = None,
    api_base: Annotated[Optional[str], typer.Option(callback=http_url, help="OpenAI-compatible base URL.")] = None,
    retries: RetriesOption = 8,
    max_tokens: MaxTokensOption = None,
    split_samples: SplitSamplesOption = None,
    timeout: TimeoutOption = 120.0,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0, help="Sampling temperature of the designer (diversity between the K candidates).")] = 1.0,
    price_per_1k_tokens: PriceOption = None,
    allow_unpriced: AllowUnpricedOption = False,
    progress: Annotated[str, typer.Option(help="text, quiet or json (JSON lines on stdout).")] = "text",
    allow_unsandboxed: Annotated[bool, typer.Option("--allow-unsandboxed")] = False,
    strict_direction: Annotated[bool, typer.Option("--strict-direction", help="Do not train a candidate that prefers the card's known-bad reference states (else a warning).")] = False,
    screen: Annotated[bool, typer.Option("--screen/--no-screen", help="Screen new candidates on earlier iterations' episodes of known outcome and do not train one that ranks failed episodes above successful ones; --no-screen still reports the verdict but trains them all.")] = True,
    algo: AlgoOption = None,
    hyperparams: HyperparamsOption = None,
    mode: Annotated[str, typer.Option("--mode", help="reward (design reward functions) or latent (LaRe: LLM-written latent factors, a decoder trained on the episodic return, SAC).")] = "reward",
    episode_steps: Annotated[Optional[int], typer.Option("--episode-steps", min=10, help="Latent mode: episode length for training and evaluation (default: the card's).")] = None,
    shared_replay: Annotated[bool, typer.Option("--shared-replay", help="SAC/TD3/DDPG: train an iteration's candidates from one shared replay buffer, each transition scored by every candidate (about 1/K of the env steps; replaces successive halving).")] = False,
) -> None:
    """Design, check, critique, train, evaluate and refine reward functions for a task."""
    from reward_coder.tasks import resolve_task

    if progress not in ("text", "quiet", "json"):
        raise ConfigError(f"--progress must be text, quiet or json, not '{progress}'")
    if mode not in ("reward", "latent"):
        raise ConfigError(f"--mode must be reward or latent, not '{mode}'")
    if episode_steps is not None and mode != "latent":
        raise ConfigError("--episode-steps applies to --mode latent only")
    resolved = resolve_task(task, instruction, env)
    config = RunConfig(
        instruction=resolved.instruction, env=resolved.card.id, task=resolved.key if resolved.named else "",
        model=model, api_base=api_base, samples=samples, iterations=iterations, critic=not no_critic,
        llm_analysis=llm_analysis,
        seed=seed, total_timesteps=timesteps, eval_episodes=eval_episodes, device=device, workers=workers,
        max_cost_usd=max_cost, allow_unsandboxed=allow_unsandboxed, llm_retries=retries,
        **llm_settings(model, api_base, max_tokens, split_samples, timeout),
        **pricing_settings(price_per_1k_tokens, allow_unpriced), temperature=temperature, few_shot=not no_example,
        finalists=finalists, final_seeds=final_seeds, strict_direction=strict_direction, screen=screen,
        **knob_settings(algo, hyperparams), mode=mode, episode_steps=episode_steps,
        shared_replay=shared_replay, gpus_per_job=gpus_per_job,
    )
    folder = out or Path("runs") / make_run_id(resolved.card.id, resolved.key.split("/")[-1], seed)
    executor = _check_executor(executor)
    ray_storage = _check_storage_option(executor, ray_storage)
    check_llm(config)
    if mode != "latent":  # latent mode trains SAC with a decoder, not the card's setup that preflight builds
        _preflight(config, resolved, folder)  # before the folder exists: a setup that cannot train leaves nothing
    store = RunStore.create(folder)
    if store.exists("state.json"):
        raise ConfigError(f"'{store.root}' already holds a run; use `reward-coder resume {store.root}` or another --out")
    store.acquire(_command())  # the folder's one writer before it records anything (_execute keeps the lock)
    store.write_executor(executor, address, command="run", storage=ray_storage)  # resume and refine keep them
    _execute(config, store, resolved, progress=progress, executor=executor, address=address, interactive=interactive,
             preflighted=True, storage=ray_storage)


def _open_run(run_dir: Path) -> tuple[RunStore, RunConfig]:
    store = RunStore(run_dir)
    if not store.exists("config.json"):
        raise ConfigError(f"'{run_dir}' is not a run folder (no config.json); list runs with `ls runs/`")
    store.acquire(_command())
    data = store.read_json("config.json")
    try:
        return store, RunConfig.from_dict(data)
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(f"'{run_dir}/config.json' is not a run configuration this version can read; "
                          "was it edited by hand?") from None


def _task_of(store: RunStore, config: RunConfig):
    """The task a run started with: task.json keeps a proposed or file-given metric as it was."""
    from reward_coder.tasks import resolve_task, task_from_record

    if store.exists("task.json"):
        record = store.read_json("task.json")
        try:
            return task_from_record(record)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ConfigError(f"'{store.root}/task.json' is not a task record this version can read; "
                              "was it edited by hand?") from None
    return resolve_task(config.task or None, config.instruction, config.env)


NewModelOption = Annotated[Optional[str], typer.Option("--model", "-m", help="Continue with another model (default: the run's).")]
NewApiBaseOption = Annotated[Optional[str], typer.Option("--api-base", callback=http_url_or_empty, help="Continue against another endpoint (default: the run's).")]
NewRetriesOption = Annotated[Optional[int], typer.Option("--retries", min=0, max=20, help="New LLM retry limit (default: the run's).")]
NewTimeoutOption = Annotated[Optional[float], typer.Option("--timeout", min=1.0, callback=finite, help="New LLM call timeout in seconds (default: the run's).")]
NewAllowUnpricedOption = Annotated[Optional[bool], typer.Option("--allow-unpriced/--no-allow-unpriced", show_default=False, help="Change whether a model with no known price may run (default: the run's).")]


def _with_llm_changes(config: RunConfig, model: str | None, api_base: str | None, retries: int | None,
                      timeout: float | None, price: str | None = None, allow_unpriced: bool | None = None) -> RunConfig:
    """The run's config with the LLM settings given to `resume`/`refine`; the rest stays as it was.

    The changed settings are checked now (unknown model, missing key, no price), and the split-samples
    choice is made again for a new endpoint, as `run` would make it.
    """
    from reward_coder.llm import split_samples_by_default

    changes: dict[str, Any] = {}
    if model is not None:
        changes["model"] = model.strip()
    if api_base is not None:
        changes["api_base"] = api_base.strip() or None
    if changes:
        new_model, new_base = changes.get("model", config.model), changes.get("api_base", config.api_base)
        changes["llm_split_samples"] = split_samples_by_default(new_model, new_base)
    if retries is not None:
        changes["llm_retries"] = retries
    if timeout is not None:
        changes["llm_timeout_s"] = float(timeout)
    if price is not None:
        changes["llm_price_per_1k_tokens"] = pricing_settings(price, False)["llm_price_per_1k_tokens"]
    if allow_unpriced is not None:
        changes["llm_allow_unpriced"] = allow_unpriced
    if not changes:
        return config
    changed = config.with_changes(**changes)
    check_llm(changed)
    return changed


ContinueExecutorOption = Annotated[Optional[str], typer.Option(help="local, inline or ray (default: the one the run was started with; a new one is recorded in executor.json).")]
ContinueStorageOption = Annotated[Optional[str], typer.Option("--ray-storage", help="Ray: storage location for the jobs' files (default: the run's, when the executor stays the same; '' for none).")]
ContinueAddressOption = Annotated[Optional[str], typer.Option(help="Ray cluster address (default: the run's, when the executor stays the same).")]


@user_errors
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run folder, runs/<run-id>.")],
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", callback=finite_positive, help="New LLM spending limit (USD).")] = None,
    model: NewModelOption = None,
    api_base: NewApiBaseOption = None,
    retries: NewRetriesOption = None,
    timeout: NewTimeoutOption = None,
    price_per_1k_tokens: PriceOption = None,
    allow_unpriced: NewAllowUnpricedOption = None,
    progress: Annotated[str, typer.Option()] = "text",
    executor: ContinueExecutorOption = None,
    address: ContinueAddressOption = None,
    ray_storage: ContinueStorageOption = None,
) -> None:
    """Continue a run after a crash, Ctrl-C or a spent budget, without redoing finished work.

    --model, --api-base, --retries and --timeout change how the rest of the run asks the LLM (an endpoint
    that moved, a flaky server); config.json records the new settings.
    """
    store, config = _open_run(run_dir)
    changed = _with_llm_changes(config, model, api_base, retries, timeout, price_per_1k_tokens, allow_unpriced)
    if max_cost is not None:
        changed = changed.with_changes(max_cost_usd=max_cost)
    if changed != config:
        config = changed
        store.write_json("config.json", config)
    executor, address, storage = _continued_executor(store, executor, address, "resume", ray_storage)
    _execute(config, store, _task_of(store, config), progress=progress, executor=executor, address=address,
             interactive=False, storage=storage)


@user_errors
def refine(
    run_dir: Annotated[Path, typer.Argument(help="The run folder, runs/<run-id>.")],
    feedback: Annotated[str, typer.Option("--feedback", "-f", help="What to change, in your words.")],
    model: NewModelOption = None,
    api_base: NewApiBaseOption = None,
    retries: NewRetriesOption = None,
    timeout: NewTimeoutOption = None,
    price_per_1k_tokens: PriceOption = None,
    allow_unpriced: NewAllowUnpricedOption = None,
    progress: Annotated[str, typer.Option()] = "text",
    executor: ContinueExecutorOption = None,
    address: ContinueAddressOption = None,
    ray_storage: ContinueStorageOption = None,
) -> None:
    """Run one more iteration with your feedback in the designer prompt (human in the loop)."""
    if not feedback.strip():
        raise ConfigError("--feedback is empty; say what the policy should do differently")
    check_text_length(feedback, "--feedback")
    store, config = _open_run(run_dir)
    state = store.read_json("state.json") if store.exists("state.json") else {"iterations_done": 0}
    try:
        next_iteration = int(state.get("iterations_done", 0))
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(f"'{run_dir}/state.json' is not a run state this version can read; "
                          "was it edited by hand?") from None
    if next_iteration < config.iterations:
        raise ConfigError(f"the run has not finished its {config.iterations} iterations; `reward-coder resume {run_dir}` first")
    config = _with_llm_changes(config, model, api_base, retries, timeout, price_per_1k_tokens,
                               allow_unpriced).with_changes(iterations=next_iteration + 1)
    store.write_text(f"iterations/{next_iteration}/feedback.txt", feedback.strip() + "\n")
    store.write_json("config.json", config)
    executor, address, storage = _continued_executor(store, executor, address, "refine", ray_storage)
    _execute(config, store, _task_of(store, config), progress=progress, executor=executor, address=address,
             interactive=False, storage=storage)


@user_errors
def demo(
    out: Annotated[Optional[Path], typer.Option("--out", "-o", callback=out_folder, help="Run folder (default runs/demo__<time>).")] = None,
    timesteps: Annotated[int, typer.Option(min=1_000, help="Training steps per candidate.")] = 40_000,
    final_seeds: Annotated[int, typer.Option(min=0, max=32, help="Fresh training seeds of the winner's final (0: none).")] = 3,
    progress: Annotated[str, typer.Option()] = "text",
) -> None:
    """The whole loop offline on Pendulum, replaying hand-written stand-in LLM responses (no key needed)."""
    from reward_coder.tasks import resolve_task

    resolved = resolve_task(DEMO_TASK, None, None)
    err_console.print(
        "[bold]demo[/]: the LLM answers are hand-written stand-ins replayed from the package "
        "(reward_coder/standins/), not a real model's output; training and evaluation are real.",
        highlight=False,
    )
    config = RunConfig(
        instruction=resolved.instruction, env=resolved.card.id, task=resolved.key, model="replay:standins",
        samples=3, iterations=2, critic=True, seed=0, total_timesteps=timesteps, eval_episodes=10, workers=2,
        finalists=1, final_seeds=final_seeds,
    )
    folder = out or Path("runs") / ("demo__" + make_run_id(resolved.card.id, "swing-up", 0))
    _preflight(config, resolved, folder)
    store = RunStore.create(folder)
    store.write_executor("local", None, command="demo")
    _execute(config, store, resolved, progress=progress, executor="local", address=None, interactive=False,
             preflighted=True)
