"""Jupyter notebooks (`.ipynb`): one Python source made of the code cells, and back.

Pure Python and `json` (no nbformat, no TensorFlow). A notebook is checked as ruff checks it:

- The code cells are joined in order into one module, so a helper defined in one cell and
  called from a `tf.function` in a later cell is followed as within one module. The joined
  source keeps every line of every code cell: joined line -> (cell, line in cell) is a table.
- IPython syntax is kept out of the analysis but not out of the numbering: a line magic
  (`%matplotlib inline`), a shell line (`!pip install x`), their assignment forms
  (`files = !ls`, `t = %timeit -o f()`), help (`np.mean?`, `?np.mean`) and their `\\`
  continuations become an empty line (`pass` when indented, so a block stays a block). Only
  lines that start a statement are looked at: a `!` or `?` inside a string is left alone.
- A cell magic cell (`%%bash`, `%%writefile f.py`) is not Python and is left out whole, except
  the magics whose body is Python run by the kernel (`%%time`, `%%capture`, ...): only their
  first line is left out. IPython's *automagics* (`pip install x` without `%`) are recognised
  only in a cell that does not parse otherwise.
- A code cell that still does not parse is reported (naming the cell) and left out; the other
  cells are still checked.
- Cell numbers are 1-based over all cells, markdown included, as in ruff's output.

Writing back (`--fix`) replaces only the `source` of the cells that changed and serialises the
notebook again with the indent, key order, escaping and final newline it was read with. A
notebook whose bytes that serialisation does not reproduce exactly (odd spacing, duplicate
keys, `1e5` floats) is never rewritten: its fixes are refused with an error.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tfgraphlint._types import FileError, Finding, Fix, LintResult
from tfgraphlint.config import Config
from tfgraphlint.discovery.reexports import reexports_in_text
from tfgraphlint.engine.prefilter import may_contain_compiled_code

NOTEBOOK_SUFFIX = ".ipynb"

# One physical line with its ending, as Python's tokenizer and libCST count lines (not
# `str.splitlines`, which also splits on form feeds and U+2028).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")

# Cell magics whose body is Python that the kernel runs: only the magic line is left out.
PYTHON_CELL_MAGICS = frozenset({"capture", "debug", "prun", "python", "python3", "time", "timeit"})
# Line magics IPython runs without `%` (automagic), looked for only in a cell that would not
# parse otherwise: `pip install x` is a syntax error in Python.
AUTOMAGICS = frozenset(
    {
        "cd",
        "conda",
        "env",
        "load_ext",
        "ls",
        "matplotlib",
        "mkdir",
        "pip",
        "pwd",
        "reload_ext",
        "rm",
        "tensorboard",
        "time",
        "timeit",
        "cat",
        "cp",
        "mv",
    }
)
_ESCAPE = re.compile(r"[%!?]")  # `%magic`, `!shell`, `?help` at the start of a statement
_ASSIGN_ESCAPE = re.compile(r"[A-Za-z_][\w.\[\], ]*?=\s*[%!]")  # `files = !ls`, `r = %time f()`
_HELP_SUFFIX = re.compile(r"[A-Za-z_*][\w.*\[\]]*\?\??\s*(#.*)?")  # `np.mean?`, `np.*load*??`
# A cheap test before the line scanner: could any line hold IPython syntax?
_MAY_HAVE_MAGIC = re.compile(r"^[ \t]*[%!?]|\?[ \t]*(#.*)?$|=[ \t]*[%!]", re.MULTILINE)
_AUTOMAGIC = re.compile(r"([a-z_]+)(\s+[^=\s(].*)?")


def is_notebook(path: str) -> bool:
    return path.lower().endswith(NOTEBOOK_SUFFIX)


def split_lines(text: str) -> list[str]:
    """Physical lines with their endings."""
    return _LINE.findall(text)


class NotebookError(Exception):
    """A notebook that cannot be read as one: bad JSON, no `cells` list, a bad cell."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(slots=True)
class _Scan:
    """Where a scan of Python lines stands at the end of a line."""

    depth: int = 0  # open brackets
    quote: str | None = None  # the open string's quote (`'''` for a triple-quoted one)
    continued: bool = False  # the line ended with a backslash

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.quote is None and not self.continued


