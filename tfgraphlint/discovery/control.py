"""Where a statement really runs once AutoGraph has rewritten `return`s.

AutoGraph's `ConditionalReturnRewriter` (TF 2.21 `autograph/converters/return_statements.py`)
moves the statements that follow an `if` whose one branch *definitely returns* into the other
branch, within the same block only:

    if cond:            # body definitely returns...
        return x
    y = f(x)            # ...so these two lines become the `else` branch
    return y

So a statement after such an `if` runs under its condition: when that condition is a tensor,
it is traced inside a `tf.cond` branch. The rewrite is purely syntactic, and "definitely
returns" has AutoGraph's meaning: a `return` at the top of the block, a `with` whose body
definitely returns, or an `if` whose two branches do; never a loop, a `try` or a `raise`.

`guards` walks from a statement outwards and yields the constructs that decide whether it runs,
moved branches included; rules read the chain (a tensor `if`? a Python loop?) instead of the
syntactic parents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.walk import walk

Parent = Callable[[cst.CSTNode], cst.CSTNode | None]
Statement = cst.BaseStatement | cst.BaseSmallStatement


def statements(suite: cst.BaseSuite | cst.Else | cst.If | None) -> list[cst.BaseStatement]:
    """The statements of a block, an `else`, or an `elif` (one `if` statement)."""
    if suite is None:
        return []
    if isinstance(suite, cst.If):
        return [suite]
    if isinstance(suite, cst.Else):
        suite = suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    assert isinstance(suite, cst.IndentedBlock)
    return list(suite.body)


def statement_definitely_returns(stmt: cst.CSTNode) -> bool:
    """AutoGraph's STMT_DEFINITELY_RETURNS, for one statement (a small one or a line)."""
    if isinstance(stmt, cst.Return):
        return True
    if isinstance(stmt, cst.SimpleStatementLine | cst.SimpleStatementSuite):
        return any(isinstance(small, cst.Return) for small in stmt.body)
    if isinstance(stmt, cst.With):
        return definitely_returns(statements(stmt.body))
    if isinstance(stmt, cst.If):
        return definitely_returns(statements(stmt.body)) and definitely_returns(
            statements(stmt.orelse)
        )
    return False


def definitely_returns(stmts: Sequence[cst.CSTNode]) -> bool:
    """AutoGraph's "this block definitely returns": some statement of it definitely does."""
    return any(statement_definitely_returns(s) for s in stmts)


def capturing_side(stmt: cst.CSTNode) -> str | None:
    """For an `if` that takes the statements after it: the branch they move into ("else" when
    the body definitely returns, "main" when only the `else` does), else None."""
    if not isinstance(stmt, cst.If):
        return None
    if definitely_returns(statements(stmt.body)):
        return "else"
    if definitely_returns(statements(stmt.orelse)):
        return "main"
    return None


def following(stmt: cst.CSTNode, parent: Parent) -> list[cst.BaseStatement]:
    """The statements after `stmt` in its own block (none for an `elif`)."""
    block = parent(stmt)
    if not isinstance(block, cst.IndentedBlock | cst.Module):
        return []
    body = list(block.body)
    for index, candidate in enumerate(body):
        if candidate is stmt:
            return body[index + 1 :]
    return []


def branches(
    node: cst.If, parent: Parent
) -> tuple[list[cst.BaseStatement], list[cst.BaseStatement]]:
    """The main and else branches of `node` as AutoGraph builds them: the statements after
    the `if` join the branch that does not definitely return."""
    main, other = statements(node.body), statements(node.orelse)
    side = capturing_side(node)
    if side == "else":
        other = other + following(node, parent)
    elif side == "main":
        main = main + following(node, parent)
    return main, other


class _Finder(SameScopeVisitor):
    def __init__(self, types: tuple[type[cst.CSTNode], ...]) -> None:
        self.types = types
        self.found: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, self.types):
            self.found.append(node)
        return super().on_visit(node)


def find(stmts: Sequence[cst.CSTNode], *types: type[cst.CSTNode]) -> list[cst.CSTNode]:
    """Nodes of the given types in `stmts`, in order, not looking into nested scopes."""
    finder = _Finder(types)
    for stmt in stmts:
        walk(stmt, finder)
    return finder.found


@dataclass(frozen=True, slots=True)
class Guard:
    """One construct around a statement, innermost first.

    `node` is an `If`, `With`, `For`, `While`, `Try`/`TryStar` (also for its handlers and
    `finally`), `Match`, or, with `side == "dead"`, an earlier statement that definitely
    returns (the statement is unreachable). For an `If`, `side` is "main" or "else" and
    `moved` says whether the statement is there only through AutoGraph's return rewrite."""

    node: cst.CSTNode
    side: str | None = None
    moved: bool = False


def guards(node: cst.CSTNode, parent: Parent) -> Iterator[Guard]:
    """The constructs that decide whether `node` runs, innermost first, up to the enclosing
    function, class or module (not included)."""
    child = node
    while True:
        up = parent(child)
        if up is None or isinstance(up, cst.FunctionDef | cst.ClassDef | cst.Lambda | cst.Module):
            return
        if isinstance(up, cst.IndentedBlock | cst.SimpleStatementSuite | cst.SimpleStatementLine):
            siblings: list[cst.CSTNode] = list(up.body)
            earlier = siblings[: siblings.index(child)] if child in siblings else []
            for stmt in reversed(earlier):
                if statement_definitely_returns(stmt):
                    yield Guard(stmt, "dead", False)
                    return
                side = capturing_side(stmt)
                if side is not None:
                    yield Guard(stmt, side, True)
                    child = stmt
                    break
            else:
                child = up
            continue
        if isinstance(up, cst.If):
            if child is up.body:
                yield Guard(up, "main")
            elif child is up.orelse:
                yield Guard(up, "else")
            else:
                return  # the condition itself
        elif isinstance(up, cst.With | cst.For | cst.While | cst.Match | cst.Try | cst.TryStar):
            yield Guard(up)
        elif isinstance(up, cst.ExceptHandler | cst.ExceptStarHandler | cst.Finally):
            pass  # reported as the enclosing `try`
        child = up


def under_eager_check(
    node: cst.CSTNode, parent: Parent, source: Callable[[cst.CSTNode], str]
) -> bool:
    """Whether an enclosing `if` (in the same function) tests `executing_eagerly()`: such code
    is often eager-only, and which branch runs in a graph is not worth guessing."""
    child = node
    up = parent(child)
    while up is not None and not isinstance(up, cst.FunctionDef | cst.Lambda | cst.ClassDef):
        if (
            isinstance(up, cst.If)
            and child is not up.test
            and "executing_eagerly" in source(up.test)
        ):
            return True
        child, up = up, parent(up)
    return False
