"""Output formats: text (flake8's), JSON, GitHub annotations, statistics, summary."""

from __future__ import annotations

import json

from tfgraphlint import __version__
from tfgraphlint._types import FileError, Finding, LintResult, Severity
from tfgraphlint.frontends.output import (
    FORMATTERS,
    format_github,
    format_json,
    format_statistics,
    format_summary,
    format_text,
    format_text_errors,
)


def finding(path: str = "src/train.py", line: int = 5, **changes: object) -> Finding:
    values: dict[str, object] = {
        "path": path,
        "line": line,
        "column": 5,
        "end_line": line,
        "end_column": 21,
        "code": "TFG101",
        "name": "print-in-tf-function",
        "severity": Severity.WARNING,
        "message": "`print()` in tf.function `step` runs only while tracing",
        "function": "step",
    }
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


RESULTS = [
    LintResult("src/train.py", findings=[finding(), finding(line=9, column=13)]),
    LintResult("src/clean.py"),
    LintResult(
        "src/broken.py",
        errors=[FileError("src/broken.py", "syntax error: invalid syntax", 3)],
    ),
    LintResult(
        "src/odd.py",
        errors=[FileError("src/odd.py", "internal error in rule TFG101", None, "internal")],
    ),
]


def test_every_format_is_registered() -> None:
    assert set(FORMATTERS) == {"text", "json", "github", "sarif"}


def test_text_is_flake8s_format() -> None:
    assert format_text(RESULTS).splitlines() == [
        "src/train.py:5:5: TFG101 `print()` in tf.function `step` runs only while tracing",
        "src/train.py:9:13: TFG101 `print()` in tf.function `step` runs only while tracing",
    ]
    assert format_text([]) == ""


def test_text_errors() -> None:
    assert format_text_errors(RESULTS).splitlines() == [
        "src/broken.py:3: error: syntax error: invalid syntax",
        "src/odd.py: error: internal error in rule TFG101",
    ]


def test_json_document() -> None:
    doc = json.loads(format_json(RESULTS))
    assert doc["version"] == __version__
    assert doc["findings"][0] == {
        "path": "src/train.py",
        "line": 5,
        "column": 5,
        "end_line": 5,
        "end_column": 21,
        "code": "TFG101",
        "name": "print-in-tf-function",
        "severity": "warning",
        "message": "`print()` in tf.function `step` runs only while tracing",
        "function": "step",
        "fix": None,
    }
    assert doc["errors"] == [
        {
            "path": "src/broken.py",
            "line": 3,
            "message": "syntax error: invalid syntax",
            "kind": "parse",
        },
        {"path": "src/odd.py", "message": "internal error in rule TFG101", "kind": "internal"},
    ]
    assert Finding.from_json(doc["findings"][1]) == RESULTS[0].findings[1]


def test_json_when_clean() -> None:
    assert json.loads(format_json([LintResult("a.py")])) == {
        "version": __version__,
        "findings": [],
        "errors": [],
    }


def test_github_annotations() -> None:
    assert format_github(RESULTS).splitlines() == [
        "::warning file=src/train.py,line=5,col=5,endLine=5,endColumn=21,title=TFG101::"
        "`print()` in tf.function `step` runs only while tracing",
        "::warning file=src/train.py,line=9,col=13,endLine=9,endColumn=21,title=TFG101::"
        "`print()` in tf.function `step` runs only while tracing",
        "::error file=src/broken.py,line=3,title=tfgraphlint::syntax error: invalid syntax",
        "::error file=src/odd.py,title=tfgraphlint::internal error in rule TFG101",
    ]


def test_github_levels_and_escaping() -> None:
    results = [
        LintResult(
            "odd, name:1.py",
            findings=[
                finding("odd, name:1.py", severity=Severity.ERROR, message="50% done\nnext"),
                finding("odd, name:1.py", line=7, severity=Severity.INFO),
            ],
        )
    ]
    lines = format_github(results).splitlines()
    assert lines[0].startswith("::error file=odd%2C name%3A1.py,line=5,")
    assert lines[0].endswith("::50%25 done%0Anext")
    assert lines[1].startswith("::notice ")


def test_statistics_most_frequent_first() -> None:
    results = [
        LintResult(
            "a.py",
            findings=[
                finding(code="TFG201", name="python-scalar-argument"),
                finding(),
                finding(code="TFG201", name="python-scalar-argument"),
            ],
        )
    ]
    assert format_statistics(results).splitlines() == [
        "     2  TFG201  python-scalar-argument",
        "     1  TFG101  print-in-tf-function",
    ]


def test_summary() -> None:
    assert format_summary(RESULTS) == (
        "tfgraphlint: 2 findings in 1 file (4 files checked); 2 files with errors\n"
    )
    assert format_summary([LintResult("a.py")]) == (
        "tfgraphlint: 0 findings in 0 files (1 file checked)\n"
    )


def test_a_control_character_in_a_path_stays_on_one_line() -> None:
    """A file name may hold a newline or an escape sequence: text output writes them as
    backslash escapes, so that a problem matcher still sees one finding per line (JSON keeps
    the path as it is)."""
    path = "odd\nname\x1b[2J.py"
    results = [
        LintResult(path, findings=[finding(path)], errors=[FileError(path, "syntax error", line=3)])
    ]
    text = format_text(results)
    assert text.count("\n") == 1 and text.startswith("odd\\nname\\x1b[2J.py:5:5: TFG101 ")
    assert format_text_errors(results) == "odd\\nname\\x1b[2J.py:3: error: syntax error\n"
    assert json.loads(format_json(results))["findings"][0]["path"] == path
