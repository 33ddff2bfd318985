"""The worker and its supervisor against modules that break the rules: colliding module names,
garbage on the result channel, a patched `json`, forks, a crash under folders named like
library ones, and paths that cannot be planned. One `tfgraphlint trace` run over a copy of
`data/isolation` (in the session's temporary folder) answers every test here.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.dynamic

DATA = Path(__file__).parent / "data" / "isolation"
TIMEOUT_S = 60  # per module: a module that waited for it would make the run this much slower

# In this order: each restart costs a TensorFlow import, so the modules that end the worker
# come last. The collide folder gives a/helpers.py, a/main.py, b/helpers.py, b/main.py.
ORDER = (
    "loop.py",
    "deep.py",
    "collide",
    "channel/writes_garbage.py",
    "process/fork_returns.py",
    "channel/patches_json.py",
    "channel/forges_frame.py",  # the worker restarts after it
    "process/fork_exits.py",  # and after it
    "crash/site-packages/tfgraphlint/segfaults_here.py",
)


def _build(tree: Path) -> None:
    shutil.copytree(DATA, tree)
    (tree / "loop.py").symlink_to(tree / "loop.py")  # a symlink to itself: a loop
    deep = "-" * 5000 + "1"
    (tree / "deep.py").write_text(
        f"import tensorflow as tf\n\n\n@tf.function\ndef f(x):\n    return x\n\n\ny = {deep}\n"
    )
    # A folder named site-packages is skipped by default: this tree checks every folder.
    (tree / "pyproject.toml").write_text('[tool.tfgraphlint]\nexclude = [".git"]\n')


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The run's JSON report, with `tree` (where it ran) and `seconds` (how long it took).
    The first xdist worker to get here runs it; the others wait on the lock and read it."""
    base = tmp_path_factory.getbasetemp()
    folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    tree, result = folder / "isolation", folder / "isolation.json"
    with open(folder / "isolation.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            _build(tree)
            start = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "tfgraphlint", "trace", "--format", "json"]
                + ["--config", str(tree / "pyproject.toml"), "--timeout", str(TIMEOUT_S)]
                + list(ORDER),
                capture_output=True,
                text=True,
                cwd=tree,
                timeout=900,
            )
            seconds = time.monotonic() - start
            try:
                doc = json.loads(proc.stdout)
            except ValueError:
                doc = {"crash": proc.stdout + proc.stderr}
            doc.update(exit_code=proc.returncode, seconds=seconds, tree=str(tree))
            result.write_text(json.dumps(doc))
    doc = json.loads(result.read_text())
    assert "crash" not in doc, doc.get("crash")
    return doc


def _module(doc: dict[str, Any], path: str) -> dict[str, Any]:
    return next(m for m in doc["modules"] if m["path"] == path)


def _function(doc: dict[str, Any], qualname: str) -> dict[str, Any]:
    return next(f for f in doc["functions"] if f["qualname"] == qualname)


def _alive(pid: int) -> bool:
    """A process that runs (a zombie, killed and waiting for a reaper, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


# ------------------------------------------------------------------ item 9: module names


def test_each_module_imports_its_own_helpers(run: dict[str, Any]) -> None:
    """a/main.py and b/main.py both import `helpers`: each traces its own folder's `scale`
    (b's takes two arguments; a's would raise a TypeError)."""
    for path, qualname in (("collide/a/main.py", "run_a"), ("collide/b/main.py", "run_b")):
        assert _module(run, path)["module"] == "main"
        report = _function(run, qualname)
        assert (report["status"], report["reason"]) == ("traced", None)


# ------------------------------------------------------------------ item 4: the channel


def test_garbage_on_the_channel_is_not_a_result(run: dict[str, Any]) -> None:
    """A fake result line on the reply pipe (and stdout, stderr) is skipped: the module's own
    function is traced."""
    assert _module(run, "channel/writes_garbage.py")["status"] == "imported"
    assert _function(run, "still_traced")["status"] == "traced"


def test_patched_json_does_not_reach_the_worker(run: dict[str, Any]) -> None:
    assert _module(run, "channel/patches_json.py")["status"] == "imported"
    assert _function(run, "traced_despite_json")["status"] == "traced"


def test_an_unreadable_message_fails_its_module_only(run: dict[str, Any]) -> None:
    module = _module(run, "channel/forges_frame.py")
    assert module["status"] == "crashed"
    assert module["reason"].startswith(
        "sent an unreadable message while importing `forges_frame`: not JSON"
    )
    assert _function(run, "never_reached")["status"] == "not traced"
    # The modules before it keep their results, and the run goes on with a new worker.
    statuses = [m["status"] for m in run["modules"]]
    assert statuses == ["imported"] * 5 + ["crashed"] * 3


# ------------------------------------------------------------------ item 8: processes


def test_a_forked_child_that_returns_does_not_speak(run: dict[str, Any]) -> None:
    """The child comes back into the worker's loop: it ends before it answers or takes a
    request, so the module and the next ones get their own results once."""
    assert _module(run, "process/fork_returns.py")["status"] == "imported"
    assert _function(run, "traced_once")["status"] == "traced"
    assert [f["qualname"] for f in run["functions"]].count("traced_once") == 1
    child = int((Path(run["tree"]) / "process/fork_returns.child").read_text())
    assert not _alive(child)


def test_a_module_that_forks_and_exits(run: dict[str, Any]) -> None:
    """Reported as the exit it is, at once (its child holds the pipe open: no waiting for
    the timeout), and the child is killed with the worker's process group."""
    module = _module(run, "process/fork_exits.py")
    assert module["status"] == "crashed"
    assert module["reason"] == (
        "crashed while importing `fork_exits`: exited with status 0; "
        "processes it started were still running and were killed"
    )
    child = int((Path(run["tree"]) / "process/fork_exits.child").read_text())
    assert not _alive(child)
    assert run["seconds"] < TIMEOUT_S + 240  # three TensorFlow imports, no timeout


# ------------------------------------------------------------------ item 16: crash location


def test_crash_location_under_folders_named_like_libraries(run: dict[str, Any]) -> None:
    """The user's frame is kept though its path holds `site-packages` and `tfgraphlint`."""
    module = _module(run, "crash/site-packages/tfgraphlint/segfaults_here.py")
    assert module["status"] == "crashed"
    assert "killed by SIGSEGV" in module["reason"]
    assert "at segfaults_here.py:8 in <module>" in module["reason"]


# ------------------------------------------------------------------ item 6: bad paths


def test_paths_that_cannot_be_planned_are_errors_of_their_own(run: dict[str, Any]) -> None:
    errors = {e["path"]: e["message"] for e in run["errors"]}
    assert list(errors) == ["loop.py", "deep.py"]
    assert errors["loop.py"] == (
        "cannot read: [Errno 40] Too many levels of symbolic links: 'loop.py'"
    )
    # CPython's parser gives up, or parses it and the depth check refuses it.
    assert errors["deep.py"].startswith("too deeply nested to ")
    assert run["exit_code"] == 1
