"""The static layer: what it refuses, what it lets through, and how it says so."""

from __future__ import annotations

import textwrap

import pytest

from reward_coder.sandbox import static_check
from reward_coder.sandbox.static import MAX_AST_DEPTH, MAX_CODE_CHARS

from .conftest import FIELD_NAMES

GOOD = """
import math
import numpy as np
from numpy import linalg

TARGET_HEIGHT = 0.65
TWO_PI = 2 * math.pi
WEIGHTS = (1.0, -0.5)


def _upright(angle, scale=1.0):
    return scale * np.cos(angle)


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    with np.errstate(divide="ignore"):
        height = -np.abs(next_state.torso_height - TARGET_HEIGHT)
    effort = -0.1 * np.sum(np.square(action), axis=1)
    close = linalg.norm(next_state.ee_pos - next_state.goal_pos, axis=1) < 0.05
    squash = lambda x: np.tanh(x / TWO_PI)
    parts = [forward, height]
    total = sum(parts) + effort + squash(_upright(next_state.torso_angle)) + close
    return total, {name: value for name, value in zip(("forward", "height"), parts)}
"""


def rules(code: str, field_names=FIELD_NAMES, severity: str | None = None) -> set[str]:
    issues = static_check(textwrap.dedent(code), field_names)
    return {i.rule for i in issues if severity is None or i.severity == severity}


def wrap(body: str, imports: str = "import numpy as np") -> str:
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return f"{imports}\n\n\ndef compute_reward(state, action, next_state):\n{body}\n    return next_state.x_velocity, {{}}\n"


def test_a_plain_reward_passes_without_issues():
    assert static_check(GOOD, FIELD_NAMES) == []


def test_memory_argument_and_its_default_are_accepted():
    code = "def compute_reward(state, action, next_state, memory=None):\n    return next_state.x_velocity, {}\n"
    assert static_check(code, FIELD_NAMES) == []


def test_messages_name_the_line_and_the_rule_for_the_llm():
    [issue] = static_check(wrap("kind = action.__class__"), FIELD_NAMES)
    assert issue.line == 5 and issue.rule == "no-private-attribute" and issue.severity == "error"
    assert issue.describe() == (
        "line 5: attribute '__class__' is not allowed: reward code may not touch dunder or private "
        "attributes (no-private-attribute)"
    )


@pytest.mark.parametrize(
    ("imports", "rule"),
    [
        ("import os", "no-import"),
        ("import subprocess as sp", "no-import"),
        ("from os import path", "no-import"),
        ("import numpy.ctypeslib", "no-import"),
        ("from numpy import load", "forbidden-attribute"),
        ("from numpy import lib", "forbidden-attribute"),
        ("from math import *", "no-star-import"),
        ("from . import helpers", "no-import"),
    ],
)
def test_imports_outside_numpy_and_math_are_refused(imports, rule):
    assert rule in rules(wrap("pass", imports=imports))


@pytest.mark.parametrize("imports", ["import numpy", "import numpy.linalg as la", "from math import sqrt, pi",
                                     "from numpy import random as npr"])
def test_numpy_and_math_imports_are_allowed(imports):
    assert rules(wrap("pass", imports=imports)) <= {"undefined-name"}


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("f = getattr(np, 'load')", "forbidden-builtin"),
        ("eval('1')", "forbidden-builtin"),
        ("exec('x = 1')", "forbidden-builtin"),
        ("open('/etc/passwd')", "forbidden-builtin"),
        ("g = globals()", "forbidden-builtin"),
        ("t = type(action)", "forbidden-builtin"),
        ("b = __builtins__", "no-dunder-name"),
        ("m = __import__('os')", "no-dunder-name"),
        ("s = action.__class__.__subclasses__()", "no-private-attribute"),
        ("p = np._core", "no-private-attribute"),
        ("np.save('x.npy', action)", "forbidden-attribute"),
        ("x = np.fromfile('/etc/passwd')", "forbidden-attribute"),
        ("m = np.memmap('x', mode='w+')", "forbidden-attribute"),
        ("v = np.lib.stride_tricks.as_strided(action, (10,), (8,))", "forbidden-attribute"),
        ("a = action.ctypes.data", "forbidden-attribute"),
        ("action.tofile('x')", "forbidden-attribute"),
        ("f = (i for i in range(3)).gi_frame", "no-introspection"),
        ("s = '{0.__class__}'.format(action)", "no-format-attribute"),
        ("s = '{0[0]}'", "no-format-attribute"),
        ("s = 'x{}'.format(1)", "no-format-method"),
        ("s = f'{action.__class__}'", "no-private-attribute"),
        ("global COUNT", "no-global-state"),
        ("compute_reward.calls = 1", "no-attribute-assignment"),
        ("next_state.joint_vel[:] = 0", "input-mutation"),
        ("state.joint_vel[0] += 1", "input-mutation"),
        ("yield 1", "no-generator"),
    ],
)
def test_refusals_inside_the_function(line, rule):
    assert rule in rules(wrap(line), severity="error")


