"""Train SAC on an episodic task with a redistributed reward: latent factors, RRD, IRCR, or none.

One trainer for latent mode and for its baselines, so they differ only in where the per-step reward
comes from (same algorithm, budget, seeds, evaluation):

- 'latent': the LLM's factor function (sandboxed) -> decoder trained by randomized return decomposition;
- 'rrd': the same decoder on the raw state and action (every card field and action component as a factor);
- 'ircr': each finished episode's transitions get R / T (uniform redistribution);
- 'episodic': the delayed reward as it is (0 until the episode's last step);
- 'dense': the env's own per-step reward (the oracle the others try to approach).

Evaluation always runs on the plain env and reports the native (dense) return and the task's metric.
Checkpoints hold the policy, replay buffer, RNG streams and the decoder with its episode store, factor
buffer and loss curve, so a continuation picks up where the last segment stopped.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reward_coder.latent.decoder import DecoderConfig, EpisodeStore, RewardDecoder
from reward_coder.outcomes import CurvePoint, TrainOutcome, curve_point_from_dict
from reward_coder.types import EnvCard, SuccessSpec

Method = Literal["latent", "rrd", "ircr", "episodic", "dense"]
METHODS: tuple[str, ...] = ("latent", "rrd", "ircr", "episodic", "dense")
LATENT_FILE = "latent_state.pkl"
DECODER_CURVE = "decoder_curve.json"
ATTRIBUTIONS = "attributions.json"


@dataclass(frozen=True)
class LatentJob:
    """One training run of one method. Frozen and picklable, like train.sb3.TrainJob."""

    candidate_id: str
    card: EnvCard
    success: SuccessSpec
    out_dir: str
    method: Method = "latent"
    factor_code: str | None = None
    """The factor module ('latent': the LLM's; 'rrd': raw_state_factor_code(card)); unused otherwise."""
    factor_names: tuple[str, ...] = ()
    total_timesteps: int = 10_000
    n_envs: int = 1
    seed: int = 0
    device: str = "auto"
    """Torch device of the policy and the decoder."""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    """SAC constructor arguments (SB3 defaults otherwise)."""
    eval_every: int = 5_000
    eval_episodes: int = 3
    final_eval_episodes: int | None = None
    max_episode_steps: int | None = None
    decoder: DecoderConfig = DecoderConfig()
    fit_every: int = 1_000
    """Env steps between decoder fits (each followed by relabelling the whole buffer)."""
    fit_updates: int = 50
    """Decoder gradient steps per fit."""
    allow_unsandboxed: bool = False
    torch_threads: int = 1


def raw_state_factor_code(card: EnvCard) -> tuple[str, tuple[str, ...]]:
    """A factor module whose factors are every component of next_state's fields and of the action: RRD's
    input, run through the same sandbox and wrapper as LLM factors so the comparison is like for like."""
    names: list[str] = []
    columns: list[str] = []
    for spec in card.fields:
        size = int(np.prod(spec.shape)) if spec.shape else 1
        if not spec.shape:
            names.append(spec.name)
            columns.append(f"next_state.{spec.name}")
        else:
            for j in range(size):
                names.append(f"{spec.name}_{j}")
                columns.append(f"next_state.{spec.name}.reshape(n, -1)[:, {j}]")
    if card.action.discrete:
        names.append("action")
        columns.append("action.astype(np.float64)")
    else:
        for j in range(int(np.prod(card.action.shape)) if card.action.shape else 1):
            names.append(f"action_{j}")
            columns.append(f"action.reshape(n, -1)[:, {j}]")
    entries = "\n".join(f'    ("{name}", "raw input {name}"),' for name in names)
    stacked = ",\n        ".join(columns)
    code = (f"import numpy as np\n\nFACTORS = (\n{entries}\n)\n\n\n"
            "def compute_factors(state, action, next_state):\n"
            "    n = np.shape(action)[0]\n"
            f"    return np.stack([\n        {stacked},\n    ], axis=1)\n")
    return code, tuple(names)


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def _episodic_venv(job: LatentJob, fields: tuple[str, ...] | None, seeded: bool):
    from stable_baselines3.common.vec_env import DummyVecEnv

    from reward_coder.latent.episodic import episodic_env_fns

    venv = DummyVecEnv(episodic_env_fns(job.card, job.n_envs, job.seed, max_episode_steps=job.max_episode_steps,
                                        fields=fields))
    if seeded:
        venv.seed(job.seed)
    return venv


def train_latent(job: LatentJob) -> TrainOutcome:
    """Train (or continue) one method to job.total_timesteps, evaluating and checkpointing every eval_every.

    Never raises for the factor code's faults: a factor function that fails during training ends it with
    status 'reward_failed'; anything else unexpected is 'crashed' with its message.
    """
    import torch
    from stable_baselines3 import SAC
    from stable_baselines3.common.vec_env import VecMonitor

    from reward_coder.latent.factors import shimmed
    from reward_coder.latent.relabel import DecodedRewardCallback, FactorTap
    from reward_coder.reward.fields import fields_used
    from reward_coder.sandbox import GuardedReward, RewardFailure, SandboxedReward, require_isolation
    from reward_coder.train.checkpoint import latest_checkpoint, save_checkpoint
    from reward_coder.train.sb3 import (BUFFER_FILE, MODEL_FILE, RNG_FILE, _evaluate, _read_pickle, _restore_rng,
                                        _rng_state, choose_device, curve_point, make_vec_env, sandbox_limits)

    torch.set_num_threads(job.torch_threads)
    started = time.monotonic()
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint, notes = latest_checkpoint(out_dir)
    notes = list(notes)
    curve: list[CurvePoint] = []
    if checkpoint is not None and (out_dir / "curve.json").exists():
        curve = [curve_point_from_dict(p) for p in json.loads((out_dir / "curve.json").read_text())
                 if p["timesteps"] <= checkpoint.timesteps]
        notes.append(f"continued from {checkpoint.folder.name}")
    # the SAC policy is a small MLP (CPU unless it is wide); the decoder profits from a GPU when one is visible
    device, policy_reason = choose_device(job.device, "MlpPolicy", "policy", job.hyperparameters)
    decoder_device, decoder_reason = choose_device(job.device, "MlpPolicy", "decoder")
    device_reason = f"policy: {policy_reason}" + (f"; decoder on {decoder_device}: {decoder_reason}"
                                                 if job.method in ("latent", "rrd") else "")
    venv = None
    timesteps = 0
    decoder: RewardDecoder | None = None
    callback = None
    try:
        uses_factors = job.method in ("latent", "rrd")
        fields = fields_used(job.factor_code or "", job.card.field_names()) if uses_factors else None
        tap = None
        if job.method == "dense":
            base = make_vec_env(job.card, job.n_envs, job.seed, job.max_episode_steps, seed_resets=checkpoint is None)
            top = VecMonitor(base)
        else:
            base = _episodic_venv(job, fields, seeded=checkpoint is None)
            top = base
            if uses_factors:
                from reward_coder.train.vec_reward import RewardVecWrapper

                isolation = require_isolation(job.allow_unsandboxed)
                factor_fn = GuardedReward(SandboxedReward(shimmed(job.factor_code or ""), field_names=fields,
                                                          isolation=isolation, limits=sandbox_limits(False)))
                decoder = RewardDecoder(len(job.factor_names), job.decoder, device=decoder_device,
                                        factor_names=job.factor_names)
                tap = FactorTap(factor_fn, job.factor_names, decoder)
                top = RewardVecWrapper(base, tap, job.card, fields)
            top = VecMonitor(top)
        venv = top
        if job.method != "dense" and job.method != "episodic":
            callback = DecodedRewardCallback(
                redistribution="decoder" if uses_factors else "uniform", n_envs=job.n_envs, tap=tap,
                decoder=decoder, store=EpisodeStore(len(job.factor_names), job.decoder.max_episodes)
                if uses_factors else None, fit_every=job.fit_every, fit_updates=job.fit_updates)
        if checkpoint is not None:
            model = SAC.load(checkpoint.path(MODEL_FILE), env=venv, device=device)
            if checkpoint.has(BUFFER_FILE):
                model.load_replay_buffer(checkpoint.path(BUFFER_FILE))
            if checkpoint.has(RNG_FILE):
                _restore_rng(_read_pickle(checkpoint.path(RNG_FILE)), model, base)
            if checkpoint.has(LATENT_FILE):
                state = _read_pickle(checkpoint.path(LATENT_FILE))
                if decoder is not None and state.get("decoder") is not None:
                    decoder.load_state_dict(state["decoder"])
                if callback is not None and state.get("callback") is not None:
                    callback.load_state_dict(state["callback"])
        else:
            hyperparameters = dict(job.hyperparameters)
            # SB3's default holds 1M transitions, all pickled into every checkpoint: no more than the budget
            hyperparameters.setdefault("buffer_size", max(int(job.total_timesteps), 1_000))
            model = SAC("MlpPolicy", venv, seed=job.seed, device=device, verbose=0, **hyperparameters)
        timesteps = int(model.num_timesteps)

        def policy(obs: np.ndarray) -> np.ndarray:
            action, _ = model.predict(obs, deterministic=True)
            return action

        while timesteps < job.total_timesteps:
            chunk = min(job.eval_every, job.total_timesteps - timesteps)
            model.learn(total_timesteps=chunk, reset_num_timesteps=False, progress_bar=False, callback=callback)
            timesteps = int(model.num_timesteps)
            evaluation = _evaluate(job, policy, None, seed=10_000 + job.seed)
            curve.append(curve_point(timesteps, evaluation, time.monotonic() - started))
            _save(out_dir, model, base, curve, decoder, callback, save_checkpoint, _rng_state,
                  MODEL_FILE, BUFFER_FILE, RNG_FILE)
        final_seed = 20_000 + job.seed
        final = _evaluate(job, policy, None, seed=final_seed, episodes=job.final_eval_episodes)
        from reward_coder.train.sb3 import _eval_record

        latest, _ = latest_checkpoint(out_dir)
        return TrainOutcome(
            candidate_id=job.candidate_id, status="ok", timesteps=timesteps, curve=tuple(curve),
            eval=_eval_record(final), checkpoint=str(latest.path(MODEL_FILE)) if latest else None,
            wall_s=time.monotonic() - started, device=str(model.device), seed=job.seed, eval_seed=final_seed,
            notes=tuple(notes), device_reason=device_reason,
        )
    except RewardFailure as failure:
        return TrainOutcome(candidate_id=job.candidate_id, status="reward_failed", timesteps=timesteps,
                            curve=tuple(curve), failure=str(failure), failure_step=failure.env_step,
                            wall_s=time.monotonic() - started, seed=job.seed, notes=tuple(notes))
    except Exception as err:  # noqa: BLE001 - one method's training fails alone, with its message
        import traceback

        (out_dir / "crash.txt").write_text(traceback.format_exc())
        return TrainOutcome(candidate_id=job.candidate_id, status="crashed", timesteps=timesteps, curve=tuple(curve),
                            failure=f"{type(err).__name__}: {err}", wall_s=time.monotonic() - started, seed=job.seed,
                            notes=tuple(notes))
    finally:
        if venv is not None:
            venv.close()


def _save(out_dir: Path, model, base, curve, decoder, callback, save_checkpoint, rng_state,
          model_file: str, buffer_file: str, rng_file: str) -> None:
    """One atomic checkpoint (policy, buffer, RNG, decoder + its data), then the curves and attributions."""
    from dataclasses import asdict

    def write_pickle(value: Any):
        def write(path: Path) -> None:
            with open(path, "wb") as handle:
                pickle.dump(value, handle)
        return write

    latent_state = {"decoder": decoder.state_dict() if decoder is not None else None,
                    "callback": callback.state_dict() if callback is not None else None}
    writers: dict[str, Any] = {
        model_file: lambda path: model.save(path),
        buffer_file: lambda path: model.save_replay_buffer(path),
        rng_file: write_pickle(rng_state(model, base)),
        LATENT_FILE: write_pickle(latent_state),
    }
    save_checkpoint(out_dir, int(model.num_timesteps), writers)
    _write_json(out_dir / "curve.json", [asdict(p) for p in curve])
    if decoder is not None:
        _write_json(out_dir / DECODER_CURVE, decoder.curve.to_dict())
        store = callback.store if callback is not None else None
        if store is not None and len(store) and decoder.updates:
            rows = store.all_rows()
            _write_json(out_dir / ATTRIBUTIONS, {
                "env_steps": int(model.num_timesteps), "shares": decoder.attributions(rows),
                "weights": decoder.linear_weights(rows), "episodes": len(store),
            })


def with_budget(job: LatentJob, total_timesteps: int) -> LatentJob:
    return replace(job, total_timesteps=total_timesteps)
