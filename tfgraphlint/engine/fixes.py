"""Applying fixes: text edits on the original source, checked, to a fixpoint.

Rules attach a `Fix` (text edits with 1-based character positions) to a finding. The engine
may analyse a *sliced* copy of the file (irrelevant statements blanked, positions unchanged),
so fixes are never applied by re-rendering the analysed tree: their edits are spliced into the
original text. Then, as ruff does, the file is linted again and the next round of fixes
applied, until none is left (or `MAX_PASSES` is reached).

Nothing is ever produced that does not parse: after every pass the new text must be accepted
by each parser (CPython's `compile` and libCST) that accepted the original, or the whole file
is left as it was and a `fix` error explains why.
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from tfgraphlint._types import Applicability, FileError, Finding, Fix, LintResult
from tfgraphlint.config import Config
from tfgraphlint.engine.rule import Rule

# Ruff stops at 100; our fixes are small and rarely interact, so a non-converging file here is
# a bug in a rule's fix, and it is better reported than written.
MAX_PASSES = 10

_NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer and libCST count as a line end


@dataclass(slots=True)
class FixOutcome:
    """What fixing one file's source gave: the final text, its findings, what was fixed."""

    text: str
    result: LintResult  # the findings of `text`
    original: LintResult  # the findings of the text before any fix
    fixed: list[str] = field(default_factory=list)  # one code per fix applied

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def applicable(finding: Finding, unsafe: bool) -> bool:
    """Whether `--fix` (with `--unsafe-fixes` when `unsafe`) would apply the finding's fix."""
    fix = finding.fix
    return fix is not None and (unsafe or fix.applicability is Applicability.SAFE)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in _NEWLINE.finditer(text))
    return starts


def _offset(text: str, starts: Sequence[int], line: int, column: int) -> int | None:
    """The string index of a 1-based (line, column), or None when it is outside the text or
    inside a line ending."""
    if not 1 <= line <= len(starts) or column < 1:
        return None
    begin = starts[line - 1]
    end = starts[line] if line < len(starts) else len(text)
    content_end = begin + len(_NEWLINE.sub("", text[begin:end]))
    index = begin + column - 1
    return index if index <= content_end else None


def _spans(text: str, starts: Sequence[int], fix: Fix) -> list[tuple[int, int, str]] | None:
    newline = _NEWLINE.search(text)
    eol = newline.group() if newline else "\n"
    spans = []
    for edit in fix.edits:
        begin = _offset(text, starts, edit.line, edit.column)
        end = _offset(text, starts, edit.end_line, edit.end_column)
        if begin is None or end is None or end < begin:
            return None
        spans.append((begin, end, _NEWLINE.sub(eol, edit.content)))
    spans.sort()
    for (_, end, _), (begin, _, _) in zip(spans, spans[1:], strict=False):
        if begin < end:
            return None  # a fix whose own edits overlap is broken: never apply it
    return spans


def apply_fixes(text: str, findings: Iterable[Finding], unsafe: bool) -> tuple[str, list[str]]:
    """Apply the fixes that do not overlap; the rest wait for the next pass (the file is
    linted again first). Returns the new text and the code of each fix applied."""
    starts = _line_starts(text)
    chosen: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    fixed: list[str] = []
    seen: set[Fix] = set()
    candidates = [f for f in findings if applicable(f, unsafe)]
    candidates.sort(key=lambda f: (f.line, f.column, f.code))
    for finding in candidates:
        assert finding.fix is not None
        if finding.fix in seen:
            continue  # two findings, one repair
        seen.add(finding.fix)
        spans = _spans(text, starts, finding.fix)
        if spans is None or any(_overlaps(b, e, tb, te) for b, e, _ in spans for tb, te in taken):
            continue
        chosen.extend(spans)
        taken.extend((b, e) for b, e, _ in spans)
        fixed.append(finding.code)
    out = []
    last = 0
    for begin, end, content in sorted(chosen):
        out.append(text[last:begin])
        out.append(content)
        last = end
    out.append(text[last:])
    return "".join(out), fixed


