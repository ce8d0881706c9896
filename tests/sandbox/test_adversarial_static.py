"""The adversarial corpus of the static layer: each attack is refused before anything runs, and the
refusal names the line of the model's own answer (prose before the fence included).

Table-driven: an attack is a few lines with one marked `# <-`, the line that must be named. A snippet
that starts with `def`, `import` or `from` goes at module level, anything else into compute_reward.
Every case goes through what the loop does with an answer: extraction, the static check, and the
extraction's line map back to the answer.
"""

from __future__ import annotations

import textwrap

import pytest

from reward_coder.extract import extract_reward_code
from reward_coder.sandbox import static_check

from .conftest import FIELD_NAMES

PREAMBLE = """\
import math
import numpy as np
import scipy
from numpy import linalg
from scipy.spatial import distance
from scipy.spatial.transform import Rotation as R
"""

MARK = "# <-"

CASES: dict[str, tuple[str, set[str]]] = {
    # ---- module objects reached through attribute chains (numpy.ma.core is numpy.ma's 'core') ----
    "ma_core_builtins": ("b = np.ma.core.builtins  # <-", {"forbidden-attribute"}),
    "ma_extras_alias_chain": ("b = np.ma.extras.ma.builtins  # <-", {"not-in-allow-list"}),
    "lib_npyio_os": ("o = np.lib.npyio.os  # <-", {"forbidden-attribute"}),
    "ctypeslib_ctypes": ("c = np.ctypeslib.ctypes  # <-", {"forbidden-attribute"}),
    "ctypeslib_load_library": ("c = np.ctypeslib.load_library('libc', '/lib')  # <-", {"forbidden-attribute"}),
    "testing_os": ("t = np.testing.os  # <-", {"forbidden-attribute"}),
    "f2py_run_main": ("np.f2py.run_main(['-c'])  # <-", {"forbidden-attribute"}),
    "random_mtrand": ("r = np.random.mtrand  # <-", {"not-in-allow-list"}),
    "linalg_linalg_module": ("m = np.linalg.linalg  # <-", {"not-in-allow-list"}),
    "polynomial_module": ("p = np.polynomial.polynomial.np  # <-", {"not-in-allow-list"}),
    "char_module": ("s = np.char.add('a', 'b')  # <-", {"not-in-allow-list"}),
    "rec_module": ("r = np.rec.fromarrays([action])  # <-", {"not-in-allow-list"}),
    "dtypes_module": ("d = np.dtypes.ObjectDType  # <-", {"not-in-allow-list"}),
    "emath_module": ("e = np.emath.sqrt(action)  # <-", {"not-in-allow-list"}),
    "fft_helper_module": ("h = np.fft.helper  # <-", {"not-in-allow-list"}),
    "imported_submodule_chain": ("d = linalg.np  # <-", {"not-in-allow-list"}),
    "scipy_distance_np": ("d = scipy.spatial.distance.np  # <-", {"not-in-allow-list"}),
    "scipy_distance_warnings": ("w = distance.warnings  # <-", {"not-in-allow-list"}),
    "scipy_private_rotation_module": ("r = scipy.spatial.transform._rotation  # <-", {"no-private-attribute"}),
    "scipy_stats": ("s = scipy.stats  # <-", {"not-in-allow-list"}),
    "rotation_random_global_state": ("r = R.random()  # <-", {"not-in-allow-list"}),
    "math_loader": ("m = math.__loader__  # <-", {"no-private-attribute"}),
    "numpy_dict": ("d = np.__dict__  # <-", {"no-private-attribute"}),
    "numpy_private_core": ("c = np._core.multiarray  # <-", {"no-private-attribute"}),
    # ---- imports of modules outside the allow-list, used (unused ones are dropped, see test_extract) ----
    "import_ma_core": ("import numpy.ma.core as core  # <-\n\ndef h():\n    return core.builtins", {"no-import"}),
    "from_ma_core_import_builtins": ("from numpy.ma.core import builtins  # <-\n\ndef h():\n    return builtins.open",
                                     {"no-import"}),
    "from_ma_import_core": ("from numpy.ma import core  # <-\n\ndef h():\n    return core", {"forbidden-attribute"}),
    "from_numpy_import_ctypeslib": ("from numpy import ctypeslib  # <-\n\ndef h():\n    return ctypeslib",
                                    {"forbidden-attribute"}),
    "from_numpy_import_lib_as": ("from numpy import lib as L  # <-\n\ndef h():\n    return L", {"forbidden-attribute"}),
    "import_lib_npyio": ("import numpy.lib.npyio  # <-\n\ndef h():\n    return numpy", {"no-import"}),
    "import_scipy_linalg": ("import scipy.linalg as sl  # <-\n\ndef h():\n    return sl.inv", {"no-import"}),
    "from_scipy_import_stats": ("from scipy import stats  # <-\n\ndef h():\n    return stats", {"not-in-allow-list"}),
    "import_os": ("import os  # <-\n\ndef h():\n    return os.system", {"no-import"}),
    "import_ctypes": ("import ctypes  # <-\n\ndef h():\n    return ctypes.CDLL", {"no-import"}),
    "import_builtins": ("import builtins  # <-\n\ndef h():\n    return builtins.open", {"no-import"}),
    "import_inside_function": ("x = 1\nimport importlib  # <-\nm = importlib.import_module('os')", {"no-import"}),
    "from_numpy_import_star": ("from numpy import *  # <-", {"no-star-import"}),
    # ---- a module carried as a value past the check ----
    "module_alias": ("m = np  # <-\nb = m.ma", {"module-as-value"}),
    "submodule_alias": ("m = np.ma  # <-", {"module-as-value"}),
    "submodule_in_list": ("m = [np.ma][0].core  # <-", {"module-as-value"}),
    "module_as_argument": ("def h(m):\n    return m.ma\n\ndef g():\n    return h(np)  # <-", {"module-as-value"}),
    "module_in_dict": ("d = {'m': np.random}  # <-", {"module-as-value"}),
    "module_through_lambda": ("x = (lambda m: m.ctypeslib)(np)  # <-", {"module-as-value"}),
    "module_rebound": ("np = action  # <-", {"module-rebound"}),
    "ndarray_constructor": ("a = np.ndarray((1,), dtype='O', buffer=b'\\0' * 8)  # <-", {"no-ndarray"}),
    "ndarray_alias": ("t = np.ndarray  # <-\na = t((1,))", {"no-ndarray"}),
    "ndarray_called_in_annotation": ("def h(x: np.ndarray((1,), dtype='O')):  # <-\n    return x", {"no-ndarray"}),
    # ---- builtins and computed attribute names ----
    "getattr_load": ("f = getattr(np, 'load')  # <-", {"forbidden-builtin"}),
    "getattr_computed_dunder": ("c = getattr(action, '__cl' + 'ass__')  # <-", {"forbidden-builtin"}),
    "vars_of_numpy": ("v = vars(np)  # <-", {"forbidden-builtin"}),
    "dir_of_numpy": ("names = dir(np)  # <-", {"forbidden-builtin"}),
    "builtins_dict": ("o = __builtins__['open']  # <-", {"no-dunder-name"}),
    "dunder_import": ("o = __import__('os')  # <-", {"no-dunder-name"}),
    "type_subclasses": ("s = type(action).mro  # <-", {"forbidden-builtin"}),
    "globals_call": ("g = globals()  # <-", {"forbidden-builtin"}),
    "dunder_string": ("key = '__class__'  # <-", {"no-dunder-string"}),
    "dunder_string_in_call": ("m = {}.get('__globals__')  # <-", {"no-dunder-string"}),
    # ---- object graph walks ----
    "class_subclasses": ("s = action.__class__.__mro__[-1].__subclasses__()  # <-", {"no-private-attribute"}),
    "tuple_bases_walk": ("s = ().__class__.__bases__[0].__subclasses__()  # <-", {"no-private-attribute"}),
    "function_globals": ("g = compute_reward.__globals__  # <-", {"no-private-attribute"}),
    "numpy_function_wrapped": ("w = np.mean.__wrapped__  # <-", {"no-private-attribute"}),
    "lambda_code": ("c = (lambda: 0).__code__  # <-", {"no-private-attribute"}),
    "lambda_closure": ("c = (lambda: action).__closure__  # <-", {"no-private-attribute"}),
    "generator_frame": ("f = (x for x in ()).gi_frame  # <-", {"no-introspection"}),
    "frame_globals": ("f = action.f_globals  # <-", {"no-introspection"}),
    "state_class": ("c = next_state.__class__  # <-", {"no-private-attribute"}),
    "helper_obs_param_ctypes": ("def h(obs):\n    return obs.ctypes  # <-", {"forbidden-attribute"}),
    "local_named_obs_ctypes": ("obs = action\np = obs.ctypes.data  # <-", {"forbidden-attribute"}),
    "local_named_state_dict": ("state = action\nd = state.__dict__  # <-", {"no-private-attribute"}),
    "helper_state_param_dict": ("def h(s):\n    return s.__dict__  # <-\n\ndef g(state):\n    return h(state)",
                                {"no-private-attribute"}),
    "array_base": ("b = action.base  # <-", {"not-in-allow-list"}),
    "array_data_buffer": ("b = action.data  # <-", {"not-in-allow-list"}),
    "array_flags": ("f = action.flags  # <-", {"not-in-allow-list"}),
    "array_view": ("v = action.view('O')  # <-", {"not-in-allow-list"}),
    "dtype_type": ("t = action.dtype.type  # <-", {"not-in-allow-list"}),
    "generator_bit_generator": ("b = np.random.default_rng(0).bit_generator  # <-", {"not-in-allow-list"}),
    # ---- format-string tricks ----
    "format_attribute": ("s = '{0.__class__}'.format(action)  # <-", {"no-format-attribute", "no-format-method"}),
    "format_item": ("s = '{0[__builtins__]}'  # <-", {"no-format-attribute"}),
    "format_nested_spec": ("s = '{0:{1.real}}'  # <-", {"no-format-attribute"}),
    "str_format_unbound": ("s = str.format('{}', action)  # <-", {"no-format-method"}),
    "format_map": ("s = '{x}'.format_map({'x': 1})  # <-", {"no-format-method"}),
    "format_builtin": ("s = format(action, '')  # <-", {"forbidden-builtin"}),
    "fstring_dunder": ("s = f'{action.__class__}'  # <-", {"no-private-attribute"}),
    "percent_format_ctypes": ("s = '%s' % action.ctypes  # <-", {"forbidden-attribute"}),
    # ---- numpy's global random state and other state kept between calls ----
    "random_seed": ("np.random.seed(0)  # <-", {"no-global-random"}),
    "random_uniform": ("noise = np.random.uniform(size=3)  # <-", {"no-global-random"}),
    "random_get_state_counter": ("count = np.random.get_state()[2]  # <-", {"no-global-random"}),
    "random_set_state": ("np.random.set_state(('MT19937', np.zeros(624), 1, 0, 0.0))  # <-", {"no-global-random"}),
    "from_random_import_randn": ("from numpy.random import randn  # <-\n\ndef h():\n    return randn(3)",
                                 {"no-global-random"}),
    "unseeded_generator": ("g = np.random.default_rng()  # <-", {"no-global-random"}),
    "printoptions_counter": ("np.set_printoptions(precision=3)  # <-", {"no-global-state"}),
    "seterr_counter": ("old = np.seterr(all='ignore')  # <-", {"no-global-state"}),
    "write_into_module_object": ("np.ma.masked[...] = 1  # <-", {"module-state"}),
    "module_attribute_assignment": ("np.pi = 3  # <-", {"no-attribute-assignment"}),
    "function_attribute_counter": ("compute_reward.calls = 1  # <-", {"no-attribute-assignment"}),
    "global_counter": ("global COUNT  # <-", {"no-global-state"}),
    "closure_counter": ("def outer():\n    n = 0\n    def inner():\n        nonlocal n  # <-\n        n += 1\n"
                        "    return inner", {"no-global-state"}),
    "mutable_default_counter": ("def h(x, seen=[]):  # <-\n    seen.append(x)\n    return len(seen)",
                                {"no-mutable-default"}),
    "lambda_mutable_default": ("f = lambda x, c={}: c.setdefault('n', x)  # <-", {"no-mutable-default"}),
    "module_level_list": ("STEPS = [0]  # <-\n\ndef h():\n    STEPS[0] += 1\n    return STEPS[0]", {"module-state"}),
    # ---- object and void dtypes ----
    "object_dtype_builtin": ("a = np.array([1], dtype=object)  # <-", {"forbidden-builtin", "dtype-not-numeric"}),
    "object_dtype_string": ("a = np.zeros(3, dtype='O')  # <-", {"dtype-not-numeric", "no-object-dtype"}),
    "object_dtype_positional": ("a = np.array(action, 'object')  # <-", {"dtype-not-numeric", "no-object-dtype"}),
    "void_astype": ("a = action.astype('V8')  # <-", {"dtype-not-numeric", "no-object-dtype"}),
    "frombuffer_object": ("a = np.frombuffer(b'\\0' * 8, dtype='O')  # <-", {"forbidden-attribute"}),
    "structured_object_dtype": ("d = np.dtype([('a', 'O')])  # <-", {"no-object-dtype", "dtype-not-numeric"}),
    "object_scalar_type": ("a = np.empty(3, dtype=np.object_)  # <-", {"not-in-allow-list", "dtype-not-numeric"}),
    "void_scalar_type": ("a = np.empty(3, dtype=np.void)  # <-", {"not-in-allow-list", "dtype-not-numeric"}),
    "dtype_through_variable": ("dt = 'O'\na = np.zeros(3, dtype=dt)  # <-", {"dtype-not-numeric"}),
    "full_object_positional": ("a = np.full(3, None, 'O')  # <-", {"dtype-not-numeric", "no-object-dtype"}),
    # ---- other refused shapes ----
    "class_definition": ("x = 1\nclass Helper:  # <-\n    pass", {"no-class"}),
    "eval_string": ("x = eval('1 + 1')  # <-", {"forbidden-builtin"}),
    "exec_string": ("exec('import os')  # <-", {"forbidden-builtin"}),
    "open_file": ("f = open('/etc/passwd')  # <-", {"forbidden-builtin"}),
    "memoryview_cast": ("m = memoryview(b'x')  # <-", {"forbidden-builtin"}),
    "numpy_save": ("np.save('/tmp/x.npy', action)  # <-", {"forbidden-attribute"}),
    "numpy_load_pickle": ("x = np.load('x.npy', allow_pickle=True)  # <-", {"forbidden-attribute"}),
    "array_tofile": ("action.tofile('/tmp/x')  # <-", {"forbidden-attribute"}),
    "array_dumps": ("s = action.dumps()  # <-", {"forbidden-attribute"}),
}


