"""Every rule's embedded examples, as tests: valid ones give no finding of that rule, invalid
ones give exactly the marked (line, code) pairs."""

from __future__ import annotations

import re

import pytest

from tfgraphlint._types import Example, Severity
from tfgraphlint.engine.examples import iter_examples, parse_markers, run_example
from tfgraphlint.engine.rule import Rule
from tfgraphlint.rules import ALL_RULES

CASES = list(iter_examples(ALL_RULES))


@pytest.mark.parametrize(
    ("rule", "kind", "index", "example"),
    CASES,
    ids=[f"{r.CODE}-{r.NAME}-{k}-{i}" for r, k, i, _ in CASES],
)
def test_example(rule: type[Rule], kind: str, index: int, example: Example) -> None:
    findings = run_example(rule, example)
    expected = parse_markers(example.source, ALL_RULES) if kind == "invalid" else []
    expected = [e for e in expected if e.code == rule.CODE]
    if kind == "invalid":
        assert expected, "an invalid example needs at least one `# error:` marker"
    got = sorted((f.line, f.code) for f in findings)
    assert got == sorted((e.line, e.code) for e in expected), "\n".join(
        f"{f.line}:{f.column} {f.code} {f.message}" for f in findings
    )
    for e in expected:
        if e.column is not None:
            assert any(f.line == e.line and f.column == e.column for f in findings)
    for f in findings:
        assert f.name == rule.NAME and f.severity in (rule.SEVERITY, *_LOWER[rule.SEVERITY])
        assert not re.search(r"\{\w*\}", f.message), f.message
        assert "`" in f.message, "messages name the variable, argument or call in backticks"


_LOWER = {
    Severity.ERROR: (Severity.WARNING, Severity.INFO),
    Severity.WARNING: (Severity.INFO,),
    Severity.INFO: (),
}
