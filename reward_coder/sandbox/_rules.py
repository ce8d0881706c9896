"""What reward code may use: shared by the static check (parent) and the worker's guards (sandbox).

Stdlib only: the worker imports this file inside the sandbox.
"""

from __future__ import annotations

import builtins

ENTRY_POINT = "compute_reward"

ALLOWED_MODULES = frozenset({"numpy", "math", "numpy.linalg", "numpy.random", "numpy.fft"})
"""Modules reward code may import (the contract says numpy and math; these numpy parts are pure math)."""

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