def _answer(snippet: str) -> tuple[str, int]:
    """An LLM-style answer holding the snippet, and the answer line of its marked line."""
    snippet = textwrap.dedent(snippet).strip("\n")
    if snippet.startswith(("def ", "import ", "from ", "STEPS")):
        module = f"{PREAMBLE}{snippet}\n\n\ndef compute_reward(state, action, next_state):\n" \
                 "    return next_state.x_velocity, {}\n"
    else:
        body = textwrap.indent(snippet, "    ")
        module = f"{PREAMBLE}\n\ndef compute_reward(state, action, next_state):\n{body}\n" \
                 "    return next_state.x_velocity, {}\n"
    answer = f"Here is a reward that should work well.\nIt rewards forward motion.\n\n```python\n{module}```\n\nEnjoy!"
    [marked] = [number for number, line in enumerate(answer.splitlines(), start=1) if MARK in line]
    return answer, marked


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_attack_is_refused_statically_at_the_users_line(case: str) -> None:
    snippet, rules = CASES[case]
    answer, line = _answer(snippet)
    extracted = extract_reward_code(answer)
    assert not hasattr(extracted, "kind"), extracted
    issues = [i for i in static_check(extracted.code, FIELD_NAMES) if i.severity == "error"]
    found = {(i.rule, extracted.answer_line(i.line)) for i in issues}
    assert any((rule, line) in found for rule in rules), (
        f"{case}: expected one of {sorted(rules)} at answer line {line}; got "
        + "; ".join(f"{extracted.answer_line(i.line)}: {i.describe()}" for i in issues))


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60


def test_the_preamble_itself_passes() -> None:
    answer, _ = _answer("x = 1  # <-")
    extracted = extract_reward_code(answer)
    assert static_check(extracted.code, FIELD_NAMES) == []
