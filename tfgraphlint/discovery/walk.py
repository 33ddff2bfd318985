"""`walk`: libCST's traversal for read-only visitors, without rebuilding the tree.

`node.visit(visitor)` rebuilds every node it passes (`_visit_and_replace_children` makes a
copy of each node with its visited children, validated, then thrown away when the visitor
changes nothing) and asks for `visit_<Node>_<attribute>` methods on every field of every
node. For a `CSTVisitor`, which can change nothing, this walks the same nodes in the same
order and makes the same calls, reading the children straight from each node's fields:

- the fields and their order per node class are what `_visit_and_replace_children` visits,
  recorded once per class by running it with a visitor that does not descend (per class and
  pattern of None fields, for the few classes that skip a field when it is None);
- `visit_<Node>` runs before the children and `leave_<Node>` after, through the visitor's own
  `on_visit`/`on_leave`, and a `visit_<Node>` returning False skips the children;
- attribute hooks (`visit_<Node>_<attribute>`) are called only when the visitor class has any
  (none of tfgraphlint's do);
- for a visitor with `CSTVisitor`'s own `on_visit` (and `on_leave`), the method for each node
  class is looked up once per visitor class, not by name on every node, and libCST's typed
  no-op stubs (every visitor has one for every node class) are not called at all.

`tests/test_walk.py` checks that the events (visit, leave, attribute visit and leave, in
order, on which node) are identical to libCST's on fixtures, rule examples, odd syntax and
generated source. `walk_batched` does the same for the rules' batched traversal.

With `TFGRAPHLINT_STOCK_LIBCST=1` (`discovery.stock`), `walk` and `walk_batched` are libCST's
own `visit` and `visit_batched`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

import libcst as cst

from tfgraphlint.discovery.stock import STOCK_LIBCST

_ORDER: dict[type[cst.CSTNode], tuple[str, ...]] = {}  # classes with one order
_CONDITIONAL: dict[type[cst.CSTNode], tuple[str, ...]] = {}  # the others: fields maybe skipped
_BY_PATTERN: dict[tuple[type[cst.CSTNode], object], tuple[str, ...]] = {}
_ATTRIBUTE_HOOK = re.compile(r"^(?:visit|leave)_[A-Z][A-Za-z0-9]*_[a-z_0-9]+$")
_HOOKS: dict[type[cst.CSTVisitor], bool] = {}
_HOOK = ("visit_", "leave_")
_OWN_HOOKS: dict[type, frozenset[str]] = {}
_IS_NODE: dict[type, bool] = {}


def _concrete_subclasses(base: type) -> set[type]:
    found: set[type] = set()
    subclasses: list[type] = base.__subclasses__()
    for sub in subclasses:
        found |= {sub} | _concrete_subclasses(sub)
    # `getattr(cst, name) is k`: `dataclass(slots=True)` leaves the class it replaced among
    # the subclasses.
    return {
        k
        for k in found
        if not getattr(k, "__abstractmethods__", None) and getattr(cst, k.__name__, None) is k
    }


# Node classes whose whole subtree is formatting: whitespace, comments, punctuation and
# operator tokens (about two thirds of the nodes of a module). No visitor of tfgraphlint has a
# method for any of them; a walk skips them for a visitor that has none either
# (`tests/test_walk.py` checks that a trivia node only ever holds trivia).
TRIVIA: frozenset[type] = frozenset(
    {
        cst.SimpleWhitespace,
        cst.ParenthesizedWhitespace,
        cst.Newline,
        cst.TrailingWhitespace,
        cst.EmptyLine,
        cst.Comment,
        cst.Comma,
        cst.Dot,
        cst.Colon,
        cst.Semicolon,
        cst.AssignEqual,
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
        cst.ImportStar,
        cst.Asynchronous,
        *_concrete_subclasses(cst.BaseBinaryOp),
        *_concrete_subclasses(cst.BaseBooleanOp),
        *_concrete_subclasses(cst.BaseCompOp),
        *_concrete_subclasses(cst.BaseUnaryOp),
        *_concrete_subclasses(cst.BaseAugOp),
    }
)
_TRIVIA_NAMES = frozenset(kind.__name__ for kind in TRIVIA)
_WALKED: dict[type, bool] = {}  # a node class, and not trivia
WALKED = _WALKED  # `is_walked_type`'s cache, for loops that read it inline


def is_walked_type(kind: type) -> bool:
    """`is_node_type(kind)` and not a `TRIVIA` class, cached."""
    found = _WALKED.get(kind)
    if found is None:
        found = _WALKED[kind] = is_node_type(kind) and kind not in TRIVIA
    return found


def is_node_type(kind: type) -> bool:
    """`issubclass(kind, cst.CSTNode)`, cached: `CSTNode` is an ABC, so a plain `isinstance`
    on it runs `ABCMeta.__instancecheck__`, a Python call, on every child of every node."""
    found = _IS_NODE.get(kind)
    if found is None:
        found = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return found


class _Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


def _record(node: cst.CSTNode) -> tuple[str, ...]:
    recorder = _Recorder()
    node._visit_and_replace_children(recorder)
    return tuple(recorder.fields)


def _fields(node: cst.CSTNode) -> tuple[str, ...]:
    """The fields libCST visits on `node`, in order. Static per class, except that a few
    classes skip a field that is None (`FormattedStringExpression.format_spec`): for those,
    the order is kept per pattern of None fields."""
    kind = type(node)
    order = _ORDER.get(kind)
    if order is not None:
        return order
    conditional = _CONDITIONAL.get(kind)
    if conditional is None:
        order = _record(node)
        skipped = tuple(
            f.name
            for f in dataclasses.fields(node)
            if f.name not in order and getattr(node, f.name) is None
        )
        if not skipped:
            _ORDER[kind] = order
            return order
        conditional = _CONDITIONAL[kind] = skipped
    # One field, as a rule (`IndentedBlock.indent`, in every block): no generator then.
    if len(conditional) == 1:
        key: tuple[type[cst.CSTNode], object] = (kind, getattr(node, conditional[0]) is None)
    else:
        key = (kind, tuple([getattr(node, name) is None for name in conditional]))
    order = _BY_PATTERN.get(key)
    if order is None:
        order = _BY_PATTERN[key] = _record(node)
    return order


def _own_hook_names(klass: type) -> frozenset[str]:
    """The `visit_*`/`leave_*` names in `klass.__dict__`, or none when every one of them is a
    libCST no-op stub (its typed-visitor base classes: about 1,600 stubs)."""
    found = _OWN_HOOKS.get(klass)
    if found is None:
        own = {name: value for name, value in vars(klass).items() if name.startswith(_HOOK)}
        stubs = all(getattr(value, "_is_no_op", False) for value in own.values())
        found = _OWN_HOOKS[klass] = frozenset() if stubs else frozenset(own)
    return found


def visitor_hook_names(kind: type) -> list[str]:
    """The `visit_*`/`leave_*` names of `kind` that may resolve to something else than a libCST
    no-op stub, sorted: what `dir(kind)` lists, without the names that only stub-only classes
    of the MRO define (those resolve to a stub). Callers still check what each name resolves
    to; this only spares them `getattr` on every stub, once per visitor class and process,
    which an editor's flake8 run pays on every save."""
    names: set[str] = set()
    for klass in kind.__mro__:
        names |= _own_hook_names(klass)
    return sorted(names)


