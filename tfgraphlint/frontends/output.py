"""Output formats. Each takes the run's results and returns the text to print."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence

from tfgraphlint._types import FileError, Finding, LintResult


def _all(results: Sequence[LintResult]) -> tuple[list[Finding], list[FileError]]:
    findings = [f for r in results for f in r.findings]
    errors = [e for r in results for e in r.errors]
    return findings, errors


def format_text(results: Sequence[LintResult]) -> str:
    """flake8's default: `path:line:col: CODE message`, so editors' problem matchers work."""
    findings, _ = _all(results)
    return "".join(f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}\n" for f in findings)


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
    """GitHub Actions workflow commands: one annotation per finding and per error."""
    findings, errors = _all(results)
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in findings:
        lines.append(
            f"::{level[f.severity.value]} file={_gh_escape(f.path, prop=True)},line={f.line},"
            f"col={f.column},endLine={f.end_line},endColumn={f.end_column},"
            f"title={_gh_escape(f.code + ' ' + f.name, prop=True)}::{_gh_escape(f.message)}"
        )
    for e in errors:
        where = f",line={e.line}" if e.line is not None else ""
        lines.append(
            f"::error file={_gh_escape(e.path, prop=True)}{where},"
            f"title=tfgraphlint::{_gh_escape(e.message)}"
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
}
