"""Every rule's embedded examples, as tests: valid ones give no finding of that rule, invalid
ones give exactly the marked (line, code) pairs, and the fixed source when they say `fixed=`
(and no fix when they do not)."""

from __future__ import annotations

import re

import pytest

from tfgraphlint._types import Example, Severity
from tfgraphlint.engine.examples import (
    fix_example,
    iter_examples,
    parse_markers,
    run_example,
    strip_markers,
)
from tfgraphlint.engine.fixes import parsers_accepting
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
    fixes = [f.fix for f in findings if f.fix is not None]
    if example.fixed_source is None:
        assert not fixes, "this example offers a fix: give its `fixed=` source"
        return
    assert fixes, "`fixed=` is given but no finding carries a fix"
    assert {fix.applicability for fix in fixes} == {rule.FIX}
    assert all(fix.title for fix in fixes)
    fixed, left = fix_example(rule, example)
    assert strip_markers(fixed) == strip_markers(example.fixed_source)
    assert parsers_accepting(fixed) == {"python", "libcst"}
    assert not [f for f in left if f.fix is not None], "fixing again would change the code"


_LOWER = {
    Severity.ERROR: (Severity.WARNING, Severity.INFO),
    Severity.WARNING: (Severity.INFO,),
    Severity.INFO: (),
}