def _has_attribute_hooks(kind: type[cst.CSTVisitor]) -> bool:
    found = _HOOKS.get(kind)
    if found is None:
        found = _HOOKS[kind] = (
            kind.on_visit_attribute is not cst.CSTVisitor.on_visit_attribute
            or kind.on_leave_attribute is not cst.CSTVisitor.on_leave_attribute
            or any(
                _ATTRIBUTE_HOOK.match(name)
                and not getattr(getattr(kind, name), "_is_no_op", False)  # libCST's stubs
                for name in visitor_hook_names(kind)
            )
        )
    return found


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a read-only visitor, without rebuilding the tree."""
    if STOCK_LIBCST or _has_attribute_hooks(type(visitor)):
        node.visit(visitor)
        return
    walk_events(node, visitor)


def walk_events(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`walk` without the attribute-hook check: the caller knows no attribute hook can fire.
    The `TRIVIA` nodes are not visited when the visitor has no method for any of them and
    no `on_leave` of its own (or one that says, with `SKIPS_TRIVIA = True`, that it needs
    none of them)."""
    if STOCK_LIBCST:
        node.visit(visitor)
        return
    kind = type(visitor)
    if kind.on_visit is _DEFAULT_ON_VISIT:
        visits, leaves = _tables(kind)
        own_leave = None if kind.on_leave is _DEFAULT_ON_LEAVE else visitor.on_leave
        skips = (own_leave is None or getattr(kind, "SKIPS_TRIVIA", False)) and not _cares(kind)
        if type(node) in TRIVIA and skips:
            return
        _walk_dispatching(node, visitor, visits, leaves, own_leave, _WALKED if skips else _IS_NODE)
    else:
        _walk(node, visitor.on_visit, visitor.on_leave)


