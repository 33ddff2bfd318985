"""Jupyter notebooks: reading, IPython syntax, positions per cell, output formats, fixes that
write the JSON back byte for byte, broken notebooks, discovery and the cache."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tfgraphlint._types import FileError, LintResult
from tfgraphlint.config import Config
from tfgraphlint.engine.cache import ResultCache
from tfgraphlint.engine.examples import parse_markers
from tfgraphlint.engine.notebook import Notebook, lint_notebook, mask_magics, read_notebook
from tfgraphlint.frontends.cli import main
from tfgraphlint.rules import ALL_RULES

FIXTURE = Path(__file__).parent.parent / "fixtures" / "mnist_training.ipynb"

PY_FILE = """\
import tensorflow as tf


@tf.function
def f(x):
    print(x)
    return x
"""


def nb_json(*cells: Any, **metadata: Any) -> dict[str, Any]:
    """A notebook: a str is a code cell, ("md", text) a markdown cell."""
    out = []
    for cell in cells:
        if isinstance(cell, tuple):
            out.append({"cell_type": "markdown", "metadata": {}, "source": cell[1]})
            continue
        lines = cell.split("\n")
        source = [line + "\n" for line in lines[:-1]] + [lines[-1]]
        out.append(
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [{"name": "stdout", "output_type": "stream", "text": ["out\n"]}],
                "source": [s for s in source if s],
            }
        )
    return {"cells": out, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def write_nb(path: Path, data: dict[str, Any], indent: int | None = 1) -> Path:
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", "--no-cache", "--isolated", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def lint(*cells: Any, **config: Any) -> LintResult:
    data = json.dumps(nb_json(*cells), indent=1).encode()
    return lint_notebook(data, "nb.ipynb", Config(**config))


def places(result: LintResult) -> list[tuple[int | None, int, int, str]]:
    return [(f.cell, f.line, f.column, f.code) for f in result.findings]


# ---------------------------------------------------------------------- IPython syntax
@pytest.mark.parametrize(
    "line",
    [
        "%matplotlib inline\n",
        "!pip install -q tensorflow\n",
        "files = !ls\n",
        "t = %timeit -o f()\n",
        "np.mean?\n",
        "tf.keras.layers.Dense??\n",
        "?np.mean\n",
        "np.*load*?\n",
    ],
)
def test_ipython_lines_are_masked(line: str) -> None:
    code, masked = mask_magics(["import numpy as np\n", line, "x = 1\n"])
    assert code == ["import numpy as np\n", "\n", "x = 1\n"]
    assert masked == {1}


def test_indented_magic_becomes_pass_and_continuations_are_masked() -> None:
    lines = ["if gpu:\n", "    !nvidia-smi \\\n", "        -L\n", "x = 1\n"]
    code, masked = mask_magics(lines)
    assert code == ["if gpu:\n", "    pass\n", "\n", "x = 1\n"]
    assert masked == {1, 2}


def test_only_statement_starts_are_masked() -> None:
    """`!`, `%` or `?` inside a string, brackets or a continued line is Python's business."""
    lines = [
        'doc = """\n',
        "!not a shell line\n",
        "what?\n",
        '"""\n',
        "x = (1,\n",
        "     %2)\n",
        "y = 1 + \\\n",
        "    2\n",
        "z = a != b  # not a magic?\n",
    ]
    assert mask_magics(lines) == (lines, set())


def test_cell_magics() -> None:
    result = lint(
        "%%bash\necho 'print(x)'",  # not Python: left out whole
        "%%writefile helper.py\nimport tensorflow as tf\n@tf.function\ndef g(x):\n    print(x)",
        "%%time\nimport tensorflow as tf\n\n@tf.function\ndef f(x):\n    print(x)\n    return x",
    )
    assert places(result) == [(3, 6, 5, "TFG101")]
    assert result.errors == []


def test_automagic_only_where_the_cell_does_not_parse() -> None:
    result = lint(
        "pip install tensorflow",
        "import tensorflow as tf\npwd = 3\n\n@tf.function\ndef f(x):\n    print(pwd)\n    return x",
    )
    assert result.errors == []
    assert places(result) == [(2, 6, 5, "TFG101")]


