"""`ast_nodes`: every node of a CPython `ast` tree but its expression contexts and operators
(`Load()`, `Add()`: a third of all nodes, read as `node.ctx`, `node.op`), for the cheap
pre-passes (with `dotted_name`, the `a.b.c` of an attribute chain, and `all_statements`, every
statement without the expressions).

`ast.walk` is breadth first through a deque, with two nested generators per node
(`iter_child_nodes`, `iter_fields`); this is a plain depth-first stack, with neither. The order
differs from `ast.walk`'s: use it where order does not matter.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator


class _WalkedFields(dict[type[ast.AST], tuple[str, ...]]):
    """Per node class, the fields that may hold child nodes, without those that hold only
    `Load`/`Store`/`Del` and operator nodes: a third of all nodes are the `ctx` of a name, an
    attribute or a subscript, and no walk here needs them (callers read `node.ctx` and
    `node.op` of the node that has them). Filled on first use of each class."""

    def __missing__(self, kind: type[ast.AST]) -> tuple[str, ...]:
        fields = self[kind] = tuple(f for f in kind._fields if f not in ("ctx", "op", "ops"))
        return fields


WALKED_FIELDS = _WalkedFields()


def ast_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """`tree` and every node under it, depth first (children in reverse field order), without
    the expression contexts and operators (`Load()`, `Add()`, `Is()`...)."""
    stack: list[ast.AST] = [tree]
    node_class = ast.AST
    fields_of = WALKED_FIELDS
    while stack:
        node = stack.pop()
        yield node
        for name in fields_of[type(node)]:
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


_BLOCKS: dict[type, tuple[tuple[str, ...], bool, bool]] = {}  # body fields, handlers, cases


def all_statements(tree: ast.Module) -> list[ast.stmt]:
    """Every statement, at any depth, without visiting expressions (imports and classes are
    statements; a walk over every node costs much more). Computed once per tree (the screen,
    the Keras gate and the slicer each ask): do not change the tree after."""
    found: list[ast.stmt] | None = tree.__dict__.get("_tfg_statements")
    if found is not None:
        return found
    found = []
    stack: list[ast.stmt] = list(reversed(tree.body))
    blocks_of = _BLOCKS
    while stack:
        node = stack.pop()
        found.append(node)
        kind = type(node)
        shape = blocks_of.get(kind)
        if shape is None:
            fields = kind._fields
            shape = blocks_of[kind] = (
                tuple(a for a in ("body", "orelse", "finalbody") if a in fields),
                "handlers" in fields,
                "cases" in fields,
            )
        names, handlers, cases = shape
        blocks: list[list[ast.stmt]] = [getattr(node, attr) for attr in names]
        if handlers:
            blocks += [h.body for h in node.handlers]  # type: ignore[attr-defined]
        if cases:
            blocks += [c.body for c in node.cases]  # type: ignore[attr-defined]
        for block in reversed(blocks):
            stack.extend(reversed(block))
    tree.__dict__["_tfg_statements"] = found
    return found
