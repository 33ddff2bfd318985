"""The pre-commit hook, for real: `pre-commit try-repo` installs this repository's committed
HEAD into a hook environment (libcst comes from PyPI) and runs the `tfgraphlint` hook on a
temporary git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BAD = """\
import tensorflow as tf


@tf.function
def train_step(x):
    print("tracing", x)
    return x * 2
"""
GOOD = BAD.replace('print("tracing", x)', 'tf.print("step", x)')
NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Analysis"]},
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "outputs": [],
            "source": ["%matplotlib inline\n", "import tensorflow as tf\n"],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {},
            "outputs": [],
            "source": ["@tf.function\n", "def f(x):\n", "    print(x)\n", "    return x"],
        },
    ],
    "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

pytestmark = pytest.mark.slow


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@pytest.fixture
def head_commit() -> str:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of tfgraphlint")
    if not (ROOT / ".pre-commit-hooks.yaml").is_file():
        pytest.skip("no .pre-commit-hooks.yaml")
    return git(ROOT, "rev-parse", "HEAD")


def try_repo(cwd: Path, ref: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(home)
    return subprocess.run(
        ["pre-commit", "try-repo", str(ROOT), "tfgraphlint", "--ref", ref, "--all-files"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_hook_fails_on_a_finding_and_passes_when_clean(head_commit: str, tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "train.py").write_text(BAD, encoding="utf-8")
    (repo / "model.py").write_text(GOOD, encoding="utf-8")
    (repo / "notes.txt").write_text("print('not python')\n", encoding="utf-8")
    (repo / "analysis.ipynb").write_text(json.dumps(NOTEBOOK, indent=1), encoding="utf-8")
    git(repo, "add", "-A")
    home = tmp_path / "pre-commit-home"

    failed = try_repo(repo, head_commit, home)
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "Failed" in output
    assert "train.py:6:5: TFG101 " in output
    assert "model.py:" not in output
    assert "analysis.ipynb:cell 3:3:5: TFG101 " in output  # `types_or: [..., jupyter]`

    git(repo, "rm", "-q", "--cached", "train.py", "analysis.ipynb")
    (repo / "train.py").unlink()
    passed = try_repo(repo, head_commit, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout


def readme_snippet() -> str:
    """The YAML block of the README's pre-commit bullet, exactly as a user would paste it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("- **pre-commit**") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    block = section[start : section.index("```", start)]
    return textwrap.dedent(block)


def test_readme_snippet_pastes_and_runs(head_commit: str, tmp_path: Path) -> None:
    snippet = readme_snippet()
    assert snippet.startswith("repos:\n")
    assert snippet.count("<URL of this repository>") == 1
    assert snippet.count("<commit sha or tag>") == 1
    clone = tmp_path / "tfgraphlint-clone"
    git(tmp_path, "clone", "-q", str(ROOT), str(clone))
    config = snippet.replace("<URL of this repository>", str(clone)).replace(
        "<commit sha or tag>", head_commit
    )
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    (repo / "train.py").write_text(BAD, encoding="utf-8")
    (repo / "model.py").write_text(GOOD, encoding="utf-8")
    git(repo, "add", "-A")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    proc = subprocess.run(
        ["pre-commit", "run", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "tfgraphlint" in output and "Failed" in output
    assert "train.py:6:5: TFG101 " in output
    assert "model.py:" not in output
