"""Train one candidate with stable-baselines3, with its reward in the sandbox, and evaluate it as it goes.

A TrainJob is plain data, so it can be sent to a worker process (or a Ray task). Training resumes
from a checkpoint, which is how successive halving continues the candidates it keeps.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reward_coder.types import EnvCard, SuccessSpec, TermStats

RewardKind = Literal["code", "native", "sparse"]
TrainStatus = Literal["ok", "reward_failed", "crashed"]


@dataclass(frozen=True)
class TrainJob:
    """Everything one training segment needs. Frozen and picklable."""

    candidate_id: str
    card: EnvCard
    success: SuccessSpec
    out_dir: str
    """Folder of this candidate's checkpoints and TensorBoard logs (inside the run folder)."""
    reward_kind: RewardKind = "code"
    code: str | None = None
    """Reward code for reward_kind 'code' and 'sparse' (the sparse reward is generated code too)."""
    algorithm: str = "PPO"
    total_timesteps: int = 50_000
    """Train until the model has seen this many steps in total (across resumed segments)."""
    n_envs: int = 4
    seed: int = 0
    device: str = "auto"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    eval_episodes: int = 5
    eval_every: int = 10_000
    """Steps between evaluations (learning-curve points and checkpoints)."""
    max_episode_steps: int | None = None
    allow_unsandboxed: bool = False
    torch_threads: int = 1
    """One thread per worker: candidates train side by side, one per core."""
    spare_core: bool = False
    """True when this job's sandbox worker can have a core of its own: then both sides busy-wait for
    each other instead of sleeping, which halves the reward's round trip; False when every core trains."""
    tensorboard: bool = True


@dataclass(frozen=True)
class CurvePoint:
    timesteps: int
    success_rate: float
    metric: float
    native_return: float
    length: float
    wall_s: float


@dataclass(frozen=True)
class TrainOutcome:
    candidate_id: str
    status: TrainStatus
    timesteps: int
    curve: tuple[CurvePoint, ...] = ()
    train_term_stats: dict[str, TermStats] = field(default_factory=dict)
    eval: dict[str, Any] | None = None
    """Final evaluation: EvalResult.summary() plus 'episodes' (list of EpisodeRecord dicts) and 'term_stats'."""
    failure: str = ""
    failure_step: int | None = None
    checkpoint: str | None = None
    wall_s: float = 0.0
    steps_per_s: float = 0.0
    device: str = ""
    """Torch device the policy trained on ('cuda', 'cpu'): what --device auto resolved to."""

    @property
    def success_rate(self) -> float:
        return float(self.eval["success_rate"]) if self.eval else 0.0


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def sandbox_limits(spare_core: bool):
    """Sandbox limits for training: a long CPU allowance; busy-waiting only when a core is free for it."""
    from reward_coder.sandbox import SandboxLimits

    if spare_core:
        return SandboxLimits(cpu_s=24 * 3600, worker_spin_us=1000.0)
    return SandboxLimits(cpu_s=24 * 3600, spin_us=0.0, worker_spin_us=0.0)


def build_reward(job: TrainJob, fields: tuple[str, ...]):
    """The reward callable for a job (reading only `fields`): the sandboxed candidate, or None for native."""
    if job.reward_kind == "native":
        return None
    from reward_coder.sandbox import GuardedReward, SandboxedReward, require_isolation

    isolation = require_isolation(job.allow_unsandboxed)
    return GuardedReward(SandboxedReward(job.code or "", field_names=fields, isolation=isolation,
                                         limits=sandbox_limits(job.spare_core)))


def make_vec_env(card: EnvCard, n_envs: int, seed: int, max_episode_steps: int | None = None,
                 fields: tuple[str, ...] | None = None):
    """A DummyVecEnv of the card's env (FieldProbe included). Dummy: one core per candidate already."""
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    from reward_coder.envs import env_fns

    venv = DummyVecEnv(env_fns(card, n_envs, seed, max_episode_steps=max_episode_steps, fields=fields))
    venv.seed(seed)
    return VecMonitor(venv)


def _algorithm_class(name: str):
    import stable_baselines3

    try:
        return getattr(stable_baselines3, name.upper())
    except AttributeError:
        raise ValueError(f"unknown algorithm '{name}'; use PPO, SAC, TD3, A2C or DDPG") from None


def _model_path(out_dir: Path) -> Path:
    return out_dir / "model.zip"


