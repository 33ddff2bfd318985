"""`discovery.parents` gives the parent map of libCST's `ParentNodeProvider`, node for node:
on every fixture, on every rule example, on syntax with unusual node shapes, and on generated
source."""

from __future__ import annotations

import textwrap
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from tfgraphlint.discovery.parents import ParentProvider, parent_map
from tfgraphlint.engine.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent

UNUSUAL = (Path(__file__).parent / "data" / "unusual_syntax.py").read_text(encoding="utf-8")


def _same(code: str) -> None:
    module = cst.parse_module(code)
    expected = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentNodeProvider))
    got = parent_map(module)
    assert got.keys() == expected.keys()
    assert all(got[node] is expected[node] for node in expected)


def test_parent_map_matches_libcst_on_unusual_syntax() -> None:
    _same(UNUSUAL)


@pytest.mark.parametrize("path", sorted((ROOT / "fixtures").rglob("*.py")), ids=str)
def test_parent_map_matches_libcst_on_fixtures(path: Path) -> None:
    _same(path.read_text(encoding="utf-8"))


def test_parent_map_matches_libcst_on_rule_examples() -> None:
    codes = [ex.code for rule in all_rules() for ex in (*rule.VALID, *rule.INVALID)]
    assert len(codes) > 50
    for code in codes:
        _same(textwrap.dedent(code))


def test_provider_answers_through_metadata() -> None:
    module = cst.parse_module("x = f(y)\n")
    parents = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentProvider)
    assign = module.body[0].body[0]  # type: ignore[attr-defined]
    assert parents[assign.value] is assign
    assert module not in parents


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_parent_map_matches_libcst_on_generated_source(code: str) -> None:
    try:
        cst.parse_module(code)
    except Exception:  # hypothesmith's grammar is wider than libcst's
        return
    _same(code)
