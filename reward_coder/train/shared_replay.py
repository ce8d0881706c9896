"""Shared experience for off-policy candidates (LaRes): K rewards train K learners from ONE replay buffer.

Separate runs spend K * T env steps on K candidates. Here the K SAC/TD3 learners of an iteration share one
stream of T env steps: each new episode of each env is driven by the next learner in turn, every
transition goes into one buffer once, and every candidate's reward scores it when it is stored (one
column per candidate in a (capacity, n_envs, K) reward array). Each learner samples the shared
observations and actions with its own reward column. After every vec step every learner does the
gradient updates a separate run would do after that step, so per candidate the updates, the buffer
size, the algorithm, its hyperparameters, the seed and the evaluations (train_candidate's) are those of
a separate run of T steps; only who collected the data differs. Total env steps: 1/K of K separate runs.

The buffer also keeps each transition's named fields (state and next_state, the union of what the
candidates read), so a candidate whose code changes is relabelled in place (`SharedReplay.relabel`):
only its column is recomputed.

Not covered (callers fall back to separate runs, see `shared_replay_problem`): rewards with per-episode
`memory` (a relabel cannot replay it), VecNormalize (per-candidate reward statistics), gSDE, and
train_freq in episodes.

Resume: a SharedJob with an out_dir checkpoints the whole shared run there after every evaluation
(`<out_dir>/checkpoints/step-N/`: each learner's model and optimizer, the shared buffer up to its fill
with every reward column and the named fields, the loop's counters, curves, term logs and RNG streams),
whole or detectably broken like a single candidate's (reward_coder.train.checkpoint). A rerun picks up
from the newest whole one if it was made for the same candidates and code; the episode that was running
is cut there (its stored transitions keep their own next observations, so nothing is mislabelled) and
the envs start new ones. Each candidate's final model is also checkpointed in its own folder, and with
`tensorboard` its losses and evaluations go to `<its folder>/tb/shared_1`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from reward_coder.outcomes import CurvePoint, TrainOutcome
from reward_coder.train.sb3 import TrainJob

OFF_POLICY = ("SAC", "TD3", "DDPG")


def shared_replay_problem(jobs: Sequence[TrainJob]) -> str | None:
    """Why these jobs cannot share one replay buffer ('' / None when they can)."""
    from reward_coder.sandbox.check import takes_memory

    if len(jobs) < 2:
        return "fewer than 2 candidates"
    first = jobs[0]
    if first.algorithm.upper() not in OFF_POLICY:
        return f"{first.algorithm} is on-policy (shared replay needs SAC, TD3 or DDPG)"
    for job in jobs:
        same = (job.card.id, job.algorithm, job.n_envs, job.seed, job.total_timesteps, job.max_episode_steps,
                repr(sorted(job.hyperparameters.items())))
        if same != (first.card.id, first.algorithm, first.n_envs, first.seed, first.total_timesteps,
                    first.max_episode_steps, repr(sorted(first.hyperparameters.items()))):
            return f"{job.candidate_id} has other training settings than {first.candidate_id}"
        if job.reward_kind != "code":
            return f"{job.candidate_id} is not a code reward"
        if takes_memory(job.code):
            return f"{job.candidate_id} takes per-episode memory (a relabel cannot replay it)"
        if job.normalize_obs or job.normalize_reward:
            return "VecNormalize is not supported with shared replay"
    if first.hyperparameters.get("use_sde"):
        return "gSDE is not supported with shared replay"
    train_freq = first.hyperparameters.get("train_freq", 1)
    if isinstance(train_freq, (list, tuple)) and str(train_freq[1]).startswith("episode"):
        return "train_freq in episodes is not supported with shared replay"
    return None


_BUFFER_ARRAYS = ("observations", "next_observations", "actions", "dones", "timeouts")
"""The SB3 buffer arrays every learner shares with the first (its rewards are a column of their own)."""


class SharedReplay:
    """One replay store: SB3 buffers of K learners sharing obs/action/done arrays, a reward column each,
    and the named fields of every transition (for relabelling)."""

    def __init__(self, models: Sequence[Any], field_names: Sequence[str]) -> None:
        self.models = list(models)
        primary = self.models[0].replay_buffer
        self.primary = primary
        shape = primary.rewards.shape  # (capacity, n_envs)
        self.rewards = np.zeros((*shape, len(self.models)), np.float32)
        """(capacity, n_envs, K): candidate k's reward of every stored transition."""
        for k, model in enumerate(self.models):
            buffer = model.replay_buffer
            if k:
                for name in _BUFFER_ARRAYS:
                    if hasattr(primary, name):  # optimize_memory_usage: no next_observations
                        setattr(buffer, name, getattr(primary, name))
            buffer.rewards = self.rewards[:, :, k]  # a view: sampling reads column k
        self.field_names = tuple(field_names)
        self.state: dict[str, np.ndarray] = {}
        self.next_state: dict[str, np.ndarray] = {}
        self.env_actions: np.ndarray | None = None
        """The actions as the env (and every reward) got them, unscaled."""
        self.inserted = 0

    @property
    def size(self) -> int:
        return self.primary.buffer_size if self.primary.full else int(self.primary.pos)

    def add(self, obs, next_obs, buffer_action, env_action, dones, infos, state, next_state,
            rewards: np.ndarray) -> None:
        """Store one vec step once; `rewards` is (n_envs, K), every candidate's reward of it."""
        slot = int(self.primary.pos)
        capacity, n_envs = self.rewards.shape[:2]
        if self.env_actions is None:
            self.env_actions = np.zeros((capacity, *np.shape(env_action)), np.float64)
            for name in self.field_names:
                value = np.asarray(state[name])
                self.state[name] = np.zeros((capacity, *value.shape), value.dtype)
                self.next_state[name] = np.zeros((capacity, *value.shape), value.dtype)
        for name in self.field_names:
            self.state[name][slot] = state[name]
            self.next_state[name][slot] = next_state[name]
        self.env_actions[slot] = env_action
        self.rewards[slot] = rewards
        self.primary.add(obs, next_obs, buffer_action, rewards[:, 0], dones, infos)
        self.rewards[slot] = rewards  # add() wrote column 0 again; keep all columns
        for model in self.models[1:]:
            model.replay_buffer.pos, model.replay_buffer.full = self.primary.pos, self.primary.full
        self.inserted += n_envs

    def relabel(self, k: int, reward_fn: Callable[..., Any], fields: Sequence[str], chunk: int = 4096) -> int:
        """Rescore every stored transition with candidate k's (new) reward; only column k changes.
        Returns the transitions rescored."""
        size = self.size
        if not size:
            return 0
        n_envs = self.rewards.shape[1]
        flat = {name: arr[:size].reshape(size * n_envs, *arr.shape[2:]) for name, arr in self.state.items()}
        flat_next = {name: arr[:size].reshape(size * n_envs, *arr.shape[2:]) for name, arr in self.next_state.items()}
        actions = self.env_actions[:size].reshape(size * n_envs, *self.env_actions.shape[2:])
        column = np.empty(size * n_envs, np.float32)
        for start in range(0, size * n_envs, chunk):
            part = slice(start, start + chunk)
            reward, _terms = reward_fn({n: flat[n][part] for n in fields}, actions[part],
                                       {n: flat_next[n][part] for n in fields})
            column[part] = reward
        self.rewards[:size, :, k] = column.reshape(size, n_envs)
        return size * n_envs


