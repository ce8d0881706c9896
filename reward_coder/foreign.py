"""Rewards written for other tools, in the widely used form `compute_dense_reward(self, action, obs) -> float`.

Text2Reward, and papers that compare with it, write Meta-World rewards as a method of a gym wrapper:
`obs` is one environment's raw observation after the step, `self.env` is the Meta-World env, and the
code reads simulator attributes such as `self.env.tcp_center` or `self.env._get_pos_goal()` (or, in
Text2Reward's "general" form, `self.robot.ee_position`, `self.obj1.position`, `self.goal_position`).

`convert_foreign` turns such code into our contract, `compute_reward(state, action, next_state)`, by
rewriting its syntax tree; nothing of it runs here. The decision, and why:

- Every `self.env.<name>` / `self.env.<name>()` read (and every Text2Reward abstraction) is *translated*
  into a read of the card field that holds the same value at the same instant (`self["tcp_pos"]`,
  where `self` becomes a dict of that environment's field values). Reads with no field counterpart are
  refused with the list of supported names. So the converted code passes the same static check as
  our own candidates, without any relaxed rule: no private attribute is ever touched at run time, and
  the untrusted code never holds a simulator object (a relaxed rule that let it read `self.env._x`
  would have to hand it one).
- The generated `compute_reward` calls the translated function once per environment of the batch,
  passing `next_state.obs[i]`, the card's raw observation field. It is ordinary reward code: it goes
  through `check_candidate` and runs only inside a `SandboxedReward` worker, like any candidate.
- Terms: the foreign function returns one number, so there is one term, `foreign_reward`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from reward_coder.errors import RewardCoderError
from reward_coder.extract import drop_unused_refused_imports
from reward_coder.types import EnvCard

FOREIGN_ENTRY = "compute_dense_reward"
CONTRACT_ENTRY = "compute_reward"
RENAMED_ENTRY = "foreign_dense_reward"
RAW_OBS_FIELD = "obs"
TERM = "foreign_reward"

ENV_READS: dict[str, dict[str, str]] = {
    "metaworld": {
        "tcp_center": "tcp_pos",
        "_get_pos_goal": "goal_pos",
        "_target_pos": "goal_pos",
        "_state_goal": "goal_pos",
        "_get_pos_objects": "obj_pos",
        "_get_quat_objects": "obj_quat",
        "get_endeff_pos": "hand_pos",
        "obj_init_pos": "obj_init_pos",
        "init_tcp": "init_tcp_pos",
        "hand_init_pos": "hand_init_pos",
    },
}
"""Per adapter family: `self.env.<name>` (attribute or no-argument method) -> card field of the same value."""

ABSTRACT_READS: dict[str, dict[tuple[str, ...], str]] = {
    "metaworld": {
        ("robot", "ee_position"): "hand_pos",
        ("robot", "gripper_openness"): "gripper_openness",
        ("obj1", "position"): "obj_pos",
        ("obj1", "quaternion"): "obj_quat",
        ("obj2", "position"): "obj2_pos",
        ("obj2", "quaternion"): "obj2_quat",
        ("goal_position",): "goal_pos",
    },
}
"""Text2Reward's class-like abstraction (`self.robot.ee_position`, ...), mapped as its Meta-World runs map it
(text2reward code_generation/single_flow/metaworld_exp.py: ee_position -> obs[:3], goal -> _get_pos_goal())."""


class ForeignRewardError(RewardCoderError):
    """Foreign reward code that cannot be converted; the message says what to change."""


@dataclass(frozen=True)
class ForeignConversion:
    """Contract code made from a foreign reward, and what the conversion did."""

    code: str
    fields: tuple[str, ...]
    """Card fields the converted code reads (besides `obs`)."""
    translated: tuple[str, ...]
    """Each original read and its field, e.g. 'self.env.tcp_center -> tcp_pos'."""
    line_map: tuple[int | None, ...] = ()
    """For each line of `code` (line_map[i] for line i + 1), the line of the original file it came from, or
    None for a line the conversion wrote; turns the line of a check's message into the user's own line."""
    notes: tuple[str, ...] = ()
    """What the conversion dropped (unused imports reward code may not make), with the original lines."""

    def original_line(self, line: int | None) -> int | None:
        """The original file's line for line `line` of `code` (None when the conversion wrote that line)."""
        if line is None or not self.line_map:
            return line
        return self.line_map[line - 1] if 0 < line <= len(self.line_map) else None


