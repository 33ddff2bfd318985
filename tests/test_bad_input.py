"""Bad input never crashes a run: each problem becomes an error for its file, and every other
file (and every other rule) is still checked."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.config import Config
from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.rule import Rule
from tfgraphlint.engine.runner import MAX_NESTING_DEPTH, lint_source
from tfgraphlint.frontends.cli import main
from tfgraphlint.rules import ALL_RULES
from tfgraphlint.rules.print_in_tf_function import PrintInTfFunction

HEAD = "import tensorflow as tf\n\n@tf.function\ndef step(x):\n    print(x)\n    return x\n"


def tf_source(tail: str | bytes) -> bytes:
    """A compiled function (TFG101 on line 5), then `tail` from line 7 on."""
    return HEAD.encode() + (tail if isinstance(tail, bytes) else tail.encode())


# name -> (bytes, expected finding lines, expected error line or None for no error)
CASES: dict[str, tuple[bytes, list[int], int | None]] = {
    "empty": (b"", [], None),
    "only_bom": (b"\xef\xbb\xbf", [], None),
    "bom": (b"\xef\xbb\xbf" + tf_source(""), [5], None),
    "crlf": (tf_source("y = 1\n").replace(b"\n", b"\r\n"), [5], None),
    "cr_only": (tf_source("y = 1\n").replace(b"\n", b"\r"), [5], None),
    "latin1_cookie": (b"# -*- coding: latin-1 -*-\n" + tf_source(b"s = '\xe9'\n"), [6], None),
    "not_utf8": (tf_source(b"s = '\xff\xfe'\n"), [], 7),
    "null_byte": (tf_source("y = 1\x00\n"), [], 7),
    "syntax_error": (tf_source("def broken(:\n    pass\n"), [], 7),
    "bad_indent": (tf_source("y = 1\n  z = 2\n"), [], 8),
    "unclosed": (tf_source("y = [1,\n"), [], 7),
    "parens_1000": (tf_source("y = " + "(" * 1000 + "x" + ")" * 1000 + "\n"), [], 7),
    "brackets_1000": (tf_source("y = " + "[" * 1000 + "x" + "]" * 1000 + "\n"), [], 7),
    "braces_1000": (tf_source("y = " + "{" * 1000 + "x" + "}" * 1000 + "\n"), [], 7),
    "sum_20000": (tf_source("y = " + "x + " * 20000 + "x\n"), [], None),
    "attributes_2500": (tf_source("y = x" + ".a" * 2500 + "\n"), [], 7),
    "calls_2500": (tf_source("y = f" + "()" * 2500 + "\n"), [], 7),
}


@pytest.mark.parametrize("name", list(CASES))
def test_lint_source_never_raises(name: str) -> None:
    data, lines, error_line = CASES[name]
    start = time.perf_counter()
    result = lint_source(data, f"{name}.py")
    assert time.perf_counter() - start < 20  # no quadratic blow-up on deep nesting
    assert [f.line for f in result.findings] == lines
    if error_line is None and not lines:
        return
    if lines:
        assert result.errors == []
        return
    (error,) = result.errors
    assert error.path == f"{name}.py"
    assert error.message
    if name != "sum_20000":
        assert error.line == error_line


def test_messages_say_what_is_wrong() -> None:
    def message(name: str) -> str:
        return lint_source(CASES[name][0], "f.py").errors[0].message

    assert message("not_utf8") == "cannot decode file: invalid start byte (utf-8)"
    assert message("null_byte") == "syntax error: source code string cannot contain null bytes"
    assert message("syntax_error") == "syntax error: invalid syntax"
    assert message("parens_1000") == "syntax error: too many nested parentheses"
    assert message("sum_20000").startswith("too deeply nested to parse")
    assert message("attributes_2500").startswith("too deeply nested to analyse: 2")
    assert f"the limit is {MAX_NESTING_DEPTH}" in message("attributes_2500")


def test_recursion_in_libcst_is_an_error() -> None:
    """Under the nesting limit, libcst's recursive visitors may still run out of stack (how
    deep they get depends on the caller's stack): that is an error for the file, not a crash."""
    source = tf_source("y = " + "[" * 120 + "x" + "]" * 120 + "\n")
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 150)
    try:
        result = lint_source(source, "deep.py")
    finally:
        sys.setrecursionlimit(old)
    assert result.findings == []
    (error,) = result.errors
    assert error.message.startswith("too deeply nested to"), error.message


