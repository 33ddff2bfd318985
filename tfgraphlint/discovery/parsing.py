"""`parse_module`: libCST's parser, without validating the nodes it makes.

Every libCST node validates itself when it is made (`CSTNode.__post_init__` calls
`_validate`), which catches trees built by hand that could not be printed back. A tree that
the parser makes from source is valid by construction (libCST's own comment there: "It might
make more sense to move validation work into the visitor, which would allow us to avoid
validating the tree when parsing a file"), and validation is about 12 % of the parse of the
corpus' candidate files. While `parse_module` runs, `__post_init__` does nothing: a node that
another thread makes by hand in that window is not validated either (nothing else changes).

With `TFGRAPHLINT_STOCK_LIBCST=1` (`discovery.stock`) it is `libcst.parse_module`.
"""

from __future__ import annotations

import threading

import libcst as cst

from tfgraphlint.discovery.stock import STOCK_LIBCST

_VALIDATING = cst.CSTNode.__post_init__
_LOCK = threading.Lock()
_ACTIVE = 0  # parses running now, in any thread


def _no_validation(self: cst.CSTNode) -> None:
    return None


def parse_module(source: str) -> cst.Module:
    """`libcst.parse_module(source)`, its nodes not validated (see the module docstring)."""
    if STOCK_LIBCST:
        return cst.parse_module(source)
    global _ACTIVE
    with _LOCK:
        _ACTIVE += 1
        cst.CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        return cst.parse_module(source)
    finally:
        with _LOCK:
            _ACTIVE -= 1
            if _ACTIVE == 0:
                cst.CSTNode.__post_init__ = _VALIDATING  # type: ignore[method-assign]