@dataclass(frozen=True)
class SharedJob:
    """The K jobs of one shared-replay training (picklable: one executor task trains them all)."""

    jobs: tuple[TrainJob, ...]
    out_dir: str = ""
    """The folder holding every candidate's folder (an iteration's training/): each job then trains in
    out_dir/<its own folder's name>, so an executor that carries a job's out_dir to another node and
    back (Ray, remote.py) carries all K. Empty: each job's own out_dir as it is."""

    @property
    def resources_cpus(self) -> float:
        """One process trains all K (their sandbox workers wait on it)."""
        return 1.0

    @property
    def resources_gpus(self) -> float:
        return max((job.resources_gpus for job in self.jobs), default=0.0)

    def placed_jobs(self) -> list[TrainJob]:
        if not self.out_dir:
            return list(self.jobs)
        return [replace(job, out_dir=str(Path(self.out_dir) / Path(job.out_dir).name)) for job in self.jobs]


SHARED_BUFFER = "shared_buffer.npz"
SHARED_STATE = "shared_state.pkl"


def _model_file(k: int) -> str:
    return f"model-{k}.zip"


def _fingerprint(jobs: Sequence[TrainJob]) -> list[list[str]]:
    """What a shared checkpoint was made for: each candidate's id and the hash of its code, in order."""
    import hashlib

    return [[job.candidate_id, hashlib.sha256((job.code or "").encode()).hexdigest()] for job in jobs]