def is_foreign(code: str) -> bool:
    """True when `code` defines `compute_dense_reward` at top level and no `compute_reward`."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    return FOREIGN_ENTRY in names and CONTRACT_ENTRY not in names


def convert_foreign(code: str, card: EnvCard) -> ForeignConversion:
    """Contract code equivalent to the foreign `compute_dense_reward(self, action, obs)` in `code`.

    Raises ForeignRewardError (one line) when the code does not parse, has no such function, clashes
    with the contract's names, or reads something of `self` that has no field on `card`. The result is
    still untrusted: check it with `check_candidate` and run it in a `SandboxedReward`.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise ForeignRewardError(f"foreign reward does not parse: {err.msg} (line {err.lineno})") from None
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    entry = [n for n in functions if n.name == FOREIGN_ENTRY]
    if not entry:
        raise ForeignRewardError(
            f"foreign reward has no top-level `def {FOREIGN_ENTRY}(self, action, obs)`; "
            f"code in our own form defines `{CONTRACT_ENTRY}(state, action, next_state)` instead"
        )
    clash = [n.name for n in functions if n.name in (CONTRACT_ENTRY, RENAMED_ENTRY)]
    if clash:
        raise ForeignRewardError(f"foreign reward defines '{clash[0]}', a name the conversion needs; rename it")
    function = entry[-1]
    params = [a.arg for a in function.args.posonlyargs + function.args.args]
    if len(params) != 3 or function.args.vararg or function.args.kwarg or function.args.kwonlyargs:
        raise ForeignRewardError(
            f"`{FOREIGN_ENTRY}` must take exactly (self, action, obs); found ({ast.unparse(function.args)})"
        )
    if RAW_OBS_FIELD not in card.field_names():
        raise ForeignRewardError(
            f"card '{card.id}' has no '{RAW_OBS_FIELD}' field (the raw observation), which foreign rewards read"
        )
    translator = _SelfReads(params[0], card)
    function.body = [translator.visit(statement) for statement in function.body]
    function.name = RENAMED_ENTRY
    leftover = translator.leftover(function)
    if leftover:
        raise ForeignRewardError(
            f"foreign reward uses '{leftover}', which has no field counterpart on card '{card.id}'; "
            f"supported: {translator.supported()}"
        )
    fields = tuple(name for name in card.field_names() if name in translator.used)
    tree.body, notes = drop_unused_refused_imports(tree.body, lambda node: node.lineno)
    body = ast.unparse(ast.fix_missing_locations(tree))
    converted = _contract_module(body, fields, code)
    return ForeignConversion(
        code=converted,
        fields=fields,
        translated=tuple(sorted(translator.notes)),
        line_map=_line_map(converted, body, tree, code),
        notes=tuple(notes),
    )


def _line_map(converted: str, body: str, tree: ast.Module, original: str) -> tuple[int | None, ...]:
    """Original line of each converted line: the quoted original lines and the translated code map back,
    the lines the conversion wrote map to None. The body's lines come from a walk of its re-parsed tree
    beside the tree it was printed from (ast.unparse keeps the structure, not the lines): each printed
    statement gets the first line of the statement it was printed from."""
    lines: list[int | None] = [None] * converted.count("\n")
    quoted = original.strip("\n").splitlines()
    leading = len(original) - len(original.lstrip("\n"))
    first_quote = converted.splitlines().index("# The original code, comments included:") + 1
    for k in range(len(quoted)):
        lines[first_quote + k] = original[:leading].count("\n") + k + 1
    start = converted.count("\n", 0, converted.index(body)) if body else 0
    for printed, source in zip(ast.walk(ast.parse(body)), ast.walk(tree)):
        if isinstance(printed, ast.stmt) and isinstance(source, ast.stmt):  # statements print one per line
            index = start + printed.lineno - 1
            if 0 <= index < len(lines):
                lines[index] = source.lineno
    return tuple(lines)


@dataclass(frozen=True)
class RewardSource:
    """A reward file's contract code, its format, and for a foreign file the conversion that made the code."""

    code: str
    format: str
    """'contract' or 'foreign'."""
    conversion: ForeignConversion | None = None

    def user_line(self, line: int | None) -> int | None:
        """The file's own line for line `line` of `code` (a converted file's lines differ)."""
        return self.conversion.original_line(line) if self.conversion is not None else line


def read_reward_file(path: str | Path, card: EnvCard) -> RewardSource:
    """The reward in a file as contract code; foreign code is converted for `card`."""
    from reward_coder.textfile import REWARD_FILE_MAX_BYTES, read_text_file

    path = Path(path)
    code = read_text_file(path, "reward file", limit_bytes=REWARD_FILE_MAX_BYTES, error=ForeignRewardError)
    if is_foreign(code):
        try:
            conversion = convert_foreign(code, card)
        except ForeignRewardError as err:
            raise ForeignRewardError(f"{path}: {err}") from None
        return RewardSource(conversion.code, "foreign", conversion)
    return RewardSource(code, "contract")


