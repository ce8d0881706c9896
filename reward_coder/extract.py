"""Response text -> reward code, or a typed reason why there is none. Pure: no I/O, no execution.

LLMs answer in many shapes: one fenced block, several blocks (helpers first, then the main function,
sometimes a usage example), prose before and after, no fences at all, or a forgotten `import numpy`.
Extraction keeps what a reward module may contain (imports, function definitions, the constants they
use) and drops the rest, example usage included (demo inputs, calls of the reward, prints, a __main__
block), saying what it dropped or repaired so the record stays honest. It also maps each line of the
code it returns to the line of the response it came from, so that every message about the code can
name the line of the model's own answer.
"""

from __future__ import annotations

import ast
import re
import textwrap

from reward_coder.types import ExtractedCode, ExtractionError

MAIN_FUNCTION = "compute_reward"

_FENCE = re.compile(
    r"(?:^[ \t]*```[ \t]*(?P<tag>[A-Za-z0-9_+-]*)[^\n]*|```[ \t]*(?P<inline_tag>[A-Za-z0-9_+-]*)[ \t]*)\n"
    r"(?P<body>.*?)(?:```|\Z)",
    re.DOTALL | re.MULTILINE,
)
"""A fence opens at the start of a line, or at the end of one ("Here it is: ```python"); prose that mentions
"one ```python block" in a sentence opens none."""
_CODE_START = re.compile(r"^(import |from |def |@|[A-Z_][A-Z0-9_]* *=)", re.MULTILINE)
_MODULE_ALIASES = {"np": "import numpy as np", "numpy": "import numpy", "math": "import math"}
_NON_PYTHON_TAGS = {"json", "yaml", "text", "bash", "sh", "shell", "console", "markdown", "md", "txt"}


def extract_reward_code(text: str, function_name: str = MAIN_FUNCTION) -> ExtractedCode | ExtractionError:
    """Take the reward module out of an LLM response.

    Returns ExtractedCode with the cleaned module source, or ExtractionError whose `kind`
    ('no_code', 'no_function', 'syntax_error') chooses the feedback the designer sees next.
    """
    if not text or not text.strip():
        return ExtractionError("no_code", "the response was empty; answer with one ```python block")

    blocks, offsets = _fenced_blocks(text)
    notes: list[str] = []
    if not blocks:
        unfenced = _unfenced_code(text)
        if unfenced is None:
            return ExtractionError(
                "no_code",
                "the response contains no Python code; put the reward function in a ```python block",
            )
        blocks, offsets = [unfenced[0]], [unfenced[1]]
        notes.append("code was not fenced; took it from the prose")

    parsed: list[ast.Module] = []
    first_error: tuple[SyntaxError, int] | None = None
    for block, offset in zip(blocks, offsets):
        try:
            parsed.append(ast.parse(block))
        except SyntaxError as err:
            if first_error is None or _defines(block, function_name):
                first_error = (err, offset)
            parsed.append(None)  # type: ignore[arg-type]

    main_index = _last_block_defining(parsed, function_name)
    if main_index is None:
        if first_error is not None and any(_defines(b, function_name) for b in blocks):
            return _syntax_error(*first_error)
        defined = sorted({n.name for m in parsed if m for n in m.body if isinstance(n, ast.FunctionDef)})
        found = f" (found: {', '.join(defined)})" if defined else ""
        return ExtractionError(
            "no_function",
            f"no top-level function named '{function_name}'{found}; define "
            f"def {function_name}(state, action, next_state) returning (reward, terms)",
        )

    # Blocks before the main one may hold helpers and constants; blocks after it are examples.
    kept: list[tuple[ast.stmt, list[tuple[str, int | None]]]] = []
    usage = _UsageFinder(parsed[: main_index + 1], function_name)
    for index, module in enumerate(parsed):
        if module is None or index > main_index:
            if index > main_index and module is not None and module.body:
                notes.append(f"ignored code block {index + 1} after the main function (line {offsets[index] + 1})")
            continue
        for node in module.body:
            answer_line = node.lineno + offsets[index]
            if _is_module_level_definition(node):
                if index != main_index and isinstance(node, ast.FunctionDef) and node.name == function_name:
                    continue  # an earlier draft of the main function, superseded
                reason = usage.reason_to_drop(node)
                if reason is None:
                    kept.append((node, _node_lines(blocks[index], node, offsets[index])))
                    continue
                notes.append(f"dropped example usage at line {answer_line} ({reason}): {_snippet(blocks[index], node)}")
            else:
                notes.append(f"dropped top-level statement at line {answer_line} ({_describe_dropped(node)}): "
                             f"{_snippet(blocks[index], node)}")

    kept, import_drops = drop_unused_refused_imports(kept, lambda node: node.lineno + _offset_of(node, parsed, offsets))
    notes.extend(import_drops)

    if len(blocks) == 1 and not _dropped(notes):
        block = blocks[main_index]
        lead = block[: len(block) - len(block.lstrip())].count("\n")
        first = offsets[main_index] + lead + 1
        lines = [(line, first + k) for k, line in enumerate(block.strip().splitlines())]  # verbatim, comments too
    else:
        lines = []
        for _, source in _dedupe_definitions(kept):
            lines += ([("", None)] if lines else []) + source
    code = "\n".join(line for line, _ in lines)
    line_map = [number for _, number in lines]
    repaired, import_notes = _add_missing_imports(code)
    line_map = [None] * (repaired.count("\n") - code.count("\n")) + line_map
    notes.extend(import_notes)
    try:
        ast.parse(repaired)
    except SyntaxError as err:  # only reachable if a repair broke it; surfaced, not hidden
        return _syntax_error(err, 0, line_map)
    code = repaired.rstrip() + "\n"
    return ExtractedCode(code=code, function_name=function_name, notes=tuple(notes),
                         line_map=tuple(line_map[: code.count("\n")]))


