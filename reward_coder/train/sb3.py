"""Train one candidate with stable-baselines3, with its reward in the sandbox, and evaluate it as it goes.

A TrainJob is plain data, so it can be sent to a worker process (or a Ray task). Training resumes
from a checkpoint, which is how successive halving continues the candidates it keeps.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np

from reward_coder.outcomes import CurvePoint, TrainOutcome, curve_point_from_dict
from reward_coder.types import EnvCard, SuccessSpec

RewardKind = Literal["code", "native", "sparse"]


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
    normalize_obs: bool = False
    """VecNormalize the policy's observations (statistics saved with every checkpoint, frozen to evaluate)."""
    normalize_reward: bool = False
    """VecNormalize the reward being trained (by a running estimate of its discounted return's std);
    evaluations and reported returns always use the unnormalized reward."""
    eval_seed: int | None = None
    """First env seed of the final evaluation's episodes; None: 20_000 + seed. Learning-curve evaluations
    use 10_000 + seed, so a final on seeds of its own is never the data the curve chose by."""
    final_eval_episodes: int | None = None
    """Episodes of the final evaluation; None: eval_episodes."""

    # properties, not fields: pickles and defaults of TrainJob stay as they were
    @property
    def resources_cpus(self) -> float:
        """CPUs this job asks a cluster scheduler for: one (torch_threads is 1; the sandbox worker waits)."""
        return 1.0

    @property
    def resources_gpus(self) -> float:
        """Fraction of a GPU this job asks a cluster scheduler for: gpu_share (default GPU_SHARE) when it will
        train on CUDA, else 0 (Ray then hides every GPU from it)."""
        try:
            device, _ = choose_device(self.device, expected_policy(self.card), "policy", self.hyperparameters)
        except Exception:  # noqa: BLE001 - 'cuda' asked for where the driver sees none: a worker may have one
            device = self.device
        share = self.gpu_share if self.gpu_share is not None else GPU_SHARE
        return share if str(device).startswith("cuda") else 0.0
    trajectory_episodes: int = 0
    """Final-evaluation episodes whose transitions come back in eval['trajectories'] (encoded .npz, see
    reward_coder.screening) for screening later candidates; 0 keeps none (finals, bench)."""
    gpu_share: float | None = None
    """GPU share asked for when training on CUDA (`--gpus-per-job`); None: GPU_SHARE."""


WIDE_MLP_UNITS = 1024
"""An MLP with a layer at least this wide is no longer 'small': --device auto gives it the GPU."""

GPU_SHARE = 0.25
"""Fraction of one GPU a CUDA training job asks a cluster scheduler for (Ray): four candidates share a card."""


def _widest_layer(hyperparameters: dict[str, Any] | None) -> int:
    """The widest hidden layer of policy_kwargs.net_arch (a list, or a dict of pi/vf/qf lists); 0 if unset."""
    net_arch = ((hyperparameters or {}).get("policy_kwargs") or {}).get("net_arch")
    widths: list[int] = []
    parts = net_arch.values() if isinstance(net_arch, dict) else [net_arch]
    for part in parts:
        for width in part if isinstance(part, (list, tuple)) else ():
            if isinstance(width, (int, float)) and not isinstance(width, bool):
                widths.append(int(width))
            elif isinstance(width, dict):  # SB3's old [64, dict(pi=[..], vf=[..])] form
                widths.extend(int(w) for v in width.values() for w in v if isinstance(w, (int, float)))
    return max(widths, default=0)


