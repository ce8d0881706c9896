"""The sandboxed worker: answers, failures as values, and cleanup of every process it started."""

from __future__ import annotations

import gc
import os
import time

import numpy as np
import pytest

from reward_coder.sandbox import SandboxedReward, SandboxLimits

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch

FORWARD = """
import numpy as np


def compute_reward(state, action, next_state):
    forward = (next_state.x_position - state.x_position) / 0.05
    effort = -0.1 * np.sum(np.square(action), axis=1)
    return forward + effort, {"forward": forward, "effort": effort}
"""

LOOP_FOREVER = """
def compute_reward(state, action, next_state):
    while True:
        pass
"""


def expected_forward(state, action, next_state):
    forward = (next_state["x_position"] - state["x_position"]) / 0.05
    effort = -0.1 * np.sum(np.square(action), axis=1)
    return forward + effort, forward, effort


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_mentioning(needle: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if needle.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


def test_a_call_returns_what_the_function_computes(batch):
    state, action, next_state = batch
    with SandboxedReward(FORWARD, field_names=FIELD_NAMES, limits=TEST_LIMITS) as sandbox:
        assert sandbox.start_error is None and sandbox.startup_s is not None
        raw = sandbox.call(state, action, next_state)
    reward, forward, effort = expected_forward(state, action, next_state)
    assert raw.error is None and raw.mutated == ()
    np.testing.assert_allclose(raw.reward, reward)
    assert set(raw.terms) == {"forward", "effort"}
    np.testing.assert_allclose(raw.terms["effort"], effort)
    assert raw.compute_s is not None and raw.roundtrip_s >= raw.compute_s


def test_repeated_calls_use_the_fast_path_and_stay_correct():
    with SandboxedReward(FORWARD, limits=TEST_LIMITS) as sandbox:
        for seed in range(5):
            state, action, next_state = make_batch(n=8, seed=seed)
            raw = sandbox.call(state, action, next_state, check_mutation=False)
            np.testing.assert_allclose(raw.reward, expected_forward(state, action, next_state)[0])
        state, action, next_state = make_batch(n=3, seed=9)  # a new batch size and layout mid-way
        raw = sandbox.call(state, action, next_state)
        assert raw.reward.shape == (3,)


def test_the_worker_runs_as_nobody_with_the_filter_installed():
    with SandboxedReward(FORWARD, limits=TEST_LIMITS) as sandbox:
        assert sandbox.worker_uid == 65534 or os.geteuid() != 0
        if sandbox.isolation.seccomp:
            assert sandbox.seccomp_active


def test_inconsistent_inputs_are_a_caller_error(batch):
    state, action, next_state = batch
    with SandboxedReward(FORWARD, limits=TEST_LIMITS) as sandbox:
        with pytest.raises(ValueError, match="batch size"):
            sandbox.call({**state, "x_position": np.zeros(3)}, action, next_state)
        with pytest.raises(ValueError):
            sandbox.call(state, action, {k: v for k, v in next_state.items() if k != "ee_pos"})


def test_a_hang_is_killed_at_the_deadline_and_later_calls_fail_fast(batch):
    state, action, next_state = batch
    limits = SandboxLimits(call_timeout_s=0.5, start_timeout_s=30)
    with SandboxedReward(LOOP_FOREVER, limits=limits) as sandbox:
        pid = sandbox.pid
        started = time.monotonic()
        raw = sandbox.call(state, action, next_state)
        assert raw.error is not None and raw.error.kind == "timeout"
        assert 0.4 < time.monotonic() - started < 5
        assert not alive(pid), "the worker's process must be killed and reaped"
        started = time.monotonic()
        again = sandbox.call(state, action, next_state)
        assert again.error.kind == "timeout" and "stopped earlier" in again.error.message
        assert time.monotonic() - started < 0.1
        assert not sandbox.alive


def test_a_crash_is_reported_not_raised(batch):
    code = "import ctypes\n\ndef compute_reward(state, action, next_state):\n    ctypes.string_at(0)\n"
    state, action, next_state = batch
    with SandboxedReward(code, limits=TEST_LIMITS, skip_static=True) as sandbox:
        raw = sandbox.call(state, action, next_state)
    assert raw.error.kind == "crashed" and "SIGSEGV" in raw.error.message


def test_guards_in_the_worker_refuse_imports_even_without_the_static_layer(batch):
    code = "import os\n\ndef compute_reward(state, action, next_state):\n    return state.x_velocity, {}\n"
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        assert sandbox.start_error is not None
        assert sandbox.start_error.kind == "load" and sandbox.start_error.exc_type == "ImportError"
        raw = sandbox.call(*batch)
        assert raw.error.kind == "load"


def test_errors_carry_type_message_and_line(batch):
    code = "import numpy as np\n\n\ndef compute_reward(state, action, next_state):\n    return 1 / 0, {}\n"
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        raw = sandbox.call(*batch)
        assert (raw.error.kind, raw.error.exc_type, raw.error.line) == ("exception", "ZeroDivisionError", 5)
        assert sandbox.alive, "an exception in the candidate leaves the worker usable"
        assert sandbox.call(*batch).error.kind == "exception"


def test_unknown_fields_fail_with_the_list_of_fields(batch):
    code = "def compute_reward(state, action, next_state):\n    return state.nope, {}\n"
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        raw = sandbox.call(*batch)
    assert raw.error.exc_type == "AttributeError"
    assert "unknown field 'nope'; available: x_position" in raw.error.message


def test_input_mutation_is_detected(batch):
    code = "def compute_reward(state, action, next_state):\n    v = state.joint_vel\n    v *= 0\n" \
           "    return state.x_velocity, {}\n"
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        raw = sandbox.call(*batch)
    assert raw.mutated == ("state.joint_vel",)


def test_memory_persists_per_environment_until_reset():
    code = """
import numpy as np


def compute_reward(state, action, next_state, memory):
    counts = np.zeros(len(action))
    for i, slot in enumerate(memory):
        slot["n"] = slot.get("n", 0) + 1
        counts[i] = slot["n"]
    return counts, {"count": counts}
"""
    state, action, next_state = make_batch(n=4)
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        assert sandbox.call(state, action, next_state).reward.tolist() == [1, 1, 1, 1]
        assert sandbox.call(state, action, next_state).reward.tolist() == [2, 2, 2, 2]
        reset = np.array([True, False, False, True])
        assert sandbox.call(state, action, next_state, reset=reset).reward.tolist() == [1, 3, 3, 1]
        assert sandbox.call(state, action, next_state, reset=[1]).reward.tolist() == [2, 1, 4, 2]
        assert sandbox.call(state, action, next_state, reset="all").reward.tolist() == [1, 1, 1, 1]


def test_close_kills_and_reaps_everything_and_removes_the_scratch_folder(tmp_path, batch):
    sandbox = SandboxedReward(FORWARD, limits=TEST_LIMITS, scratch_dir=tmp_path)
    pid = sandbox.pid
    assert sandbox.call(*batch).error is None
    assert processes_mentioning(str(tmp_path))
    sandbox.close()
    sandbox.close()  # idempotent
    assert not alive(pid)
    assert processes_mentioning(str(tmp_path)) == []
    assert list(tmp_path.iterdir()) == []
    assert sandbox.call(*batch).error.kind == "closed"


def test_a_forgotten_sandbox_is_cleaned_up_by_the_garbage_collector(tmp_path):
    sandbox = SandboxedReward(FORWARD, limits=TEST_LIMITS, scratch_dir=tmp_path)
    pid = sandbox.pid
    del sandbox
    gc.collect()
    assert not alive(pid)
    assert processes_mentioning(str(tmp_path)) == []


def test_a_slow_module_load_is_a_timeout():
    code = "X = 0\nwhile True:\n    X += 1\n\ndef compute_reward(state, action, next_state):\n    return 0, {}\n"
    limits = SandboxLimits(call_timeout_s=0.5, start_timeout_s=30)
    with SandboxedReward(code, limits=limits, skip_static=True) as sandbox:
        assert sandbox.start_error.kind == "timeout"
        assert "loading the code" in sandbox.start_error.message


def test_memory_limit_applies(batch):
    code = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n" \
           "    big = np.ones(300 * 2**20 // 8)\n    return big[:len(action)], {}\n"
    small = SandboxLimits(memory_mb=256, call_timeout_s=2, start_timeout_s=30)
    with SandboxedReward(code, limits=small) as sandbox:
        assert sandbox.call(*batch).error.kind == "memory"
    # the same allocation fits under the default 1 GiB (a generous timeout: page faults are slow under load)
    with SandboxedReward(code, limits=SandboxLimits(call_timeout_s=20, start_timeout_s=30)) as sandbox:
        assert sandbox.call(*batch).error is None


def test_fields_can_also_be_read_by_name(batch):
    code = "def compute_reward(state, action, next_state):\n    v = next_state['x_velocity']\n    return v, {'v': v}\n"
    state, action, next_state = batch
    with SandboxedReward(code, limits=TEST_LIMITS) as sandbox:
        raw = sandbox.call(state, action, next_state)
    np.testing.assert_allclose(raw.reward, next_state["x_velocity"])


def test_declared_fields_must_be_sent(batch):
    state, action, next_state = batch
    with SandboxedReward(FORWARD, field_names=(*FIELD_NAMES, "z_height"), limits=TEST_LIMITS) as sandbox:
        with pytest.raises(ValueError, match="lacks the fields z_height"):
            sandbox.call(state, action, next_state)