def _save_buffer(replay: SharedReplay, path: Path) -> None:
    size = replay.size
    # optimize_memory_usage keeps no next_observations (None): only the arrays the buffer has
    arrays = {f"buffer_{name}": getattr(replay.primary, name)[:size] for name in _BUFFER_ARRAYS
              if getattr(replay.primary, name, None) is not None}
    arrays["rewards"] = replay.rewards[:size]
    if replay.env_actions is not None:
        arrays["env_actions"] = replay.env_actions[:size]
    for name in replay.field_names:
        if name in replay.state:
            arrays[f"state_{name}"] = replay.state[name][:size]
            arrays[f"next_state_{name}"] = replay.next_state[name][:size]
    arrays["counters"] = np.array([int(replay.primary.pos), int(replay.primary.full), replay.inserted], np.int64)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _load_buffer(replay: SharedReplay, path: Path) -> None:
    with np.load(path) as data:
        pos, full, inserted = (int(v) for v in data["counters"])
        size = replay.primary.buffer_size if full else pos
        for name in _BUFFER_ARRAYS:
            if f"buffer_{name}" in data:
                getattr(replay.primary, name)[:size] = data[f"buffer_{name}"]
        replay.rewards[:size] = data["rewards"]
        if "env_actions" in data:
            actions = data["env_actions"]
            replay.env_actions = np.zeros((replay.rewards.shape[0], *actions.shape[1:]), actions.dtype)
            replay.env_actions[:size] = actions
            for name in replay.field_names:
                for store, prefix in ((replay.state, "state_"), (replay.next_state, "next_state_")):
                    values = data[f"{prefix}{name}"]
                    store[name] = np.zeros((replay.rewards.shape[0], *values.shape[1:]), values.dtype)
                    store[name][:size] = values
    replay.inserted = inserted
    for model in replay.models:
        model.replay_buffer.pos, model.replay_buffer.full = pos, bool(full)


def _updates_of(model) -> int:
    return int(getattr(model, "_n_updates", 0))


