"""Static checks of a reward candidate: an allow-list over its syntax tree.

This layer refuses code before anything runs and says why, in words the designer prompt can feed
back to the LLM. It is not the barrier: a determined candidate may find a path it does not know
about, so every run still happens in the sandboxed worker (worker.py). Each check is a small
function that appends CheckIssues, in the manner of gymnasium's env checker.

What reward code may use is listed, not what it may not (the lists live in _rules.py, shared with
the worker, and are summed up in its docstring and in envs/README.md):

- imports: numpy (linalg, fft, random, ma), math, scipy.spatial.distance and
  scipy.spatial.transform.Rotation; every name read from one of them (`np.<name>`, `from numpy import
  <name>`, `np.linalg.<name>`) must be a listed member (`_rules.MODULE_MEMBERS`), so numpy's file I/O,
  its C-memory and test modules, np.random's global generator and numpy's global settings are out;
- a module (or Rotation) may only be the start of an attribute chain: `m = np`, `f(np)` or `[np.ma]`
  would carry it past the check, so they are refused, and so are chains that reach a module that is
  not listed (`np.ma.core`, `np.ma.extras.ma.builtins`, `np.lib.npyio.os`);
- attributes of other values must be in `_rules.VALUE_ATTRIBUTES` (array methods such as `.sum()` and
  `.reshape()`, dict/list/str methods, a Generator's or a Rotation's) or be a state field;
- dunder and private attributes, dunder strings, format strings that look up attributes, str.format;
- builtins outside an allow-list (getattr, eval, exec, open, globals, type, __import__, ...);
- dtypes: a `dtype=` (or `.astype(...)`) must name a numeric type; object and void dtypes are refused,
  and np.ndarray may only appear in `isinstance(x, np.ndarray)` (its constructor takes a raw buffer);
- module-level state: only imports, function definitions and constant assignments at module level;
  no mutable defaults, no `global`/`nonlocal`, no attribute assignment, no classes, decorators or
  generators (state that survives between calls makes a reward turn bad late in training);
- writing into the input state (`state.x[...] = ...`) or into a module's objects;
- size limits: characters, syntax-tree nodes, nesting depth;
- the contract: a top-level `def compute_reward(state, action, next_state[, memory])`, names that
  are never defined (a missing `import numpy as np`), fields the environment does not have.

- reading `state` as an array in compute_reward (`state[:, 0]`, `len(state)`, `state.shape`) and
  `action["name"]` (action is a plain array): each message says how to read fields instead.

State receivers (where field names are checked) are compute_reward's `state` and `next_state`, the
parameters of helpers that compute_reward passes them to, helper parameters named like a state
(`obs`, `next_state`, ...) within their own function, and plain aliases (`ns = next_state`). A name
there never skips a refusal: the refusals above come first, and only then is an attribute judged as a field.

Warnings: `==` / `!=` on an expression that reads a state field ("float-equality"): exact equality
on continuous positions is almost never true, so a bonus guarded by it never fires. A reduction over
the batch axis or a slice of it (`np.mean(next_state.x)`, `x[100:]`) of state values ("episode-average"):
rows are environments at one step, not the steps of an episode, which small models often assume.
"""

from __future__ import annotations

import ast
import re
import string
import warnings
from collections.abc import Collection, Iterable

import numpy as np

from reward_coder.sandbox._rules import (
    ALLOWED_BUILTINS,
    ALLOWED_MODULES,
    ALWAYS_FORBIDDEN_BUILTINS,
    DTYPE_POSITIONS,
    ENTRY_POINT,
    FORBIDDEN_BUILTINS,
    MODULE_MEMBERS,
    NUMERIC_SCALAR_TYPES,
    SUBMODULES,
    VALUE_ATTRIBUTES,
    attribute_refusal,
    example_field,
    member_refusal,
    state_attribute_hint,
    state_index_hint,
    state_len_hint,
)
from reward_coder.extract import is_constant_expression
from reward_coder.types import CheckIssue

MAX_CODE_CHARS = 20_000
"""Reward functions in the literature are 10-80 lines; 20k characters is several times the longest."""
MAX_AST_NODES = 5_000
MAX_AST_DEPTH = 60
"""Deep nesting is a sign of generated junk and can exhaust the parser's or our walker's stack."""

STATE_PARAMETER_NAMES = frozenset({"state", "next_state", "prev_state", "obs", "next_obs"})
"""Helper-function parameters treated as state objects within their function (fields are checked on them)."""

ARRAY_ATTRIBUTES = frozenset(name for name in dir(np.ndarray) if not name.startswith("_"))
"""`state.shape`, `state.mean()`, ...: what code that takes `state` for one array reaches for."""

IMPORT_HINT = ("reward code may import only numpy (with numpy.linalg, numpy.fft, numpy.random, numpy.ma), math, "
               "scipy.spatial.distance and scipy.spatial.transform")
