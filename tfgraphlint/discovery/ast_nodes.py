"""`ast_nodes`: every node of a CPython `ast` tree, for the cheap pre-passes (with
`dotted_name`, the `a.b.c` of an attribute chain, and `all_statements`, every statement
without the expressions).

`ast.walk` is breadth first through a deque, with two nested generators per node
(`iter_child_nodes`, `iter_fields`); this is a plain depth-first stack, with neither. The order
differs from `ast.walk`'s: use it where order does not matter.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator


def ast_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """`tree` and every node under it, depth first (children in reverse field order)."""
    stack: list[ast.AST] = [tree]
    node_class = ast.AST
    while stack:
        node = stack.pop()
        yield node
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend([item for item in value if isinstance(item, node_class)])
            elif isinstance(value, node_class):
                stack.append(value)


def dotted_name(expr: ast.expr) -> str | None:
    """`a.b.c` for a chain of attributes on a name, else None (a loop: a chain may be long)."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def all_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement, at any depth, without visiting expressions (imports and classes are
    statements; a walk over every node costs much more)."""
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        blocks: list[list[ast.stmt]] = [
            getattr(node, attr) for attr in ("body", "orelse", "finalbody") if hasattr(node, attr)
        ]
        blocks += [h.body for h in getattr(node, "handlers", ())]
        blocks += [c.body for c in getattr(node, "cases", ())]
        for block in reversed(blocks):
            stack.extend(reversed(block))