def test_leading_indent_is_stripped_as_ipython_does() -> None:
    """A cell whose first line is indented runs in IPython (`leading_indent`): checked, and
    columns are the cell's."""
    result = lint(
        "import tensorflow as tf",
        "  @tf.function\n  def f(x):\n      print(x)\n      return x",
    )
    assert result.errors == []
    assert places(result) == [(2, 3, 7, "TFG101")]


# ---------------------------------------------------------------------- positions
def test_helper_in_an_earlier_cell_is_followed() -> None:
    result = lint(
        ("md", "# Title"),
        "import tensorflow as tf\n%matplotlib inline",
        "def log(x):\n    print('x', x)",
        ("md", "The step"),
        "@tf.function\ndef step(x):\n    log(x)\n    return x",
    )
    assert places(result) == [(3, 2, 5, "TFG101")]
    message = result.findings[0].message
    assert "(called from tf.function `step`, line 3 of cell 5)" in message


def test_fixture_notebook_markers() -> None:
    """The bundled notebook: every `# error:` marker is found in its cell and line, nothing
    else, no error."""
    data = FIXTURE.read_bytes()
    notebook = read_notebook(data, str(FIXTURE))
    assert isinstance(notebook, Notebook)
    expected = sorted(
        (*notebook.locate(m.line), m.code) for m in parse_markers(notebook.text, ALL_RULES)
    )
    result = lint_notebook(data, str(FIXTURE), Config())
    assert result.errors == []
    assert sorted((f.cell, f.line, f.code) for f in result.findings) == expected
    assert len(expected) == 5
    magics = [c for c in notebook.cells if c.masked]
    assert [c.number for c in magics] == [2, 8, 11, 14]


def test_noqa_per_line() -> None:
    result = lint(
        "import tensorflow as tf",
        "@tf.function\ndef f(x):\n    print(x)  # noqa: TFG101\n    print(x, x)\n    return x",
    )
    assert places(result) == [(2, 4, 5, "TFG101")]


def test_notebook_without_tensorflow_is_not_parsed() -> None:
    """As a module that never names TensorFlow or Keras: no finding whatever its syntax."""
    assert lint("x = 1", "if x\n    pass") == LintResult("nb.ipynb")
    assert lint("import tensorflow as tf", "if x\n    pass").errors != []


def test_non_python_notebook_is_skipped() -> None:
    data = nb_json("library(tensorflow)\nprint(x)", kernelspec={"language": "R", "name": "ir"})
    assert lint_notebook(json.dumps(data).encode(), "r.ipynb", Config()) == LintResult("r.ipynb")


# ---------------------------------------------------------------------- broken notebooks
@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ('{"cells": [\n  {"cell_type": "code",\n}', "not a notebook: invalid JSON", 3),
        ('{"metadata": {}}', "not a notebook: no `cells` list", None),
        ('{"worksheets": [], "nbformat": 3}', "nbformat 3 (`worksheets`)", None),
        ('{"cells": [{"cell_type": "code", "source": 3}]}', "cell 1: `source` is not", None),
        ('{"cells": ["x"]}', "cell 1: not a JSON object", None),
        ("[1, 2]", "not a notebook: the JSON is not an object", None),
    ],
)
def test_broken_notebook_errors(content: str, message: str, line: int | None) -> None:
    result = lint_notebook(content.encode(), "bad.ipynb", Config())
    assert result.findings == []
    [error] = result.errors
    assert message in error.message
    assert error.line == line


