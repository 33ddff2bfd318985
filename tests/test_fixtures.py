"""The bundled fixtures: every `# error: NAME` marker is found on its exact line, with all
default rules on, and nothing else is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tfgraphlint.config import Config
from tfgraphlint.engine.examples import parse_markers
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.rules import ALL_RULES

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").rglob("*.py"))


def test_fixtures_exist() -> None:
    assert FIXTURES


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixture_markers(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    result = lint_source(source, str(path), Config())
    assert result.errors == []
    expected = sorted((e.line, e.code) for e in parse_markers(source, ALL_RULES))
    got = sorted((f.line, f.code) for f in result.findings)
    assert got == expected, "\n".join(f"{f.line}: {f.code} {f.message}" for f in result.findings)
