"""`parse_module`: libCST's parser, without validating the nodes it makes, and with a faster
`__init__` for each of them.

Every libCST node validates itself when it is made (`CSTNode.__post_init__` calls
`_validate`), which catches trees built by hand that could not be printed back. A tree that
the parser makes from source is valid by construction (libCST's own comment there: "It might
make more sense to move validation work into the visitor, which would allow us to avoid
validating the tree when parsing a file"), and validation is about 12 % of the parse of the
corpus' candidate files. While `parse_module` runs, `__post_init__` does nothing.

The parser makes each node by calling its class with keyword arguments, and a node class is a
frozen dataclass with slots: its generated `__init__` stores each field through
`object.__setattr__(self, name, value)` (a frozen class refuses `self.name = value`), then
calls `__post_init__`. While `parse_module` runs, each such class's `__init__` is instead one
with the same parameters and defaults that stores each field through its slot's own
descriptor and calls nothing else (`_fast_init`): 7 % fewer instructions in the parse of the
corpus' candidate files, the same trees (`tests/test_parsing.py`). A node that another thread
makes by hand in that window is made the same way, and not validated either (nothing else
changes); after the window every class has its own `__init__` back.

Three nodes in five that the parser makes are whitespace: `SimpleWhitespace` (two in five),
`Newline`, and the `EmptyLine`s and `TrailingWhitespace`s they make up, nearly all of them
alike (`" "`, `""`, an empty line). The parser makes each by calling the class it finds under
that name in the `libcst` module, so while `parse_module` runs, those four names are
functions (`_shared`) that hand out one node per distinct value (per distinct children, which
are shared too, for the two kinds of line; a line that holds a comment gets a node of its
own): about 60 % fewer nodes to make, keep and free. The trees print the same code and equal
libCST's node for node (`tests/test_parsing.py`). A node is immutable, so sharing one changes
nothing but identity, and nothing asks for the identity of whitespace: the engine's walks and
its parent map skip it (`walk.TRIVIA`), and positions are recorded for the nodes that hold it.
In that window another thread that makes such a node by hand through `libcst.<Name>` gets a
shared one, and `isinstance(node, libcst.<Name>)` there fails (tfgraphlint analyses in one
thread per process; libCST's own modules import the classes themselves).

With `TFGRAPHLINT_STOCK_LIBCST=1` (`discovery.stock`) it is `libcst.parse_module`.
"""

from __future__ import annotations

import dataclasses
import threading
import types
from collections.abc import Callable, Iterator

import libcst as cst

from tfgraphlint.discovery.stock import STOCK_LIBCST

_VALIDATING = cst.CSTNode.__post_init__
_LOCK = threading.Lock()
_ACTIVE = 0  # parses running now, in any thread
_Init = Callable[..., None]
# (node class, its own `__init__`, the fast one), made on the first parse.
_INITS: list[tuple[type, _Init, _Init]] | None = None
_FACTORY = object()  # a field's default when its class gives a `default_factory`


def _no_validation(self: cst.CSTNode) -> None:
    return None


def _subclasses(kind: type) -> Iterator[type]:
    subclasses: list[type] = kind.__subclasses__()
    for sub in subclasses:
        yield sub
        yield from _subclasses(sub)


def _parameter(
    i: int, field: dataclasses.Field[object], namespace: dict[str, object], body: list[str]
) -> str:
    """The parameter for dataclass field `field` (the `i`-th) of a generated function with
    the parameters and defaults of the class's `__init__`: a default goes into `namespace`,
    and a default factory is called in the function's body (its lines added to `body`;
    `namespace` must hold the `_tfg_factory` sentinel)."""
    name = field.name
    if field.default is not dataclasses.MISSING:
        namespace[f"_tfg_default{i}"] = field.default
        return f"{name}=_tfg_default{i}"
    if field.default_factory is not dataclasses.MISSING:
        namespace[f"_tfg_make{i}"] = field.default_factory
        body.append(f"    if {name} is _tfg_factory:\n        {name} = _tfg_make{i}()")
        return f"{name}=_tfg_factory"
    return name


