"""Qualified names on demand, instead of libCST's `QualifiedNameProvider`.

`QualifiedNameProvider` walks the whole module once more (after the scope analysis) only to attach
`scope.get_qualified_names_for(node)`, lazily, to every node; discovery and the rules ask for a
small fraction of them. This asks the node's scope directly, with the same answer: libCST's
provider does exactly this call, and gives an empty set to a node without a scope. The result
is memoised per file (`memo`), since many rules ask about the same call.

The attribute chains and calls that are no access of a name (`tf.function`, `tf.cast(x)`)
are answered from the dotted name alone, in libCST's own way: the assignments of the longest
prefix the scope has, and their qualified names. That much is memoised per scope and dotted
name (`_by_name`); what depends on the node (it may be the very name an import binds) is
checked for each node as libCST checks it. With `TFGRAPHLINT_STOCK_LIBCST=1`
(`discovery.stock`) every node asks `Scope.get_qualified_names_for`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import libcst as cst
from libcst.metadata import QualifiedName

from tfgraphlint.discovery.reexports import rewrite
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.stock import STOCK_LIBCST

if not STOCK_LIBCST:
    from libcst.helpers import get_full_name_for_node
    from libcst.metadata import Assignment, BaseAssignment, Scope

    # libCST's private test of whether a node is the one an assignment binds (an import's
    # alias name among them); None if a libCST version renames it (then no memo by name).
    from libcst.metadata import scope_provider as _scope_provider

    _IS_ASSIGNMENT = getattr(_scope_provider, "_is_assignment", None)


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
        # libCST's accesses by node (private): None in a libCST without them (no memo then).
        accesses = None if scope is None else getattr(scope, "_accesses_by_node", None)
        if scope is None:
            found = set()
        elif STOCK_LIBCST or _IS_ASSIGNMENT is None or accesses is None or accesses.get(node):
            found = scope.get_qualified_names_for(node)  # a name's access: its referents
        else:
            found = _by_name(scope, node)
        if reexports and found:
            # `from mypkg import tf`, where `mypkg` does `import tensorflow as tf`.
            found = {QualifiedName(rewrite(q.name, reexports), q.source) for q in found}
        memo[node] = found
    return found


_Named = tuple[frozenset["BaseAssignment"], frozenset[QualifiedName]]


def _by_name(scope: Scope, node: cst.CSTNode) -> Collection[QualifiedName]:
    """`scope.get_qualified_names_for(node)` for a node that is no access of a name, with
    what depends only on its dotted name memoised on the scope (libCST's steps, in order)."""
    full_name = get_full_name_for_node(node)
    if full_name is None:
        return set()
    memo: dict[str, _Named] = scope.__dict__.setdefault("_tfg_qualified_by_name", {})
    named = memo.get(full_name)
    if named is None:
        assignments: frozenset[BaseAssignment] = frozenset()
        prefix: str | None = full_name
        while prefix:
            if prefix in scope:
                assignments = frozenset(scope[prefix])
                break
            index = prefix.rfind(".")
            prefix = None if index == -1 else prefix[:index]
        names: set[QualifiedName] = set()
        for assignment in assignments:
            names |= assignment.get_qualified_names_for(full_name)
        named = memo[full_name] = (assignments, frozenset(names))
    assignments, names_found = named
    is_assignment = _IS_ASSIGNMENT
    assert is_assignment is not None  # `qualified_names` asks only then
    for assignment in assignments:
        if isinstance(assignment, Assignment) and is_assignment(node, assignment.node):
            return assignment.get_qualified_names_for(full_name)
    return names_found
