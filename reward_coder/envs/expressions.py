"""Field sources of a declared card: small expressions over obs, info and simulator values, never eval'd.

A card of family `declared` writes each field's `source` in this language (envs/README.md, "Writing a
card"). The text is parsed with `ast` and only these node kinds are accepted; everything else is a
SourceError that names the offending piece:

- `obs`: the observation vector of one env; `obs[2]`, `obs[0:3]`, `obs[1, 4]` index it per env;
- `info.key` / `info["key"]`: a value of the step's info dict (also at reset); `info.get("key", 0.0)`
  gives a default for dicts that lack it (reset infos usually do);
- `sim.<path>`: an attribute of the simulator (`env.unwrapped`) read inside the env process right after
  each reset and step, e.g. `sim.data.qpos[1]`, `sim.state[2]`, or MuJoCo's named accessors
  `sim.data.body("fingertip").xpos`; path parts are public attribute names, and the only calls allowed
  are the named accessors in SIM_ACCESSORS with one text argument;
- the names of other fields of the card declared above this one, and the constants `pi` and `e`;
- numbers, `+ - * / ** %`, unary minus, one comparison (`obs[0] > 0.5` is 1.0 or 0.0), and the
  functions in FUNCTIONS, which act per env (`norm(v)` is the length of one env's vector).

Evaluation is batched: every value carries the leading env dimension, so `obs[0]` is the column
`obs[:, 0]` of the stacked observations and `norm(v)` reduces the last axis.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class SourceError(ValueError):
    """A field source outside the expression language; the message names the part and what is allowed."""


def _wrap_angle(x: np.ndarray) -> np.ndarray:
    return np.mod(x + np.pi, 2.0 * np.pi) - np.pi


def _reduce(function: Callable[..., np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def reduce(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return function(x, axis=-1) if x.ndim >= 2 else x

    return reduce


def _norm(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return np.linalg.norm(x, axis=-1) if x.ndim >= 2 else np.abs(x)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(np.asarray(a) * np.asarray(b), axis=-1)


def _per_env_vector(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return x[:, None] if x.ndim == 1 else x


def _stack(*parts: np.ndarray) -> np.ndarray:
    return np.stack(np.broadcast_arrays(*parts), axis=-1)


def _concat(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([_per_env_vector(p) for p in parts], axis=-1)


FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    **{name: getattr(np, name) for name in (
        "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "exp", "log",
        "log1p", "sqrt", "abs", "sign", "floor", "ceil", "minimum", "maximum", "clip", "where", "hypot", "square",
    )},
    "atan2": np.arctan2,
    "norm": _norm,
    "sum": _reduce(np.sum),
    "mean": _reduce(np.mean),
    "max": _reduce(np.max),
    "min": _reduce(np.min),
    "dot": _dot,
    "stack": _stack,
    "concat": _concat,
    "wrap_angle": _wrap_angle,
}
"""Functions a source may call, each per env on batched arrays: numpy's elementwise ones (and `atan2`), plus `norm`,
`sum`, `mean`, `max`, `min` (over one env's vector), `dot(a, b)`, `stack(a, b, ...)` (scalars into a
vector), `concat(u, v, ...)` (vectors end to end) and `wrap_angle(x)` (into [-pi, pi))."""

CONSTANTS = {"pi": math.pi, "e": math.e}

SIM_ACCESSORS = ("body", "geom", "site", "joint", "actuator", "sensor")
"""MuJoCo's named-element accessors (`data.body("torso")`), the only calls a `sim.` path may make."""

_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
           ast.Pow: np.power, ast.Mod: np.mod}
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
            ast.Eq: np.equal, ast.NotEq: np.not_equal}
OBS_KEY = "obs"


@dataclass(frozen=True)
class SimPath:
    """A simulator value: attribute names and named-accessor calls from `env.unwrapped`, in order."""

    key: str
    """Probe key of the value ('sim.data.qpos')."""
    steps: tuple[tuple[str, str | None], ...]
    """(attribute, None) or (accessor, its text argument), applied left to right."""

    def read(self, sim: Any) -> Any:
        """The value now, as a float or a fresh float64 array (never a view into the simulator)."""
        value = sim
        for name, argument in self.steps:
            value = getattr(value, name)
            if argument is not None:
                value = value(argument)
        array = np.array(value, dtype=np.float64)
        return float(array) if array.ndim == 0 else array


@dataclass(frozen=True)
class InfoKey:
    """A value of the step's info dict; `default` (None: required) stands in where the dict lacks it."""

    key: str
    name: str
    default: float | None = None


