"""The results cache never serves a wrong result (issue 12, item 2).

- A result is stored under the digest of the bytes that were linted, not those of the earlier
  read that looked it up: a file saved during a run is not cached under its old content.
- The key follows the code that computes results: tfgraphlint's own files (a changed rule
  under the same version), the libCST version and the Python version.
- A cache file of valid JSON with the wrong shape is a miss, not a crash.
- A file that imports `tf` from the project's own package is keyed on what that package
  re-exports: editing `mypkg/__init__.py` alone changes its findings."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest

import tfgraphlint
from tfgraphlint.engine import cache as cache_mod
from tfgraphlint.engine import project as project_mod
from tfgraphlint.frontends import cli as cli_mod
from tfgraphlint.frontends.cli import main

STEP = """\
import tensorflow as tf


@tf.function
def step(x):
    print(x)
    return x
"""
FIXED = STEP.replace("print(x)", "tf.print(x)")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    main(["check", "--isolated", "-j", "1", "--exit-zero", *argv])
    out = capsys.readouterr().out
    return [line.split(" ", 2)[0] + " " + line.split(" ", 2)[1] for line in out.splitlines()]


def save_after_first_digest(
    monkeypatch: pytest.MonkeyPatch, module: object, path: Path, text: str
) -> None:
    """An editor saving `path` right after the run first hashes it (the cache lookup)."""
    real: Callable[[bytes], str] = cache_mod.content_digest
    calls = []

    def digest(data: bytes) -> str:
        calls.append(data)
        if len(calls) == 1:
            path.write_text(text, encoding="utf-8")
        return real(data)

    monkeypatch.setattr(module, "content_digest", digest)


def test_a_file_saved_during_the_run_is_cached_under_what_was_linted(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tree / "step.py"
    path.write_text(STEP, encoding="utf-8")
    with monkeypatch.context() as patch:
        save_after_first_digest(patch, cli_mod, path, FIXED)
        assert check(capsys, "step.py") == []  # the saved (fixed) text is what was linted
    path.write_text(STEP, encoding="utf-8")  # back to the first text (an undo, a checkout)
    assert check(capsys, "step.py") == ["step.py:6:5: TFG101"]
    assert check(capsys, "--no-cache", "step.py") == ["step.py:6:5: TFG101"]


TRAIN = """\
import tensorflow as tf

from pkg.ops import jitter


@tf.function
def train_step(x):
    return jitter(x)
"""
OPS = "import numpy as np\n\n\ndef jitter(x):\n    return x + np.random.uniform()\n"


def test_follow_imports_caches_what_was_linted(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tree / "pkg").mkdir()
    (tree / "pkg/__init__.py").write_text("", encoding="utf-8")
    (tree / "pkg/train.py").write_text(TRAIN, encoding="utf-8")
    ops = tree / "pkg/ops.py"
    ops.write_text(OPS, encoding="utf-8")
    expected = ["pkg/ops.py:5:16: TFG103"]
    with monkeypatch.context() as patch:  # saved between the re-check's lookup and its read
        save_after_first_digest(patch, project_mod, ops, OPS.replace("np.random.uniform()", "1"))
        assert check(capsys, "--follow-imports", "pkg") == []
    ops.write_text(OPS, encoding="utf-8")
    assert check(capsys, "--follow-imports", "pkg") == expected
    assert check(capsys, "--no-cache", "--follow-imports", "pkg") == expected


def test_a_changed_rule_under_the_same_version_misses(tmp_path: Path) -> None:
    """A copy of the package, run for real: its rule's message changes, its version does not."""
    site = tmp_path / "site"
    package = Path(tfgraphlint.__file__).parent
    shutil.copytree(package, site / "tfgraphlint", ignore=shutil.ignore_patterns("__pycache__"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "step.py").write_text(STEP, encoding="utf-8")

    def run() -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "tfgraphlint", "check", "--isolated", "-q", "step.py"],
            capture_output=True,
            text=True,
            cwd=project,
            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
            check=False,
        )
        assert proc.returncode == 1, proc.stderr
        return proc.stdout

    assert "use `tf.print()`" in run()
    rule = site / "tfgraphlint/rules/print_in_tf_function.py"
    text = rule.read_text(encoding="utf-8")
    assert text.count("use `tf.print()`") >= 1
    rule.write_text(text.replace("use `tf.print()`", "use `tf.print()` (changed)"), "utf-8")
    assert "use `tf.print()` (changed)" in run()


def test_the_code_digest_covers_the_package_libcst_and_python() -> None:
    package = Path(tfgraphlint.__file__).parent
    versions = [sys.version, sys.implementation.cache_tag, metadata.version("libcst")]
    assert cache_mod.code_digest() == cache_mod.package_digest(package, versions)
    other_libcst = [*versions[:2], "0.0.1"]
    assert cache_mod.package_digest(package, other_libcst) != cache_mod.code_digest()


