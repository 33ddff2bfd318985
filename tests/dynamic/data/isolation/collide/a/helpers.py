"""`a`'s helpers: `scale` takes one argument (b's takes two)."""

from __future__ import annotations


def scale(x):
    return x * 2.0
