"""`tfgraphlint trace` on a notebook: its code cells, in order, as one module in the worker.

The parent writes the joined code cells (IPython syntax masked, as `tfgraphlint check` sees
them) to a module file in a temporary folder, and the worker imports and traces it like any
module, with the same timeout. Lines keep the joined numbering, which `engine.notebook` maps
back to cells for the report.

A cell that raises while the module runs (a dataset it cannot download: the worker has no
network; a file it cannot read) stops the import. That cell is then blanked (its lines kept,
empty, so no other line moves) and the module is run again, up to `MAX_SKIPPED_CELLS` times:
the cells after it still run, and the report names each skipped cell and why. A cell whose
failure gives no line (a timeout, a crash) ends the notebook's run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfgraphlint.config import Config
from tfgraphlint.engine.notebook import Notebook, read_notebook, split_lines

MAX_SKIPPED_CELLS = 5


@dataclass(slots=True)
class NotebookRun:
    """A notebook's module file and what running it skipped."""

    notebook: Notebook
    folder: Path  # the temporary folder of this notebook's runs
    module: str
    lines: list[str]  # the joined code cells, with the skipped ones blanked
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {"cell", "reason"}
    attempt: int = 0

    def write(self) -> Path:
        """A fresh module file per run (a new folder: no stale import or bytecode)."""
        folder = self.folder / f"run{self.attempt}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.module}.py"
        path.write_text("".join(self.lines), encoding="utf-8")
        return path

    def skip_cell_at(self, line: int, reason: str) -> bool:
        """Blank the cell holding `line` (of the joined code) and record why; False when
        there is no such cell or no run left."""
        if not 1 <= line <= len(self.notebook.line_map):
            return False
        if len(self.skipped) >= MAX_SKIPPED_CELLS:
            return False
        cell = self.notebook.line_map[line - 1][0]
        if any(s["cell"] == cell for s in self.skipped):
            return False
        for index, (number, _) in enumerate(self.notebook.line_map):
            if number == cell:
                self.lines[index] = "\n"
        self.skipped.append({"cell": cell, "reason": reason})
        self.attempt += 1
        return True


def module_name_for(path: Path) -> str:
    """An importable name for a notebook's module: its stem, made an identifier."""
    name = re.sub(r"\W", "_", path.stem)
    return f"nb_{name}" if not name or not name.isidentifier() or name[0].isdigit() else name


def prepare(path: Path, folder: Path) -> NotebookRun | str | None:
    """The notebook's run, None when it has no code to run, or why it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    notebook = read_notebook(data, str(path), Config())
    if not isinstance(notebook, Notebook):
        return notebook.message
    if not notebook.python or not notebook.cells:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return NotebookRun(notebook, folder, module_name_for(path), split_lines(notebook.text))


def place(notebook: Notebook, line: Any) -> dict[str, int] | None:
    """{"cell", "line"} of a line of the joined code, or None."""
    if not isinstance(line, int) or not 1 <= line <= len(notebook.line_map):
        return None
    cell, in_cell = notebook.line_map[line - 1]
    return {"cell": cell, "line": in_cell}


def map_report(notebook: Notebook, report: dict[str, Any]) -> None:
    """A function report's lines (joined code) as lines of cells, in place: each `line`
    becomes the line in its cell, with `cell` beside it."""

    def fix(item: dict[str, Any]) -> None:
        where = place(notebook, item.get("line"))
        if where is not None:
            item.update(where)
            if isinstance(item.get("message"), str):
                item["message"] = notebook.message_in_cells(item["message"], where["cell"])
        end = place(notebook, item.get("end_line"))
        if end is not None:
            item["end_line"] = end["line"]
        for key in ("path", "file"):  # the temporary module is the notebook
            if isinstance(item.get(key), str):
                item[key] = report["path"]
        fixed = item.get("fix")
        if isinstance(fixed, dict):
            for edit in fixed.get("edits") or []:
                for key in ("line", "end_line"):
                    at = place(notebook, edit.get(key))
                    if at is not None:
                        edit[key] = at["line"]

    for key in ("findings", "side_effects", "conversions", "prints"):
        for item in report.get(key) or []:
            if isinstance(item, dict):
                fix(item)
    fix(report)
    error = report.get("error")
    if isinstance(error, dict):
        fix(error)


def run_notebook(
    run: NotebookRun,
    execute: Callable[[Path], tuple[Any, Any]],
) -> tuple[Any, Any]:
    """Run the notebook's module through `execute` (write, plan, trace, assemble: the
    caller's), skipping cells that raise, until it imports or no cell can be skipped.
    `execute` returns (outcome, assembled); the last one is returned."""
    while True:
        path = run.write()
        outcome, assembled = execute(path)
        imported = getattr(outcome, "imported", None)
        if not imported or imported.get("ok"):
            return outcome, assembled
        error = imported.get("error") or {}
        line = error.get("line")
        reason = str(error.get("message") or "raised")
        if not isinstance(line, int) or not run.skip_cell_at(line, reason):
            return outcome, assembled
