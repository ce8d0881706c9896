"""Micro-benchmarks measured side by side in one process: what our reward path costs per step.

Absolute speeds on shared machines are noise; the ratios between variants measured in the same run,
interleaved and repeated, are the figures worth reporting.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

BENCH_REWARD = '''import numpy as np

def compute_reward(state, action, next_state):
    backward_speed = -next_state.forward_velocity
    upright = np.cos(next_state.torso_angle)
    control = 0.1 * np.sum(np.square(action), axis=1)
    reward = backward_speed + 0.5 * upright - control
    return reward, {"backward_speed": backward_speed, "upright": 0.5 * upright, "control": -control}
'''
"""A realistic locomotion reward (three terms over three fields) for HalfCheetah."""


@dataclass
class Variant:
    name: str
    build: Callable[[], Any]
    """Returns a VecEnv (or a PPO model for training benchmarks); closed after each measurement."""
    rates: list[float] = field(default_factory=list)


def _step_rate(venv, steps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    low, high = venv.action_space.low, venv.action_space.high
    actions = rng.uniform(low, high, size=(steps, venv.num_envs, *venv.action_space.shape)).astype(np.float32)
    venv.reset()
    for i in range(min(20, steps)):  # warm-up
        venv.step(actions[i])
    started = time.perf_counter()
    for i in range(steps):
        venv.step(actions[i])
    return steps * venv.num_envs / (time.perf_counter() - started)


def _train_rate(model, steps: int) -> float:
    started = time.perf_counter()
    model.learn(total_timesteps=steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - started)


def _median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def overhead_benchmark(
    env: str = "halfcheetah",
    n_envs: int = 8,
    steps: int = 2_000,
    repeats: int = 3,
    train_steps: int = 0,
    code: str = BENCH_REWARD,
    seed: int = 0,
    on_progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Steps/s of the env's native reward vs our batched wrapper (in-process and sandboxed).

    `steps` is vectorized steps per measurement (each scores `n_envs` transitions). With
    `train_steps` > 0, PPO training speed is measured too for native, in-process and sandboxed rewards.
    Variants are interleaved within each repeat so drifting machine load hits them all alike.
    """
    import gymnasium as gym
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from reward_coder.envs import get_card
    from reward_coder.reward.compile import InProcessReward
    from reward_coder.reward.fields import fields_used
    from reward_coder.sandbox import GuardedReward, SandboxedReward, detect_isolation
    from reward_coder.train.sb3 import make_vec_env, model_kwargs, sandbox_limits
    from reward_coder.train.vec_reward import RewardVecWrapper

    torch.set_num_threads(1)
    say = on_progress or (lambda _m: None)
    card = get_card(env)
    isolation = detect_isolation()

    def native_venv():
        return DummyVecEnv([lambda i=i: gym.make(card.env_id, **card.make_kwargs) for i in range(n_envs)])

    fields = fields_used(code, card.field_names())

    def probed_venv():
        return make_vec_env(card, n_envs, seed, fields=fields)

    def in_process():
        return RewardVecWrapper(probed_venv(), InProcessReward(code, card.field_names()), card, fields)

    def wrapper_only():  # same fields, a reward that does no work: what the wrapper itself costs
        return RewardVecWrapper(probed_venv(), InProcessReward(_empty_reward(fields), card.field_names()), card, fields)

    def sandboxed(spare_core: bool):
        def build():
            limits = sandbox_limits(spare_core)
            reward = GuardedReward(SandboxedReward(code, field_names=fields, isolation=isolation, limits=limits))
            return RewardVecWrapper(probed_venv(), reward, card, fields)

        return build

    stepping = [
        Variant("native reward (plain gymnasium envs)", native_venv),
        Variant("field probe only (no reward call)", probed_venv),
        Variant("batched reward wrapper, in-process, reward that does no work", wrapper_only),
        Variant("batched reward wrapper, in-process", in_process),
        Variant("batched reward wrapper, sandboxed worker (spare core: both sides poll)", sandboxed(True)),
        Variant("batched reward wrapper, sandboxed worker (every core busy: no polling)", sandboxed(False)),
    ]
    # the card's own PPO settings: training speed is only meaningful with the update work of a real run
    ppo_kwargs = dict(model_kwargs(dict(card.train.hyperparameters)), seed=seed, verbose=0, device="cpu")
    training = [
        Variant("PPO, native reward", lambda: PPO("MlpPolicy", native_venv(), **ppo_kwargs)),
        Variant("PPO, reward in-process", lambda: PPO("MlpPolicy", in_process(), **ppo_kwargs)),
        Variant("PPO, reward in sandboxed worker (spare core)", lambda: PPO("MlpPolicy", sandboxed(True)(), **ppo_kwargs)),
        Variant("PPO, reward in sandboxed worker (no polling)", lambda: PPO("MlpPolicy", sandboxed(False)(), **ppo_kwargs)),
    ] if train_steps > 0 else []

    startup = []
    for repeat in range(repeats):
        for variant in stepping:
            venv = variant.build()
            try:
                variant.rates.append(_step_rate(venv, steps, seed + repeat))
            finally:
                venv.close()
            say(f"repeat {repeat + 1}/{repeats}: {variant.name}: {variant.rates[-1]:,.0f} steps/s")
        for variant in training:
            model = variant.build()
            try:
                variant.rates.append(_train_rate(model, train_steps))
            finally:
                model.get_env().close()
            say(f"repeat {repeat + 1}/{repeats}: {variant.name}: {variant.rates[-1]:,.0f} steps/s")
        started = time.perf_counter()
        with SandboxedReward(code, field_names=card.field_names(), isolation=isolation) as worker:
            worker.call(*_one_state(card, n_envs))
        startup.append((time.perf_counter() - started) * 1000)

    def table(variants: list[Variant]) -> list[dict[str, Any]]:
        base = _median(variants[0].rates)
        best = max(variants[0].rates)
        return [
            {"variant": v.name, "steps_per_s_median": _median(v.rates), "steps_per_s_best": max(v.rates),
             "runs": v.rates,
             "ratio_to_baseline": _median(v.rates) / base, "slowdown_pct": 100 * (1 - _median(v.rates) / base),
             # best-of-N is the estimator least hurt by other load on a shared machine
             "ratio_to_baseline_best": max(v.rates) / best, "slowdown_pct_best": 100 * (1 - max(v.rates) / best)}
            for v in variants
        ]

    return {
        "benchmark": "overhead",
        "env": card.env_id,
        "n_envs": n_envs,
        "vector_steps_per_measurement": steps,
        "repeats": repeats,
        "isolation": isolation.level,
        "stepping": table(stepping),
        "training": table(training) if training else [],
        "train_steps_per_measurement": train_steps,
        "sandbox_worker_startup_ms_median": _median(startup),
        "sandbox_worker_startup_ms_runs": startup,
    }


def _empty_reward(fields: tuple[str, ...]) -> str:
    """A reward reading the same fields and returning them unchanged: isolates the wrapper's cost."""
    first = fields[0]
    return (
        "def compute_reward(state, action, next_state):\n"
        f"    value = next_state.{first}\n"
        "    return value, {'value': value}\n"
    )


def _one_state(card, n_envs: int):
    from reward_coder.envs import sample_transitions

    batch = sample_transitions(card, n_envs=n_envs, n_steps=1, seed=0, policies=("random",))
    return batch.state, batch.action, batch.next_state
