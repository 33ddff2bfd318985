"""Lines as Python counts them (issue 12, item 1): only `\\r\\n`, `\\r` and `\\n` end a line.

`str.splitlines()` also splits on form feeds, `\\x0b`, `\\x1c`-`\\x1e`, `\\x85`, `\\u2028` and
`\\u2029`; a form feed between functions then shifted the slicer's lines (a valid file became
a "syntax error"), and a `\\u2028` in a comment moved `# noqa` onto another line."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from tfgraphlint.engine.lines import split_lines
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.frontends.cli import main

ODD = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

# A form feed on its own line between functions, as older code has (and `pep8` allowed).
PAGED = """\
import tensorflow as tf
\x0c
def helper(a,
           b):
    return a + b


def other():
    x = 1
    return x
\x0c
@tf.function(experimental_relax_shapes=True)
def step(x):
    print(x)
    return x
"""
# A form feed in front of a decorator, on the same line.
FEED_DECORATOR = """\
import tensorflow as tf


def other():
    return 2
\x0c@tf.function(experimental_relax_shapes=True)
def step(x):
    print(x)
    return x
"""


@pytest.mark.parametrize(
    "text",
    ["", "a", "a\n", "a\r\nb\rc\nd", "\n\n\r", f"x = 1  # {ODD}\ny = 2\n", f"a{ODD}b\r\n{ODD}"],
)
def test_split_lines_counts_as_python_does(text: str) -> None:
    kept = split_lines(text, keepends=True)
    assert "".join(kept) == text
    assert split_lines(text) == [line.rstrip("\r\n") for line in kept]
    # Python's own reader: universal newlines, nothing else.
    assert kept == io.StringIO(text, newline="").readlines()


def test_split_lines_agrees_with_the_tokenizer() -> None:
    source = f"a = 1  # {ODD}\n\x0c\nb = 2\x0c\n\x0cc = 3\n"
    last = max(t.end[0] for t in tokenize.generate_tokens(io.StringIO(source).readline))
    assert len(split_lines(source)) == last - 1  # the ENDMARKER sits on the line after


def cli_output(text: str) -> list[tuple[int, int, str]]:
    result = lint_source(text, "paged.py")
    assert result.errors == []
    return [(f.line, f.column, f.code) for f in result.findings]


def test_form_feed_between_functions_keeps_the_findings() -> None:
    plain = PAGED.replace("\x0c", "")
    assert cli_output(PAGED) == cli_output(plain) == [(12, 14, "TFG204"), (14, 5, "TFG101")]


def ast_column(text: str, keyword: str) -> int:
    """The 1-based column CPython gives the keyword argument `keyword`."""
    found = [k for k in ast.walk(ast.parse(text)) if isinstance(k, ast.keyword)]
    return next(k.col_offset for k in found if k.arg == keyword) + 1


@pytest.mark.parametrize("prefix", ["\x0c", "\x0c\x0c", "  \x0c"])
def test_form_feed_before_a_decorator_keeps_columns(prefix: str) -> None:
    text = FEED_DECORATOR.replace("\x0c", prefix)
    findings = lint_source(text, "feed.py").findings
    tfg204 = [f for f in findings if f.code == "TFG204"]
    assert [(f.line, f.column) for f in tfg204] == [
        (6, ast_column(text, "experimental_relax_shapes"))
    ]
    edit = tfg204[0].fix.edits[0] if tfg204[0].fix else None
    assert edit is not None
    line = split_lines(text)[edit.line - 1]
    assert line[edit.column - 1 : edit.end_column - 1] == "experimental_relax_shapes"


def test_form_feed_in_a_block_indentation_keeps_columns() -> None:
    # libCST repeats the block's first indentation (`\x0c    `) on every line of the block.
    text = "import tensorflow as tf\n\n@tf.function\ndef f(x):\n\x0c    print(x)\n    print(x)\n"
    assert cli_output(text) == [(5, 6, "TFG101"), (6, 5, "TFG101")]


def test_fix_works_with_a_form_feed_before_a_decorator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "feed.py"
    path.write_bytes(FEED_DECORATOR.encode())
    assert main(["check", "--isolated", "--no-cache", "--fix", "feed.py"]) == 1  # TFG101 left
    err = capsys.readouterr().err
    assert "1 fixed" in err and "error" not in err
    assert (
        path.read_bytes()
        == FEED_DECORATOR.replace("experimental_relax_shapes", "reduce_retracing").encode()
    )


def test_flake8_reports_findings_in_a_file_with_form_feeds(tmp_path: Path) -> None:
    (tmp_path / "paged.py").write_text(PAGED, encoding="utf-8")
    (tmp_path / "feed.py").write_text(FEED_DECORATOR, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "TFG", "paged.py", "feed.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    found = sorted(tuple(line.split(": ", 1)[0].split(":")) for line in proc.stdout.splitlines())
    assert found == [
        ("feed.py", "6", str(ast_column(FEED_DECORATOR, "experimental_relax_shapes"))),
        ("feed.py", "8", "5"),
        ("paged.py", "12", "14"),
        ("paged.py", "14", "5"),
    ], proc.stderr


@pytest.mark.parametrize("separator", ["\u2028", "\x0c", "\x85", "\x1c"])
def test_odd_character_in_a_comment_keeps_noqa_on_its_line(separator: str) -> None:
    text = (
        "import tensorflow as tf\n\n@tf.function\ndef f(x):\n"
        f"    y = 1  # a{separator}b\n"
        "    print(x)  # noqa: TFG101\n"
        "    print(x)\n"
    )
    assert cli_output(text) == [(7, 5, "TFG101")]


def test_flake8_noqa_file_comment_only_at_a_real_line_start() -> None:
    text = (
        "import tensorflow as tf\n\n@tf.function\ndef f(x):\n    print(x)  # ok\x0c# flake8: noqa\n"
    )
    assert cli_output(text) == [(5, 5, "TFG101")]
