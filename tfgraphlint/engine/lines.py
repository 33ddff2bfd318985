"""Splitting source into lines the way Python does.

`str.splitlines()` also splits on `\\x0b`, `\\x0c` (form feed), `\\x1c`-`\\x1e`, `\\x85`,
`\\u2028` and `\\u2029`, which Python's tokenizer (and libCST, and flake8) treat as ordinary
characters: a form feed between functions, common in older code, would shift every line
number after it. Only `\\r\\n`, `\\r` and `\\n` end a line.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of `text` as Python counts them; like `str.splitlines` otherwise (no empty
    last line after a final line end, `[]` for an empty text)."""
    lines: list[str] = _LINE.findall(text)
    if keepends:
        return lines
    return [line.rstrip("\r\n") for line in lines]