def test_a_name_that_shadows_a_harmless_builtin_is_fine_but_getattr_never_is():
    assert rules(wrap("id = 3\nhash = id + 1")) == set()
    assert "forbidden-builtin" in rules(wrap("getattr = max\nx = getattr(1, 2)"))


@pytest.mark.parametrize(
    ("module_code", "rule"),
    [
        ("CACHE = {}", "module-state"),
        ("TARGETS = [1.0, 2.0]", "module-state"),
        ("GOAL = np.array([0.5, 0.2])", "module-state"),
        ("x, y = 1, 2\nz.w = 3", "module-state"),
        ("for i in range(3):\n    pass", "module-statement"),
        ("print('loaded')", "module-statement"),
        ("if __name__ == '__main__':\n    pass", "module-statement"),
        ("class Helper:\n    pass", "no-class"),
        ("def helper(x, seen=[]):\n    return x", "no-mutable-default"),
        ("def helper(x, *, seen={}):\n    return x", "no-mutable-default"),
        ("@np.vectorize\ndef helper(x):\n    return x", "no-decorator"),
        ("async def helper():\n    pass", "no-async"),
    ],
)
def test_no_state_can_be_kept_at_module_level(module_code, rule):
    code = f"import numpy as np\n{module_code}\n\n\ndef compute_reward(state, action, next_state):\n    return state.x_velocity, {{}}\n"
    assert rule in rules(code, severity="error")


def test_constant_module_values_are_allowed():
    code = "import math\nA = 1\nB = -2.5 * math.pi\nC = ('a', (1, 2))\nD: float = 3.0\n\n\n" \
           "def compute_reward(state, action, next_state):\n    return state.x_velocity * A, {}\n"
    assert static_check(code, FIELD_NAMES) == []


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("def reward(state, action, next_state):\n    return 0, {}\n", "missing-function"),
        ("def compute_reward(state, action):\n    return 0, {}\n", "bad-signature"),
        ("def compute_reward(state, action, next_state, memory, extra):\n    return 0, {}\n", "bad-signature"),
        ("def compute_reward(*args):\n    return 0, {}\n", "bad-signature"),
        ("def compute_reward(state, action, next_state)\n    return 0, {}\n", "syntax-error"),
    ],
)
def test_the_contract_signature(code, rule):
    assert rule in rules(code)


def test_missing_numpy_import_is_caught_with_a_fix():
    [issue] = static_check(wrap("d = np.linalg.norm(action, axis=1)", imports=""), FIELD_NAMES)
    assert issue.rule == "undefined-name"
    assert "add `import numpy as np`" in issue.message


def test_unknown_fields_are_errors_only_when_the_fields_are_known():
    code = wrap("v = next_state.forward_speed")
    assert "unknown-field" in rules(code)
    assert "unknown-field" not in rules(code, field_names=None)
    [issue] = static_check(code, FIELD_NAMES)
    assert "available fields: ee_pos, goal_pos" in issue.message


