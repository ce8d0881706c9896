"""What reward code may use: shared by the static check (parent) and the worker's guards (sandbox).

Stdlib only: the worker imports this file inside the sandbox.
"""

from __future__ import annotations

import builtins

ENTRY_POINT = "compute_reward"

ALLOWED_MODULES = frozenset({"numpy", "math", "numpy.linalg", "numpy.random", "numpy.fft"})
"""Modules reward code may import (the contract says numpy and math; these numpy parts are pure math)."""

NUMPY_RUNTIME_IMPORTS = frozenset({
    "numpy._core.arrayprint", "numpy._core._methods", "numpy._core._dtype", "numpy._core._internal",
    "numpy._core._exceptions", "numpy._core.printoptions", "numpy._core.numeric", "numpy._globals",
    "numpy.exceptions", "numpy.dtypes",
})
"""numpy modules that numpy's own C code imports in the middle of a call (ndarray.__str__ and __repr__,
ndarray.mean/sum/clip, dtype.__repr__, error messages). C code finds `__import__` in the builtins of the
calling frame, which for reward code are the guarded ones, so the worker's guard lets these names through,
but only when already loaded and asked the way C code asks (an empty fromlist list; import statements
pass None or a tuple); it then returns the top-level `numpy`, as an empty fromlist always does, so
reward code gains nothing it did not have. Reward code still may
not import them: the static check refuses every module outside ALLOWED_MODULES."""

PRELOADED_MODULES = ("numpy.linalg", "numpy.fft", "numpy.random", "numpy.ma", "numpy.polynomial",
                     "numpy.exceptions", "numpy.dtypes")
"""numpy parts that numpy loads on first attribute access (np.ma, np.fft, ...) and reward code may reach:
the worker loads them before its limits and filter are in place, since a lazy import later may meet
the memory limit or an unreadable install (after dropping root) and costs the first call its time.
np.testing, np.ctypeslib and np.lib stay out: reward code may not name them (FORBIDDEN_ATTRIBUTES)."""

_SAFE_BUILTIN_FUNCTIONS = frozenset({
    "abs", "all", "any", "ascii", "bin", "bool", "callable", "chr", "complex", "dict", "divmod",
    "enumerate", "filter", "float", "frozenset", "hex", "int", "isinstance", "issubclass", "iter",
    "len", "list", "map", "max", "min", "next", "oct", "ord", "pow", "print", "range", "repr",
    "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
})
_BUILTIN_CONSTANTS = frozenset({"True", "False", "None", "NotImplemented", "Ellipsis"})
_EXCEPTIONS = frozenset(
    name for name in dir(builtins)
    if isinstance(getattr(builtins, name), type) and issubclass(getattr(builtins, name), BaseException)
)
ALLOWED_BUILTINS = _SAFE_BUILTIN_FUNCTIONS | _BUILTIN_CONSTANTS | _EXCEPTIONS
"""Builtins reward code may name. Missing on purpose: getattr/setattr/delattr/hasattr, eval/exec/
compile, open/input/breakpoint/help, globals/locals/vars/dir, type/object/super, __import__,
memoryview, id, format, property/classmethod/staticmethod, exit/quit."""

FORBIDDEN_BUILTINS = frozenset(n for n in dir(builtins) if n not in ALLOWED_BUILTINS)

ALWAYS_FORBIDDEN_BUILTINS = frozenset({
    "getattr", "setattr", "delattr", "hasattr", "eval", "exec", "compile", "open", "globals",
    "locals", "vars", "breakpoint", "input", "type", "object", "super", "memoryview",
})
"""Refused even where the code binds the name itself; the other forbidden builtins (id, hash,
format, ...) may be reused as variable names."""

