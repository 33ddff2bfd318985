"""flake8-compatible suppression comments, for the standalone CLI.

Under flake8 the plugin leaves noqa to flake8 itself; here we apply the same semantics:
- `# noqa` silences every finding on the line; `# noqa: TFG101,TFG2` silences codes that
  start with one of the listed codes (a prefix match, case-insensitive `noqa`);
- a comment on any physical line of a multi-line logical line covers the whole logical line,
  as flake8 maps it;
- `# flake8: noqa` (without codes) on its own line skips the file.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable

from tfgraphlint._types import Finding

# Same pattern as flake8's defaults.NOQA_INLINE_REGEXP.
NOQA_INLINE = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
NOQA_FILE = re.compile(r"\s*# flake8[:=]\s*noqa(?P<codes>:\s?(.*))?", re.IGNORECASE)
_SPLIT = re.compile(r"[,\s]+")


def file_is_skipped(source: str) -> bool:
    for line in source.splitlines():
        m = NOQA_FILE.match(line)
        if m and not m.group("codes"):
            return True
    return False


def _logical_ranges(source: str) -> list[tuple[int, int]]:
    """(first, last) physical lines of each multi-line logical line."""
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            skip = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)
            if tok.type in skip and start is None:
                continue
            if start is None:
                start = tok.start[0]
            if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                if tok.end[0] > start:
                    ranges.append((start, tok.end[0]))
                start = None
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return ranges


def noqa_lines(source: str) -> dict[int, str]:
    """Line number -> the noqa-bearing text that applies to it."""
    lines = source.splitlines()
    mapping: dict[int, str] = {}
    if not any("noqa" in line.lower() for line in lines):
        return mapping
    for i, line in enumerate(lines, start=1):
        mapping[i] = line
    for first, last in _logical_ranges(source):
        joined = "\n".join(lines[first - 1 : last])
        for i in range(first, last + 1):
            mapping[i] = joined
    return mapping


def is_suppressed(code: str, text: str) -> bool:
    for m in NOQA_INLINE.finditer(text):
        codes = m.group("codes")
        if not codes:
            return True
        listed = [c.upper() for c in _SPLIT.split(codes.strip()) if c]
        if code.upper().startswith(tuple(listed)):
            return True
    return False


def apply_noqa(source: str, findings: Iterable[Finding]) -> list[Finding]:
    mapping = noqa_lines(source)
    if not mapping:
        return list(findings)
    return [f for f in findings if not is_suppressed(f.code, mapping.get(f.line, ""))]
