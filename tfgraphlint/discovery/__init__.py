"""Discovery: where are the compiled bodies, and why are they compiled?"""

from __future__ import annotations

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
