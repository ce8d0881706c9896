"""Preflight: build what training will build, before the first paid LLM call (issue 15, item 4).

A wrong device, an unknown algorithm, a misspelt or ill-valued hyperparameter or an env that cannot be
made used to surface only when the first candidate trained, after the LLM had been paid; the run then
"finished" with nothing trained. Here the card's env, the training stack and the SB3 model are built once
with the env's own reward (no candidate code, no LLM) and thrown away; whatever fails is one ConfigError
line naming the setting and where it comes from. Also checks free disk space for checkpoints.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from reward_coder.errors import ConfigError
from reward_coder.train.knobs import check_action_space, check_hyperparameters
from reward_coder.train.sb3 import (TrainJob, _algorithm_class, make_vec_env, model_kwargs, policy_name, resolve_device,
                                    training_env)

MIN_FREE_MB = 200
"""Free space an output folder needs: checkpoints of a MuJoCo candidate are a few MB each, SAC's replay
buffer up to ~100 MB, TensorBoard files and videos some more."""


def check_device(device: str) -> str:
    """The device a job will use, or a ConfigError for one torch does not know or this machine lacks."""
    import torch

    try:
        resolved = torch.device(resolve_device(device))
    except (RuntimeError, ValueError) as err:
        raise ConfigError(f"--device {device!r} is not a torch device ({_first_line(err)}); use auto, cpu or cuda") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {device!r} asks for CUDA, but torch sees no GPU here; use --device auto or cpu")
    return str(resolved)


def check_disk(folder: Path, min_free_mb: int = MIN_FREE_MB) -> None:
    folder = Path(folder)
    probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()), Path("."))
    free_mb = shutil.disk_usage(probe).free / 2**20
    if free_mb < min_free_mb:
        raise ConfigError(f"only {free_mb:.0f} MB free where '{folder}' is; training needs at least {min_free_mb} MB "
                          "for checkpoints: free some space or choose another folder with --out")


def preflight_job(job: TrainJob, out_dir: Path, *, source: str) -> None:
    """Build `job`'s env, training stack and model once (env's own reward), then close them.

    `source` says where the settings come from (e.g. "card envs/hopper.yaml"), for the error message.
    """
    check_device(job.device)
    check_disk(out_dir)
    native = replace(job, reward_kind="native", code=None)
    venv = None
    try:
        try:
            algo = _algorithm_class(native.algorithm)
        except ValueError as err:
            raise ConfigError(f"{source}: {err}") from None
        # names first, against the constructor's signature: a misspelt one is named with its close matches
        check_hyperparameters(native.algorithm, native.hyperparameters, source)
        try:
            venv = make_vec_env(native.card, min(native.n_envs, 2), native.seed, native.max_episode_steps, fields=())
        except Exception as err:  # noqa: BLE001 - any failure to make the env is the user's to fix
            raise ConfigError(f"{source}: cannot make env '{native.card.env_id}': {_first_line(err)}") from None
        check_action_space(native.algorithm, venv.action_space, f"{source} on env '{native.card.env_id}'")
        venv, _, _ = training_env(venv, None, native.card, (), normalize_obs=native.normalize_obs,
                                  normalize_reward=native.normalize_reward,
                                  gamma=float(native.hyperparameters.get("gamma", 0.99)))
        try:
            algo(policy_name(venv.observation_space), venv, seed=native.seed, device=resolve_device(native.device), verbose=0,
                 tensorboard_log=None, **model_kwargs(native.hyperparameters))
        except (TypeError, ValueError, AssertionError, KeyError) as err:
            raise ConfigError(f"{source}: {native.algorithm} does not accept its hyperparameters "
                              f"{sorted(native.hyperparameters)}: {_first_line(err)}") from None
    finally:
        if venv is not None:
            venv.close()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]