def test_package_digest_follows_every_file_but_not_bytecode(tmp_path: Path) -> None:
    (tmp_path / "pkg/sub").mkdir(parents=True)
    (tmp_path / "pkg/a.py").write_text("A = 1\n", encoding="utf-8")
    (tmp_path / "pkg/sub/b.py").write_text("B = 1\n", encoding="utf-8")
    first = cache_mod.package_digest(tmp_path / "pkg", [])
    (tmp_path / "pkg/__pycache__").mkdir()
    (tmp_path / "pkg/__pycache__/a.cpython-311.pyc").write_bytes(b"\0")
    assert cache_mod.package_digest(tmp_path / "pkg", []) == first
    (tmp_path / "pkg/sub/b.py").write_text("B = 2\n", encoding="utf-8")
    changed = cache_mod.package_digest(tmp_path / "pkg", [])
    assert changed != first
    (tmp_path / "pkg/c.py").write_text("", encoding="utf-8")
    assert cache_mod.package_digest(tmp_path / "pkg", []) not in (first, changed)


WRONG_SHAPES: dict[str, Callable[[dict[str, object]], object]] = {
    "list": lambda entry: [entry],
    "entry_not_a_dict": lambda entry: {"step.py": ["not", "a", "dict"]},
    "findings_not_a_list": lambda entry: {"step.py": {**entry, "findings": 5}},
    "finding_without_fields": lambda entry: {"step.py": {**entry, "findings": [{"line": 6}]}},
    "finding_bad_value": lambda entry: {
        "step.py": {**entry, "findings": [{"line": "six", "column": 5}]}
    },
    "no_errors_key": lambda entry: {"step.py": {k: v for k, v in entry.items() if k != "errors"}},
    "bad_calls": lambda entry: {"step.py": {**entry, "calls": [1, 2]}},
}


@pytest.mark.parametrize("shape", list(WRONG_SHAPES))
def test_a_cache_file_of_the_wrong_shape_is_a_miss(
    shape: str, tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tree / "step.py").write_text(STEP, encoding="utf-8")
    assert check(capsys, "step.py") == ["step.py:6:5: TFG101"]
    [cache_file] = (tree / ".tfgraphlint_cache").glob("*/*.json")
    entry = json.loads(cache_file.read_text(encoding="utf-8"))["step.py"]
    cache_file.write_text(json.dumps(WRONG_SHAPES[shape](entry)), encoding="utf-8")
    assert check(capsys, "step.py") == ["step.py:6:5: TFG101"]
    assert check(capsys, "step.py") == ["step.py:6:5: TFG101"]  # and the entry is rewritten
    assert json.loads(cache_file.read_text(encoding="utf-8"))["step.py"] == entry


USER = """\
from mypkg import tf


@tf.function
def step(x):
    print(x)
    return x
"""
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": [line + "\n" for line in USER.splitlines()],
        },
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_a_changed_reexport_in_another_file_misses(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mypkg/__init__.py` decides whether `from mypkg import tf` is TensorFlow; the user's
    file does not change. A warm run must not serve the result of the other `__init__`."""
    (tree / "mypkg").mkdir()
    init = tree / "mypkg/__init__.py"
    init.write_text("import numpy as tf\n", encoding="utf-8")
    (tree / "mypkg/train.py").write_text(USER, encoding="utf-8")
    (tree / "mypkg/nb.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    assert check(capsys, "mypkg") == []
    assert check(capsys, "--fix", "mypkg") == []  # the fix path stores its entries too
    init.write_text("import tensorflow as tf\n", encoding="utf-8")
    expected = ["mypkg/nb.ipynb:cell 1:6:5:", "mypkg/train.py:6:5: TFG101"]  # split on spaces
    assert sorted(check(capsys, "mypkg")) == expected
    assert sorted(check(capsys, "mypkg")) == expected  # now from the cache
    init.write_text("import numpy as tf\n", encoding="utf-8")
    assert check(capsys, "mypkg") == []
    assert check(capsys, "--no-cache", "mypkg") == []
    assert check(capsys, "--follow-imports", "mypkg") == []


def test_a_warm_run_reads_no_file_for_its_reexports(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that imports `tf` from no package is served without any re-export work; one
    that does is checked again from the import statements its entry keeps, not by reading
    and screening the file (a warm run pays for the lookups only)."""
    (tree / "step.py").write_text(STEP, encoding="utf-8")
    (tree / "user.py").write_text(USER, encoding="utf-8")
    assert check(capsys, "step.py", "user.py") == ["step.py:6:5: TFG101"]
    [cache_file] = (tree / ".tfgraphlint_cache").glob("*/*.json")
    entries = json.loads(cache_file.read_text(encoding="utf-8"))
    assert "reexports" not in entries["step.py"]
    assert entries["user.py"]["imports"] == ["from mypkg import tf"]
    asked: list[str] = []
    real = cache_mod.reexports_key

    def key(path: str, data: bytes) -> cache_mod.ReexportKey | None:
        asked.append(Path(path).name)
        return real(path, data)

    monkeypatch.setattr(cli_mod, "reexports_key", key)
    assert check(capsys, "step.py", "user.py") == ["step.py:6:5: TFG101"]
    assert asked == []
    (tree / "mypkg").mkdir()
    (tree / "mypkg/__init__.py").write_text("import tensorflow as tf\n", encoding="utf-8")
    assert check(capsys, "step.py", "user.py") == ["step.py:6:5: TFG101", "user.py:6:5: TFG101"]
