"""`worker.isolate` on real imports, without TensorFlow: between two modules of a `trace` run,
an earlier module's import that the next one's folders would import from elsewhere is
forgotten, and one that resolves to the same file stays (end to end, with TensorFlow:
tests/dynamic/test_worker_isolation.py)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfgraphlint.dynamic import worker

NAMES = ("tfg_iso_helpers", "tfg_iso_shared", "tfg_iso_pkg")


@pytest.fixture
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, ...]]:
    a, b, common = tmp_path / "a", tmp_path / "b", tmp_path / "common"
    for folder, value in ((a, "a"), (b, "b")):
        (folder / "tfg_iso_pkg").mkdir(parents=True)
        (folder / "tfg_iso_helpers.py").write_text(f"WHO = {value!r}\n")
        (folder / "tfg_iso_pkg" / "__init__.py").write_text("")
        (folder / "tfg_iso_pkg" / "mod.py").write_text(f"WHO = {value!r}\n")
    common.mkdir()
    (common / "tfg_iso_shared.py").write_text("LOADS = []\n")
    monkeypatch.setattr(sys, "path", list(sys.path))  # isolate rewrites it in place
    monkeypatch.setattr(worker, "BASELINE", worker.Baseline.now())
    yield a, b, common
    for name in [k for k in sys.modules if k.partition(".")[0] in NAMES]:
        del sys.modules[name]


def test_colliding_modules_are_forgotten(roots: tuple[Path, ...]) -> None:
    a, b, common = roots
    assert worker.isolate([str(a), str(common)]) == []
    assert importlib.import_module("tfg_iso_helpers").WHO == "a"
    assert importlib.import_module("tfg_iso_pkg.mod").WHO == "a"
    shared = importlib.import_module("tfg_iso_shared")

    assert worker.isolate([str(b), str(common)]) == ["tfg_iso_helpers", "tfg_iso_pkg"]
    assert sys.path[:2] == [str(b), str(common)] and str(a) not in sys.path
    assert "tfg_iso_pkg.mod" not in sys.modules  # submodules go with their package
    assert importlib.import_module("tfg_iso_helpers").WHO == "b"
    assert importlib.import_module("tfg_iso_pkg.mod").WHO == "b"
    assert importlib.import_module("tfg_iso_shared") is shared  # same file: imported once


def test_modules_of_folders_no_longer_on_the_path_are_forgotten(
    roots: tuple[Path, ...],
) -> None:
    a, _, common = roots
    worker.isolate([str(a)])
    importlib.import_module("tfg_iso_helpers")
    assert worker.isolate([str(common)]) == ["tfg_iso_helpers"]
    with pytest.raises(ModuleNotFoundError):  # as in a fresh interpreter
        importlib.import_module("tfg_iso_helpers")
