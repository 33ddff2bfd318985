"""Visitors that stay in one scope."""

from __future__ import annotations

import libcst as cst


class SameScopeVisitor(cst.CSTVisitor):
    """Walks a body without entering nested functions, lambdas or classes: their code runs in
    another scope (and, for a compiled body, is judged on its own)."""

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False
