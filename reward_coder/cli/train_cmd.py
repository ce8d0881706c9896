"""`reward-coder train REWARD.py --env CARD`: train one policy on one reward file and save it.

The reward goes the way every reward of the product goes: read as ours (`compute_reward(state, action,
next_state)`) or converted from another tool's `compute_dense_reward(self, action, obs)` (foreign.py),
checked on real transitions in the sandbox, then trained by `train.sb3.train_candidate` with its reward in a
sandboxed worker, through the same stack, settings (the card's `train:`, with --algo and --hyperparams
over it) and evaluation on the task's success metric as a run's candidates. The out folder gets:

| file | what |
|---|---|
| `model.zip` | the trained SB3 policy (`PPO.load("model.zip")`, or SAC, ... as `result.json` says) |
| `vecnormalize.pkl` | the observation statistics, when the card normalizes (`VecNormalize.load`) |
| `reward.py` | the reward as trained (foreign code converted) |
| `result.json` | the configuration, the final evaluation and the learning curve |
| `training/` | the trainer's checkpoints and TensorBoard logs |
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from reward_coder.cli.common import SEED_MAX, err_console, console, out_folder, user_errors
from reward_coder.cli.knobs import AlgoOption, HyperparamsOption, knob_settings
from reward_coder.errors import ConfigError


def _task(env: str | None, task: str | None):
    """The task to evaluate on: --task CARD/TASK, or the card's default success metric with --env alone."""
    from reward_coder.envs import get_card
    from reward_coder.tasks import Task, resolve_task

    if task:
        resolved = resolve_task(task, None, None)
        if env and get_card(env).id != resolved.card.id:
            raise ConfigError(f"--task {task} is a task of card '{resolved.card.id}', not of --env {env}; "
                              "give one of them")
        return resolved
    if not env:
        raise ConfigError("no environment given; pass --env CARD (list them with `reward-coder envs`) or --task CARD/TASK")
    card = get_card(env)
    return Task(key=f"{card.id}/default", instruction=card.native_reward or card.description, card=card,
                success=card.success, total_timesteps=card.train.total_timesteps, named=False)


def _checked_code(reward_file: Path, card, allow_unsandboxed: bool) -> tuple[str, str]:
    """(contract code, 'contract' | 'foreign') of the file, checked on real transitions in the sandbox."""
    from dataclasses import replace

    from reward_coder.envs import sample_transitions
    from reward_coder.foreign import read_reward_file
    from reward_coder.sandbox import check_candidate, require_isolation, static_check

    if not reward_file.is_file():
        raise ConfigError(f"reward file '{reward_file}' not found; pass the path of a .py file with compute_reward")
    source = read_reward_file(reward_file, card)
    code, fmt = source.code, source.format
    refused = [issue for issue in static_check(code, card.field_names()) if issue.severity == "error"]
    if not refused:
        isolation = require_isolation(allow_unsandboxed)
        batches = sample_transitions(card, n_envs=4, n_steps=32, seed=0)
        report = check_candidate(code, field_names=card.field_names(), batches=batches, isolation=isolation)
        refused = list(report.errors)
    refused = [replace(issue, line=source.user_line(issue.line)) for issue in refused]  # lines of the file itself
    if refused:
        raise ConfigError(f"reward file {reward_file} fails its checks on card '{card.id}': "
                          + "; ".join(issue.describe() for issue in refused)[:600])
    return code, fmt


def _say_point(started: float, total: int):
    def say(point) -> None:
        err_console.print(
            f"[dim]{point.timesteps:,}/{total:,} steps: success {point.success_rate:.2f}, task metric "
            f"{point.metric:.3g}, env's own return {point.native_return:.1f} ({time.monotonic() - started:.0f} s)[/]",
            highlight=False, soft_wrap=True)

    return say


