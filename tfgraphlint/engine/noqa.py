"""flake8-compatible suppression comments, for the standalone CLI.

Under flake8 the plugin leaves noqa to flake8 itself; here the same rules apply, mirrored from
flake8 7 (`defaults.py`, `processor.py`, `violation.py`) so a file gives the same findings
either way:
- `# noqa` silences every finding on the line. `# noqa: TFG101,TFG2` silences the findings
  whose code equals or starts with a listed code (prefix match; `noqa` is case-insensitive,
  the codes are not). Only the first `# noqa` of a line counts.
- One addition: a rule's name may stand for its code, `# noqa: print-in-tf-function` (any
  case). flake8 does not know names: to it that comment is a blanket `# noqa` (its pattern
  wants codes, so it matches `# noqa` alone), and here it was too, silently. Other words
  (an unknown name, a typo) still make a blanket `# noqa`, as in flake8.
- The line searched is the *token range* of the reported line: the physical lines between two
  newline tokens. A string or a backslash continuation spanning several lines forms one range,
  so a comment at its end covers all its lines; lines inside brackets are separate ranges.
- A line that starts with `# flake8: noqa` (or `# flake8=noqa`) skips the whole file.
"""

from __future__ import annotations

import functools
import io
import re
import tokenize
from collections.abc import Iterable

from tfgraphlint._types import Finding
from tfgraphlint.engine.lines import split_lines

# flake8's defaults.NOQA_INLINE_REGEXP.
NOQA_INLINE = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
# flake8's defaults.NOQA_FILE, matched at the start of a line.
NOQA_FILE = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)
_CODE_SEPARATOR = re.compile(r"[,\s]")


# What every `NOQA_FILE` match holds: searched first, in C, it spares most files the test of
# each of their lines.
_FLAKE8_WORD = re.compile(r"flake8[:=]", re.IGNORECASE)


def file_is_skipped(source: str) -> bool:
    """A line of `source` says `# flake8: noqa` (flake8's whole-file exemption)."""
    if not _FLAKE8_WORD.search(source):
        return False
    return any(NOQA_FILE.match(line) for line in split_lines(source))


def noqa_lines(source: str) -> dict[int, str]:
    """Line number -> the text searched for `# noqa` when a finding starts on that line.

    Lines missing from the mapping (and every line when the source does not tokenize) use
    their own physical line, as flake8 does."""
    lines = split_lines(source, keepends=True)
    mapping: dict[int, str] = {}
    first, last = len(lines) + 2, -1
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first, last = min(first, tok.start[0]), max(last, tok.end[0])
            if tok.type in (tokenize.NL, tokenize.NEWLINE):
                joined = "".join(lines[first - 1 : last])
                mapping.update(dict.fromkeys(range(first, last + 1), joined))
                first, last = len(lines) + 2, -1
    except (tokenize.TokenError, SyntaxError):
        return {}
    return mapping


@functools.cache
def _rule_codes() -> dict[str, str]:
    """Rule name -> code, for every registered rule."""
    from tfgraphlint.engine.registry import all_rules

    return {rule.NAME: rule.CODE for rule in all_rules()}


@functools.cache
def _noqa_inline() -> re.Pattern[str]:
    """`NOQA_INLINE` with rule names accepted wherever a code is (longest first, and not
    followed by more of a name: `print-in-tf-functions` is no name)."""
    names = "|".join(re.escape(n) for n in sorted(_rule_codes(), key=len, reverse=True))
    item = rf"(?:[A-Z]+[0-9]+|(?:{names})(?![\w-]))"
    return re.compile(rf"# noqa(?::[\s]?(?P<codes>({item}(?:[,\s]+)?)+))?", re.IGNORECASE)


def is_suppressed(code: str, text: str) -> bool:
    match = _noqa_inline().search(text)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    by_name = _rule_codes()
    listed = tuple(by_name.get(c.lower(), c) for c in _CODE_SEPARATOR.split(codes) if c)
    return code.startswith(listed)


def apply_noqa(source: str, findings: Iterable[Finding]) -> list[Finding]:
    findings = list(findings)
    if not findings or "noqa" not in source.lower():
        return findings  # nothing to suppress: the tokenizer's pass below is not needed
    mapping = noqa_lines(source)
    physical = split_lines(source)

    def searched(line: int) -> str:
        if line in mapping:
            return mapping[line]
        return physical[line - 1] if 0 < line <= len(physical) else ""

    return [f for f in findings if not is_suppressed(f.code, searched(f.line))]
