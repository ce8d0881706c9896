"""Timings of the sandbox for the docs: `python tests/sandbox/bench_sandbox.py` (not a test).

Worker start-up under bubblewrap and under the rlimits fallback, the per-call round trip for 8 envs
with 20 HalfCheetah-like fields (raw call and through GuardedReward), and the same reward in-process.
"""

from __future__ import annotations

import os
import statistics
import time
from types import SimpleNamespace

import numpy as np

from reward_coder.sandbox import NO_BWRAP_ENV, GuardedReward, SandboxedReward, detect_isolation

CODE = """
import numpy as np


def compute_reward(state, action, next_state):
    forward = (next_state.x_position - state.x_position) / 0.05
    upright = np.cos(next_state.torso_angle)
    effort = -0.1 * np.sum(np.square(action), axis=1)
    return forward + upright + effort, {"forward": forward, "upright": upright, "effort": effort}
"""

SCALARS = ["x_position", "x_velocity", "torso_height", "torso_angle", "torso_angular_velocity", "z_velocity"]
JOINTS = ["bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"]


def fields(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    out = {name: rng.normal(size=n) for name in SCALARS}
    out.update({f"{joint}_angle": rng.normal(size=n) for joint in JOINTS})
    out.update({f"{joint}_velocity": rng.normal(size=n) for joint in JOINTS})
    out["joint_pos"] = rng.normal(size=(n, 6))
    out["joint_vel"] = rng.normal(size=(n, 6))
    out["ee_pos"] = rng.normal(size=(n, 3))
    out["contact_forces"] = rng.normal(size=(n, 6))
    return out


def per_call(fn, repeats: int = 3000) -> float:
    for _ in range(200):
        fn()
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeats // 5):
            fn()
        samples.append((time.perf_counter() - started) / (repeats // 5))
    return statistics.median(samples)


def main() -> None:
    rng = np.random.default_rng(0)
    n = 8
    state, next_state = fields(n, rng), fields(n, rng)
    action = rng.uniform(-1, 1, size=(n, 6))
    print(f"{len(state)} fields, n={n}")

    namespace: dict = {}
    exec(compile(CODE, "<bench>", "exec"), namespace)  # noqa: S102 - our own benchmark code
    s, ns = SimpleNamespace(**state), SimpleNamespace(**next_state)
    in_process = per_call(lambda: namespace["compute_reward"](s, action, ns), 20000)
    print(f"in-process call: {in_process * 1e6:.1f} us")

    for label in ("bwrap", "rlimits"):
        if label == "rlimits":
            os.environ[NO_BWRAP_ENV] = "1"
        isolation = detect_isolation()
        starts = []
        for _ in range(5):
            with SandboxedReward(CODE, isolation=isolation) as sandbox:
                starts.append(sandbox.startup_s)
        with SandboxedReward(CODE, isolation=isolation) as sandbox:
            guard = GuardedReward(sandbox)
            raw = per_call(lambda: sandbox.call(state, action, next_state, check_mutation=False))
            guarded = per_call(lambda: guard(state, action, next_state))
        print(f"{isolation.level}: start {statistics.median(starts) * 1e3:.0f} ms, call {raw * 1e6:.0f} us, "
              f"guarded call {guarded * 1e6:.0f} us")
    os.environ.pop(NO_BWRAP_ENV, None)


if __name__ == "__main__":
    main()
