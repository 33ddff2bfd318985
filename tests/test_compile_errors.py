"""Errors CPython's compiler raises on code its parser accepts (issue 12, item 7).

`ast.parse` accepts `nonlocal` at module level, `return` outside a function, `break` outside a
loop, `await` outside an async function, a duplicate argument...; `compile()` does not, and
`python` reports each as a SyntaxError. Module-level `nonlocal` used to crash libCST's scope
analysis (an internal error); the others were linted as if the file could run. Each is now a
syntax error on its line, with or without slicing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tfgraphlint.engine.runner import lint_source
from tfgraphlint.frontends.cli import main

HEAD = "import tensorflow as tf\n\n@tf.function\ndef step(x):\n    print(x)\n    return x\n\n"

# tail (from line 8) -> (the line CPython reports, a word of its message)
CASES = {
    "nonlocal_at_module_level": ("nonlocal x\n", 8, "nonlocal"),
    "nonlocal_unknown_name": ("def g():\n    nonlocal zz\n", 9, "nonlocal"),
    "return_outside_function": ("y = 1\nreturn y\n", 9, "return"),
    "return_in_class_body": ("class C:\n    return 1\n", 9, "return"),
    "yield_outside_function": ("yield 1\n", 8, "yield"),
    "yield_in_comprehension": ("x = [(yield) for i in range(3)]\n", 8, "yield"),
    "break_outside_loop": ("if True:\n    break\n", 9, "break"),
    "continue_outside_loop": ("continue\n", 8, "continue"),
    "await_outside_function": ("await step(1)\n", 8, "await"),
    "await_outside_async": ("def g():\n    await step(1)\n", 9, "await"),
    "duplicate_argument": ("def g(a, a):\n    pass\n", 8, "duplicate argument"),
    "global_after_use": ("def g():\n    x = 1\n    global x\n", 10, "global"),
    "star_import_in_function": ("def g():\n    from os import *\n", 9, "import *"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("prefilter", [True, False])
def test_compile_time_error_is_a_syntax_error(case: str, prefilter: bool) -> None:
    tail, line, word = CASES[case]
    source = HEAD + tail
    ast.parse(source)  # the parser accepts it: only the compiler does not
    with pytest.raises(SyntaxError) as raised:
        compile(source, "m.py", "exec")
    result = lint_source(source, "m.py", prefilter=prefilter)
    assert result.findings == []
    assert [(e.kind, e.line) for e in result.errors] == [("parse", line)]
    assert result.errors[0].message == f"syntax error: {raised.value.msg}"
    assert word in result.errors[0].message


def test_valid_file_is_still_linted() -> None:
    source = HEAD + "def g():\n    x = 1\n    def h():\n        nonlocal x\n        x += 1\n"
    result = lint_source(source, "m.py")
    assert result.errors == []
    assert [f.line for f in result.findings] == [5]


def test_cli_reports_it_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path
    (root / "bad.py").write_text(HEAD + "nonlocal x\n", encoding="utf-8")
    (root / "good.py").write_text(HEAD, encoding="utf-8")
    code = main(["check", "--isolated", "--no-cache", str(root / "bad.py"), str(root / "good.py")])
    out, err = capsys.readouterr()
    assert code == 1  # a file that does not parse is a finding (exit 1, as ruff)
    expected = f"{root / 'bad.py'}:8: error: syntax error: nonlocal declaration not allowed"
    assert expected in out + err
    assert "internal error" not in out + err
    assert f"{root / 'good.py'}:5:5: TFG101" in out


@pytest.mark.parametrize("case", [*CASES, "valid"])
@pytest.mark.parametrize("path", ["m.py", "m.ipynb"])
def test_the_tree_compiles_as_the_text_does(case: str, path: str) -> None:
    # The engine compiles the screen's tree of the whole text (no second parse): the same
    # error, message and line as compiling the text (a notebook allows top-level `await`).
    from tfgraphlint.engine.runner import compile_check

    source = HEAD + (CASES[case][0] if case != "valid" else "y = step(1)\n")
    assert compile_check(path, source, ast.parse(source)) == compile_check(path, source)
    if case == "valid" or (path.endswith(".ipynb") and case == "await_outside_function"):
        assert compile_check(path, source) is None
