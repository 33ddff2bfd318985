"""`b`'s helpers, same module name as `a`'s: `scale` takes two arguments."""

from __future__ import annotations


def scale(x, factor):
    return x * factor