_DUNDER = re.compile(r"__\w+__")
_NUMERIC_DTYPE_KINDS = frozenset("biufc")
_DTYPE_BUILTIN_NAMES = frozenset({"float", "int", "bool", "complex"})

BATCH_REDUCTIONS = {
    "mean": 1, "sum": 1, "average": 1, "median": 1, "std": 1, "var": 1, "max": 1, "min": 1, "amax": 1,
    "amin": 1, "prod": 1, "all": 1, "any": 1, "nanmean": 1, "nansum": 1, "nanmax": 1, "nanmin": 1,
    "nanmedian": 1, "ptp": 1, "argmax": 1, "argmin": 1, "percentile": 2, "quantile": 2, "norm": 2,
}
"""numpy reductions and the position of their `axis` argument: without an axis (or with axis 0) they
reduce over the batch, i.e. over environments."""


def static_check(code: str, field_names: Collection[str] | None = None) -> list[CheckIssue]:
    """Check candidate source; returns issues sorted by line (errors refuse it, warnings don't).

    `field_names`, when given, are the env card's state fields: `state.<name>` reads of anything else
    are errors, since they would fail at run time.
    """
    if len(code) > MAX_CODE_CHARS:
        return [_issue("code-too-long", f"the code has {len(code)} characters; the limit is {MAX_CODE_CHARS}")]
    try:
        tree = ast.parse(code, filename="<candidate>", mode="exec")
    except SyntaxError as err:
        return [_issue("syntax-error", f"syntax error: {err.msg}", line=err.lineno)]
    except (ValueError, RecursionError, MemoryError) as err:
        return [_issue("too-complex", f"the code cannot be parsed: {type(err).__name__}")]
    size_issue = _check_size(tree)
    if size_issue is not None:
        return [size_issue]
    ordered = tuple(field_names) if field_names is not None else ()
    checker = _Checker(tree, None if field_names is None else frozenset(ordered), ordered)
    checker.run()
    unique = {(i.line or 0, i.rule, i.message): i for i in checker.issues}
    return [unique[key] for key in sorted(unique, key=lambda k: (k[0], k[1], k[2]))]


def _issue(rule: str, message: str, *, line: int | None = None, severity: str = "error") -> CheckIssue:
    return CheckIssue(rule=rule, message=message, severity=severity, line=line)  # type: ignore[arg-type]


def _check_size(tree: ast.AST) -> CheckIssue | None:
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_AST_NODES:
            return _issue("too-complex", f"the code has more than {MAX_AST_NODES} syntax nodes; keep the reward short")
        if depth > MAX_AST_DEPTH:
            line = getattr(node, "lineno", None)
            return _issue("too-complex", f"the code nests deeper than {MAX_AST_DEPTH} levels", line=line)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return None


def _describe_statement(node: ast.stmt) -> str:
    names = {
        ast.For: "a 'for' loop", ast.While: "a 'while' loop", ast.If: "an 'if' block", ast.Expr: "an expression",
        ast.With: "a 'with' block", ast.Try: "a 'try' block", ast.ClassDef: "a class definition",
        ast.AugAssign: "an augmented assignment", ast.Delete: "a 'del' statement",
    }
    return names.get(type(node), f"a '{type(node).__name__}' statement")


def _kind_of_value(node: ast.AST) -> str:
    kinds = {
        ast.List: "a list", ast.ListComp: "a list", ast.Dict: "a dict", ast.DictComp: "a dict",
        ast.Set: "a set", ast.SetComp: "a set", ast.Call: "the result of a call", ast.Lambda: "a lambda",
    }
    return kinds.get(type(node), "an expression that is not a constant")


def _shown(namespace: str) -> str:
    return "np" + namespace[len("numpy"):] if namespace.startswith("numpy") else namespace


def dtype_kind(text: str) -> str | None:
    """numpy's kind letter of the dtype a string names ('f', 'O', 'V', ...), or None if it names none."""
    if len(text) > 40 or not text.strip():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dtype = np.dtype(text)
    except Exception:  # noqa: BLE001 - np.dtype raises TypeError, ValueError, SyntaxError... for non-dtypes
        return None
    return "V" if dtype.fields is not None or dtype.subdtype is not None else dtype.kind