def train_shared(shared: SharedJob | Sequence[TrainJob],
                 on_progress: Callable[[str, CurvePoint], None] | None = None) -> list[TrainOutcome]:
    """Train the jobs' candidates from one shared replay buffer; one TrainOutcome per job, in order.

    The jobs must pass `shared_replay_problem`. Evaluations (learning curve every eval_every shared steps,
    final on the job's eval seeds) are train_candidate's. A candidate whose reward fails stops alone
    (status 'reward_failed'); the others go on.
    """
    import torch
    from stable_baselines3.common.logger import configure

    from reward_coder.envs import adapter_for
    from reward_coder.envs.sampling import fields_from_vec_step
    from reward_coder.reward.fields import fields_used
    from reward_coder.reward.terms import TermLog
    from reward_coder.sandbox import RewardFailure
    from reward_coder.train.checkpoint import latest_checkpoint, save_checkpoint
    from reward_coder.train.tb_callback import log_evaluation
    from reward_coder.train.sb3 import (
        RNG_FILE,
        _has_tensorboard,
        _read_pickle,
        _write_pickle,
        MODEL_FILE,
        _algorithm_class,
        _evaluate,
        _save_curve,
        build_reward,
        choose_device,
        curve_point,
        make_vec_env,
        model_kwargs,
        policy_name,
        _eval_record,
    )

    jobs = shared.placed_jobs() if isinstance(shared, SharedJob) else list(shared)
    home = Path(shared.out_dir) if isinstance(shared, SharedJob) and shared.out_dir else None
    problem = shared_replay_problem(jobs)
    if problem:
        raise ValueError(f"cannot share a replay buffer: {problem}")
    first = jobs[0]
    torch.set_num_threads(first.torch_threads)
    started = time.monotonic()
    card = first.card
    K = len(jobs)
    fields_of = [fields_used(job.code or "", card.field_names()) for job in jobs]
    union = tuple(name for name in card.field_names() if any(name in f for f in fields_of))
    rewards_fns: list[Any] = [None] * K
    eval_fns: list[Any] = [None] * K
    failed: dict[int, TrainOutcome] = {}
    curves: list[list[CurvePoint]] = [[] for _ in jobs]
    term_logs = [TermLog() for _ in jobs]
    venv = None
    outcomes: list[TrainOutcome | None] = [None] * K
    notes: list[str] = []
    checkpoint = None
    if home is not None:
        checkpoint, broken = latest_checkpoint(home)
        notes.extend(broken)
        if checkpoint is not None and checkpoint.extra.get("candidates") != _fingerprint(jobs):
            notes.append(f"{checkpoint.folder.name} was made for other candidates or code: trained from the start")
            checkpoint = None
        elif checkpoint is not None:
            notes.append(f"continued from {checkpoint.folder.name}")
    try:
        for k, job in enumerate(jobs):
            Path(job.out_dir).mkdir(parents=True, exist_ok=True)
            rewards_fns[k] = build_reward(job, fields_of[k])
        eval_fns = rewards_fns  # no memory: the training worker can score evaluations too
        venv = make_vec_env(card, first.n_envs, first.seed, first.max_episode_steps, fields=union)
        adapter = adapter_for(card, union)
        algo = _algorithm_class(first.algorithm)
        policy_kind = policy_name(venv.observation_space)
        device, device_reason = choose_device(first.device, policy_kind, "policy", first.hyperparameters)
        if checkpoint is not None:
            models = [algo.load(checkpoint.path(_model_file(k)), env=venv, device=device) for k in range(K)]
        else:
            models = [algo(policy_kind, venv, seed=job.seed, device=device, verbose=0,
                           **model_kwargs(job.hyperparameters)) for job in jobs]
        tensorboard = [bool(job.tensorboard) and _has_tensorboard() for job in jobs]
        for k, model in enumerate(models):
            model.set_logger(configure(str(Path(jobs[k].out_dir) / "tb" / "shared_1"), ["tensorboard"])
                             if tensorboard[k] else configure(None, []))
        replay = SharedReplay(models, union)
        n_envs = first.n_envs
        learning_starts = models[0].learning_starts
        frequency = int(models[0].train_freq.frequency)
        gradient_steps = models[0].gradient_steps
        updates_per_train = gradient_steps if gradient_steps >= 0 else frequency * n_envs
        alive = list(range(K))
        episodes_started = n_envs
        timesteps, vec_steps, next_eval = 0, 0, first.eval_every
        returns = np.zeros((n_envs, K))
        native_returns = np.zeros(n_envs)
        window: list[list[tuple[float, float]]] = [[] for _ in jobs]  # (candidate, native) returns of driven episodes
        if checkpoint is not None:
            _load_buffer(replay, checkpoint.path(SHARED_BUFFER))
            saved = _read_pickle(checkpoint.path(SHARED_STATE))
            timesteps, vec_steps, next_eval = saved["timesteps"], saved["vec_steps"], saved["next_eval"]
            episodes_started, alive, failed = saved["episodes_started"], saved["alive"], saved["failed"]
            curves, term_logs, window = saved["curves"], saved["term_logs"], saved["window"]
            venv.seed(first.seed + timesteps)  # new episodes, not rung 0's start states again
        else:
            venv.seed(first.seed)
        obs = venv.reset()
        if checkpoint is not None and checkpoint.has(RNG_FILE):
            _restore_shared_rng(_read_pickle(checkpoint.path(RNG_FILE)), models[0])
        probes = [info.get("rc_probe", {}) for info in venv.reset_infos]
        state = adapter.fields(np.asarray(obs), probes)
        actor = np.array([alive[(episodes_started - n_envs + i) % len(alive)] if alive else 0 for i in range(n_envs)])
        """Which learner drives each env's current episode."""

        def save_shared() -> None:
            writers: dict[str, Callable[[Path], None]] = {
                _model_file(k): (lambda path, m=models[k]: m.save(path)) for k in range(K)}
            writers[SHARED_BUFFER] = lambda path: _save_buffer(replay, path)
            writers[SHARED_STATE] = _write_pickle({
                "timesteps": timesteps, "vec_steps": vec_steps, "next_eval": next_eval,
                "episodes_started": episodes_started, "alive": list(alive), "failed": dict(failed),
                "curves": curves, "term_logs": term_logs, "window": window})
            writers[RNG_FILE] = _write_pickle(_shared_rng(models[0]))
            save_checkpoint(home, timesteps, writers, extra={"candidates": _fingerprint(jobs)})
            for k, job in enumerate(jobs):
                _save_curve(Path(job.out_dir), curves[k])
        total = first.total_timesteps
        action_space = models[0].action_space
        discrete = bool(card.action.discrete)

        def policy_of(k: int):
            def policy(o: np.ndarray) -> np.ndarray:
                return models[k].predict(o, deterministic=card.train.eval_deterministic)[0]
            return policy

        def evaluate(k: int, **kwargs):
            return _evaluate(jobs[k], policy_of(k), eval_fns[k], **kwargs)

        def fail(k: int, failure: RewardFailure, where: str = "") -> None:
            failed[k] = TrainOutcome(
                candidate_id=jobs[k].candidate_id, status="reward_failed", timesteps=timesteps,
                curve=tuple(curves[k]), failure=str(failure) + where,
                failure_step=None if where else failure.env_step, wall_s=time.monotonic() - started,
                seed=jobs[k].seed, notes=("shared replay",))
            if k in alive:
                alive.remove(k)

        while timesteps < total and alive:
            for i in range(n_envs):
                if actor[i] not in alive:
                    actor[i] = alive[i % len(alive)]
            if timesteps < learning_starts:
                env_action = np.array([action_space.sample() for _ in range(n_envs)])
            else:
                env_action = np.zeros((n_envs, *action_space.shape), action_space.dtype)
                for k in alive:
                    rows = np.flatnonzero(actor == k)
                    if rows.size:
                        env_action[rows] = models[k].predict(np.asarray(obs)[rows], deterministic=False)[0]
            buffer_action = models[0].policy.scale_action(env_action) if not discrete else env_action
            noise = getattr(models[0], "action_noise", None)
            if noise is not None and not discrete:  # as SB3's _sample_action: warm-up actions get noise too
                buffer_action = np.clip(buffer_action + noise(), -1, 1)
                env_action = models[0].policy.unscale_action(buffer_action)
            new_obs, native, dones, infos = venv.step(env_action)
            reset_infos = venv.reset_infos if dones.any() else ()
            next_state, state_after = fields_from_vec_step(adapter, np.asarray(new_obs), infos, dones, reset_infos)
            reward_action = (np.asarray(env_action).astype(np.int64).reshape(n_envs) if discrete
                             else np.asarray(env_action, np.float64).reshape(n_envs, -1))
            columns = np.zeros((n_envs, K), np.float32)
            for k in list(alive):
                try:
                    reward, terms = rewards_fns[k]({n: state[n] for n in fields_of[k]}, reward_action,
                                                   {n: next_state[n] for n in fields_of[k]}, env_step=timesteps)
                except RewardFailure as failure:
                    fail(k, failure)
                    continue
                columns[:, k] = reward
                term_logs[k].add(reward, terms)
            returns += columns
            native_returns += np.asarray(native, np.float64).reshape(n_envs)
            next_obs = np.array(new_obs, copy=True)
            for i in np.flatnonzero(dones):
                if infos[i].get("terminal_observation") is not None:
                    next_obs[i] = infos[i]["terminal_observation"]
            replay.add(np.asarray(obs), next_obs, buffer_action, reward_action, dones, infos, state, next_state, columns)
            for i in np.flatnonzero(dones):  # the env's next episode goes to the next learner in turn
                driver = int(actor[i])
                window[driver] = (window[driver] + [(float(returns[i, driver]), float(native_returns[i]))])[-100:]
                returns[i], native_returns[i] = 0.0, 0.0
                actor[i] = alive[episodes_started % len(alive)] if alive else 0
                episodes_started += 1
            obs, state = new_obs, state_after
            timesteps += n_envs
            vec_steps += 1
            for k in alive:
                models[k].num_timesteps = timesteps
                models[k]._update_current_progress_remaining(timesteps, total)
            if timesteps > learning_starts and vec_steps % frequency == 0 and updates_per_train > 0:
                for k in alive:
                    models[k].train(gradient_steps=updates_per_train, batch_size=models[k].batch_size)
            if timesteps >= next_eval or timesteps >= total:
                next_eval += first.eval_every
                for k in list(alive):
                    try:
                        evaluation = evaluate(k, seed=10_000 + jobs[k].seed)
                    except RewardFailure as failure:
                        fail(k, failure, f" (evaluating the policy after {timesteps} training steps)")
                        continue
                    curves[k].append(curve_point(timesteps, evaluation, time.monotonic() - started))
                    if tensorboard[k]:
                        if window[k]:
                            models[k].logger.record("rollout/candidate_return_mean", float(np.mean([r for r, _ in window[k]])))
                            models[k].logger.record("rollout/native_return_mean", float(np.mean([n for _, n in window[k]])))
                        log_evaluation(models[k], curves[k][-1])
                    if on_progress is not None:
                        on_progress(jobs[k].candidate_id, curves[k][-1])
                if home is not None and timesteps < total and alive:
                    save_shared()
        wall = time.monotonic() - started
        for k, job in enumerate(jobs):
            if k in failed:
                outcomes[k] = failed[k]
                continue
            final_seed = job.eval_seed if job.eval_seed is not None else 20_000 + job.seed
            try:
                final = evaluate(k, seed=final_seed, episodes=job.final_eval_episodes,
                                 trajectory_episodes=job.trajectory_episodes)
            except RewardFailure as failure:
                fail(k, failure, f" (evaluating the policy after {timesteps} training steps)")
                outcomes[k] = failed[k]
                continue
            out_dir = Path(job.out_dir)
            checkpoint = save_checkpoint(out_dir, timesteps, {MODEL_FILE: lambda path, m=models[k]: m.save(path)})
            _save_curve(out_dir, curves[k])
            outcomes[k] = TrainOutcome(
                candidate_id=job.candidate_id, status="ok", timesteps=timesteps, curve=tuple(curves[k]),
                train_term_stats=term_logs[k].summary(), eval=_eval_record(final),
                checkpoint=str(checkpoint.path(MODEL_FILE)), wall_s=wall, steps_per_s=timesteps / max(wall, 1e-9),
                device=str(models[k].device), device_reason=device_reason, seed=job.seed, eval_seed=final_seed,
                notes=(f"shared replay: {timesteps} env steps shared by {K} candidates "
                       f"(this one drove about 1/{K}); {_updates_of(models[k])} gradient updates", *notes),
            )
        return [o for o in outcomes if o is not None]
    except Exception as err:  # noqa: BLE001 - a crash of the shared run fails every unfinished candidate alone
        import traceback

        message = f"{type(err).__name__}: {err}"
        trace = traceback.format_exc()
        result = []
        for k, job in enumerate(jobs):
            if outcomes[k] is not None:
                result.append(outcomes[k])
                continue
            try:
                Path(job.out_dir).mkdir(parents=True, exist_ok=True)
                (Path(job.out_dir) / "crash.txt").write_text(trace)
            except OSError:
                pass
            result.append(failed.get(k) or TrainOutcome(
                candidate_id=job.candidate_id, status="crashed", timesteps=0, failure=message,
                wall_s=time.monotonic() - started, seed=job.seed, notes=("shared replay",)))
        return result
    finally:
        if venv is not None:
            venv.close()
        for fn in rewards_fns:
            if fn is not None:
                fn.close()


