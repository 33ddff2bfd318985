"""The suite's own rules (`tests/conftest.py`), checked on a throw-away copy: a session that
writes into its checkout fails, naming the file; the corpus tier (downloads) runs only when
asked, whatever `-m` says."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TESTS = """\
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent


def test_clean(tmp_path):
    (tmp_path / "fine.txt").write_text("x")


@pytest.mark.corpus
def test_on_the_corpus():
    print("CORPUS TEST RAN")


def test_writes(request):
    if request.config.getoption("-k") == "writes":
        (HERE / "written.txt").write_text("oops")
"""


def _session(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    checkout = tmp_path / "checkout"
    (checkout / "tests").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "tests" / "conftest.py", checkout / "tests" / "conftest.py")
    (checkout / "tests" / "test_w.py").write_text(TESTS)
    env = {k: v for k, v in os.environ.items() if k != "TFGRAPHLINT_RUN_CORPUS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", "tests", *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_session_that_writes_into_the_checkout_fails(tmp_path: Path) -> None:
    clean = _session(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "wrote into the checkout" not in clean.stderr
    dirty = _session(tmp_path, "-k", "writes")
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert "new: written.txt" in dirty.stderr
    assert "1 passed" in dirty.stdout  # the test itself passed: the guard failed the run


def test_the_corpus_tier_runs_only_when_asked(tmp_path: Path) -> None:
    for args in ((), ("-m", "not slow"), ("-m", "corpus")):
        default = _session(tmp_path, *args)
        assert "CORPUS TEST RAN" not in default.stdout, args
    asked = _session(tmp_path, "--corpus")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert "CORPUS TEST RAN" in asked.stdout