def _offset_of(node: ast.stmt, parsed: list[ast.Module | None], offsets: list[int]) -> int:
    for module, offset in zip(parsed, offsets):
        if module is not None and any(statement is node for statement in module.body):
            return offset
    return 0


def drop_unused_refused_imports(items: list, line_of) -> tuple[list, list[str]]:
    """Drop imports the static check would refuse (a module outside the sandbox's allow-list) whose names
    the code never reads: `import scipy.stats` left over from a draft costs nothing to drop, while refusing
    the whole answer for it would throw a working reward away. Imports that are used stay, and are refused.

    `items` are (statement, anything) pairs or statements; `line_of(statement)` is its line for the note.
    """
    from reward_coder.sandbox._rules import ALLOWED_MODULES, member_refusal

    statements = [item[0] if isinstance(item, tuple) else item for item in items]
    read: set[str] = set()
    for statement in statements:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            read |= {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    kept, notes = [], []
    for item, statement in zip(items, statements):
        if isinstance(statement, ast.Import):
            refused = any(a.name not in ALLOWED_MODULES for a in statement.names)
            names = {a.asname or a.name.split(".")[0] for a in statement.names}
        elif isinstance(statement, ast.ImportFrom):
            module = statement.module or ""
            refused = bool(statement.level) or module not in ALLOWED_MODULES or any(
                a.name == "*" or member_refusal(module, a.name) is not None for a in statement.names)
            names = {a.asname or a.name for a in statement.names if a.name != "*"}
            refused = refused and all(a.name != "*" for a in statement.names)
        else:
            kept.append(item)
            continue
        if refused and not names & read:
            notes.append(f"dropped unused import at line {line_of(statement)} (reward code may not import it, and "
                         f"the code never uses it): `{ast.unparse(statement)[:70]}`")
        else:
            kept.append(item)
    return kept, notes


def _fenced_blocks(text: str) -> tuple[list[str], list[int]]:
    """The Python blocks and, for each, how many lines of the response come before its first line."""
    blocks, offsets = [], []
    for match in _FENCE.finditer(text):
        tag, body = (match.group("tag") or match.group("inline_tag") or "").lower(), match.group("body")
        if tag in _NON_PYTHON_TAGS or not body.strip():
            continue
        indented = all(line[:1] in (" ", "\t") for line in body.splitlines() if line.strip())
        blocks.append(textwrap.dedent(body) if indented else body)  # a block in a list item is indented whole
        offsets.append(text.count("\n", 0, match.start("body")))
    return blocks, offsets


def _unfenced_code(text: str) -> tuple[str, int] | None:
    """Code written without fences: from the first line that starts code, minus trailing prose."""
    match = _CODE_START.search(text)
    if match is None:
        return None
    offset = text.count("\n", 0, match.start())
    lines = text[match.start() :].splitlines()
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end])
        try:
            ast.parse(candidate)
        except SyntaxError:
            continue
        return candidate, offset
    return "\n".join(lines), offset  # unparsable: let the caller report the syntax error


def _defines(block: str, name: str) -> bool:
    return re.search(rf"^def\s+{re.escape(name)}\s*\(", block, re.MULTILINE) is not None


def _last_block_defining(parsed: list[ast.Module | None], name: str) -> int | None:
    found = None
    for index, module in enumerate(parsed):
        if module is not None and any(
            isinstance(n, ast.FunctionDef) and n.name == name for n in module.body
        ):
            found = index
    return found


def _is_module_level_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return True  # constants; the static check decides whether they are allowed
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return True  # module docstring
    return False


def _node_lines(block: str, node: ast.stmt, offset: int) -> list[tuple[str, int | None]]:
    """The node's own lines (decorators and inner comments included), each with its line in the response."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    lines = block.splitlines()[start - 1 : node.end_lineno]
    return [(line, start + offset + k) for k, line in enumerate(lines)]


def _snippet(block: str, node: ast.stmt, limit: int = 70) -> str:
    """The statement's first line, shortened, for a note."""
    first = block.splitlines()[node.lineno - 1].strip()
    more = node.end_lineno is not None and node.end_lineno > node.lineno
    return "`" + (first[: limit - 3] + "..." if len(first) > limit else first) + "`" + (" ..." if more else "")