def _shared_rng(model) -> dict[str, Any]:
    import random

    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "action_space": model.action_space.np_random.bit_generator.state}


def _restore_shared_rng(state: dict[str, Any], model) -> None:
    """The streams as they were at the checkpoint (SB3's load() reseeds them with the job's seed)."""
    import random

    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    model.action_space.np_random.bit_generator.state = state["action_space"]


def gradient_updates(outcome: TrainOutcome) -> int | None:
    """Gradient updates the outcome's saved model did (SB3 keeps `_n_updates` in model.zip)."""
    if not outcome.checkpoint:
        return None
    from stable_baselines3.common.save_util import load_from_zip_file

    data, _params, _vars = load_from_zip_file(outcome.checkpoint, load_data=True, device="cpu")
    return int(data.get("_n_updates", 0)) if data else None


def _summary(outcome: TrainOutcome) -> dict[str, Any]:
    evaluation = outcome.eval or {}
    return {"status": outcome.status, "timesteps": outcome.timesteps, "gradient_updates": gradient_updates(outcome),
            "success_rate": evaluation.get("success_rate"), "metric_mean": evaluation.get("metric_mean"),
            "native_return_mean": evaluation.get("native_return_mean"), "wall_s": round(outcome.wall_s, 2),
            "failure": outcome.failure}


