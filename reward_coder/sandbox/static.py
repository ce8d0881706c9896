"""Static checks of a reward candidate: an allow-list over its syntax tree.

This layer refuses code before anything runs and says why, in words the designer prompt can feed
back to the LLM. It is not the barrier: a determined candidate may find a path it does not know
about, so every run still happens in the sandboxed worker (worker.py). Each check is a small
function that appends CheckIssues, in the manner of gymnasium's env checker.

Refusals (severity "error") and what they protect against:

- imports other than numpy/math, star and relative imports (os, subprocess, ctypes, pickle, ...);
- dunder and private attributes, frame/generator/code attributes, numpy's I/O and code-loading
  functions, str.format, and format strings such as '{0.__class__}' (object graph walks);
- builtins outside an allow-list (getattr, eval, exec, open, globals, type, __import__, ...);
- module-level state: only imports, function definitions and constant assignments at module level;
  no mutable defaults, no `global`/`nonlocal`, no attribute assignment, no classes, decorators or
  generators (state that survives between calls makes a reward turn bad late in training);
- writing into the input state (`state.x[...] = ...`);
- size limits: characters, syntax-tree nodes, nesting depth;
- the contract: a top-level `def compute_reward(state, action, next_state[, memory])`, names that
  are never defined (a missing `import numpy as np`), fields the environment does not have.

Warnings: `==` / `!=` on an expression that reads a state field ("float-equality"): exact equality
on continuous positions is almost never true, so a bonus guarded by it never fires.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Collection, Iterable

from reward_coder.sandbox._rules import (
    ALLOWED_BUILTINS,
    ALLOWED_MODULES,
    ALWAYS_FORBIDDEN_BUILTINS,
    ENTRY_POINT,
    FORBIDDEN_BUILTINS,
    attribute_refusal,
)
from reward_coder.types import CheckIssue

MAX_CODE_CHARS = 20_000
"""Reward functions in the literature are 10-80 lines; 20k characters is several times the longest."""
MAX_AST_NODES = 5_000
MAX_AST_DEPTH = 60
"""Deep nesting is a sign of generated junk and can exhaust the parser's or our walker's stack."""

STATE_PARAMETER_NAMES = frozenset({"state", "next_state", "prev_state", "obs", "next_obs"})
"""Helper-function parameters treated as state objects (fields are checked on them too)."""


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
    checker = _Checker(tree, None if field_names is None else frozenset(field_names))
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


def _is_constant_expression(node: ast.AST) -> bool:
    """Numbers, strings, None, tuples of those, arithmetic on them, names and dotted names (math.pi)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_is_constant_expression(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _is_constant_expression(node.operand)
    if isinstance(node, ast.BinOp):
        return _is_constant_expression(node.left) and _is_constant_expression(node.right)
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return isinstance(node.ctx, ast.Load) and _is_constant_expression(node.value)
    return False


def _kind_of_value(node: ast.AST) -> str:
    kinds = {
        ast.List: "a list", ast.ListComp: "a list", ast.Dict: "a dict", ast.DictComp: "a dict",
        ast.Set: "a set", ast.SetComp: "a set", ast.Call: "the result of a call", ast.Lambda: "a lambda",
    }
    return kinds.get(type(node), "an expression that is not a constant")


class _Checker:
    def __init__(self, tree: ast.Module, field_names: frozenset[str] | None) -> None:
        self.tree = tree
        self.field_names = field_names
        self.issues: list[CheckIssue] = []
        self.bound_names = self._collect_bound_names(tree)
        self.state_receivers: set[str] = set(STATE_PARAMETER_NAMES)

    def add(self, rule: str, message: str, node: ast.AST | None = None, severity: str = "error") -> None:
        line = getattr(node, "lineno", None) if node is not None else None
        self.issues.append(_issue(rule, message, line=line, severity=severity))

    # ---- driver ---------------------------------------------------------------------------------

    def run(self) -> None:
        self._check_entry_point()
        self._check_module_level()
        for node in ast.walk(self.tree):
            self._check_node(node)
        for function in ast.walk(self.tree):
            if isinstance(function, (ast.FunctionDef, ast.Lambda)):
                self._check_defaults(function)
            if isinstance(function, ast.FunctionDef):
                self._lint_float_equality(function)

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
            self.state_receivers.update({positional[0], positional[2]})

    def _check_module_level(self) -> None:
        for position, node in enumerate(self.tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.Pass)):
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and position == 0:
                continue  # module docstring
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if not all(self._is_name_target(t) for t in targets):
                    self.add(
                        "module-state",
                        "module-level assignments may only bind plain names to constants",
                        node,
                    )
                    continue
                if node.value is not None and not _is_constant_expression(node.value):
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
            if not _is_constant_expression(default):
                self.add(
                    "no-mutable-default",
                    f"the default value of parameter '{arg.arg}' is {_kind_of_value(default)}; defaults "
                    "are created once and keep state between calls: use None or a constant",
                    default,
                )

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
            self._check_format_string(node)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                self._check_input_write(target, node)

    def _check_import(self, module: str, node: ast.AST) -> None:
        if module not in ALLOWED_MODULES:
            self.add(
                "no-import",
                f"import of '{module}' is not allowed: reward code may import only numpy and math",
                node,
            )

    def _check_import_from(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.add("no-import", "relative imports are not allowed: reward code may import only numpy and math", node)
            return
        module = node.module or ""
        self._check_import(module, node)
        for alias in node.names:
            if alias.name == "*":
                self.add("no-star-import", f"'from {module} import *' is not allowed; import the module", node)
                continue
            refusal = attribute_refusal(alias.name)
            if refusal is not None:
                rule, reason = refusal
                self.add(rule, f"importing '{alias.name}' from '{module}' is not allowed: {reason}", node)

    def _check_attribute(self, node: ast.Attribute) -> None:
        receiver = node.value
        on_state = isinstance(receiver, ast.Name) and receiver.id in self.state_receivers
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
        if on_state and not node.attr.startswith("_"):
            if self.field_names is not None and node.attr not in self.field_names:
                available = ", ".join(sorted(self.field_names)) or "none"
                self.add(
                    "unknown-field",
                    f"'{receiver.id}.{node.attr}' is not a field of this environment; available fields: {available}",
                    node,
                )
            return
        refusal = attribute_refusal(node.attr)
        if refusal is not None:
            rule, reason = refusal
            self.add(rule, f"attribute '{node.attr}' is not allowed: {reason}", node)

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
        elif isinstance(node.ctx, ast.Load) and name not in self.bound_names and name not in ALLOWED_BUILTINS:
            hint = ""
            if name in ("np", "numpy"):
                hint = ": add `import numpy as np` at the top" if name == "np" else ": add `import numpy`"
            elif name == "math":
                hint = ": add `import math` at the top"
            self.add("undefined-name", f"name '{name}' is used but never defined{hint}", node)

    def _check_format_string(self, node: ast.Constant) -> None:
        text = node.value
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

    def _check_input_write(self, target: ast.AST, node: ast.AST) -> None:
        base = target
        while isinstance(base, (ast.Subscript, ast.Starred)):
            base = base.value
        if base is target:
            return  # plain names are fine; attribute stores are refused in _check_attribute
        if (
            isinstance(base, ast.Attribute)
            and isinstance(base.value, ast.Name)
            and base.value.id in self.state_receivers
        ):
            self.add(
                "input-mutation",
                f"the code writes into its input '{ast.unparse(base)}': inputs are shared with the "
                f"environment and must not change; copy first (x = {ast.unparse(base)}.copy())",
                node,
            )

    # ---- lint -----------------------------------------------------------------------------------

    def _lint_float_equality(self, function: ast.FunctionDef) -> None:
        args = function.args.posonlyargs + function.args.args
        roots = {a.arg for a in args if a.arg in self.state_receivers}
        if function.name == ENTRY_POINT and len(args) >= 3:
            roots |= {args[0].arg, args[2].arg}
        if not roots:
            return
        tainted: set[str] = set()

        def reads_state(expr: ast.AST) -> bool:
            for sub in ast.walk(expr):
                if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in roots:
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