def test_newer_grammar_is_left_to_libcst() -> None:
    # Python 3.12 syntax: CPython 3.11's parser rejects it, libcst parses it.
    source = HEAD + "type Alias = int\n\ndef ident[T](a: T) -> T:\n    return a\n"
    result = lint_source(source, "new.py")
    assert result.errors == []
    assert [f.line for f in result.findings] == [5]


def test_big_file() -> None:
    """50,000 lines: a long data string, then a compiled function at the end."""
    table = "".join(f"row {i}, {i * 7 % 13}, {i * 3 % 11}\n" for i in range(49_990))
    source = f'import tensorflow as tf\n\nDATA = """\n{table}"""\n\n{HEAD[24:]}'
    assert source.count("\n") == 50_000
    result = lint_source(source, "big.py")
    assert result.errors == []
    assert [f.line for f in result.findings] == [source.splitlines().index("    print(x)") + 1]
    assert result.findings[0].line > 49_990


class BrokenOnPurpose(Rule):
    """
    ## What it does
    Raises on every call, to prove that one rule's bug costs no other rule's findings.

    ## Why is this bad?
    It is a test double.

    ## Example
    `f()`

    ## Use instead
    Nothing.
    """

    CODE = "TFG998"
    NAME = "broken-on-purpose"
    SEVERITY = Severity.WARNING
    SUMMARY = "a rule that raises"
    VALID = (Valid("x = 1"),)
    INVALID = (Invalid("f()  # error: TFG998"),)

    def visit_Call(self, node: cst.Call) -> None:
        raise RuntimeError("boom")