SHORT_SAC = {"learning_starts": 200, "learning_rate": 1e-3}
"""SAC settings for short comparisons (the task_key form): warm-up of 200 random steps, Pendulum's rate."""


def _winner(outcomes: Sequence[TrainOutcome], success: Any) -> str | None:
    """The loop's own choice (reward_coder.selection): the task's metric and progress, never the env's reward."""
    from reward_coder.selection import selection_key

    ok = [o for o in outcomes if o.status == "ok"]
    return max(ok, key=lambda o: selection_key(o, success)).candidate_id if ok else None


def _side(outcomes: Sequence[TrainOutcome], env_steps: int, wall: float, success: Any) -> dict[str, Any]:
    winner = _winner(outcomes, success)
    by_id = {o.candidate_id: o for o in outcomes}
    evals = {cid: (o.eval or {}) for cid, o in by_id.items()}
    return {
        "env_steps": int(env_steps),
        "gradient_updates_per_candidate": {cid: gradient_updates(o) for cid, o in by_id.items()},
        "wall_s": round(wall, 2),
        "success": {cid: e.get("success_rate") for cid, e in evals.items()},
        "native_return": {cid: e.get("native_return_mean") for cid, e in evals.items()},
        "status": {cid: o.status for cid, o in by_id.items()},
        "winner": winner,
        # no winner (every candidate crashed or was refused) is no figure, not a success rate of 0
        "winner_success": evals[winner].get("success_rate") if winner else None,
        "per_candidate": {cid: _summary(o) for cid, o in by_id.items()},
    }


