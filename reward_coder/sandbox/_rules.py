"""What reward code may use: shared by the static check (parent) and the worker's guards (sandbox).

Stdlib only: the worker imports this file inside the sandbox.

Everything here is an allow-list. Reward code may import only the modules in ALLOWED_MODULES, and it
may read only the members listed for each of them in MODULE_MEMBERS (a name not listed is refused,
wherever it comes from); a member that is itself a module or a class namespace is listed in
SUBMODULES and has members of its own. On values that are not modules (arrays, dicts, a Generator,
a Rotation, ...) it may read only VALUE_ATTRIBUTES and the environment's field names. The lists,
deliberately short, hold what reward functions in the literature and real model answers use:

- numpy: element-wise math (np.abs ... np.arctan2, np.clip, np.where), comparisons and logic,
  reductions (sum, mean, std, min/max, percentile, nan*), np.linalg (norm, det, inv, solve, ...),
  array creation with numeric dtypes (array, zeros, ones, full, arange, linspace, *_like), shape
  functions (stack, concatenate, reshape, tile, roll, ...), np.fft, a few np.ma functions, numeric
  scalar types (float64, int64, bool_, ...), finfo/iinfo, errstate, array printing;
  np.random only as `np.random.default_rng(seed)` (the global random functions keep hidden state);
- math: its functions and constants (all pure);
- scipy: scipy.spatial.distance (cdist, pdist, euclidean, cosine, ...) and
  scipy.spatial.transform.Rotation (from_quat/from_euler/from_matrix/from_rotvec and the methods of
  a rotation), because real model answers (Text2Reward's Meta-World rewards) use them.

Not listed, so refused: numpy's file I/O, pickling and memory access (load, save, fromfile,
frombuffer, memmap, ctypeslib, lib, testing, f2py, ...), submodules other than linalg/fft/random/ma,
np.ndarray as a constructor (it accepts a raw buffer), object and void dtypes, np.random's global
functions, the printing/error-state setters that keep state between calls (set_printoptions, seterr).
"""

from __future__ import annotations

import builtins

ENTRY_POINT = "compute_reward"

_NUMPY_ELEMENTWISE = (
    "abs absolute fabs sign sqrt cbrt square exp exp2 expm1 log log2 log10 log1p power float_power "
    "sin cos tan arcsin arccos arctan arctan2 asin acos atan atan2 sinh cosh tanh arcsinh arccosh arctanh "
    "asinh acosh atanh hypot deg2rad rad2deg degrees radians unwrap floor ceil trunc rint round around fix "
    "mod fmod remainder divmod floor_divide true_divide divide multiply add subtract negative positive "
    "reciprocal maximum minimum fmax fmin clip heaviside sinc copysign logaddexp logaddexp2 modf isnan isinf "
    "isfinite isposinf isneginf nan_to_num real imag conj conjugate angle gcd lcm"
)
_NUMPY_LOGIC = (
    "greater greater_equal less less_equal equal not_equal logical_and logical_or logical_not logical_xor "
    "isclose allclose array_equal array_equiv all any where select piecewise"
)
_NUMPY_REDUCTIONS = (
    "sum prod mean average median std var min max amin amax ptp argmin argmax nanmean nansum nanmin nanmax "
    "nanmedian nanstd nanvar nanargmin nanargmax nanprod percentile quantile nanpercentile nanquantile cumsum "
    "cumprod nancumsum nancumprod count_nonzero diff gradient trapezoid ediff1d histogram bincount digitize "
    "searchsorted sort argsort unique cov corrcoef convolve correlate interp polyval polyfit"
)
_NUMPY_LINEAR_ALGEBRA = (
    "dot vdot inner outer matmul cross einsum tensordot kron trace diag diagonal eye identity tri triu tril"
)
_NUMPY_CREATION = (
    "array asarray ascontiguousarray zeros ones empty full zeros_like ones_like empty_like full_like arange "
    "linspace logspace geomspace meshgrid copy atleast_1d atleast_2d atleast_3d broadcast_to broadcast_arrays "
    "indices"
)
_NUMPY_SHAPE = (
    "reshape ravel squeeze expand_dims transpose swapaxes moveaxis stack hstack vstack dstack column_stack "
    "concatenate split array_split tile repeat roll flip fliplr flipud rot90 take take_along_axis append insert "
    "delete pad shape size ndim nonzero flatnonzero argwhere extract compress"
)
NUMERIC_SCALAR_TYPES = frozenset((
    "float64 float32 float16 int64 int32 int16 int8 uint8 uint16 uint32 uint64 intp uintp bool_ bool double "
    "single half longdouble complex64 complex128"
).split())
"""numpy's numeric scalar types: what a `dtype=` argument may name (besides float, int, bool, complex)."""
_NUMPY_TYPES = (
    "floating integer number signedinteger unsignedinteger inexact issubdtype finfo iinfo result_type dtype ndarray"
)
_NUMPY_OTHER = (
    "pi e inf nan newaxis euler_gamma errstate array2string format_float_positional format_float_scientific "
    "vectorize apply_along_axis"
)