def _overlaps(begin: int, end: int, other_begin: int, other_end: int) -> bool:
    """Ranges overlap, or both insert at one point (their order would be a guess)."""
    if begin == other_begin:
        return True
    return begin < other_end and other_begin < end


def parsers_accepting(text: str) -> set[str]:
    """Which of CPython's compiler and libCST accept the text. `compile` goes further than
    `ast.parse` (it also rejects e.g. a name that is both a parameter and `global`)."""
    ok = set()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<fixed>", "exec", dont_inherit=True)
        ok.add("python")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    try:
        cst.parse_module(text)
        ok.add("libcst")
    except Exception:  # ParserSyntaxError, RecursionError, and odd input
        pass
    return ok


def fix_text(
    text: str,
    path: str,
    config: Config,
    *,
    unsafe: bool = False,
    noqa: bool = True,
    first: LintResult | None = None,
    rules: Sequence[type[Rule]] | None = None,
) -> FixOutcome:
    """Lint and fix `text` (decoded, without a BOM) to a fixpoint. `first` is the result of
    linting `text` already (from the cache), to save one pass. On a fix that breaks the
    syntax, or no fixpoint, the outcome is the original text, its findings and a `fix` error."""
    from tfgraphlint.engine.runner import lint_source

    def lint(source: str) -> LintResult:
        return lint_source(source, path, config, noqa=noqa, rules=rules)

    result = first if first is not None else lint(text)
    original, original_result = text, result
    fixed: list[str] = []
    required: set[str] | None = None
    for _ in range(MAX_PASSES):
        if not any(applicable(f, unsafe) for f in result.findings):
            return FixOutcome(text, result, original_result, fixed)
        new_text, applied = apply_fixes(text, result.findings, unsafe)
        if not applied or new_text == text:
            return FixOutcome(text, result, original_result, fixed)
        if required is None:
            required = parsers_accepting(original)
        accepted = parsers_accepting(new_text)
        if not required or not required <= accepted:
            codes = ", ".join(sorted(set(applied)))
            return _refused(
                original,
                original_result,
                f"fix refused: the fixes of {codes} would give code that does not parse; "
                "the file is left unchanged (please report this bug)",
            )
        text, fixed = new_text, fixed + applied
        result = lint(text)
    if any(applicable(f, unsafe) for f in result.findings):
        return _refused(
            original,
            original_result,
            f"fix refused: fixes did not converge after {MAX_PASSES} passes; "
            "the file is left unchanged (please report this bug)",
        )
    return FixOutcome(text, result, original_result, fixed)


def _refused(text: str, result: LintResult, message: str) -> FixOutcome:
    errors = [*result.errors, FileError(result.path, message, None, "fix")]
    return FixOutcome(text, LintResult(result.path, list(result.findings), errors), result)


# ---------------------------------------------------------------------- bytes and files
@dataclass(frozen=True, slots=True)
class Decoded:
    """A file's text with what it takes to write it back byte-identical where untouched."""

    text: str  # without the BOM
    encoding: str  # "utf-8-sig" when the file has a BOM

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def decode_for_fix(data: bytes) -> Decoded:
    """Decode as Python does (PEP 263 cookie or BOM, else UTF-8). Raises UnicodeError,
    SyntaxError (bad cookie) or LookupError, and ValueError when encoding the text again would
    not give the same bytes (then the file cannot be rewritten faithfully)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    if encoding == "utf-8" and text.startswith("\ufeff"):  # not reachable, but cheap to keep
        encoding, text = "utf-8-sig", text[1:]
    decoded = Decoded(text, encoding)
    if decoded.encode(text) != data:
        raise ValueError(f"its bytes do not round-trip through {encoding}")
    return decoded


def unified_diff(path: str, before: str, after: str) -> str:
    """A unified diff of the fixed file, as `ruff check --diff` prints it."""
    lines = difflib.unified_diff(
        _split_lines(before), _split_lines(after), fromfile=path, tofile=path
    )
    out = []
    for line in lines:
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _split_lines(text: str) -> list[str]:
    starts = _line_starts(text)
    ends = [*starts[1:], len(text)]
    return [text[b:e] for b, e in zip(starts, ends, strict=True) if b < e]
