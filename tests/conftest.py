"""Session-wide rules of the suite: it writes nothing into the checkout, and the tier that
downloads (the mature-library corpus, built from PyPI) runs only when asked.

- No bytecode: `sys.dont_write_bytecode` here, and `PYTHONDONTWRITEBYTECODE=1` in the
  environment that xdist workers and the tests' subprocesses inherit. No `.pytest_cache`:
  `-p no:cacheprovider` in `addopts`. Hypothesis's caches go to a temporary folder.
- The checkout is listed (every file and folder outside `.git`, with size and mtime) when the
  session starts and again when it ends, in the main process: a file that appeared, changed or
  went fails the run, named. The same check runs when the corpus tier is on, except for the
  corpus folder (`benchmarks/.corpus`), which that tier builds.
- `@pytest.mark.corpus` tests need the corpus (`benchmarks/corpus.py` downloads it): they are
  deselected unless `--corpus` is given or `TFGRAPHLINT_RUN_CORPUS=1` is set. A deselection,
  not `-m "not corpus"` in `addopts`, so that a `-m` of one's own does not bring them back.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
# Hypothesis keeps caches (`constants/`, `unicode_data/`) in `./.hypothesis`: one folder
# outside the checkout for the session and its xdist workers (who inherit the variable).
_HYPOTHESIS_HOME = "TFGRAPHLINT_TEST_HYPOTHESIS_HOME"
if _HYPOTHESIS_HOME not in os.environ:
    os.environ[_HYPOTHESIS_HOME] = tempfile.mkdtemp(prefix="tfgraphlint-hypothesis-")
    _OWN_HYPOTHESIS_HOME = True
else:
    _OWN_HYPOTHESIS_HOME = False
try:
    from hypothesis.configuration import set_hypothesis_home_dir
except ImportError:  # not installed: nothing writes there
    pass
else:
    set_hypothesis_home_dir(os.environ[_HYPOTHESIS_HOME])

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = "benchmarks/.corpus"
_Listing = dict[str, tuple[int, int]]
_BEFORE = pytest.StashKey[_Listing]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--corpus",
        action="store_true",
        default=False,
        help="also run the tests on the mature-library corpus (built from PyPI if missing)",
    )


def corpus_tier_on(config: pytest.Config) -> bool:
    return bool(config.getoption("--corpus")) or os.environ.get("TFGRAPHLINT_RUN_CORPUS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if corpus_tier_on(config):
        return
    kept = [item for item in items if item.get_closest_marker("corpus") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def checkout_listing(root: Path, skip: tuple[str, ...] = ()) -> _Listing:
    """Every file and folder under `root` but `.git` and `skip` (relative paths of folders
    and files), with its size and modification time (0, 0 for a folder)."""
    found: _Listing = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        dirs[:] = [
            d for d in dirs if d != ".git" and os.path.normpath(os.path.join(rel, d)) not in skip
        ]
        for name in dirs:
            found[os.path.normpath(os.path.join(rel, name)) + "/"] = (0, 0)
        for name in files:
            if os.path.normpath(os.path.join(rel, name)) in skip:
                continue
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:  # gone meanwhile: it shows up as gone
                continue
            found[os.path.normpath(os.path.join(rel, name))] = (st.st_size, st.st_mtime_ns)
    return found


def listing_changes(before: _Listing, after: _Listing) -> list[str]:
    """What differs between two listings, one line per path."""
    lines = [f"new: {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"gone: {p}" for p in sorted(before.keys() - after.keys())]
    lines += [
        f"changed: {p}" for p in sorted(before.keys() & after.keys()) if before[p] != after[p]
    ]
    return lines


def _skipped(config: pytest.Config) -> tuple[str, ...]:
    # The corpus tier fills the corpus folder, and locks it with a file beside it.
    corpus = os.path.normpath(CORPUS_DIR)
    return (corpus, corpus + ".lock") if corpus_tier_on(config) else ()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _is_worker(session.config):
        session.stash[_BEFORE] = checkout_listing(ROOT, _skipped(session.config))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _OWN_HYPOTHESIS_HOME and not _is_worker(session.config):
        shutil.rmtree(os.environ[_HYPOTHESIS_HOME], ignore_errors=True)
    before = session.stash.get(_BEFORE, None)
    if before is None:
        return
    changes = listing_changes(before, checkout_listing(ROOT, _skipped(session.config)))
    if changes:
        shown = "\n  ".join(changes[:20])
        more = f"\n  ... and {len(changes) - 20} more" if len(changes) > 20 else ""
        sys.stderr.write(f"\nthe test session wrote into the checkout {ROOT}:\n  {shown}{more}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
