"""The bundled fixtures: every `# error: NAME` marker is found on its exact line, with all
default rules on, and nothing else is reported.

A folder listed in `PROJECT_FIXTURES` is checked as one project with the options given there
(its markers are the findings of that run); checked file by file with the defaults, it may
report only the markers of the files that hold the compiled roots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tfgraphlint.config import Config
from tfgraphlint.engine.examples import parse_markers
from tfgraphlint.engine.project import follow_imports
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.rules import ALL_RULES

ROOT = Path(__file__).parent.parent / "fixtures"
# folder -> (config options, files that report even without them)
PROJECT_FIXTURES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "xmod_pkg": ({"follow_imports": True}, ("train.py",)),
}
FIXTURES = sorted(ROOT.rglob("*.py"))
SINGLE = [p for p in FIXTURES if p.relative_to(ROOT).parts[0] not in PROJECT_FIXTURES]


def _expected(path: Path) -> list[tuple[int, str]]:
    return sorted((e.line, e.code) for e in parse_markers(path.read_text("utf-8"), ALL_RULES))


def test_fixtures_exist() -> None:
    assert SINGLE
    assert all((ROOT / folder).is_dir() for folder in PROJECT_FIXTURES)


@pytest.mark.parametrize("path", SINGLE, ids=[p.name for p in SINGLE])
def test_fixture_markers(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    result = lint_source(source, str(path), Config())
    assert result.errors == []
    got = sorted((f.line, f.code) for f in result.findings)
    assert got == _expected(path), "\n".join(
        f"{f.line}: {f.code} {f.message}" for f in result.findings
    )


@pytest.mark.parametrize("folder", sorted(PROJECT_FIXTURES))
def test_project_fixture_markers(folder: str) -> None:
    options, roots = PROJECT_FIXTURES[folder]
    files = sorted(str(p) for p in (ROOT / folder).rglob("*.py"))
    config = Config(**options)
    results = [lint_source(Path(p).read_bytes(), p, config) for p in files]
    follow_imports(results, files, config)
    for result in results:
        assert result.errors == [], result.path
        got = sorted((f.line, f.code) for f in result.findings)
        assert got == _expected(Path(result.path)), "\n".join(
            f"{result.path}:{f.line}: {f.code} {f.message}" for f in result.findings
        )
    # Without the options, each file alone: only the files with compiled roots report.
    for path in files:
        result = lint_source(Path(path).read_bytes(), path, Config())
        got = sorted((f.line, f.code) for f in result.findings)
        assert got == (_expected(Path(path)) if Path(path).name in roots else []), path
