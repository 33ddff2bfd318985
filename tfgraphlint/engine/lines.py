"""Splitting source into lines the way Python does.

`str.splitlines()` also splits on `\\x0b`, `\\x0c` (form feed), `\\x1c`-`\\x1e`, `\\x85`,
`\\u2028` and `\\u2029`, which Python's tokenizer (and libCST, and flake8) treat as ordinary
characters: a form feed between functions, common in older code, would shift every line
number after it. Only `\\r\\n`, `\\r` and `\\n` end a line.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_LONE_CR = re.compile(r"\r(?!\n)")


def lone_cr_to_lf(text: str) -> str:
    """Old Mac line ends (a lone CR) turned one for one into LF, so that lines and columns
    stay (and `--fix`, which edits the file's own text by line and column, keeps them), while
    `^`/`$` of the rules' patterns and the slicer's blank lines see lines. `\\r\\n` stays."""
    return _LONE_CR.sub("\n", text) if "\r" in text else text


# The characters `str.splitlines` ends a line at that Python does not: without any of them
# in a text, `str.splitlines` (C, no match objects) gives Python's lines.
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of `text` as Python counts them; like `str.splitlines` otherwise (no empty
    last line after a final line end, `[]` for an empty text)."""
    if not _OTHER_BREAKS.search(text):
        return text.splitlines(keepends)
    lines: list[str] = _LINE.findall(text)
    if keepends:
        return lines
    return [line.rstrip("\r\n") for line in lines]