def reward_code_from_file(path: str | Path, card: EnvCard) -> tuple[str, str]:
    """(contract code, 'contract' | 'foreign') of a reward file; foreign code is converted for `card`."""
    source = read_reward_file(path, card)
    return source.code, source.format


def _contract_module(foreign_body: str, fields: tuple[str, ...], original: str) -> str:
    reads = ", ".join(f"{name!r}: next_state.{name}[i]" for name in fields)
    quoted = "".join(f"#     {line}\n".rstrip() + "\n" for line in original.strip("\n").splitlines())
    return (
        "# Converted by reward-coder (reward_coder/foreign.py) from a reward written for another tool as\n"
        f"# `{FOREIGN_ENTRY}(self, action, obs)`. Its reads of `self.env` / `self.robot` / `self.obj1` ...\n"
        "# became reads of `self[<card field>]`, a dict of one environment's fields after the step, and\n"
        f"# `{CONTRACT_ENTRY}` calls it once per environment with that environment's raw observation.\n"
        "# The original code, comments included:\n"
        f"{quoted}"
        "import numpy as np\n\n"
        f"{foreign_body}\n\n\n"
        f"def {CONTRACT_ENTRY}(state, action, next_state):\n"
        "    n = action.shape[0]\n"
        "    reward = np.zeros(n)\n"
        "    for i in range(n):\n"
        f"        env_reads = {{{reads}}}\n"
        f"        value = {RENAMED_ENTRY}(env_reads, action[i], next_state.{RAW_OBS_FIELD}[i])\n"
        "        reward[i] = np.asarray(value, dtype=np.float64).item()\n"
        f"    return reward, {{{TERM!r}: reward.copy()}}\n"
    )


class _SelfReads(ast.NodeTransformer):
    """Rewrites `self.env.<name>`, `self.env.<name>()`, `self.env.unwrapped.<name>` and Text2Reward's
    `self.robot.ee_position`-style reads into `self["<field>"]`."""

    def __init__(self, self_name: str, card: EnvCard) -> None:
        self.self_name = self_name
        self.fields = set(card.field_names())
        self.env_reads = {k: v for k, v in ENV_READS.get(card.family, {}).items() if v in self.fields}
        self.abstract = {k: v for k, v in ABSTRACT_READS.get(card.family, {}).items() if v in self.fields}
        self.used: set[str] = set()
        self.notes: set[str] = set()

    def supported(self) -> str:
        names = [f"self.env.{k}" for k in self.env_reads] + ["self." + ".".join(k) for k in self.abstract]
        return ", ".join(names) or "none (only `obs` and `action`)"

    def _chain(self, node: ast.AST) -> tuple[str, ...] | None:
        """('env', 'tcp_center') for self.env.tcp_center; None when the chain does not start at self."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id == self.self_name and parts:
            return tuple(reversed(parts))
        return None

    def _field_of(self, chain: tuple[str, ...]) -> str | None:
        if chain in self.abstract:
            return self.abstract[chain]
        if chain and chain[0] == "env":
            rest = chain[1:]
            if rest[:1] == ("unwrapped",):
                rest = rest[1:]
            if len(rest) == 1 and rest[0] in self.env_reads:
                return self.env_reads[rest[0]]
        return None

    def _read(self, field: str, original: ast.AST) -> ast.Subscript:
        self.used.add(field)
        self.notes.add(f"{ast.unparse(original)} -> {field}")
        return ast.copy_location(
            ast.Subscript(value=ast.Name(self.self_name, ast.Load()), slice=ast.Constant(field), ctx=ast.Load()),
            original,
        )

    def visit_Call(self, node: ast.Call) -> ast.AST:
        chain = self._chain(node.func)
        if chain is not None and not node.args and not node.keywords:
            field = self._field_of(chain)
            if field is not None:
                return self._read(field, node)
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        chain = self._chain(node)
        if chain is not None and isinstance(node.ctx, ast.Load):
            field = self._field_of(chain)
            if field is not None:
                return self._read(field, node)
        return self.generic_visit(node)

    def leftover(self, function: ast.FunctionDef) -> str | None:
        """The first read of `self.<something>` that was not translated, as source text."""
        for node in ast.walk(function):  # outer nodes first: the whole chain is reported
            if isinstance(node, ast.Attribute) and self._chain(node) is not None:
                return ast.unparse(node)
        return None
