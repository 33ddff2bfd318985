"""`LazyPositionProvider`: libCST's `PositionProvider` ranges, computed only for the
statements whose nodes someone asks about.

libCST computes positions by generating the code of the whole module while counting lines and
columns, for the few positions that findings and messages actually use. A statement's code does
not depend on what comes before it, only its first line and its indentation do; CPython's `ast`
of the same text gives the line, and the enclosing blocks' indent tokens the indentation. So
this generates the code of one statement at a time (the innermost one holding the node asked
about: a simple line, or a compound statement with its blocks), with libCST's own code
generator, and shifts the lines.

The engine hands over the `ast` tree of the text it parsed, in libCST's metadata cache
(`discovery.provider.discovery_wrapper`); without one, or
when the two parsers do not agree on the statements, everything is computed at once, as
libCST does. `tests/test_positions.py` checks, node for node, that the ranges equal libCST's.
With `TFGRAPHLINT_STOCK_LIBCST=1` (`discovery.stock`) it copies `PositionProvider`'s ranges.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any, ClassVar, cast

import libcst as cst
from libcst.metadata import (
    BaseMetadataProvider,
    CodePosition,
    CodeRange,
    PositionProvider,
    ProviderT,
)

from tfgraphlint.discovery.ast_nodes import ast_nodes
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.stock import STOCK_LIBCST

if not STOCK_LIBCST:  # not exported by libCST
    from libcst.metadata.position_provider import PositionProvidingCodegenState


def no_trees_per_path(
    root_path: object, paths: list[str], timeout: int | None = None, **_: object
) -> Mapping[str, object]:
    """libCST's `gen_cache` hook (what `FullRepoManager` calls): no `ast` tree for any path."""
    return dict.fromkeys(paths)


class _Sink:
    """What `PositionProvidingCodegenState` writes into: a provider's `_computed`."""

    def __init__(self) -> None:
        self._computed: dict[cst.CSTNode, CodeRange] = {}


_Units = dict[cst.CSTNode, tuple[int, tuple[str, ...]]]


def _align(
    stmts: Sequence[cst.BaseStatement],
    nodes: list[ast.stmt],
    indent: tuple[str, ...],
    units: _Units,
) -> list[tuple[cst.BaseStatement, ast.stmt]] | None:
    """Pair each libCST statement with the first `ast` statement it holds (a simple line
    `a = 1; b = 2` holds two), recording its first line and indentation in `units`."""
    pairs: list[tuple[cst.BaseStatement, ast.stmt]] = []
    index = 0
    for stmt in stmts:
        count = len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
        if index + count > len(nodes):
            return None
        units[stmt] = (nodes[index].lineno, indent)
        pairs.append((stmt, nodes[index]))
        index += count
    return pairs if index == len(nodes) else None


def _units(module: cst.Module, tree: ast.Module | None) -> _Units | None:
    """Where each unit starts: every statement at any depth (a simple line `a = 1; b = 2` is
    one unit), mapped to the line of its first token (of its `def` or `class` keyword after
    decorators, as libCST counts it) and the indentation its code is generated with. From the
    `ast` of the same text; None when the parsers disagree."""
    if tree is None:
        return None
    units: _Units = {}
    pending: list[tuple[Sequence[cst.BaseStatement], list[ast.stmt], tuple[str, ...]]] = [
        (module.body, tree.body, ())
    ]
    while pending:
        stmts, nodes, indent = pending.pop()
        pairs = _align(stmts, nodes, indent, units)
        if pairs is None:
            return None
        for stmt, node in pairs:
            for block, body in _blocks(stmt, node):
                if not isinstance(block, cst.IndentedBlock):
                    continue  # `if x: return y`: small statements, no units inside
                token = block.indent if block.indent is not None else module.default_indent
                pending.append((block.body, body, (*indent, token)))
    return units


_SAME_SHAPE: dict[type[cst.CSTNode], tuple[type[ast.stmt], ...]] = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.With: (ast.With, ast.AsyncWith),
}


def _blocks(
    stmt: cst.BaseStatement, node: ast.stmt
) -> Iterator[tuple[cst.BaseSuite, list[ast.stmt]]]:
    """The statement blocks of a compound statement, each with the `ast` statements it holds
    (nothing when the two trees do not have the same shape here: no units inside then)."""
    if isinstance(stmt, cst.SimpleStatementLine):
        return
    if isinstance(stmt, cst.FunctionDef | cst.ClassDef | cst.With) and isinstance(
        node, _SAME_SHAPE[type(stmt)]
    ):
        yield stmt.body, node.body  # type: ignore[attr-defined]
    elif isinstance(stmt, cst.If) and isinstance(node, ast.If):
        yield from _if_blocks(stmt, node)
    elif (
        isinstance(stmt, cst.For)
        and isinstance(node, ast.For | ast.AsyncFor)
        or (isinstance(stmt, cst.While) and isinstance(node, ast.While))
    ):
        yield stmt.body, node.body
        if stmt.orelse is not None:
            yield stmt.orelse.body, node.orelse
    elif isinstance(stmt, cst.Try) and isinstance(node, ast.Try):
        yield stmt.body, node.body
        if len(stmt.handlers) == len(node.handlers):
            for handler, ast_handler in zip(stmt.handlers, node.handlers, strict=True):
                yield handler.body, ast_handler.body
        if stmt.orelse is not None:
            yield stmt.orelse.body, node.orelse
        if stmt.finalbody is not None:
            yield stmt.finalbody.body, node.finalbody