def _describe_dropped(node: ast.stmt) -> str:
    if isinstance(node, ast.If) and "__name__" in ast.dump(node.test):
        return "a __main__ block"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return f"a call of {name}" if name else "a call"
    return type(node).__name__


class _UsageFinder:
    """Tells example usage (demo inputs, calls of the reward, unused demo data) from module constants.

    Module level keeps imports, functions and the constants they use. An assignment is example usage
    when it calls a function the answer defines (`reward, terms = compute_reward(...)`), binds a name the
    reward takes as a parameter (`state = np.array(...)`), or binds data no function reads.
    """

    def __init__(self, modules: list[ast.Module | None], function_name: str) -> None:
        body = [node for module in modules if module is not None for node in module.body]
        self.functions = {n.name for n in body if isinstance(n, ast.FunctionDef)}
        self.parameters: set[str] = set()
        self.read_by_functions: set[str] = set()
        for node in body:
            if isinstance(node, ast.FunctionDef):
                if node.name == function_name:
                    self.parameters |= {a.arg for a in node.args.posonlyargs + node.args.args}
                self.read_by_functions |= _global_reads(node)
        self.read_by_constants: set[str] = set()  # by assignments that stay (they call nothing the answer defines)
        for node in body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and not self._calls(node):
                self.read_by_constants |= {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}

    def _calls(self, node: ast.Assign | ast.AnnAssign) -> list[str]:
        """The answer's own functions that an assignment's value calls."""
        return sorted({
            n.func.id for n in ast.walk(node.value)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in self.functions
        })

    def reason_to_drop(self, node: ast.stmt) -> str | None:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            return None
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        called = self._calls(node)
        if called:
            return f"calls {called[0]}"
        if names & self.parameters:
            return f"a demo value for '{sorted(names & self.parameters)[0]}'"
        if not names & (self.read_by_functions | self.read_by_constants) and not is_constant_expression(node.value):
            return "data no function reads"
        return None


def _global_reads(function: ast.FunctionDef) -> set[str]:
    """Names a function reads that it does not bind itself (so they come from module level)."""
    bound = {a.arg for n in ast.walk(function) if isinstance(n, ast.arguments)
             for a in n.posonlyargs + n.args + n.kwonlyargs + [x for x in (n.vararg, n.kwarg) if x]}
    bound |= {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound


def is_constant_expression(node: ast.AST) -> bool:
    """Numbers, strings, None, tuples of those, arithmetic on them, names and dotted names (math.pi):
    what module level may hold. The static check uses the same test for module-level assignments."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(is_constant_expression(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return is_constant_expression(node.operand)
    if isinstance(node, ast.BinOp):
        return is_constant_expression(node.left) and is_constant_expression(node.right)
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return isinstance(node.ctx, ast.Load) and is_constant_expression(node.value)
    return False


def _dedupe_definitions(items: list[tuple[ast.stmt, list]]) -> list[tuple[ast.stmt, list]]:
    """Keep the last definition of each function name and one copy of each import, imports first."""
    last_def = {node.name: i for i, (node, _) in enumerate(items) if isinstance(node, ast.FunctionDef)}
    seen_imports: set[str] = set()
    imports, others = [], []
    for index, (node, source) in enumerate(items):
        if isinstance(node, ast.FunctionDef) and last_def[node.name] != index:
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            key = ast.dump(node)
            if key not in seen_imports:
                seen_imports.add(key)
                imports.append((node, source))
            continue
        others.append((node, source))
    return imports + others


def _dropped(notes: list[str]) -> bool:
    return any(n.startswith("dropped") or n.startswith("ignored") for n in notes)


def _add_missing_imports(code: str) -> tuple[str, list[str]]:
    tree = ast.parse(code)
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            bound.update(a.asname or a.name for a in node.names)
    used = {
        n.value.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    }
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    assigned |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
    missing = [
        alias for alias in _MODULE_ALIASES if alias in used and alias not in bound and alias not in assigned
    ]
    if not missing:
        return code, []
    header = "\n".join(_MODULE_ALIASES[a] for a in missing)
    return header + "\n\n" + code, [f"added missing '{_MODULE_ALIASES[a]}'" for a in missing]


def _syntax_error(err: SyntaxError, offset: int, line_map: list[int | None] | None = None) -> ExtractionError:
    """The error at its line in the response: block line + the lines before the block, or via line_map."""
    line = err.lineno
    if line is not None and line_map is not None:
        line = line_map[line - 1] if 0 < line <= len(line_map) else None
    elif line is not None:
        line += offset
    where = f" at line {line}" if line else ""
    text = f": {err.text.strip()}" if err.text else ""
    return ExtractionError("syntax_error", f"syntax error{where}: {err.msg}{text}", line=line)
