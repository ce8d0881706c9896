"""The worker's Python guards alone (the static check is not run by SandboxedReward): allow-listed
builtins, allow-listed module views, and attribute reads guarded at run time. Defense in depth: each
attempt below is also refused statically (test_adversarial_static.py), and the OS layer holds without both."""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.sandbox import SandboxedReward

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch

ESCAPES = {
    "ma_core_builtins": "x = np.ma.core.builtins",
    "ma_extras_chain": "x = np.ma.extras.ma",
    "numpy_lib": "x = np.lib.npyio",
    "ctypeslib": "x = np.ctypeslib",
    "global_random_seed": "np.random.seed(0)",
    "global_random_state": "x = np.random.get_state()",
    "numpy_function_globals": "x = np.mean.__globals__",
    "lambda_globals": "x = (lambda: 0).__globals__",
    "subclass_walk": "x = ().__class__.__bases__[0].__subclasses__()",
    "getattr_builtin": "x = getattr(np, 'lib')",
    "open_builtin": "x = open('/etc/passwd')",
    "type_builtin": "x = type(h)",
    "import_os": "import os",
    "import_ma_core": "import numpy.ma.core as core",
    "from_numpy_import_ctypeslib": "from numpy import ctypeslib",
    "from_random_import_seed": "from numpy.random import seed",
    "array_ctypes": "x = h.ctypes",
    "str_format_walk": "x = '{0.__class__}'.format(h)",
    "module_view_write": "np.pi = 3.0",
    "module_view_private": "x = np._members",
    "class_statement": "class Escape:\n    pass",
    "numpy_c_import_path": "x = __import__('numpy._core._internal', None, None, [], 0).lib",
    "scipy_distance_numpy": "from scipy.spatial import distance\nx = distance.np",
}


CONTROLS = {
    "control_submodules": "x = np.linalg.norm(np.ma.masked_less(h, 0.0).filled(0.0)) + np.fft.rfft(h)[0].real",
    "control_methods": "x = h.reshape(-1, 1).sum(axis=1).clip(0.0, 1.0).astype(np.float32).dtype.kind",
    "control_seeded_generator": "x = np.random.default_rng(0).normal(size=3)",
    "control_isinstance": "x = isinstance(h, np.ndarray) and h.shape[0]",
}
"""Allowed code in the same candidate: it must run, so a refusal above is the guard's, not a broken setup."""


def _attempts(calls: dict[str, str]) -> str:
    lines = ["import numpy as np", "", "", "def compute_reward(state, action, next_state):",
             "    h = next_state.torso_height", "    terms = {}"]
    for name, statement in calls.items():
        lines += ["    try:", *("        " + line for line in statement.splitlines()),
                  f"        terms['{name}'] = np.ones_like(h)",
                  "    except Exception:",
                  f"        terms['{name}'] = np.zeros_like(h)"]
    lines.append("    return h, terms")
    return "\n".join(lines) + "\n"


def test_every_escape_fails_at_run_time_with_the_guards_alone():
    state, action, next_state = make_batch(n=4)
    with SandboxedReward(_attempts({**ESCAPES, **CONTROLS}), field_names=FIELD_NAMES, limits=TEST_LIMITS) as sandbox:
        assert sandbox.start_error is None, sandbox.start_error
        raw = sandbox.call(state, action, next_state)
    assert raw.error is None, raw.error
    escaped = sorted(name for name in ESCAPES if np.any(raw.terms[name] != 0.0))
    assert escaped == []
    assert sorted(name for name in CONTROLS if not np.all(raw.terms[name] == 1.0)) == []


SCIPY_REWARD = """
import numpy as np
import scipy.spatial.distance as dist
from scipy.spatial.distance import cdist
from scipy.spatial.transform import Rotation


def compute_reward(state, action, next_state):
    gap = cdist(next_state.ee_pos, next_state.goal_pos).diagonal()
    first = dist.euclidean(next_state.ee_pos[0], next_state.goal_pos[0])
    angle = Rotation.from_euler("xyz", next_state.ee_pos).magnitude()
    return -gap, {"gap": gap, "first": np.full(gap.shape, first), "angle": angle}
"""


def test_the_scipy_subset_runs_in_the_worker_as_outside():
    pytest.importorskip("scipy.spatial.transform")
    from scipy.spatial.distance import cdist
    from scipy.spatial.transform import Rotation

    from reward_coder.sandbox import static_check

    assert static_check(SCIPY_REWARD, FIELD_NAMES) == []
    state, action, next_state = make_batch(n=8)
    with SandboxedReward(SCIPY_REWARD, field_names=FIELD_NAMES, limits=TEST_LIMITS) as sandbox:
        assert sandbox.start_error is None, sandbox.start_error
        raw = sandbox.call(state, action, next_state)
    assert raw.error is None, raw.error
    ee, goal = next_state["ee_pos"], next_state["goal_pos"]
    np.testing.assert_allclose(raw.reward, -cdist(ee, goal).diagonal())
    np.testing.assert_allclose(raw.terms["angle"], Rotation.from_euler("xyz", ee).magnitude())