def _if_blocks(stmt: cst.If, node: ast.If) -> Iterator[tuple[cst.BaseSuite, list[ast.stmt]]]:
    """An `if`'s blocks, its `elif`s' (an `elif` is no unit: its code starts with `if` on its
    own) and its `else`."""
    yield stmt.body, node.body
    orelse = stmt.orelse
    if isinstance(orelse, cst.If):
        if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
            yield from _if_blocks(orelse, node.orelse[0])
    elif orelse is not None:
        yield orelse.body, node.orelse


def _generate(
    node: cst.CSTNode, module: cst.Module, indent: tuple[str, ...] = ()
) -> dict[cst.CSTNode, CodeRange]:
    sink = _Sink()
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=sink,  # type: ignore[arg-type]
        indent_tokens=list(indent),
    )
    node._codegen(state)
    return sink._computed


_FUNCTION_TYPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})


def function_lines(
    funcs: Sequence[cst.FunctionDef | cst.Lambda], tree: ast.Module | None
) -> dict[cst.CSTNode, int] | None:
    """The line of each function and lambda (of its `def`, `async` or `lambda` keyword, as
    libCST's positions count it), given in the order a libCST visitor meets them, from the
    `ast` of the same text, without generating any code. A visitor meets nodes in source
    order, a node before its children, and a `def` before its decorators: so the `ast`
    functions are sorted by where their whole statement starts. None when the two lists do
    not pair up (count, kind and name), and the caller asks for positions instead."""
    if tree is None:
        return None
    keyed: list[tuple[tuple[int, int], ast.AST]] = []
    defs = _FUNCTION_TYPES
    for node in ast_nodes(tree):
        if type(node) not in defs:  # `ast.parse` makes no subclass of a node class
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.decorator_list[0] if node.decorator_list else node
            keyed.append(((first.lineno, first.col_offset - 1), node))
        elif isinstance(node, ast.Lambda):
            keyed.append(((node.lineno, node.col_offset), node))
    if len(keyed) != len(funcs):
        return None
    keyed.sort(key=lambda item: item[0])
    lines: dict[cst.CSTNode, int] = {}
    for func, (_, node) in zip(funcs, keyed, strict=True):
        if isinstance(func, cst.Lambda):
            if not isinstance(node, ast.Lambda):
                return None
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or (
            node.name != func.name.value
        ):
            return None
        lines[func] = node.lineno
    return lines


_COMPOUND = frozenset(
    {cst.If, cst.For, cst.While, cst.With, cst.Try, cst.FunctionDef, cst.ClassDef}
)


