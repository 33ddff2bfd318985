"""Modules that raise, exit, hang or crash on import are reported, and the run goes on."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.dynamic


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["qualname"]: f for f in doc["functions"]}


def _module(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in doc["modules"] if m["module"] == name)


def test_import_raises(broken: dict[str, Any]) -> None:
    module = _module(broken, "import_raises")
    assert (module["status"], module["reason"]) == (
        "import failed",
        "ValueError: cannot find the dataset",
    )


def test_import_calls_sys_exit(broken: dict[str, Any]) -> None:
    module = _module(broken, "import_exits")
    assert (module["status"], module["reason"]) == ("import failed", "called sys.exit(3)")


def test_import_hangs(broken: dict[str, Any]) -> None:
    module = _module(broken, "import_hangs")
    assert module["status"] == "timed out"
    assert module["reason"] == "timed out after 6 s while importing `import_hangs`"


def test_import_segfaults(broken: dict[str, Any]) -> None:
    module = _module(broken, "import_segfaults")
    assert module["status"] == "crashed"
    assert "killed by SIGSEGV" in module["reason"]
    assert "import_segfaults.py:8" in module["reason"]  # faulthandler's frame


def test_functions_of_broken_modules_are_listed_with_the_reason(broken: dict[str, Any]) -> None:
    never = [f for f in broken["functions"] if f["qualname"] == "never"]
    assert len(never) == 4
    assert all(f["status"] == "not traced" and f["reason"] for f in never)


def test_the_run_goes_on_after_a_hang(broken: dict[str, Any]) -> None:
    statuses = [m["status"] for m in broken["modules"]]
    assert statuses == ["timed out", "import failed", "import failed", "crashed"]
    assert broken["exit_code"] == 1
