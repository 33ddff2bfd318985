"""Qualified names on demand, instead of libCST's `QualifiedNameProvider`.

`QualifiedNameProvider` walks the whole module once more (after the scope analysis) only to attach
`scope.get_qualified_names_for(node)`, lazily, to every node; discovery and the rules ask for a
small fraction of them. This asks the node's scope directly, with the same answer: libCST's
provider does exactly this call, and gives an empty set to a node without a scope. The result
is memoised per file (`memo`), since many rules ask about the same call.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import libcst as cst
from libcst.metadata import QualifiedName

from tfgraphlint.discovery.reexports import rewrite
from tfgraphlint.discovery.scope_metadata import FastScopeProvider


def qualified_names(
    dependent: cst.MetadataDependent,
    node: cst.CSTNode,
    memo: dict[cst.CSTNode, Collection[QualifiedName]],
    reexports: Mapping[str, str],
) -> Collection[QualifiedName]:
    """What `QualifiedNameProvider` gives `node`: its qualified names (with their source),
    with TensorFlow re-exported by the project's own modules (`reexports`, from
    `discovery.reexports`) spelled as TensorFlow."""
    found = memo.get(node)
    if found is None:
        scope = dependent.get_metadata(FastScopeProvider, node, None)
        found = set() if scope is None else scope.get_qualified_names_for(node)
        if reexports and found:
            # `from mypkg import tf`, where `mypkg` does `import tensorflow as tf`.
            found = {QualifiedName(rewrite(q.name, reexports), q.source) for q in found}
        memo[node] = found
    return found
