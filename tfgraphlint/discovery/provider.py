"""`CompiledContextProvider`: which function bodies TensorFlow traces, and why.

Runs once per module, as a libCST metadata provider, so rules never re-derive it. It maps
every `FunctionDef` and `Lambda` that is traced to a `CompiledContext`, and every callable
that is known to run eagerly (a `tf.py_function` callback) to `EAGER`. Rules ask through
`Rule.compiled_context(node)` for the innermost enclosing function.

Two passes, as pyflakes defers function bodies: first collect every function, class and call
(`tf.function(f)` may come after `def f`), then propagate from the roots (decorated or wrapped
functions, dataset callbacks, Keras steps) to nested bodies, graph bodies and same-module
helpers; then to the functions the module passes to a compiled function that calls the
parameter, and to the Keras `call`s that compiled bodies run through an instance.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    BaseMetadataProvider,
    MetadataWrapper,
    QualifiedName,
    QualifiedNameSource,
)

from tfgraphlint._types import ExternalCall
from tfgraphlint.discovery import names
from tfgraphlint.discovery.graphs import parents_first
from tfgraphlint.discovery.model import CompiledContext, ContextKind, ModuleDiscovery
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.positions import LazyPositionProvider, function_lines
from tfgraphlint.discovery.qualnames import qualified_names
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.walk import walk

FuncNode = cst.FunctionDef | cst.Lambda


class _Eager:
    """Marker for callables that run eagerly (py_function callbacks)."""

    def __repr__(self) -> str:
        return "EAGER"


EAGER: Final = _Eager()
# Why a Keras loss or metric is not converted (a phrase for messages; checked on TF 2.21 with
# Keras 3; Keras 2, `tf_keras`, converts them with AutoGraph).
_KERAS3_REASON: Final = "Keras 3 traces it without AutoGraph"


@dataclass(frozen=True, slots=True)
class DiscoveryOptions:
    extra_function_decorators: tuple[str, ...] = ()
    # Keras `Layer.call`: None (the default) finds it and reports only what fails when traced
    # without AutoGraph (`CompiledContext.breaking_only`); True, every rule; False, not found.
    keras_call: bool | None = None
    follow_calls: bool = True
    # follow-imports: record calls to imported functions (phase 1), and treat these module-level
    # functions as compiled, with the given contexts (phase 2, from `engine.project`).
    follow_imports: bool = False
    external_roots: tuple[tuple[str, CompiledContext], ...] = ()
    # TensorFlow re-exported by the project's own modules (`discovery.reexports`): the
    # qualified name libCST gives (`mypkg.tf`) and the module it is (`tensorflow`).
    reexports: tuple[tuple[str, str], ...] = ()
    # The module is TensorFlow 1 code (`discovery.legacy`, read from the whole text): Keras
    # `call`s are not found by default (`keras_call` None) in it.
    tf1_code: bool = False


def default_options_per_path(
    root_path: Path, paths: list[str], timeout: int | None = None, **_: object
) -> Mapping[str, object]:
    """libCST's `gen_cache` hook (what `FullRepoManager` calls): the default options for
    every path. tfgraphlint itself passes each file's options through `discovery_wrapper`."""
    return {path: DiscoveryOptions() for path in paths}


# The last names of `names.PY_FUNCTION` and `names.TO_GRAPH`: every qualified name of an
# attribute chain ends with its attribute (`_mark_exits` skips the calls of other ones).
_EXIT_LAST_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in names.PY_FUNCTION | names.TO_GRAPH)


def discovery_wrapper(
    module: cst.Module,
    options: DiscoveryOptions,
    tree: ast.Module | None = None,
    qualname_memo: dict[cst.CSTNode, Collection[QualifiedName]] | None = None,
) -> MetadataWrapper:
    """The wrapper every discovery run goes through: the options (and CPython's `ast` of the
    same text, for `LazyPositionProvider`) ride in libCST's metadata cache, where the
    providers read them (`self.cache`). No context variable, no default: `check`, `trace` and
    the flake8 plugin cannot disagree on what is compiled. `qualname_memo`: the memo of
    qualified names discovery fills, for the rules to share (`FileState.qualname_memo`)."""
    found = DiscoveryInput(options, tree, qualname_memo)
    cache = {CompiledContextProvider: found, LazyPositionProvider: tree}
    return MetadataWrapper(module, unsafe_skip_copy=True, cache=cache)


@dataclass(frozen=True, slots=True)
class DiscoveryInput:
    """What `CompiledContextProvider` takes from the metadata cache: the options, and
    CPython's `ast` of the same text when the engine has it (statement lines, cheaply)."""

    options: DiscoveryOptions
    tree: ast.Module | None = None
    # The qualified names of nodes (`discovery.qualnames`), shared with the rules of the
    # same wrapper (the same scopes and re-exports give the same names); None: discovery's own.
    qualname_memo: dict[cst.CSTNode, Collection[QualifiedName]] | None = field(
        default=None, compare=False
    )


class _Returns(SameScopeVisitor):
    def __init__(self) -> None:
        self.values: list[cst.BaseExpression | None] = []

    def visit_Return(self, node: cst.Return) -> None:
        self.values.append(node.value)


def _returns(func: FuncNode) -> list[cst.BaseExpression]:
    """The values a function's own `return`s give (empty when one is bare, or none)."""
    if isinstance(func, cst.Lambda):
        return [func.body]
    finder = _Returns()
    walk(func.body, finder)
    values = [v for v in finder.values if v is not None]
    return values if len(values) == len(finder.values) else []


def _is_property(node: cst.FunctionDef, provider: CompiledContextProvider) -> bool:
    """Decorated `@property`, `@functools.cached_property`, or `@<name>.setter`/`.getter`/
    `.deleter` (the accessors of a property defined above)."""
    for decorator in node.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Attribute) and expr.attr.value in {"setter", "getter", "deleter"}:
            return True
        if provider.qualnames(expr) & {"builtins.property", "functools.cached_property"}:
            return True
    return False


@dataclass(eq=False, slots=True)
class _FuncInfo:
    node: FuncNode
    qualname: str
    provider: CompiledContextProvider
    parent: _FuncInfo | None
    cls: cst.ClassDef | None  # set when the function is defined directly in a class body
    calls: list[cst.Call] = field(default_factory=list)
    children: list[_FuncInfo] = field(default_factory=list)

    @property
    def line(self) -> int:
        # From the `ast` when it lines up; else positions (computed per unit when first asked).
        found = self.provider.function_lines.get(self.node)
        return found if found is not None else self.provider.line_of(self.node)


