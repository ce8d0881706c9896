"""numpy inside the real worker behaves as it does outside: printing, formatting and the calls rewards make.

numpy's C code imports helper modules in the middle of a call (ndarray.__str__, ndarray.mean, dtype
repr); it finds `__import__` in the calling frame's builtins, which for reward code are the guarded ones.
These tests run candidates that pass the static check in the real worker (bubblewrap where available).
"""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.sandbox import SandboxedReward, static_check

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch

COMMON_CALLS = {
    # formatting: what a reward does when it logs, or builds a message
    "str": "str(h)",
    "repr": "repr(h)",
    "print": "print(h, v, sep=', ')",
    "f_string": "f'{h} {v[0]:.3f} {joints}'",
    "percent_format": "'%.2f' % h[0]",
    "str_of_scalar": "str(h[0]) + repr(v[0])",
    "str_of_bool_array": "str(h > 0.6)",
    "str_of_dtype": "str(h.dtype) + repr(joints.dtype)",
    "array2string": "np.array2string(h, precision=2)",
    "format_float_positional": "np.format_float_positional(h[0], precision=3)",
    # methods numpy implements through lazily cached Python helpers
    "mean_method": "h.mean() + h.std() + h.var() + h.sum() + h.prod()",
    "min_max_methods": "h.max() - h.min() + joints.max(axis=1)",
    "any_all_methods": "(h > 0).any() or (h > 0).all()",
    "clip_method": "h.clip(0.0, 1.0)",
    "round_method": "h.round(2)",
    # functions rewards commonly call
    "clip": "np.clip(v, -1.0, 1.0)",
    "where": "np.where(h > 0.65, 1.0, 0.0)",
    "arctan2": "np.arctan2(np.sin(v), np.cos(v))",
    "isclose": "np.isclose(h, 0.65, atol=0.1)",
    "allclose": "np.allclose(h, h)",
    "einsum": "np.einsum('ij,ij->i', joints, joints)",
    "linalg_norm": "np.linalg.norm(ee - goal, axis=-1)",
    "linalg_solve": "np.linalg.solve(np.eye(2), np.ones(2))",
    "tanh_exp_log": "np.tanh(v) + np.exp(-np.square(v)) + np.log1p(np.abs(v))",
    "mean_axis": "np.mean(joints, axis=1)",
    "percentile": "np.percentile(h, 50)",
    "interp": "np.interp(h, [0.0, 1.0], [0.0, 1.0])",
    "cross": "np.cross(ee, goal)",
    "stack_concat": "np.concatenate([np.stack([h, v], axis=1), joints], axis=1)",
    "masked": "np.ma.masked_less(h, 0.65).filled(0.0)",
    "fft": "np.abs(np.fft.rfft(joints, axis=1))",
    "polyval": "np.polyval([1.0, 0.0], h)",
    "seeded_generator": "np.random.default_rng(0).normal(size=3)",
    "errstate": "with np.errstate(divide='ignore', invalid='ignore'):\n    np.log(h - h)",
    "nan_functions": "np.nanmean(np.where(h > 0.65, h, np.nan))",
    "math": "math.atan2(1.0, 2.0) + math.pi",
}


def _probe_candidate(calls: dict[str, str]) -> str:
    """One reward that tries each call and reports, per call, 1.0 if it ran and 0.0 if it raised."""
    lines = [
        "import math",
        "import numpy as np",
        "",
        "",
        "def compute_reward(state, action, next_state):",
        "    h = next_state.torso_height",
        "    v = next_state.x_velocity",
        "    joints = next_state.joint_pos",
        "    ee = next_state.ee_pos",
        "    goal = next_state.goal_pos",
        "    terms = {}",
    ]
    for name, expression in calls.items():
        lines += ["    try:", *("        " + line for line in expression.splitlines()),
                  f"        terms['{name}'] = np.ones_like(h)",
                  "    except Exception:",
                  f"        terms['{name}'] = np.zeros_like(h)"]
    lines.append("    return h, terms")
    return "\n".join(lines) + "\n"


def test_common_numpy_calls_pass_the_static_check():
    issues = static_check(_probe_candidate(COMMON_CALLS), FIELD_NAMES)
    assert [i.describe() for i in issues if i.severity == "error"] == []


@pytest.mark.parametrize("call", ["np.set_printoptions(precision=3)", "np.seterr(all='ignore')",
                                  "with np.printoptions(precision=2) as options:\n    str(h)"])
def test_numpy_settings_that_outlive_a_call_are_refused(call):
    issues = static_check(_probe_candidate({"settings": call}), FIELD_NAMES)
    assert "no-global-state" in {i.rule for i in issues if i.severity == "error"}


def test_common_numpy_calls_run_in_the_worker():
    state, action, next_state = make_batch(n=16)
    with SandboxedReward(_probe_candidate(COMMON_CALLS), field_names=FIELD_NAMES, limits=TEST_LIMITS) as sandbox:
        assert sandbox.start_error is None, sandbox.start_error
        raw = sandbox.call(state, action, next_state)
    assert raw.error is None, raw.error
    failed = sorted(name for name, ran in raw.terms.items() if not np.all(ran == 1.0))
    assert failed == []
    assert set(raw.terms) == set(COMMON_CALLS)


FORMATTING = """
import numpy as np


def compute_reward(state, action, next_state):
    h = next_state.torso_height
    text = str(h) + "|" + repr(h[:3]) + "|" + f"{h[0]:.4f}" + "|" + str(h.dtype)
    print("reward", text)
    return h, {"text_length": np.full(h.shape, float(len(text))), "mean": np.full(h.shape, h.mean())}
"""


def test_an_array_formats_inside_the_worker_as_outside():
    state, action, next_state = make_batch(n=8)
    with SandboxedReward(FORMATTING, field_names=FIELD_NAMES, limits=TEST_LIMITS) as sandbox:
        raw = sandbox.call(state, action, next_state)
    assert raw.error is None, raw.error
    h = next_state["torso_height"]
    expected = str(h) + "|" + repr(h[:3]) + "|" + f"{h[0]:.4f}" + "|" + str(h.dtype)
    np.testing.assert_array_equal(raw.terms["text_length"], np.full(8, float(len(expected))))
    np.testing.assert_allclose(raw.terms["mean"], np.full(8, h.mean()))


@pytest.mark.parametrize("statement", [
    "from numpy._core._internal import sys",
    "import numpy._core._internal as internal",
    "import numpy._core.arrayprint",
])
def test_numpy_internals_stay_closed_to_import_statements(statement):
    # the static check is off in this sandbox (not run by SandboxedReward): the worker's guard alone refuses
    code = FORMATTING.replace("    h = next_state.torso_height\n", f"    {statement}\n    h = next_state.torso_height\n", 1)
    state, action, next_state = make_batch(n=4)
    with SandboxedReward(code, field_names=FIELD_NAMES, limits=TEST_LIMITS) as sandbox:
        raw = sandbox.call(state, action, next_state)
    assert raw.error is not None and raw.error.exc_type == "ImportError"
    assert "is not allowed" in raw.error.message
