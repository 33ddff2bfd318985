"""Discovery: where are the compiled bodies, and why are they compiled?

The public names load on first use (PEP 562): the text screens (`names`, `quick`, via
`engine.slicing`) import this package, and the flake8 plugin runs them on a file before it
knows whether libCST (which `provider` imports) is needed at all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfgraphlint.discovery.model import CompiledContext, ContextKind, ModuleDiscovery
    from tfgraphlint.discovery.provider import (
        DISCOVERY_OPTIONS,
        EAGER,
        CompiledContextProvider,
        DiscoveryOptions,
    )

__all__ = [
    "DISCOVERY_OPTIONS",
    "EAGER",
    "CompiledContext",
    "CompiledContextProvider",
    "ContextKind",
    "DiscoveryOptions",
    "ModuleDiscovery",
]

_LAZY = {
    "CompiledContext": "tfgraphlint.discovery.model",
    "ContextKind": "tfgraphlint.discovery.model",
    "ModuleDiscovery": "tfgraphlint.discovery.model",
    "DISCOVERY_OPTIONS": "tfgraphlint.discovery.provider",
    "EAGER": "tfgraphlint.discovery.provider",
    "CompiledContextProvider": "tfgraphlint.discovery.provider",
    "DiscoveryOptions": "tfgraphlint.discovery.provider",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
