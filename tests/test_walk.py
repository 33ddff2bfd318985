"""`discovery.walk` makes exactly the calls libCST's traversal makes (visit and leave, on the
same nodes, in the same order, children skipped when `visit_*` returns False), on fixtures,
rule examples, unusual syntax and generated source; `walk_batched` likewise for batched
visitors, and visitors with attribute hooks are handed to libCST."""

from __future__ import annotations

import textwrap
from pathlib import Path

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings

from tfgraphlint.discovery.walk import walk, walk_batched
from tfgraphlint.engine.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
UNUSUAL = (ROOT / "tests" / "data" / "unusual_syntax.py").read_text(encoding="utf-8")


class Log(cst.CSTVisitor):
    """Records every visit and leave; skips the children of every lambda and `if` test."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.events.append(("visit", id(node), type(node).__name__))
        return not isinstance(node, cst.Lambda) and super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node), type(original_node).__name__))
        super().on_leave(original_node)

    def visit_If(self, node: cst.If) -> bool:
        return False


class BatchLog(cst.BatchableCSTVisitor):
    def __init__(self, events: list[tuple[str, int]]) -> None:
        super().__init__()
        self.events = events

    def visit_Name(self, node: cst.Name) -> None:
        self.events.append(("name", id(node)))

    def leave_Call(self, original_node: cst.Call) -> None:
        self.events.append(("call", id(original_node)))


def _same(code: str) -> None:
    module = cst.parse_module(code)
    expected, got = Log(), Log()
    module.visit(expected)
    walk(module, got)
    assert got.events == expected.events
    batched_expected: list[tuple[str, int]] = []
    batched_got: list[tuple[str, int]] = []
    cst.visit_batched(module, [BatchLog(batched_expected), BatchLog(batched_expected)])
    walk_batched(module, [BatchLog(batched_got), BatchLog(batched_got)])
    assert batched_got == batched_expected


@pytest.mark.parametrize("path", sorted((ROOT / "fixtures").rglob("*.py")), ids=str)
def test_walk_matches_libcst_on_fixtures(path: Path) -> None:
    _same(path.read_text(encoding="utf-8"))


def test_walk_matches_libcst_on_unusual_syntax_and_rule_examples() -> None:
    _same(UNUSUAL)
    for rule in all_rules():
        for example in (*rule.VALID, *rule.INVALID):
            _same(textwrap.dedent(example.code))


def test_visitors_with_attribute_hooks_go_to_libcst() -> None:
    class Hooked(cst.CSTVisitor):
        def __init__(self) -> None:
            self.funcs: list[str] = []

        def visit_Call_func(self, node: cst.Call) -> None:
            self.funcs.append(cst.Module([]).code_for_node(node.func))

    hooked = Hooked()
    walk(cst.parse_module("f(g(x))\n"), hooked)
    assert hooked.funcs == ["f", "g"]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_walk_matches_libcst_on_generated_source(code: str) -> None:
    try:
        cst.parse_module(code)
    except Exception:  # hypothesmith's grammar is wider than libcst's
        return
    _same(code)
