"""SARIF 2.1.0 output, for GitHub code scanning and other SARIF viewers.

One run: the tool with every rule's metadata (summary, full documentation page as
`help.markdown`, default level), one result per finding, and the files that could not be
checked as `invocations[0].toolExecutionNotifications`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tfgraphlint._types import FileError, Finding, LintResult, Severity

if TYPE_CHECKING:
    from tfgraphlint.engine.rule import Rule

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SRCROOT = "%SRCROOT%"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def docs_url() -> str | None:
    """The `Documentation` project URL of the installed distribution (its `docs/` folder), if
    the package metadata declares one; rule pages are `<url>/rules/<CODE>.md`."""
    from importlib import metadata  # here: 10 to 25 ms to import, for SARIF output only

    try:
        urls = metadata.metadata("tfgraphlint").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = str(entry).partition(",")
        if label.strip().lower() == "documentation" and url.strip():
            return url.strip().rstrip("/")
    return None


def _rule_descriptor(rule: type[Rule], docs: str | None) -> dict[str, Any]:
    from tfgraphlint.docs import rule_page

    descriptor: dict[str, Any] = {
        "id": rule.CODE,
        "name": rule.NAME,
        "shortDescription": {"text": rule.SUMMARY},
        "fullDescription": {"text": inspect.cleandoc(rule.__doc__ or rule.SUMMARY)},
        "help": {"text": rule.SUMMARY, "markdown": rule_page(rule)},
        "defaultConfiguration": {
            "enabled": rule.DEFAULT_ENABLED,
            "level": LEVELS[rule.SEVERITY],
        },
        "properties": {"tags": ["tensorflow", "tf.function"]},
    }
    if docs is not None:
        descriptor["helpUri"] = f"{docs}/rules/{rule.CODE}.md"
    return descriptor


def _artifact(path: str) -> dict[str, Any]:
    """A relative path is relative to %SRCROOT% (the working directory), as GitHub expects."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(PurePath(path).as_posix()), "uriBaseId": SRCROOT}


def _folder_uri(folder: Path) -> str:
    uri = folder.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _notebook_result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    """A notebook finding: a line of a cell is no line of the .ipynb file, so the location
    is the file, and the cell and the place in it are in the message and `properties`."""
    result = _result(dataclasses.replace(finding, cell=None), rule_index)
    physical = result["locations"][0]["physicalLocation"]
    del physical["region"]
    place = f"cell {finding.cell}:{finding.line}:{finding.column}"
    result["message"]["text"] = f"{place}: {finding.message}"
    result["properties"] = {
        "cell": finding.cell,
        "line": finding.line,
        "column": finding.column,
        "endLine": finding.end_line,
        "endColumn": finding.end_column,
    }
    return result


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    if finding.cell is not None:
        return _notebook_result(finding, rule_index)
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": _artifact(finding.path),
            "region": {
                "startLine": finding.line,
                "startColumn": finding.column,
                "endLine": finding.end_line,
                "endColumn": finding.end_column,
            },
        }
    }
    if finding.function is not None:
        location["logicalLocations"] = [
            {"fullyQualifiedName": finding.function, "kind": "function"}
        ]
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
    }
    if finding.code in rule_index:
        result["ruleIndex"] = rule_index[finding.code]
    return result


def _notification(error: FileError) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": _artifact(error.path)}
    message = error.message
    if error.cell is not None:
        message = f"cell {error.cell}:{error.line or 1}: {message}"
    elif error.line is not None:
        physical["region"] = {"startLine": error.line}
    return {
        "level": "error",
        "message": {"text": message},
        "descriptor": {"id": f"{error.kind}-error"},
        "locations": [{"physicalLocation": physical}],
    }


def sarif_log(results: Sequence[LintResult], rules: Sequence[type[Rule]]) -> dict[str, Any]:
    from tfgraphlint import __version__

    docs = docs_url()
    rule_index = {rule.CODE: i for i, rule in enumerate(rules)}
    findings = [f for r in results for f in r.findings]
    errors = [e for r in results for e in r.errors]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "tfgraphlint",
                "version": __version__,
                "rules": [_rule_descriptor(rule, docs) for rule in rules],
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": _folder_uri(Path.cwd())}},
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": not errors,
                "toolExecutionNotifications": [_notification(e) for e in errors],
            }
        ],
        "results": [_result(f, rule_index) for f in findings],
    }
    if docs is not None:
        run["tool"]["driver"]["informationUri"] = docs
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def format_sarif(results: Sequence[LintResult]) -> str:
    from tfgraphlint.engine.registry import all_rules

    return json.dumps(sarif_log(results, all_rules()), indent=2) + "\n"
