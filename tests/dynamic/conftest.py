"""The `tfgraphlint trace` runs the dynamic tests read.

Each run imports TensorFlow in fresh worker processes (15-20 s each on a slow disk), so both
runs start in the background as soon as the first dynamic test starts, once for all xdist
workers, and the tests that need a run wait for its JSON.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"

RUNS: dict[str, tuple[str, ...]] = {
    # The retrace, conversion and frozen-value cases, with an examples file and a factory.
    "traced": (
        "--config",
        str(DATA / "trace_config.toml"),
        str(DATA / "retrace_cases.py"),
        str(DATA / "conversion_cases.py"),
        str(DATA / "frozen_cases.py"),
    ),
    # A realistic training script, imported first by the project's entry module;
    # `{folder}` is this session's folder.
    "project": (
        "--write-examples",
        "{folder}/project_examples.py",
        str(DATA / "project_main.py"),
        str(DATA / "project_cases.py"),
    ),
    # Modules that hang, raise, exit and crash on import, in that order: the run goes on
    # after the hang (one worker restart).
    "broken": (
        "--timeout",
        "6",
        *(str(DATA / f"import_{kind}.py") for kind in ("hangs", "raises", "exits", "segfaults")),
    ),
    # A notebook: magics, a cell that raises (skipped), a helper in an earlier cell.
    "notebook": (str(DATA / "notebook_trace.ipynb"),),
}

_RUNNER = """
import json, os, subprocess, sys
out, args = sys.argv[1], sys.argv[2:]
proc = subprocess.run([sys.executable, "-m", "tfgraphlint", "trace", "--format", "json", *args],
                      capture_output=True, text=True)
try:
    doc = json.loads(proc.stdout)
except ValueError:
    doc = {"crash": proc.stdout + proc.stderr}
doc["exit_code"] = proc.returncode
with open(out + ".partial", "w") as f:
    json.dump(doc, f)
os.replace(out + ".partial", out)
"""


def _folder(factory: pytest.TempPathFactory) -> Path:
    """A folder of this session only, shared by all its xdist workers (their base temps are
    `popen-gwN` folders under the session's own)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def _start_trace_runs(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = _folder(tmp_path_factory)
    with open(folder / "trace_runs.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = folder / "trace_runs.started"
        if not marker.exists():
            for name, args in RUNS.items():
                arguments = [a.replace("{folder}", str(folder)) for a in args]
                subprocess.Popen(
                    [sys.executable, "-c", _RUNNER, str(folder / f"{name}.json"), *arguments],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            marker.touch()


def _result(factory: pytest.TempPathFactory, name: str) -> dict[str, Any]:
    path = _folder(factory) / f"{name}.json"
    deadline = time.monotonic() + 600
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the `{name}` trace run did not finish in 600 s")
        time.sleep(0.2)
    doc: dict[str, Any] = json.loads(path.read_text())
    assert "crash" not in doc, doc.get("crash")
    return doc


@pytest.fixture(scope="session")
def traced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _result(tmp_path_factory, "traced")


@pytest.fixture(scope="session")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _result(tmp_path_factory, "notebook")


@pytest.fixture(scope="session")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _result(tmp_path_factory, "broken")


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _result(tmp_path_factory, "project")


@pytest.fixture(scope="session")
def project_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the `project` run wrote its examples skeleton."""
    return _folder(tmp_path_factory)
