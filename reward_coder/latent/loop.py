"""`reward-coder run --mode latent`: factors designed and verified by the LLM, then SAC on the decoded reward.

Steps, each written under runs/<id>/latent/ before the next starts, so a resume redoes only what is missing:

1. design: the factor prompts (latent/prompts/), every sample's response, code and check
   (latent/samples/f<i>.*), the verifier's (latent/samples/verified.*), and design.json naming the
   function chosen and its factors;
2. training: SAC on the task with its reward withheld until the episode's end, the decoder relabelling the
   buffer (latent/train/seed-<s>/: checkpoints, curve.json, decoder_curve.json, attributions.json);
3. summary.json: the outcome, the decoder's loss curve and the factor attributions, for the report.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable

from reward_coder.config import RunConfig
from reward_coder.latent.design import FactorCandidate, FactorDesign, design_factors
from reward_coder.latent.train import LatentJob, train_latent
from reward_coder.store import RunStore
from reward_coder.tasks import Task, describe_success

EventSink = Callable[..., None]
LATENT_DIR = "latent"


def make_factor_checker(task: Task, config: RunConfig, on_event: EventSink):
    """Sample real transitions once; return a checker running a factor function on them in the sandbox."""
    from reward_coder.envs import sample_transitions
    from reward_coder.latent.factors import check_factors
    from reward_coder.sandbox import require_isolation

    isolation = require_isolation(config.allow_unsandboxed)
    on_event("isolation", level=isolation.level, detail=isolation.detail)
    batch = sample_transitions(task.card, n_envs=4, n_steps=config.check_steps, seed=config.seed)
    on_event("sampling", n=len(batch.action), env=task.card.env_id)
    names = task.card.field_names()
    return lambda code: check_factors(code, field_names=names, batches=batch, isolation=isolation)


def _write_candidate(store: RunStore, candidate: FactorCandidate) -> None:
    name = f"{LATENT_DIR}/samples/{candidate.id}"
    if candidate.code is not None:
        store.write_text(f"{name}.py", candidate.code)
    store.write_text(f"{name}.response.md", candidate.response)
    store.write_json(f"{name}.json", candidate.record())


def design_step(config: RunConfig, task: Task, store: RunStore, completer: Any, emit: EventSink) -> dict[str, Any]:
    """Run (or, when design.json exists, reread) the factor design; returns design.json's content."""
    from reward_coder.envs import describe_card

    if store.exists(f"{LATENT_DIR}/design.json"):
        return store.read_json(f"{LATENT_DIR}/design.json")
    checker = make_factor_checker(task, config, emit)

    def keep(step: str, messages) -> None:
        for position, message in enumerate(messages):
            store.write_text(f"{LATENT_DIR}/prompts/{step}/{position}_{message.role}.txt", message.content)

    design: FactorDesign = design_factors(
        completer, task.card, instruction=task.instruction, env_description=describe_card(task.card),
        success_description=describe_success(task.success), checker=checker, samples=config.samples,
        task_key=task.key, temperature=config.temperature, on_event=emit, on_messages=keep)
    for candidate in design.samples:
        _write_candidate(store, candidate)
    if design.verified is not None:
        _write_candidate(store, design.verified)
    record = design.record()
    record["code"] = design.chosen.code if design.chosen else None
    store.write_json(f"{LATENT_DIR}/design.json", record)
    if design.chosen is not None:
        store.write_text(f"{LATENT_DIR}/factors.py", design.chosen.code or "")
    emit("latent_design", chosen=record["chosen"], note=design.note)
    return record


def latent_job(config: RunConfig, task: Task, store: RunStore, design: dict[str, Any], method: str = "latent",
               seed: int | None = None) -> LatentJob:
    """The training job of the run (or of a baseline with `method`), from the config and the chosen factors."""
    from reward_coder.latent.train import raw_state_factor_code

    seed = config.seed if seed is None else seed
    code, names = design.get("code"), tuple(f["name"] for f in design.get("factors", []))
    if method == "rrd":
        code, names = raw_state_factor_code(task.card)
    elif method != "latent":
        code, names = None, ()
    budget = config.total_timesteps or task.total_timesteps
    eval_every = max(min(budget // 4, 25_000), 1)
    return LatentJob(
        candidate_id=f"{method}-s{seed}", card=task.card, success=task.success,
        out_dir=str(store.path(f"{LATENT_DIR}/train/{method}-seed-{seed}")), method=method,  # type: ignore[arg-type]
        factor_code=code, factor_names=names, total_timesteps=budget, seed=seed, device=config.device,
        hyperparameters=dict(config.hyperparameters), eval_every=eval_every,
        eval_episodes=config.eval_episodes or 3, max_episode_steps=config.episode_steps,
        fit_every=max(min(budget // 20, 1_000), 1), allow_unsandboxed=config.allow_unsandboxed,
    )


def run_latent(config: RunConfig, task: Task, store: RunStore, completer: Any,
               on_event: EventSink | None = None) -> dict[str, Any]:
    """Latent mode end to end (design, train, summarize); returns summary.json's content."""
    emit = on_event or (lambda *_a, **_k: None)
    design = design_step(config, task, store, completer, emit)
    if design.get("chosen") is None:
        summary = {"status": "no_factors", "note": design["note"], "design": design}
        store.write_json(f"{LATENT_DIR}/summary.json", summary)
        store.write_json("state.json", {**_state(store), "status": "done", "latent": "no_factors"})
        return summary
    job = latent_job(config, task, store, design)
    emit("latent_training", timesteps=job.total_timesteps, device=job.device, factors=list(job.factor_names))
    outcome = train_latent(job)
    out = store.path(f"{LATENT_DIR}/train/latent-seed-{job.seed}")
    summary = {
        "status": outcome.status, "failure": outcome.failure, "task": task.key, "seed": job.seed,
        "timesteps": outcome.timesteps, "factors": design["factors"], "note": design["note"],
        "chosen": design["chosen"], "outcome": asdict(outcome),
        "decoder_curve": _read(out / "decoder_curve.json"), "attributions": _read(out / "attributions.json"),
    }
    store.write_json(f"{LATENT_DIR}/summary.json", summary)
    store.write_json("state.json", {**_state(store), "status": "done", "latent": outcome.status})
    return summary


def _state(store: RunStore) -> dict[str, Any]:
    return store.read_json("state.json") if store.exists("state.json") else {}


def _read(path) -> Any:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
