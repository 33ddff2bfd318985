"""`ParentProvider`: each node's parent, as libCST's `ParentNodeProvider` gives it, for a
fraction of the cost.

`ParentNodeProvider` is a full libCST traversal, and a libCST traversal rebuilds every node it
passes (`_visit_and_replace_children`), even for a visitor that changes nothing. Parents do not
depend on the order of the walk, so this reads the children straight from each node's dataclass
fields (the fields that hold nodes are exactly what `_visit_and_replace_children` visits): the
same map (checked node for node on every candidate file of the corpus, and in
`tests/test_parents.py`).
With `TFGRAPHLINT_STOCK_LIBCST=1` (`discovery.stock`) it copies `ParentNodeProvider`'s map.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import BaseMetadataProvider, ParentNodeProvider

from tfgraphlint.discovery.stock import STOCK_LIBCST
from tfgraphlint.discovery.walk import WALKED, is_walked_type

_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


def _fields(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind))
    return names


def parent_map(root: cst.CSTNode) -> dict[cst.CSTNode, cst.CSTNode]:
    """Every node under `root` (not `root` itself), mapped to its parent, but the `TRIVIA`
    nodes (whitespace, punctuation, operator tokens: two thirds of a module's nodes), whose
    parent nothing asks for."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [root]
    walked = WALKED  # `is_walked_type`'s cache, read inline (a call per child costs more)
    while stack:
        node = stack.pop()
        for name in _fields(type(node)):
            value = getattr(node, name)
            kind = type(value)
            if kind is tuple or kind is list:
                for child in value:
                    go = walked.get(type(child))
                    if go is None:
                        go = is_walked_type(type(child))
                    if go:
                        parents[child] = node
                        stack.append(child)
            else:
                go = walked.get(kind)
                if go is None:
                    go = is_walked_type(kind)
                if go:
                    parents[value] = node
                    stack.append(value)
    return parents


class ParentProvider(BaseMetadataProvider[cst.CSTNode]):
    """Maps each node to its parent node (the Module has none)."""

    if STOCK_LIBCST:
        METADATA_DEPENDENCIES = (ParentNodeProvider,)

        def _gen_impl(self, module: cst.Module) -> None:
            for node, parent in self.metadata[ParentNodeProvider].items():
                self.set_metadata(node, parent)

    else:

        def _gen(self, wrapper: cst.MetadataWrapper) -> Mapping[cst.CSTNode, cst.CSTNode]:
            # libCST's `_gen` would copy the whole map into a new dict.
            self._gen_impl(wrapper.module)
            return self._computed  # type: ignore[return-value]

        def _gen_impl(self, module: cst.Module) -> None:
            self._computed = parent_map(module)  # type: ignore[assignment]
