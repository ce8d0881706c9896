"""Run a suite: plan its training jobs, check the rewards under test, train in parallel, resume, write results.

A bench folder (default runs/bench__<suite>__<time>/) holds:

| path | what |
|---|---|
| `suite.yaml`, `suite.json` | the suite as written, and as resolved (reward code included): resume reads suite.json |
| `rewards/<task>__<method>.py` | the code each reward under test trains with (foreign code converted) |
| `checks/<task>__<method>.json` | the sandboxed check of each reward under test on real transitions |
| `jobs/<job>/` | one training run: checkpoint (`model.zip`) and learning curve (`curve.json`) |
| `outcomes/<job>.json` | the finished run's TrainOutcome; its presence marks the job done for resume |
| `results.json`, `results.csv`, `jobs.csv` | per task and method over seeds, and per run |
| `report.html` | the same, with learning curves, in one self-contained page |

Every job goes through `reward_coder.train.sb3.train_candidate` on an executor (a local process pool by
default): reward_kind 'native' for the expert, 'sparse' with `success.sparse_reward_code` for the
sparse baseline, 'code' for rewards under test, all with the same algorithm, budget and seeds.
"""

from __future__ import annotations

import dataclasses

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reward_coder.bench.score import BenchSummary, JobResult, jobs_csv, markdown_table, summarize, summary_csv
from reward_coder.bench.suite import EXPERT, SPARSE, Suite
from reward_coder.errors import ConfigError
from reward_coder.store import RunStore
from reward_coder.outcomes import TrainOutcome, outcome_from_dict, outcome_to_dict
from reward_coder.train.sb3 import TrainJob, train_candidate

TrainFn = Callable[[TrainJob], TrainOutcome]
Progress = Callable[[str], None]

RETRIED = ("crashed",)
"""Outcome statuses that resume runs again (a crash is not the reward's verdict)."""


@dataclass(frozen=True)
class BenchJob:
    """One training run of the bench: a task, a method (expert, sparse or a reward under test), a seed."""

    job_id: str
    task: str
    method: str
    kind: str
    """'expert', 'sparse' or 'reward'."""
    seed: int
    train: TrainJob


@dataclass(frozen=True)
class BenchRun:
    """What a finished (or resumed) bench produced."""

    folder: Path
    summary: BenchSummary
    results: tuple[JobResult, ...]
    trained: int
    """Jobs trained by this call (the rest were already done)."""
    skipped: int
    wall_s: float


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def job_id(task: str, method: str, seed: int) -> str:
    """'metaworld-reach__reach__expert__s0': file-name safe and sortable."""
    card, _, name = task.partition("/")
    return f"{slug(card)}__{slug(name)}__{slug(method)}__s{seed}"


def default_folder(suite: Suite, now: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now if now is not None else time.time()))
    return Path("runs") / f"bench__{slug(suite.name)}__{stamp}"


def suite_train_settings(suite: Suite, card: Any) -> tuple[str, dict[str, Any]]:
    """(algorithm, hyperparameters) of a task's jobs: the suite's hyperparameters, else the card's when the
    suite trains the card's algorithm (SB3's defaults for another), then `bench --hyperparams` over them."""
    from reward_coder.hyperparams import train_settings

    if suite.hyperparameters is not None:
        return train_settings(suite.algorithm, dict(suite.hyperparameters), None, suite.hyperparameter_overrides)
    return train_settings(card.train.algorithm, dict(card.train.hyperparameters), suite.algorithm,
                          suite.hyperparameter_overrides)


