"""`tfgraphlint trace` on a notebook: its code cells, in order, as one module in the worker.

The parent writes the joined code cells (IPython syntax masked, as `tfgraphlint check` sees
them) to a module file in a temporary folder, and the worker imports and traces it like any
module, with the same timeout. Lines keep the joined numbering, which `engine.notebook` maps
back to cells for the report.

A cell that raises while the module runs (a dataset it cannot download: the worker has no
network; a file it cannot read) stops the import. The failing top-level statement and the rest
of its cell are then blanked (their lines kept, empty, so no other line moves; for a missing
package, `import x` alone) and the module is run again, up to `MAX_SKIPPED_CELLS` times: the
cells after it still run, and the report names each skipped part and why. A failure with no
line in the notebook (a timeout, a crash), or inside a function whose caller is unknown, ends
the notebook's run there and is reported as for a module.
"""

from __future__ import annotations

import ast
import re
import warnings
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

    def skip_at(self, line: int, reason: str) -> bool:
        """Blank the top-level statement holding `line` (of the joined code) and the rest of
        its cell (only the statement for a missing package), and record why. False when the
        line is in no top-level statement of a cell, in a `def` or `class` (the failing call
        is elsewhere), or no run is left."""
        if not 1 <= line <= len(self.notebook.line_map) or len(self.skipped) >= MAX_SKIPPED_CELLS:
            return False
        statement = _statement_at(self.lines, line)
        if statement is None:
            return False
        first, last = statement
        cell, first_in_cell = self.notebook.line_map[first - 1]
        only_statement = reason.startswith(("ModuleNotFoundError", "ImportError"))
        end = last
        if not only_statement:
            while end < len(self.notebook.line_map) and self.notebook.line_map[end][0] == cell:
                end += 1
        for index in range(first - 1, end):
            self.lines[index] = "\n"
        what = "the statement" if only_statement or end == last else "the rest of the cell"
        self.skipped.append(
            {"cell": cell, "line": first_in_cell, "skipped": what, "reason": reason}
        )
        self.attempt += 1
        return True


def _statement_at(lines: list[str], line: int) -> tuple[int, int] | None:
    """(first, last) lines of the top-level statement holding `line`, None if it is a
    `def`/`class` or there is none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in tree.body:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        end = node.end_lineno or node.lineno
        if start <= line <= end:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                return None
            return start, end
    return None


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
    last: tuple[Any, Any] | None = None
    while True:
        path = run.write()
        outcome, assembled = execute(path)
        if outcome is None and last is not None:
            # Nothing left to trace once the failing part is blanked (its imports, say):
            # report the failure that led there.
            run.skipped.pop()
            return last
        imported = getattr(outcome, "imported", None)
        if not imported or imported.get("ok"):
            return outcome, assembled
        error = imported.get("error") or {}
        line = error.get("line")
        reason = str(error.get("message") or "raised")
        last = outcome, assembled
        if not isinstance(line, int) or not run.skip_at(line, reason):
            return outcome, assembled
