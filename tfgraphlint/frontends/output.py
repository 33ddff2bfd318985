"""Output formats. Each takes the run's results and returns the text to print."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence

from tfgraphlint._types import Applicability, FileError, Finding, LintResult
from tfgraphlint.frontends.sarif import format_sarif


def _all(results: Sequence[LintResult]) -> tuple[list[Finding], list[FileError]]:
    findings = [f for r in results for f in r.findings]
    errors = [e for r in results for e in r.errors]
    return findings, errors


def format_text(results: Sequence[LintResult], *, unsafe_fixes: bool = False) -> str:
    """flake8's default: `path:line:col: CODE message`, so editors' problem matchers work.
    A finding that `--fix` would repair is marked `[*]` before its message, as ruff does (an
    unsafe fix only with `--unsafe-fixes`). Errors go to stderr (`format_text_errors`)."""
    findings, _ = _all(results)
    return "".join(
        f"{shown_path(f.path)}:{_cell(f.cell)}{f.line}:{f.column}: {f.code} "
        f"{'[*] ' if _fixable(f, unsafe_fixes) else ''}{f.message}\n"
        for f in findings
    )


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]} | {
    0x09: "\\t",
    0x0A: "\\n",
    0x0D: "\\r",
}


def shown_path(path: str) -> str:
    """`path` for a line of text output: a control character in a file name (a newline, an
    escape sequence) is written as a backslash escape, so that one finding stays one line."""
    return path.translate(_CONTROL)


def _cell(cell: int | None) -> str:
    """`cell 3:` before a notebook finding's line, as ruff writes it."""
    return "" if cell is None else f"cell {cell}:"


def _fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    fix = finding.fix
    return fix is not None and (unsafe_fixes or fix.applicability is Applicability.SAFE)


def format_text_errors(results: Sequence[LintResult]) -> str:
    """`path:line: error: message` (`path: error: message` when the line is unknown)."""
    _, errors = _all(results)
    lines = []
    for e in errors:
        path = shown_path(e.path)
        where = path if e.line is None else f"{path}:{_cell(e.cell)}{e.line}"
        if e.cell is not None and e.line is None:
            where = f"{path}:cell {e.cell}"
        lines.append(f"{where}: error: {e.message}\n")
    return "".join(lines)


def format_summary(
    results: Sequence[LintResult], *, fixed: int | None = None, unsafe_fixes: bool = False
) -> str:
    """One line for people: how many findings, in how many files, what failed, and what
    `--fix` did (`fixed`, when it ran) or could do."""
    findings, errors = _all(results)
    files_with = len({f.path for f in findings})
    parts = [
        f"{_plural(len(findings), 'finding')} in {_plural(files_with, 'file')} "
        f"({_plural(len(results), 'file')} checked)"
    ]
    if fixed is not None:
        parts.append(f"{fixed} fixed")
    fixable = sum(_fixable(f, unsafe_fixes) for f in findings)
    hidden = hidden_fixes(results, unsafe_fixes=unsafe_fixes)
    if fixed is not None:  # --fix ran: what is left is unsafe, or not fixable at all
        if hidden:
            parts.append(hidden_fixes_note(hidden))
    elif fixable:
        more = f" ({hidden} more with `--unsafe-fixes`)" if hidden else ""
        parts.append(f"{fixable} fixable with `--fix`{more}")
    elif hidden:
        parts.append(f"{hidden} fixable with `--fix --unsafe-fixes`")
    if errors:
        failed = len({e.path for e in errors})
        parts.append(f"{_plural(failed, 'file')} with errors")
    return "tfgraphlint: " + "; ".join(parts) + "\n"


def hidden_fixes(results: Sequence[LintResult], *, unsafe_fixes: bool) -> int:
    """How many findings only `--unsafe-fixes` would fix (0 when it is given)."""
    if unsafe_fixes:
        return 0
    findings, _ = _all(results)
    return sum(_fixable(f, True) and not _fixable(f, False) for f in findings)


def hidden_fixes_note(hidden: int) -> str:
    """Ruff's words for the unsafe fixes `--fix`/`--diff` left out."""
    fixes = "1 hidden fix" if hidden == 1 else f"{hidden} hidden fixes"
    return f"{fixes} can be enabled with the `--unsafe-fixes` option"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def format_json(results: Sequence[LintResult]) -> str:
    from tfgraphlint import __version__

    findings, errors = _all(results)
    doc = {
        "version": __version__,
        "findings": [f.to_json() for f in findings],
        "errors": [e.to_json() for e in errors],
    }
    return json.dumps(doc, indent=2) + "\n"


def _gh_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(results: Sequence[LintResult]) -> str:
    """GitHub Actions workflow commands: one annotation per finding (titled with its code) and
    per error."""
    findings, errors = _all(results)
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in findings:
        if f.cell is not None:
            # A line of a cell is no line of the .ipynb file: a file-level annotation, with
            # the place in the message (ruff, too, gives up the line for notebooks).
            where = f"cell {f.cell}:{f.line}:{f.column}: "
            lines.append(
                f"::{level[f.severity.value]} file={_gh_escape(f.path, prop=True)},"
                f"title={f.code}::{_gh_escape(where + f.message)}"
            )
            continue
        lines.append(
            f"::{level[f.severity.value]} file={_gh_escape(f.path, prop=True)},line={f.line},"
            f"col={f.column},endLine={f.end_line},endColumn={f.end_column},"
            f"title={f.code}::{_gh_escape(f.message)}"
        )
    for e in errors:
        where = f",line={e.line}" if e.line is not None and e.cell is None else ""
        message = e.message if e.cell is None else f"cell {e.cell}:{e.line or 1}: {e.message}"
        lines.append(
            f"::error file={_gh_escape(e.path, prop=True)}{where},"
            f"title=tfgraphlint::{_gh_escape(message)}"
        )
    return "".join(line + "\n" for line in lines)


def format_statistics(results: Sequence[LintResult]) -> str:
    """Counts per code, most frequent first (as `ruff --statistics`)."""
    findings, _ = _all(results)
    names = {f.code: f.name for f in findings}
    counts = Counter(f.code for f in findings)
    return "".join(
        f"{n:>6}  {code}  {names[code]}\n"
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


FORMATTERS: dict[str, Callable[[Sequence[LintResult]], str]] = {
    "text": format_text,
    "json": format_json,
    "github": format_github,
    "sarif": format_sarif,
}
