"""`reward-coder bench NAME`: a built-in micro-benchmark ('overhead'), or a suite of tasks (a YAML file).

`reward-coder bench overhead` measures the reward path's cost per step. `reward-coder bench SUITE` trains
every task of a suite with the expert, sparse and tested rewards and writes a bench folder; SUITE is a
suite file, the bare name of a packaged suite (`reward-coder bench metaworld-small`), or an existing
bench folder, which resumes it. `reward-coder bench answers JOURNAL.jsonl...` replays the recorded answers of
LLM journals through today's extraction and checks (see reward_coder/bench/answers.py). `reward-coder bench
latent TASK...` trains latent mode against its return-decomposition baselines on episodic tasks (see
reward_coder/bench/latent.py). `reward-coder bench perf` measures what each compute-saving part costs and
saves, each side by side with its baseline (see reward_coder/bench/perf.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from reward_coder.cli.common import WORKERS_MAX, console, err_console, out_target, user_errors
from reward_coder.cli.knobs import AlgoOption, HyperparamsOption
from reward_coder.errors import ConfigError

BUILTIN = ("overhead", "selection", "answers", "latent", "perf")


def _is_suite(name: str) -> bool:
    from reward_coder.bench.suite import SUITES_DIR

    path = Path(name).expanduser()
    return (
        path.is_file()
        or name.endswith((".yaml", ".yml"))
        or (path.is_dir() and (path / "suite.json").is_file())
        or ("/" not in name and (SUITES_DIR / f"{name}.yaml").is_file())
    )


@user_errors
def bench(
    name: Annotated[str, typer.Argument(help=(
        "'overhead' (reward wrapper and sandbox cost per step), a suite file or packaged suite name "
        "(e.g. metaworld-small), a bench folder to resume, or 'selection FOLDER' (replay successive halving on "
        "a finished bench folder with the old and the new ranking), or 'answers JOURNAL.jsonl...' (recorded LLM "
        "answers replayed through today's extraction and checks), or 'latent TASK...' (latent factors vs RRD, "
        "IRCR, episodic-only and dense rewards on episodic tasks), or 'perf' (wrapper, parallel, halving, shared "
        "replay and screening, each against its baseline in one run)."))],
    paths: Annotated[Optional[list[Path]], typer.Argument(help=(
        "selection: the finished bench folder to study; answers: the LLM journals (.jsonl) to replay; latent: "
        "episodic tasks (e.g. halfcheetah/run-forward-episodic hopper/hop-forward-episodic)."))] = None,
    env: Annotated[str, typer.Option(help="overhead: env card to measure on.")] = "halfcheetah",
    n_envs: Annotated[int, typer.Option(min=1, max=256, help="overhead: parallel envs.")] = 8,
    steps: Annotated[int, typer.Option(min=10, help="overhead: vectorized steps per measurement.")] = 2_000,
    train_steps: Annotated[int, typer.Option(min=0, help="overhead: PPO steps per training measurement (0: skip).")] = 0,
    repeats: Annotated[int, typer.Option(min=1, max=20, help="overhead: repetitions.")] = 3,
    out: Annotated[Optional[Path], typer.Option(callback=out_target, help=(
        "overhead: JSON file (default runs/bench__overhead__<time>.json); suite: bench folder "
        "(default runs/bench__<suite>__<time>/; an existing one of the same suite is resumed)."))] = None,
    workers: Annotated[int, typer.Option(min=0, max=WORKERS_MAX, help="suite: training processes in parallel (0: one per core).")] = 0,
    allow_unsandboxed: Annotated[bool, typer.Option(help="suite, answers: run reward code without OS isolation if none is available.")] = False,
    task: Annotated[Optional[str], typer.Option("--task", "-t", help=(
        "answers: check against this task CARD/TASK or card id (default: each journal's own task_key); perf: the "
        "task whose perf-<card>-* stand-ins the parallel and halving sections train (default pendulum/swing-up)."))] = None,
    seeds: Annotated[str, typer.Option(help="latent: training seeds, comma-separated (the same for every method); perf: the halving section's loop seeds.")] = "0,1,2",
    timesteps: Annotated[int, typer.Option(min=100, help="latent: SAC env steps per run (the same for every method).")] = 3_000,
    episode_steps: Annotated[int, typer.Option(min=10, help="latent: steps per episode (the episodic reward comes at its end).")] = 200,
    eval_every: Annotated[int, typer.Option(min=100, help="latent: env steps between evaluations (the learning curve).")] = 1_000,
    eval_episodes: Annotated[int, typer.Option(min=1, max=100, help="latent: episodes per evaluation.")] = 3,
    methods: Annotated[str, typer.Option(help="latent: comma-separated subset of latent,rrd,ircr,episodic,dense.")] = "latent,rrd,ircr,episodic,dense",
    device: Annotated[str, typer.Option(help="latent: torch device of policies and decoders (cpu, cuda, auto).")] = "cpu",
    factors_from: Annotated[Optional[list[Path]], typer.Option(help=(
        "latent: a latent-mode run folder whose chosen factors to use for its task (repeatable; default: the "
        "task's hand-written stand-in factors)."))] = None,
    sections: Annotated[str, typer.Option(help=(
        "perf: comma-separated subset of overhead,parallel,halving,shared_replay,screening."))] = "overhead,parallel,halving,shared_replay,screening",
    quick: Annotated[bool, typer.Option("--quick", help="perf: tiny budgets (a smoke test; its figures mean little).")] = False,
    candidates: Annotated[Optional[str], typer.Option(help=(
        "perf: comma-separated stand-in ids to use instead of the task's default set, extras included (e.g. "
        "1-shaped,5-hanging,6-constant,7-spin,8-still,9-heavy-effort,10-energy,11-damped: one good reward among "
        "eight)."))] = None,
    algo: AlgoOption = None,
    hyperparams: HyperparamsOption = None,
) -> None:
    """Benchmark, comparing against baselines in the same run, and write the figures to files."""
    if (algo is not None or hyperparams is not None) and (name in BUILTIN or not _is_suite(name)):
        raise ConfigError("--algo and --hyperparams apply to a suite (`reward-coder bench SUITE --algo SAC`), "
                          f"not to 'bench {name}'")
    if name == "selection":
        _selection(paths[0] if paths else None)
    elif name == "answers":
        _answers(paths or [], task, out, allow_unsandboxed)
    elif name == "perf":
        _perf(sections, quick, workers, out, task, seeds, candidates)
    elif name == "latent":
        _latent([str(path) for path in paths or []], seeds=seeds, timesteps=timesteps, episode_steps=episode_steps,
                eval_every=eval_every, eval_episodes=eval_episodes, methods=methods, device=device,
                factors_from=factors_from or [], workers=workers, out=out)
    elif name in BUILTIN:
        _overhead(name, env, n_envs, steps, train_steps, repeats, out)
    elif _is_suite(name):
        _suite(name, out, workers, allow_unsandboxed, algo, hyperparams)
    else:
        from reward_coder.bench.suite import packaged_suites

        raise ConfigError(
            f"unknown benchmark '{name}'; use {', '.join(BUILTIN)}, a suite file (.yaml), a bench folder to resume, "
            f"or a packaged suite: {', '.join(packaged_suites())}"
        )


def _suite(name: str, out: Path | None, workers: int, allow_unsandboxed: bool, algo: str | None = None,
           hyperparams: str | None = None) -> None:
    from reward_coder.bench.runner import default_folder, load_bench_folder, run_suite
    from reward_coder.bench.score import FAILURE_LABELS, left_out, markdown_table
    from reward_coder.bench.suite import load_suite

    path = Path(name).expanduser()
    if path.is_dir():
        suite, folder = load_bench_folder(path), path
        if out is not None and out.resolve() != path.resolve():
            raise ConfigError("a bench folder resumes in place; leave out --out")
        if algo is not None or hyperparams is not None:
            raise ConfigError("a bench folder resumes with the algorithm and hyperparameters it started with "
                              "(suite.json); leave out --algo and --hyperparams")
    else:
        suite = _with_knobs(load_suite(name), algo, hyperparams)
        folder = out or default_folder(suite)
    err_console.print(f"bench '{suite.name}': {len(suite.tasks)} tasks x {len(suite.methods)} methods x "
                      f"{len(suite.seeds)} seeds, {suite.total_timesteps:,} steps each -> {folder}", highlight=False)
    started = time.monotonic()
    result = run_suite(suite, folder, workers=workers, allow_unsandboxed=allow_unsandboxed,
                       on_progress=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False))
    console.print(markdown_table(result.summary), highlight=False, markup=False, soft_wrap=True)
    missing = left_out(result.summary)
    if missing:
        counts = ", ".join(f"{count} {FAILURE_LABELS[kind]}" for kind, count in missing.items())
        console.print(f"runs left out of every mean (not counted as 0): {counts}; the table names the reasons",
                      highlight=False, soft_wrap=True)
    console.print(f"{result.trained} runs trained, {result.skipped} already done, {time.monotonic() - started:.0f} s; "
                  f"results in {folder}/results.csv and {folder}/report.html", highlight=False, soft_wrap=True)


def _with_knobs(suite, algo: str | None, hyperparams: str | None):
    """The suite with `--algo` and `--hyperparams` applied (recorded in its suite.json), each task's
    resulting setup checked against SB3 (names, and the action space for --algo) before anything trains."""
    from dataclasses import replace

    from reward_coder.bench.runner import suite_train_settings
    from reward_coder.bench.suite import check_suite_algorithm
    from reward_coder.envs import resolve_task
    from reward_coder.hyperparams import parse_algorithm, parse_hyperparameters
    from reward_coder.train.knobs import check_hyperparameters

    if algo is None and hyperparams is None:
        return suite
    algorithm, overrides = parse_algorithm(algo), parse_hyperparameters(hyperparams)
    suite = replace(suite, algorithm=algorithm or suite.algorithm, hyperparameter_overrides=overrides or None)
    check_suite_algorithm(suite.algorithm, suite.tasks, lambda problem: ConfigError(f"--algo {suite.algorithm}: {problem}"))
    for task in suite.tasks:
        card, _spec = resolve_task(task)
        chosen, hyperparameters = suite_train_settings(suite, card)
        check_hyperparameters(chosen, hyperparameters, f"bench task '{task}' (train: {chosen}, with --algo/--hyperparams)")
    return suite


def _answers(journals: list[Path], task: str | None, out: Path | None, allow_unsandboxed: bool) -> None:
    from reward_coder.bench.answers import bench_answers, markdown_table
    from reward_coder.store import RunStore

    if not journals:
        raise ConfigError("usage: reward-coder bench answers JOURNAL.jsonl... (LLM journals of runs, e.g. "
                          "tests/fixtures/realmodel/*.jsonl)")
    missing = [str(path) for path in journals if not path.is_file()]
    if missing:
        raise ConfigError(f"no such journal: {', '.join(missing)}")
    out = out or Path("runs") / f"bench__answers__{time.strftime('%Y%m%d-%H%M%S')}.json"
    store = RunStore.create(out.parent)
    result = bench_answers(journals, task_key=task, allow_unsandboxed=allow_unsandboxed,
                           on_progress=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False))
    result["command"] = "reward-coder bench answers " + " ".join(map(str, journals)) + (f" --task {task}" if task else "")
    store.write_text(out.name, json.dumps(result, indent=2) + "\n")
    console.print(markdown_table(result), highlight=False, markup=False, soft_wrap=True)
    if not result["direction_check_present"]:
        console.print("this code has no reward-direction check: the 'direction flagged' column says so", highlight=False)
    console.print(f"{result['distinct_codes_checked']} distinct codes checked in {result['seconds']:.0f} s; "
                  f"figures written to {out}", highlight=False)


def _int_list(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{option} takes comma-separated integers, e.g. {option} 0,1,2; got '{text}'") from None
    if not values or any(value < 0 for value in values) or len(set(values)) != len(values):
        raise ConfigError(f"{option} needs one or more distinct non-negative integers; got '{text}'")
    return values


def _latent(tasks: list[str], *, seeds: str, timesteps: int, episode_steps: int, eval_every: int, eval_episodes: int,
            methods: str, device: str, factors_from: list[Path], workers: int, out: Path | None) -> None:
    from reward_coder.bench.latent import LatentBench, run_latent_bench
    from reward_coder.latent.episodic import is_episodic_task
    from reward_coder.latent.train import METHODS
    from reward_coder.tasks import resolve_task

    if not tasks:
        raise ConfigError("usage: reward-coder bench latent TASK... (episodic tasks, e.g. "
                          "halfcheetah/run-forward-episodic hopper/hop-forward-episodic)")
    for key in tasks:
        task = resolve_task(key, None, None)
        if not is_episodic_task(key):
            raise ConfigError(f"bench latent compares rewards on episodic tasks (reward only at the episode's end); "
                              f"'{key}' is not one: use a task whose name ends in -episodic, e.g. "
                              f"halfcheetah/run-forward-episodic (`reward-coder envs {task.card.id}` lists them)")
    chosen = tuple(part.strip() for part in methods.split(",") if part.strip())
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise ConfigError(f"--methods: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(METHODS)}")
    for folder in factors_from:
        if not (folder / "latent" / "design.json").is_file():
            raise ConfigError(f"--factors-from {folder}: not a latent-mode run folder (no latent/design.json)")
    bench = LatentBench(tasks=tuple(tasks), methods=chosen, seeds=_int_list(seeds, "--seeds"),
                        total_timesteps=timesteps, episode_steps=episode_steps, eval_every=min(eval_every, timesteps),
                        eval_episodes=eval_episodes, device=device)
    folder = out or Path("runs") / f"bench__latent__{time.strftime('%Y%m%d-%H%M%S')}"
    runs = len(bench.tasks) * len(bench.methods) * len(bench.seeds)
    err_console.print(f"bench latent: {len(bench.tasks)} tasks x {len(bench.methods)} methods x {len(bench.seeds)} "
                      f"seeds = {runs} SAC runs of {timesteps:,} steps -> {folder}", highlight=False)
    started = time.monotonic()
    run_latent_bench(bench, folder, workers=workers or 1, factors_from=factors_from,
                     on_progress=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False))
    console.print((folder / "results.md").read_text(), highlight=False, markup=False, soft_wrap=True)
    console.print(f"{runs} runs in {time.monotonic() - started:.0f} s; figures in {folder}/results.md, results.json "
                  f"and curves-*.png", highlight=False)


def _perf(sections: str, quick: bool, workers: int, out: Path | None, task: str | None, seeds: str,
          candidates: str | None = None) -> None:
    from reward_coder.bench.perf import SECTIONS, PerfSettings, chosen_candidates, for_task, headline, run_perf

    chosen = tuple(part.strip() for part in sections.split(",") if part.strip())
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown or not chosen:
        raise ConfigError(f"--sections: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(SECTIONS)}")
    settings = (PerfSettings.quick if quick else PerfSettings)(sections=chosen, workers=workers or 2)
    if not quick:
        settings = replace(settings, loop_seeds=_int_list(seeds, "--seeds"))
    if candidates is not None:
        settings = replace(settings, candidate_ids=tuple(part.strip() for part in candidates.split(",") if part.strip()))
    try:
        settings = for_task(settings, task, keep_budget=quick) if task is not None else settings
        chosen_candidates(settings)  # an unknown --candidates id: an error now, before anything trains
    except (ValueError, FileNotFoundError) as err:
        raise ConfigError(f"bench perf{f' --task {task}' if task else ''}: {err}") from None
    folder = out or Path("runs") / f"bench__perf__{time.strftime('%Y%m%d-%H%M%S')}"
    err_console.print(f"bench perf: {', '.join(chosen)}{' (quick)' if quick else ''} -> {folder}", highlight=False)
    result = run_perf(settings, folder, on_progress=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False))
    table = Table(title="bench perf: each row's baseline and ours measured in this run")
    for column in ("comparison", "measured", "target", "met"):
        table.add_column(column, overflow="fold")
    for row in headline(result):
        table.add_row(*row)
    console.print(table)
    console.print(f"figures written to {folder}/perf.json and {folder}/perf.html", highlight=False)


def _selection(folder: Path | None) -> None:
    from reward_coder.bench.selection_study import markdown, study_folder

    if folder is None:
        raise ConfigError("usage: reward-coder bench selection BENCH_FOLDER (a finished run of a suite such as "
                          "selection-study)")
    result = study_folder(folder)
    console.print(markdown(result), highlight=False, markup=False, soft_wrap=True)
    console.print(f"written to {folder}/selection_study.json and selection_study.md", highlight=False)


def _overhead(name: str, env: str, n_envs: int, steps: int, train_steps: int, repeats: int, out: Path | None) -> None:
    from reward_coder.store import RunStore
    from reward_coder.train.bench import overhead_benchmark

    out = out or Path("runs") / f"bench__{name}__{time.strftime('%Y%m%d-%H%M%S')}.json"
    store = RunStore.create(out.parent)
    result = overhead_benchmark(env=env, n_envs=n_envs, steps=steps, repeats=repeats, train_steps=train_steps,
                                on_progress=lambda m: err_console.print(f"[dim]{m}[/]", highlight=False))
    result["command"] = (f"reward-coder bench {name} --env {env} --n-envs {n_envs} --steps {steps} "
                         f"--train-steps {train_steps} --repeats {repeats}")
    store.write_text(out.name, json.dumps(result, indent=2) + "\n")
    for section in ("stepping", "training"):
        if not result[section]:
            continue
        table = Table(title=f"{section}: {result['env']}, {n_envs} envs, isolation {result['isolation']}")
        for column in ("variant", "steps/s median", "best", "slower by (median)", "slower by (best)"):
            table.add_column(column)
        for row in result[section]:
            table.add_row(row["variant"], f"{row['steps_per_s_median']:,.0f}", f"{row['steps_per_s_best']:,.0f}",
                          f"{row['slowdown_pct']:.1f}%", f"{row['slowdown_pct_best']:.1f}%")
        console.print(table)
    console.print(f"sandbox worker start + first call: {result['sandbox_worker_startup_ms_median']:.1f} ms (median)")
    console.print(f"figures written to {out}")
