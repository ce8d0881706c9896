"""Entry point of a sandboxed reward worker: `python -I -B _worker_main.py REQ_FD RESP_FD SCRATCH`.

Runs inside bubblewrap (or, as a fallback, a plain process). Everything here up to loading the
candidate is trusted; after that, nothing the worker sends can be trusted by the parent, which is why
the protocol carries only JSON and raw numeric arrays.

Order matters: read the init frame, preload numpy's lazily loaded parts (see _preload_numpy), set
resource limits, drop root (fallback only), install the seccomp filter (which forbids changing
limits), silence stdout/stderr, then compile and run the candidate module with the Python guards
(defense in depth, not the barrier): a builtins table built from the allow-list, imports that hand out
allow-listed views of numpy, math and scipy (AllowedNamespace) instead of the real modules, and every
attribute read rewritten into a call of _guarded_getattr, which refuses dunder/private names and modules.

Limits of these guards: they are Python-level. Objects reward code legitimately holds (numpy functions,
arrays, dtypes) are real objects; only the guards and the static check stand between them and their
dunder attributes (np.mean.__globals__ holds numpy's real builtins). A bug in numpy's C code reached with
allowed arguments is beyond them: the OS layer (bubblewrap, seccomp, limits) is what holds then.
"""

from __future__ import annotations