@user_errors
def train(
    reward_file: Annotated[Path, typer.Argument(help="Reward file: compute_reward(state, action, next_state) (e.g. a run's best.py) or a foreign compute_dense_reward(self, action, obs).")],
    env: Annotated[Optional[str], typer.Option("--env", "-e", help="Env card id.")] = None,
    task: Annotated[Optional[str], typer.Option("--task", "-t", help="Named task CARD/TASK whose success metric evaluates the policy (default: the card's).")] = None,
    algo: AlgoOption = None,
    hyperparams: HyperparamsOption = None,
    timesteps: Annotated[Optional[int], typer.Option(min=1, help="Training steps (default: the task's).")] = None,
    eval_episodes: Annotated[Optional[int], typer.Option(min=1, help="Evaluation episodes (default: the card's).")] = None,
    seed: Annotated[int, typer.Option(min=0, max=SEED_MAX)] = 0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", callback=out_folder, help="Output folder (default runs/train__<card>__<task>__<seed>__<time>).")] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    allow_unsandboxed: Annotated[bool, typer.Option("--allow-unsandboxed")] = False,
) -> None:
    """Train one policy on a reward file, evaluate it on the task's success metric, and save it."""
    from reward_coder.config import RunConfig
    from reward_coder.loop import candidate_job, versions
    from reward_coder.store import RunStore, make_run_id
    from reward_coder.train.preflight import preflight_job
    from reward_coder.train.sb3 import MODEL_FILE, NORMALIZE_FILE, train_candidate

    resolved = _task(env, task)
    card = resolved.card
    config = RunConfig(instruction=resolved.instruction, env=card.id, task=resolved.key if resolved.named else "",
                       model="none", seed=seed, total_timesteps=timesteps, eval_episodes=eval_episodes,
                       device=device, allow_unsandboxed=allow_unsandboxed, finalists=0, final_seeds=0,
                       **knob_settings(algo, hyperparams))
    folder = out or Path("runs") / ("train__" + make_run_id(card.id, resolved.key.split("/")[-1], seed))
    # the setup first (cheap, and the one line `run` would give), then the reward on real states
    setup = candidate_job(config, resolved, "train", "", folder.resolve() / "training", seed)
    given = ", with --algo/--hyperparams" if config.algorithm or config.hyperparameters else ""
    preflight_job(setup, folder, source=f"card '{card.id}' (train: {setup.algorithm}{given})")
    code, fmt = _checked_code(reward_file, card, allow_unsandboxed)
    job = candidate_job(config, resolved, "train", code, folder.resolve() / "training", seed)

    store = RunStore.create(folder)
    store.acquire("reward-coder train")
    try:
        if store.exists("result.json"):
            raise ConfigError(f"'{folder}' already holds a trained policy (result.json); choose another --out")
        store.write_text("reward.py", code)
        err_console.print(f"training {job.algorithm} on '{card.id}' for {job.total_timesteps:,} steps "
                          f"({job.n_envs} envs, seed {seed}), reward {reward_file} ({fmt}) -> {folder}", highlight=False,
                          soft_wrap=True)
        started = time.monotonic()
        outcome = train_candidate(job, on_progress=_say_point(started, job.total_timesteps))
        record = _result(config, job, outcome, reward_file, fmt, versions())
        store.write_json("result.json", record)
        if outcome.status != "ok" or outcome.checkpoint is None:
            raise ConfigError(f"training failed ({outcome.status}): {outcome.failure or 'no reason recorded'}; "
                              f"details in {folder}/result.json")
        checkpoint = Path(outcome.checkpoint).parent
        store.write_bytes(MODEL_FILE, (checkpoint / MODEL_FILE).read_bytes())
        if (checkpoint / NORMALIZE_FILE).is_file():
            store.write_bytes(NORMALIZE_FILE, (checkpoint / NORMALIZE_FILE).read_bytes())
    finally:
        store.release()
    console.print(f"success rate {outcome.success_rate:.2f} over {record['eval']['episodes']} evaluation episodes "
                  f"({resolved.key}); policy saved to {folder / MODEL_FILE}"
                  + (f" with {folder / NORMALIZE_FILE}" if (folder / NORMALIZE_FILE).is_file() else ""),
                  highlight=False, soft_wrap=True)


def _result(config, job, outcome, reward_file: Path, fmt: str, found_versions: dict[str, str]) -> dict[str, Any]:
    """result.json: what was trained and how (the config), and what it achieved."""
    evaluation = {k: v for k, v in (outcome.eval or {}).items() if k not in ("episodes", "term_stats")}
    evaluation["episodes"] = len((outcome.eval or {}).get("episodes", []))
    return {
        "command": "reward-coder train",
        "config": {
            "reward_file": str(reward_file), "reward_format": fmt, "env": job.card.id, "env_id": job.card.env_id,
            "task": config.task or f"{job.card.id} (card's default success metric)",
            "algorithm": job.algorithm, "algorithm_given": config.algorithm,
            "hyperparameters": job.hyperparameters, "hyperparameters_given": config.hyperparameters,
            "total_timesteps": job.total_timesteps, "n_envs": job.n_envs, "seed": job.seed, "device": job.device,
            "eval_episodes": job.eval_episodes, "max_episode_steps": job.max_episode_steps,
            "normalize_obs": job.normalize_obs, "normalize_reward": job.normalize_reward,
            "allow_unsandboxed": job.allow_unsandboxed,
        },
        "status": outcome.status, "failure": outcome.failure, "timesteps": outcome.timesteps,
        "success_rate": outcome.success_rate if outcome.status == "ok" else None,
        "eval": evaluation, "device": outcome.device, "wall_s": outcome.wall_s,
        "curve": [asdict(point) for point in outcome.curve], "versions": found_versions,
    }