FORBIDDEN_ATTRIBUTES = frozenset({
    # numpy file I/O, pickling and code loading
    "load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile",
    "tofile", "fromregex", "memmap", "open_memmap", "DataSource", "dump", "dumps", "recfromtxt",
    "recfromcsv",
    # numpy submodules that reach the OS, C memory or the test runner
    "lib", "ctypeslib", "ctypes", "f2py", "distutils", "testing", "core", "stride_tricks",
    "as_strided", "test", "show_config", "show_runtime", "get_include", "info", "source", "lookfor",
    # str.format reaches attributes through '{0.attr}'
    "format", "format_map",
    # frames, code objects and closures
    "cell_contents", "mro",
})
"""Attribute names refused on any object except a state field. Numpy is allowed, so its file and
code-loading functions are refused by name; the OS layer holds without this list."""

FORBIDDEN_ATTRIBUTE_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_", "im_")
"""Generator, coroutine, frame, traceback and code-object attributes (gi_frame, f_globals, ...)."""


def attribute_refusal(name: str) -> tuple[str, str] | None:
    """(rule, reason) if reading attribute `name` is refused, else None."""
    if name.startswith("_"):
        return ("no-private-attribute", "reward code may not touch dunder or private attributes")
    if name in ("format", "format_map"):
        return ("no-format-method", "str.format can reach attributes of its arguments; use an f-string")
    if name in FORBIDDEN_ATTRIBUTES:
        return (
            "forbidden-attribute",
            "file I/O, pickling and code loading (numpy's load, save, fromfile, memmap, lib, ctypeslib, "
            "testing, ...) are not available to reward code",
        )
    if name.startswith(FORBIDDEN_ATTRIBUTE_PREFIXES):
        return ("no-introspection", "frame, generator and code-object attributes are not available")
    return None


# ---- teaching messages about the `state` contract (shared by the worker's FieldView, the training-time
# FieldView and the static check, so each says the same thing) --------------------------------------------

def _render_key(key: object) -> str:
    if isinstance(key, tuple):
        return ", ".join(_render_key(k) for k in key)
    if isinstance(key, slice):
        parts = ["" if p is None else _render_key(p) for p in (key.start, key.stop, key.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if parts[2] else "")
    if key is Ellipsis:
        return "..."
    text = repr(key)
    return text if len(text) <= 30 else text[:27] + "..."


def example_field(names, key: object = None) -> str:
    """The field to show in a corrected line: the one at the position the code indexed, else the first."""
    names = list(names)
    if not names:
        return "x"
    index = key[-1] if isinstance(key, tuple) and key else key
    if isinstance(index, int) and not isinstance(index, bool) and -len(names) <= index < len(names):
        return names[index]
    return names[0]


def state_index_hint(names, key: object, *, key_text: str | None = None, receiver: str = "state") -> str:
    """Why `state[key]` fails for a key that is not a field name, and the line to write instead."""
    field = example_field(names, key)
    listed = ", ".join(names) if names else "see the environment description"
    shown = key_text if key_text is not None else _render_key(key)
    return (f"{receiver}[{shown}] does not work: state and next_state are not arrays, they hold the "
            f"environment's named fields ({listed}), each an array with one row per environment; read a field "
            f"by its name, e.g. `{field} = next_state.{field}` (or next_state[\"{field}\"])")


def state_len_hint(names, *, receiver: str = "state") -> str:
    """Why `len(state)` fails, and how to get the batch size."""
    field = example_field(names)
    return (f"len({receiver}) does not work: state and next_state hold named fields, not rows; each field is an "
            f"array with one row per environment, so the batch size is e.g. `n = len(next_state.{field})` "
            f"(or next_state.{field}.shape[0])")


def state_attribute_hint(names, attribute: str, *, receiver: str = "state") -> str:
    """Why `state.shape` (or another array attribute) fails, and the line to write instead."""
    field = example_field(names)
    return (f"'{receiver}.{attribute}' does not work: state and next_state are not arrays but hold named "
            f"fields, each an array with one row per environment; use a field, e.g. "
            f"`next_state.{field}.{attribute}`" + (f" (batch size: next_state.{field}.shape[0])"
                                                     if attribute in ("shape", "size", "ndim") else ""))
