"""`discovery.walk` makes exactly the calls libCST's traversal makes (visit and leave, on the
same nodes, in the same order, children skipped when `visit_*` returns False), on fixtures,
rule examples, unusual syntax and generated source; `walk_batched` likewise for batched
visitors, and visitors with attribute hooks are handed to libCST. The trivia nodes
(`TRIVIA`: whitespace, punctuation, operator tokens) are skipped only for a visitor with no
method for any of them and no `on_leave` of its own that needs them: the calls are then
libCST's without those on trivia nodes."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from samples import FIXTURES, UNUSUAL, on_generated_source, rule_examples

from tfgraphlint.discovery.ast_nodes import all_statements, ast_nodes
from tfgraphlint.discovery.walk import TRIVIA, forget_children, walk, walk_batched


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


class BatchCommaLog(BatchLog):
    def visit_Comma(self, node: cst.Comma) -> None:
        self.events.append(("comma", id(node)))


class TypedLog(cst.CSTVisitor):
    """Only typed methods (`CSTVisitor`'s own `on_visit`/`on_leave` dispatch to them): the
    walk's dispatch tables, stubs skipped. Skips the children of every `if` test and lambda."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.events.append(("name", id(node)))

    def visit_If(self, node: cst.If) -> bool:
        self.events.append(("if", id(node)))
        node.body.visit(self)  # a visitor that walks part of a node itself, as libCST's do
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.events.append(("lambda", id(node)))
        return False

    def leave_Call(self, original_node: cst.Call) -> None:
        self.events.append(("leave call", id(original_node)))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.events.append(("leave def", id(original_node)))


class LeaveLog(TypedLog):
    """Its own `on_leave` (as libCST's scope visitor has), the typed `on_visit`."""

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node)))
        super().on_leave(original_node)


class CommaLog(TypedLog):
    """A method for a trivia class: nothing is skipped."""

    def visit_Comma(self, node: cst.Comma) -> None:
        self.events.append(("comma", id(node)))


class TriviaLeaveLog(LeaveLog):
    """Its own `on_leave`, which says it needs no trivia (as the scope visitor's does). It
    does not walk an `if` body itself: that would be libCST's `visit`, trivia included."""

    SKIPS_TRIVIA = True

    def visit_If(self, node: cst.If) -> bool:
        self.events.append(("if", id(node)))
        return False


def _trivia_ids(module: cst.Module) -> set[int]:
    found: set[int] = set()

    class Ids(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if type(node) in TRIVIA:
                found.add(id(node))
            return True

    module.visit(Ids())
    return found


def _same(code: str) -> None:
    module = cst.parse_module(code)
    for kind in (Log, TypedLog, LeaveLog, CommaLog):
        expected, got = kind(), kind()
        module.visit(expected)
        walk(module, got)
        assert got.events == expected.events
    # Leaves on trivia nodes are not called; everything else is.
    trivia = _trivia_ids(module)
    expected = TriviaLeaveLog()
    module.visit(expected)
    forget_children()
    for _ in range(2):  # the second walk reads the children the first one kept
        got = TriviaLeaveLog()
        walk(module, got)
        assert got.events == [e for e in expected.events if e[1] not in trivia]
    batched_expected: list[tuple[str, int]] = []
    batched_got: list[tuple[str, int]] = []
    cst.visit_batched(module, [BatchLog(batched_expected), BatchLog(batched_expected)])
    for keep in (False, True):  # from the nodes' fields, then from the children kept
        if not keep:
            forget_children()
        batched_got.clear()
        walk_batched(module, [BatchLog(batched_got), BatchLog(batched_got)])
        assert batched_got == batched_expected
    batched_expected.clear()
    batched_got.clear()
    cst.visit_batched(module, [BatchLog(batched_expected), BatchCommaLog(batched_expected)])
    walk_batched(module, [BatchLog(batched_got), BatchCommaLog(batched_got)])
    assert batched_got == batched_expected


@pytest.mark.parametrize("path", FIXTURES, ids=str)
def test_walk_matches_libcst_on_fixtures(path: Path) -> None:
    _same(path.read_text(encoding="utf-8"))


def test_walk_matches_libcst_on_unusual_syntax_and_rule_examples() -> None:
    for code in [UNUSUAL, *rule_examples()]:
        _same(code)


def test_visitors_with_attribute_hooks_go_to_libcst() -> None:
    class Hooked(cst.CSTVisitor):
        def __init__(self) -> None:
            self.funcs: list[str] = []

        def visit_Call_func(self, node: cst.Call) -> None:
            self.funcs.append(cst.Module([]).code_for_node(node.func))

    hooked = Hooked()
    walk(cst.parse_module("f(g(x))\n"), hooked)
    assert hooked.funcs == ["f", "g"]


test_walk_matches_libcst_on_generated_source = on_generated_source(_same)


_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)


def test_ast_nodes_finds_what_ast_walk_finds() -> None:
    """`ast_nodes` (the pre-passes' walk of CPython trees) yields every node `ast.walk` yields
    but the expression contexts and operators, each once, in another order."""
    codes = [UNUSUAL, *(p.read_text(encoding="utf-8") for p in FIXTURES), *rule_examples()]
    skipped = 0
    for code in codes:
        tree = ast.parse(code)
        got = [id(node) for node in ast_nodes(tree)]
        walked = list(ast.walk(tree))
        assert sorted(got) == sorted(id(n) for n in walked if not isinstance(n, _LEAVES))
        skipped += sum(isinstance(n, _LEAVES) for n in walked)
    assert skipped > 0  # the comparison covers what is left out