class _Collector(cst.CSTVisitor):
    """Collects functions (with qualnames), class methods and calls, in one walk."""

    def __init__(self, provider: CompiledContextProvider) -> None:
        self.provider = provider
        self.funcs: dict[FuncNode, _FuncInfo] = {}
        self.methods: dict[cst.ClassDef, dict[str, _FuncInfo]] = {}
        self.all_calls: list[tuple[cst.Call, _FuncInfo | None]] = []
        self.assigns: dict[cst.Name, cst.BaseExpression] = {}
        # The block (module or indented body) that holds each `def` statement.
        self.block_of: dict[cst.FunctionDef, cst.CSTNode] = {}
        # `x.run_eagerly = True`: the object, and the function the assignment is in.
        self.run_eagerly: list[tuple[cst.BaseExpression, _FuncInfo | None]] = []
        # Attribute names assigned inside each class (`obj.update_state = ...` in a method):
        # a method so replaced on an instance is not what Keras calls (`_mark_keras`).
        self.attributes_set: dict[cst.ClassDef, set[str]] = {}
        # `self.net = ...` in a method: the values bound to each attribute of a class's
        # instances, with the method that binds them; and the attribute names assigned on
        # anything but a method's `self` (`trainer.net = ...`), whose values are unknown.
        self.self_bindings: dict[
            tuple[cst.ClassDef, str], list[tuple[cst.BaseExpression, _FuncInfo]]
        ] = {}
        self.other_attributes: set[str] = set()
        # Calls under `if __name__ == "__main__":` at the top level.
        self.main_guarded: set[cst.Call] = set()
        self._main_guard: list[bool] = []
        self._func_stack: list[_FuncInfo] = []
        self._scope: list[tuple[str, cst.ClassDef | None]] = []

    def _qualname(self, name: str) -> str:
        parts: list[str] = []
        for part, cls in self._scope:
            parts.append(part if cls is not None else f"{part}.<locals>")
        return ".".join([*parts, name])

    def visit_Module(self, node: cst.Module) -> None:
        self._note_block(node, node.body)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._note_block(node, node.body)

    def _note_block(self, block: cst.CSTNode, body: Sequence[cst.CSTNode]) -> None:
        for stmt in body:
            if type(stmt) is cst.FunctionDef:  # exact: `isinstance` on an ABC is a Python call
                self.block_of[stmt] = block

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scope.append((node.name.value, node))
        self.methods[node] = {}

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scope.pop()

    def _enter(self, node: FuncNode, name: str) -> None:
        parent = self._func_stack[-1] if self._func_stack else None
        cls = self._scope[-1][1] if self._scope and self._scope[-1][1] is not None else None
        if isinstance(node, cst.Lambda):
            cls = None
        info = _FuncInfo(node, self._qualname(name), self.provider, parent, cls)
        self.funcs[node] = info
        if parent is not None:
            parent.children.append(info)
        if cls is not None and isinstance(node, cst.FunctionDef):
            if _is_property(node, self.provider):
                # `self.name(...)` calls what the property returns, not this body (and with
                # a getter and a setter of one name, the last `def` is the setter).
                self.methods[cls].pop(name, None)
            else:
                self.methods[cls][name] = info
        self._func_stack.append(info)
        self._scope.append((name, None))

    def _leave(self) -> None:
        self._func_stack.pop()
        self._scope.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._enter(node, node.name.value)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._leave()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._enter(node, "<lambda>")

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._leave()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Attribute):
                cls = next((c for _, c in reversed(self._scope) if c is not None), None)
                if cls is not None:
                    self.attributes_set.setdefault(cls, set()).add(target.target.attr.value)
                self._note_attribute(target.target, node.value)
            if isinstance(target.target, cst.Tuple | cst.List):
                for element in target.target.elements:
                    if isinstance(element.value, cst.Attribute):
                        self.other_attributes.add(element.value.attr.value)
            if isinstance(target.target, cst.Name):
                self.assigns[target.target] = node.value
            elif (
                isinstance(target.target, cst.Attribute)
                and target.target.attr.value == "run_eagerly"
                and isinstance(node.value, cst.Name)
                and node.value.value == "True"
            ):
                where = self._func_stack[-1] if self._func_stack else None
                self.run_eagerly.append((target.target.value, where))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name) and node.value is not None:
            self.assigns[node.target] = node.value
        elif isinstance(node.target, cst.Attribute) and node.value is not None:
            self._note_attribute(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Attribute):
            self.other_attributes.add(node.target.attr.value)  # a value of unknown kind

    def _note_attribute(self, target: cst.Attribute, value: cst.BaseExpression) -> None:
        """`self.net = value` in a method (its first parameter) goes into `self_bindings`;
        any other attribute assignment names an attribute of unknown value."""
        method = self._func_stack[-1] if self._func_stack else None
        params = method.node.params.params if method is not None else ()
        if (
            method is not None
            and method.cls is not None
            and isinstance(method.node, cst.FunctionDef)
            and params
            and isinstance(target.value, cst.Name)
            and target.value.value == params[0].name.value
        ):
            key = (method.cls, target.attr.value)
            self.self_bindings.setdefault(key, []).append((value, method))
        else:
            self.other_attributes.add(target.attr.value)

    def visit_If(self, node: cst.If) -> None:
        self._main_guard.append(not self._func_stack and not self._scope and _names_main(node.test))

    def leave_If(self, original_node: cst.If) -> None:
        self._main_guard.pop()

    def visit_Call(self, node: cst.Call) -> None:
        current = self._func_stack[-1] if self._func_stack else None
        if any(self._main_guard):
            self.main_guarded.add(node)
        self.all_calls.append((node, current))
        if current is not None:
            current.calls.append(node)


def _names_main(test: cst.BaseExpression) -> bool:
    """`__name__ == "__main__"` (either way round)."""
    return isinstance(test, cst.Comparison) and any(
        isinstance(side, cst.Name) and side.value == "__name__"
        for side in (test.left, *(c.comparator for c in test.comparisons))
    )


def _root_context(info: _FuncInfo, kind: ContextKind, **fields: Any) -> CompiledContext:
    """A context whose function is its own root (a tf.function, a dataset callback, a Keras
    method, a loss passed to `compile`), with the other `fields` as given."""
    return CompiledContext(
        kind=kind,
        qualname=info.qualname,
        line=info.line,
        root_qualname=info.qualname,
        root_line=info.line,
        **fields,
    )


def _callable_args(
    call: cst.Call, positions: Sequence[int], keywords: Sequence[str]
) -> Iterator[cst.BaseExpression]:
    """The argument expressions at the given positions or keywords."""
    positional = [a for a in call.args if a.keyword is None and a.star == ""]
    for pos in positions:
        if pos < len(positional):
            yield positional[pos].value
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in keywords:
            yield arg.value


