"""`FastScopeProvider`: libCST's scope analysis, without libCST's idle traversals.

libCST's `ScopeProvider` and the `ExpressionContextProvider` it needs are *batchable*
providers: `MetadataWrapper` runs each in a batched traversal of the whole module, and each
only uses `visit_Module` to start a visitor of its own. So each costs two full traversals, one
of them idle; and a traversal rebuilds every node it passes, even when it changes nothing.
This runs the same two `visit_Module`s directly: the same `Scope` objects (libCST's own
classes and code), one traversal each. Rules and discovery ask `FastScopeProvider` for what
they used to ask `ScopeProvider`.

Both visitors also call `child.visit(self)` themselves (a function's parameters in the
enclosing scope, its body in a new one), and each such call rebuilds the child's subtree too.
While `_fast_visits` is active, `CSTNode.visit` walks instead (`discovery.walk`) *for these two
visitor classes only* (the same calls, in the same order): any other visitor, in this thread or
another, gets libCST's own `visit`.
And `_ScopeVisitor.on_leave` tests node classes by exact type: libCST's node classes are ABCs,
so its `isinstance(node, _ASSIGNMENT_LIKE_NODES)` ran about ten Python-level
`__instancecheck__` calls on every node of the tree.

`resolve_directly` does the same for every provider of the engine: libCST's resolver also
runs an idle traversal after each round that resolves only non-batchable providers.

With `TFGRAPHLINT_STOCK_LIBCST=1` (`discovery.stock`), `FastScopeProvider` copies what libCST's
`ScopeProvider` computes, `CSTNode.visit` is never replaced, and `resolve_directly` is
`MetadataWrapper.resolve_many`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    BatchableMetadataProvider,
    ExpressionContext,
    ExpressionContextProvider,
    MetadataWrapper,
    ProviderT,
    Scope,
    ScopeProvider,
    scope_provider,
)

from tfgraphlint.discovery.stock import STOCK_LIBCST
from tfgraphlint.discovery.walk import leave_methods, walk_events

if not STOCK_LIBCST:
    from libcst.metadata.expression_context_provider import (  # not exported by libCST
        ExpressionContextVisitor,
    )

    # libCST's private tuple of the node classes its `on_leave` counts as assignments; None if
    # a libCST version renames it (then every node goes through libCST's own `on_leave`:
    # slower, the same scopes).
    _ASSIGNMENT_LIKE: frozenset[type] | None = (
        frozenset(getattr(scope_provider, "_ASSIGNMENT_LIKE_NODES", ())) or None
    )

    # What libCST's `ScopeVisitor.visit_Call` looks for in the qualified names of every call:
    # `typing.NewType`, `typing.TypeVar` and `typing.cast` (their arguments are type hints).
    _TYPING_CALLS = frozenset({"NewType", "TypeVar", "cast"})
    # Its private stacks, which `visit_Call` pushes and `leave_Call` pops.
    _CALL_STACKS = ("_ScopeVisitor__top_level_attribute_stack", "_ScopeVisitor__in_type_hint_stack")

    class _ScopeVisitor(scope_provider.ScopeVisitor):
        """libCST's `ScopeVisitor`, with its `on_leave` testing exact node classes (the parser
        makes no subclasses) instead of an `isinstance` on ten ABCs. It does not walk the
        `TRIVIA` nodes (whitespace, punctuation, operator tokens), which get no scope: nothing
        asks for theirs. And its `visit_Call` resolves the qualified names of a call only when
        they may be `typing.NewType`, `typing.TypeVar` or `typing.cast` (see `visit_Call`)."""

        SKIPS_TRIVIA = True

        def __init__(self, provider: ScopeProvider) -> None:
            super().__init__(provider)
            found = [getattr(self, name, None) for name in _CALL_STACKS]
            # None when a libCST release renames them: then every call is libCST's own.
            stacks: list[list[Any]] = [s for s in found if type(s) is list]
            self._tfg_stacks = stacks if len(stacks) == len(found) else None
            self._tfg_aliases: set[str] = set()  # the names imports bind with `as`

        def _note_aliases(self, node: cst.Import | cst.ImportFrom) -> None:
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    if alias.asname is not None and type(alias.asname.name) is cst.Name:
                        self._tfg_aliases.add(alias.asname.name.value)

        def visit_Import(self, node: cst.Import) -> bool | None:
            self._note_aliases(node)
            return super().visit_Import(node)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool | None:
            self._note_aliases(node)
            return super().visit_ImportFrom(node)

        def visit_Call(self, node: cst.Call) -> bool | None:
            """libCST's, which resolves the qualified names of every call (a fifth of the scope
            analysis), to treat the arguments of `NewType`, `TypeVar` and `cast` from `typing`
            as type hints. A call's qualified name ends as its callee's full name does
            (`t.cast` is `typing.cast` after `import typing as t`), unless the callee is a
            name an import binds with `as` (`from typing import cast as c`): any other call
            cannot be one of them, and only gets the two stack entries `leave_Call` pops."""
            func = node.func
            stacks = self._tfg_stacks
            if stacks is not None and (
                (type(func) is cst.Attribute and func.attr.value not in _TYPING_CALLS)
                or (
                    type(func) is cst.Name
                    and func.value not in _TYPING_CALLS
                    and func.value not in self._tfg_aliases
                )
            ):
                stacks[0].append(None)
                stacks[1].append(False)
                return True
            return super().visit_Call(node)

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if _ASSIGNMENT_LIKE is None or type(original_node) in _ASSIGNMENT_LIKE:
                super().on_leave(original_node)  # libCST's own: it also counts the assignment
                return
            # `set_metadata`, and the table of `leave_` methods, inline: once per node.
            self.provider._computed[original_node] = self.scope
            method = _SCOPE_LEAVES[type(original_node)]  # what `CSTVisitor.on_leave` would call
            if method is not None:
                method(self, original_node)

    _SCOPE_LEAVES = leave_methods(_ScopeVisitor)

    # The classes `_fast_visits` walks: libCST's expression-context visitor as well, since it
    # starts new ones of its own class for assignment targets (it has no attribute hooks either,
    # so for any instance, ours or not, a walk makes the same calls as libCST's `visit`).
    _OURS = frozenset({_ScopeVisitor, ExpressionContextVisitor})


_LIBCST_VISIT = cst.CSTNode.visit


def _visit(node: Any, visitor: Any) -> Any:
    """`CSTNode.visit` while `_fast_visits` is active."""
    if type(visitor) in _OURS:
        # Neither class has attribute hooks that can fire: `ScopeVisitor`'s only ones are on
        # `ClassDef.bases`, and its `visit_ClassDef` returns False (it visits the bases itself).
        walk_events(node, visitor)
        return node
    return _LIBCST_VISIT(node, visitor)


@contextmanager
def _fast_visits() -> Iterator[None]:
    cst.CSTNode.visit = _visit  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        cst.CSTNode.visit = _LIBCST_VISIT  # type: ignore[method-assign]


class FastScopeProvider(BaseMetadataProvider[Scope | None]):
    """Maps nodes to their `Scope`, as libCST's `ScopeProvider` does."""

    if STOCK_LIBCST:
        METADATA_DEPENDENCIES = (ScopeProvider,)

        def _gen_impl(self, module: cst.Module) -> None:
            for node, scope in self.metadata[ScopeProvider].items():
                self.set_metadata(node, scope)

    else:

        def _gen(self, wrapper: MetadataWrapper) -> Mapping[cst.CSTNode, Any]:
            module = wrapper.module
            contexts = ExpressionContextProvider()
            scopes = ScopeProvider()
            with _fast_visits():
                # What `ExpressionContextProvider.visit_Module` does, walked without rebuilding.
                module.visit(ExpressionContextVisitor(contexts, ExpressionContext.LOAD))
                # What `MetadataWrapper` would hand it: its one dependency, already computed.
                scopes.metadata = {ExpressionContextProvider: contexts._computed}
                # What `ScopeProvider.visit_Module` does.
                visitor = _ScopeVisitor(scopes)
                module.visit(visitor)
                visitor.infer_accesses()
            scopes.metadata = {}
            self._computed = scopes._computed
            return self._computed


def resolve_directly(wrapper: MetadataWrapper, providers: Iterable[ProviderT]) -> None:
    """Resolve non-batchable `providers` (and, first, their dependencies) into `wrapper`, each
    once, without the idle traversal `MetadataWrapper.resolve` adds after each round."""
    if STOCK_LIBCST:
        wrapper.resolve_many(list(providers))
        return
    done = wrapper._metadata  # noqa: SLF001 - the wrapper's own cache, which resolve() reads
    for provider in providers:
        if provider in done:
            continue
        if issubclass(provider, BatchableMetadataProvider):
            raise TypeError(f"{provider.__name__} is batchable: resolve it with the wrapper")
        resolve_directly(wrapper, provider.METADATA_DEPENDENCIES)
        # As libCST does: a provider with `gen_cache` gets its entry of the wrapper's cache.
        made = provider(wrapper._cache.get(provider)) if provider.gen_cache else provider()  # noqa: SLF001
        done[provider] = made._gen(wrapper)  # noqa: SLF001