class _Checker:
    def __init__(self, tree: ast.Module, field_names: frozenset[str] | None, ordered: tuple[str, ...] = ()) -> None:
        self.tree = tree
        self.field_names = field_names
        self.ordered_fields = ordered
        """The card's field names in card order (an index in `state[:, 1]` points into it)."""
        self.issues: list[CheckIssue] = []
        self.bound_names = self._collect_bound_names(tree)
        self.entry: ast.FunctionDef | None = None
        self.entry_state: set[str] = set()
        """compute_reward's state and next_state parameters, when the function never rebinds them."""
        self.entry_action: set[str] = set()
        self.namespaces: dict[str, str] = {}
        """Names bound by imports to a namespace: 'np' -> 'numpy', 'distance' -> 'scipy.spatial.distance'."""
        self.members: dict[str, tuple[str, str]] = {}
        """Names bound by `from numpy import zeros` to a namespace member: 'zeros' -> ('numpy', 'zeros')."""
        self.enclosing: dict[int, ast.FunctionDef | None] = {}
        self.receivers: dict[int, set[str]] = {}
        """Per function (by id): the names that hold a state object there."""
        self.isinstance_types: set[int] = set()
        self.refused_imports: set[str] = set()
        """Names bound by imports the check refuses (`import os`): the import is the error, not `os.path`."""

    def add(self, rule: str, message: str, node: ast.AST | None = None, severity: str = "error") -> None:
        line = getattr(node, "lineno", None) if node is not None else None
        self.issues.append(_issue(rule, message, line=line, severity=severity))

    # ---- driver ---------------------------------------------------------------------------------

    def run(self) -> None:
        self._check_entry_point()
        self._check_module_level()
        self._collect_imports()
        self._collect_scopes(self.tree, None)
        self._collect_receivers()
        self._collect_isinstance_types()
        for node in ast.walk(self.tree):
            self._check_node(node)
        if self.entry is not None:
            self._check_state_as_array(self.entry)
        for function in ast.walk(self.tree):
            if isinstance(function, (ast.FunctionDef, ast.Lambda)):
                self._check_defaults(function)
            if isinstance(function, ast.FunctionDef):
                self._lint_float_equality(function)
                self._lint_batch_reductions(function)

    # ---- contract -------------------------------------------------------------------------------

    def _check_entry_point(self) -> None:
        entry = [n for n in self.tree.body if isinstance(n, ast.FunctionDef) and n.name == ENTRY_POINT]
        if not entry:
            nested = any(isinstance(n, ast.FunctionDef) and n.name == ENTRY_POINT for n in ast.walk(self.tree))
            where = " at module level (it is nested inside another definition)" if nested else ""
            self.add(
                "missing-function",
                f"no top-level function '{ENTRY_POINT}' found{where}: define "
                f"`def {ENTRY_POINT}(state, action, next_state):` returning (reward, terms)",
            )
            return
        function = entry[-1]
        args = function.args
        positional = [a.arg for a in args.posonlyargs + args.args]
        if args.vararg or args.kwarg or args.kwonlyargs or len(positional) not in (3, 4):
            self.add(
                "bad-signature",
                f"'{ENTRY_POINT}' must take exactly (state, action, next_state) or "
                f"(state, action, next_state, memory); found ({ast.unparse(args)})",
                function,
            )
        if len(positional) >= 3:
            rebound = _stored_names(function)
            self.entry_state = {positional[0], positional[2]} - rebound
            self.entry_action = {positional[1]} - rebound
            self.entry = function

    def _check_module_level(self) -> None:
        for node in self.tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.Pass)):
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(
                    node.value.value, str):
                continue  # a docstring (a converted foreign reward's sits below the conversion's import)
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if not all(self._is_name_target(t) for t in targets):
                    self.add(
                        "module-state",
                        "module-level assignments may only bind plain names to constants",
                        node,
                    )
                    continue
                if node.value is not None and not is_constant_expression(node.value):
                    names = ", ".join(sorted({n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}))
                    self.add(
                        "module-state",
                        f"module-level '{names}' is {_kind_of_value(node.value)}, which could hold state "
                        "between calls: module level allows only constants (numbers, strings, tuples); "
                        f"build arrays and lists inside {ENTRY_POINT}",
                        node,
                    )
                continue
            self.add(
                "module-statement",
                f"{_describe_statement(node)} is not allowed at module level: only imports, function "
                "definitions and constant assignments may appear there (no test code or main block)",
                node,
            )

    @staticmethod
    def _is_name_target(node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return True
        if isinstance(node, ast.Tuple):
            return all(_Checker._is_name_target(e) for e in node.elts)
        return False

    def _check_defaults(self, function: ast.FunctionDef | ast.Lambda) -> None:
        args = function.args
        positional = args.posonlyargs + args.args
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        for arg, default in pairs:
            if not is_constant_expression(default):
                self.add(
                    "no-mutable-default",
                    f"the default value of parameter '{arg.arg}' is {_kind_of_value(default)}; defaults "
                    "are created once and keep state between calls: use None or a constant",
                    default,
                )

    # ---- what names stand for -------------------------------------------------------------------

    def _collect_imports(self) -> None:
        """Which names stand for a namespace (np -> numpy) or a member of one (zeros -> numpy.zeros)."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name not in ALLOWED_MODULES:
                        self.refused_imports.add(alias.asname or alias.name.split(".")[0])
                        continue
                    if alias.asname:
                        self.namespaces[alias.asname] = alias.name
                    else:
                        self.namespaces[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and (node.level or node.module not in ALLOWED_MODULES):
                self.refused_imports.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    bound = alias.asname or alias.name
                    inner = SUBMODULES.get(node.module, {}).get(alias.name)
                    if inner is not None:
                        self.namespaces[bound] = inner
                    elif alias.name in MODULE_MEMBERS.get(node.module, ()):
                        self.members[bound] = (node.module, alias.name)
        stored = _stored_names(self.tree)
        for name in sorted((set(self.namespaces) | set(self.members)) & stored):
            if name in self.namespaces or self.members[name][1] == "ndarray":
                self.add("module-rebound", f"'{name}' is bound by an import and assigned again; use another name for "
                                           "the variable", self._first_store(name))
            self.namespaces.pop(name, None)  # a rebound function name (`from math import pi`, `pi = 3`) is harmless
            self.members.pop(name, None)

    def _first_store(self, name: str) -> ast.AST | None:
        stores = [n for n in ast.walk(self.tree) if isinstance(n, ast.Name) and n.id == name
                  and isinstance(n.ctx, ast.Store)]
        return min(stores, key=lambda n: (n.lineno, n.col_offset)) if stores else None

    def _collect_scopes(self, node: ast.AST, function: ast.FunctionDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            self.enclosing[id(child)] = function
            self._collect_scopes(child, child if isinstance(child, ast.FunctionDef) else function)

    def _collect_receivers(self) -> None:
        """State receivers per function: compute_reward's state parameters, helper parameters named like
        states or passed a state, closure names of an enclosing function, and plain aliases."""
        functions = [n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef)]
        top = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        stored = {id(f): _stored_names(f) for f in functions}
        params = {id(f): [a.arg for a in f.args.posonlyargs + f.args.args] for f in functions}
        for function in functions:
            found = {p for p in params[id(function)] if p in STATE_PARAMETER_NAMES}
            if function is self.entry:
                found |= self.entry_state
            self.receivers[id(function)] = found - stored[id(function)]
        for _ in range(4):  # a few passes reach a fixed point for helpers that call helpers
            for function in functions:
                own = self.receivers[id(function)]
                outer = self.enclosing.get(id(function))
                if outer is not None:
                    own |= self.receivers[id(outer)] - stored[id(function)] - set(params[id(function)])
                for node in ast.walk(function):
                    if self.enclosing.get(id(node)) is not function:
                        continue
                    if (isinstance(node, ast.Assign) and len(node.targets) == 1
                            and isinstance(node.targets[0], ast.Name)
                            and isinstance(node.value, ast.Name) and node.value.id in own):
                        own.add(node.targets[0].id)
                    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in top:
                        helper = top[node.func.id]
                        names = params[id(helper)]
                        passed = [(names[i], a) for i, a in enumerate(node.args) if i < len(names)]
                        passed += [(k.arg, k.value) for k in node.keywords if k.arg in names]
                        for param, value in passed:
                            if isinstance(value, ast.Name) and value.id in own and param not in stored[id(helper)]:
                                self.receivers[id(helper)].add(param)

    def _receivers_at(self, node: ast.AST) -> set[str]:
        function = self.enclosing.get(id(node))
        return self.receivers.get(id(function), set()) if function is not None else set()

    def _collect_isinstance_types(self) -> None:
        """The expressions in the type position of isinstance(x, T): the one place np.ndarray may appear."""
        for node in ast.walk(self.tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
                    and len(node.args) == 2):
                kinds = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
                self.isinstance_types.update(id(k) for k in kinds)
        # and type annotations (`action: np.ndarray`, as real model answers write), which name the type
        # without calling it; an annotation that calls anything gets no such pass
        annotations: list[ast.AST] = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.arg) and node.annotation is not None:
                annotations.append(node.annotation)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
                annotations.append(node.returns)
            elif isinstance(node, ast.AnnAssign):
                annotations.append(node.annotation)
        for annotation in annotations:
            parts = list(ast.walk(annotation))
            if not any(isinstance(part, ast.Call) for part in parts):
                self.isinstance_types.update(id(part) for part in parts if isinstance(part, (ast.Attribute, ast.Name)))

    def namespace_of(self, node: ast.AST) -> str | None:
        """The namespace an expression stands for ('numpy.linalg' for `np.linalg`), or None if it is a value."""
        if isinstance(node, ast.Name):
            return self.namespaces.get(node.id)
        if isinstance(node, ast.Attribute):
            outer = self.namespace_of(node.value)
            if outer is not None:
                return SUBMODULES.get(outer, {}).get(node.attr)
        return None

    def member_of(self, node: ast.AST) -> tuple[str, str] | None:
        """(namespace, member) for `np.zeros` or a name imported with `from numpy import zeros`."""
        if isinstance(node, ast.Name):
            return self.members.get(node.id)
        if isinstance(node, ast.Attribute):
            outer = self.namespace_of(node.value)
            if outer is not None and node.attr in MODULE_MEMBERS.get(outer, ()):
                return (outer, node.attr)
        return None

    # ---- node rules -----------------------------------------------------------------------------

    def _check_node(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._check_import(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            self._check_import_from(node)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            keyword = "global" if isinstance(node, ast.Global) else "nonlocal"
            self.add(
                "no-global-state",
                f"'{keyword}' is not allowed: reward code may not keep state between calls "
                "(use the memory argument for per-episode memory)",
                node,
            )
        elif isinstance(node, ast.ClassDef):
            self.add("no-class", "class definitions are not allowed in reward code; use functions", node)
        elif isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)):
            self.add("no-async", "async code is not allowed in reward code", node)
        elif isinstance(node, (ast.Yield, ast.YieldFrom)):
            self.add("no-generator", "generators (yield) are not allowed in reward code; return arrays", node)
        elif isinstance(node, ast.FunctionDef) and node.decorator_list:
            self.add("no-decorator", f"decorators are not allowed (on '{node.name}')", node)
        elif isinstance(node, ast.Attribute):
            self._check_attribute(node)
        elif isinstance(node, ast.Name):
            self._check_name(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            self._check_string(node)
        elif isinstance(node, ast.Call):
            self._check_call(node)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                self._check_input_write(target, node)

    def _check_import(self, module: str, node: ast.AST) -> None:
        if module not in ALLOWED_MODULES:
            self.add("no-import", f"import of '{module}' is not allowed: {IMPORT_HINT}", node)

    def _check_import_from(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.add("no-import", f"relative imports are not allowed: {IMPORT_HINT}", node)
            return
        module = node.module or ""
        self._check_import(module, node)
        for alias in node.names:
            if alias.name == "*":
                self.add("no-star-import", f"'from {module} import *' is not allowed; import the module", node)
                continue
            refusal = member_refusal(module, alias.name) if module in ALLOWED_MODULES else attribute_refusal(alias.name)
            if refusal is not None:
                rule, reason = refusal
                self.add(rule, f"importing '{alias.name}' from '{module}' is not allowed: {reason}", node)

    def _check_attribute(self, node: ast.Attribute) -> None:
        receiver = node.value
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            what = "writes to" if isinstance(node.ctx, ast.Store) else "deletes"
            target = ast.unparse(node)
            self.add(
                "no-attribute-assignment",
                f"the code {what} attribute '{target}': reward code may not set attributes (that keeps "
                "state between calls or modifies inputs); use local variables",
                node,
            )
            return
        refusal = attribute_refusal(node.attr)
        if refusal is not None:  # the reason a name is dangerous comes first, whatever holds it
            rule, reason = refusal
            self.add(rule, f"attribute '{node.attr}' is not allowed: {reason}", node)
            return
        namespace = self.namespace_of(receiver)
        if namespace is not None:
            refusal = member_refusal(namespace, node.attr)
            if refusal is not None:
                rule, reason = refusal
                self.add(rule, f"'{_shown(namespace)}.{node.attr}' is not allowed: {reason}", node)
            elif self.namespace_of(node) is not None and not self._is_chain_root(node):
                self.add("module-as-value", (
                    f"`{_short(node)}` is a module and may be used only as `{_short(node)}.<function>(...)`: storing "
                    "or passing a module lets code reach past the functions reward code may use"), node)
            elif self.member_of(node) == ("numpy", "ndarray") and id(node) not in self.isinstance_types:
                self.add("no-ndarray", "np.ndarray may appear only in isinstance(x, np.ndarray): its constructor "
                                       "takes a raw memory buffer; make arrays with np.array, np.zeros or np.full",
                         node)
            return
        if isinstance(receiver, ast.Name) and receiver.id in self._receivers_at(node):
            if self.field_names is not None and node.attr not in self.field_names:
                available = ", ".join(sorted(self.field_names)) or "none"
                if node.attr in ARRAY_ATTRIBUTES:
                    message = state_attribute_hint(self._names(), node.attr, receiver=receiver.id)
                else:
                    message = (f"'{receiver.id}.{node.attr}' is not a field of this environment; "
                               f"available fields: {available}")
                self.add("unknown-field", message, node)
            return
        if node.attr in VALUE_ATTRIBUTES or (self.field_names is not None and node.attr in self.field_names):
            return
        root = receiver
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and ((root.id not in self.bound_names and root.id not in ALLOWED_BUILTINS)
                                           or root.id in self.refused_imports):
            return  # an undefined name (a missing import) or a refused import: that is the error to report
        self.add("not-in-allow-list", (
            f"attribute '.{node.attr}' (in `{_short(node)}`) is not among the attributes reward code may read: "
            "array methods and properties (.shape, .sum(), .mean(), .reshape(), .astype(), .T, ...), dict and "
            "list methods, and the state's fields" + (f" ({', '.join(self._names())})" if self.field_names else "")),
            node)

    def _check_name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("__"):
            self.add("no-dunder-name", f"name '{name}' is not allowed: reward code may not use dunder names", node)
        elif name in ALWAYS_FORBIDDEN_BUILTINS or (
            name in FORBIDDEN_BUILTINS and isinstance(node.ctx, ast.Load) and name not in self.bound_names
        ):
            self.add(
                "forbidden-builtin",
                f"builtin '{name}' is not allowed in reward code (no getattr/eval/exec/open/globals/type/"
                "__import__ and similar; if this is your own variable, rename it)",
                node,
            )
        elif isinstance(node.ctx, ast.Load) and name in self.namespaces and not self._is_chain_root(node):
            self.add("module-as-value", (
                f"'{name}' is a module and may be used only as `{name}.<function>(...)`: storing or passing a "
                "module lets code reach past the functions reward code may use"), node)
        elif (isinstance(node.ctx, ast.Load) and self.members.get(name) == ("numpy", "ndarray")
              and id(node) not in self.isinstance_types):
            self.add("no-ndarray", "ndarray may appear only in isinstance(x, ndarray): its constructor takes a raw "
                                   "memory buffer; make arrays with np.array, np.zeros or np.full", node)
        elif isinstance(node.ctx, ast.Load) and name not in self.bound_names and name not in ALLOWED_BUILTINS:
            hint = ""
            if name in ("np", "numpy"):
                hint = ": add `import numpy as np` at the top" if name == "np" else ": add `import numpy`"
            elif name == "math":
                hint = ": add `import math` at the top"
            self.add("undefined-name", f"name '{name}' is used but never defined{hint}", node)

    def _is_chain_root(self, node: ast.AST) -> bool:
        parent = self._parents().get(id(node))
        return isinstance(parent, ast.Attribute) and parent.value is node

    def _parents(self) -> dict[int, ast.AST]:
        if not hasattr(self, "_parent_map"):
            self._parent_map = {id(child): parent for parent in ast.walk(self.tree)
                                for child in ast.iter_child_nodes(parent)}
        return self._parent_map

    def _check_string(self, node: ast.Constant) -> None:
        text = node.value
        parent = self._parents().get(id(node))
        docstring = isinstance(parent, ast.Expr)
        if _DUNDER.search(text) and not docstring:
            self.add("no-dunder-string", (
                f"the string {text[:40]!r} names a dunder attribute; reward code has no use for such names, and "
                "code that builds attribute names from strings is refused"), node)
        if "{" not in text:
            return
        for field in _format_fields(text):
            if "." in field or "[" in field:
                self.add(
                    "no-format-attribute",
                    f"the string contains the format field '{{{field[:40]}}}', which looks up attributes "
                    "or items of its argument; format values with f-strings instead",
                    node,
                )
                return

    # ---- calls: dtypes and seeds ------------------------------------------------------------------

    def _check_call(self, node: ast.Call) -> None:
        func = node.func
        member = self.member_of(func)
        method = func.attr if isinstance(func, ast.Attribute) and member is None else None
        on_library = member is not None or method == "astype"
        if member == ("numpy.random", "default_rng") and not node.args and not node.keywords:
            self.add("no-global-random", "np.random.default_rng() without a seed draws from the operating system "
                                         "and makes the reward random; pass a seed (np.random.default_rng(0)), or "
                                         "better, compute the reward without randomness", node)
        if not on_library:
            return
        name = member[1] if member is not None else method
        dtype_args = [k.value for k in node.keywords if k.arg == "dtype"]
        position = DTYPE_POSITIONS.get(name or "")
        if position is not None and len(node.args) > position and (member is None or member[0].startswith("numpy")):
            dtype_args.append(node.args[position])
        for argument in dtype_args:
            if not self._is_numeric_dtype(argument):
                self.add("dtype-not-numeric", (
                    f"the dtype `{_short(argument, 40)}` is not a numeric type reward code may name: use float, int, "
                    "bool, np.float64, np.float32, np.int64, 'float32' or x.dtype (object and void dtypes reinterpret "
                    "memory as Python objects)"), argument)
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            for sub in ast.walk(argument):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and dtype_kind(sub.value) in ("O", "V"):
                    self.add("no-object-dtype", (
                        f"the string {sub.value[:30]!r} names an object or void (raw bytes) dtype, which reward code "
                        "may not use: rewards are float arrays"), sub)

    def _is_numeric_dtype(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            if node.value is None:
                return True
            return isinstance(node.value, str) and dtype_kind(node.value) in _NUMERIC_DTYPE_KINDS
        if isinstance(node, ast.Name) and node.id in _DTYPE_BUILTIN_NAMES and node.id not in self.bound_names:
            return True
        member = self.member_of(node)
        if member is not None:
            return member[0] == "numpy" and member[1] in NUMERIC_SCALAR_TYPES
        if isinstance(node, ast.Attribute) and node.attr == "dtype":
            return True  # an existing array's dtype: converting to it reinterprets nothing
        if isinstance(node, ast.Call) and self.member_of(node.func) == ("numpy", "dtype") and len(node.args) == 1:
            return self._is_numeric_dtype(node.args[0])
        return False

    def _check_input_write(self, target: ast.AST, node: ast.AST) -> None:
        base = target
        while isinstance(base, (ast.Subscript, ast.Starred)):
            base = base.value
        if base is target:
            return  # plain names are fine; attribute stores are refused in _check_attribute
        if isinstance(base, ast.Attribute) and (self.namespace_of(base.value) is not None
                                                or self.namespace_of(base) is not None):
            self.add("module-state", f"the code writes into `{_short(base)}`, an object of a module: that state "
                                     "would outlive the call", node)
        elif isinstance(base, ast.Name) and base.id in self.members:
            self.add("module-state", f"the code writes into '{base.id}', an object imported from a module: that "
                                     "state would outlive the call", node)
        elif (
            isinstance(base, ast.Attribute)
            and isinstance(base.value, ast.Name)
            and base.value.id in self._receivers_at(node)
        ):
            self.add(
                "input-mutation",
                f"the code writes into its input '{ast.unparse(base)}': inputs are shared with the "
                f"environment and must not change; copy first (x = {ast.unparse(base)}.copy())",
                node,
            )

    # ---- the state contract ---------------------------------------------------------------------

    def _names(self) -> list[str]:
        return list(self.ordered_fields or sorted(self.field_names or ()))

    def _check_state_as_array(self, function: ast.FunctionDef) -> None:
        """compute_reward reading `state` as one array: certain to fail at run time, so said up front."""
        for node in ast.walk(function):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
                name, key = node.value.id, node.slice
                is_name = isinstance(key, ast.Constant) and isinstance(key.value, str)
                # a key that is surely not a name (a number, a slice, a tuple); state[name_variable] may be fine
                if name in self.entry_state and not is_name and _literal_key(key) is not None:
                    shown = ", ".join(map(ast.unparse, key.elts)) if isinstance(key, ast.Tuple) else ast.unparse(key)
                    self.add("state-not-array", state_index_hint(
                        self._names(), _literal_key(key), key_text=shown, receiver=name), node)
                elif (name in self.entry_state and is_name and self.field_names is not None
                      and key.value not in self.field_names):
                    available = ", ".join(sorted(self.field_names)) or "none"
                    self.add("unknown-field", f"{name}[\"{key.value}\"]: '{key.value}' is not a field of this "
                                              f"environment; available fields: {available}", node)
                elif name in self.entry_action and is_name:
                    self.add("action-not-fields", (
                        f"{name}[{ast.unparse(key)}] does not work: only state and next_state have named fields; "
                        f"{name} is a plain array with one row per environment (see the action description), "
                        f"e.g. `first = {name}[:, 0]` for the first component of a continuous action"), node)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len"
                  and len(node.args) == 1 and isinstance(node.args[0], ast.Name)
                  and node.args[0].id in self.entry_state):
                self.add("state-has-no-len", state_len_hint(self._names(), receiver=node.args[0].id), node)

    # ---- lint -----------------------------------------------------------------------------------

    def _state_taint(self, function: ast.FunctionDef):
        """(reads_state, roots): a predicate telling whether an expression reads state values, directly
        (`state.x`, `state["x"]`) or through a variable assigned from them; None when nothing is state."""
        args = function.args.posonlyargs + function.args.args
        roots = {a.arg for a in args if a.arg in self.receivers.get(id(function), set())}
        if function.name == ENTRY_POINT and len(args) >= 3:
            roots |= {args[0].arg, args[2].arg}
        if not roots:
            return None, roots
        tainted: set[str] = set()

        def reads_state(expr: ast.AST) -> bool:
            for sub in ast.walk(expr):
                if isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.value, ast.Name) and sub.value.id in roots:
                    return True
                if isinstance(sub, ast.Name) and sub.id in tainted:
                    return True
            return False

        assignments = [n for n in ast.walk(function) if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr))]
        for _ in range(3):  # a few passes reach a fixed point for straight-line code and loops
            for assignment in assignments:
                value = assignment.value
                if value is None or not reads_state(value):
                    continue
                targets = assignment.targets if isinstance(assignment, ast.Assign) else [assignment.target]
                for target in targets:
                    tainted.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        return reads_state, roots

    def _lint_batch_reductions(self, function: ast.FunctionDef) -> None:
        """Per-episode thinking in a per-step reward: reducing or slicing state values over the batch axis."""
        reads_state, roots = self._state_taint(function)
        if reads_state is None:
            return
        findings: list[tuple[ast.AST, str]] = []
        inside_reported: set[int] = set()  # one finding per expression: np.mean(x[100:]) is one mistake
        for node in ast.walk(function):  # breadth first: an outer call is seen before what it contains
            if id(node) in inside_reported:
                continue
            if any(isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) and sub.value.id in roots
                   and not (isinstance(sub.slice, ast.Constant) and isinstance(sub.slice.value, str))
                   for sub in ast.walk(node)):
                continue  # np.mean(state[2:]) is reported once, as state read like an array
            if isinstance(node, ast.Call) and _reduces_over_batch(node, reads_state):
                findings.append((node, f"`{_short(node)}` reduces over the batch"))
            elif (isinstance(node, ast.Subscript) and not (isinstance(node.value, ast.Name) and node.value.id in roots)
                  and _slices_first_axis(node.slice) and reads_state(node.value)):
                findings.append((node, f"`{_short(node)}` slices the batch axis as if it were time"))
            else:
                continue
            inside_reported.update(id(sub) for sub in ast.walk(node))
        if not findings:
            return
        node, what = min(findings, key=lambda item: (item[0].lineno, item[0].col_offset))
        more = f" ({len(findings) - 1} more like it in '{function.name}')" if len(findings) > 1 else ""
        field = self._field_in(node, roots)
        self.add("episode-average", (
            f"{what}{more}: compute_reward scores one step of many environments at once, so axis 0 of every field "
            "runs over environments, not over the steps of an episode; give each state its own value, e.g. "
            f"`reward = next_state.{field}` (reduce a field's components with axis=1); episode averages such as "
            "the success metric are computed by us from the per-step rewards"), node, severity="warning")

    def _field_in(self, node: ast.AST, roots: set[str]) -> str:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in roots:
                return sub.attr
            if (isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) and sub.value.id in roots
                    and isinstance(sub.slice, ast.Constant) and isinstance(sub.slice.value, str)):
                return sub.slice.value
        return example_field(self._names())

    def _lint_float_equality(self, function: ast.FunctionDef) -> None:
        reads_state, _roots = self._state_taint(function)
        if reads_state is None:
            return
        for node in ast.walk(function):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                if reads_state(node):
                    self._warn_float_equality(node)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("equal", "not_equal", "array_equal") and any(reads_state(a) for a in node.args):
                    self._warn_float_equality(node)

    def _warn_float_equality(self, node: ast.AST) -> None:
        self.add(
            "float-equality",
            f"'{ast.unparse(node)[:80]}' compares a continuous state value for exact equality, which is "
            "almost never true; use a tolerance (np.abs(a - b) < eps) or np.isclose",
            node,
            severity="warning",
        )

    # ---- names ----------------------------------------------------------------------------------

    @staticmethod
    def _collect_bound_names(tree: ast.AST) -> set[str]:
        bound: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bound.add(alias.asname or alias.name.split(".")[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                bound.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                bound.add(node.rest)
        return bound


def _format_fields(text: str) -> Iterable[str]:
    """Field names of a str.format template, including fields nested in format specs."""
    pending = [text]
    seen = 0
    while pending and seen < 100:
        seen += 1
        try:
            parsed = list(string.Formatter().parse(pending.pop()))
        except (ValueError, IndexError):
            continue
        for _literal, field, spec, _conversion in parsed:
            if field:
                yield field
            if spec and "{" in spec:
                pending.append(spec)


def _literal_key(node: ast.AST) -> object:
    """The Python value of a simple subscript key (`:, 1` -> (slice(None), 1)), or None."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value if isinstance(node.operand.value, int) else None
    if isinstance(node, ast.Slice):
        return slice(None)
    if isinstance(node, ast.Tuple):
        return tuple(_literal_key(e) for e in node.elts)
    return None


def _short(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _slices_first_axis(key: ast.AST) -> bool:
    """`x[100:]`, `x[-10:]`, `x[1::2]`, `x[a:b, 0]`: a bounded slice on axis 0 (`x[:, 0]` is not)."""
    first = key.elts[0] if isinstance(key, ast.Tuple) and key.elts else key
    return isinstance(first, ast.Slice) and any(p is not None for p in (first.lower, first.upper, first.step))


def _reduces_over_batch(call: ast.Call, reads_state) -> bool:
    """np.mean(x) or x.mean() on state values with no axis, or with axis 0 (the batch axis)."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in BATCH_REDUCTIONS:
        return False
    base = func.value
    while isinstance(base, ast.Attribute):  # np.linalg.norm
        base = base.value
    on_module = isinstance(base, ast.Name) and base.id in ("np", "numpy")
    if on_module:
        if not call.args or not reads_state(call.args[0]):
            return False
        position = BATCH_REDUCTIONS[func.attr]
    else:
        if not reads_state(func.value):
            return False
        position = 0 if func.attr not in ("percentile", "quantile") else 1
    axis = next((k.value for k in call.keywords if k.arg == "axis"), None)
    if axis is None and len(call.args) > position:
        axis = call.args[position]
    if axis is None:
        return True
    values = axis.elts if isinstance(axis, ast.Tuple) else [axis]
    return any(isinstance(v, ast.Constant) and v.value == 0 for v in values)


def _stored_names(node: ast.AST) -> set[str]:
    """Names a piece of code assigns (plain names only)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
