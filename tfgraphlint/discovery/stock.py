"""`STOCK_LIBCST`: the switch that turns off every use of libCST's private API.

The fast paths of `discovery` (traversal, positions, parents, scopes, metadata resolution) and
the rules' visitor dispatch reach into libCST below its public API. These are all the private
names, each with what replaces it with the switch on:

- `CSTNode._visit_and_replace_children`, run to record each node class's field order (`walk`);
  stock: libCST's `node.visit(visitor)`.
- `_is_no_op`, the mark on `CSTVisitor`'s typed no-op stubs (`walk`, `Rule.get_visitors`);
  stock: libCST's `visit`, `visit_batched` and `get_visitors`.
- `CSTNode.visit`, replaced while the scope analysis runs (`scope_metadata`); stock: never.
- `CSTNode.__post_init__` (node validation), a no-op while the engine's parse runs
  (`parsing`); stock: never.
- The `__init__` of each node class (a dataclass with slots), replaced while the engine's
  parse runs by one that stores the fields through the slots' descriptors (`parsing`);
  stock: never.
- The `__hash__` of each node class, `object.__hash__` (the same identity hash, in C) in
  `check`'s worker processes (`parsing.hash_nodes_in_c`); stock: never. Public, but it
  changes libCST's classes for the process.
- The names `SimpleWhitespace`, `Newline`, `EmptyLine` and `TrailingWhitespace` of the
  `libcst` module, where the native parser looks up the class of each node it makes:
  functions that share alike nodes while the engine's parse runs (`parsing`); stock: never.
- `scope_provider.ScopeVisitor` (not exported) and its `provider`, `scope` and
  `infer_accesses`, and the two stacks its `visit_Call` pushes (name-mangled
  `__top_level_attribute_stack` and `__in_type_hint_stack`, pushed for a call that cannot
  be `typing.cast`, `NewType` or `TypeVar`); `scope_provider._ASSIGNMENT_LIKE_NODES`;
  `expression_context_provider.ExpressionContextVisitor` (not exported); setting
  `MetadataDependent.metadata` by hand (`scope_metadata`); stock: libCST's `ScopeProvider`.
- `CSTNode._codegen` and `position_provider.PositionProvidingCodegenState` (not exported),
  with the `_computed` it writes into (`positions`); stock: libCST's `PositionProvider`.
- `BaseMetadataProvider._gen`, overridden (`positions`, `parents`, `scope_metadata`) and
  called directly (`scope_metadata.resolve_directly`); stock: libCST's own, called by
  `MetadataWrapper`.
- `BaseMetadataProvider._computed`, read and written (`positions`, `parents`,
  `scope_metadata`); stock: `set_metadata`.
- `MetadataWrapper._metadata`, the resolved providers (`scope_metadata.resolve_directly`);
  stock: `MetadataWrapper.resolve_many`.
- `Scope._accesses_by_node` and `scope_provider._is_assignment`, to answer an attribute
  chain's or a call's qualified names from its dotted name, memoised on the `Scope` object
  (`qualnames`); stock: `Scope.get_qualified_names_for` for every node.

Both modes implement `BaseMetadataProvider._gen_impl`, the method libCST documents for a
provider to implement. The fast mode also relies on libCST's nodes being dataclasses whose
node-holding fields are their children (`parents`, `walk`).

The switch is read once, at import, from the environment, as a user would set it:
`TFGRAPHLINT_STOCK_LIBCST=1` (any value but empty or `0`). `tests/test_stock_libcst.py` runs
the rule examples, the samples and the fixtures in both modes and checks that the findings are
identical, and that the stock mode calls no private libCST function.
"""

from __future__ import annotations

import os

ENV_VAR = "TFGRAPHLINT_STOCK_LIBCST"

STOCK_LIBCST: bool = os.environ.get(ENV_VAR, "") not in ("", "0")