@dataclass(frozen=True)
class Source:
    """One parsed field source: its tree, and what it reads."""

    text: str
    tree: ast.expression
    reads_obs: bool
    fields: tuple[str, ...]
    """Other fields it refers to."""
    sim: tuple[SimPath, ...]
    info: tuple[InfoKey, ...]
    run: Callable[[Mapping[str, Any]], Any] = field(compare=False, repr=False, default=lambda values: None)
    """The compiled expression: batched values in, the field's batched value out."""


def parse_source(text: str, earlier_fields: tuple[str, ...] = ()) -> Source:
    """Parse and check one field source; `earlier_fields` are the names it may refer to."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise SourceError(f"'{text}' is not an expression ({err.msg}); write e.g. obs[0] or norm(obs[0:2])") from None
    checker = _Checker(text, earlier_fields)
    checker.visit(tree.body)
    return Source(text=text, tree=tree, reads_obs=checker.obs, fields=tuple(dict.fromkeys(checker.fields)),
                  sim=tuple({p.key: p for p in checker.sim}.values()),
                  info=tuple({i.key: i for i in checker.info}.values()), run=_compile(tree.body))


class _Checker:
    """Walks a parsed source and refuses every node outside the language."""

    def __init__(self, text: str, earlier_fields: tuple[str, ...]) -> None:
        self.text, self.earlier = text, earlier_fields
        self.obs = False
        self.fields: list[str] = []
        self.sim: list[SimPath] = []
        self.info: list[InfoKey] = []

    def fail(self, node: ast.AST, problem: str) -> SourceError:
        return SourceError(f"'{self.text}': `{ast.unparse(node)}` {problem}")

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.fail(node, "is not a number; only numbers are constants here")
        elif isinstance(node, ast.Name):
            self._name(node)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise self.fail(node, "uses an operator outside + - * / ** %")
            self.visit(node.left)
            self.visit(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.fail(node, "uses an operator outside unary + and -")
            self.visit(node.operand)
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
                raise self.fail(node, "must be one comparison (<, <=, >, >=, ==, !=)")
            self.visit(node.left)
            self.visit(node.comparators[0])
        elif isinstance(node, ast.Subscript):
            self._subscript(node)
        elif isinstance(node, ast.Attribute):
            self._attribute(node)
        elif isinstance(node, ast.Call):
            self._call(node)
        else:
            raise self.fail(node, f"is a {type(node).__name__}, which field sources cannot use")

    def _name(self, node: ast.Name) -> None:
        if node.id == OBS_KEY:
            self.obs = True
        elif node.id in self.earlier:
            self.fields.append(node.id)
        elif node.id in ("info", "sim"):
            raise self.fail(node, f"needs a key: write {node.id}.<name>")
        elif node.id not in CONSTANTS:
            known = ", ".join(["obs", "info.<key>", "sim.<path>", *CONSTANTS, *self.earlier])
            raise self.fail(node, f"is not a known name; use one of {known} (fields must be declared above the one using them)")

    def _subscript(self, node: ast.Subscript) -> None:
        info = self._info_key(node)
        if info is not None:
            self.info.append(info)
            return
        self._index(node.slice, node)
        self.visit(node.value)

    def _index(self, index: ast.AST, node: ast.AST) -> None:
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        for part in parts:
            bounds = [part.lower, part.upper, part.step] if isinstance(part, ast.Slice) else [part]
            for bound in bounds:
                if bound is not None and _integer(bound) is None:
                    raise self.fail(node, "indexes with something other than whole numbers; write e.g. obs[2] or obs[0:3]")

    def _attribute(self, node: ast.Attribute) -> None:
        info = self._info_key(node)
        if info is not None:
            self.info.append(info)
            return
        self.sim.append(self._sim_path(node))

    def _info_key(self, node: ast.AST) -> InfoKey | None:
        """info.key or info["key"]; None when `node` is not rooted at info."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "info":
            return InfoKey(key=f"info.{node.attr}", name=node.attr)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "info":
            if not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
                raise self.fail(node, 'must name the key as text: info["key"] or info.key')
            return InfoKey(key=f"info.{node.slice.value}", name=node.slice.value)
        return None

    def _sim_path(self, node: ast.AST) -> SimPath:
        steps: list[tuple[str, str | None]] = []
        current = node
        while True:
            if isinstance(current, ast.Attribute):
                if not _ATTRIBUTE.match(current.attr):
                    raise self.fail(node, f"reads '{current.attr}'; simulator paths use public attribute names only")
                steps.append((current.attr, None))
                current = current.value
            elif isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
                accessor = current.func.attr
                argument = current.args[0] if len(current.args) == 1 and not current.keywords else None
                if accessor not in SIM_ACCESSORS or not (
                    isinstance(argument, ast.Constant) and isinstance(argument.value, str)
                ):
                    raise self.fail(node, f"calls '{accessor}'; a simulator path may only call "
                                          f"{', '.join(SIM_ACCESSORS)} with one name, e.g. data.body(\"torso\")")
                steps.append((accessor, argument.value))
                current = current.func.value
            elif isinstance(current, ast.Name) and current.id == "sim":
                break
            else:
                raise self.fail(node, "is neither obs, info.<key> nor a sim.<path> of attributes")
        if not steps:
            raise self.fail(node, "needs a path: sim.data.qpos, sim.state, ...")
        steps.reverse()
        return SimPath(key=f"sim:{ast.unparse(node)}", steps=tuple(steps))

    def _call(self, node: ast.Call) -> None:
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Name)
                and func.value.id == "info"):
            self.info.append(self._info_get(node))
            return
        if isinstance(func, ast.Attribute):  # a sim path that ends in an accessor call
            self.sim.append(self._sim_path(node))
            return
        if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
            raise self.fail(node, f"calls something other than the functions {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise self.fail(node, "passes keyword arguments; functions here take positional ones only")
        for argument in node.args:
            self.visit(argument)

    def _info_get(self, node: ast.Call) -> InfoKey:
        args = node.args
        if len(args) != 2 or node.keywords or not (isinstance(args[0], ast.Constant) and isinstance(args[0].value, str)):
            raise self.fail(node, 'must be info.get("key", default) with a number as the default')
        default = _number(args[1])
        if default is None:
            raise self.fail(node, "needs a number as its default")
        return InfoKey(key=f"info.{args[0].value}", name=args[0].value, default=default)


def _integer(node: ast.AST) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _integer(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None


def _number(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    return None


def evaluate(source: Source, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """The source's value for a batch: `values` maps 'obs', probe keys and field names to batched arrays."""
    return source.run(values)


Compiled = Callable[[Mapping[str, Any]], Any]


def _compile(node: ast.AST) -> Compiled:
    """A closure computing a checked node on batched values: the tree is walked once, not at every step."""
    if isinstance(node, ast.Constant):
        number = float(node.value)
        return lambda values: number
    if isinstance(node, ast.Name):
        name = node.id
        if name in CONSTANTS:
            constant = CONSTANTS[name]
            return lambda values: constant
        return lambda values: values[name]
    key = _value_key(node)
    if key is not None:
        return lambda values: values[key]
    if isinstance(node, ast.BinOp):
        operator, left, right = _BINARY[type(node.op)], _compile(node.left), _compile(node.right)
        return lambda values: operator(left(values), right(values))
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda values: np.negative(operand(values))
        return operand
    if isinstance(node, ast.Compare):
        compare, left, right = _COMPARE[type(node.ops[0])], _compile(node.left), _compile(node.comparators[0])
        return lambda values: np.asarray(compare(left(values), right(values)), dtype=np.float64)
    if isinstance(node, ast.Subscript):
        inner, index = _compile(node.value), _index_key(node.slice)
        return lambda values: np.asarray(inner(values))[index]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function, arguments = FUNCTIONS[node.func.id], [_compile(a) for a in node.args]
        return lambda values: function(*[argument(values) for argument in arguments])
    raise SourceError(f"cannot evaluate `{ast.unparse(node)}`")  # the checker refused it already


def _value_key(node: ast.AST) -> str | None:
    """The probe key of an info value or a simulator path (as the checker named it); None for other nodes."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "info":
        return f"info.{node.attr}"
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "info":
        return f"info.{node.slice.value}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if isinstance(node.func.value, ast.Name) and node.func.value.id == "info":
            return f"info.{node.args[0].value}"
        return f"sim:{ast.unparse(node)}"
    if isinstance(node, ast.Attribute):
        return f"sim:{ast.unparse(node)}"
    return None


def _index_key(index: ast.AST) -> tuple[Any, ...]:
    """A per-env index as a numpy key: the leading env dimension is kept whole."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    key: list[Any] = [slice(None)]
    for part in parts:
        if isinstance(part, ast.Slice):
            key.append(slice(*(None if b is None else _integer(b) for b in (part.lower, part.upper, part.step))))
        else:
            key.append(_integer(part))
    return tuple(key)