def choose_device(requested: str, policy: str = "MlpPolicy", what: str = "policy",
                  hyperparameters: dict[str, Any] | None = None) -> tuple[str, str]:
    """The torch device for one network and why: (device, reason).

    `requested` is --device: 'cpu' and 'cuda' (or 'cuda:N') are obeyed ('cuda' without a visible GPU is a
    ConfigError); 'auto' chooses as an expert would:

    - no CUDA device visible -> CPU;
    - `what` 'decoder' (the latent mode's reward decoder, batched episode regressions) -> CUDA;
    - a CNN policy (image observations) -> CUDA;
    - an MLP policy (PPO, A2C, small SAC/TD3/DQN nets) -> CPU: SB3 warns that PPO/A2C with an MlpPolicy
      run faster on CPU, and a small net's kernel launches and host-device copies cost more than they save;
      an MLP with a layer of WIDE_MLP_UNITS or more (policy_kwargs.net_arch) -> CUDA.
    """
    import torch

    from reward_coder.errors import ConfigError

    asked = (requested or "auto").strip().lower()
    if asked == "cpu":
        return "cpu", "cpu: asked for with --device cpu"
    if asked == "cuda" or asked.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {requested} asks for CUDA, but torch.cuda.is_available() is False here "
                              "(no GPU visible, or a CPU-only torch build); use --device auto or cpu")
        return asked, f"{asked}: asked for with --device {requested}"
    if asked != "auto":
        return requested, f"{requested}: as asked with --device"
    if not torch.cuda.is_available():
        return "cpu", "auto: no CUDA device visible"
    if what == "decoder":
        return "cuda", "auto: the latent reward decoder on a visible GPU"
    if "cnn" in policy.lower():
        return "cuda", f"auto: {policy} on a visible GPU"
    widest = _widest_layer(hyperparameters)
    if widest >= WIDE_MLP_UNITS:
        return "cuda", f"auto: {policy} with {widest}-unit layers is large enough to profit from a visible GPU"
    return "cpu", f"auto: {policy} trains faster on CPU (SB3's own advice)"


def expected_policy(card: EnvCard) -> str:
    """The policy a card's env will get, without building it: a CNN for pixel observations (make_kwargs obs)."""
    obs = str((card.make_kwargs or {}).get("obs", "")).lower()
    return "CnnPolicy" if obs in ("pixels", "pixel", "image", "rgb") else "MlpPolicy"