_CARES: dict[type, bool] = {}


def _cares(kind: type) -> bool:
    """Whether visitor class `kind` has a `visit_`/`leave_` method for a `TRIVIA` class."""
    found = _CARES.get(kind)
    if found is None:
        visits, leaves = _tables(kind)
        found = _CARES[kind] = any(visits[t] is not None or leaves[t] is not None for t in TRIVIA)
    return found


# `CSTVisitor.on_visit`/`on_leave` look the method up by name on every node
# (`getattr(self, f"visit_{type(node).__name__}", None)`) and call it, and every visitor class
# has a method for every node class: libCST's typed no-op stubs. The tables below hold, per
# visitor class and node class, the function to call, or None for a stub or no method.
_DEFAULT_ON_VISIT = cst.CSTVisitor.on_visit
_DEFAULT_ON_LEAVE = cst.CSTVisitor.on_leave
_Method = Callable[[cst.CSTVisitor, cst.CSTNode], Any]


class _Table(dict[type, _Method | None]):
    """One visitor class's `visit_*` (or `leave_*`) functions per node class, looked up on
    first use; None for a no-op stub or no method."""

    def __init__(self, kind: type, prefix: str) -> None:
        super().__init__()
        self._kind = kind
        self._prefix = prefix

    def __missing__(self, node_kind: type) -> _Method | None:
        method = getattr(self._kind, f"{self._prefix}_{node_kind.__name__}", None)
        if method is not None and getattr(method, "_is_no_op", False):
            method = None
        self[node_kind] = method
        return method


_TABLES: dict[type, tuple[_Table, _Table]] = {}


def _tables(kind: type) -> tuple[_Table, _Table]:
    found = _TABLES.get(kind)
    if found is None:
        found = _TABLES[kind] = (_Table(kind, "visit"), _Table(kind, "leave"))
    return found


def leave_methods(kind: type[cst.CSTVisitor]) -> dict[type, _Method | None]:
    """What `CSTVisitor.on_leave` of visitor class `kind` would call for a node, per node
    class (unbound), or None for nothing (filled on first use of each node class)."""
    return _tables(kind)[1]


def _walk_dispatching(
    node: cst.CSTNode,
    visitor: cst.CSTVisitor,
    visits: _Table,
    leaves: _Table,
    own_leave: Callable[[cst.CSTNode], None] | None,
    walked: dict[type, bool],
) -> None:
    """`_walk` with `CSTVisitor`'s own `on_visit` (and `on_leave`, unless the visitor has its
    own: `own_leave`), looked up in the tables. `walked` is the cache of `is_walked_type`
    (trivia skipped) or of `is_node_type`."""
    node_kind = type(node)
    method = visits[node_kind]
    if method is None or method(visitor, node) is not False:
        children = _CHILDREN.get(node) if walked is _WALKED else None
        if children is None:
            children = _children(node, walked)
        for child in children:
            _walk_dispatching(child, visitor, visits, leaves, own_leave, walked)
    if own_leave is not None:
        own_leave(node)
        return
    method = leaves[node_kind]
    if method is not None:
        method(visitor, node)


# The children each walk visits, per node, in order, without the `TRIVIA` nodes: what the
# walks of one module's nodes (the scope analysis, discovery's collector, the helpers'
# walks over a function, the rules' batched walk: four or five over most nodes) read from
# the nodes' fields once. A node is immutable, so its children never change; `forget_children`
# empties the map when the engine is done with a file.
_CHILDREN: dict[cst.CSTNode, list[cst.CSTNode]] = {}