_MATH = (
    "acos acosh asin asinh atan atan2 atanh cbrt ceil comb copysign cos cosh degrees dist e erf erfc exp exp2 "
    "expm1 fabs factorial floor fmod frexp fsum gamma gcd hypot inf isclose isfinite isinf isnan isqrt lcm ldexp "
    "lgamma log log10 log1p log2 modf nan nextafter perm pi pow prod radians remainder sin sinh sqrt tan tanh tau "
    "trunc ulp"
)

_DISTANCE = (
    "cdist pdist squareform euclidean sqeuclidean cosine cityblock chebyshev minkowski braycurtis canberra "
    "correlation jensenshannon seuclidean mahalanobis"
)


def _words(*groups: str) -> frozenset[str]:
    return frozenset(word for group in groups for word in group.split())


MODULE_MEMBERS: dict[str, frozenset[str]] = {
    "numpy": _words(_NUMPY_ELEMENTWISE, _NUMPY_LOGIC, _NUMPY_REDUCTIONS, _NUMPY_LINEAR_ALGEBRA, _NUMPY_CREATION,
                    _NUMPY_SHAPE, " ".join(NUMERIC_SCALAR_TYPES), _NUMPY_TYPES, _NUMPY_OTHER),
    "numpy.linalg": _words("norm vector_norm matrix_norm det slogdet inv pinv solve lstsq eig eigh eigvals eigvalsh "
                           "svd svdvals qr cholesky cond matrix_rank matrix_power multi_dot cross outer matmul "
                           "trace diagonal LinAlgError"),
    "numpy.fft": _words("fft ifft rfft irfft fft2 ifft2 rfft2 irfft2 fftn ifftn rfftn irfftn hfft ihfft fftfreq "
                        "rfftfreq fftshift ifftshift"),
    "numpy.random": _words("default_rng"),
    "numpy.ma": _words("masked_array array masked_where masked_less masked_less_equal masked_greater "
                       "masked_greater_equal masked_equal masked_not_equal masked_inside masked_outside "
                       "masked_invalid getmask getmaskarray filled is_masked masked nomask mean sum min max average "
                       "median std var where count"),
    "math": _words(_MATH),
    "scipy": frozenset(),
    "scipy.spatial": frozenset(),
    "scipy.spatial.distance": _words(_DISTANCE),
    "scipy.spatial.transform": frozenset(),
    "scipy.spatial.transform.Rotation": _words("from_quat from_euler from_matrix from_rotvec from_mrp identity "
                                               "concatenate align_vectors"),
}
"""For each namespace reward code may name (a module, or a class used as one), the members it may read."""

SUBMODULES: dict[str, dict[str, str]] = {
    "numpy": {"linalg": "numpy.linalg", "fft": "numpy.fft", "random": "numpy.random", "ma": "numpy.ma"},
    "scipy": {"spatial": "scipy.spatial"},
    "scipy.spatial": {"distance": "scipy.spatial.distance", "transform": "scipy.spatial.transform"},
    "scipy.spatial.transform": {"Rotation": "scipy.spatial.transform.Rotation"},
}
"""Members that are namespaces themselves (a submodule, or Rotation): reading one gives its own allow-list."""

ALLOWED_MODULES = frozenset(name for name in MODULE_MEMBERS if name != "scipy.spatial.transform.Rotation")
"""Modules reward code may import: numpy (with linalg, fft, random, ma), math, and the scipy subset."""

