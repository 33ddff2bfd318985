"""Source samples shared by the tests that compare tfgraphlint's fast metadata and traversal
with libCST's (`test_parents`, `test_positions`, `test_scope_metadata`, `test_walk`): the
fixtures, every rule example, a file of unusual syntax, and generated source."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings

from tfgraphlint.engine.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures").rglob("*.py"))
UNUSUAL = (ROOT / "tests" / "data" / "unusual_syntax.py").read_text(encoding="utf-8")


def rule_examples() -> list[str]:
    """The code of every VALID and INVALID example of every rule, dedented."""
    return [
        textwrap.dedent(example.code)
        for rule in all_rules()
        for example in (*rule.VALID, *rule.INVALID)
    ]


def on_generated_source(check: Callable[[str], None]) -> Callable[..., None]:
    """A slow property test running `check` on source generated from Python's grammar (what
    libCST cannot parse is skipped: hypothesmith's grammar is wider)."""

    @pytest.mark.slow
    @pytest.mark.filterwarnings("ignore::SyntaxWarning")  # hypothesmith compiles `1()` & co.
    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(hypothesmith.from_grammar())
    def test(code: str) -> None:
        try:
            cst.parse_module(code)
        except Exception:
            return
        check(code)

    return test