def plan_jobs(suite: Suite, folder: Path, *, allow_unsandboxed: bool = False, device: str = "cpu",
              tensorboard: bool = False) -> list[BenchJob]:
    """Every (task, method, seed) job of the suite, in the order they are submitted (seed-major, so an
    interrupted bench has whole rounds of seeds done)."""
    from reward_coder.envs import resolve_task
    from reward_coder.success import sparse_reward_code

    jobs: list[BenchJob] = []
    for seed in suite.seeds:
        for task in suite.tasks:
            card, spec = resolve_task(task)
            algorithm, hyperparameters = suite_train_settings(suite, card)
            base = dict(
                card=card, success=spec.success, algorithm=algorithm, total_timesteps=suite.total_timesteps,
                n_envs=suite.n_envs, seed=seed, device=device, hyperparameters=hyperparameters,
                eval_episodes=suite.eval_episodes, eval_every=suite.eval_interval,
                max_episode_steps=suite.max_episode_steps, allow_unsandboxed=allow_unsandboxed,
                tensorboard=tensorboard,
                # expert, sparse and every reward under test get the same normalization as the card's runs
                normalize_obs=card.train.normalize_obs if suite.normalize is None else suite.normalize,
                normalize_reward=card.train.normalize_reward if suite.normalize is None else suite.normalize,
            )
            methods: list[tuple[str, str, str, str | None]] = [(EXPERT, "expert", "native", None)]
            sparse = sparse_reward_code(spec.success, card.field_names())
            if sparse is None:
                raise ConfigError(
                    f"task '{task}' has a success metric ({spec.success.kind}) with no per-step sparse form; "
                    "bench tasks need one (e.g. info_flag or a field condition)"
                )
            methods.append((SPARSE, "sparse", "sparse", sparse))
            for reward in suite.rewards:
                entry = reward.for_task(task)
                if entry is not None:
                    methods.append((reward.name, "reward", "code", entry.code))
            for method, kind, reward_kind, code in methods:
                identifier = job_id(task, method, seed)
                train = TrainJob(candidate_id=identifier, out_dir=str(folder / "jobs" / identifier),
                                 reward_kind=reward_kind, code=code, **base)  # type: ignore[arg-type]
                jobs.append(BenchJob(identifier, task, method, kind, seed, train))
    return jobs


def open_bench_folder(suite: Suite, folder: Path) -> RunStore:
    """Create the bench folder, or reopen it for resume when it holds the same suite (else ConfigError)."""
    store = RunStore.create(folder)
    store.acquire("bench")
    if store.exists("suite.json"):
        previous = load_bench_folder(folder)
        if previous.fingerprint() != suite.fingerprint():
            raise ConfigError(
                f"bench folder {folder} holds results of a different suite ('{previous.name}' with other tasks, "
                "budget, seeds or rewards); resume it with `reward-coder bench "
                f"{folder}` or choose a new --out"
            )
        return store
    store.write_json("suite.json", suite.to_dict())
    if suite.source and Path(suite.source).is_file():
        store.write_text("suite.yaml", Path(suite.source).read_text(encoding="utf-8"))
    for reward in suite.rewards:
        for entry in reward.entries:
            card, _, name = entry.task.partition("/")
            store.write_text(f"rewards/{slug(card)}__{slug(name)}__{slug(reward.name)}.py", entry.code)
    return store


def load_bench_folder(folder: Path) -> Suite:
    """The suite a bench folder was started with (to resume it)."""
    path = Path(folder) / "suite.json"
    if not path.is_file():
        raise ConfigError(f"'{folder}' is not a bench folder (it has no suite.json)")
    from reward_coder.textfile import read_json_file

    data = read_json_file(path, "bench suite record")
    try:
        return Suite.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(f"bench suite record {path}: is not a suite this version can read; "
                          "start a new bench folder with --out") from None


def run_suite(
    suite: Suite,
    folder: Path,
    *,
    executor: Any = None,
    workers: int = 0,
    train_fn: TrainFn = train_candidate,
    check_rewards: bool = True,
    allow_unsandboxed: bool = False,
    on_progress: Progress | None = None,
) -> BenchRun:
    """Train every job of `suite` not yet done in `folder`, then write results.json/.csv and report.html.

    `executor` defaults to a LocalExecutor of `workers` processes (0: one per core). `train_fn` is
    `train_candidate`; tests pass a fast stand-in. With `check_rewards`, each reward under test is first
    run through `check_candidate` in the sandbox on real transitions; one that fails is recorded as
    'reward_failed' ("check failed: ...") for all its seeds, shown as refused with its reason, left out of
    every mean (never counted as a trained 0), and not trained.
    """
    started = time.monotonic()
    store = open_bench_folder(suite, folder)
    try:
        return _run_jobs(suite, folder, store, started, executor=executor, workers=workers, train_fn=train_fn,
                         check_rewards=check_rewards, allow_unsandboxed=allow_unsandboxed,
                         say=on_progress or (lambda _message: None))
    finally:
        store.release()


