"""Discovery: where are the compiled bodies, and why are they compiled?

The names below load on first use (PEP 562): `discovery.names` and `discovery.ast_nodes`,
which the screen (`engine.prefilter`) needs, do not import libCST, and importing them must not
load the provider."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tfgraphlint.discovery.model import CompiledContext, ContextKind, ModuleDiscovery
    from tfgraphlint.discovery.provider import (
        EAGER,
        CompiledContextProvider,
        DiscoveryOptions,
        discovery_wrapper,
    )

__all__ = [
    "EAGER",
    "CompiledContext",
    "CompiledContextProvider",
    "ContextKind",
    "DiscoveryOptions",
    "ModuleDiscovery",
    "discovery_wrapper",
]

_HOME = {
    "CompiledContext": "model",
    "ContextKind": "model",
    "ModuleDiscovery": "model",
    "EAGER": "provider",
    "CompiledContextProvider": "provider",
    "DiscoveryOptions": "provider",
    "discovery_wrapper": "provider",
}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