def compare_shared_vs_separate(task_key: Any, codes: Sequence[str] | dict[str, str], *,
                               candidate_ids: Sequence[str] | None = None, timesteps: int, seed: int,
                               out_dir: str | Path, eval_episodes: int = 5,
                               on_progress: Callable[[str], None] | None = None,
                               success: Any = None, algorithm: str = "SAC",
                               hyperparameters: dict[str, Any] | None = None, n_envs: int | None = None,
                               eval_every: int | None = None, max_episode_steps: int | None = None,
                               allow_unsandboxed: bool = False, device: str = "cpu") -> dict[str, Any]:
    """K separate runs of `timesteps` env steps vs ONE shared-replay run of `timesteps` env steps, same
    candidates, algorithm, hyperparameters, seed and final evaluation (deterministic policy,
    `eval_episodes` episodes from env seed 10_000 + seed, the task's success metric).

    task_key: 'card/task' (resolved with reward_coder.tasks.resolve_task), or an EnvCard with `success`.
    codes: reward sources (ids from candidate_ids, else c0, c1, ...) or a {id: code} dict.
    Defaults for the task_key form: SAC with SHORT_SAC, 1 env (one gradient update per env step after
    learning_starts, in both arms), sandboxed rewards.

    Returns {"shared": side, "separate": side, "same_winner": bool, ...}; a side is {"env_steps",
    "gradient_updates_per_candidate", "wall_s", "success", "native_return", "status", "winner",
    "winner_success", "per_candidate"}. Winner: the loop's selection (reward_coder.selection). The separate
    runs train one after another in this process (their wall time is the serial cost).
    """
    from reward_coder.train.sb3 import train_candidate

    if isinstance(task_key, str):
        from reward_coder.tasks import resolve_task

        task = resolve_task(task_key, None, None)
        card, success = task.card, success or task.success
        if hyperparameters is None:
            hyperparameters = dict(SHORT_SAC)
        n_envs = n_envs or 1
    else:
        card = task_key
        if success is None:
            raise ValueError("pass success= with a card (or a 'card/task' key)")
    if isinstance(codes, dict):
        ids, sources = list(codes), list(codes.values())
    else:
        sources = list(codes)
        ids = list(candidate_ids) if candidate_ids is not None else [f"c{k}" for k in range(len(sources))]
    if len(ids) != len(sources) or len(set(ids)) != len(ids):
        raise ValueError("candidate_ids must name each code once")
    out = Path(out_dir)
    n_envs = n_envs or card.train.n_envs
    hyperparameters = dict(hyperparameters or {})
    max_episode_steps = max_episode_steps or card.train.max_episode_steps
    say = on_progress or (lambda _text: None)

    def job(cid: str, code: str, folder: str) -> TrainJob:
        return TrainJob(candidate_id=cid, card=card, success=success, out_dir=str(out / folder / cid), code=code,
                        algorithm=algorithm, total_timesteps=timesteps, n_envs=n_envs, seed=seed, device=device,
                        hyperparameters=hyperparameters, eval_episodes=eval_episodes,
                        final_eval_episodes=eval_episodes, eval_seed=10_000 + seed,
                        eval_every=eval_every or timesteps, max_episode_steps=max_episode_steps,
                        allow_unsandboxed=allow_unsandboxed, tensorboard=False)

    started = time.monotonic()
    separate: list[TrainOutcome] = []
    for cid, code in zip(ids, sources):
        say(f"shared replay bench: separate run of {cid} ({timesteps} steps)")
        separate.append(train_candidate(job(cid, code, "separate")))
    separate_wall = time.monotonic() - started
    say(f"shared replay bench: one shared run of {len(ids)} candidates ({timesteps} steps)")
    started = time.monotonic()
    shared = train_shared([job(cid, code, "shared") for cid, code in zip(ids, sources)])
    shared_wall = time.monotonic() - started

    separate_steps = sum(o.timesteps for o in separate)
    shared_steps = max((o.timesteps for o in shared), default=0)
    result: dict[str, Any] = {
        "candidates": ids, "algorithm": algorithm, "total_timesteps": timesteps, "seed": seed,
        "n_envs": n_envs, "eval_episodes": eval_episodes, "hyperparameters": hyperparameters,
        "separate": _side(separate, separate_steps, separate_wall, success),
        "shared": _side(shared, shared_steps, shared_wall, success),
    }
    result["env_steps_ratio"] = shared_steps / separate_steps if separate_steps else None
    result["wall_ratio"] = shared_wall / separate_wall if separate_wall else None
    result["same_winner"] = result["separate"]["winner"] == result["shared"]["winner"]
    result["winner_success"] = {"separate": result["separate"]["winner_success"],
                                "shared": result["shared"]["winner_success"]}
    return result
