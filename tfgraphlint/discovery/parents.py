"""`ParentProvider`: each node's parent, as libCST's `ParentNodeProvider` gives it, for a
fraction of the cost.

`ParentNodeProvider` is a full libCST traversal, and a libCST traversal rebuilds every node it
passes (`_visit_and_replace_children`), even for a visitor that changes nothing. This reads
each node's children as the engine's walks do (`walk.walked_children`: the fields that
`_visit_and_replace_children` visits, which are those that hold nodes, read once per file):
the same map (checked node for node on every candidate file of the corpus, and in
`tests/test_parents.py`).
With `TFGRAPHLINT_STOCK_LIBCST=1` (`discovery.stock`) it copies `ParentNodeProvider`'s map.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
from libcst.metadata import BaseMetadataProvider, ParentNodeProvider

from tfgraphlint.discovery.stock import STOCK_LIBCST
from tfgraphlint.discovery.walk import walked_children


def parent_map(root: cst.CSTNode) -> dict[cst.CSTNode, cst.CSTNode]:
    """Every node under `root` (not `root` itself), mapped to its parent, but the `TRIVIA`
    nodes (whitespace, punctuation, operator tokens: two thirds of a module's nodes), whose
    parent nothing asks for. The children are those the walks read (`walk.walked_children`:
    the same nodes as the node-holding dataclass fields give, and most of them already read
    by the scope analysis' walks)."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [root]
    children_of = walked_children
    while stack:
        node = stack.pop()
        children = children_of(node)
        for child in children:
            parents[child] = node
        stack += children
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