def test_a_raising_rule_is_an_internal_error() -> None:
    result = lint_source(HEAD, "train.py", rules=[BrokenOnPurpose, PrintInTfFunction])
    assert [(f.line, f.code) for f in result.findings] == [(5, "TFG101")]
    (error,) = result.errors
    assert error.path == "train.py"
    assert error.kind == "internal"
    assert error.message == (
        "internal error in rule TFG998 (broken-on-purpose): RuntimeError: boom"
    )


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_goes_on_after_bad_files(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, (data, _, _) in CASES.items():
        (files / f"{name}.py").write_bytes(data)
    (files / "zz_dangling.py").symlink_to(files / "nowhere.py")
    code = main(["check", "--isolated", "-j", "1", "."])
    out, err = capsys.readouterr()
    assert code == 1  # files that do not parse or cannot be read are findings, not a failure
    reported = sorted({line.split(":")[0] for line in out.splitlines()})
    assert reported == sorted(f"./{n}.py" for n, (_, lines, _) in CASES.items() if lines)
    failed = sorted({line.split(":")[0] for line in err.splitlines()[:-1]})
    expected = [f"./{n}.py" for n, (_, lines, err_line) in CASES.items() if not lines]
    expected = [p for p in expected if p not in ("./empty.py", "./only_bom.py")]
    assert failed == sorted([*expected, "./zz_dangling.py"])
    assert (
        "./null_byte.py:7: error: syntax error: source code string cannot contain null bytes" in err
    )
    assert "./zz_dangling.py: error: cannot read: No such file or directory" in err


def test_cli_reports_a_raising_rule(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tfgraphlint.rules.ALL_RULES", (*ALL_RULES, BrokenOnPurpose))
    (files / "train.py").write_text(HEAD, encoding="utf-8")
    (files / "clean.py").write_text(HEAD.replace("print", "tf.print"), encoding="utf-8")
    code = main(["check", "--isolated", "-q", "-j", "1", "train.py", "clean.py"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out.startswith("train.py:5:5: TFG101 ")
    assert err.splitlines() == [
        "train.py: error: internal error in rule TFG998 (broken-on-purpose): RuntimeError: boom",
        "clean.py: error: internal error in rule TFG998 (broken-on-purpose): RuntimeError: boom",
    ]


CRASHING = """\
import sys

import libcst as cst

import tfgraphlint.rules
from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.config import Config
from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.rule import Rule
from tfgraphlint.frontends.cli import main


class Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("this error cannot even be printed")


class CrashingOnPurpose(Rule):
    \"\"\"
    ## What it does
    Raises.

    ## Why is this bad?
    It is a test.

    ## Example
    `f()`

    ## Use instead
    Nothing.
    \"\"\"

    CODE = "TFG997"
    NAME = "crashing-on-purpose"
    SEVERITY = Severity.WARNING
    SUMMARY = "a rule whose error escapes the engine's guard"
    VALID = (Valid("x = 1"),)
    INVALID = (Invalid("f()  # error: TFG997"),)

    def visit_Call(self, node: cst.Call) -> None:
        raise Unprintable()


tfgraphlint.rules.ALL_RULES = (*tfgraphlint.rules.ALL_RULES, CrashingOnPurpose)
sys.exit(main(sys.argv[1:]))
"""


def test_an_uncaught_crash_exits_2_not_1(files: Path) -> None:
    """A real crash of the tool, in a real process: a rule registered for this test raises an
    exception that cannot be printed, so the engine's own error report fails too and the
    exception escapes to `main`. The exit code must not be 1, which means "findings"."""
    (files / "crash.py").write_text(CRASHING, encoding="utf-8")
    (files / "train.py").write_text(HEAD, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "crash.py", "check", "--isolated", "--no-cache", "-j", "1", "train.py"],
        capture_output=True,
        text=True,
        cwd=files,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" in proc.stderr
    assert "this error cannot even be printed" in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("tfgraphlint: internal error: ValueError: ")
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["clean.py"], 0),
        (["train.py"], 1),
        (["broken.py"], 1),
        (["missing.py"], 1),
        (["--exit-zero", "train.py", "broken.py", "missing.py"], 0),
        (["--diff", "broken.py"], 1),
        (["--select", "TFG9"], 2),
        (["--no-such-flag"], 2),
    ],
)
def test_exit_codes(
    files: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int
) -> None:
    """0 clean, 1 findings (a syntax error or an unreadable file is one), 2 usage error."""
    (files / "train.py").write_text(HEAD, encoding="utf-8")
    (files / "clean.py").write_text(HEAD.replace("print", "tf.print"), encoding="utf-8")
    (files / "broken.py").write_bytes(CASES["syntax_error"][0])
    try:
        got = main(["check", "--isolated", "--no-cache", "-q", *argv])
    except SystemExit as exc:  # argparse
        got = exc.code
    assert got == code, capsys.readouterr()


# ------------------------------------------------------------ unreadable paths, FIFOs
def _run_denied(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process for which permission bits hold. Tests run as root here, and root
    reads a mode-000 folder; `nobody` cannot import the installed libcst (it lives under
    /root), so as root the capabilities that bypass permission bits are dropped instead
    (`setpriv`): the process gets the kernel's real EACCES."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: mode 000 would still be readable")
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "tfgraphlint", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def locked(files: Path) -> Iterator[Path]:
    (files / "ok").mkdir()
    (files / "ok" / "train.py").write_text(HEAD, encoding="utf-8")
    (files / "locked").mkdir()
    (files / "locked" / "hidden.py").write_text(HEAD, encoding="utf-8")
    (files / "locked").chmod(0)
    try:
        probe = _run_denied(files, "check", "--isolated", "--no-cache", "locked/hidden.py")
        if "Permission denied" not in probe.stderr:
            pytest.skip("permission bits are not enforced here")
        yield files
    finally:
        (files / "locked").chmod(0o755)


@pytest.mark.parametrize("extra", [[], ["--fix"], ["--diff"]])
def test_an_unreadable_folder_is_an_error_line_and_the_run_goes_on(
    locked: Path, extra: list[str]
) -> None:
    proc = _run_denied(locked, "check", "--isolated", "--no-cache", "-q", *extra, ".")
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == ["./locked: error: cannot read folder: Permission denied"]
    if not extra:
        assert proc.stdout.startswith("./ok/train.py:5:5: TFG101 ")
    assert proc.returncode == 1


def test_an_unreadable_pyproject_is_a_config_error(files: Path) -> None:
    config = files / "pyproject.toml"
    config.write_text("[tool.tfgraphlint]\nselect = ['TFG1']\n", encoding="utf-8")
    (files / "train.py").write_text(HEAD, encoding="utf-8")
    config.chmod(0)
    try:
        proc = _run_denied(files, "check", "--no-cache", "train.py")
    finally:
        config.chmod(0o644)
    if proc.returncode == 1 and "Permission denied" not in proc.stderr:
        pytest.skip("permission bits are not enforced here")
    assert "Traceback" not in proc.stderr
    assert proc.stderr == (
        f"tfgraphlint: {config.resolve()}: cannot read the config file: Permission denied\n"
    )
    assert (proc.returncode, proc.stdout) == (2, "")


@pytest.mark.parametrize("extra", [[], ["--fix"], ["--diff"], ["--follow-imports"]])
def test_a_fifo_named_py_does_not_hang_the_run(files: Path, extra: list[str]) -> None:
    (files / "pkg").mkdir()
    (files / "pkg" / "train.py").write_text(HEAD, encoding="utf-8")
    os.mkfifo(files / "pkg" / "pipe.py")
    os.mkfifo(files / "named.py")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfgraphlint",
            "check",
            "--isolated",
            "-q",
            *extra,
            "pkg",
            "named.py",
        ],
        capture_output=True,
        text=True,
        cwd=files,
        timeout=120,
        check=False,
    )
    assert proc.stderr.splitlines() == [
        "pkg/pipe.py: error: not a regular file (a FIFO), skipped",
        "named.py: error: not a regular file (a FIFO), skipped",
    ]
    assert proc.returncode == 1


