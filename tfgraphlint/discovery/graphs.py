"""`parents_first`: the order in which to compute something of a class from its bases."""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Iterable
from typing import TypeVar

_Node = TypeVar("_Node", bound=Hashable)


def parents_first(
    root: _Node, parents: Callable[[_Node], Iterable[_Node]], done: Container[_Node]
) -> list[_Node]:
    """`root` and what it reaches through `parents` that `done` lacks, each once, every node
    after its parents: depth first without recursion (a chain of thousands of classes is
    linear), a cycle cut where it closes (the node that closes it comes first)."""
    order: list[_Node] = []
    seen: set[_Node] = set()
    stack: list[tuple[_Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
        elif node not in done and node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in parents(node) if p not in done and p not in seen)
    return order
