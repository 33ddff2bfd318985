"""`discovery.positions` gives libCST's `PositionProvider` ranges, node for node, whether they
are computed per unit (the engine's way) or all at once (no `ast` tree), and
`function_lines` gives each function's line without generating code."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider
from samples import FIXTURES, UNUSUAL, rule_examples

from tfgraphlint.discovery.positions import LazyPositionProvider, function_lines
from tfgraphlint.discovery.stock import STOCK_LIBCST

DECORATED = """
import tensorflow as tf

class Model(tf.Module):
    '''Doc.'''

    scale = 2  # a class attribute between methods

    @tf.function(input_signature=[tf.TensorSpec(None)])
    @other(lambda z: z)
    def step(self, x, f=lambda y: y + 1):
        return (
            x
            + f(x)
        )

    def helper(self): return [lambda: 1, lambda: 2]

    class Inner:
        def deep(self):
            def deeper():
                pass


def top(a, b):  # comment
    \"\"\"Multi-line
    docstring.\"\"\"
    if a: return b
    return lambda: a if b else (lambda: b)

x = 1; y = [
    2,
]
"""


def _ranges(code: str, tree: ast.Module | None) -> tuple[cst.Module, dict[cst.CSTNode, CodeRange]]:
    module = cst.parse_module(code)
    cache = {LazyPositionProvider: tree}
    lazy = MetadataWrapper(module, unsafe_skip_copy=True, cache=cache).resolve(LazyPositionProvider)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = list(expected)
    random.Random(0).shuffle(nodes)  # ask in any order, as rules do
    got = {node: lazy[node] for node in nodes}
    assert got == dict(expected)
    return module, got


def _same(code: str) -> None:
    _ranges(code, ast.parse(code))  # per unit
    _ranges(code, None)  # all at once


def _funcs(module: cst.Module) -> list[cst.FunctionDef | cst.Lambda]:
    found: list[cst.FunctionDef | cst.Lambda] = []

    class Collect(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            found.append(node)

        def visit_Lambda(self, node: cst.Lambda) -> None:
            found.append(node)

    module.visit(Collect())
    return found


NESTED = (Path(__file__).parent / "data" / "nested_blocks.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("code", [DECORATED, UNUSUAL, NESTED, "", "# only a comment\n", "x = 1"])
def test_positions_match_libcst(code: str) -> None:
    _same(code)


@pytest.mark.parametrize("path", FIXTURES, ids=str)
def test_positions_match_libcst_on_fixtures(path: Path) -> None:
    _same(path.read_text(encoding="utf-8"))


def test_positions_match_libcst_on_rule_examples() -> None:
    for code in rule_examples():
        _same(code)


@pytest.mark.skipif(STOCK_LIBCST, reason="a private fast path, off")
def test_positions_are_computed_per_unit() -> None:
    module = cst.parse_module(DECORATED)
    cache = {LazyPositionProvider: ast.parse(DECORATED)}
    lazy = MetadataWrapper(module, unsafe_skip_copy=True, cache=cache).resolve(LazyPositionProvider)
    top = module.body[-2]
    assert isinstance(top, cst.FunctionDef) and top.name.value == "top"
    assert (
        lazy[top.name].start.line == DECORATED.splitlines().index("def top(a, b):  # comment") + 1
    )
    assert top in lazy._done  # type: ignore[attr-defined]  # its unit was generated
    # ... and its ranges are made when asked for, not all at once
    assert top in lazy._pending and top not in lazy._ranges  # type: ignore[attr-defined]
    assert lazy[top].start.line == lazy[top.name].start.line
    assert top in lazy._ranges and top not in lazy._pending  # type: ignore[attr-defined]
    cls = module.body[1]  # the class: not yet
    assert cls not in lazy._done and cls not in lazy._pending  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [DECORATED, UNUSUAL])
def test_function_lines_match_positions(code: str) -> None:
    module, ranges = _ranges(code, ast.parse(code))
    funcs = _funcs(module)
    assert len(funcs) >= 3
    lines = function_lines(funcs, ast.parse(code))
    assert lines == {f: ranges[f].start.line for f in funcs}


def test_function_lines_refuse_what_does_not_pair_up() -> None:
    module = cst.parse_module(DECORATED)
    funcs = _funcs(module)
    assert function_lines(funcs[1:], ast.parse(DECORATED)) is None  # one missing
    assert function_lines(funcs, ast.parse("def other(): pass\n" * len(funcs))) is None
    assert function_lines(funcs, None) is None


@pytest.mark.skipif(STOCK_LIBCST, reason="a private fast path, off")
@pytest.mark.parametrize("code", [DECORATED, UNUSUAL, NESTED])
def test_a_compound_statement_asked_first_has_libcsts_range(code: str) -> None:
    # A finding at an `if` or a `for` asks for the statement's range before anything in it:
    # it is computed without generating the statement's blocks (`_compound_range`), and
    # must be libCST's; what is asked after it (its header, its blocks) too.
    module = cst.parse_module(code)
    cache = {LazyPositionProvider: ast.parse(code)}
    lazy = MetadataWrapper(module, unsafe_skip_copy=True, cache=cache).resolve(LazyPositionProvider)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    compound = (cst.If, cst.For, cst.While, cst.With, cst.Try, cst.FunctionDef, cst.ClassDef)
    first = [node for node in expected if isinstance(node, compound)]
    assert len(first) > 3
    unit_nodes = lazy._units  # type: ignore[attr-defined]
    shortcut = 0
    for node in reversed(first):  # inner statements first: no outer one generated yet
        assert lazy[node] == expected[node], node
        # The fast path leaves the statement's code not generated (not `_done`).
        shortcut += node in unit_nodes and node not in lazy._done  # type: ignore[attr-defined]
    assert shortcut > 3
    assert {node: lazy[node] for node in expected} == dict(expected)