def _run_jobs(suite: Suite, folder: Path, store: RunStore, started: float, *, executor: Any, workers: int,
              train_fn: TrainFn, check_rewards: bool, allow_unsandboxed: bool, say: Progress) -> BenchRun:
    jobs = plan_jobs(suite, folder, allow_unsandboxed=allow_unsandboxed)
    done = _finished_jobs(store, jobs)
    if check_rewards:
        _check_rewards(suite, store, jobs, done, allow_unsandboxed, say)
        done = _finished_jobs(store, jobs)
    pending = [job for job in jobs if job.job_id not in done]
    say(f"{len(jobs)} jobs: {len(jobs) - len(pending)} already done, {len(pending)} to train")
    trained = 0
    if pending:
        own_executor = executor is None
        if own_executor:
            from reward_coder.train.executor import LocalExecutor

            executor = LocalExecutor(workers)
        try:
            from reward_coder.train.executor import outcome_of

            for index, value in executor.map_unordered(train_fn, [job.train for job in pending]):
                job = pending[index]
                outcome = outcome_of(job.train, value)  # a job lost with its node is shown as crashed
                _write_outcome(store, job, outcome)
                trained += 1
                result = (f"success {outcome.success_rate:.2f}" if outcome.status == "ok"
                          else (outcome.failure or "no reason recorded")[:120])
                say(f"[{trained}/{len(pending)}] {job.job_id}: {outcome.status}, {result}, {outcome.wall_s:.0f} s")
        finally:
            if own_executor:
                executor.close()
    results = tuple(_job_result(job, store) for job in jobs if store.exists(_outcome_path(job)))
    summary = summarize(results, suite.tasks, suite.methods, seeds=len(suite.seeds))
    wall = time.monotonic() - started
    write_results(store, suite, summary, results, wall_s=wall)
    return BenchRun(folder=folder, summary=summary, results=results, trained=trained,
                    skipped=len(jobs) - len(pending), wall_s=wall)


def _outcome_path(job: BenchJob) -> str:
    return f"outcomes/{job.job_id}.json"


def _finished_jobs(store: RunStore, jobs: Sequence[BenchJob]) -> set[str]:
    done = set()
    for job in jobs:
        path = _outcome_path(job)
        if store.exists(path) and store.read_json(path)["outcome"]["status"] not in RETRIED:
            done.add(job.job_id)
    return done


def _write_outcome(store: RunStore, job: BenchJob, outcome: TrainOutcome) -> None:
    record = {"job_id": job.job_id, "task": job.task, "method": job.method, "kind": job.kind, "seed": job.seed,
              "outcome": outcome_to_dict(outcome)}
    store.write_json(_outcome_path(job), record)


def _job_result(job: BenchJob, store: RunStore) -> JobResult:
    outcome = outcome_from_dict(store.read_json(_outcome_path(job))["outcome"])
    # only an ok run has a success rate: a refused, failed or crashed one is reported as such, never as 0
    ok = outcome.status == "ok"
    rate = outcome.success_rate if ok else None
    native = (outcome.eval or {}).get("native_return_mean") if ok else None
    crafter = (outcome.eval or {}).get("crafter_score") if ok else None
    return JobResult(
        job_id=job.job_id, task=job.task, method=job.method, kind=job.kind, seed=job.seed, status=outcome.status,
        success_rate=rate, native_return=native, timesteps=outcome.timesteps, wall_s=outcome.wall_s,
        curve=tuple((p.timesteps, p.success_rate) for p in outcome.curve), failure=outcome.failure,
        crafter_score=float(crafter) if crafter is not None else None,
    )