def _lone_cr(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r")


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.CODE)
def test_old_mac_line_ends_give_the_same_findings(rule: type) -> None:
    """A file whose lines end in a lone CR (which Python reads as line ends) gives the
    findings of the same file with LF, on every example of every rule."""
    config = Config(select=("ALL",))
    for example in (*rule.VALID, *rule.INVALID):  # type: ignore[attr-defined]
        source = strip_markers(example.source)
        lf = lint_source(source, "m.py", config)
        cr = lint_source(_lone_cr(source), "m.py", config)
        assert [(f.line, f.column, f.code) for f in cr.findings] == [
            (f.line, f.column, f.code) for f in lf.findings
        ], source
        assert [(e.line, e.message) for e in cr.errors] == [(e.line, e.message) for e in lf.errors]


def test_fix_keeps_old_mac_line_ends(tmp_path: Path) -> None:
    target = tmp_path / "m.py"
    source = "import tensorflow as tf\nclass C:\n    pass\n@tf.function\ndef f(x):\n    print(x)\n"
    target.write_bytes(_lone_cr(source).encode())
    assert (
        main(["check", "--isolated", "--no-cache", "--fix", "--unsafe-fixes", "-q", str(target)])
        == 0
    )
    fixed = target.read_bytes()
    assert b"\n" not in fixed and fixed.count(b"\r") == source.count("\n")
    assert b"    tf.print(x)\r" in fixed


def test_what_only_libcst_refuses_is_no_syntax_error() -> None:
    # CPython parses a module-level tuple of 5,000 implicitly joined strings; libCST's parser
    # gives up on it. Not a syntax error: a file tfgraphlint cannot analyse.
    data = tf_source("DATA = (\n" + '    "a"\n' * 5000 + ")\n")
    result = lint_source(data, "m.py")
    (error,) = result.errors
    assert error.message.startswith("cannot analyse: libCST's parser fails on code Python")
    assert "syntax error" not in error.message