_PREFIX_CHARS = frozenset("rRbBuUfF")


def _scan_line(line: str, state: _Scan) -> None:
    """Advance `state` over one physical line of Python (brackets, strings, comments)."""
    body = line.rstrip("\r\n")
    i, n = 0, len(body)
    state.continued = False
    while i < n:
        ch = body[i]
        if state.quote is not None:
            if ch == "\\":
                i += 2
                continue
            if body.startswith(state.quote, i):
                i += len(state.quote)
                state.quote = None
                continue
            i += 1
            continue
        if ch == "#":
            return
        if ch in "'\"":
            triple = ch * 3
            state.quote = triple if body.startswith(triple, i) else ch
            i += len(state.quote)
            continue
        if ch in "([{":
            state.depth += 1
        elif ch in ")]}":
            state.depth = max(0, state.depth - 1)
        elif ch == "\\" and i == n - 1:
            state.continued = True
        i += 1
    if state.quote is not None and len(state.quote) == 1:
        if body.endswith("\\"):
            state.continued = True
        else:
            state.quote = None  # an unterminated one-line string: Python's error, not ours


def _is_magic(stripped: str, automagic: bool) -> bool:
    if _ESCAPE.match(stripped) or _ASSIGN_ESCAPE.match(stripped):
        return True
    if _HELP_SUFFIX.fullmatch(stripped.rstrip("\r\n")):
        return True
    if automagic:
        match = _AUTOMAGIC.fullmatch(stripped.rstrip("\r\n"))
        return match is not None and match.group(1) in AUTOMAGICS
    return False


def mask_magics(lines: Sequence[str], *, automagic: bool = False) -> tuple[list[str], set[int]]:
    """The lines with IPython syntax replaced (same count), and the 0-based indices replaced."""
    out: list[str] = []
    masked: set[int] = set()
    state = _Scan()
    in_magic = False
    for index, line in enumerate(lines):
        ending = line[len(line.rstrip("\r\n")) :] or "\n"
        if in_magic:  # a continuation line of a magic
            out.append(ending)
            masked.add(index)
            in_magic = line.rstrip("\r\n").endswith("\\")
            continue
        stripped = line.lstrip(" \t")
        if state.at_statement_start and stripped.strip() and _is_magic(stripped, automagic):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}pass{ending}" if indent else ending)
            masked.add(index)
            in_magic = line.rstrip("\r\n").endswith("\\")
            continue
        out.append(line)
        _scan_line(line, state)
    return out, masked


def _cell_magic(lines: Sequence[str]) -> str | None:
    """The name of the cell magic opening the cell (`%%time` -> `time`), or None."""
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("%%"):
            words = stripped[2:].split()
            return words[0] if words else ""
        return None
    return None


