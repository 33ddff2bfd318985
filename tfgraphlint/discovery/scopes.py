"""Visitors that stay in one scope."""

from __future__ import annotations

import libcst as cst

from tfgraphlint.discovery.walk import walk


class SameScopeVisitor(cst.CSTVisitor):
    """Walks a body without entering nested functions, lambdas or classes: their code runs in
    another scope (and, for a compiled body, is judged on its own)."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


class _NameFinder(cst.CSTVisitor):
    def __init__(self, value: str | None) -> None:
        self.value = value
        self.found: list[cst.Name] = []

    def visit_Name(self, node: cst.Name) -> None:
        if self.value is None or node.value == self.value:
            self.found.append(node)


def find_names(node: cst.CSTNode, value: str | None = None) -> list[cst.Name]:
    """Every `Name` node under `node` (itself included), in source order; only those spelled
    `value` when given. What `libcst.matchers.findall(node, m.Name(value))` returns, without
    importing `libcst.matchers` (slow to import, a start-up cost a cached run would pay)."""
    finder = _NameFinder(value)
    walk(node, finder)
    return finder.found


class FunctionScopeVisitor(cst.CSTVisitor):
    """Walks one function (`root`, a def or a lambda, entered) without entering the functions,
    lambdas and classes nested in it: what it finds belongs to `root`'s own scope."""

    def __init__(self, root: cst.CSTNode) -> None:
        super().__init__()
        self.root = root

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.root

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return node is self.root

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


class _Declarations(FunctionScopeVisitor):
    def __init__(self, root: cst.CSTNode) -> None:
        super().__init__(root)
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()

    def visit_Global(self, node: cst.Global) -> None:
        self.globals.update(n.name.value for n in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.nonlocals.update(n.name.value for n in node.names)


def declarations(func: cst.CSTNode) -> tuple[frozenset[str], frozenset[str]]:
    """The names a function declares `global`, and those it declares `nonlocal` (not counting
    nested functions and classes, whose declarations are their own)."""
    finder = _Declarations(func)
    walk(func, finder)
    return frozenset(finder.globals), frozenset(finder.nonlocals)