def _check_rewards(suite: Suite, store: RunStore, jobs: Sequence[BenchJob], done: set[str],
                   allow_unsandboxed: bool, say: Progress) -> None:
    """Check each reward under test once per task in the sandbox; a refused one fails all its seeds."""
    from reward_coder.envs import resolve_task, sample_transitions
    from reward_coder.sandbox import check_candidate, require_isolation, static_check
    from reward_coder.types import CheckReport

    wanted = {(j.task, j.method) for j in jobs if j.kind == "reward" and j.job_id not in done}
    if not wanted:
        return
    isolation = require_isolation(allow_unsandboxed)
    samples: dict[str, Any] = {}
    for task, method in sorted(wanted):
        card, _spec = resolve_task(task)
        code = next(j.train.code for j in jobs if j.task == task and j.method == method) or ""
        entry = next((r.for_task(task) for r in suite.rewards if r.name == method), None)
        refused = [issue for issue in static_check(code, card.field_names()) if issue.severity == "error"]
        if refused:  # no need to roll out the env for code that will not run
            report = CheckReport(ok=False, issues=tuple(refused), isolation=isolation.level)
        else:
            if task not in samples:
                samples[task] = sample_transitions(card, n_envs=4, n_steps=32, seed=0)
            report = check_candidate(code, field_names=card.field_names(), batches=samples[task], isolation=isolation)
        if entry is not None and entry.line_map:  # a converted foreign file: name the file's own lines
            report = dataclasses.replace(report, issues=tuple(dataclasses.replace(i, line=entry.user_line(i.line))
                                                              for i in report.issues))
        card_id, _, name = task.partition("/")
        store.write_json(f"checks/{slug(card_id)}__{slug(name)}__{slug(method)}.json", report.to_dict())
        if report.ok:
            say(f"check {task} {method}: ok ({report.call_ms or 0:.2f} ms per call)")
            continue
        message = "; ".join(issue.describe() for issue in report.errors)
        say(f"check {task} {method}: refused: {message}")
        for job in jobs:
            if job.task == task and job.method == method and job.job_id not in done:
                _write_outcome(store, job, TrainOutcome(candidate_id=job.job_id, status="reward_failed", timesteps=0,
                                                        failure=f"check failed: {message}"))


def write_results(store: RunStore, suite: Suite, summary: BenchSummary, results: Sequence[JobResult],
                  wall_s: float) -> None:
    """results.json, results.csv, jobs.csv and report.html from the summary (rewritten on every call)."""
    from reward_coder.bench.html import render_report
    from reward_coder.types import to_jsonable

    payload = {
        "suite": suite.name,
        "description": suite.description,
        "algorithm": suite.algorithm,
        "total_timesteps": suite.total_timesteps,
        "n_envs": suite.n_envs,
        "seeds": list(suite.seeds),
        "eval_episodes": suite.eval_episodes,
        "eval_every": suite.eval_interval,
        "tasks": list(suite.tasks),
        "methods": list(suite.methods),
        "score": "human-normalized score = (method - sparse) / |expert - sparse| of success rates (Eureka)",
        "statistics": (
            "per task and method, over the seeds whose run finished ok: n, mean, sample std (ddof=1), iqm "
            "(interquartile mean) and a 95% percentile-bootstrap interval of the mean (ci_low, ci_high); std and "
            "interval are null for one seed. Refused (failed the sandbox check), reward_failed and crashed runs "
            "are counted, with first_failure, and left out of every mean, never counted as 0."
        ),
        "wall_s_this_call": wall_s,
        "jobs_done": len(results),
        "jobs_total": len(suite.tasks) * len(suite.seeds) * 2
        + len(suite.seeds) * sum(len(r.entries) for r in suite.rewards),
        "overall": summary.overall,
        "rows": [{**to_jsonable(row), "pending": row.pending} for row in summary.rows],
        "jobs": [{**to_jsonable(result), "verdict": result.verdict} for result in results],
        "table_markdown": markdown_table(summary),
    }
    store.write_json("results.json", payload)
    store.write_text("results.csv", summary_csv(summary))
    store.write_text("jobs.csv", jobs_csv(results))
    store.write_text("report.html", render_report(suite, summary, results))