def _mask_leading_future_imports(cell: CodeCell) -> None:
    """Leave out the `from __future__ import ...` statements that open a cell (after its
    docstring, if any): IPython compiles each cell alone, so they are legal there, but not in
    the middle of the joined text (Python: "from __future__ imports must occur at the
    beginning of the file"). For the analysis they change nothing. A statement sharing a line
    with another one stays (and the cell's error is then Python's own)."""
    text = "".join(cell.code)
    if "__future__" not in text:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            body = compile(text, "<cell>", "exec", flags=flags, dont_inherit=True).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return  # the cell's own error is reported as it is
    first = body[0] if body else None
    docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    previous_end = (body[0].end_lineno or 0) if docstring else 0
    for index, stmt in enumerate(body[1:] if docstring else body, start=1 if docstring else 0):
        if not (isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"):
            return
        end = stmt.end_lineno or stmt.lineno
        following = body[index + 1].lineno if index + 1 < len(body) else None
        if stmt.lineno <= previous_end or (following is not None and following <= end):
            return  # `from __future__ import x; import os`
        for number in range(stmt.lineno - 1, end):
            line = cell.code[number]
            cell.code[number] = line[len(line.rstrip("\r\n")) :] or "\n"
            cell.masked.add(number)
        previous_end = end


def _strip_leading_indent(cell: CodeCell, lines: list[str]) -> list[str]:
    """IPython's `leading_indent` transform: when a cell's first line is indented, that
    indentation is removed from every line that starts with it (a pasted method body runs)."""
    first = next((line for line in lines if line.strip()), "")
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    if not indent:
        return lines
    cell.indent = indent
    out = []
    for index, line in enumerate(lines):
        if line.startswith(indent):
            cell.dedented.add(index)
            line = line[len(indent) :]
        out.append(line)
    return out


def _parses(text: str) -> SyntaxError | None:
    """The error CPython gives on `text` as IPython runs a cell: parsed and compiled (`break`
    outside a loop fails too), top-level `await` allowed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:
        return SyntaxError(str(exc))
    return None


@dataclass(slots=True)
class CodeCell:
    """One code cell: its original source, and what the analysis sees of it."""

    number: int  # 1-based over all cells
    lines: list[str]  # the original source, split into lines
    code: list[str]  # what is analysed: same number of lines, IPython syntax masked
    is_list: bool  # `source` was a list of strings (kept when written back)
    skipped: str | None = None  # why the whole cell is left out (a cell magic, ...)
    masked: set[int] = field(default_factory=set)  # 0-based lines replaced in `code`
    indent: str = ""  # the indentation IPython strips from the cell (`leading_indent`)
    python: list[str] = field(default_factory=list)  # the lines before masking
    dedented: set[int] = field(default_factory=set)  # 0-based lines it was stripped from

    def column(self, line: int, column: int) -> int:
        """The column in the cell of a 1-based (line, column) of the analysed code."""
        return column + len(self.indent) if line - 1 in self.dedented else column

    @property
    def text(self) -> str:
        return "".join(self.lines)


@dataclass(frozen=True, slots=True)
class _JsonFormat:
    indent: int | str | None
    ensure_ascii: bool
    newline: str
    final_newline: bool

    def dump(self, data: Any) -> str:
        separators = (",", ": ") if self.indent is not None else (", ", ": ")
        text = json.dumps(
            data, indent=self.indent, ensure_ascii=self.ensure_ascii, separators=separators
        )
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        return text + (self.newline if self.final_newline else "")


def _detect_format(text: str, data: Any) -> _JsonFormat | None:
    """The `json.dumps` settings that give back `text` exactly, or None."""
    newline = "\r\n" if "\r\n" in text else "\n"
    final = text.endswith(newline)
    match = re.match(r"[{\[]\r?\n([ \t]+)", text)
    indents: list[int | str | None] = []
    if match:
        unit = match.group(1)
        indents.append(len(unit) if set(unit) == {" "} else unit)
    else:
        indents.append(None)
    for indent in indents:
        for ensure_ascii in (False, True):
            fmt = _JsonFormat(indent, ensure_ascii, newline, final)
            if fmt.dump(data) == text:
                return fmt
    return None


class Notebook:
    """A parsed notebook: its JSON, its code cells and the joined source with its line map."""

    def __init__(self, path: str, data: bytes, config: Config | None = None) -> None:
        """Read the notebook. With `config`, a notebook whose code cannot hold compiled code
        (the engine's prefilter) is not analysed further: `relevant` is False, no cells."""
        self.path = path
        try:
            self.json_text = data.decode("utf-8-sig")
            self.data: Any = json.loads(self.json_text)
        except UnicodeDecodeError as exc:
            raise NotebookError(f"not a notebook: not UTF-8 ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise NotebookError(f"not a notebook: invalid JSON: {exc.msg}", exc.lineno) from None
        except RecursionError:
            raise NotebookError("not a notebook: JSON nested too deeply") from None
        self.bom = data.startswith(b"\xef\xbb\xbf")
        if not isinstance(self.data, dict):
            raise NotebookError("not a notebook: the JSON is not an object")
        cells = self.data.get("cells")
        if not isinstance(cells, list):
            if "worksheets" in self.data:
                raise NotebookError(
                    "not a notebook tfgraphlint can read: nbformat 3 (`worksheets`); convert it "
                    "with `jupyter nbconvert --to notebook --nbformat 4`"
                )
            raise NotebookError("not a notebook: no `cells` list")
        self.python = _is_python(self.data.get("metadata"))
        self.errors: list[FileError] = []
        self.cells: list[CodeCell] = []
        self._format: _JsonFormat | None | bool = False  # False: not detected yet
        sources: list[tuple[int, str, bool]] = []
        for number, cell in enumerate(cells, start=1):
            if not isinstance(cell, dict):
                raise NotebookError(f"cell {number}: not a JSON object")
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            if isinstance(source, list) and all(isinstance(s, str) for s in source):
                text, is_list = "".join(source), True
            elif isinstance(source, str):
                text, is_list = source, False
            else:
                raise NotebookError(f"cell {number}: `source` is not a string or list of strings")
            sources.append((number, text, is_list))
        joined = "\n".join(text for _, text, _ in sources)
        # As `runner.analyse` decides: TensorFlow named, or re-exported by the project's own
        # package (`from mypkg import tf`, `discovery.reexports`).
        self.relevant = (
            config is None
            or may_contain_compiled_code(joined, config)
            or bool(reexports_in_text(path, joined))
        )
        if self.relevant and self.python:
            self.cells = [self._code_cell(*source) for source in sources]
            for cell in self.cells[1:]:
                _mask_leading_future_imports(cell)
        self._by_number = {cell.number: cell for cell in self.cells}
        self.text, self.line_map = self._join()
        if self.cells and _parses(self.text) is not None:
            for cell in self.cells:  # only now, to name the cells that do not compile
                self._check_cell(cell)
            self.text, self.line_map = self._join()

    def _code_cell(self, number: int, text: str, is_list: bool) -> CodeCell:
        lines = split_lines(text)
        cell = CodeCell(number, lines, list(lines), is_list)
        magic = _cell_magic(lines)
        if magic is not None and magic not in PYTHON_CELL_MAGICS:
            cell.code, cell.skipped = ["\n"] * len(lines), f"cell magic %%{magic}"
            cell.masked = set(range(len(lines)))
            return cell
        if magic is not None:  # `%%time`: the rest of the cell is Python
            first = next(i for i, line in enumerate(lines) if line.strip())
            lines = [*lines[:first], "\n", *lines[first + 1 :]]
        lines = _strip_leading_indent(cell, lines)
        cell.python = lines
        if _MAY_HAVE_MAGIC.search("".join(lines)):
            code, masked = mask_magics(lines)
        else:  # no line starts with `%`, `!` or `?` or ends with `?`: nothing to scan
            code, masked = list(lines), set()
        if magic is not None:
            masked.add(first)
        cell.code, cell.masked = _terminated_lines(code), masked
        return cell

    def _check_cell(self, cell: CodeCell) -> None:
        """Parse one cell alone (the joined source did not parse): try automagics, else
        report the cell and leave it out."""
        if cell.skipped is not None:
            return
        error = _parses("".join(cell.code))
        if error is None:
            return
        retry, retry_masked = mask_magics(cell.python, automagic=True)
        if _parses(_terminated(retry)) is None:
            cell.code, cell.masked = _terminated_lines(retry), retry_masked | cell.masked
            return
        message = f"syntax error: {error.msg}; the cell is not checked"
        self.errors.append(FileError(self.path, message, error.lineno, "parse", cell.number))
        cell.code = ["\n"] * len(cell.code)
        cell.masked = set(range(len(cell.code)))
        cell.skipped = "syntax error"

    def _join(self) -> tuple[str, list[tuple[int, int]]]:
        parts: list[str] = []
        line_map: list[tuple[int, int]] = []
        for cell in self.cells:
            code = cell.code
            parts.extend(code)
            line_map.extend((cell.number, i) for i in range(1, len(code) + 1))
        return "".join(parts), line_map

    # ------------------------------------------------------------------ positions
    def locate(self, line: int) -> tuple[int, int]:
        """(cell, line in cell) of a 1-based line of the joined source."""
        if 1 <= line <= len(self.line_map):
            return self.line_map[line - 1]
        if self.line_map:  # the end of the source: the last line of the last cell
            cell, last = self.line_map[-1]
            return cell, last + (line - len(self.line_map))
        return 1, line

    def message_in_cells(self, message: str, cell: int) -> str:
        """`line 40` in a message (a caller, a loop, a read) as a place in the notebook."""

        def place(match: re.Match[str]) -> str:
            line = int(match.group(1))
            if not 1 <= line <= len(self.line_map):
                return match.group(0)
            where_cell, where_line = self.line_map[line - 1]
            if where_cell == cell:
                return f"line {where_line}"
            return f"line {where_line} of cell {where_cell}"

        return re.sub(r"\bline (\d+)\b", place, message)

    def _column(self, cell: int, line: int, column: int) -> int:
        code_cell = self._by_number.get(cell)
        return column if code_cell is None else code_cell.column(line, column)

    def map_finding(self, finding: Finding) -> Finding:
        cell, line = self.locate(finding.line)
        end_cell, end_line = self.locate(finding.end_line)
        column = self._column(cell, line, finding.column)
        end_column = self._column(end_cell, end_line, finding.end_column)
        if end_cell != cell:
            end_line, end_column = line, column
        fix = finding.fix
        if fix is not None:
            edits = []
            for edit in fix.edits:
                start_cell, start = self.locate(edit.line)
                stop_cell, stop = self.locate(edit.end_line)
                edits.append(
                    dataclasses.replace(
                        edit,
                        line=start,
                        column=self._column(start_cell, start, edit.column),
                        end_line=stop,
                        end_column=self._column(stop_cell, stop, edit.end_column),
                    )
                )
            fix = Fix(tuple(edits), fix.applicability, fix.title)
        return dataclasses.replace(
            finding,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            message=self.message_in_cells(finding.message, cell),
            fix=fix,
            cell=cell,
        )

    def map_error(self, error: FileError) -> FileError:
        if error.cell is not None or error.line is None or not self.line_map:
            return error
        cell, line = self.locate(error.line)
        return dataclasses.replace(error, line=line, cell=cell)

    def map_result(self, result: LintResult) -> LintResult:
        """A result on the joined source as a result on the notebook's cells."""
        return LintResult(
            result.path,
            [self.map_finding(f) for f in result.findings],
            [*self.errors, *(self.map_error(e) for e in result.errors)],
            list(result.calls),
        )

    # ------------------------------------------------------------------ writing back
    @property
    def json_format(self) -> _JsonFormat | None:
        if self._format is False:
            self._format = _detect_format(self.json_text, self.data)
        assert self._format is not True
        return self._format

    def with_text(self, new_text: str) -> tuple[bytes, list[tuple[int, str, str]]] | str:
        """The notebook's bytes with the joined source replaced by `new_text` (the joined
        source after fixes), and (cell, old source, new source) per changed cell; or why it
        cannot be written back."""
        fmt = self.json_format
        if fmt is None:
            return (
                "its JSON formatting (spacing, escapes, duplicate keys or number spelling) "
                "cannot be reproduced byte for byte"
            )
        old = split_lines(self.text)
        new = split_lines(new_text)
        owners = [number for number, _ in self.line_map]
        by_cell = self._by_number
        replaced: dict[int, list[str]] = {c.number: list(c.code) for c in self.cells}
        offsets: dict[int, int] = {}
        start = 0
        for cell in self.cells:
            offsets[cell.number] = start
            start += len(cell.code)
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        # Apply the changes from the end so that earlier line numbers stay valid.
        for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
            if tag == "equal":
                continue
            touched = set(owners[i1:i2]) if i2 > i1 else {owners[max(i1 - 1, 0)]}
            if len(touched) != 1:
                return "a fix spans two cells"
            number = touched.pop()
            cell = by_cell[number]
            first = i1 - offsets[number]
            if any(first <= m < first + (i2 - i1) for m in cell.masked):
                return f"a fix touches IPython syntax or a skipped part of cell {number}"
            replaced[number][first : first + (i2 - i1)] = new[j1:j2]
        changes: list[tuple[int, str, str]] = []
        sources: dict[int, str | list[str]] = {}  # applied only once every cell is fine
        for cell in self.cells:
            code = replaced[cell.number]
            if code == cell.code:
                continue
            if code and not _ends_line(code[-1]):
                return f"a fix removed the end of cell {cell.number}"
            lines = [
                cell.lines[i]
                if i in cell.masked
                else (cell.indent + line if i in cell.dedented else line)
                for i, line in enumerate(code)
            ]
            if len(code) != len(cell.code):  # no IPython line may move
                if cell.masked or cell.indent:
                    return f"a fix changes the line count of cell {cell.number}"
                lines = list(code)
            text = "".join(lines)
            if cell.lines and not _ends_line(cell.lines[-1]) and text.endswith("\n"):
                text = text[:-1]  # the final newline was added for the joined source
            sources[cell.number] = split_lines(text) if cell.is_list else text
            changes.append((cell.number, cell.text, text))
        cells = self.data["cells"]
        before = {number: cells[number - 1]["source"] for number in sources}
        try:
            for number, source in sources.items():
                cells[number - 1]["source"] = source
            output = fmt.dump(self.data)
        finally:  # the notebook read stays the notebook read
            for number, source in before.items():
                cells[number - 1]["source"] = source
        encoded = ("\ufeff" if self.bom else "") + output
        return encoded.encode("utf-8"), changes


def _ends_line(line: str) -> bool:
    return line.endswith(("\n", "\r"))


def _terminated_lines(lines: Sequence[str]) -> list[str]:
    if lines and not _ends_line(lines[-1]):
        return [*lines[:-1], lines[-1] + "\n"]
    return list(lines)


def _terminated(lines: Sequence[str]) -> str:
    return "".join(_terminated_lines(lines))


def _is_python(metadata: object) -> bool:
    """False only when the metadata names another language (an R or Julia notebook)."""
    if not isinstance(metadata, dict):
        return True
    for key, inner in (("language_info", "name"), ("kernelspec", "language")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(inner), str):
            return bool(section[inner].lower().startswith("python"))
    return True


def read_notebook(data: bytes, path: str, config: Config | None = None) -> Notebook | FileError:
    try:
        return Notebook(path, data, config)
    except NotebookError as exc:
        return FileError(path, exc.message, exc.line, "parse")


def cell_diff(path: str, changes: Sequence[tuple[int, str, str]]) -> str:
    """A unified diff per changed cell, headed `path:cell N` as ruff's `--diff` does."""
    out: list[str] = []
    for number, before, after in changes:
        where = f"{path}:cell {number}"
        for line in difflib.unified_diff(
            split_lines(before), split_lines(after), fromfile=where, tofile=where
        ):
            out.append(line if _ends_line(line) else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def lint_notebook(data: bytes, path: str, config: Config, *, noqa: bool = True) -> LintResult:
    """Check a notebook's code cells as one module; positions are per cell."""
    from tfgraphlint.engine.runner import lint_source

    notebook = read_notebook(data, path, config)
    if isinstance(notebook, FileError):
        return LintResult(path, errors=[notebook])
    if not notebook.python or not notebook.relevant:
        return LintResult(path)
    return notebook.map_result(lint_source(notebook.text, path, config, noqa=noqa))


@dataclass(slots=True)
class NotebookFix:
    """What fixing a notebook gave: its result (per cell), the fixes, the diff, the bytes."""

    result: LintResult
    fixed: list[str] = field(default_factory=list)
    diff: str = ""
    output: bytes | None = None  # the new bytes; None when nothing changed


def fix_notebook(
    data: bytes, path: str, config: Config, *, unsafe: bool = False, noqa: bool = True
) -> NotebookFix:
    """Fix a notebook's code cells to a fixpoint and write the changed cells back into its
    JSON, keeping everything else byte for byte; refuse (an error) what cannot be."""
    from tfgraphlint.engine.fixes import fix_text

    notebook = read_notebook(data, path, config)
    if isinstance(notebook, FileError):
        return NotebookFix(LintResult(path, errors=[notebook]))
    if not notebook.python or not notebook.relevant:
        return NotebookFix(LintResult(path))
    outcome = fix_text(notebook.text, path, config, unsafe=unsafe, noqa=noqa)
    if not outcome.changed:
        return NotebookFix(notebook.map_result(outcome.result))
    written = notebook.with_text(outcome.text)
    if isinstance(written, str):
        result = notebook.map_result(outcome.original)
        message = f"cannot fix: {written}; the notebook is left unchanged"
        result.errors.append(FileError(path, message, None, "fix"))
        return NotebookFix(result)
    output, changes = written
    again = read_notebook(output, path)
    if isinstance(again, FileError) or again.text != outcome.text:  # a safety net
        result = notebook.map_result(outcome.original)
        message = "cannot fix: the cells written back do not read back the same; unchanged"
        result.errors.append(FileError(path, message, None, "fix"))
        return NotebookFix(result)
    return NotebookFix(
        again.map_result(outcome.result), outcome.fixed, cell_diff(path, changes), output
    )
