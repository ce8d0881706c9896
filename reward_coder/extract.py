"""Response text -> reward code, or a typed reason why there is none. Pure: no I/O, no execution.

LLMs answer in many shapes: one fenced block, several blocks (helpers first, then the main function,
sometimes a usage example), prose before and after, no fences at all, or a forgotten `import numpy`.
Extraction keeps what a reward module may contain (imports, function definitions, constants) and
drops the rest, saying what it dropped or repaired so the record stays honest.
"""

from __future__ import annotations

import ast
import re

from reward_coder.types import ExtractedCode, ExtractionError

MAIN_FUNCTION = "compute_reward"

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
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

    blocks = _fenced_blocks(text)
    notes: list[str] = []
    if not blocks:
        unfenced = _unfenced_code(text)
        if unfenced is None:
            return ExtractionError(
                "no_code",
                "the response contains no Python code; put the reward function in a ```python block",
            )
        blocks = [unfenced]
        notes.append("code was not fenced; took it from the prose")

    parsed: list[ast.Module] = []
    first_error: SyntaxError | None = None
    for block in blocks:
        try:
            parsed.append(ast.parse(block))
        except SyntaxError as err:
            if first_error is None or _defines(block, function_name):
                first_error = err
            parsed.append(None)  # type: ignore[arg-type]

    main_index = _last_block_defining(parsed, function_name)
    if main_index is None:
        if first_error is not None and any(_defines(b, function_name) for b in blocks):
            return _syntax_error(first_error)
        defined = sorted({n.name for m in parsed if m for n in m.body if isinstance(n, ast.FunctionDef)})
        found = f" (found: {', '.join(defined)})" if defined else ""
        return ExtractionError(
            "no_function",
            f"no top-level function named '{function_name}'{found}; define "
            f"def {function_name}(state, action, next_state) returning (reward, terms)",
        )

    # Blocks before the main one may hold helpers and constants; blocks after it are examples.
    kept: list[tuple[ast.stmt, str]] = []
    for index, module in enumerate(parsed):
        if module is None or index > main_index:
            if index > main_index and module is not None and module.body:
                notes.append(f"ignored code block {index + 1} after the main function")
            continue
        for node in module.body:
            if _is_module_level_definition(node):
                if index != main_index and isinstance(node, ast.FunctionDef) and node.name == function_name:
                    continue  # an earlier draft of the main function, superseded
                kept.append((node, _node_source(blocks[index], node)))
            else:
                notes.append(f"dropped top-level statement at line {node.lineno} ({type(node).__name__})")

    if len(blocks) == 1 and not _dropped(notes):
        code = blocks[main_index].strip()  # verbatim, comments included
    else:
        code = "\n\n".join(source for _, source in _dedupe_definitions(kept))
    code, import_notes = _add_missing_imports(code)
    notes.extend(import_notes)
    try:
        ast.parse(code)
    except SyntaxError as err:  # only reachable if a repair broke it; surfaced, not hidden
        return _syntax_error(err)
    return ExtractedCode(code=code.rstrip() + "\n", function_name=function_name, notes=tuple(notes))


def _fenced_blocks(text: str) -> list[str]:
    blocks = []
    for match in _FENCE.finditer(text):
        tag, body = match.group(1).lower(), match.group(2)
        if tag in _NON_PYTHON_TAGS or not body.strip():
            continue
        blocks.append(body)
    return blocks


def _unfenced_code(text: str) -> str | None:
    """Code written without fences: from the first line that starts code, minus trailing prose."""
    match = _CODE_START.search(text)
    if match is None:
        return None
    lines = text[match.start() :].splitlines()
    for end in range(len(lines), 0, -1):
        candidate = "\n".join(lines[:end])
        try:
            ast.parse(candidate)
        except SyntaxError:
            continue
        return candidate
    return "\n".join(lines)  # unparsable: let the caller report the syntax error


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


def _node_source(block: str, node: ast.stmt) -> str:
    """The node's own lines (decorators and inner comments included)."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    lines = block.splitlines()[start - 1 : node.end_lineno]
    return "\n".join(lines)


def _dedupe_definitions(items: list[tuple[ast.stmt, str]]) -> list[tuple[ast.stmt, str]]:
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


def _syntax_error(err: SyntaxError) -> ExtractionError:
    where = f" at line {err.lineno}" if err.lineno else ""
    text = f": {err.text.strip()}" if err.text else ""
    return ExtractionError("syntax_error", f"syntax error{where}: {err.msg}{text}", line=err.lineno)
