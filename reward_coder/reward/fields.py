"""Which card fields a reward reads, found in its code: the env then computes only those."""

from __future__ import annotations

import ast
from typing import Sequence


def fields_used(code: str, field_names: Sequence[str]) -> tuple[str, ...]:
    """Card fields the code can read, in card order.

    An over-approximation on purpose: any attribute access `x.name` and any string constant equal to
    a field name counts, so fields reached through helpers (`_alive(next_state)`) or `state["name"]`
    are included. Code that does not parse reads everything (it will fail its checks anyway).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return tuple(field_names)
    mentioned: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            mentioned.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            mentioned.add(node.value)
    return tuple(name for name in field_names if name in mentioned)
