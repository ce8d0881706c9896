"""Load a trained checkpoint and roll it out once with rendering, for the report's video.

Lives in train/ because it is the one place allowed to import stable-baselines3. Nothing here writes
files or picks a GL backend: the caller (reward_coder/report/video.py) runs this in a child process
with MUJOCO_GL / SDL_VIDEODRIVER already set, so a GL failure cannot take the report down with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from reward_coder.types import EnvCard

Policy = Callable[[np.ndarray], np.ndarray]

MUJOCO_FAMILY_PREFIX = "mujoco"
"""Card families whose envs take width/height make kwargs (gymnasium's MujocoEnv)."""


@dataclass(frozen=True)
class Rollout:
    """One rendered episode: every `stride`-th frame, and what the episode scored."""

    frames: tuple[np.ndarray, ...]
    length: int
    native_return: float
    terminated: bool
    """True when the env ended the episode early (a fall), False when the time limit did."""
    stride: int
    render_fps: float
    """The env's own frame rate; the video plays at render_fps / stride to keep real time."""


def load_policy(algorithm: str, model_path: str | Path, device: str = "cpu") -> Policy:
    """A deterministic obs -> action function from an SB3 checkpoint (model.zip)."""
    import stable_baselines3

    try:
        algo = getattr(stable_baselines3, algorithm.upper())
    except AttributeError:
        raise ValueError(f"unknown algorithm '{algorithm}'; use PPO, SAC, TD3, A2C or DDPG") from None
    model = algo.load(str(model_path), device=device)
    stats = Path(model_path).with_name("vecnormalize.pkl")
    obs_rms = None
    if stats.is_file():  # the policy was trained on normalized observations: normalize them the same way
        import pickle

        with open(stats, "rb") as handle:
            normalizer = pickle.load(handle)  # noqa: S301 - our own checkpoint file
        obs_rms = normalizer.obs_rms if normalizer.norm_obs else None
        clip, epsilon = normalizer.clip_obs, normalizer.epsilon

    def policy(obs: np.ndarray) -> np.ndarray:
        if obs_rms is not None:
            obs = np.clip((obs - obs_rms.mean) / np.sqrt(obs_rms.var + epsilon), -clip, clip)
        action, _ = model.predict(obs, deterministic=True)
        return action

    return policy


def render_card(card: EnvCard, size: int) -> EnvCard:
    """The card with a small render size where the env takes one (MuJoCo); rendering is the slow part."""
    if not card.family.startswith(MUJOCO_FAMILY_PREFIX):
        return card
    return replace(card, make_kwargs={**card.make_kwargs, "width": size, "height": size})


def record_rollout(
    card: EnvCard,
    policy: Policy,
    *,
    seed: int = 0,
    max_frames: int = 200,
    size: int = 256,
    max_episode_steps: int | None = None,
) -> Rollout:
    """Play one episode of `policy` and keep at most `max_frames` evenly spaced frames.

    Raises whatever the env or its renderer raises (no display, no GL, missing pygame): the caller
    turns that into a sentence in the report.
    """
    from reward_coder.envs import make_env

    steps = max_episode_steps or card.train.max_episode_steps
    stride = max(1, math.ceil(steps / max(1, max_frames)))
    env = make_env(render_card(card, size), seed=seed, render_mode="rgb_array", max_episode_steps=max_episode_steps)
    frames: list[np.ndarray] = []
    try:
        obs, _ = env.reset(seed=seed)
        frames.append(np.asarray(env.render()))
        native_return, length, terminated, truncated = 0.0, 0, False, False
        while not (terminated or truncated):
            obs, reward, terminated, truncated, _ = env.step(np.asarray(policy(np.asarray(obs))))
            native_return += float(reward)
            length += 1
            if length % stride == 0 and len(frames) < max_frames:
                frames.append(np.asarray(env.render()))
        fps = float(env.metadata.get("render_fps") or 30)
    finally:
        env.close()
    return Rollout(frames=tuple(frames), length=length, native_return=native_return, terminated=bool(terminated),
                   stride=stride, render_fps=fps)
