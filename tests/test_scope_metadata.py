"""`discovery.scope_metadata`: `FastScopeProvider` gives the scopes of libCST's `ScopeProvider`
(same kind of scope, for the same defining node, with the same assignments and accesses) for
every node, and `resolve_directly` resolves the engine's providers without libCST's resolver."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ScopeProvider
from samples import FIXTURES, UNUSUAL, rule_examples

from tfgraphlint.discovery.parents import parent_map
from tfgraphlint.discovery.provider import (
    CompiledContextProvider,
    DiscoveryOptions,
    discovery_wrapper,
)
from tfgraphlint.discovery.scope_metadata import (
    FastScopeProvider,
    _fast_visits,
    resolve_directly,
)
from tfgraphlint.discovery.stock import STOCK_LIBCST
from tfgraphlint.engine.rule import Rule


def _referent(assignment: object) -> str:
    node = getattr(assignment, "node", None)  # a builtin has none
    return f"node {id(node)}" if node is not None else f"builtin {assignment.name}"  # type: ignore[attr-defined]


def _shape(scope: object) -> object:
    if scope is None:
        return None
    return (
        type(scope).__name__,
        getattr(scope, "node", None),
        # `_index` orders assignments and accesses in a scope (which assignments an access
        # sees): it comes from the assignment count that `_ScopeVisitor.on_leave` keeps.
        sorted(
            (a.name, id(a.node), getattr(a, "_index", None))
            for a in scope.assignments  # type: ignore[attr-defined]
        ),
        sorted(
            (
                id(a.node),
                a._index,
                sorted(map(_referent, a.referents)),
                a.is_type_hint,  # set in the arguments of `typing.cast` and the like
                a.is_annotation,
            )
            for a in scope.accesses  # type: ignore[attr-defined]
        ),
    )


def _same(code: str) -> None:
    module = cst.parse_module(code)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    got = MetadataWrapper(module, unsafe_skip_copy=True).resolve(FastScopeProvider)
    # Nodes of the tree (libCST also scopes nodes it parses out of string annotations, new
    # objects on every run).
    tree = {module, *parent_map(module)}
    assert {n for n in got if n in tree} == {n for n in expected if n in tree}
    shapes: dict[int, object] = {}
    for node, scope in expected.items():
        if node not in tree:
            continue
        key = id(scope)
        if key not in shapes:
            shapes[key] = _shape(scope)
        assert _shape(got[node]) == shapes[key]


def test_scopes_match_libcst_on_unusual_syntax() -> None:
    _same(UNUSUAL)


# `typing.cast`, `NewType` and `TypeVar` make their arguments type hints (a string there is
# parsed as code): every spelling the scope analysis resolves, and calls that only look alike.
TYPING_CALLS = """
import typing
import typing as t
from typing import cast, NewType as NT, TypeVar
from typing import cast as c
from collections import OrderedDict as cast_like

T = TypeVar("T", "Foo", bound="Bar")
U = NT("U", "Baz")
V = t.NewType("V", "Qux")
a = cast("Foo", b)
d = c("Bar", e)
f = t.cast("Baz", g)
h = typing.cast(list["Qux"], i)
j = cast_like("Foo", k)  # not typing's
l = m.cast("Bar", n)  # an attribute named cast: resolved, not typing's
o = cast("Baz", p)("Qux")  # the callee of the outer call is a call of typing.cast
q = obj.method("Foo")  # neither

def inner():
    from typing import cast as cc
    return cc("Foo", r), c("Bar", s)

cc("Baz", u)  # the alias of another scope
"""


def test_scopes_match_libcst_on_typing_calls() -> None:
    _same(TYPING_CALLS)


@pytest.mark.parametrize("path", FIXTURES, ids=str)
def test_scopes_match_libcst_on_fixtures(path: Path) -> None:
    _same(path.read_text(encoding="utf-8"))


def test_scopes_match_libcst_on_rule_examples() -> None:
    for code in rule_examples():
        _same(code)


def test_resolve_directly_fills_the_wrapper_once() -> None:
    module = cst.parse_module("import tensorflow as tf\n\n@tf.function\ndef f(x):\n    return x\n")
    wrapper = discovery_wrapper(module, DiscoveryOptions())
    resolve_directly(wrapper, Rule.METADATA_DEPENDENCIES)
    contexts = wrapper.resolve(CompiledContextProvider)
    func = module.body[1]
    assert contexts[func].qualname == "f"  # type: ignore[index, union-attr]
    resolve_directly(wrapper, [CompiledContextProvider])  # already there: kept as it is
    assert wrapper.resolve(CompiledContextProvider) is contexts


@pytest.mark.skipif(STOCK_LIBCST, reason="a private fast path, off")
def test_resolve_directly_refuses_batchable_providers() -> None:
    wrapper = MetadataWrapper(cst.parse_module("x = 1\n"), unsafe_skip_copy=True)
    with pytest.raises(TypeError, match="batchable"):
        resolve_directly(wrapper, [ScopeProvider])


class _Rename(cst.CSTTransformer):
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return updated_node.with_changes(value=updated_node.value.upper())


@pytest.mark.skipif(STOCK_LIBCST, reason="a private fast path, off")
def test_fast_visits_leave_other_visitors_to_libcst() -> None:
    """While the scope analysis walks, any other visitor (a transformer, in another thread
    say) still gets libCST's own `visit`; afterwards `CSTNode.visit` is libCST's again."""
    libcst_visit = cst.CSTNode.visit
    module = cst.parse_module("def f(x):\n    return x\n")
    with _fast_visits():
        assert cst.CSTNode.visit is not libcst_visit
        assert module.visit(_Rename()).code == "def F(X):\n    return X\n"
    assert cst.CSTNode.visit is libcst_visit
    with pytest.raises(RuntimeError), _fast_visits():
        raise RuntimeError
    assert cst.CSTNode.visit is libcst_visit


@pytest.mark.skipif(STOCK_LIBCST, reason="a private fast path, off")
def test_scopes_match_without_libcsts_private_assignment_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If a libCST version renames its private `_ASSIGNMENT_LIKE_NODES`, every node goes
    through libCST's own `on_leave`: the same scopes."""
    from tfgraphlint.discovery import scope_metadata

    monkeypatch.setattr(scope_metadata, "_ASSIGNMENT_LIKE", None)
    _same(UNUSUAL)
    for code in rule_examples()[:40]:
        _same(code)
