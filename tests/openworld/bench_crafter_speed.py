"""Crafter speed on this machine: env steps/s of the symbolic and the pixel view, and PPO training steps/s.

Run: .venv/bin/python tests/openworld/bench_crafter_speed.py [env_steps] [ppo_steps]
(not a test: it prints figures for envs/README.md "Crafter").
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from reward_coder.envs import get_card, make_env


def env_steps_per_second(card_id: str, steps: int) -> float:
    """Random actions through make_env (FieldProbe reading every field), resets included."""
    env = make_env(get_card(card_id), seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(int(rng.integers(17)))
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def ppo_steps_per_second(card_id: str, steps: int) -> float:
    """PPO with the card's settings on DummyVecEnv(n_envs), the env's own reward, 2 torch threads."""
    from stable_baselines3 import PPO

    from reward_coder.train.sb3 import make_vec_env, model_kwargs, policy_name

    card = get_card(card_id)
    venv = make_vec_env(card, card.train.n_envs, 0, card.train.max_episode_steps, fields=())
    model = PPO(policy_name(venv.observation_space), venv, seed=0, device="cpu", verbose=0,
                **model_kwargs(card.train.hyperparameters))
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    rate = model.num_timesteps / (time.perf_counter() - start)
    venv.close()
    return rate


if __name__ == "__main__":
    torch.set_num_threads(2)
    env_steps = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    ppo_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    for card_id in ("crafter", "crafter-pixels"):
        env_steps_per_second(card_id, 200)  # numba compiles the world generator on the first reset
        print(f"{card_id}: env {env_steps_per_second(card_id, env_steps):.0f} steps/s (random actions, all fields probed)")
    for card_id in ("crafter", "crafter-pixels"):
        print(f"{card_id}: PPO {ppo_steps_per_second(card_id, ppo_steps):.0f} steps/s (card settings, 2 torch threads)")