def test_broken_cell_is_named_and_the_rest_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_nb(
        tmp_path / "a.ipynb",
        nb_json(
            ("md", "intro"),
            "import tensorflow as tf",
            "def broken(:\n    pass",
            "@tf.function\ndef f(x):\n    print(x)\n    return x",
        ),
    )
    (tmp_path / "b.ipynb").write_text("{not json", encoding="utf-8")
    (tmp_path / "c.py").write_text(PY_FILE, encoding="utf-8")
    code, out, err = check(capsys, str(tmp_path))
    assert code == 1  # a broken notebook or cell is reported like a syntax error: a finding
    assert out.splitlines() == [
        f"{tmp_path / 'a.ipynb'}:cell 4:3:5: TFG101 {_print_message('f')}",
        f"{tmp_path / 'c.py'}:6:5: TFG101 {_print_message('f')}",
    ]
    assert f"{tmp_path / 'a.ipynb'}:cell 3:1: error: syntax error: " in err
    assert "the cell is not checked" in err
    assert f"{tmp_path / 'b.ipynb'}:1: error: not a notebook: invalid JSON" in err


def _print_message(name: str) -> str:
    return (
        f"[*] `print()` in tf.function `{name}` runs only while tracing, not on every call; "
        "use `tf.print()`"
    ).replace("[*] ", "")


# ---------------------------------------------------------------------- output formats
NB = nb_json(
    ("md", "# Notebook"),
    "import tensorflow as tf\n%load_ext tensorboard",
    "@tf.function\ndef f(x):\n    print(x)\n    return x",
)


def test_formats_carry_the_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write_nb(tmp_path / "n.ipynb", NB))
    _, out, _ = check(capsys, path)
    assert out.startswith(f"{path}:cell 3:3:5: TFG101 ")

    _, out, _ = check(capsys, "--format", "json", path)
    [finding] = json.loads(out)["findings"]
    assert (finding["cell"], finding["line"], finding["column"]) == (3, 3, 5)
    assert (finding["end_line"], finding["end_column"]) == (3, 13)
    edit = finding["fix"]["edits"][0]
    assert (edit["line"], edit["column"]) == (3, 5)

    _, out, _ = check(capsys, "--format", "sarif", path)
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["properties"] == {
        "cell": 3,
        "line": 3,
        "column": 5,
        "endLine": 3,
        "endColumn": 13,
    }
    assert result["message"]["text"].startswith("cell 3:3:5: ")
    assert "region" not in result["locations"][0]["physicalLocation"]

    _, out, _ = check(capsys, "--format", "github", path)
    assert out.startswith(f"::warning file={path.replace(':', '%3A')},title=TFG101::cell 3:3:5: ")
    assert ",line=" not in out


def test_error_formats_carry_the_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(write_nb(tmp_path / "n.ipynb", nb_json("import tensorflow", "if x\n    pass")))
    _, out, _ = check(capsys, "--format", "json", path)
    [error] = json.loads(out)["errors"]
    assert (error["cell"], error["line"]) == (2, 1)
    _, out, _ = check(capsys, "--format", "github", path)
    assert "title=tfgraphlint::cell 2:1: syntax error" in out


# ---------------------------------------------------------------------- round trip and fixes
def _variants() -> list[tuple[str, bytes]]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    as_strings = json.loads(json.dumps(data))
    for cell in as_strings["cells"]:
        cell["source"] = "".join(cell["source"])
    return [
        ("nbformat", FIXTURE.read_bytes()),
        ("colab-indent-2", (json.dumps(data, indent=2) + "\n").encode()),
        ("string-sources", json.dumps(as_strings, indent=1, ensure_ascii=False).encode()),
        ("ascii-escapes", (json.dumps(data, indent=1, ensure_ascii=True) + "\n").encode()),
        ("crlf", (json.dumps(data, indent=1) + "\n").replace("\n", "\r\n").encode()),
        ("one-line", json.dumps(data).encode()),
        ("bom", b"\xef\xbb\xbf" + FIXTURE.read_bytes()),
    ]


VARIANTS = _variants()


@pytest.mark.parametrize(("name", "data"), VARIANTS, ids=[n for n, _ in VARIANTS])
def test_unchanged_notebook_round_trips(name: str, data: bytes) -> None:
    notebook = read_notebook(data, "n.ipynb")
    assert isinstance(notebook, Notebook)
    written = notebook.with_text(notebook.text)
    assert not isinstance(written, str)
    assert written == (data, [])


