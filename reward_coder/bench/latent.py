"""Latent-mode benchmark: LaRe factors vs return-decomposition baselines on episodic tasks (issue 11, item 4).

Every method trains SAC with the same budget, seeds, episode length and evaluation (reward_coder.latent.train):
latent (LLM factors -> decoder), rrd (decoder on the raw state and action), ircr (uniform redistribution),
episodic (the delayed reward as it is) and dense (the env's own per-step reward, the oracle). Final figures are
the native (dense) return and the task's success rate over seeds, as mean ± std with a 95% bootstrap interval.

    python -m reward_coder.bench.latent --tasks halfcheetah/run-forward-episodic hopper/hop-forward-episodic \
        --seeds 0 1 2 --timesteps 3000 --episode-steps 200 --out runs/latent-bench

Factors come from a latent-mode run folder (--factors-from RUN, its latent/design.json) or, by default, from
the hand-written stand-in verifier answer of the task (reward_coder/standins/*.latent.handwritten-standin.jsonl):
results with those are results of hand-written factors, not of any model's.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from reward_coder.latent.train import METHODS, LatentJob, raw_state_factor_code, train_latent
from reward_coder.outcomes import TrainOutcome


@dataclass(frozen=True)
class LatentBench:
    """What one comparison runs: tasks x methods x seeds, one budget."""

    tasks: tuple[str, ...]
    methods: tuple[str, ...] = METHODS
    seeds: tuple[int, ...] = (0, 1, 2)
    total_timesteps: int = 3_000
    episode_steps: int | None = 200
    eval_every: int = 1_000
    eval_episodes: int = 3
    device: str = "cpu"
    hyperparameters: dict[str, Any] = field(default_factory=lambda: {"learning_starts": 200})
    fit_every: int = 200
    """Env steps between decoder fits (latent, rrd)."""
    fit_updates: int = 50


def standin_factors(task_key: str) -> tuple[str, tuple[str, ...], str]:
    """(code, names, source) of the task's hand-written stand-in verifier answer."""
    from reward_coder.latent.factors import extract_factor_code, read_factor_specs
    from reward_coder.resources import standins_dir

    stem = task_key.replace("/", "-")
    path = Path(standins_dir()) / f"{stem}.latent.handwritten-standin.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"no stand-in factors for {task_key} ({path.name}); pass --factors-from RUN")
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["purpose"] == "latent_verifier":
            code = extract_factor_code(record["samples"][0]).code
            specs = read_factor_specs(code)
            return code, tuple(s.name for s in specs), f"hand-written stand-in ({path.name})"
    raise ValueError(f"{path.name} has no latent_verifier answer")


def run_factors(run_dir: Path) -> tuple[str, str, tuple[str, ...]]:
    """(task key, code, names) of a latent-mode run's chosen factor function."""
    design = json.loads((run_dir / "latent" / "design.json").read_text())
    task = json.loads((run_dir / "task.json").read_text())
    return task["key"], design["code"], tuple(f["name"] for f in design["factors"])


def jobs(bench: LatentBench, out: Path, factors: dict[str, tuple[str, tuple[str, ...]]]) -> list[tuple[str, LatentJob]]:
    from reward_coder.tasks import resolve_task

    planned = []
    for key in bench.tasks:
        task = resolve_task(key, None, None)
        for method in bench.methods:
            code, names = None, ()
            if method == "latent":
                code, names = factors[key]
            elif method == "rrd":
                code, names = raw_state_factor_code(task.card)
            for seed in bench.seeds:
                planned.append((key, LatentJob(
                    candidate_id=f"{method}-s{seed}", card=task.card, success=task.success,
                    out_dir=str(out / key.replace("/", "__") / method / f"seed-{seed}"), method=method,  # type: ignore[arg-type]
                    factor_code=code, factor_names=names, total_timesteps=bench.total_timesteps, seed=seed,
                    device=bench.device, hyperparameters=dict(bench.hyperparameters), eval_every=bench.eval_every,
                    eval_episodes=bench.eval_episodes, max_episode_steps=bench.episode_steps,
                    fit_every=bench.fit_every, fit_updates=bench.fit_updates)))
    return planned


def summarize(bench: LatentBench, results: list[tuple[str, LatentJob, TrainOutcome]]) -> dict[str, Any]:
    """Per task and method: final native return and success over seeds, and the mean learning curve."""
    from reward_coder.stats import seed_stats

    table: dict[str, Any] = {}
    for key in bench.tasks:
        table[key] = {}
        for method in bench.methods:
            mine = [(job, outcome) for k, job, outcome in results if k == key and job.method == method]
            done = [o for _, o in mine if o.status == "ok" and o.eval]
            returns = [float(o.eval["native_return_mean"]) for o in done]
            success = [float(o.eval["success_rate"]) for o in done]
            steps = sorted({p.timesteps for o in done for p in o.curve})
            curve = []
            for step in steps:
                values = [p.native_return for o in done for p in o.curve if p.timesteps == step]
                rates = [p.success_rate for o in done for p in o.curve if p.timesteps == step]
                curve.append({"timesteps": step, "native_return": sum(values) / len(values),
                              "success_rate": sum(rates) / len(rates), "seeds": len(values)})
            table[key][method] = {
                "native_return": seed_stats(returns).to_dict(), "success_rate": seed_stats(success).to_dict(),
                "curve": curve, "failed": {o.candidate_id: o.failure for _, o in mine if o.status != "ok"},
                "wall_s": sum(o.wall_s for _, o in mine),
            }
    return table