def forget_children() -> None:
    """Empty the map of children the walks keep (`engine.runner.analyse`, after each file):
    it holds every node walked since."""
    _CHILDREN.clear()


def walked_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children the walks visit under `node`, in order, without the trivia (kept for the
    file, `_CHILDREN`). Do not change the list."""
    found = _CHILDREN.get(node)
    return _children(node, _WALKED) if found is None else found


def _children(node: cst.CSTNode, walked: dict[type, bool]) -> list[cst.CSTNode]:
    """The children a walk visits under `node`, in order: of the classes `walked` says yes
    to (kept in `_CHILDREN` when that is `_WALKED`, the classes but the trivia)."""
    found: list[cst.CSTNode] = []
    for name in _ORDER.get(type(node)) or _fields(node):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            for child in value:
                go = walked.get(type(child))
                if go is None:
                    go = _classify(walked, type(child))
                if go:
                    found.append(child)
        else:
            go = walked.get(kind)
            if go is None:
                go = _classify(walked, kind)
            if go:
                found.append(value)
    if walked is _WALKED:
        _CHILDREN[node] = found
    return found


def _classify(walked: dict[type, bool], kind: type) -> bool:
    return is_walked_type(kind) if walked is _WALKED else is_node_type(kind)


def _walk(
    node: cst.CSTNode,
    on_visit: Callable[[cst.CSTNode], bool],
    on_leave: Callable[[cst.CSTNode], None],
) -> None:
    # The loop over a node's children is written out here on purpose: it runs once per node,
    # and a helper (a generator, or a function returning a list) costs one more Python call
    # per node. The other two walks read the children from `_CHILDREN` (one call per node and
    # module, not per walk).
    if on_visit(node):
        for name in _ORDER.get(type(node)) or _fields(node):
            value = getattr(node, name)
            kind = type(value)
            if kind is tuple or kind is list:
                for child in value:
                    if _IS_NODE.get(type(child)) or is_node_type(type(child)):
                        _walk(child, on_visit, on_leave)
            elif _IS_NODE.get(kind) or is_node_type(kind):
                _walk(value, on_visit, on_leave)
    on_leave(node)


def walk_batched(node: cst.CSTNode, visitors: Sequence[cst.BatchableCSTVisitor]) -> None:
    """`libcst.visit_batched(node, visitors)`, without rebuilding the tree (metadata must
    already be resolved for the visitors, as `MetadataWrapper.visit_batched` does)."""
    if STOCK_LIBCST:
        cst.visit_batched(node, visitors)
        return
    visits: dict[str, list[Callable[[cst.CSTNode], None]]] = {}
    leaves: dict[str, list[Callable[[cst.CSTNode], None]]] = {}
    for visitor in visitors:
        for name, method in visitor.get_visitors().items():
            if _ATTRIBUTE_HOOK.match(name):
                cst.visit_batched(node, visitors)  # attribute hooks: libCST's own way
                return
            kind, _, type_name = name.partition("_")
            (visits if kind == "visit" else leaves).setdefault(type_name, []).append(method)
    skips = _TRIVIA_NAMES.isdisjoint(visits) and _TRIVIA_NAMES.isdisjoint(leaves)
    if type(node) in TRIVIA and skips:
        return
    _walk_batched(node, _ByKind(visits), _ByKind(leaves), _WALKED if skips else _IS_NODE)


_Methods = list[Callable[[cst.CSTNode], None]]


class _ByKind(dict[type, _Methods]):
    """Methods per node class, looked up by class name on first use."""

    def __init__(self, by_name: dict[str, _Methods]) -> None:
        super().__init__()
        self._by_name = by_name

    def __missing__(self, kind: type) -> _Methods:
        found = self[kind] = self._by_name.get(kind.__name__, [])
        return found


def _walk_batched(
    node: cst.CSTNode, visits: _ByKind, leaves: _ByKind, walked: dict[type, bool]
) -> None:
    """`_walk` with the batched visitors' methods called inline (no callback per node)."""
    node_kind = type(node)
    for method in visits[node_kind]:
        method(node)
    children = _CHILDREN.get(node) if walked is _WALKED else None
    if children is None:
        children = _children(node, walked)
    for child in children:
        _walk_batched(child, visits, leaves, walked)
    for method in leaves[node_kind]:
        method(node)