def _fast_init(kind: type) -> _Init | None:
    """An `__init__` for node class `kind` with the parameters and defaults of the one
    `dataclasses` made, storing each field through its slot's descriptor (`__set__`) and
    calling no `__post_init__`; None when `kind` is not such a class (no `__init__` of its
    own, a field without a slot of its own, a keyword-only or `init=False` field: a base
    class, or the class `add_slots` replaced), or not libCST's own (a subclass another
    package defines, with a `__post_init__` of its own perhaps)."""
    if (
        not kind.__module__.startswith("libcst.")  # a class of another package: left alone
        or not dataclasses.is_dataclass(kind)
        or "__init__" not in vars(kind)
    ):
        return None
    namespace: dict[str, object] = {"_tfg_factory": _FACTORY}
    params: list[str] = []
    body: list[str] = []
    for i, field in enumerate(dataclasses.fields(kind)):
        slot = vars(kind).get(field.name)
        if not isinstance(slot, types.MemberDescriptorType) or not field.init or field.kw_only:
            return None
        name = field.name
        namespace[f"_tfg_set{i}"] = slot.__set__
        params.append(_parameter(i, field, namespace, body))
        body.append(f"    _tfg_set{i}(self, {name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    try:
        exec(source, namespace)  # noqa: S102 - the source is made above from field names
    except SyntaxError:  # a field without a default after one with (no dataclass makes it)
        return None
    init = namespace["__init__"]
    assert callable(init)
    return init


def _inits() -> list[tuple[type, _Init, _Init]]:
    global _INITS
    if _INITS is None:
        found = []
        for kind in set(_subclasses(cst.CSTNode)):
            fast = _fast_init(kind)
            if fast is not None:
                found.append((kind, vars(kind)["__init__"], fast))
        _INITS = sorted(found, key=lambda item: item[0].__qualname__)
    return _INITS


# The classes whose nodes `parse_module` shares, and their fields, in order. A field is keyed by
# its value (`_BY_VALUE`), or by the identity of the node it holds (a shared one, or one the
# cached node keeps alive); `comment` must be None (a line with a comment gets its own node).
_SHARED_FIELDS: dict[str, tuple[str, ...]] = {
    "SimpleWhitespace": ("value",),
    "Newline": ("value",),
    "EmptyLine": ("indent", "whitespace", "comment", "newline"),
    "TrailingWhitespace": ("whitespace", "comment", "newline"),
}
_BY_VALUE = frozenset({"value", "indent"})
# (name in `libcst`, the class, the function standing for it, its cache), made on first use.
_SHARED: list[tuple[str, type, Callable[..., cst.CSTNode], dict[object, cst.CSTNode]]] | None
_SHARED = None


def _standin(kind: type) -> tuple[Callable[..., cst.CSTNode], dict[object, cst.CSTNode]] | None:
    """A function with the parameters and defaults of node class `kind`'s `__init__` that
    returns one node per distinct key (`_SHARED_FIELDS`), and its cache; None when `kind`'s
    fields are not the ones expected (another libCST release: its nodes are not shared)."""
    if not dataclasses.is_dataclass(kind):
        return None
    fields = dataclasses.fields(kind)
    names = tuple(f.name for f in fields)
    if names != _SHARED_FIELDS.get(kind.__name__):
        return None
    cache: dict[object, cst.CSTNode] = {}
    namespace: dict[str, object] = {
        "_tfg_kind": kind,
        "_tfg_cache": cache,
        "_tfg_factory": _FACTORY,
    }
    params: list[str] = []
    keys: list[str] = []
    defaults: list[str] = []
    for i, field in enumerate(fields):
        if not field.init:
            return None
        params.append(_parameter(i, field, namespace, defaults))
        if field.name in _BY_VALUE:
            keys.append(field.name)
        elif field.name != "comment":
            keys.append(f"id({field.name})")  # a shared node: alive as long as the cache
    make = "_tfg_kind(" + ", ".join(f"{f.name}={f.name}" for f in fields) + ")"
    key = keys[0] if len(keys) == 1 else "(" + ", ".join(keys) + ")"
    lines = [f"def _tfg_standin({', '.join(params)}):", *defaults]
    if "comment" in names:
        lines.append(f"    if comment is not None:\n        return {make}")
    lines += [
        f"    key = {key}",
        "    node = _tfg_cache.get(key)",
        "    if node is None:",
        f"        node = _tfg_cache[key] = {make}",
        "    return node",
    ]
    exec("\n".join(lines), namespace)  # noqa: S102 - the source is made above from field names
    standin = namespace["_tfg_standin"]
    assert callable(standin)
    return standin, cache


def _shared() -> list[tuple[str, type, Callable[..., cst.CSTNode], dict[object, cst.CSTNode]]]:
    global _SHARED
    if _SHARED is None:
        found = []
        for name in _SHARED_FIELDS:
            kind = getattr(cst, name, None)
            made = _standin(kind) if isinstance(kind, type) else None
            if kind is not None and made is not None:
                found.append((name, kind, *made))
        _SHARED = found
    return _SHARED


def parse_module(source: str) -> cst.Module:
    """`libcst.parse_module(source)`, its nodes not validated, made by `_fast_init`'s
    `__init__`s, its whitespace nodes shared (`_shared`; see the module docstring)."""
    if STOCK_LIBCST:
        return cst.parse_module(source)
    global _ACTIVE
    with _LOCK:
        if _ACTIVE == 0:
            cst.CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
            for kind, _, fast in _inits():
                type.__setattr__(kind, "__init__", fast)
            for name, _, standin, cache in _shared():
                # Empty already, but for what another thread made through a standin it had
                # just read from `libcst` when the last window closed (a node, alike).
                cache.clear()
                setattr(cst, name, standin)
        _ACTIVE += 1
    try:
        return cst.parse_module(source)
    finally:
        with _LOCK:
            _ACTIVE -= 1
            if _ACTIVE == 0:
                cst.CSTNode.__post_init__ = _VALIDATING  # type: ignore[method-assign]
                for kind, own, _ in _inits():
                    type.__setattr__(kind, "__init__", own)
                for name, kind, _, cache in _shared():
                    setattr(cst, name, kind)
                    cache.clear()


_PYTHON_HASH = cst.CSTNode.__hash__


def hash_nodes_in_c() -> None:
    """For the rest of this process, every libCST node class hashes with `object.__hash__`
    instead of `CSTNode.__hash__` (`return id(self)`, a Python call on every dictionary or
    set operation keyed by a node, 1.6 million of them over the corpus): the same identity
    hash, made in C, half the time per call. Nodes compare by identity either way; only the
    hash's value changes (the address, rotated), so it must come before any node is kept in
    a dictionary or set (importing the engine and its rules keeps none: a test checks). For
    a process that only analyses files: `check`'s workers (`engine.runner.start_worker`),
    never a program that imports the engine. With `TFGRAPHLINT_STOCK_LIBCST=1`, nothing."""
    if STOCK_LIBCST:
        return
    for kind in {cst.CSTNode, *_subclasses(cst.CSTNode)}:
        if vars(kind).get("__hash__") is _PYTHON_HASH:
            type.__setattr__(kind, "__hash__", object.__hash__)