SCIPY_MODULES = ("scipy.spatial.distance", "scipy.spatial.transform")
"""The scipy parts the worker loads before its limits, only for code that mentions scipy (it costs start-up time)."""

GLOBAL_RANDOM_FUNCTIONS = frozenset((
    "rand randn random random_sample ranf sample uniform normal standard_normal randint random_integers choice "
    "shuffle permutation seed get_state set_state beta binomial exponential gamma poisson multivariate_normal "
    "lognormal laplace RandomState"
).split())
"""np.random's functions over its one global generator: a call changes hidden state that outlives the call
(a candidate kept a step counter in it), and the reward stops being a function of its inputs."""

STATEFUL_NUMPY_FUNCTIONS = frozenset(
    "set_printoptions get_printoptions printoptions seterr geterr seterrcall geterrcall setbufsize getbufsize".split())
"""numpy settings that persist between calls (and report the previous value): a place to keep a counter."""

VALUE_ATTRIBUTES = frozenset((
    # ndarray (and numpy scalars); not ctypes, data, base, flags, view, tofile, dump(s), getfield/setfield
    "T mT all any argmax argmin argpartition argsort astype clip conj conjugate copy cumprod cumsum diagonal "
    "dot dtype fill flatten imag item itemsize max mean min nbytes ndim nonzero partition prod ravel real "
    "repeat reshape round searchsorted shape size sort squeeze std sum swapaxes take tolist trace transpose var "
    # dtype, finfo, iinfo
    "kind name eps tiny resolution smallest_normal bits precision "
    # masked arrays
    "filled mask compressed "
    # dict, list, set, str, float, int
    "items keys values get setdefault update pop popitem clear append extend insert index count remove reverse "
    "add discard union intersection difference symmetric_difference issubset issuperset "
    "startswith endswith join split strip lstrip rstrip lower upper replace find title capitalize isdigit isalpha "
    "is_integer bit_length "
    # a Generator from np.random.default_rng(seed); not `random`, which is also np.random and Rotation.random
    "normal uniform integers standard_normal choice exponential "
    # a scipy Rotation
    "apply as_euler as_quat as_matrix as_rotvec as_mrp inv magnitude approx_equal"
).split())
"""Attributes reward code may read on values that are not modules. None of them names a module, a
class or a frame on any value reward code can make (tests/sandbox/test_allow_list.py walks them)."""

DTYPE_POSITIONS: dict[str, int] = {
    "array": 1, "asarray": 1, "ascontiguousarray": 1, "zeros": 1, "ones": 1, "empty": 1, "full": 2,
    "zeros_like": 1, "ones_like": 1, "empty_like": 1, "full_like": 2, "arange": 3, "eye": 3, "identity": 1,
    "astype": 0, "dtype": 0, "finfo": 0, "iinfo": 0, "masked_array": 2,
}
"""Where numpy functions take a dtype positionally (also `x.astype(dtype)`); `dtype=` is checked everywhere."""

NUMPY_RUNTIME_IMPORTS = frozenset({
    "numpy._core.arrayprint", "numpy._core._methods", "numpy._core._dtype", "numpy._core._internal",
    "numpy._core._exceptions", "numpy._core.printoptions", "numpy._core.numeric", "numpy._globals",
    "numpy.exceptions", "numpy.dtypes",
})
"""numpy modules that numpy's own C code imports in the middle of a call (ndarray.__str__ and __repr__,
ndarray.mean/sum/clip, dtype.__repr__, error messages). C code finds `__import__` in the builtins of the
calling frame, which for reward code are the guarded ones, so the worker's guard lets these names through,
but only when already loaded and asked the way C code asks (an empty fromlist list; import statements
pass None or a tuple). It then imports nothing and returns the allow-listed view of numpy: C code
(PyImport_Import) ignores the return value and takes the real module from sys.modules, so reward code
that calls __import__ that way itself gains nothing.
Reward code still may not import them: the static check refuses every module outside ALLOWED_MODULES."""

PRELOADED_MODULES = ("numpy.linalg", "numpy.fft", "numpy.random", "numpy.ma", "numpy.polynomial",
                     "numpy.exceptions", "numpy.dtypes")
"""numpy parts that numpy loads on first attribute access (np.ma, np.fft, ...) and reward code may reach:
the worker loads them before its limits and filter are in place, since a lazy import later may meet
the memory limit or an unreadable install (after dropping root) and costs the first call its time."""