def train_candidate(job: TrainJob) -> TrainOutcome:
    """Train (or continue training) one candidate to job.total_timesteps, evaluating every eval_every steps.

    Never raises for candidate faults: a reward that fails (exception, NaN, a dead worker) ends the
    training with status 'reward_failed' and the step and message; anything else is 'crashed'.
    """
    import torch

    from reward_coder.evaluate import evaluate_policy
    from reward_coder.reward.fields import fields_used
    from reward_coder.sandbox import RewardFailure
    from reward_coder.train.tb_callback import log_evaluation, trainer_callbacks
    from reward_coder.train.vec_reward import RewardVecWrapper

    torch.set_num_threads(job.torch_threads)
    started = time.monotonic()
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    curve = list(_load_curve(out_dir))
    reward_fn = None
    venv = None
    model = None
    timesteps = 0
    try:
        # the envs probe, and the sandbox receives, only the fields the reward code reads
        fields = fields_used(job.code or "", job.card.field_names()) if job.reward_kind != "native" else ()
        reward_fn = build_reward(job, fields)
        venv = make_vec_env(job.card, job.n_envs, job.seed, job.max_episode_steps, fields=fields)
        wrapper = None
        if reward_fn is not None:
            wrapper = RewardVecWrapper(venv, reward_fn, job.card, fields)
            venv = wrapper
        algo = _algorithm_class(job.algorithm)
        device = resolve_device(job.device)
        tb = str(out_dir / "tb") if job.tensorboard and _has_tensorboard() else None
        if _model_path(out_dir).exists():
            model = algo.load(_model_path(out_dir), env=venv, device=device)
        else:
            model = algo("MlpPolicy", venv, seed=job.seed, device=device, verbose=0, tensorboard_log=tb,
                         **job.hyperparameters)
        timesteps = int(model.num_timesteps)

        def policy(obs: np.ndarray) -> np.ndarray:
            action, _ = model.predict(obs, deterministic=True)
            return action

        segment_start = time.monotonic()
        segment_steps_start = timesteps
        while timesteps < job.total_timesteps:
            chunk = min(job.eval_every, job.total_timesteps - timesteps)
            model.learn(total_timesteps=chunk, reset_num_timesteps=False, progress_bar=False,
                        tb_log_name="train", callback=trainer_callbacks(out_dir))
            timesteps = int(model.num_timesteps)
            evaluation = evaluate_policy(policy, job.card, job.success, episodes=job.eval_episodes,
                                         seed=10_000 + job.seed, max_episode_steps=job.max_episode_steps)
            curve.append(CurvePoint(timesteps, evaluation.success_rate, evaluation.metric_mean,
                                    evaluation.native_return_mean, evaluation.length_mean,
                                    time.monotonic() - started))
            model.save(_model_path(out_dir))
            _save_curve(out_dir, curve)
            log_evaluation(model, curve[-1])
        steps_per_s = (timesteps - segment_steps_start) / max(time.monotonic() - segment_start, 1e-9)
        final = evaluate_policy(policy, job.card, job.success, episodes=job.eval_episodes,
                                seed=20_000 + job.seed, reward_fn=reward_fn,
                                max_episode_steps=job.max_episode_steps)
        return TrainOutcome(
            candidate_id=job.candidate_id, status="ok", timesteps=timesteps, curve=tuple(curve),
            train_term_stats=wrapper.term_log.summary() if wrapper else {},
            eval=_eval_record(final), checkpoint=str(_model_path(out_dir)),
            wall_s=time.monotonic() - started, steps_per_s=steps_per_s, device=str(model.device),
        )
    except RewardFailure as failure:
        return TrainOutcome(
            candidate_id=job.candidate_id, status="reward_failed", timesteps=timesteps, curve=tuple(curve),
            failure=str(failure), failure_step=getattr(failure, "step", None), wall_s=time.monotonic() - started,
        )
    except Exception as err:  # noqa: BLE001 - a candidate's training must fail alone, with its message
        (out_dir / "crash.txt").write_text(traceback.format_exc())
        return TrainOutcome(
            candidate_id=job.candidate_id, status="crashed", timesteps=timesteps, curve=tuple(curve),
            failure=f"{type(err).__name__}: {err}", wall_s=time.monotonic() - started,
        )
    finally:
        if venv is not None:
            venv.close()
        elif reward_fn is not None:
            reward_fn.close()


def _has_tensorboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _eval_record(result) -> dict[str, Any]:
    from dataclasses import asdict

    record: dict[str, Any] = dict(result.summary())
    record["episodes"] = [asdict(e) for e in result.episodes]
    record["term_stats"] = {k: asdict(v) for k, v in result.term_stats.items()}
    return record


def _save_curve(out_dir: Path, curve: list[CurvePoint]) -> None:
    import json
    import os
    from dataclasses import asdict

    tmp = out_dir / ".curve.json.tmp"
    tmp.write_text(json.dumps([asdict(p) for p in curve]))
    os.replace(tmp, out_dir / "curve.json")


def _load_curve(out_dir: Path) -> list[CurvePoint]:
    import json

    path = out_dir / "curve.json"
    if not path.exists():
        return []
    return [CurvePoint(**p) for p in json.loads(path.read_text())]


def rollout_size(algorithm: str, n_envs: int, hyperparameters: dict[str, Any]) -> int:
    """Steps one training iteration consumes: on-policy methods collect n_steps per env before updating."""
    if algorithm.upper() in ("PPO", "A2C"):
        default = 2048 if algorithm.upper() == "PPO" else 5
        return int(hyperparameters.get("n_steps", default)) * n_envs
    return n_envs


def with_budget(job: TrainJob, total_timesteps: int) -> TrainJob:
    return replace(job, total_timesteps=total_timesteps)


def outcome_to_dict(outcome: TrainOutcome) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(outcome)


def outcome_from_dict(data: dict[str, Any]) -> TrainOutcome:
    return TrainOutcome(
        **{
            **data,
            "curve": tuple(CurvePoint(**p) for p in data.get("curve", ())),
            "train_term_stats": {k: TermStats(**v) for k, v in data.get("train_term_stats", {}).items()},
        }
    )
