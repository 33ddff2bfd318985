"""Paths no run can read or analyse, given with a config root (paths resolve against it):
a symlink loop and a file of 5,000 nested unary operators are an error each, and the run goes
on. `trace` plans without TensorFlow: with nothing to trace, no worker starts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tfgraphlint.frontends.cli import main

DEEP = "import tensorflow as tf\n\n\n@tf.function\ndef f(x):\n    return x\n\n\ny = {}1\n"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.tfgraphlint]\n")
    (tmp_path / "loop.py").symlink_to(tmp_path / "loop.py")
    (tmp_path / "deep.py").write_text(DEEP.format("-" * 5000))
    return tmp_path


LOOP = "cannot read: [Errno 40] Too many levels of symbolic links: 'loop.py'"
# CPython's parser gives up, or (with a higher recursion limit, as under xdist) parses it and
# the depth check refuses it: "too deeply nested to parse/analyse ...".
DEEP_MESSAGE = "too deeply nested to "


def test_check(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "-j", "1", "loop.py", "deep.py"])
    err = capsys.readouterr().err
    assert code == 1  # a file that cannot be read or parsed is a finding, not a crash
    assert "loop.py: error: cannot read: Too many levels of symbolic links" in err
    # The depth check names the deepest line: `deep.py:9: error: ...`.
    assert re.search(rf"^deep\.py(:9)?: error: {DEEP_MESSAGE}", err, re.M), err


def test_trace(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "fine.py").write_text("x = 1\n")  # no compiled function: nothing to trace
    code = main(["trace", "--format", "json", "loop.py", "deep.py", "fine.py"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [e["path"] for e in doc["errors"]] == ["loop.py", "deep.py"]
    assert doc["errors"][0]["message"] == LOOP
    assert doc["errors"][1]["message"].startswith(DEEP_MESSAGE)
    assert (doc["modules"], doc["tensorflow"]) == ([], None)


def test_a_file_named_twice_is_checked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    source = "import tensorflow as tf\n\n@tf.function\ndef f(x):\n    print(x)\n    return x\n"
    (tmp_path / "src" / "a.py").write_text(source)
    code = main(["check", "--isolated", "--no-cache", "src/a.py", "./src/a.py", "src"])
    out, err = capsys.readouterr()
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines() if "TFG101" in line] == ["src/a.py"]
    assert "1 finding in 1 file (1 file checked)" in out + err
    code = main(["check", "--isolated", "--no-cache", "--fix", "--unsafe-fixes", "src/a.py", "src"])
    out, err = capsys.readouterr()
    assert code == 0 and "1 fixed" in out + err


def test_an_empty_path_and_negative_jobs_are_clear_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(
        "import tensorflow as tf\n\n@tf.function\ndef f(x):\n    print(x)\n"
    )
    code = main(["check", "--isolated", "--no-cache", "", "a.py"])
    out, err = capsys.readouterr()
    assert code == 1 and "a.py:5:5: TFG101" in out  # the run goes on
    assert "error: empty path argument, skipped" in out + err
    with pytest.raises(SystemExit) as exit_:
        main(["check", "-j", "-1", "a.py"])
    assert exit_.value.code == 2
    assert "-j/--jobs: must be 0 (all cores) or more, got -1" in capsys.readouterr().err