@pytest.mark.parametrize(("name", "data"), VARIANTS, ids=[n for n, _ in VARIANTS])
def test_fix_round_trips(
    name: str, data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "n.ipynb"
    path.write_bytes(data)
    code, out, err = check(capsys, "--fix", "--unsafe-fixes", str(path))
    assert code == 1
    assert "2 fixed" in err
    after = path.read_bytes()
    text = after.decode("utf-8-sig")
    before_json, after_json = json.loads(data.decode("utf-8-sig")), json.loads(text)
    # Only the two fixed cells' sources changed; outputs, metadata, ids, order are kept.
    changed = [
        i
        for i, (a, b) in enumerate(zip(before_json["cells"], after_json["cells"], strict=True))
        if a != b
    ]
    assert changed == [6, 9]  # cells 7 and 10
    for i in changed:
        a, b = dict(before_json["cells"][i]), dict(after_json["cells"][i])
        del a["source"], b["source"]
        assert a == b
    assert before_json["metadata"] == after_json["metadata"]
    assert type(after_json["cells"][6]["source"]) is type(before_json["cells"][6]["source"])
    fixed_7 = "".join(after_json["cells"][6]["source"])
    assert '    tf.print("step", step, "loss", loss)' in fixed_7
    assert "@tf.function(reduce_retracing=True)" in "".join(after_json["cells"][9]["source"])
    # Byte for byte outside the changed lines: the same bytes once the edits are undone.
    undone = text.replace("tf.print(", "print(").replace(
        "reduce_retracing", "experimental_relax_shapes"
    )
    assert undone.encode("utf-8") == data.decode("utf-8-sig").encode("utf-8")
    assert after.startswith(b"\xef\xbb\xbf") == data.startswith(b"\xef\xbb\xbf")
    # Fixed to a fixpoint: nothing left to fix, and the remaining findings are per cell.
    assert check(capsys, "--fix", "--unsafe-fixes", str(path))[0] == 1
    assert path.read_bytes() == after


def test_diff_shows_cells_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "n.ipynb"
    shutil.copy(FIXTURE, path)
    code, out, err = check(capsys, "--diff", str(path))
    assert code == 1
    assert path.read_bytes() == FIXTURE.read_bytes()
    assert out.splitlines()[:2] == [f"--- {path}:cell 10", f"+++ {path}:cell 10"]
    assert "-@tf.function(experimental_relax_shapes=True)" in out
    assert "+@tf.function(reduce_retracing=True)" in out
    assert "would fix 1 finding in 1 file" in err


def test_fix_refused_when_the_json_cannot_be_reproduced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(NB, indent=1).replace('"nbformat": 4', '"nbformat":   4')
    path = tmp_path / "n.ipynb"
    path.write_text(text, encoding="utf-8")
    code, out, err = check(capsys, "--fix", "--unsafe-fixes", str(path))
    assert code == 2
    assert path.read_text(encoding="utf-8") == text
    assert "cannot fix: its JSON formatting" in err
    assert ":cell 3:3:5: TFG101" in out


def test_fix_never_touches_magic_lines(tmp_path: Path) -> None:
    notebook = read_notebook(json.dumps(NB, indent=1).encode(), "n.ipynb")
    assert isinstance(notebook, Notebook)
    lines = notebook.text.split("\n")
    assert lines[1] == ""  # `%load_ext tensorboard`, masked
    lines[1] = "x = 1"
    assert notebook.with_text("\n".join(lines)) == (
        "a fix touches IPython syntax or a skipped part of cell 2"
    )


def test_stdin_notebook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.dumps(NB).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = check(capsys, "-", "--stdin-filename", "x.ipynb")
    assert code == 1
    assert out.startswith("x.ipynb:cell 3:3:5: TFG101")


# ---------------------------------------------------------------------- discovery and cache
def test_folders_include_notebooks_and_extend_include(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_nb(tmp_path / "n.ipynb", NB)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_nb(tmp_path / ".ipynb_checkpoints" / "n-checkpoint.ipynb", NB)
    (tmp_path / "script.pyw").write_text(PY_FILE, encoding="utf-8")
    _, out, _ = check(capsys, ".")
    assert [line.split(": ")[0] for line in out.splitlines()] == ["./n.ipynb:cell 3:3:5"]

    (tmp_path / "pyproject.toml").write_text(
        '[tool.tfgraphlint]\nextend-include = ["*.pyw"]\nextend-exclude = ["*.ipynb"]\n',
        encoding="utf-8",
    )
    code = main(["check", "--no-cache", "."])
    out, _ = capsys.readouterr()
    assert code == 1
    assert [line.split(": ")[0] for line in out.splitlines()] == ["./script.pyw:6:5"]


def test_cache_keeps_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A notebook is cached by its bytes like any file; a hit gives the same per-cell result."""
    monkeypatch.chdir(tmp_path)
    path = str(write_nb(tmp_path / "n.ipynb", NB))
    argv = ["check", "--isolated", "--format", "json", path]
    assert main(argv) == 1
    first = capsys.readouterr().out
    [cache_file] = (tmp_path / ".tfgraphlint_cache").rglob("*.json")
    entry = json.loads(cache_file.read_text(encoding="utf-8"))
    assert json.dumps(entry).count('"cell": 3') == 1
    assert main(argv) == 1
    assert capsys.readouterr().out == first
    assert json.loads(first)["findings"][0]["cell"] == 3


def test_cache_round_trips_cells(tmp_path: Path) -> None:
    result = lint_notebook(json.dumps(NB).encode(), "n.ipynb", Config())
    result.errors.append(FileError("n.ipynb", "syntax error: x", 2, "parse", 4))
    cache = ResultCache(tmp_path, "digest")
    cache.put("n.ipynb", "sha", result)
    cache.save()
    again = ResultCache(tmp_path, "digest").get("n.ipynb", "sha")
    assert again is not None
    assert again.findings == result.findings
    assert again.errors == result.errors


# ---------------------------------------------------------------------- trace: skipping
def test_trace_skips_the_failing_statement_and_the_rest_of_its_cell(tmp_path: Path) -> None:
    """What `tfgraphlint trace` blanks when the notebook's module raises at a line (the
    worker's run itself is tested with TensorFlow in tests/dynamic/test_trace_notebook.py)."""
    from tfgraphlint.dynamic.notebooks import prepare

    path = write_nb(
        tmp_path / "n.ipynb",
        nb_json(
            "%matplotlib inline\nimport tensorflow as tf\nimport imageio\nimport os",
            "data = load('x.csv')\nsize = len(data)",
            "def f():\n    return 1",
        ),
    )
    run = prepare(path, tmp_path / "runs")
    assert run is not None and not isinstance(run, str)
    assert run.skip_at(3, "ModuleNotFoundError: No module named 'imageio'")  # only `import`
    assert run.skip_at(5, "FileNotFoundError: x.csv")  # `data = ...` and the rest of cell 2
    assert not run.skip_at(8, "ValueError: in f")  # inside a def: the caller is unknown
    assert run.write().read_text(encoding="utf-8").split("\n") == [
        "",
        "import tensorflow as tf",
        "",
        "import os",
        "",
        "",
        "def f():",
        "    return 1",
        "",
    ]
    assert run.skipped == [
        {
            "cell": 1,
            "line": 3,
            "skipped": "the statement",
            "reason": "ModuleNotFoundError: No module named 'imageio'",
        },
        {
            "cell": 2,
            "line": 1,
            "skipped": "the rest of the cell",
            "reason": "FileNotFoundError: x.csv",
        },
    ]


def test_quick_start_checks_the_fixture_notebook(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's quick start (`check --exit-zero --statistics fixtures/`) reaches the
    bundled notebook through the folder walk."""
    folder = str(FIXTURE.parent)
    assert main(["check", "--no-cache", "--isolated", "--exit-zero", "--statistics", folder]) == 0
    out = capsys.readouterr().out
    notebook = [line for line in out.splitlines() if line.startswith(str(FIXTURE))]
    assert [line.split(": ")[0].split(":", 1)[1] for line in notebook] == [
        "cell 7:5:5",
        "cell 7:6:5",
        "cell 10:1:14",
        "cell 11:3:23",
        "cell 13:3:16",
    ]


def test_refused_write_back_leaves_the_notebook_unchanged() -> None:
    """A refusal found in a later cell does not leave an earlier cell's new source behind."""
    data = nb_json("import tensorflow as tf\nx = 1", "%time y = 2\nz = 3")
    notebook = read_notebook(json.dumps(data, indent=1).encode(), "n.ipynb")
    assert isinstance(notebook, Notebook)
    lines = notebook.text.split("\n")
    lines[1] = "x = 2"  # cell 1: fine
    lines[3] = "z = 3\nw = 4"  # cell 2 grows, and it has a magic: refused
    assert notebook.with_text("\n".join(lines)) == "a fix changes the line count of cell 2"
    assert notebook.data == data


def test_a_cell_may_open_with_a_future_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """IPython compiles each cell alone: `from __future__ import ...` at the top of a later
    cell is legal there, and the notebook is checked (it was one syntax error before). A fix
    in that cell writes the import back unchanged."""
    later = (
        "# a comment first\nfrom __future__ import annotations  # typing\n"
        "@tf.function\ndef f(x):\n    print(x)\n    return x"
    )
    result = lint("from __future__ import annotations\nimport tensorflow as tf", later)
    assert result.errors == []
    assert places(result) == [(2, 5, 5, "TFG101")]
    # Not at the top of its cell, it is the syntax error IPython reports too.
    broken = lint("import tensorflow as tf", "x = 1\nfrom __future__ import annotations", later)
    assert [(e.cell, e.line) for e in broken.errors] == [(2, 2)]
    assert "beginning of the file" in broken.errors[0].message
    path = write_nb(tmp_path / "n.ipynb", nb_json("import tensorflow as tf", later))
    code, _, err = check(capsys, "--fix", "--unsafe-fixes", str(path))
    assert code == 0 and "1 fixed" in err
    cell = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][1]["source"])
    assert cell == later.replace("print(x)", "tf.print(x)")


@pytest.mark.parametrize(
    "opening",
    [
        '"""A cell with a docstring."""\n\nfrom __future__ import division\n',
        "'''Docstring\nover lines.'''\nfrom __future__ import (\n    division,\n)\n",
        "from __future__ import division\nfrom __future__ import annotations\n",
    ],
)
def test_a_cell_may_open_with_a_docstring_and_future_imports(opening: str) -> None:
    # Seen in a notebook of user code: a docstring, then `from __future__ import division`.
    later = opening + "@tf.function\ndef f(x):\n    print(x)\n    return x"
    result = lint("import tensorflow as tf", later)
    assert result.errors == []
    assert places(result) == [(2, later.split("\n").index("    print(x)") + 1, 5, "TFG101")]


def test_a_future_import_sharing_its_line_is_left_as_python_sees_it() -> None:
    later = "from __future__ import division; x = 1\n@tf.function\ndef f(x):\n    return x"
    result = lint("import tensorflow as tf", later)
    assert [(e.cell, e.line) for e in result.errors] == [(2, 1)]


def test_top_level_await_is_legal_in_a_cell() -> None:
    # IPython runs a cell with top-level `await` (an async client, `await asyncio.sleep(1)`).
    result = lint(
        "import asyncio\nimport tensorflow as tf",
        "await asyncio.sleep(0)",
        "@tf.function\ndef f(x):\n    print(x)\n    return x",
    )
    assert result.errors == []
    assert places(result) == [(3, 3, 5, "TFG101")]


@pytest.mark.parametrize("bad", ["break", "return 1", "nonlocal x", "def g(a, a):\n    pass"])
def test_a_cell_the_compiler_refuses_is_named_and_the_rest_checked(bad: str) -> None:
    # It parses, but CPython's compiler refuses it: that cell fails in IPython, not the others.
    result = lint(
        "import tensorflow as tf",
        bad,
        "@tf.function\ndef f(x):\n    print(x)\n    return x",
    )
    assert places(result) == [(3, 3, 5, "TFG101")]
    (error,) = result.errors
    assert error.cell == 2 and "the cell is not checked" in error.message