def test_helper_parameters_named_like_states_are_checked_too():
    code = "def _speed(next_state):\n    return next_state.velocity\n\n\n" \
           "def compute_reward(s, a, ns):\n    return _speed(ns), {}\n"
    assert "unknown-field" in rules(code)


def test_equality_on_continuous_fields_is_a_warning_even_through_a_variable():
    code = wrap("x = next_state.ee_pos[:, 0]\nbonus = np.where(x == 0.5, 1.0, 0.0)")
    issues = static_check(code, FIELD_NAMES)
    assert [(i.rule, i.severity, i.line) for i in issues] == [("float-equality", "warning", 6)]
    assert "np.isclose" in issues[0].message


def test_equality_on_actions_or_constants_is_not_flagged():
    assert rules(wrap("flag = np.where(action[:, 0] == 1, 1.0, 0.0)\nok = 1 == 1")) == set()


def test_size_limits():
    huge = wrap("x = 1") + "#" * MAX_CODE_CHARS
    assert rules(huge) == {"code-too-long"}
    deep = wrap("x = " + "-" * (MAX_AST_DEPTH + 5) + "1")
    assert rules(deep) == {"too-complex"}
    nested_lists = wrap("x = " + "[" * 80 + "]" * 80)
    assert "too-complex" in rules(nested_lists)
    many = wrap("x = [" + ",".join(["1"] * 5100) + "]")
    assert rules(many) == {"too-complex"}


def test_refusals_are_sorted_by_line_and_deduplicated():
    code = wrap("import os\nimport os\nx = action.__class__")
    issues = static_check(code, FIELD_NAMES)
    assert [i.line for i in issues] == sorted(i.line for i in issues)
    assert len({(i.line, i.rule) for i in issues}) == len(issues)


def test_a_state_named_variable_skips_no_refusal_and_the_real_reason_comes_first():
    helper = "def _h(obs):\n    return obs.ctypes\n\n\ndef compute_reward(state, action, next_state):\n    return _h(next_state), {}\n"
    assert rules(helper, severity="error") == {"forbidden-attribute"}, "not 'unknown-field'"
    assert "forbidden-attribute" in rules(wrap("obs = action\nd = obs.ctypes.data"), severity="error")
    assert rules(wrap("state = action\nb = state.base"), severity="error") == {"not-in-allow-list"}


def test_a_helper_reads_fields_of_a_state_passed_under_any_name():
    code = ("import numpy as np\n\n\ndef _gap(s):\n    return np.linalg.norm(s.ee_pos - s.goal_pos, axis=1)\n\n\n"
            "def compute_reward(state, action, next_state):\n    ns = next_state\n    return -_gap(ns), {}\n")
    assert static_check(code, FIELD_NAMES) == []
    assert static_check(code, None) == []
    assert "unknown-field" in rules(code.replace("s.goal_pos", "s.target"))


@pytest.mark.parametrize(("line", "rule"), [
    ("b = np.ma.extras.ma.builtins", "not-in-allow-list"),
    ("m = np", "module-as-value"),
    ("x = np.random.uniform(size=3)", "no-global-random"),
    ("a = np.zeros(3, dtype='O')", "dtype-not-numeric"),
    ("t = np.ndarray((2,))", "no-ndarray"),
    ("k = '__globals__'", "no-dunder-string"),
    ("b = action.base", "not-in-allow-list"),
])
def test_the_allow_list_refuses_what_a_deny_list_let_through(line, rule):
    assert rule in rules(wrap(line), severity="error")


@pytest.mark.parametrize("line", [
    "x = np.zeros(3, dtype=np.float32) + np.ones((3,), 'float64') + np.arange(3, dtype=int)",
    "x = action.astype(np.float32).astype(action.dtype)",
    "ok = isinstance(action, np.ndarray)",
    "g = np.random.default_rng(0).normal(size=3)",
    "d = {}\nd.setdefault('a', []).append(1)\nkeys = sorted(d.keys())",
    "with np.errstate(divide='ignore'):\n    r = np.log(np.abs(action) + 1e-9)",
])
def test_the_allow_list_lets_ordinary_reward_code_through(line):
    assert rules(wrap(line), severity="error") == set()