def resolve_device(device: str, policy: str = "MlpPolicy", what: str = "policy") -> str:
    """The device of choose_device (kept for callers that need no reason)."""
    return choose_device(device, policy, what)[0]


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
                 fields: tuple[str, ...] | None = None, *, seed_resets: bool = True):
    """A DummyVecEnv of the card's env (FieldProbe included), env i seeded with seed + i.

    Dummy, not Subproc: candidates already train one per core. `seed_resets=False` leaves the first
    reset unseeded, for a continuation whose RNG streams are restored from a checkpoint instead.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv

    from reward_coder.envs import env_fns

    venv = DummyVecEnv(env_fns(card, n_envs, seed, max_episode_steps=max_episode_steps, fields=fields))
    if seed_resets:
        venv.seed(seed)
    return venv


def training_env(venv, reward_fn, card: EnvCard, fields: tuple[str, ...], *, normalize_obs: bool = False,
                 normalize_reward: bool = False, gamma: float = 0.99):
    """The stack training steps through, bottom to top (DESIGN):

    DummyVecEnv -> probe -> RewardVecWrapper (the reward being trained; absent for the native one)
    -> VecMonitor (so ep_rew_mean is the return of the reward being trained) -> VecNormalize (optional).

    Returns (top, reward_wrapper or None, VecNormalize or None).
    """
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    from reward_coder.train.vec_reward import RewardVecWrapper

    wrapper = RewardVecWrapper(venv, reward_fn, card, fields) if reward_fn is not None else None
    top = VecMonitor(wrapper if wrapper is not None else venv)
    normalizer = None
    if normalize_obs or normalize_reward:
        normalizer = VecNormalize(top, norm_obs=normalize_obs, norm_reward=normalize_reward, gamma=gamma,
                                  clip_obs=10.0, clip_reward=10.0)
        top = normalizer
    return top, wrapper, normalizer


def _algorithm_class(name: str):
    import stable_baselines3

    try:
        return getattr(stable_baselines3, name.upper())
    except AttributeError:
        raise ValueError(f"unknown algorithm '{name}'; use PPO, SAC, TD3, A2C, DQN or DDPG") from None


ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU"}
"""Names a card may give policy_kwargs.activation_fn (YAML cannot hold a torch class)."""


def policy_name(observation_space) -> str:
    """SB3's policy for the env's observation: a CNN for images (Crafter's pixels), an MLP for vectors."""
    from stable_baselines3.common.preprocessing import is_image_space

    return "CnnPolicy" if is_image_space(observation_space) else "MlpPolicy"


def model_kwargs(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Card hyperparameters as SB3 keyword arguments: policy_kwargs.activation_fn 'relu' -> torch.nn.ReLU."""
    kwargs = dict(hyperparameters)
    policy_kwargs = dict(kwargs.get("policy_kwargs") or {})
    activation = policy_kwargs.get("activation_fn")
    if isinstance(activation, str):
        import torch

        name = ACTIVATIONS.get(activation.lower())
        if name is None:
            raise ValueError(f"unknown activation_fn '{activation}'; use one of {', '.join(ACTIVATIONS)}")
        policy_kwargs["activation_fn"] = getattr(torch.nn, name)
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    return kwargs


MODEL_FILE = "model.zip"
NORMALIZE_FILE = "vecnormalize.pkl"
BUFFER_FILE = "replay_buffer.pkl"
RNG_FILE = "rng.pkl"


def _rng_state(model, venv) -> dict[str, Any]:
    """Every RNG stream a continuation must pick up: python, numpy, torch, each env and action space."""
    import random

    import torch

    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "model_action_space": model.action_space.np_random.bit_generator.state,
        "envs": [env.unwrapped.np_random.bit_generator.state for env in venv.envs],
        "env_action_spaces": [env.action_space.np_random.bit_generator.state for env in venv.envs],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict[str, Any], model, venv) -> None:
    """Undo the reseeding SB3's load() does (it calls env.seed(seed): rung 0's start states again)."""
    import random

    import torch

    from reward_coder.envs import continue_streams

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    model.action_space.np_random.bit_generator.state = state["model_action_space"]
    venv._reset_seeds()
    for env, env_state, space_state in zip(venv.envs, state["envs"], state["env_action_spaces"]):
        continue_streams(env)
        env.unwrapped.np_random.bit_generator.state = env_state
        env.action_space.np_random.bit_generator.state = space_state


def _write_pickle(value: Any):
    def write(path: Path) -> None:
        import pickle

        with open(path, "wb") as handle:
            pickle.dump(value, handle)

    return write


def _read_pickle(path: Path) -> Any:
    import pickle

    with open(path, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - our own checkpoint, verified against its manifest hash


def save_training_state(out_dir: Path, model, venv, normalizer, curve: list[CurvePoint]):
    """One atomic checkpoint: model and optimizer, normalization statistics, replay buffer, RNG streams."""
    from reward_coder.train.checkpoint import save_checkpoint

    writers: dict[str, Any] = {MODEL_FILE: lambda path: model.save(path)}
    if normalizer is not None:
        writers[NORMALIZE_FILE] = lambda path: normalizer.save(path)
    if getattr(model, "replay_buffer", None) is not None:
        writers[BUFFER_FILE] = lambda path: model.save_replay_buffer(path)
    writers[RNG_FILE] = _write_pickle(_rng_state(model, venv))
    checkpoint = save_checkpoint(out_dir, int(model.num_timesteps), writers)
    _save_curve(out_dir, curve)
    return checkpoint


def train_candidate(job: TrainJob, on_progress: Callable[[CurvePoint], None] | None = None) -> TrainOutcome:
    """Train (or continue training) one candidate to job.total_timesteps, evaluating every eval_every steps.

    `on_progress` gets each learning-curve point as it is made (`reward-coder train` shows them).

    A continuation loads the newest whole checkpoint (model, optimizer, VecNormalize statistics,
    replay buffer, RNG streams), so a rung picks up where the last one stopped; a broken newest
    checkpoint falls back to the one before it, and with none whole the candidate starts again.
    Evaluations use frozen normalization statistics and score the unnormalized reward.

    Never raises for candidate faults: a reward that fails (exception, NaN, a dead worker) ends the
    training with status 'reward_failed' and the step and message; anything else is 'crashed'.
    """
    import torch

    from reward_coder.reward.fields import fields_used
    from reward_coder.sandbox import RewardFailure
    from reward_coder.sandbox.check import takes_memory
    from reward_coder.train.checkpoint import latest_checkpoint
    from reward_coder.train.tb_callback import log_evaluation, quiet_tensorboard_write_failures, trainer_callbacks

    torch.set_num_threads(job.torch_threads)
    started = time.monotonic()
    out_dir = Path(job.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a full or read-only disk: the candidate fails alone, as a value
        return TrainOutcome(candidate_id=job.candidate_id, status="crashed", timesteps=0, curve=(),
                            failure=f"cannot create {out_dir}: {err.strerror or err}",
                            wall_s=time.monotonic() - started, seed=job.seed)
    checkpoint, notes = latest_checkpoint(out_dir)
    notes = list(notes)
    if notes:
        notes.append(f"continued from {checkpoint.folder.name}" if checkpoint else "no whole checkpoint: trained from the start")
    curve = [p for p in _load_curve(out_dir) if checkpoint is not None and p.timesteps <= checkpoint.timesteps]
    reward_fn = eval_reward = None
    evaluating = False
    venv = None
    model = None
    timesteps = 0
    try:
        # the envs probe, and the sandbox receives, only the fields the reward code reads
        fields = fields_used(job.code or "", job.card.field_names()) if job.reward_kind != "native" else ()
        reward_fn = build_reward(job, fields)
        # a reward with per-episode memory gets its own worker for evaluation, so training memory stays intact
        eval_reward = build_reward(job, fields) if reward_fn is not None and takes_memory(job.code) else reward_fn
        base = make_vec_env(job.card, job.n_envs, job.seed, job.max_episode_steps, fields=fields,
                            seed_resets=checkpoint is None)
        venv, wrapper, normalizer = training_env(
            base, reward_fn, job.card, fields, normalize_obs=job.normalize_obs,
            normalize_reward=job.normalize_reward,
            gamma=float(job.hyperparameters.get("gamma", 0.99)))
        algo = _algorithm_class(job.algorithm)
        policy_kind = policy_name(venv.observation_space)
        device, device_reason = choose_device(job.device, policy_kind, "policy", job.hyperparameters)
        tb = str(out_dir / "tb") if job.tensorboard and _has_tensorboard() else None
        if tb is not None:
            quiet_tensorboard_write_failures()
        if checkpoint is not None:
            if normalizer is not None and checkpoint.has(NORMALIZE_FILE):
                from stable_baselines3.common.vec_env import VecNormalize

                normalizer = VecNormalize.load(str(checkpoint.path(NORMALIZE_FILE)), normalizer.venv)
                venv = normalizer
            model = algo.load(checkpoint.path(MODEL_FILE), env=venv, device=device, tensorboard_log=tb)
            if checkpoint.has(BUFFER_FILE):
                model.load_replay_buffer(checkpoint.path(BUFFER_FILE))
            if checkpoint.has(RNG_FILE):
                _restore_rng(_read_pickle(checkpoint.path(RNG_FILE)), model, base)
        else:
            model = algo(policy_kind, venv, seed=job.seed, device=device, verbose=0, tensorboard_log=tb,
                         **model_kwargs(job.hyperparameters))
        timesteps = int(model.num_timesteps)
        if wrapper is not None:
            wrapper.timesteps = timesteps  # a continuation's reward failures name the run's own env step

        def policy(obs: np.ndarray) -> np.ndarray:
            if normalizer is not None:
                obs = normalizer.normalize_obs(obs)  # frozen statistics: normalize_obs never updates them
            action, _ = model.predict(obs, deterministic=job.card.train.eval_deterministic)
            return action

        segment_start = time.monotonic()
        segment_steps_start = timesteps
        while timesteps < job.total_timesteps:
            chunk = min(job.eval_every, job.total_timesteps - timesteps)
            model.learn(total_timesteps=chunk, reset_num_timesteps=False, progress_bar=False,
                        tb_log_name="train", callback=trainer_callbacks(out_dir))
            timesteps = int(model.num_timesteps)
            evaluating = True
            evaluation = _evaluate(job, policy, eval_reward, seed=10_000 + job.seed)
            evaluating = False
            curve.append(curve_point(timesteps, evaluation, time.monotonic() - started))
            save_training_state(out_dir, model, base, normalizer, curve)
            log_evaluation(model, curve[-1])
            if on_progress is not None:
                on_progress(curve[-1])
        steps_per_s = (timesteps - segment_steps_start) / max(time.monotonic() - segment_start, 1e-9)
        final_seed = job.eval_seed if job.eval_seed is not None else 20_000 + job.seed
        evaluating = True
        final = _evaluate(job, policy, eval_reward, seed=final_seed, episodes=job.final_eval_episodes,
                          trajectory_episodes=job.trajectory_episodes)
        latest, _ = latest_checkpoint(out_dir)
        return TrainOutcome(
            candidate_id=job.candidate_id, status="ok", timesteps=timesteps, curve=tuple(curve),
            train_term_stats=wrapper.term_log.summary() if wrapper else {},
            eval=_eval_record(final), checkpoint=str(latest.path(MODEL_FILE)) if latest else None,
            wall_s=time.monotonic() - started, steps_per_s=steps_per_s, device=str(model.device),
            device_reason=device_reason, seed=job.seed, eval_seed=final_seed, normalized=normalizer is not None, notes=tuple(notes),
        )
    except RewardFailure as failure:
        # in an evaluation the env step is the evaluation env's; say so, and after how much training
        where = f" (evaluating the policy after {timesteps} training steps)" if evaluating else ""
        return TrainOutcome(
            candidate_id=job.candidate_id, status="reward_failed", timesteps=timesteps, curve=tuple(curve),
            failure=str(failure) + where, failure_step=None if evaluating else failure.env_step,
            wall_s=time.monotonic() - started, seed=job.seed, notes=tuple(notes),
        )
    except Exception as err:  # noqa: BLE001 - a candidate's training must fail alone, with its message
        _write_crash(out_dir / "crash.txt", traceback.format_exc())
        return TrainOutcome(
            candidate_id=job.candidate_id, status="crashed", timesteps=timesteps, curve=tuple(curve),
            failure=f"{type(err).__name__}: {err}", wall_s=time.monotonic() - started, seed=job.seed,
            notes=tuple(notes),
        )
    finally:
        if venv is not None:
            venv.close()
        elif reward_fn is not None:
            reward_fn.close()
        if eval_reward is not None and eval_reward is not reward_fn:
            eval_reward.close()


def _write_crash(path: Path, text: str) -> None:
    """Keep a crashed training's traceback for the curious; a full disk is often why it crashed, so a
    failed write is dropped (and a partial file removed): the outcome carries the message either way."""
    try:
        path.write_text(text)
    except OSError:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _evaluate(job: TrainJob, policy, reward_fn, *, seed: int, episodes: int | None = None,
              trajectory_episodes: int = 0):
    from reward_coder.evaluate import evaluate_policy

    return evaluate_policy(policy, job.card, job.success, episodes=episodes or job.eval_episodes, seed=seed,
                           reward_fn=reward_fn, max_episode_steps=job.max_episode_steps,
                           trajectory_episodes=trajectory_episodes)


def curve_point(timesteps: int, evaluation, wall_s: float) -> CurvePoint:
    """A learning-curve point from an evaluation: task metric, both returns, progress, per-term sums."""
    episodes = evaluation.episodes
    term_means: dict[str, float] = {}
    for episode in episodes:
        for name, value in episode.term_sums.items():
            term_means[name] = term_means.get(name, 0.0) + value / len(episodes)
    returns = [e.candidate_return for e in episodes if getattr(e, "candidate_return", None) is not None]
    progress = [e.progress for e in episodes if getattr(e, "progress", None) is not None]
    return CurvePoint(
        timesteps, evaluation.success_rate, evaluation.metric_mean, evaluation.native_return_mean,
        evaluation.length_mean, wall_s,
        candidate_return=float(np.mean(returns)) if returns else None,
        progress=float(np.mean(progress)) if progress else None,
        term_means=term_means, episodes=len(episodes),
    )


def _has_tensorboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _eval_record(result) -> dict[str, Any]:
    from dataclasses import asdict

    record: dict[str, Any] = dict(result.summary())
    record["episodes"] = [asdict(e) for e in result.episodes]
    record["term_stats"] = {k: asdict(v) for k, v in result.term_stats.items()}
    if getattr(result, "trajectories", ()):
        from reward_coder.screening import encode_episodes

        record["trajectories"] = encode_episodes(result.trajectories)  # the loop stores it as an .npz
    return record


def _save_curve(out_dir: Path, curve: list[CurvePoint]) -> None:
    import json
    import os
    from dataclasses import asdict

    tmp = out_dir / ".curve.json.tmp"
    try:
        tmp.write_text(json.dumps([asdict(p) for p in curve]))
        os.replace(tmp, out_dir / "curve.json")
    except OSError:
        tmp.unlink(missing_ok=True)  # leave the last whole curve.json, not a 0-byte temp file
        raise


def _load_curve(out_dir: Path) -> list[CurvePoint]:
    import json

    path = out_dir / "curve.json"
    if not path.exists():
        return []
    try:
        return [curve_point_from_dict(p) for p in json.loads(path.read_text())]
    except (ValueError, TypeError):  # a curve we cannot read is rebuilt from the checkpoints' evaluations on
        return []


def rollout_size(algorithm: str, n_envs: int, hyperparameters: dict[str, Any]) -> int:
    """Steps one training iteration consumes: on-policy methods collect n_steps per env before updating."""
    if algorithm.upper() in ("PPO", "A2C"):
        default = 2048 if algorithm.upper() == "PPO" else 5
        return int(hyperparameters.get("n_steps", default)) * n_envs
    return n_envs


def with_budget(job: TrainJob, total_timesteps: int) -> TrainJob:
    return replace(job, total_timesteps=total_timesteps)
