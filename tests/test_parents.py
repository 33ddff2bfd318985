"""`discovery.parents` gives the parent map of libCST's `ParentNodeProvider`, node for node,
without the trivia nodes (`discovery.walk.TRIVIA`): on every fixture, on every rule example,
on syntax with unusual node shapes, and on generated source. A trivia node only ever holds
trivia, so leaving them out loses no other node's parent."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider
from samples import FIXTURES, UNUSUAL, on_generated_source, rule_examples

from tfgraphlint.discovery.parents import ParentProvider, parent_map
from tfgraphlint.discovery.walk import TRIVIA


def _same(code: str) -> None:
    module = cst.parse_module(code)
    every = dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentNodeProvider))
    expected = {node: parent for node, parent in every.items() if type(node) not in TRIVIA}
    # Trivia hold only trivia: no other node has a trivia parent.
    assert not any(type(parent) in TRIVIA for parent in expected.values())
    got = parent_map(module)
    assert got.keys() == expected.keys()
    assert all(got[node] is expected[node] for node in expected)


def test_parent_map_matches_libcst_on_unusual_syntax() -> None:
    _same(UNUSUAL)


@pytest.mark.parametrize("path", FIXTURES, ids=str)
def test_parent_map_matches_libcst_on_fixtures(path: Path) -> None:
    _same(path.read_text(encoding="utf-8"))


def test_parent_map_matches_libcst_on_rule_examples() -> None:
    codes = rule_examples()
    assert len(codes) > 50
    for code in codes:
        _same(code)


def test_provider_answers_through_metadata() -> None:
    module = cst.parse_module("x = f(y)\n")
    parents = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentProvider)
    assign = module.body[0].body[0]  # type: ignore[attr-defined]
    assert parents[assign.value] is assign
    assert module not in parents
    assert assign.targets[0].whitespace_before_equal not in parents  # trivia: no parent kept


test_parent_map_matches_libcst_on_generated_source = on_generated_source(_same)