def markdown(bench: LatentBench, table: dict[str, Any], sources: dict[str, str]) -> str:
    from reward_coder.stats import SeedStats

    lines = [f"# Latent-mode benchmark: SAC, {bench.total_timesteps} steps, episodes of "
             f"{bench.episode_steps or 'card'} steps, seeds {list(bench.seeds)}", ""]
    for key, methods in table.items():
        lines += [f"## {key}", f"latent factors: {sources.get(key, '-')}", "",
                  "| method | native return (mean ± std [95% CI]) | success rate | failed |", "|---|---|---|---|"]
        for method, row in methods.items():
            ret = SeedStats(**row["native_return"]).describe(1)
            rate = SeedStats(**row["success_rate"]).describe(2)
            lines.append(f"| {method} | {ret} | {rate} | {len(row['failed'])} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _train(item: tuple[str, LatentJob]) -> tuple[str, LatentJob, TrainOutcome]:
    key, job = item
    return key, job, train_latent(job)


def run_latent_bench(bench: LatentBench, out: Path, *, workers: int = 1,
                     factors_from: Sequence[Path] = (),
                     on_progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train every (task, method, seed), write results.json, results.md and curves-*.png; return the table.
    A job that finished before (its checkpoint reaches the budget) is only evaluated again, so an interrupted
    bench rerun with the same settings and folder continues where it stopped."""
    from concurrent.futures import as_completed

    out.mkdir(parents=True, exist_ok=True)
    factors: dict[str, tuple[str, tuple[str, ...]]] = {}
    sources: dict[str, str] = {}
    for run_dir in factors_from:
        key, code, names = run_factors(Path(run_dir))
        factors[key], sources[key] = (code, names), f"run {run_dir}"
    for key in bench.tasks:
        if key not in factors and "latent" in bench.methods:
            code, names, source = standin_factors(key)
            factors[key], sources[key] = (code, names), source
    planned = jobs(bench, out, factors)
    (out / "bench.json").write_text(json.dumps({"bench": asdict(bench), "factor_sources": sources}, indent=2))
    results: list[tuple[str, LatentJob, TrainOutcome]] = []

    def done(result: tuple[str, LatentJob, TrainOutcome]) -> None:
        results.append(result)
        if on_progress:
            key, job, outcome = result
            what = (f"native return {outcome.eval['native_return_mean']:.1f}, success {outcome.eval['success_rate']:.2f}"
                    if outcome.status == "ok" and outcome.eval else f"{outcome.status}: {outcome.failure}")
            on_progress(f"[{len(results)}/{len(planned)}] {key} {job.method} seed {job.seed}: {what} "
                        f"({outcome.wall_s:.0f} s)")

    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for future in as_completed([pool.submit(_train, item) for item in planned]):
                done(future.result())
    else:
        for item in planned:
            done(_train(item))
    # the table lists jobs in plan order whatever order they finished in
    order = {(key, job.candidate_id): index for index, (key, job) in enumerate(planned)}
    results.sort(key=lambda r: order[(r[0], r[1].candidate_id)])
    table = summarize(bench, results)
    (out / "results.json").write_text(json.dumps({"bench": asdict(bench), "factor_sources": sources,
                                                  "results": table}, indent=2))
    (out / "results.md").write_text(markdown(bench, table, sources))
    _curve_images(out, table)
    return table


def _curve_images(out: Path, table: dict[str, Any]) -> None:
    import base64

    from reward_coder.report.plots import curves_figure

    for key, methods in table.items():
        uri = curves_figure({method: row["curve"] for method, row in methods.items()})
        if uri:
            (out / f"curves-{key.replace('/', '__')}.png").write_bytes(base64.b64decode(uri.split(",", 1)[1]))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", required=True)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, default=3_000)
    parser.add_argument("--episode-steps", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--eval-episodes", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--factors-from", nargs="*", type=Path, default=[])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    bench = LatentBench(tasks=tuple(args.tasks), methods=tuple(args.methods), seeds=tuple(args.seeds),
                        total_timesteps=args.timesteps, episode_steps=args.episode_steps, eval_every=args.eval_every,
                        eval_episodes=args.eval_episodes, device=args.device)
    run_latent_bench(bench, args.out, workers=args.workers, factors_from=args.factors_from,
                     on_progress=lambda message: print(message, flush=True))  # noqa: T201
    print((args.out / "results.md").read_text())  # noqa: T201 - a module run from the shell prints its table


if __name__ == "__main__":
    main()
