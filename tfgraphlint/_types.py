"""Plain data types shared by the engine, the rules and the front ends."""

from __future__ import annotations

import enum
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    """How bad a finding is.

    `error`: it fails at trace or run time. `warning`: it runs but is wrong or slow.
    `info`: an explanation, not a finding.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Applicability(str, enum.Enum):
    """How far a fix can be trusted (Ruff's fix safety).

    `safe`: the meaning and intent of the code are kept; applied by `--fix`.
    `unsafe`: the fix may change behaviour (or an intent the linter cannot see); applied only
    with `--unsafe-fixes`.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text from (line, column) up to (end_line, end_column) with `content`.

    Positions are 1-based and count characters (not bytes), with the end exclusive, as in
    `Finding`. An insertion has start == end; a deletion has empty content. They refer to the
    file's text as decoded (without a BOM), whatever slicing the engine did to analyse it.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    content: str

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "content": self.content,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Edit:
        return cls(
            line=int(data["line"]),
            column=int(data["column"]),
            end_line=int(data["end_line"]),
            end_column=int(data["end_column"]),
            content=str(data["content"]),
        )


@dataclass(frozen=True, slots=True)
class Fix:
    """A rule's repair for one finding: text edits applied together or not at all."""

    edits: tuple[Edit, ...]
    applicability: Applicability
    title: str  # what the fix does, for people: "Replace `a` with `b`"

    @classmethod
    def safe(cls, title: str, *edits: Edit) -> Fix:
        return cls(tuple(edits), Applicability.SAFE, title)

    @classmethod
    def unsafe(cls, title: str, *edits: Edit) -> Fix:
        return cls(tuple(edits), Applicability.UNSAFE, title)

    def to_json(self) -> dict[str, Any]:
        return {
            "applicability": self.applicability.value,
            "title": self.title,
            "edits": [e.to_json() for e in self.edits],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fix:
        return cls(
            edits=tuple(Edit.from_json(e) for e in data["edits"]),
            applicability=Applicability(data["applicability"]),
            title=str(data.get("title", "")),
        )


# `Finding.data` key of a finding reported only because Keras traces a class of its module
# (the class's name): `engine.runner` sets it, `engine.keras_project` reads it.
KERAS_CLASS = "keras_class"


@dataclass(frozen=True, slots=True)
class Finding:
    """One reported hazard. Lines and columns are 1-based, as in every front end's output."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    name: str
    severity: Severity
    message: str
    function: str | None = None
    fix: Fix | None = None
    cell: int | None = None  # a notebook's cell (1-based over all cells); `line` is in it
    # Structured facts a rule adds for tools (TFG590: `{"predicts": "graph"}`), JSON values.
    data: Mapping[str, Any] | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "function": self.function,
            "fix": None if self.fix is None else self.fix.to_json(),
        }
        if self.cell is not None:
            out["cell"] = self.cell
        if self.data:
            out["data"] = dict(self.data)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            path=str(data["path"]),
            line=int(data["line"]),
            column=int(data["column"]),
            end_line=int(data["end_line"]),
            end_column=int(data["end_column"]),
            code=str(data["code"]),
            name=str(data["name"]),
            severity=Severity(data["severity"]),
            message=str(data["message"]),
            function=data.get("function"),
            fix=None if data.get("fix") is None else Fix.from_json(data["fix"]),
            cell=None if data.get("cell") is None else int(data["cell"]),
            data=data.get("data") or None,
        )


@dataclass(frozen=True, slots=True)
class FileError:
    """A file that could not be checked fully: it did not parse, or a rule raised on it."""

    path: str
    message: str
    line: int | None = None
    kind: str = "parse"  # "parse", "io", "internal"
    cell: int | None = None  # a notebook's cell; `line` is in it

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "message": self.message, "kind": self.kind}
        if self.line is not None:
            out["line"] = self.line
        if self.cell is not None:
            out["cell"] = self.cell
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileError:
        line = data.get("line")
        return cls(
            path=str(data["path"]),
            message=str(data["message"]),
            line=None if line is None else int(line),
            kind=str(data.get("kind", "parse")),
            cell=None if data.get("cell") is None else int(data["cell"]),
        )


@dataclass(frozen=True, slots=True)
class ExternalCall:
    """A function of another module that a compiled body reaches (option `follow-imports`).

    Discovery records it per file; `engine.project` resolves `target` to a linted file and
    re-checks that file with the function as a compiled context. `target` is the qualified name
    as imported: `pkg.ops.helper`, or `.ops.helper` for a relative import (leading dots kept).
    `kind` is the `ContextKind` value the callee gets: "helper" (a call from a compiled body)
    or "dataset-callback" (`ds.map(ops.parse)`). `root_path` is None when the root is in the
    file that made the call.
    """

    target: str
    kind: str
    line: int
    caller: str | None
    root: str
    root_line: int
    root_label: str
    root_path: str | None = None
    converted: bool = True
    via: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "line": self.line,
            "caller": self.caller,
            "root": self.root,
            "root_line": self.root_line,
            "root_label": self.root_label,
            "root_path": self.root_path,
            "converted": self.converted,
            "via": self.via,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExternalCall:
        return cls(
            target=str(data["target"]),
            kind=str(data["kind"]),
            line=int(data["line"]),
            caller=data.get("caller"),
            root=str(data["root"]),
            root_line=int(data["root_line"]),
            root_label=str(data["root_label"]),
            root_path=data.get("root_path"),
            converted=bool(data.get("converted", True)),
            via=data.get("via"),
        )


@dataclass(slots=True)
class LintResult:
    """Everything one file produced. `calls` is filled only with `follow-imports`."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    calls: list[ExternalCall] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Example:
    """A code example embedded in a rule: a test case and a docs snippet at once.

    Lines of an invalid example carry `# error: CODE` (or `# error: NAME`) markers on the line
    where each finding starts. `options` overrides config options for this example only.
    `fixed` is the source once every fix of the rule is applied (unsafe ones included); an
    invalid example without it must offer no fix.
    """

    code: str
    options: Mapping[str, Any] = field(default_factory=dict)
    fixed: str | None = None

    @property
    def source(self) -> str:
        return _normalize(self.code)

    @property
    def fixed_source(self) -> str | None:
        return None if self.fixed is None else _normalize(self.fixed)


def _normalize(code: str) -> str:
    return textwrap.dedent(code).strip("\n") + "\n"


def Valid(code: str, **options: Any) -> Example:  # noqa: N802 - reads like a constructor
    return Example(code, options)


def Invalid(  # noqa: N802 - reads like a constructor
    code: str, *, fixed: str | None = None, **options: Any
) -> Example:
    return Example(code, options, fixed)