ALLOWED_BUILTIN_FUNCTIONS = frozenset({
    "abs", "all", "any", "ascii", "bin", "bool", "callable", "chr", "complex", "dict", "divmod",
    "enumerate", "filter", "float", "frozenset", "hex", "int", "isinstance", "issubclass", "iter",
    "len", "list", "map", "max", "min", "next", "oct", "ord", "pow", "print", "range", "repr",
    "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
})
ALLOWED_BUILTIN_CONSTANTS = frozenset({"True", "False", "None", "Ellipsis", "NotImplemented"})
ALLOWED_EXCEPTIONS = frozenset({
    "Exception", "ArithmeticError", "AssertionError", "AttributeError", "FloatingPointError", "ImportError",
    "IndexError", "KeyError", "LookupError", "ModuleNotFoundError", "NameError", "NotImplementedError",
    "OverflowError", "RuntimeError", "StopIteration", "TypeError", "ValueError", "ZeroDivisionError",
    "Warning", "RuntimeWarning", "UserWarning", "DeprecationWarning",
})
ALLOWED_BUILTINS = ALLOWED_BUILTIN_FUNCTIONS | ALLOWED_BUILTIN_CONSTANTS | ALLOWED_EXCEPTIONS
"""Builtins reward code may name; the worker builds its builtins table from exactly these. Missing on
purpose: getattr/setattr/delattr/hasattr, eval/exec/compile, open/input/breakpoint/help,
globals/locals/vars/dir, type/object/super, __import__, memoryview, bytes/bytearray, id,
format, property/classmethod/staticmethod, exit/quit, BaseException and the exceptions that stop a
process (SystemExit, KeyboardInterrupt, GeneratorExit)."""

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
    "recfromcsv", "frombuffer", "fromstring",
    # numpy submodules that reach the OS, C memory or the test runner
    "lib", "ctypeslib", "ctypes", "f2py", "distutils", "testing", "core", "stride_tricks",
    "as_strided", "test", "show_config", "show_runtime", "get_include", "info", "source", "lookfor",
    # str.format reaches attributes through '{0.attr}'
    "format", "format_map",
    # frames, code objects and closures
    "cell_contents", "mro",
})
"""Attribute names refused on any receiver, with the reason named (they are also outside every allow-list)."""

FORBIDDEN_ATTRIBUTE_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_", "im_")
"""Generator, coroutine, frame, traceback and code-object attributes (gi_frame, f_globals, ...)."""


def attribute_refusal(name: str) -> tuple[str, str] | None:
    """(rule, reason) if reading attribute `name` is refused on any receiver, else None."""
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


def member_refusal(namespace: str, name: str) -> tuple[str, str] | None:
    """(rule, reason) if `namespace.name` (e.g. 'numpy', 'ctypeslib') is outside the allow-list, else None."""
    refusal = attribute_refusal(name)
    if refusal is not None:
        return refusal
    if name in MODULE_MEMBERS.get(namespace, ()) or name in SUBMODULES.get(namespace, {}):
        return None
    if namespace == "numpy.random" and name in GLOBAL_RANDOM_FUNCTIONS:
        return ("no-global-random", "np.random's global functions keep hidden state between calls and make the "
                                    "reward random; a reward must be a function of its inputs (if you need noise, "
                                    "np.random.default_rng(0) gives a fresh seeded generator)")
    if namespace == "numpy" and name in STATEFUL_NUMPY_FUNCTIONS:
        return ("no-global-state", "numpy's global settings persist between calls; use `with np.errstate(...)` "
                                   "for floating-point warnings")
    shown = "np" if namespace == "numpy" else namespace
    return ("not-in-allow-list", f"'{shown}.{name}' is not among the functions reward code may use "
                                 f"({_allowed_hint(namespace)})")


def _allowed_hint(namespace: str) -> str:
    if namespace.startswith("numpy"):
        return ("numpy's element-wise math, reductions, np.linalg, np.where/np.clip, array creation with "
                "numeric dtypes, stacking and reshaping; see the reward contract")
    if namespace.startswith("scipy"):
        return "scipy.spatial.distance and scipy.spatial.transform.Rotation only"
    return "math's functions and constants"


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
