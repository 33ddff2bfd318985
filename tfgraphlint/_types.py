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

    def to_json(self) -> dict[str, Any]:
        return {
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
        }

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
        )


@dataclass(frozen=True, slots=True)
class FileError:
    """A file that could not be checked fully: it did not parse, or a rule raised on it."""

    path: str
    message: str
    line: int | None = None
    kind: str = "parse"  # "parse", "io", "internal"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "message": self.message, "kind": self.kind}
        if self.line is not None:
            out["line"] = self.line
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileError:
        line = data.get("line")
        return cls(
            path=str(data["path"]),
            message=str(data["message"]),
            line=None if line is None else int(line),
            kind=str(data.get("kind", "parse")),
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
    """

    code: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return textwrap.dedent(self.code).strip("\n") + "\n"


def Valid(code: str, **options: Any) -> Example:  # noqa: N802 - reads like a constructor
    return Example(code, options)


def Invalid(code: str, **options: Any) -> Example:  # noqa: N802 - reads like a constructor
    return Example(code, options)