def _last_line(stmt: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The last simple line of a compound statement (of its last block, to any depth); None
    when a block on its header line (`else: pass`) ends it, or another statement kind."""
    while not isinstance(stmt, cst.SimpleStatementLine):
        suite: cst.BaseSuite | None
        if isinstance(stmt, cst.If):
            if isinstance(stmt.orelse, cst.If):  # an `elif`
                stmt = stmt.orelse
                continue
            suite = stmt.body if stmt.orelse is None else stmt.orelse.body
        elif isinstance(stmt, cst.For | cst.While):
            suite = stmt.body if stmt.orelse is None else stmt.orelse.body
        elif isinstance(stmt, cst.Try):
            last = stmt.finalbody or stmt.orelse or (stmt.handlers[-1] if stmt.handlers else None)
            suite = None if last is None else last.body
        elif isinstance(stmt, cst.With | cst.FunctionDef | cst.ClassDef):
            suite = stmt.body
        else:
            return None
        if not isinstance(suite, cst.IndentedBlock) or not suite.body:
            return None
        stmt = suite.body[-1]
    return stmt


class _LazyRanges(MutableMapping[cst.CSTNode, CodeRange]):
    def __init__(
        self,
        module: cst.Module,
        parents: Mapping[cst.CSTNode, cst.CSTNode],
        units: _Units,
    ) -> None:
        self._module = module
        self._parents = parents
        self._units = units
        self._ranges: dict[cst.CSTNode, CodeRange] = {}
        # The nodes of the units generated so far whose range is not made yet: the index, in
        # `_generated`, of the unit's ranges (counted from the unit's own first line) and of
        # the lines to add. Most of them nobody asks for.
        self._pending: dict[cst.CSTNode, int] = {}
        self._generated: list[tuple[Mapping[cst.CSTNode, CodeRange], int]] = []
        self._done: set[cst.CSTNode] = set()
        self._complete = False

    def _unit_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The innermost unit holding `node`; None for the module and its header and footer."""
        found: cst.CSTNode | None = node
        while found is not None and found not in self._units:
            found = self._parents.get(found)
        return found

    def _add_unit(self, unit: cst.CSTNode) -> None:
        self._done.add(unit)
        line, indent = self._units[unit]
        ranges = _generate(unit, self._module, indent)
        self._generated.append((ranges, line - ranges[unit].start.line))
        # A node of a unit generated before (a nested statement) has the same range here.
        self._pending.update(dict.fromkeys(ranges, len(self._generated) - 1))

    def _shifted(self, node: cst.CSTNode) -> CodeRange | None:
        """The range of a node of a generated unit, made now (then kept); None for another."""
        index = self._pending.pop(node, None)
        if index is None:
            return None
        ranges, shift = self._generated[index]
        r = ranges[node]
        found = self._ranges[node] = CodeRange(
            CodePosition(r.start.line + shift, r.start.column),
            CodePosition(r.end.line + shift, r.end.column),
        )
        return found

    def _add_everything(self) -> None:
        if not self._complete:
            self._complete = True
            for node in list(self._pending):
                self._shifted(node)
            for node, found in _generate(self._module, self._module).items():
                self._ranges.setdefault(node, found)

    def _compound_range(self, node: cst.CSTNode) -> CodeRange | None:
        """The range of a compound statement that is a unit, without generating its code
        (its blocks may be long: a finding at an `if` or a `for` asks for it): it starts at
        its keyword, after its indentation, and ends where the last line of its last block
        ends (libCST's syntactic range; `tests/test_positions.py` asks for these first).
        None when its last block is on its header line (`if x: return y`)."""
        leaf = _last_line(node)
        if leaf is None:
            return None
        line, indent = self._units[node]
        end = self[leaf].end
        return CodeRange(CodePosition(line, sum(len(token) for token in indent)), end)

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._ranges.get(node) or self._shifted(node)
        if found is not None:
            return found
        if (
            not self._complete
            and type(node) in _COMPOUND
            and node in self._units
            and node not in self._done
        ):
            found = self._compound_range(node)
            if found is not None:
                self._ranges[node] = found
                return found
        unit = None if self._complete else self._unit_of(node)
        if unit is not None and unit not in self._done:
            self._add_unit(unit)
        elif unit is None:
            self._add_everything()  # the module itself, or its header and footer lines
        found = self._ranges.get(node) or self._shifted(node)
        if found is None:
            raise KeyError(node)
        return found

    def __setitem__(self, node: cst.CSTNode, value: CodeRange) -> None:
        self._pending.pop(node, None)
        self._ranges[node] = value

    def __delitem__(self, node: cst.CSTNode) -> None:
        self._shifted(node)
        del self._ranges[node]

    def __iter__(self) -> Iterator[cst.CSTNode]:
        self._add_everything()
        return iter(self._ranges)

    def __len__(self) -> int:
        self._add_everything()
        return len(self._ranges)


class LazyPositionProvider(BaseMetadataProvider[CodeRange]):
    """Same ranges as libCST's `PositionProvider` (syntactic positions, 1-based lines,
    0-based columns), computed per statement on first use."""

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        (PositionProvider,) if STOCK_LIBCST else (ParentProvider,)
    )
    # With `gen_cache` set, libCST hands the provider its entry of the wrapper's `cache`: the
    # `ast` tree of the same text, or None (then every position is computed at once).
    gen_cache = staticmethod(no_trees_per_path)

    def __init__(self, cache: object = None) -> None:
        super().__init__(cache=False)  # libCST refuses None when `gen_cache` is set
        self.cache = cache

    if STOCK_LIBCST:

        def _gen_impl(self, module: cst.Module) -> None:
            for node, found in self.metadata[PositionProvider].items():
                self.set_metadata(node, found)

    else:

        def _gen(self, wrapper: cst.MetadataWrapper) -> Mapping[cst.CSTNode, Any]:
            # libCST's `_gen` copies the result into a new dict: that would compute every range.
            self._computed = {}
            with self.resolve(wrapper):
                self._gen_impl(wrapper.module)
            return self._computed

        def _gen_impl(self, module: cst.Module) -> None:
            units = _units(module, self.cache if isinstance(self.cache, ast.Module) else None)
            if units is None:
                self._computed.update(_generate(module, module))
            else:
                parents = cast(Mapping[cst.CSTNode, cst.CSTNode], self.metadata[ParentProvider])
                lazy = _LazyRanges(module, parents, units)
                self._computed = cast(MutableMapping[cst.CSTNode, Any], lazy)
