"""`FastScopeProvider`: libCST's scope analysis, without libCST's idle traversals (issue 4).

libCST's `ScopeProvider` and the `ExpressionContextProvider` it needs are *batchable*
providers: `MetadataWrapper` runs each in a batched traversal of the whole module, and each
only uses `visit_Module` to start a visitor of its own. So each costs two full traversals, one
of them idle; and a traversal rebuilds every node it passes, even when it changes nothing.
This runs the same two `visit_Module`s directly: the same `Scope` objects (libCST's own
classes and code), one traversal each. Rules and discovery ask `FastScopeProvider` for what
they used to ask `ScopeProvider`.

`resolve_directly` does the same for every provider of the engine: libCST's resolver also
runs an idle traversal after each round that resolves only non-batchable providers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
)
from libcst.metadata.expression_context_provider import ExpressionContextVisitor

from tfgraphlint.discovery.walk import walk


class FastScopeProvider(BaseMetadataProvider[Scope | None]):
    """Maps nodes to their `Scope`, as libCST's `ScopeProvider` does."""

    def _gen(self, wrapper: MetadataWrapper) -> Mapping[cst.CSTNode, Any]:
        module = wrapper.module
        contexts = ExpressionContextProvider()
        # What `ExpressionContextProvider.visit_Module` does, walked without rebuilding.
        walk(module, ExpressionContextVisitor(contexts, ExpressionContext.LOAD))
        scopes = ScopeProvider()
        # What `MetadataWrapper` would hand it: its one dependency, already computed.
        scopes.metadata = {ExpressionContextProvider: contexts._computed}
        scopes.visit_Module(module)
        scopes.metadata = {}
        self._computed = scopes._computed
        return self._computed


def resolve_directly(wrapper: MetadataWrapper, providers: Iterable[ProviderT]) -> None:
    """Resolve non-batchable `providers` (and, first, their dependencies) into `wrapper`, each
    once, without the idle traversal `MetadataWrapper.resolve` adds after each round."""
    done = wrapper._metadata  # noqa: SLF001 - the wrapper's own cache, which resolve() reads
    for provider in providers:
        if provider in done:
            continue
        if issubclass(provider, BatchableMetadataProvider):
            raise TypeError(f"{provider.__name__} is batchable: resolve it with the wrapper")
        resolve_directly(wrapper, provider.METADATA_DEPENDENCIES)
        done[provider] = provider()._gen(wrapper)  # noqa: SLF001