import ast
import builtins
import json
import math
import os
import signal
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402  (imported before limits: numpy's import needs more memory and files)

import _protocol  # noqa: E402
import _rules  # noqa: E402
import _seccomp  # noqa: E402

NOBODY = 65534
PARENT_PID = os.getppid()
MAX_NAME_CHARS = 64
MAX_TERMS = 64
MAX_TEXT_CHARS = 500


MAX_MEMORY_ITEMS = 100_000
"""Most values one environment's per-episode memory may hold (dict entries, container items, array
elements, counted through nesting): a 64x64 world's visited cells fit many times over."""
MEMORY_CHECK_EVERY = 256
"""During training the memory is measured every this many calls (every call of a check)."""


def _memory_items(value: object, depth: int = 0, seen: set | None = None, limit: int = MAX_MEMORY_ITEMS) -> int:
    """How many values `value` holds, counted through dicts, lists, tuples, sets and arrays.

    Counting stops as soon as it passes `limit` (the answer is then only "more than limit"): a memory that
    grew without bound would otherwise be walked item by item, which took seconds per check."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 16:
        return MAX_MEMORY_ITEMS + 1 if depth > 16 else 0  # too deep to be a reward's memory
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        seen.add(id(value))
        total = len(value)
        for item in list(value.values() if isinstance(value, dict) else value):
            if total > limit:
                break
            total += _memory_items(item, depth + 1, seen, limit)
        return total
    return 1


def _safe_text(value: object, limit: int = MAX_TEXT_CHARS) -> str:
    try:
        text = str(value)
    except BaseException:  # the candidate's __str__ may do anything
        return "<unprintable>"
    if not isinstance(text, str):
        return "<unprintable>"
    return text[:limit]


def _type_name(value: object) -> str:
    try:
        name = type(value).__name__
    except BaseException:
        return "object"
    return name[:60] if isinstance(name, str) else "object"


def _apply_limits(limits: dict) -> None:
    import resource

    wanted = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, limits["file_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_AS, limits["memory_bytes"]),
    ]
    for which, value in wanted:
        _soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))
    cpu = int(math.ceil(limits["cpu_s"]))
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu_hard = cpu + 1 if hard == resource.RLIM_INFINITY else min(cpu + 1, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, cpu_hard), cpu_hard))


def _drop_root() -> None:
    if os.geteuid() != 0:
        return
    # uid 65534 may not be able to read the Python install (e.g. under /root): import what reward
    # code may import while we still can (scipy only when _preload_modules loaded it).
    import importlib

    for module in sorted(_rules.ALLOWED_MODULES):
        if not module.startswith("scipy") or "scipy" in sys.modules:
            importlib.import_module(module)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522


def _become_sandbox_user() -> None:
    """Make this worker uid/gid 0 of the sandbox's user namespace - host uid 65534 - and drop every capability.

    bubblewrap, started by root, set up the sandbox as root of an intermediate namespace and switched into
    the sandbox's own namespace last, where uid 0 is host 65534 (isolation.RootNamespaces); it left only
    CAP_SETUID and CAP_SETGID for this switch. The parent checks the result from the host's side.
    """
    import ctypes

    os.setgid(0)
    os.setuid(0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    if libc.capset(header, (ctypes.c_uint32 * 6)()) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    left = (ctypes.c_uint32 * 6)()
    if libc.capget(header, left) != 0 or any(left):
        raise OSError("capabilities are left after the switch")


def _preload_numpy(code: str = "") -> None:
    """Load now, with the real builtins, what numpy would otherwise load or cache on first use.

    numpy fills per-process caches the first time an array is printed or reduced (ndarray.__str__ asks
    numpy._core.arrayprint for its formatter, ndarray.mean numpy._core._methods); done here, reward code
    formats and reduces arrays without any import at all. Lazily loaded submodules (np.ma, np.fft, ...)
    are imported while limits and the syscall filter do not yet stand in the way; so is the scipy subset,
    but only for code that mentions scipy (it costs a worker a few tenths of a second to load).
    """
    import importlib

    for module in _rules.PRELOADED_MODULES:
        importlib.import_module(module)
    if "scipy" in code:
        for module in _rules.SCIPY_MODULES:
            try:
                importlib.import_module(module)
            except ImportError:  # scipy missing: the candidate's import fails with a clear message
                break
    samples = [np.array([[0.5, -1.0]]), np.array([1, 2]), np.array([True]), np.float64(0.5), np.int64(1),
               np.array(0.5)]
    for sample in samples:
        str(sample), repr(sample), f"{sample}", str(np.asarray(sample).dtype), repr(np.asarray(sample).dtype)
    array = samples[0]
    for method in ("mean", "std", "var", "sum", "prod", "max", "min", "any", "all", "ptp", "cumsum", "round"):
        reduce = getattr(array, method, None)
        if reduce is not None:
            reduce()
    array.clip(0.0, 1.0)
    np.array2string(array), np.format_float_positional(0.5), np.format_float_scientific(0.5)


class AllowedNamespace:
    """What reward code gets for `import numpy` (and math, numpy.linalg, scipy.spatial.distance, Rotation):
    a fresh object holding only the allow-listed members of the real module (_rules.MODULE_MEMBERS), and
    for a listed submodule its own AllowedNamespace. The real module never reaches the candidate, so
    `np.ma.core.builtins`, `np.lib` or `np.random.seed` are simply not there, whatever the static check
    missed. It is not a module object: `import numpy.ctypeslib` cannot fall back to sys.modules through
    its name, and its __slots__ leave no __dict__ to change.
    """

    __slots__ = ("_name", "_members")

    def __init__(self, name: str, members: dict) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_members", types.MappingProxyType(dict(members)))  # read-only: no state in it

    def __getattr__(self, attribute: str):
        members = object.__getattribute__(self, "_members")
        if attribute in members:
            return members[attribute]
        name = object.__getattribute__(self, "_name")
        raise AttributeError(f"'{name}.{attribute}' is not available to reward code")

    def __setattr__(self, attribute: str, value: object) -> None:
        raise AttributeError("modules are read-only in reward code")

    def __delattr__(self, attribute: str) -> None:
        raise AttributeError("modules are read-only in reward code")

    def __dir__(self):
        return sorted(object.__getattribute__(self, "_members"))

    def __repr__(self) -> str:
        return f"<module '{object.__getattribute__(self, '_name')}' (reward code's allow-listed view)>"


_NAMESPACES: dict = {}


def _namespace(name: str) -> AllowedNamespace:
    """The allow-listed view of namespace `name` ('numpy', 'numpy.linalg', 'scipy.spatial.transform.Rotation')."""
    found = _NAMESPACES.get(name)
    if found is not None:
        return found
    if name == "scipy.spatial.transform.Rotation":
        real = sys.modules["scipy.spatial.transform"].Rotation
    else:
        real = sys.modules.get(name)
        if real is None:
            if name.startswith("scipy") and "scipy.spatial.distance" not in sys.modules:
                raise ImportError("scipy is not available in this worker")  # not preloaded: code never named it
            import importlib

            real = importlib.import_module(name)  # numpy/math parts: preloaded, so this is a lookup
    members = {m: getattr(real, m) for m in _rules.MODULE_MEMBERS.get(name, ()) if hasattr(real, m)}
    for member, inner in _rules.SUBMODULES.get(name, {}).items():
        if inner.startswith("scipy") and "scipy.spatial.distance" not in sys.modules:
            continue
        members[member] = _namespace(inner)
    found = _NAMESPACES[name] = AllowedNamespace(name, members)
    return found


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
    # numpy's C code (PyImport_Import) passes an empty list; import statements pass None or a tuple, so
    # `import numpy._core._internal as m` stays refused. PyImport_Import ignores what __import__ returns
    # and takes the module from sys.modules, where it already is, so this path imports nothing and hands
    # back only the allow-listed view: code that calls __import__ this way itself gains nothing.
    if (level == 0 and type(fromlist) is list and not fromlist and name in _rules.NUMPY_RUNTIME_IMPORTS
            and name in sys.modules):
        return _namespace("numpy")
    if level != 0 or type(name) is not str or name not in _rules.ALLOWED_MODULES:
        raise ImportError(f"import of '{_safe_text(name, 60)}' is not allowed: reward code may import only "
                          "numpy, math and scipy.spatial's distance and transform")
    for item in fromlist or ():
        if not isinstance(item, str) or _rules.member_refusal(name, item) is not None:
            raise ImportError(f"'{_safe_text(item, 60)}' may not be imported from '{name}'")
    if fromlist:
        return _namespace(name)  # `from numpy.linalg import norm`: the named module itself
    return _namespace(name.split(".")[0])  # `import numpy.linalg`: the top package, as Python does


def _restricted_builtins() -> dict:
    """A fresh builtins table made from the allow-list (_rules.ALLOWED_BUILTINS) and nothing else."""
    table = {name: builtins.__dict__[name] for name in sorted(_rules.ALLOWED_BUILTINS) if name in builtins.__dict__}
    table["__import__"] = _guarded_import
    table["__build_class__"] = _no_classes
    table[GUARD_NAME] = _guarded_getattr
    return table


def _no_classes(*args, **kwargs):
    raise TypeError("class definitions are not allowed in reward code")


GUARD_NAME = "__reward_getattr__"
"""The name the rewritten candidate calls for every attribute it reads (a dunder: reward code cannot name it)."""


def _guarded_getattr(value: object, name: str):
    """`value.name` for reward code: refuses what the static check refuses by name, and any module."""
    if _rules.attribute_refusal(name) is not None:
        raise AttributeError(f"attribute '{_safe_text(name, 60)}' is not available to reward code")
    found = getattr(value, name)
    if isinstance(found, types.ModuleType):
        raise AttributeError(f"attribute '{name}' is a module, which reward code may not reach")
    return found


class _AttributeGuard(ast.NodeTransformer):
    """Rewrites every attribute read `a.b` into `__reward_getattr__(a, 'b')`, keeping line numbers."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node  # stores and deletes: FieldView and AllowedNamespace refuse them, arrays are the code's own
        call = ast.Call(func=ast.Name(GUARD_NAME, ast.Load()), args=[node.value, ast.Constant(node.attr)], keywords=[])
        return ast.copy_location(call, node)


def _compile_guarded(code: str):
    """The candidate compiled with its attribute reads guarded at run time (_guarded_getattr)."""
    tree = ast.parse(code, filename="<candidate>", mode="exec")
    tree = ast.fix_missing_locations(_AttributeGuard().visit(tree))
    return compile(tree, "<candidate>", "exec", dont_inherit=True)


class FieldView:
    """The `state` / `next_state` argument: read-only attribute access to the field arrays.

    Arrays are views into the request buffer, made on first access (a reward reads a few of the
    fields; making all of them would cost more than the reward itself).
    """

    __slots__ = ("_buffer", "_spec", "_made")

    def __init__(self, buffer: np.ndarray, spec: dict) -> None:
        object.__setattr__(self, "_buffer", buffer)
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_made", {})

    def __getattr__(self, name: str):
        made = object.__getattribute__(self, "_made")
        array = made.get(name)
        if array is not None:
            return array
        spec = object.__getattribute__(self, "_spec")
        try:
            start, stop, shape = spec[name]
        except KeyError:
            if not name.startswith("_") and hasattr(np.ndarray, name):  # state.shape, state.mean(), ...
                raise AttributeError(_rules.state_attribute_hint(list(spec), name)) from None
            raise AttributeError(f"unknown field '{name}'; available: {', '.join(spec)}") from None
        array = made[name] = object.__getattribute__(self, "_buffer")[start:stop].reshape(shape)
        return array

    def __getitem__(self, name: str):
        if not isinstance(name, str):  # state[:, 0], state[0]: the reward reads state as one array
            raise TypeError(_rules.state_index_hint(list(object.__getattribute__(self, "_spec")), name))
        return self.__getattr__(name)

    def __len__(self) -> int:
        raise TypeError(_rules.state_len_hint(list(object.__getattribute__(self, "_spec"))))

    def __bool__(self) -> bool:
        return True  # `if state:` must not fall back to __len__

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("state fields are read-only")

    def __dir__(self):
        return list(object.__getattribute__(self, "_spec"))

    def __repr__(self) -> str:
        return f"State({', '.join(object.__getattribute__(self, '_spec'))})"


class Worker:
    def __init__(self, req_fd: int, resp_fd: int) -> None:
        self.req_fd = req_fd
        self.resp_fd = resp_fd
        self.reader = _protocol.FrameReader(req_fd, max_payload=1 << 31)
        self.function = None
        self.uses_memory = False
        self.memory: list | None = None
        self.calls_since_memory_check = 0
        self.layouts: dict[int, tuple] = {}
        self.max_elements = 0
        self._result_prefix: dict = {}
        self._last_head = b""
        self._last_header: dict = {}
        self._deadline: float | None = None
        """None: block on the pipe; inf: spin first, then select with no timeout (spinning workers)."""

    def send(self, header: dict, arrays: list = ()) -> None:
        arrays = [a if a.flags.c_contiguous else np.ascontiguousarray(a) for a in arrays]
        if arrays:
            header["arrays"] = [[a.dtype.str, list(a.shape)] for a in arrays]
        self._write(json.dumps(header, separators=(",", ":")).encode("ascii"), arrays)

    def send_result(self, response: dict, arrays: list, elapsed: float) -> None:
        """A call's answer with 'elapsed' last: a clean answer shaped like the previous one re-uses
        the previous header text, and the parent, which checks such a prefix once, can skip parsing."""
        arrays = [a if a.flags.c_contiguous else np.ascontiguousarray(a) for a in arrays]
        clean = len(response) == 6 and "terms" in response and "mutated" not in response
        if clean and not response["term_problems"] and response["reward_problem"] is None:
            key = (response["reward"], tuple(map(tuple, response["terms"])),
                   tuple([(a.dtype.str, a.shape) for a in arrays]))
            prefix = self._result_prefix.get(key)
            if prefix is None:
                response["arrays"] = [[a.dtype.str, list(a.shape)] for a in arrays]
                prefix = json.dumps(response, separators=(",", ":"))[:-1] + ',"elapsed":'
                if len(self._result_prefix) > 64:
                    self._result_prefix.clear()
                self._result_prefix[key] = prefix
            self._write((prefix + repr(float(elapsed)) + "}").encode("ascii"), arrays)
            return
        if arrays:
            response["arrays"] = [[a.dtype.str, list(a.shape)] for a in arrays]
        response["elapsed"] = elapsed
        self._write(json.dumps(response, separators=(",", ":")).encode("ascii"), arrays)

    def _write(self, head: bytes, arrays: list) -> None:
        payload_len = sum([a.nbytes for a in arrays])
        buffers = [_protocol.PREFIX.pack(len(head), payload_len) + head, *arrays]
        total = len(buffers[0]) + payload_len
        written = os.writev(self.resp_fd, buffers) if len(buffers) <= 512 else 0
        if written < total:
            frame = b"".join([memoryview(b).cast("B") for b in buffers])
            _protocol.write_all(self.resp_fd, frame[written:])

    # ---- start-up -------------------------------------------------------------------------------

    def start(self) -> bool:
        header, _ = self.reader.read()
        if header.get("op") != "init":
            return False
        self.max_elements = int(header["max_output_elements"])
        if header.get("become_sandbox_user"):
            _become_sandbox_user()
        _preload_numpy(str(header.get("code", "")))
        _apply_limits(header["limits"])
        spin_s = float(header.get("spin_s", 0.0))
        if spin_s > 0:  # poll for the next call before sleeping; set up before the syscall filter
            os.set_blocking(self.req_fd, False)
            self.reader.spin_s = spin_s
            self._deadline = float("inf")
        if header.get("drop_root"):
            _drop_root()
        _seccomp.set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != PARENT_PID:  # the parent died before the death signal was armed
            return False
        # opened before the filter, which refuses opening anything for writing
        null_in = os.open(os.devnull, os.O_RDONLY)
        null_out = os.open(os.devnull, os.O_WRONLY)
        seccomp_problem = "not requested"
        if header.get("seccomp"):
            # a forbidden call is named on the parent's stderr pipe (kept under another fd), then the
            # worker ends; without that handler the kernel kills it unnamed
            report_fd = os.dup(2)
            trap = _seccomp.install_reporter(report_fd)
            seccomp_problem = _seccomp.install(trap=trap)
        # Candidate output goes nowhere: nothing it prints is read, and a full pipe cannot block it.
        os.dup2(null_in, 0)
        os.dup2(null_out, 1)
        os.dup2(null_out, 2)
        os.close(null_in)
        os.close(null_out)
        self.send({"op": "booted"})  # the parent now gives the candidate's module the call timeout
        status = {"op": "hello", "seccomp": seccomp_problem is None, "seccomp_detail": seccomp_problem,
                  "uid": os.getuid(), "pid": os.getpid()}
        try:
            self.function, status["params"] = self._load(header["code"], guards=bool(header.get("guards", True)))
        except BaseException as err:  # noqa: BLE001 - any failure of the candidate's module is reported
            status.update(ok=False, error=self._describe_error(err, kind="load"))
            self.send(status)
            return False
        self.uses_memory = status["params"] == 4
        status["ok"] = True
        self.send(status)
        return True

    def _load(self, code: str, guards: bool):
        namespace: dict = {"__name__": "candidate"}
        if guards:
            namespace["__builtins__"] = _restricted_builtins()
            compiled = _compile_guarded(code)
        else:
            compiled = compile(code, "<candidate>", "exec", dont_inherit=True)
        exec(compiled, namespace)  # noqa: S102 - this is the sandbox
        function = namespace.get(_rules.ENTRY_POINT)
        if not callable(function):
            raise NameError(f"no function named '{_rules.ENTRY_POINT}' was defined")
        code_object = getattr(function, "__code__", None)
        params = code_object.co_argcount if code_object is not None else 3
        if params not in (3, 4):
            raise TypeError(f"{_rules.ENTRY_POINT} must take 3 or 4 arguments, not {params}")
        return function, params

    # ---- calls ----------------------------------------------------------------------------------

    def serve(self) -> None:
        while True:
            try:
                head, payload = self.reader.read_raw(self._deadline)
            except EOFError:
                return
            if head == self._last_head:
                header = self._last_header  # the parent re-sends the same call header every step
            else:
                header = _protocol.parse_header(head)
            op = header.get("op")
            if op == "layout":
                self.layouts[int(header["id"])] = self._layout(header)
            elif op == "call":
                self._last_head, self._last_header = head, header
                response, arrays = self._call(header, payload)
                elapsed = response.pop("elapsed")
                self.send_result(response, arrays, elapsed)
            elif op == "exit":
                return

    @staticmethod
    def _layout(header: dict) -> tuple:
        names = [str(n) for n in header["names"]]
        shapes = [tuple(int(d) for d in s) for s in header["shapes"]]
        action_shape = tuple(int(d) for d in header["action"])
        return names, shapes, action_shape, {}, bool(header.get("integer_action"))

    @staticmethod
    def _offsets(layout: tuple, n: int) -> tuple:
        """Where each field lies in the flat float64 request, for batch size n (cached per layout)."""
        names, shapes, action_shape, cache = layout[:4]
        found = cache.get(n)
        if found is None:
            offset = 0
            specs = []
            for _ in range(2):
                spec = {}
                for name, shape in zip(names, shapes):
                    size = n * math.prod(shape)
                    spec[name] = (offset, offset + size, (n, *shape))
                    offset += size
                specs.append(spec)
                if len(specs) == 1:
                    action_size = n * math.prod(action_shape)
                    action_spec = (offset, offset + action_size, (n, *action_shape))
                    offset += action_size
            found = cache[n] = (specs[0], action_spec, specs[1], offset)
        return found

    def _call(self, header: dict, payload: bytearray) -> tuple[dict, list]:
        layout = self.layouts[int(header["layout"])]
        n = int(header["n"])
        state_spec, action_spec, next_spec, total = self._offsets(layout, n)
        original = bytes(payload) if header.get("mutation", True) else None
        flat = np.frombuffer(payload, dtype=np.float64)
        if flat.size != total:
            raise ValueError("request size does not match its layout")
        action = flat[action_spec[0] : action_spec[1]].reshape(action_spec[2])
        if layout[4]:  # the action indices of a discrete card
            action = action.astype(np.int64)
        args = [FieldView(flat, state_spec), action,
                FieldView(flat, next_spec)]
        if self.uses_memory:
            reset = header.get("reset")
            if self.memory is None or len(self.memory) != n or reset == "all":
                self.memory = [{} for _ in range(n)]
            elif reset:
                for index in reset:
                    if 0 <= int(index) < n:
                        self.memory[int(index)] = {}
            args.append(self.memory)
        started = time.perf_counter()
        try:
            result = self.function(*args)
        except BaseException as err:  # noqa: BLE001 - the candidate's failure is the answer
            elapsed = time.perf_counter() - started
            return {"op": "result", "ok": False, "elapsed": elapsed, "error": self._describe_error(err)}, []
        elapsed = time.perf_counter() - started
        if self.uses_memory:
            self.calls_since_memory_check += 1
            if original is not None or self.calls_since_memory_check >= MEMORY_CHECK_EVERY:
                self.calls_since_memory_check = 0
                largest = 0
                for one in self.memory:  # the first environment over the bound is enough
                    largest = max(largest, _memory_items(one))
                    if largest > MAX_MEMORY_ITEMS:
                        break
                if largest > MAX_MEMORY_ITEMS:
                    return {"op": "result", "ok": False, "elapsed": elapsed, "error": {
                        "kind": "memory", "type": "MemoryError", "line": None,
                        "message": (f"the per-episode memory of one environment holds more than the {MAX_MEMORY_ITEMS} "
                                    f"values allowed (counted {largest} before stopping): keep counts, last values or a bounded set "
                                    "of visited cells, not a record of every step")}}, []
        response: dict = {"op": "result", "ok": True, "elapsed": elapsed}  # 'elapsed' is moved last on sending
        arrays: list = []
        try:
            self._describe_result(result, response, arrays)
        except BaseException as err:  # noqa: BLE001 - converting the result ran candidate code
            return {"op": "result", "ok": False, "elapsed": elapsed, "error": self._describe_error(err)}, []
        if original is not None and payload != original:
            response["mutated"] = self._mutated_fields(state_spec, action_spec, next_spec, original, payload)
        return response, arrays

    def _describe_result(self, result: object, response: dict, arrays: list) -> None:
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            count = len(result) if isinstance(result, (tuple, list)) else None
            response["returned"] = {"code": "not_a_pair", "type": _type_name(result), "length": count}
            return
        reward, terms = result
        response["reward"], response["reward_problem"] = self._to_array(reward, arrays)
        if not isinstance(terms, dict):
            response["terms_problem"] = {"code": "not_a_dict", "type": _type_name(terms)}
            return
        if len(terms) > MAX_TERMS:
            response["terms_problem"] = {"code": "too_many", "count": len(terms)}
            return
        entries, problems = [], []
        for key, value in list(terms.items()):
            if not isinstance(key, str):
                problems.append([_safe_text(key, MAX_NAME_CHARS), {"code": "bad_name", "type": _type_name(key)}])
                continue
            index, problem = self._to_array(value, arrays)
            if problem is not None:
                problems.append([key[:MAX_NAME_CHARS], problem])
            else:
                entries.append([key[:MAX_NAME_CHARS], index])
        response["terms"] = entries
        response["term_problems"] = problems
        if sum([a.nbytes for a in arrays]) > 8 * self.max_elements:
            shape = [int(d) for d in np.shape(arrays[0])[:8]] if arrays else []
            elapsed = response["elapsed"]
            response.clear()
            response.update(op="result", ok=True, elapsed=elapsed, returned={"code": "too_large", "shape": shape})
            arrays.clear()

    def _to_array(self, value: object, arrays: list) -> tuple[int | None, dict | None]:
        if value is None:
            return None, {"code": "none"}
        try:
            array = value if type(value) is np.ndarray else np.asarray(value)
        except BaseException as err:  # noqa: BLE001 - ragged lists and odd objects land here
            return None, {"code": "not_array_like", "type": _type_name(value), "message": _safe_text(err, 200)}
        if array.dtype.str not in _protocol.ALLOWED_DTYPES:
            return None, {"code": "non_numeric", "dtype": _safe_text(array.dtype, 60), "type": _type_name(value)}
        if array.size > self.max_elements or array.ndim > 8:
            return None, {"code": "too_large", "shape": [int(d) for d in array.shape[:8]]}
        arrays.append(array)
        return len(arrays) - 1, None

    @staticmethod
    def _mutated_fields(state_spec: dict, action_spec: tuple, next_spec: dict, original: bytes,
                        payload: bytearray) -> list[str]:
        before = np.frombuffer(original, dtype=np.float64)
        after = np.frombuffer(payload, dtype=np.float64)
        regions = [(f"state.{k}", v) for k, v in state_spec.items()] + [("action", action_spec)]
        regions += [(f"next_state.{k}", v) for k, v in next_spec.items()]
        return [label for label, (start, stop, _shape) in regions
                if before[start:stop].tobytes() != after[start:stop].tobytes()]

    @staticmethod
    def _describe_error(err: BaseException, kind: str = "exception") -> dict:
        line = None
        tb = err.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<candidate>":
                line = tb.tb_lineno
            tb = tb.tb_next
        if isinstance(err, SyntaxError) and err.filename == "<candidate>":
            line = err.lineno
        if isinstance(err, MemoryError):
            kind = "memory"
        return {"kind": kind, "type": _type_name(err), "message": _safe_text(err), "line": line}


def main(argv: list[str]) -> int:
    req_fd, resp_fd = int(argv[1]), int(argv[2])
    worker = Worker(req_fd, resp_fd)
    if not worker.start():
        return 3
    worker.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