def _callables_in(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """Callable-looking expressions in an argument: itself, or the items of a list/tuple/dict
    (`tf.switch_case(i, [f, g])`, `tf.case([(pred, fn)])`)."""
    if isinstance(expr, cst.List | cst.Tuple | cst.Set):
        for item in expr.elements:
            yield from _callables_in(item.value)
    elif isinstance(expr, cst.Dict):
        for entry in expr.elements:
            if isinstance(entry, cst.DictElement):
                yield from _callables_in(entry.value)
    else:
        yield expr


class CompiledContextProvider(BaseMetadataProvider[object]):
    """Maps FunctionDef/Lambda nodes to `CompiledContext` (traced) or `EAGER`; the Module node
    to a `ModuleDiscovery`."""

    METADATA_DEPENDENCIES = (FastScopeProvider, LazyPositionProvider, ParentProvider)
    # With `gen_cache` set, libCST hands the provider its entry of the wrapper's `cache`
    # (`discovery_wrapper`): the `DiscoveryOptions`, required.
    gen_cache = staticmethod(default_options_per_path)

    def __init__(self, cache: object = None) -> None:
        if isinstance(cache, DiscoveryOptions):
            cache = DiscoveryInput(cache)
        if not isinstance(cache, DiscoveryInput):
            raise TypeError(
                "CompiledContextProvider needs its DiscoveryOptions in the metadata cache: "
                "use discovery_wrapper(module, options), or "
                "MetadataWrapper(module, cache={CompiledContextProvider: options})"
            )
        super().__init__(cache)
        self.options: DiscoveryOptions = cache.options
        self.tree: ast.Module | None = cache.tree  # CPython's `ast` of the text, when given
        memo = cache.qualname_memo
        self.qualname_memo: dict[cst.CSTNode, Collection[QualifiedName]] = (
            {} if memo is None else memo
        )
        self.reexports: Mapping[str, str] = dict(self.options.reexports)
        self.function_lines: dict[cst.CSTNode, int] = {}

    def line_of(self, node: cst.CSTNode) -> int:
        return self.get_metadata(LazyPositionProvider, node).start.line

    def qualnames(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.qualified_names(node)}

    def qualified_names(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        return qualified_names(self, node, self.qualname_memo, self.reexports)

    def _gen_impl(self, node: cst.Module) -> None:
        # Not a batchable provider: a batched traversal would walk the whole module only to
        # call this on the Module node.
        collector = _Collector(self)
        walk(node, collector)
        self.function_lines = function_lines(list(collector.funcs), self.tree) or {}
        discovery = _Discovery(self, collector, self.options)
        result = discovery.run()
        for func, ctx in result.items():
            self.set_metadata(func, ctx)
        contexts = tuple(c for c in result.values() if isinstance(c, CompiledContext))
        calls = any(
            self._is_tf_function(call.func)
            or (type(call.func) is cst.Call and self._is_tf_function(call.func.func))
            for call, _ in collector.all_calls
        )
        self.set_metadata(
            node,
            ModuleDiscovery(
                contexts,
                calls or bool(contexts),
                tuple(discovery.external),
                calls,
                self._runs_functions_eagerly(node, collector),
            ),
        )

    def _runs_functions_eagerly(self, module: cst.Module, collector: _Collector) -> bool:
        """Whether a top-level statement calls `tf.config.run_functions_eagerly(True)` (not
        under an `if`, a `try`, a function) and no call in the module passes it anything else
        (`False`, a flag): the module then runs every function eagerly once imported."""
        on = off = False
        for call, _ in collector.all_calls:
            if not names.any_in(self.qualnames(call.func), names.RUN_FUNCTIONS_EAGERLY):
                continue
            first = call.args[0].value if len(call.args) == 1 else None
            if not (isinstance(first, cst.Name) and first.value == "True"):
                off = True
            elif any(
                isinstance(stmt, cst.SimpleStatementLine)
                and any(isinstance(s, cst.Expr) and s.value is call for s in stmt.body)
                for stmt in module.body
            ):
                on = True
        return on and not off

    def _is_tf_function(self, expr: cst.BaseExpression) -> bool:
        return names.any_in(self.qualnames(expr), names.TF_FUNCTION)


class _DunderCallFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "__call__":
            self.found = True


def _delegates_dunder_call(func: cst.FunctionDef) -> bool:
    """Whether a `__call__` override reads some `.__call__` (`super().__call__(...)`): then
    Keras's own still runs, and traces `call`."""
    finder = _DunderCallFinder()
    walk(func.body, finder)
    return finder.found


class _Discovery:
    def __init__(
        self,
        provider: CompiledContextProvider,
        collector: _Collector,
        opts: DiscoveryOptions,
    ) -> None:
        self.p = provider
        self.c = collector
        self.opts = opts
        self.result: dict[FuncNode, object] = {}
        self.queue: deque[_FuncInfo] = deque()
        self.external: list[ExternalCall] = []
        self._exported: set[tuple[str, str, str | None, str]] = set()
        # `_is_dataset` per (expression, depth): `ds = ds.map(...)` chains re-assign a name
        # many times, and without the memo each level re-resolves every assignment again
        # (k assignments, 6 levels: k**6 calls; 4 M calls on the corpus).
        self._dataset_memo: dict[tuple[cst.BaseExpression, int], bool] = {}
        self._aliasing: set[cst.Name] = set()  # names being resolved through `a = b`
        # Functions passed to `tf.autograph.to_graph`: AutoGraph converts them whatever the
        # caller's settings.
        self.to_graph: set[FuncNode] = set()
        # A compiled function's parameters that its body calls (`fn(x)`, `strategy.run(fn)`):
        # the functions its callers pass there are traced too (`_follow_passed`).
        self.called_params: list[tuple[_FuncInfo, CompiledContext, str]] = []
        self._called_param_seen: set[tuple[FuncNode, str]] = set()
        self._called_params_followed = 0
        self._calls_by_target: dict[FuncNode, list[tuple[cst.Call, _FuncInfo | None]]] | None = None
        self._bases_memo: dict[cst.ClassDef, set[str]] = {}
        self._dunder_memo: dict[cst.ClassDef, bool] = {}

    # ---------------------------------------------------------------- name helpers
    def _is_compile_decorator(self, expr: cst.BaseExpression) -> bool:
        qn = self.p.qualnames(expr)
        if names.any_in(qn, names.TF_FUNCTION):
            return True
        pats = self.opts.extra_function_decorators
        return any(fnmatch.fnmatchcase(q, pat) for q in qn for pat in pats)

    def _resolve(self, expr: cst.BaseExpression, where: _FuncInfo | None) -> list[_FuncInfo]:
        """Same-module function definitions an expression refers to."""
        if isinstance(expr, cst.Lambda):
            info = self.c.funcs.get(expr)
            return [info] if info else []
        if isinstance(expr, cst.Name):
            scope = self.p.get_metadata(FastScopeProvider, expr, None)
            if scope is None:
                return []
            found: list[_FuncInfo] = []
            same_scope = False
            for assignment in scope[expr.value]:
                target = getattr(assignment, "node", None)
                if isinstance(target, cst.FunctionDef) and target in self.c.funcs:
                    found.append(self.c.funcs[target])
                    same_scope = same_scope or getattr(assignment, "scope", None) is scope
                elif isinstance(target, cst.Name):
                    bound = self._bound_functions(target, where)
                    found += bound
                    if bound:
                        same_scope = same_scope or getattr(assignment, "scope", None) is scope
            return self._used_definitions(expr, found, same_scope)
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and where is not None
        ):
            method_owner = self._method_owner(where)
            if method_owner is not None and expr.value.value == method_owner[1]:
                info = self.c.methods.get(method_owner[0], {}).get(expr.attr.value)
                return [info] if info else []
        if (
            isinstance(expr, cst.Call)
            and expr.args
            and (
                "functools.partial" in self.p.qualnames(expr.func)
                or names.any_in(self.p.qualnames(expr.func), names.TO_GRAPH)
            )
        ):
            return self._resolve(expr.args[0].value, where)
        return []

    def _bound_functions(self, target: cst.Name, where: _FuncInfo | None) -> list[_FuncInfo]:
        """What a plain assignment binds to `target`, when it is a function of this module:
        a lambda (`parse = lambda x: ...`, also annotated), or what another name refers to
        (`parse = decode`), for the name's uses: `ds.map(parse)`, `tf.function(parse)`,
        `tf.py_function(parse, ...)`. Not through unpacking or chained targets; a cycle of
        names (`a = b`, `b = a`) resolves to nothing."""
        parent = self.p.get_metadata(ParentProvider, target, None)
        value: cst.BaseExpression | None = None
        if isinstance(parent, cst.AssignTarget):
            assign = self.p.get_metadata(ParentProvider, parent, None)
            if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
                value = assign.value
        elif isinstance(parent, cst.AnnAssign) and parent.target is target:
            value = parent.value
        if isinstance(value, cst.Lambda):
            info = self.c.funcs.get(value)
            return [info] if info is not None else []
        if isinstance(value, cst.Name) and value not in self._aliasing:
            self._aliasing.add(value)
            try:
                return self._resolve(value, where)
            finally:
                self._aliasing.discard(value)
        return []

    def _used_definitions(
        self, ref: cst.Name, found: list[_FuncInfo], same_scope: bool
    ) -> list[_FuncInfo]:
        """A name defined by several `def`s in one block refers to one of them: the last one
        before the reference when the reference runs in that scope, the last one when it runs
        later (in a function body). Definitions in different blocks (`if`/`else`) are all
        possible."""
        if len(found) < 2:
            return found
        blocks = {self.c.block_of.get(f.node) for f in found}  # type: ignore[arg-type]
        if len(blocks) != 1 or None in blocks:
            return found
        ordered = sorted(found, key=lambda f: f.line)
        if same_scope:
            line = self.p.line_of(ref)
            ordered = [f for f in ordered if f.line < line]
        return ordered[-1:]

    @staticmethod
    def _method_owner(info: _FuncInfo) -> tuple[cst.ClassDef, str] | None:
        """(class, name of `self`) for the method enclosing `info`, if any."""
        cur: _FuncInfo | None = info
        while cur is not None:
            if cur.cls is not None and isinstance(cur.node, cst.FunctionDef):
                params = cur.node.params.params
                if params:
                    return cur.cls, params[0].name.value
                return None
            cur = cur.parent
        return None

    # ---------------------------------------------------------------- marking
    def _mark(self, info: _FuncInfo, ctx: CompiledContext) -> None:
        if info.node in self.result:
            return
        self.result[info.node] = ctx
        self.queue.append(info)

    def _root_ctx(
        self,
        info: _FuncInfo,
        kind: ContextKind,
        call: cst.Call | None,
    ) -> CompiledContext:
        converted = not self._has_do_not_convert(info)
        has_sig = False
        forced = info.node in self.to_graph
        sig_params: frozenset[str] = frozenset()
        options: list[tuple[str, str]] = []
        if call is not None:
            for arg in call.args:
                if arg.keyword is None:
                    continue
                key = arg.keyword.value
                value = cst.Module([]).code_for_node(arg.value)
                options.append((key, value))
                if key == "autograph" and value == "False":
                    converted = False
                if key == "input_signature" and value != "None":
                    has_sig = True
                    sig_params = self._signature_params(info, arg.value)
        return _root_context(
            info,
            kind,
            converted=converted or forced,
            has_input_signature=has_sig,
            signature_params=sig_params,
            options=tuple(options),
        )

    def _signature_params(self, info: _FuncInfo, sig: cst.BaseExpression) -> frozenset[str]:
        params = [p.name.value for p in info.node.params.params]
        if info.cls is not None and params:
            params = params[1:]
        if isinstance(sig, cst.List | cst.Tuple):
            return frozenset(params[: len(sig.elements)])
        return frozenset(params)

    def _has_do_not_convert(self, info: _FuncInfo) -> bool:
        if not isinstance(info.node, cst.FunctionDef):
            return False
        for dec in info.node.decorators:
            expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            if names.any_in(self.p.qualnames(expr), names.DO_NOT_CONVERT):
                return True
        return False

    def _derived(
        self,
        info: _FuncInfo,
        parent: CompiledContext,
        kind: ContextKind,
        *,
        via: str | None = None,
        call_line: int | None = None,
        caller: str | None = None,
    ) -> CompiledContext:
        return CompiledContext(
            kind=kind,
            qualname=info.qualname,
            line=info.line,
            root_qualname=parent.root_qualname,
            root_line=parent.root_line,
            root_label=parent.root_label,
            root_path=parent.root_path,
            converted=(parent.converted and not self._has_do_not_convert(info))
            or info.node in self.to_graph,
            unconverted_reason=parent.unconverted_reason,
            breaking_only=parent.breaking_only,
            via=via,
            call_line=call_line,
            caller_qualname=caller,
        )

    # ---------------------------------------------------------------- passes
    def run(self) -> dict[FuncNode, object]:
        self._mark_exits()
        self._mark_decorated()
        self._mark_wrapped_calls()
        self._mark_dataset_callbacks()
        self._mark_keras()
        self._mark_keras_compile()
        self._propagate()
        self._follow_passed()
        self._keras_calls_run_by_compiled_code()
        self._keras_calls_run_eagerly_only()
        if self.opts.external_roots:
            # After the module's own contexts: a function compiled here keeps its own context.
            self._mark_external_roots()
            self._propagate()
            self._follow_passed()
        return self.result

    def _mark_external_roots(self) -> None:
        """Module-level functions that compiled code of another module reaches."""
        wanted = dict(self.opts.external_roots)
        for info in self.c.funcs.values():
            node = info.node
            if not isinstance(node, cst.FunctionDef) or info.parent is not None or info.cls:
                continue
            ctx = wanted.get(node.name.value)
            if ctx is None:
                continue
            changes: dict[str, object] = {"qualname": info.qualname, "line": info.line}
            if ctx.kind is ContextKind.DATASET_CALLBACK:
                changes |= {"root_qualname": info.qualname, "root_line": info.line}
            if self._has_do_not_convert(info):
                changes["converted"] = False
            self._mark(info, dataclasses.replace(ctx, **changes))  # type: ignore[arg-type]

    def _export(
        self,
        expr: cst.BaseExpression,
        kind: ContextKind,
        call: cst.Call,
        caller: _FuncInfo | None,
        ctx: CompiledContext | None,
        via: str | None = None,
    ) -> None:
        """Record a reference to an imported function that this module's compiled code calls
        or hands to `Dataset.map` (follow-imports, phase 1): `engine.project` resolves it."""
        if not self.opts.follow_imports or not isinstance(expr, cst.Name | cst.Attribute):
            return
        if ctx is not None and ctx.breaking_only:
            return  # a Keras `call` found by default: its helpers elsewhere are not followed
        for qn in sorted(self.p.qualified_names(expr), key=lambda q: q.name):
            if qn.source is not QualifiedNameSource.IMPORT:
                continue
            key = (qn.name, kind.value, caller.qualname if caller else None, via or "")
            if key in self._exported:
                continue
            self._exported.add(key)
            self.external.append(
                ExternalCall(
                    target=qn.name,
                    kind=kind.value,
                    line=self.p.line_of(call),
                    caller=caller.qualname if caller else None,
                    root=ctx.root_qualname if ctx else "",
                    root_line=ctx.root_line if ctx else 0,
                    root_label=ctx.root_label if ctx else f"`{via}` callback",
                    root_path=ctx.root_path if ctx else None,
                    converted=ctx.converted if ctx else True,
                    via=via,
                )
            )

    def _is_py_function(self, func: cst.BaseExpression) -> bool:
        """`tf.py_function` (or `numpy_function`, `py_func`), or a name that every binding in
        its scope sets to one of them (`run = tf.py_function` in one branch, `run =
        tf.py_func` in the other)."""
        if names.any_in(self.p.qualnames(func), names.PY_FUNCTION):
            return True
        if not isinstance(func, cst.Name):
            return False
        scope = self.p.get_metadata(FastScopeProvider, func, None)
        if scope is None or func.value not in scope:
            return False
        bindings = list(scope[func.value])
        for binding in bindings:
            # `x = value` (a builtin, a parameter, an import has no value here)
            value = self._assigned_value(getattr(binding, "node", None))
            if value is None or not names.any_in(self.p.qualnames(value), names.PY_FUNCTION):
                return False
        return bool(bindings)

    def _mark_exits(self) -> None:
        wrappers: set[FuncNode] = set()  # functions that call `tf.py_function`
        for call, where in self.c.all_calls:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value not in _EXIT_LAST_NAMES:
                continue  # `a.b.attr` has qualified names ending `.attr`: none of the exits
            if self._is_py_function(func):
                cur = where
                while cur is not None:
                    wrappers.add(cur.node)
                    cur = cur.parent
                for arg in _callable_args(call, (0,), ("func",)):
                    for info in self._resolve(arg, where):
                        self.result.setdefault(info.node, EAGER)
            elif names.any_in(self.p.qualnames(call.func), names.TO_GRAPH):
                for arg in _callable_args(call, (0,), ("recursive_function", "entity")):
                    self.to_graph.update(i.node for i in self._resolve(arg, where))
                    self.to_graph.update(i.node for i in self._class_method(arg))
        # `@tf.py_function(Tout=...)`, and a decorator of the module's own whose wrapper
        # calls `tf.py_function`/`tf.numpy_function`: the function runs eagerly.
        for info in self.c.funcs.values():
            if not isinstance(info.node, cst.FunctionDef):
                continue
            for dec in info.node.decorators:
                expr = dec.decorator
                func = expr.func if isinstance(expr, cst.Call) else expr
                if names.any_in(self.p.qualnames(func), names.PY_FUNCTION) or any(
                    d.node in wrappers for d in self._resolve(func, info.parent)
                ):
                    self.result.setdefault(info.node, EAGER)
                    break

    def _class_method(self, expr: cst.BaseExpression) -> list[_FuncInfo]:
        """`Cls.method` for a class of this module (`Cls.call = tf.autograph.to_graph(
        Cls.call)`)."""
        if not isinstance(expr, cst.Attribute) or not isinstance(expr.value, cst.Name):
            return []
        found = [
            methods[expr.attr.value]
            for cls, methods in self.c.methods.items()
            if cls.name.value == expr.value.value and expr.attr.value in methods
        ]
        return found

    def _unknown_decorator(self, info: _FuncInfo) -> bool:
        """Whether a def carries a decorator discovery does not know: what it returns (and so
        what `Dataset.map` gets) is a guess."""
        if not isinstance(info.node, cst.FunctionDef):
            return False
        known = names.TF_FUNCTION | names.DO_NOT_CONVERT | names.TRANSPARENT_DECORATORS
        for dec in info.node.decorators:
            expr = dec.decorator
            func = expr.func if isinstance(expr, cst.Call) else expr
            if not names.any_in(self.p.qualnames(func), known):
                return True
        return False

    def _mark_decorated(self) -> None:
        for info in self.c.funcs.values():
            if not isinstance(info.node, cst.FunctionDef):
                continue
            for dec in info.node.decorators:
                expr = dec.decorator
                call = expr if isinstance(expr, cst.Call) else None
                if self._is_compile_decorator(call.func if call else expr):
                    self._mark(info, self._root_ctx(info, ContextKind.DECORATED, call))
                    break

    def _wrapping(self, call: cst.Call) -> tuple[cst.Call, list[cst.BaseExpression]] | None:
        """For a call that compiles what it is given, `tf.function(f, ...)` or
        `tf.function(...)(f)` (or a configured decorator): the call holding the options, and
        the expressions it compiles. None for any other call."""
        if type(call.func) is cst.Call:
            if not self._is_compile_decorator(call.func.func):
                return None
            options_call = call.func  # tf.function(...)(f)
        elif self._is_compile_decorator(call.func):
            options_call = call  # tf.function(f, ...)
        else:
            return None
        return options_call, list(_callable_args(call, (0,), ("func",)))

    def _mark_wrapped_calls(self) -> None:
        for call, where in self.c.all_calls:
            wrapping = self._wrapping(call)
            if wrapping is None:
                continue
            options_call, targets = wrapping
            for target in targets:
                for info in self._resolve(target, where):
                    self._mark(info, self._root_ctx(info, ContextKind.WRAPPED, options_call))

    def _is_dataset(self, expr: cst.BaseExpression, depth: int = 0) -> bool:
        """Whether an expression is a `tf.data.Dataset`: a chain rooted in `tf.data`, or a
        name assigned from one (in the same scope), or a parameter annotated as one."""
        if depth > 6:
            return False
        key = (expr, depth)
        known = self._dataset_memo.get(key)
        if known is None:
            known = self._dataset_memo[key] = self._is_dataset_uncached(expr, depth)
        return known

    def _is_dataset_uncached(self, expr: cst.BaseExpression, depth: int) -> bool:
        while True:
            if isinstance(expr, cst.Call):
                if any(
                    (names.strip_tf_root(q) or "").startswith("data.")
                    for q in self.p.qualnames(expr.func)
                ):
                    return True
                expr = expr.func
            elif isinstance(expr, cst.Attribute):
                if any(
                    (names.strip_tf_root(q) or "").startswith("data.")
                    for q in self.p.qualnames(expr)
                ):
                    return True
                expr = expr.value
            else:
                break
        if not isinstance(expr, cst.Name):
            return False
        scope = self.p.get_metadata(FastScopeProvider, expr, None)
        if scope is None:
            return False
        for assignment in scope[expr.value]:
            target = getattr(assignment, "node", None)
            value = self._assigned_value(target)
            if value is not None and self._is_dataset(value, depth + 1):
                return True
            if isinstance(target, cst.Param) and target.annotation is not None:
                ann = target.annotation.annotation
                if any(names.strip_tf_root(q) in ("data.Dataset",) for q in self.p.qualnames(ann)):
                    return True
        return False

    def _assigned_value(self, target: object) -> cst.BaseExpression | None:
        """For a Name bound by `x = value`, the value."""
        return self.c.assigns.get(target) if isinstance(target, cst.Name) else None

    def _mark_dataset_callbacks(self) -> None:
        for call, where in self.c.all_calls:
            func = call.func
            if not isinstance(func, cst.Attribute):
                continue
            spec = names.DATASET_CALLBACK_METHODS.get(func.attr.value)
            if spec is None or not self._is_dataset(func.value):
                continue
            via = f"Dataset.{func.attr.value}"
            for arg in _callable_args(call, *spec):
                for target in _callables_in(arg):
                    if not self._resolve(target, where):
                        self._export(target, ContextKind.DATASET_CALLBACK, call, where, None, via)
                    for info in self._resolve(target, where):
                        if self._unknown_decorator(info):
                            continue
                        ctx = _root_context(
                            info,
                            ContextKind.DATASET_CALLBACK,
                            converted=not self._has_do_not_convert(info)
                            or info.node in self.to_graph,
                            via=via,
                            root_label=f"`{via}` callback",
                        )
                        self._mark(info, ctx)

    def _eager_keras(
        self,
    ) -> tuple[set[cst.ClassDef] | None, set[str], dict[cst.ClassDef, set[str]]]:
        """Keras models that run eagerly: the classes compiled with `run_eagerly=True` (None:
        a model we cannot tell, so every class); the step methods only ever called directly
        (`model.train_step(batch)` in an eager loop, no `fit`/`evaluate`/`predict` in the
        module); and, per class, the steps called directly on its instances when every
        `fit`/`evaluate`/`predict` of the module is on an instance of something else (a
        notebook that drives one model by hand and fits another)."""
        classes: set[cst.ClassDef] | None = set()
        direct: set[str] = set()
        fitted = False
        by_name = {cls.name.value: cls for cls in self.c.methods}
        fitted_classes: set[cst.ClassDef | None] = set()
        fitted_unknown = False
        direct_by_class: dict[cst.ClassDef, set[str]] = {}
        for obj, where in self.c.run_eagerly:
            owner = self._model_class(obj, where, by_name)
            if owner is None or classes is None:
                classes = None
            else:
                classes.add(owner)
        for call, where in self.c.all_calls:
            func = call.func
            if not isinstance(func, cst.Attribute):
                continue
            attr = func.attr.value
            if attr in names.KERAS_DRIVER_METHODS:
                fitted = True
                instances = self._instances_of(func.value, where, by_name, 0)
                if instances is None:
                    fitted_unknown = True
                else:
                    fitted_classes |= instances
            if (
                attr in names.KERAS_STEP_METHODS
                and not self._is_self_or_super(func.value, where)
                and not self._in_compiled_root(where)
            ):
                direct.add(attr)
                instances = self._instances_of(func.value, where, by_name, 0)
                if instances is not None and len(instances) == 1:
                    (only,) = instances
                    if only is not None:
                        direct_by_class.setdefault(only, set()).add(attr)
            if attr != "compile" or not any(
                a.keyword is not None
                and a.keyword.value == "run_eagerly"
                and isinstance(a.value, cst.Name)
                and (a.value.value == "True" or self._defaults_to_true(a.value.value, where))
                for a in call.args
            ):
                continue
            owner = self._model_class(func.value, where, by_name)
            if owner is None or classes is None:
                classes = None
            else:
                classes.add(owner)
        if fitted_unknown:
            direct_by_class = {}
        else:
            direct_by_class = {c: s for c, s in direct_by_class.items() if c not in fitted_classes}
        return classes, set() if fitted else direct, direct_by_class

    def _instances_of(
        self,
        expr: cst.BaseExpression,
        where: _FuncInfo | None,
        by_name: dict[str, cst.ClassDef],
        depth: int,
    ) -> set[cst.ClassDef | None] | None:
        """The module's classes `expr` may be an instance of (None in the set: of something
        not defined in the module, `tf.keras.Model(...)`), or None when it cannot be told:
        `self`, a name bound to `Cls(...)`, to another call, or to what a module-level
        function returns."""
        if depth > 3:
            return None
        if self._is_self_or_super(expr, where):
            owner = self._method_owner(where) if where is not None else None
            return {owner[0]} if owner is not None else None
        if isinstance(expr, cst.Name):
            scope = self.p.get_metadata(FastScopeProvider, expr, None)
            assignments = list(scope[expr.value]) if scope is not None else []
            if not assignments:
                return None
            found: set[cst.ClassDef | None] = set()
            for assignment in assignments:
                value = self._assigned_value(getattr(assignment, "node", None))
                if value is None:
                    return None  # a parameter, an import, a loop target...
                more = self._instances_of(value, where, by_name, depth + 1)
                if more is None:
                    return None
                found |= more
            return found
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        if isinstance(func, cst.Name) and func.value in by_name:
            return {by_name[func.value]}
        factory = self._module_function(func, where)
        if factory is not None:
            returns = _returns(factory.node)
            if not returns:
                return None
            found = set()
            for value in returns:
                more = self._instances_of(value, factory, by_name, depth + 1)
                if more is None:
                    return None
                found |= more
            return found
        if self.p.qualnames(func) and not any(
            q.startswith(cls + ".") or q == cls for q in self.p.qualnames(func) for cls in by_name
        ):
            return {None}  # `tf.keras.Model(...)`, `keras.Sequential(...)`: not a module class
        return None

    def _module_function(
        self, func: cst.BaseExpression, where: _FuncInfo | None
    ) -> _FuncInfo | None:
        """The module-level `def` a call's `func` names (the one in use there), if any."""
        if not isinstance(func, cst.Name):
            return None
        found = [i for i in self._resolve(func, where) if i.parent is None and i.cls is None]
        return found[-1] if found else None

    def _in_compiled_root(self, where: _FuncInfo | None) -> bool:
        """Whether code in `where` is in a tf.function (decorated or wrapped) found so far."""
        while where is not None:
            if isinstance(self.result.get(where.node), CompiledContext):
                return True
            where = where.parent
        return False

    def _is_self_or_super(self, expr: cst.BaseExpression, where: _FuncInfo | None) -> bool:
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name):
            return expr.func.value == "super"
        owner = self._method_owner(where) if where is not None else None
        return owner is not None and isinstance(expr, cst.Name) and expr.value == owner[1]

    @staticmethod
    def _defaults_to_true(name: str, where: _FuncInfo | None) -> bool:
        """`name` is a parameter of the `compile` method around the call, with default
        `True`: `def compile(self, optimizer, run_eagerly=True): super().compile(optimizer,
        run_eagerly=run_eagerly)` makes the class's models run eagerly unless a caller says
        otherwise (a caller passing `run_eagerly=False` is not looked for)."""
        func = where.node if where is not None else None
        if not isinstance(func, cst.FunctionDef) or func.name.value != "compile":
            return False
        return any(
            param.name.value == name
            and isinstance(param.default, cst.Name)
            and param.default.value == "True"
            for param in (*func.params.params, *func.params.kwonly_params)
        )

    def _model_class(
        self,
        expr: cst.BaseExpression,
        where: _FuncInfo | None,
        by_name: dict[str, cst.ClassDef],
    ) -> cst.ClassDef | None:
        """The module's class whose instance `expr` is: `self` (or `super()`) in a method,
        or a name assigned `Cls(...)`."""
        if self._is_self_or_super(expr, where):
            owner = self._method_owner(where) if where is not None else None
            return owner[0] if owner is not None else None
        if not isinstance(expr, cst.Name):
            return None
        scope = self.p.get_metadata(FastScopeProvider, expr, None)
        found: set[cst.ClassDef | None] = set()
        for assignment in scope[expr.value] if scope is not None else ():
            value = self._assigned_value(getattr(assignment, "node", None))
            cls = None
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                cls = by_name.get(value.func.value)
            found.add(cls)
        return found.pop() if len(found) == 1 else None

    @staticmethod
    def _replaces_fit(methods: Mapping[str, _FuncInfo]) -> bool:
        """Whether a model class defines its own `fit` that never calls Keras's
        (`super().fit`): its `train_step`/`test_step` then run as that `fit` calls them
        (eagerly, or from a tf.function of the module), not traced by Keras."""
        fit = methods.get("fit")
        if fit is None:
            return False
        finder = _SuperFit()
        walk(fit.node, finder)
        return not finder.found

    def _compiles_a_model(self, func: cst.Attribute) -> bool:
        """Whether a call of `func` is a model's `.compile(...)` (not `re.compile`)."""
        return func.attr.value == "compile" and not any(
            q.startswith(("re.", "regex.")) for q in self.p.qualnames(func)
        )

    def _metrics_updated_directly(self) -> set[cst.ClassDef]:
        """Metric classes of the module whose `update_state` (or `result`) only the module's
        own code calls, directly on an instance of the class (`metric.update_state(y, p)` in
        a custom training step or an eager loop), when nothing in the module compiles a
        model: a tf.function's call is converted like any helper's (a tensor `if` in it
        works, checked on TF 2.21), an eager call runs eagerly, and no `fit` is seen to run
        the method unconverted. A call on `self` (or `super()`), or on a name that may hold
        instances of more than one class, leaves those classes Keras metrics."""
        by_name = {cls.name.value: cls for cls in self.c.methods}
        found: set[cst.ClassDef] = set()
        spoiled: set[cst.ClassDef | None] = set()
        for call, where in self.c.all_calls:
            func = call.func
            if not isinstance(func, cst.Attribute):
                continue
            if self._compiles_a_model(func):
                return set()
            if func.attr.value not in names.KERAS_METRIC_METHODS:
                continue
            instances = self._instances_of(func.value, where, by_name, 0)
            if (
                instances is None
                or len(instances) != 1
                or self._is_self_or_super(func.value, where)
            ):
                spoiled |= instances or set()
                continue
            found |= {cls for cls in instances if cls is not None}
        return found - spoiled

    def _module_class(self, expr: cst.BaseExpression) -> cst.ClassDef | None:
        """The class of this module that the name `expr` is bound to, when that is its only
        binding in its scope (`class Block(Base)`, `Base` a class above)."""
        if not isinstance(expr, cst.Name):
            return None
        scope = self.p.get_metadata(FastScopeProvider, expr, None)
        if scope is None or expr.value not in scope:
            return None
        nodes = [getattr(binding, "node", None) for binding in scope[expr.value]]
        if len(nodes) != 1 or not isinstance(nodes[0], cst.ClassDef):
            return None
        return nodes[0]

    def _module_parents(self, cls: cst.ClassDef) -> list[cst.ClassDef]:
        return [p for base in cls.bases if (p := self._module_class(base.value)) is not None]

    def _class_bases(self, cls: cst.ClassDef) -> set[str]:
        """The qualified names of `cls`'s bases and, through the module's own classes it
        derives from, of theirs (`class Block(Base)`, `class Base(keras.layers.Layer)`)."""
        for node in parents_first(cls, self._module_parents, self._bases_memo):
            found = {q for base in node.bases for q in self.p.qualnames(base.value)}
            for parent in self._module_parents(node):
                found |= self._bases_memo.get(parent, set())
            self._bases_memo[node] = found
        return self._bases_memo[cls]

    def _replaces_dunder_call(self, cls: cst.ClassDef) -> bool:
        """Whether `cls`, or a class of the module it derives from, defines `__call__`: then
        calling an instance does not go through Keras's `Layer.__call__` (or `Loss.__call__`),
        which is what traces `call` (kerasformers' preprocessing layers call `call` directly on
        Python inputs)."""
        memo = self._dunder_memo
        for node in parents_first(cls, self._module_parents, memo):
            memo[node] = any(
                isinstance(stmt, cst.FunctionDef)
                and stmt.name.value == "__call__"
                and not _delegates_dunder_call(stmt)
                for stmt in node.body.body
            ) or any(memo.get(parent, False) for parent in self._module_parents(node))
        return memo[cls]

    def _mark_keras(self) -> None:
        eager_classes, direct, direct_by_class = self._eager_keras()
        updated_directly = self._metrics_updated_directly()
        tf1 = self.opts.tf1_code
        for cls, methods in self.c.methods.items():
            if eager_classes is None or cls in eager_classes:
                continue  # compiled with `run_eagerly=True`: `fit` does not trace
            bases = self._class_bases(cls)
            is_model = bool(bases & names.KERAS_MODEL_CLASSES)
            is_layer = is_model or any(names.is_keras_layer_class(q) for q in bases)
            is_loss = bool(bases & names.KERAS_LOSS_CLASSES)
            is_metric = bool(bases & names.KERAS_METRIC_CLASSES)
            if (is_loss or is_metric) and eager_classes:
                continue  # some model of the module runs eagerly: it may use these
            # Keras 2 (`tf_keras`) wraps `call` with AutoGraph in `Layer.__call__`; Keras 3
            # (`keras`, and `tf.keras` from TF 2.16) does not. `train_step` is unconverted in
            # both (checked on TF 2.12 and 2.21).
            keras2 = any(q.startswith("tf_keras.") for q in bases)
            # Methods the class's own code replaces on an instance (keras-cv's
            # `BoxCOCOMetrics.__new__` does `obj.update_state = types.MethodType(fn, obj)`,
            # `fn` running the real `update_state` in a `tf.py_function`): Keras calls the
            # replacement, so the method itself is not known to be traced.
            rebound = self.c.attributes_set.get(cls, set())
            own_fit: bool | None = None
            for name, info in methods.items():
                if name in rebound:
                    continue
                if is_model and name in names.KERAS_STEP_METHODS:
                    if name in direct or name in direct_by_class.get(cls, ()):
                        continue  # only ever called directly, outside `fit`
                    if own_fit is None:
                        own_fit = self._replaces_fit(methods)
                    if own_fit:
                        continue  # the class's own `fit` drives its steps, not Keras's
                    kind = ContextKind.KERAS_STEP
                elif (
                    is_layer
                    and name == "call"
                    and (self.opts.keras_call or (self.opts.keras_call is None and not tf1))
                    and not self._replaces_dunder_call(cls)
                ):
                    kind = ContextKind.KERAS_CALL
                elif (
                    is_loss
                    and name in names.KERAS_LOSS_METHODS
                    and not self._replaces_dunder_call(cls)
                ):
                    kind = ContextKind.KERAS_LOSS
                elif is_metric and name in names.KERAS_METRIC_METHODS:
                    if cls in updated_directly:
                        continue  # a helper of the tf.functions that call it: converted
                    kind = ContextKind.KERAS_METRIC
                else:
                    continue
                converted = (keras2 and kind is not ContextKind.KERAS_STEP) or (
                    info.node in self.to_graph
                )
                self._mark(
                    info,
                    _root_context(
                        info,
                        kind,
                        converted=converted,
                        root_label="Keras method",
                        unconverted_reason=_KERAS3_REASON
                        if kind in (ContextKind.KERAS_LOSS, ContextKind.KERAS_METRIC)
                        and not converted
                        else None,
                        breaking_only=kind is ContextKind.KERAS_CALL
                        and self.opts.keras_call is None,
                    ),
                )

    def _mark_keras_compile(self) -> None:
        """Functions passed to `model.compile(loss=..., metrics=[...], weighted_metrics=...)`
        (positions too; lists and dicts): `fit`/`evaluate` trace them, and Keras 3 does not
        convert them (checked on TF 2.21). Not when the module runs some model eagerly."""
        if self.c.run_eagerly:
            return
        for call, where in self.c.all_calls:
            func = call.func
            if not isinstance(func, cst.Attribute) or not self._compiles_a_model(func):
                continue
            if any(
                a.keyword is not None
                and a.keyword.value == "run_eagerly"
                and not (isinstance(a.value, cst.Name) and a.value.value == "False")
                for a in call.args
            ):
                continue
            for spec, kind, label in (
                (names.KERAS_COMPILE_LOSS, ContextKind.KERAS_LOSS, "Keras loss"),
                (names.KERAS_COMPILE_METRICS, ContextKind.KERAS_METRIC, "Keras metric"),
            ):
                for arg in _callable_args(call, *spec):
                    for target in _callables_in(arg):
                        for info in self._resolve(target, where):
                            if self._unknown_decorator(info):
                                continue
                            self._mark(
                                info,
                                _root_context(
                                    info,
                                    kind,
                                    converted=False,
                                    root_label=label,
                                    unconverted_reason=_KERAS3_REASON,
                                ),
                            )

    def _propagate(self) -> None:
        while self.queue:
            info = self.queue.popleft()
            ctx = self.result[info.node]
            assert isinstance(ctx, CompiledContext)
            for child in info.children:
                # A nested def is traced when called; a lambda when evaluated and called.
                if child.node not in self.result:
                    self._mark(child, self._derived(child, ctx, ContextKind.NESTED))
            for call in info.calls:
                self._follow_call(info, ctx, call)

    def _note_called_param(
        self, info: _FuncInfo, ctx: CompiledContext, expr: cst.BaseExpression
    ) -> None:
        """Notes `expr` when it is a parameter of `info`'s function, never rebound there, that
        the compiled body calls (or hands to `strategy.run`, `tf.map_fn`...)."""
        if not isinstance(expr, cst.Name):
            return
        params = info.node.params
        own = {
            p.name.value: p for p in (*params.posonly_params, *params.params, *params.kwonly_params)
        }
        param = own.get(expr.value)
        scope = self.p.get_metadata(FastScopeProvider, expr, None)
        if param is None or scope is None:
            return
        bindings = list(scope[expr.value])
        if len(bindings) != 1 or getattr(bindings[0], "node", None) is not param:
            return
        key = (info.node, expr.value)
        if key not in self._called_param_seen:
            self._called_param_seen.add(key)
            self.called_params.append((info, ctx, expr.value))

    def _follow_passed(self) -> None:
        """A function passed to a compiled function whose body calls that parameter
        (`step(loss_fn, x)` with `def step(fn, x): return fn(x)`, or `strategy.run(fn, ...)`)
        is traced with it: AutoGraph converts it as it converts a helper."""
        while self._called_params_followed < len(self.called_params):
            info, ctx, param = self.called_params[self._called_params_followed]
            self._called_params_followed += 1
            for call, where in self._calls_of(info):
                for arg in self._argument_for(info, call, param):
                    for body in (b for t in _callables_in(arg) for b in self._resolve(t, where)):
                        if body.node in self.result or body is info:
                            continue
                        self._mark(
                            body,
                            self._derived(
                                body,
                                ctx,
                                ContextKind.HELPER,
                                via=param,
                                call_line=self.p.line_of(call),
                                caller=info.qualname,
                            ),
                        )
            self._propagate()

    def _keras_calls_run_by_compiled_code(self) -> None:
        """A Keras `call` found by default (`CompiledContext.breaking_only`: traced only if
        a model is) that a compiled body of the module runs, through a name bound to an
        instance of its class (`net = Net()`, then `net(x)` in a tf.function), is traced: every
        rule applies to it (and to what it calls), not only those of what breaks."""
        by_name = {cls.name.value: cls for cls in self.c.methods}
        upgraded = True
        while upgraded:  # a layer's `call` that runs a sublayer (`self.block(x)`), in turn
            upgraded = self._upgrade_keras_calls(by_name)

    def _upgrade_keras_calls(self, by_name: dict[str, cst.ClassDef]) -> bool:
        """One round of `_keras_calls_run_by_compiled_code`: whether a `call` was upgraded."""
        upgraded = False
        for node, ctx in list(self.result.items()):
            if not isinstance(ctx, CompiledContext) or ctx.breaking_only:
                continue
            info = self.c.funcs[node]
            for call in info.calls:
                if isinstance(call.func, cst.Name):
                    instances = self._instances_of(call.func, info, by_name, 0)
                elif isinstance(call.func, cst.Attribute):
                    instances = self._attribute_instances(call.func, info, by_name)
                else:
                    continue
                for cls in instances or ():
                    target = self.c.methods.get(cls, {}).get("call") if cls is not None else None
                    old = self.result.get(target.node) if target is not None else None
                    if target is None or not isinstance(old, CompiledContext):
                        continue
                    if not old.breaking_only:
                        continue
                    self._forget_default_keras_call(old)  # then mark it again, as traced
                    self._mark(
                        target,
                        dataclasses.replace(
                            old,
                            breaking_only=False,
                            via=get_full_name_for_node(call.func),
                            call_line=self.p.line_of(call),
                            caller_qualname=info.qualname,
                        ),
                    )
                    upgraded = True
        if upgraded:
            self._propagate()
            self._follow_passed()
        return upgraded

    def _keras_calls_run_eagerly_only(self) -> None:
        """A Keras `call` found by default (`breaking_only`) whose class only the module's
        own eager code uses runs eagerly, not traced: the module is a script that makes an
        instance at its top level (not under `if __name__ == "__main__":`, where a model
        file tries out what another module fits), and every instance is only called, or
        asked for its weights, by code that is not compiled; never fitted, compiled, passed
        on, stored or subclassed, and no Keras `Input` in the module builds a graph of it.
        `net(x)` on eager tensors runs `call` as Python: a tensor `if` there works."""
        keras_calls = [
            (cls, methods["call"])
            for cls, methods in self.c.methods.items()
            if "call" in methods
            and isinstance(ctx := self.result.get(methods["call"].node), CompiledContext)
            and ctx.breaking_only
            and ctx.kind is ContextKind.KERAS_CALL
        ]
        if not keras_calls or any(self._symbolic_input(call) for call, _ in self.c.all_calls):
            return
        where_of = dict(self.c.all_calls)
        for cls, target in keras_calls:
            if not self._used_eagerly_only(cls, where_of):
                continue
            old = self.result[target.node]
            assert isinstance(old, CompiledContext)
            self._forget_default_keras_call(old)

    def _forget_default_keras_call(self, root: CompiledContext) -> None:
        """Remove a Keras `call` found by default (`breaking_only`) and every context derived
        from it (its helpers), as if discovery had never marked it."""
        for other, derived in list(self.result.items()):
            if (
                isinstance(derived, CompiledContext)
                and derived.breaking_only
                and derived.root_qualname == root.root_qualname
                and derived.root_line == root.root_line
            ):
                del self.result[other]

    def _symbolic_input(self, call: cst.Call) -> bool:
        """`keras.Input(...)`/`InputLayer(...)`: a graph whose layers run symbolically."""
        return any(
            "keras" in q and q.rsplit(".", 1)[-1] in ("Input", "InputLayer")
            for q in self.p.qualnames(call.func)
        )

    def _used_eagerly_only(
        self, cls: cst.ClassDef, where_of: Mapping[cst.Call, _FuncInfo | None]
    ) -> bool:
        """`_keras_calls_run_eagerly_only`'s test for one module-level class."""
        scope = self.p.get_metadata(FastScopeProvider, cls, None)
        parent = self.p.get_metadata(ParentProvider, cls, None)
        name = cls.name.value
        if scope is None or not isinstance(parent, cst.Module) or len(scope[name]) != 1:
            return False
        script = False
        (binding,) = scope[name]
        for access in binding.references:  # in any scope of the module
            node = access.node
            call = self.p.get_metadata(ParentProvider, node, None)
            if not isinstance(call, cst.Call) or call.func is not node or call not in where_of:
                return False  # a base class, an argument, `isinstance`, a type hint...
            where = where_of[call]
            if self._maybe_traced(where):
                return False  # made in compiled code
            if not self._instance_used_eagerly(call, where_of):
                return False
            script = script or (where is None and call not in self.c.main_guarded)
        return script

    def _maybe_traced(self, where: _FuncInfo | None) -> bool:
        """Whether code in `where` (None: the module's top level) may run while tracing: it
        or a function around it is a compiled context, or is marked otherwise (an exit)."""
        while where is not None:
            if where.node in self.result:
                return True
            where = where.parent
        return False

    def _instance_used_eagerly(
        self, made: cst.Call, where_of: Mapping[cst.Call, _FuncInfo | None]
    ) -> bool:
        """`Cls(...)` is called at once in eager code, or bound to a name (bound only there)
        that eager code only calls or asks for weights."""
        parent = self.p.get_metadata(ParentProvider, made, None)
        if isinstance(parent, cst.Call) and parent.func is made:
            return True  # `Cls()(x)`, in the same (eager) function
        if not (
            isinstance(parent, cst.Assign)
            and len(parent.targets) == 1
            and isinstance(parent.targets[0].target, cst.Name)
        ):
            return False
        target = parent.targets[0].target
        scope = self.p.get_metadata(FastScopeProvider, target, None)
        if scope is None or len(scope[target.value]) != 1:
            return False
        (binding,) = scope[target.value]
        for access in binding.references:
            node = access.node
            used = self.p.get_metadata(ParentProvider, node, None)
            if isinstance(used, cst.Call) and used.func is node and used in where_of:
                if self._maybe_traced(where_of[used]):
                    return False  # called by compiled code
            elif not (
                isinstance(used, cst.Attribute)
                and used.value is node
                and used.attr.value in names.KERAS_WEIGHT_QUERIES
            ):
                return False
        return True

    def _attribute_instances(
        self, func: cst.Attribute, where: _FuncInfo, by_name: dict[str, cst.ClassDef]
    ) -> set[cst.ClassDef | None] | None:
        """The module's classes `self.net` may be an instance of, in a method: every value the
        class's own methods bind to `self.net` is `Cls(...)` (`_instances_of`), and nothing
        else assigns an attribute of that name. None when it cannot be told."""
        owner = self._method_owner(where)
        if owner is None or not self._is_self_or_super(func.value, where):
            return None
        attr = func.attr.value
        bindings = self.c.self_bindings.get((owner[0], attr))
        if not bindings or attr in self.c.other_attributes:
            return None
        found: set[cst.ClassDef | None] = set()
        for value, method in bindings:
            more = self._instances_of(value, method, by_name, 0)
            if more is None:
                return None
            found |= more
        return found

    def _calls_of(self, info: _FuncInfo) -> list[tuple[cst.Call, _FuncInfo | None]]:
        """The module's calls of `info`'s function: by a name bound to its `def`, by
        `self.method(...)`, or by a name bound to `tf.function(<it>)`."""
        if self._calls_by_target is None:
            self._calls_by_target = {}
            for call, where in self.c.all_calls:
                targets = self._resolve(call.func, where)
                if not targets and isinstance(call.func, cst.Name):
                    targets = self._wrapped_by_name(call.func, where)
                for target in targets:
                    self._calls_by_target.setdefault(target.node, []).append((call, where))
        return self._calls_by_target.get(info.node, [])

    def _wrapped_by_name(self, name: cst.Name, where: _FuncInfo | None) -> list[_FuncInfo]:
        """The functions a name refers to through `name = tf.function(f, ...)` (the forms
        `_mark_wrapped_calls` reads)."""
        scope = self.p.get_metadata(FastScopeProvider, name, None)
        if scope is None:
            return []
        found: list[_FuncInfo] = []
        for assignment in scope[name.value]:
            value = self._assigned_value(getattr(assignment, "node", None))
            wrapping = self._wrapping(value) if isinstance(value, cst.Call) else None
            for target in wrapping[1] if wrapping is not None else ():
                found.extend(self._resolve(target, where))
        return found

    @staticmethod
    def _argument_for(info: _FuncInfo, call: cst.Call, param: str) -> list[cst.BaseExpression]:
        """The argument `call` passes for parameter `param` of `info`'s function."""
        params = info.node.params
        positional = [p.name.value for p in (*params.posonly_params, *params.params)]
        if info.cls is not None and isinstance(call.func, cst.Attribute) and positional:
            positional = positional[1:]  # `self.method(...)`: `self` is bound
        index = 0
        found: list[cst.BaseExpression] = []
        for arg in call.args:
            if arg.star:
                break  # `*args`/`**kwargs`: where the rest goes is unknown
            if arg.keyword is None:
                if index < len(positional) and positional[index] == param:
                    found.append(arg.value)
                index += 1
            elif arg.keyword.value == param:
                found.append(arg.value)
        return found

    def _is_strategy(self, expr: cst.BaseExpression) -> bool:
        """A `tf.distribute.Strategy`, by its usual spellings: a name or attribute with
        `strategy` in it, or `tf.distribute.get_strategy()`."""
        if isinstance(expr, cst.Call):
            return any(
                (names.strip_tf_root(q) or "").startswith("distribute.")
                for q in self.p.qualnames(expr.func)
            )
        if isinstance(expr, cst.Attribute):
            return "strategy" in expr.attr.value.lower()
        return isinstance(expr, cst.Name) and "strategy" in expr.value.lower()

    def _follow_call(self, info: _FuncInfo, ctx: CompiledContext, call: cst.Call) -> None:
        if self.opts.follow_calls:  # a called parameter is a helper call
            self._note_called_param(info, ctx, call.func)
        qns = self.p.qualnames(call.func)
        for qn in sorted(qns):
            spec = names.GRAPH_BODY_CALLS.get(qn)
            if spec is None:
                continue
            via = "tf." + (names.strip_tf_root(qn) or qn)
            for arg in _callable_args(call, *spec):
                for target in _callables_in(arg):
                    self._note_called_param(info, ctx, target)
                    bodies = self._resolve(target, info)
                    if not bodies and self.opts.follow_calls:
                        self._export(target, ContextKind.GRAPH_BODY, call, info, ctx, via)
                    for body in bodies:
                        self._mark(body, self._derived(body, ctx, ContextKind.GRAPH_BODY, via=via))
            return
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in names.STRATEGY_RUN_METHODS
            and self._is_strategy(func.value)
        ):
            via = f"strategy.{func.attr.value}"
            for target in _callable_args(call, (0,), ("fn",)):
                self._note_called_param(info, ctx, target)
                for body in self._resolve(target, info):
                    self._mark(body, self._derived(body, ctx, ContextKind.GRAPH_BODY, via=via))
        if not self.opts.follow_calls:
            return
        helpers = self._resolve(call.func, info)
        if not helpers:
            self._export(call.func, ContextKind.HELPER, call, info, ctx)
        for helper in helpers:
            if helper.node in self.result or helper.node is call.func:
                continue  # marked already, or `(lambda: ...)()`: nested in the caller
            self._mark(
                helper,
                self._derived(
                    helper,
                    ctx,
                    ContextKind.HELPER,
                    call_line=self.p.line_of(call),
                    caller=info.qualname,
                ),
            )


class _SuperFit(cst.CSTVisitor):
    """Finds a call of Keras's `fit` from an override: `super().fit(...)` (or `super(Cls,
    self).fit(...)`), or `Base.fit(self, ...)`."""

    def __init__(self) -> None:
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "fit":
            return
        value = func.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            self.found = self.found or value.func.value == "super"
        first = node.args[0].value if node.args else None
        if isinstance(first, cst.Name) and first.value == "self":
            self.found = True
