"""Discovery: where are the compiled bodies, and why are they compiled?"""

from __future__ import annotations

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
