"""`tfgraphlint trace` on a notebook: the code cells run in order in the worker, a cell that
raises is skipped (named, with its error) and the later cells still run, and functions and
findings are reported by cell."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.dynamic


def test_notebook_is_traced_by_cell(notebook: dict[str, Any]) -> None:
    [module] = notebook["modules"]
    assert module["path"].endswith("notebook_trace.ipynb")
    assert module["status"] == "imported"
    assert module["cells_skipped"] == [
        {
            "cell": 3,
            "line": 1,
            "skipped": "the statement",
            "reason": "FileNotFoundError: [Errno 2] No such file or directory: "
            "'data/missing_dataset.csv'",
        }
    ]
    [report] = notebook["functions"]
    assert (report["qualname"], report["cell"], report["line"]) == ("scale", 4, 6)
    assert (report["status"], report["traces"]) == ("traced", 1)
    assert report["path"] == module["path"]


def test_notebook_findings_are_by_cell(notebook: dict[str, Any]) -> None:
    [report] = notebook["functions"]
    [finding] = report["findings"]
    assert (finding["code"], finding["cell"], finding["line"], finding["end_line"]) == (
        "TFG101",
        4,
        2,
        2,
    )
    assert finding["confirmed"] == "confirmed"
    assert finding["path"] == report["path"]
    assert "(called from tf.function `scale`, line 7)" in finding["message"]
    [effect] = report["side_effects"]
    assert (effect["cell"], effect["line"], effect["file"]) == (4, 2, report["path"])
    assert notebook["exit_code"] == 0