def test_all_statements_once_per_tree() -> None:
    """`all_statements` lists every statement `ast.walk` finds, each once, and computes the
    list once per tree."""
    codes = [UNUSUAL, *(p.read_text(encoding="utf-8") for p in FIXTURES), *rule_examples()]
    for code in codes:
        tree = ast.parse(code)
        found = all_statements(tree)
        expected = [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]
        assert sorted(map(id, found)) == sorted(map(id, expected))
        assert len(found) == len(expected)
        assert all_statements(tree) is found


def test_max_depth_counts_what_it_does_not_walk() -> None:
    """`runner._max_depth` skips the `ctx` and operator leaves but counts them: the depth and
    line of a walk over every node `ast.iter_child_nodes` gives."""
    from tfgraphlint.engine.runner import _max_depth

    def plain(tree: ast.AST) -> tuple[int, int | None]:
        best, line = 0, None
        stack: list[tuple[ast.AST, int]] = [(tree, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > best:
                best, line = depth, getattr(node, "lineno", line)
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        return best, line

    deep = ["x = " + "+".join(["a"] * 300), "y = a" + ".b" * 150, "not not not -x < y < z"]
    codes = [UNUSUAL, *deep, *(p.read_text(encoding="utf-8") for p in FIXTURES)]
    for code in [*codes, *rule_examples()]:
        tree = ast.parse(code)
        assert _max_depth(tree) == plain(tree), code[:60]


def _subclasses(kind: type) -> list[type]:
    found: list[type] = []
    for sub in kind.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_visitor_hook_names_skip_only_stubs() -> None:
    """The rules' visitor methods and the attribute-hook check, found from the classes of the
    MRO (`visitor_hook_names`), are what `dir()` with libCST's no-op test gives, for every
    visitor class tfgraphlint defines and for mixins, overrides and attribute hooks."""
    import importlib
    import pkgutil

    from libcst._typed_visitor_base import mark_no_op

    import tfgraphlint.rules
    from tfgraphlint.discovery.walk import _has_attribute_hooks, visitor_hook_names
    from tfgraphlint.engine.rule import _visitor_names

    for package in ("tfgraphlint.discovery", "tfgraphlint.engine", "tfgraphlint.rules"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module(f"{package}.{info.name}")

    class Mixin:
        def visit_Name(self, node: cst.Name) -> None: ...

    class WithMixin(Mixin, cst.BatchableCSTVisitor):
        def leave_Module(self, original_node: cst.Module) -> None: ...

    class StubOverride(WithMixin):
        @mark_no_op
        def visit_Name(self, node: cst.Name) -> None: ...

    class Hooked(cst.CSTVisitor):
        def visit_Call_func(self, node: cst.Call) -> None: ...

    class HookedChild(Hooked):
        pass

    def reference(kind: type, pattern: str) -> list[str]:
        import re

        return [
            name
            for name in dir(kind)
            if re.match(pattern, name)
            and callable(getattr(kind, name))
            and not getattr(getattr(kind, name), "_is_no_op", False)
        ]

    batched = [*_subclasses(cst.BatchableCSTVisitor), WithMixin, StubOverride]
    plain = [*_subclasses(cst.CSTVisitor), Hooked, HookedChild]
    assert len(tfgraphlint.rules.ALL_RULES) > 20
    assert set(tfgraphlint.rules.ALL_RULES) <= set(batched)
    for kind in batched:
        assert list(_visitor_names(kind)) == reference(kind, "(visit|leave)_"), kind
    assert _visitor_names(WithMixin) == ("leave_Module", "visit_Name")
    assert _visitor_names(StubOverride) == ("leave_Module",)
    attribute_hook = r"(?:visit|leave)_[A-Z][A-Za-z0-9]*_[a-z_0-9]+$"
    for kind in plain:
        expected = (
            kind.on_visit_attribute is not cst.CSTVisitor.on_visit_attribute
            or kind.on_leave_attribute is not cst.CSTVisitor.on_leave_attribute
            or bool(reference(kind, attribute_hook))
        )
        assert _has_attribute_hooks(kind) == expected, kind
    assert _has_attribute_hooks(Hooked) and _has_attribute_hooks(HookedChild)
    assert visitor_hook_names(cst.CSTVisitor) == []


def test_the_engine_forgets_the_children_after_each_file() -> None:
    """The walks keep each node's children while a file is analysed (`walk._CHILDREN`); the
    engine empties the map when it is done with the file, whatever the outcome."""
    from tfgraphlint.config import Config
    from tfgraphlint.discovery import walk as walk_module
    from tfgraphlint.engine.runner import lint_source

    source = FIXTURES[0].read_text(encoding="utf-8")
    module = cst.parse_module(source)
    walk(module, TriviaLeaveLog())
    assert walk_module._CHILDREN  # a walk outside the engine keeps them
    result = lint_source(source, "m.py", Config(select=("ALL",)))
    assert result.findings
    assert not walk_module._CHILDREN
    lint_source("import tensorflow as tf\n@tf.function\ndef f(:\n", "bad.py")
    assert not walk_module._CHILDREN
