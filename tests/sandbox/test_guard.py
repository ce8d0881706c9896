"""The training-time guard: a candidate that goes bad mid-training stops alone, with step and message."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from reward_coder.sandbox import GuardedReward, RewardFailure, SandboxedReward, SandboxLimits

from .conftest import TEST_LIMITS, make_batch

CORPUS = Path(__file__).with_name("corpus")

FORWARD = """
import numpy as np


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    effort = -0.1 * np.sum(np.square(action), axis=1)
    return forward + effort, {"forward": forward, "effort": effort}
"""


def test_guarded_calls_return_float_arrays():
    state, action, next_state = make_batch(n=8)
    with SandboxedReward(FORWARD, limits=TEST_LIMITS) as sandbox:
        guard = GuardedReward(sandbox)
        reward, terms = guard(state, action, next_state)
    assert reward.dtype == np.float64 and reward.shape == (8,)
    assert set(terms) == {"forward", "effort"} and all(v.shape == (8,) for v in terms.values())
    assert guard.calls == 1 and guard.failure is None


@pytest.mark.parametrize("name", ["state_default_arg.py", "state_function_attribute.py", "state_closure.py"])
def test_state_that_turns_bad_after_many_calls_stops_training_at_that_step(name):
    """The static layer refuses these; with it bypassed, the guard still stops them at call 1000."""
    code = (CORPUS / name).read_text()
    state, action, next_state = make_batch(n=8)
    with SandboxedReward(code, limits=TEST_LIMITS, skip_static=True) as sandbox:
        guard = GuardedReward(sandbox)
        with pytest.raises(RewardFailure) as failure:
            for _ in range(1100):
                guard(state, action, next_state)
    assert failure.value.step == 1000 and failure.value.kind == "non-finite"
    assert "NaN or infinite in 8 of 8" in failure.value.message
    with pytest.raises(RewardFailure) as again:
        guard(state, action, next_state)
    assert again.value is failure.value, "a failed candidate stays failed"


def test_an_exception_names_type_message_and_line():
    code = "def compute_reward(state, action, next_state):\n    return 1 / int(state.x_velocity[0] * 0), {}\n"
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        guard = GuardedReward(sandbox)
        with pytest.raises(RewardFailure, match="ZeroDivisionError") as failure:
            guard(*make_batch(n=4), step=77)
    assert failure.value.step == 77 and failure.value.kind == "exception" and "(line 2)" in failure.value.message


def test_a_hang_becomes_a_timeout_failure():
    code = "def compute_reward(state, action, next_state):\n    while True:\n        pass\n"
    with SandboxedReward(code, limits=SandboxLimits(call_timeout_s=0.3, start_timeout_s=30)) as sandbox:
        with pytest.raises(RewardFailure) as failure:
            GuardedReward(sandbox)(*make_batch(n=4))
    assert failure.value.kind == "timeout"


def test_wrong_shapes_and_types_fail():
    code = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n    return np.sum(action), {}\n"
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        with pytest.raises(RewardFailure, match=r"shape \(\), expected \(4,\)"):
            GuardedReward(sandbox)(*make_batch(n=4))
    code = "def compute_reward(state, action, next_state):\n    return 'x', {}\n"
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        with pytest.raises(RewardFailure) as failure:
            GuardedReward(sandbox)(*make_batch(n=4))
    assert failure.value.kind == "bad-output"


def test_an_in_process_callable_is_guarded_the_same_way():
    calls = {"n": 0}

    def reward(state, action, next_state):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyError("torso")
        return np.asarray(next_state["x_velocity"]), {"forward": next_state["x_velocity"]}

    guard = GuardedReward(reward)
    state, action, next_state = make_batch(n=4)
    guard(state, action, next_state)
    guard(state, action, next_state)
    with pytest.raises(RewardFailure) as failure:
        guard(state, action, next_state)
    assert failure.value.step == 2 and "KeyError" in failure.value.message


def test_per_call_overhead_stays_small():
    """The guard runs at every env step; the bound here only catches regressions (see the report for
    measured numbers)."""
    state, action, next_state = make_batch(n=8)
    with SandboxedReward(FORWARD, limits=TEST_LIMITS) as sandbox:
        guard = GuardedReward(sandbox)
        for _ in range(50):
            guard(state, action, next_state)
        started = time.perf_counter()
        for _ in range(300):
            guard(state, action, next_state)
        per_call = (time.perf_counter() - started) / 300
    assert per_call < 2e-3
