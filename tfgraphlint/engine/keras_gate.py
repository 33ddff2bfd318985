"""The Keras gate: can a Keras `call` found by default report anything at all?

A layer's `call` is checked by default (option `keras-call` unset) only for what fails when
Keras 3 traces it without AutoGraph (`CompiledContext.breaking_only`): the rules of
`engine.rule.UNCONVERTED_BREAKAGE_RULES` (`.numpy()`, a tensor `if`/`while`/`for`, an
`assert` or a comprehension over a tensor, `len`/`int`/`bool` of a tensor, unpacking one).
Each of them reports only at a few kinds of node, and (but for `.numpy()`-style calls) only
when the tensor inference (`discovery.tensors.FunctionFacts.kind`) calls an expression a
tensor. A module whose only compiled code is such `call`s, and whose traced code holds none
of those nodes with an operand that *may* be a tensor, can hold no finding: the slicer drops
it before libCST parses it (most layer modules of a model library: `if training:`,
`if self.use_bias:`, `if mask is not None:` and `for layer in self.layers:` are Python).

`may_be_tensor` over-approximates `FunctionFacts.kind(...) is Kind.TENSOR` on CPython's `ast`
(no libCST here): the inference never makes a tensor of a literal, a container, an attribute
(`self.w`, `x.shape`), an `is`/`in` comparison, a call of `len`, `isinstance` and the
other Python builtins it knows, or a call of another package than TensorFlow and Keras (NumPy,
`math`, the library's own; a re-exported `tf` is TensorFlow, as discovery rewrites it) or of
an API function its table gives no tensor (`discovery.api_kinds`: `tf.nest.flatten`,
`K.ndim`; one it does not know is read by its receiver, as any call); a name is a tensor
only through a binding in the function, a parameter it presumes a tensor (the first
argument of a `call` without a default, `y_true`/`y_pred`; never one annotated with another
type than a tensor's) or annotated `tf.Tensor`, or, in a function nested in another's body,
the enclosing function's binding. Everything else counts as a possible tensor.
`tests/test_keras_gate.py` checks each rule's examples and real code against the libCST
analysis with the gate off.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable, Iterable, Iterator, Mapping

from tfgraphlint.discovery import names
from tfgraphlint.discovery.api_kinds import Kind, tf_call_kind
from tfgraphlint.discovery.ast_nodes import WALKED_FIELDS, all_statements, ast_nodes, dotted_name
from tfgraphlint.discovery.reexports import rewrite
from tfgraphlint.engine.prefilter import word

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPE_TYPES = frozenset(_SCOPES)  # exact classes: the parser makes no subclasses
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_PYTHON_VALUES = (
    ast.Constant,
    ast.JoinedStr,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Attribute,
)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SITES = frozenset(
    {
        ast.If,
        ast.While,
        ast.IfExp,
        ast.Assert,
        ast.For,
        ast.AsyncFor,
        *_COMPREHENSIONS,
        ast.Call,
        ast.Assign,
    }
)
_ITERATING = frozenset({"range", "enumerate", "zip"})  # their arguments are what is iterated
_DICT_VIEWS = frozenset({"keys", "values", "items"})
# `.numpy()`/`.item()` (eager-only-call reports them on any receiver it cannot prove Python).
_EAGER_METHODS = frozenset({"numpy", "item"})
_BUILTIN_NAMES = frozenset(dir(builtins))
_TENSOR_TYPES = frozenset({"Tensor", "TensorLike"})  # the last names of the tensor annotations
# The packages whose functions the inference and the breakage rules know (`tensorflow.*`,
# `keras.ops.*`; `keras.backend.eval` and `tf_keras.backend.eval` for eager-only-call).
_API_PACKAGES = frozenset({"tensorflow", "keras", "tf_keras"})
_ONE_TENSOR_LAST = frozenset(op.rsplit(".", 1)[-1] for op in names.ONE_TENSOR_OPS)
# Calls that need a concrete value (python-only-api-on-tensor: `bool`, `iter`, `len`, `int`,
# `float`, `tf.constant`; eager-only-call: `K.eval`, `K.get_value`, `convert_to_numpy`), the
# API ones by their last name or the imported name their local name stands for.
_VALUE_BUILTINS = frozenset({"bool", "iter", "len", "int", "float"})
_VALUE_CALLS = frozenset({"eval", "get_value", "convert_to_numpy", "constant"})


class _Scope:
    """One function or lambda: its parameters, what binds each name, its own nodes.

    Bindings mirror `discovery.tensors._BodyBindings`: `x = v` and `x := v` ("assign"),
    `a, b = v` ("unpack"), `for x in v` ("iter"), `x += v` ("aug"); `with ... as x` and
    `except ... as x` give no value ("other"). A name any other construct binds (an import,
    `global`, a nested `def`, a comprehension's variable, `match`) is `opaque`: a possible
    tensor."""

    __slots__ = (
        "_builtin_of",
        "_candidates",
        "_node",
        "_presumed",
        "_shadowed",
        "annotated",
        "bindings",
        "nested",
        "nodes",
        "opaque",
        "params",
        "parent",
        "progress",
        "cycled",
    )

    def __init__(
        self,
        node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
        nested: bool,
        builtin_of: Callable[[ast.expr], str | None],
        tensor_type: Callable[[ast.expr], bool],
        call_method: bool = True,
        parent: _Scope | None = None,
    ):
        self.nested = nested  # inside another function: free names are the outer one's
        # The function whose body holds this one (None when it is not nested, or when it is
        # in a nested function's decorators, defaults or annotations: then a free name may
        # be a tensor): the inference reads a free name there (`FunctionFacts.outer`).
        self.parent = parent
        self.nodes = list(_own_nodes(node))
        self.bindings: dict[str, list[tuple[str, ast.expr | None]]] = {}
        self.opaque: set[str] = set()
        self.progress: set[str] = set()  # names being inferred (a cycle: `i = i + 1`)
        self.cycled = False  # whether the binding being inferred met a name in `progress`
        binders = _BINDERS
        for sub in self.nodes:
            kind = type(sub)
            if kind not in binders:
                continue  # most nodes (a call, a constant, an attribute) bind nothing
            if kind is ast.Name:
                if type(sub.ctx) is ast.Del:  # type: ignore[attr-defined]
                    self.opaque.add(sub.id)  # type: ignore[attr-defined]
                continue
            if isinstance(sub, ast.Assign):
                for target in sub.targets:
                    self._bind(target, "assign", sub.value)
            elif isinstance(sub, ast.AnnAssign):
                self._bind(sub.target, "assign" if sub.value else "other", sub.value)
            elif isinstance(sub, ast.AugAssign):
                self._bind(sub.target, "aug", sub.value)
            elif isinstance(sub, ast.NamedExpr):
                self._bind(sub.target, "assign", sub.value)
            elif isinstance(sub, ast.For | ast.AsyncFor):
                self._bind(sub.target, "iter", sub.iter)
            elif isinstance(sub, ast.withitem) and sub.optional_vars is not None:
                self._bind(sub.optional_vars, "other", None)
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                self.bindings.setdefault(sub.name, []).append(("other", None))
            elif isinstance(sub, ast.comprehension):
                self.opaque.update(_names_in(sub.target))
            elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                self.opaque.add(sub.name)
            elif isinstance(sub, ast.ClassDef):
                # The inference does not read a nested class's body for the function's
                # bindings: what it binds there must not count against another binding.
                self.opaque.add(sub.name)
                self.opaque.update(
                    n.id
                    for n in ast_nodes(sub)
                    if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
                )
            elif isinstance(sub, ast.Import | ast.ImportFrom):
                self.opaque.update((a.asname or a.name).split(".")[0] for a in sub.names)
            elif isinstance(sub, ast.Global | ast.Nonlocal):
                self.opaque.update(sub.names)
            elif isinstance(sub, ast.MatchAs | ast.MatchStar) and sub.name:
                self.opaque.add(sub.name)
            elif isinstance(sub, ast.MatchMapping) and sub.rest:
                self.opaque.add(sub.rest)
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        every = [*positional, *args.kwonlyargs]
        self.params = {a.arg for a in every}
        # `*args` and `**kwargs` are parameters like the others for the inference (never
        # presumed: a tensor only through a tensor annotation, or a binding in the body).
        stars = [star for star in (args.vararg, args.kwarg) if star is not None]
        self.params |= {star.arg for star in stars}
        every += stars
        # Without presumption (`FunctionFacts.kind`), a parameter is a tensor only through
        # a tensor annotation (`tf.Tensor`, `TensorLike`: `_param_kind`); an
        # `input_signature` belongs to a tf.function, never here.
        self.annotated = {
            a.arg for a in every if a.annotation is not None and tensor_type(a.annotation)
        }
        # A parameter with another annotation (`training: bool`, `Optional[tf.Tensor]`) is
        # never presumed (`discovery.tensors._annotated`).
        typed = {a.arg for a in every if a.annotation is not None} - self.annotated
        # Presumed tensors (`presumed_tensor_params`, for the rules on control flow and
        # comprehensions): more than it presumes, less what it surely takes back.
        receiver = bool(positional) and positional[0].arg in ("self", "cls")
        first = positional[1 if receiver else 0 : 2 if receiver else 1]
        # Only a first argument without a default is presumed (a Keras `call`'s, or a root
        # body's: every branch of `presumed_tensor_params` but `y_true`/`y_pred` asks it).
        defaulted = positional[len(positional) - len(args.defaults) :] if args.defaults else []
        with_default = {a.arg for a in defaulted}
        # The first argument of a Keras `call` (`inputs`: `call_method`, a method named
        # `call`), and `y_true`/`y_pred`. In a module whose only compiled code is Keras
        # `call`s, no other function is a root context (whose parameters without a default
        # would be presumed too): a helper the `call` runs, a function nested in it or handed
        # to `tf.map_fn` get derived contexts, which presume `y_true`/`y_pred` only.
        self._candidates = ({a.arg for a in first} if call_method else set()) - with_default
        self._candidates -= typed
        self._candidates |= self.annotated
        self._candidates |= {a.arg for a in every if a.arg in names.LOSS_PARAMS} - typed
        self._node = node
        self._builtin_of = builtin_of
        self._presumed: set[str] | None = None  # computed when first asked
        self._shadowed: set[str] | None = None

    @property
    def presumed(self) -> set[str]:
        if self._presumed is None:
            found = _python_uses(self._node, self._candidates - self.annotated, self._builtin_of)
            self._presumed = self._candidates - found
        return self._presumed

    @property
    def shadowed(self) -> set[str]:
        if self._shadowed is None:
            self._shadowed = _rebound_first(self._node, self.params) if self.bindings else set()
        return self._shadowed

    def _bind(self, target: ast.expr, how: str, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self.bindings.setdefault(target.id, []).append((how, value))
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._bind(element, "unpack" if how == "assign" else how, value)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, how, value)


def _names_in(target: ast.AST) -> Iterator[str]:
    return (n.id for n in ast_nodes(target) if isinstance(n, ast.Name))


def _is_string(expr: ast.expr) -> bool:
    return isinstance(expr, ast.JoinedStr) or (
        isinstance(expr, ast.Constant) and isinstance(expr.value, str | bytes)
    )


def _python_uses(
    func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
    params: set[str],
    builtin_of: Callable[[ast.expr], str | None],
) -> set[str]:
    """Parameters that `discovery.tensors._PythonUses` surely takes for Python values (a
    subset of what it finds: attribute uses, aliases and checks through names bound
    elsewhere are not looked at): unpacked (`a, b = x`), iterated (`for a in x`, a
    comprehension, `zip(x, y)`, a slice of them), called, a flag (`if x:`, `not x`), compared
    with `is` or a string, indexed by a string, given to `isinstance`, `hasattr`..."""
    if not params:
        return set()
    found: set[str] = set()

    def mark(expr: ast.expr | None) -> None:
        if isinstance(expr, ast.Name) and expr.id in params:
            found.add(expr.id)

    def iterated(expr: ast.expr) -> None:
        mark(expr)
        if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Slice):
            mark(expr.value)

    def counts(expr: ast.expr) -> None:
        if isinstance(expr, ast.BinOp):
            counts(expr.left)
            counts(expr.right)
        elif isinstance(expr, ast.UnaryOp):
            counts(expr.operand)
        else:
            mark(expr)

    def truth(test: ast.expr) -> None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            truth(test.operand)
        elif isinstance(test, ast.BoolOp):
            for value in test.values:
                truth(value)
        else:
            mark(test)

    root = func.body if isinstance(func, ast.Lambda) else ast.Module(func.body, [])
    for node in ast_nodes(root):
        if isinstance(node, ast.Call):
            mark(node.func)
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    mark(arg.value)
            builtin = builtin_of(node.func)
            if node.args and builtin in names.PYTHON_CHECKS:
                mark(node.args[0])
            elif node.args and builtin in names.ITERATING_BUILTINS:
                for arg in node.args:
                    iterated(arg)
                    if builtin == "range":
                        counts(arg)
        elif isinstance(node, ast.Subscript):
            if _is_string(node.slice):
                mark(node.value)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops) or any(
                _is_string(o) for o in operands
            ):
                for operand in operands:
                    mark(operand)
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Tuple | ast.List) for t in node.targets):
                mark(node.value)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            iterated(node.iter)
        elif isinstance(node, ast.If | ast.While | ast.IfExp):
            truth(node.test)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            truth(node.operand)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                truth(value)
    return found


def _rebound_first(
    func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, params: set[str]
) -> set[str]:
    """Parameters the body may rebind before reading them (`x = tf.convert_to_tensor(x)`):
    their own value is not the name's (`discovery.tensors._params_rebound_first`). More than
    it finds: a statement on the line of the rebinding does not count as a use before it."""
    if isinstance(func, ast.Lambda):
        return set()
    shadowed: set[str] = set()
    seen: set[str] = set()
    seen_line = 0
    for stmt in func.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            before = seen if seen_line < stmt.lineno else set()
            shadowed |= {
                t.id for t in targets if isinstance(t, ast.Name) and t.id in params
            } - before
        seen |= set(_names_in(stmt))
        seen_line = stmt.end_lineno or stmt.lineno
    return shadowed


# The node classes `_Scope` reads bindings from and `KerasGate._bound_names` bound names from
# (as `_SITES`, above, those `KerasGate.has_site` looks at), for exact-class filters before
# their `isinstance` chains (`ast.parse` makes no subclass of a node class).
_BINDERS = frozenset(
    {
        ast.Assign,
        ast.AnnAssign,
        ast.AugAssign,
        ast.NamedExpr,
        ast.For,
        ast.AsyncFor,
        ast.withitem,
        ast.ExceptHandler,
        ast.comprehension,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Import,
        ast.ImportFrom,
        ast.Global,
        ast.Nonlocal,
        ast.MatchAs,
        ast.MatchStar,
        ast.MatchMapping,
        ast.Name,
    }
)
_NAME_BINDERS = frozenset(
    {
        ast.Name,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.arg,
        ast.ExceptHandler,
        ast.MatchAs,
        ast.MatchStar,
        ast.MatchMapping,
    }
)


def _own_nodes(scope: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> Iterator[ast.AST]:
    """The nodes of a function's body, its nested functions' bodies excepted (their
    decorators, defaults and annotations are evaluated here, and included), without the
    expression contexts and operators (`ast_nodes`: read as `node.ctx`, `node.op`)."""
    if isinstance(scope, ast.Lambda):
        stack: list[ast.AST] = [scope.body]
    else:
        stack = list(scope.body)
    node_class = ast.AST
    fields_of = WALKED_FIELDS
    while stack:
        node = stack.pop()
        yield node
        kind = type(node)
        if kind in _SCOPE_TYPES:
            stack.extend(_outer_parts(node))  # type: ignore[arg-type]
            continue
        for field in fields_of[kind]:
            value = getattr(node, field, None)
            if type(value) is list:
                stack.extend([item for item in value if isinstance(item, node_class)])
            elif isinstance(value, node_class):
                stack.append(value)


def _outer_parts(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[ast.AST]:
    """What of a nested function its enclosing function evaluates."""
    args = node.args
    parts: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    if not isinstance(node, ast.Lambda):
        parts += node.decorator_list
    return parts


class KerasGate:
    """The gate for one module (`tree`, parsed by the screen)."""

    def __init__(
        self, tree: ast.Module, text: str, aliases: Mapping[str, str] | None = None
    ) -> None:
        self.tree = tree
        self.text = text
        self.imported: dict[str, str] = {}  # local name -> the name it imports
        # The local names an import binds to TensorFlow or Keras, and what each imports
        # (`a.b` for `import a.b as c`).
        self.qualified: dict[str, set[str]] = {}
        # With `aliases` (the module's re-exported TensorFlow names, `discovery.reexports`:
        # `from mypkg import tf`), every other local name an import binds, and what it
        # imports, as libCST names it (`.pkg.tf` for `from .pkg import tf`): a chain on one
        # is TensorFlow's when its name rewritten through `aliases` is (`_api_names`).
        self.aliases = dict(aliases or {})
        self._others: dict[str, set[str]] = {}
        self.star = False  # `from x import *`: any name may be imported
        self._call_methods: set[int] = set()  # the `def call`s of class bodies (by id)
        for node in all_statements(tree):
            if isinstance(node, ast.ClassDef):
                self._call_methods.update(
                    id(s) for s in node.body if isinstance(s, _DEFS) and s.name == "call"
                )
            if isinstance(node, ast.Import | ast.ImportFrom):
                if isinstance(node, ast.ImportFrom):
                    package = "" if node.level else (node.module or "").split(".")[0]
                    prefix = "." * node.level + (f"{node.module}." if node.module else "")
                for alias in node.names:
                    if alias.name == "*":
                        self.star = True
                        continue
                    if isinstance(node, ast.Import):
                        package = alias.name.split(".")[0]
                    if alias.asname or isinstance(node, ast.ImportFrom):
                        local, named = alias.asname or alias.name, alias.name.rsplit(".", 1)[-1]
                    else:  # `import a.b` binds `a`, the package
                        local = named = alias.name.split(".")[0]
                    self.imported[local] = named
                    if isinstance(node, ast.ImportFrom):
                        full = prefix + alias.name
                    else:  # `import a.b as c` binds `a.b`; `import a.b` binds `a`
                        full = alias.name if alias.asname else package
                    if package in _API_PACKAGES:
                        self.qualified.setdefault(local, set()).add(full)
                    elif self.aliases:
                        self._others.setdefault(local, set()).add(full)
        self._bound: set[str] | None = None  # every name bound anywhere: when first needed
        self._builtins: dict[str, bool] = {}

    def _bound_names(self) -> set[str]:
        if self._bound is None:
            bound = set(self.imported)
            names = _NAME_BINDERS
            for node in ast_nodes(self.tree):
                kind = type(node)
                if kind not in names:
                    continue  # most nodes (a call, a constant, an attribute) bind nothing
                if kind is ast.Name:
                    if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                        bound.add(node.id)  # type: ignore[attr-defined]
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    bound.add(node.name)
                elif isinstance(node, ast.arg):
                    bound.add(node.arg)
                elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
                    if node.name:
                        bound.add(node.name)
                elif isinstance(node, ast.MatchMapping) and node.rest:
                    bound.add(node.rest)
            self._bound = bound
        return self._bound

    def _builtin(self, func: ast.expr) -> str | None:
        """The builtin a call's function is for libCST (`builtins.len`: a builtin's name
        bound nowhere in the module; a star import binds nothing for it), else None."""
        if not isinstance(func, ast.Name) or func.id not in _BUILTIN_NAMES:
            return None
        name = func.id
        known = self._builtins.get(name)
        if known is None:
            # Only where the text may bind the name (it appears other than as `name(`, or
            # after `def`/`class`) is the whole tree walked for its bindings.
            maybe_bound = _maybe_bound(name, self.text)
            known = not maybe_bound or name not in self._bound_names()
            self._builtins[name] = known
        return name if known else None

    def _may_be_api(self, func: ast.expr) -> bool:
        """Whether a call's function may have a TF or Keras qualified name: a name or
        attribute chain on a name that an import of `tensorflow`, `keras` or `tf_keras`
        binds (any name, after a star import); not `np.f`, `math.f` or another package's
        (the inference gives their results no tensor kind: `tensors.tf_call_kind`), not
        `self.f`, a local function, a parameter."""
        dotted = dotted_name(func)
        if dotted is None:
            return False  # `f(x).g`: the receiver decides (`_call_may_be_tensor`)
        local = dotted.partition(".")[0]
        if self.star or local in self.qualified:
            return True
        return local in self._others and bool(self._api_names(dotted))

    def _api_names(self, dotted: str) -> list[str]:
        """The TF or Keras qualified names that the chain `dotted` (`a.b.c`) may have:
        through an import of TensorFlow or Keras, or (`_others`) through a re-export, its
        name rewritten as discovery rewrites it (`discovery.reexports.rewrite`)."""
        local, dot, tail = dotted.partition(".")
        rest = dot + tail
        found = [full + rest for full in self.qualified.get(local, ())]
        for full in self._others.get(local, ()):
            name = rewrite(full + rest, self.aliases)
            if name != full + rest and name.split(".")[0] in _API_PACKAGES:
                found.append(name)
        return found

    def _tensor_type(self, annotation: ast.expr) -> bool:
        """Whether a parameter's annotation may be a tensor type for the inference (its
        qualified name `Tensor` or `types.experimental.TensorLike`, TensorFlow's root
        stripped): a name or attribute whose last name is one of them (through an import's
        alias), subscripted or not, or a string that names one."""
        if isinstance(annotation, ast.Subscript):
            return self._tensor_type(annotation.value)
        if isinstance(annotation, ast.Constant):
            return isinstance(annotation.value, str) and "Tensor" in annotation.value
        if isinstance(annotation, ast.Name | ast.Attribute):
            return self._last_name(annotation) in _TENSOR_TYPES
        return False

    def _last_name(self, func: ast.expr) -> str | None:
        if isinstance(func, ast.Attribute):
            return func.attr
        if isinstance(func, ast.Name):
            return self.imported.get(func.id, func.id)
        return None

    # ------------------------------------------------------------------ tensors
    def may_be_tensor(self, expr: ast.expr, scope: _Scope, presume: bool) -> bool:
        """False only when the inference cannot call `expr` a tensor (module docstring);
        `presume`: with the parameters it presumes tensors (`FunctionFacts.presumed`)."""
        if isinstance(expr, _PYTHON_VALUES):
            return False
        if isinstance(expr, ast.Name):
            return self._name_may_be_tensor(expr.id, scope, presume)
        if isinstance(expr, ast.Subscript):
            return self.may_be_tensor(expr.value, scope, presume)
        if isinstance(expr, ast.Call):
            return self._call_may_be_tensor(expr, scope, presume)
        if isinstance(expr, ast.BinOp):
            return self._any_tensor([expr.left, expr.right], scope, presume)
        if isinstance(expr, ast.BoolOp):
            return self._any_tensor(expr.values, scope, presume)
        if isinstance(expr, ast.UnaryOp):
            return self.may_be_tensor(expr.operand, scope, presume)
        if isinstance(expr, ast.Compare):
            if any(isinstance(op, ast.Is | ast.IsNot | ast.In | ast.NotIn) for op in expr.ops):
                return False
            return self._any_tensor([expr.left, *expr.comparators], scope, presume)
        if isinstance(expr, ast.IfExp):
            return self._any_tensor([expr.body, expr.orelse], scope, presume)
        return True  # `:=`, `*x`, `await`, ...: not looked into

    def _call_may_be_tensor(self, call: ast.Call, scope: _Scope, presume: bool) -> bool:
        """As `FunctionFacts._call_kind`: a TF function's result, a tensor method's result,
        a `TensorArray` read, a cast of a tensor; never `len`, `isinstance`, `range` and the
        like, a function of the module, or a method of what cannot be a tensor."""
        builtin = self._builtin(call.func)
        if builtin == "range" or builtin in names.PY_BUILTINS:
            return False
        if builtin in names.CASTING_BUILTINS:
            return self._any_tensor(_call_arguments(call), scope, presume)
        func = call.func
        if self._may_be_api(func):
            verdict = self._api_call_may_be_tensor(func)
            if verdict is not None:
                return verdict
            # No name of it is in the table (`keras.backend.backend()`, Keras 3 outside
            # `keras.ops`): the inference reads the call as any other (its receiver).
        if isinstance(func, ast.Attribute):
            if func.attr in names.SHAPE_METHODS:
                return False
            if func.attr in names.TENSOR_ARRAY_READS:
                return True
            return self.may_be_tensor(func.value, scope, presume)
        return not isinstance(func, ast.Name)  # a local function's result: unknown

    def _api_call_may_be_tensor(self, func: ast.expr) -> bool | None:
        """A call of a TF or Keras function: what `FunctionFacts._call_kind` makes of its
        qualified names (`api_kinds.tf_call_kind`: `tf.nest.flatten`, `tf.keras.layers.Dense`,
        `K.ndim` give no tensor). True when a name may give a tensor, or may be any (a star
        import); None when the table knows none of its names (the call is then read as a
        call of something else)."""
        dotted = dotted_name(func)
        if dotted is None or self.star:
            return True
        kinds = {tf_call_kind(name) for name in self._api_names(dotted)} - {None}
        return Kind.TENSOR in kinds if kinds else None

    def _param_may_be_tensor(self, name: str, scope: _Scope, presume: bool) -> bool:
        return name in (scope.presumed if presume else scope.annotated)

    def _name_may_be_tensor(self, name: str, scope: _Scope, presume: bool) -> bool:
        """As `FunctionFacts.name_kind`: a tensor only when every source of the name may
        be one (the parameter, unless rebound first, and each binding); a binding whose
        inference reads a name being inferred, itself (`i = i + 1`) or another (`x = y`,
        `y = x + 1`), does not decide."""
        if name in scope.progress:
            scope.cycled = True
            return True
        if name in scope.opaque:
            return True
        bindings = scope.bindings.get(name, ())
        if name in scope.params:
            if self._param_may_be_tensor(name, scope, presume):
                # Read before a rebinding (`x = len(x)`), it is the parameter itself, which
                # the inference takes for a tensor there, whatever the bindings say.
                return True
            if name not in scope.shadowed:
                return False  # a parameter the inference does not take for a tensor
        elif not bindings:  # a free name: an enclosing function's, or the module's
            if scope.parent is not None:
                return self._name_may_be_tensor(name, scope.parent, presume)
            return scope.nested
        scope.progress.add(name)
        entry, met, vetoed = scope.cycled, False, False
        try:
            for how, value in bindings:
                scope.cycled = False
                may_be = self._binding_may_be_tensor(how, value, scope, presume)
                met = met or scope.cycled
                # A binding whose inference met a cycle at any depth (`inputs = y`, `y = 2`,
                # `y = inputs if c else y`) decides nothing: the inference skips it or not
                # depending on which name of the cycle it reached first, and caches what it
                # found. So the bindings after a veto are still read for a cycle.
                vetoed = vetoed or (not may_be and not scope.cycled)
                if vetoed and met:
                    break
            return not vetoed
        finally:
            scope.cycled = entry or met
            scope.progress.discard(name)

    def _binding_may_be_tensor(
        self, how: str, value: ast.expr | None, scope: _Scope, presume: bool
    ) -> bool:
        if how == "aug":
            # `x += v` is `x = x + v`: a tensor if `v` is; else it reads `x` itself, and
            # does not decide (as a cycle does not).
            return True
        if value is None or how == "other":
            return False
        if how == "iter":
            return self._element_may_be_tensor(value, scope, presume)
        return self.may_be_tensor(value, scope, presume)

    def _element_may_be_tensor(self, iterable: ast.expr, scope: _Scope, presume: bool) -> bool:
        """The loop variable of `for x in iterable` (`FunctionFacts.element_kind`): a tensor's
        row, a `range` of tensors, an element of a list of tensors (`tf.unstack(x)`, or a
        name bound to one); never an item of `enumerate`, `zip` or another builtin's
        result."""
        if isinstance(iterable, ast.Call):
            builtin = self._builtin(iterable.func)
            if builtin == "range":
                return self._any_tensor(_call_arguments(iterable), scope, presume)
            return builtin is None
        if isinstance(iterable, ast.Name):
            return True  # a list of tensors, bound elsewhere in the function
        return self.may_be_tensor(iterable, scope, presume)

    def _any_tensor(self, exprs: Iterable[ast.expr], scope: _Scope, presume: bool) -> bool:
        return any(self.may_be_tensor(e, scope, presume) for e in exprs)

    def _iterates_tensor(self, iterable: ast.expr, scope: _Scope, presume: bool) -> bool:
        """`for _ in iterable` may iterate a tensor (or hand one to `range`, `zip`...)."""
        if isinstance(iterable, ast.Call):
            if self._builtin(iterable.func) in _ITERATING:
                return self._any_tensor(_call_arguments(iterable), scope, presume)
            func = iterable.func
            if isinstance(func, ast.Attribute) and func.attr in _DICT_VIEWS and not iterable.args:
                return False
        return self.may_be_tensor(iterable, scope, presume)

    def _one_tensor(self, expr: ast.expr, scope: _Scope, depth: int) -> bool:
        """May be one tensor, as python-only-api-on-tensor's `_one_tensor` asks (unpacking
        it iterates it): a call of a TF function that returns one, a subscript or arithmetic
        of one, an annotated parameter, a name every binding of which may be one."""
        if isinstance(expr, ast.Call):
            return self._may_be_api(expr.func) and self._last_name(expr.func) in _ONE_TENSOR_LAST
        if isinstance(expr, ast.Subscript):
            return self._one_tensor(expr.value, scope, depth)
        if isinstance(expr, ast.BinOp):
            return self._one_tensor(expr.left, scope, depth) or self._one_tensor(
                expr.right, scope, depth
            )
        if isinstance(expr, ast.Name) and depth > 0:
            if expr.id in scope.opaque:
                return True
            values = scope.bindings.get(expr.id, ())
            if expr.id in scope.params and not values:
                return expr.id in scope.annotated
            return bool(values) and all(
                how == "aug" or (v is not None and self._one_tensor(v, scope, depth - 1))
                for how, v in values
            )
        return False

    # ------------------------------------------------------------------ sites
    def has_site(self, scope: _Scope) -> bool:
        """Whether a breakage rule may report in this function's own nodes: control flow and
        comprehensions on a possible tensor with parameters presumed (as
        tensor-control-flow-in-unconverted-code and tensor-iteration-in-comprehension ask),
        `assert`, `len`/`bool`/`int`/`tf.constant`/`K.eval`-style calls and unpacking
        without (as assert-on-tensor, python-only-api-on-tensor and eager-only-call ask), and
        every `.numpy()`/`.item()` (eager-only-call warns on a receiver it cannot type)."""
        sites = _SITES
        for node in scope.nodes:
            if type(node) not in sites:
                continue  # a name, a constant, an attribute: no site itself
            if isinstance(node, ast.If | ast.While | ast.IfExp):
                if self.may_be_tensor(node.test, scope, presume=True):
                    return True
            elif isinstance(node, ast.Assert):
                if self.may_be_tensor(node.test, scope, presume=False):
                    return True
            elif isinstance(node, ast.For | ast.AsyncFor):
                if self._iterates_tensor(node.iter, scope, presume=True):
                    return True
            elif isinstance(node, _COMPREHENSIONS):
                for gen in node.generators:
                    if self._iterates_tensor(gen.iter, scope, True) or self._any_tensor(
                        gen.ifs, scope, True
                    ):
                        return True
            elif isinstance(node, ast.Call):
                if self._call_site(node, scope):
                    return True
            elif isinstance(node, ast.Assign):
                unpacks = any(isinstance(t, ast.Tuple | ast.List) for t in node.targets)
                if unpacks and self._one_tensor(node.value, scope, 3):
                    return True
        return False

    def _call_site(self, call: ast.Call, scope: _Scope) -> bool:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _EAGER_METHODS and not call.args:
            return True
        if self._builtin(func) in _VALUE_BUILTINS:
            pass  # `len(t)`, `bool(t)`...
        elif not (self._may_be_api(func) and self._last_name(func) in _VALUE_CALLS):
            return False  # `K.eval(t)`, `tf.constant(t)`...
        return self._any_tensor(_call_arguments(call), scope, False)

    def any_site(self, roots: Iterable[ast.AST]) -> bool:
        """Whether a breakage rule may report in a function under any of `roots` (the
        statements the slicer may trace), nested ones included."""
        for root in roots:
            scopes: dict[int, _Scope] = {}
            for node, parent in _functions(root):
                method = id(node) in self._call_methods
                outer = None if parent is None or parent is _UNKNOWN else scopes[id(parent)]
                nested = parent is not None
                scope = _Scope(node, nested, self._builtin, self._tensor_type, method, outer)
                scopes[id(node)] = scope
                if self.has_site(scope):
                    return True
        return False


def _maybe_bound(name: str, text: str) -> bool:
    """Whether `text` may bind the builtin `name`: it appears other than as `name(`, or after
    `def`/`class`. Searches that each start with a literal (`prefilter.word`): an
    alternation, or a leading `\\b`, is tried at every position of the file."""
    return bool(
        re.search(word(name) + r"(?!\s*\()", text)
        or re.search(rf"def[\s\\]+{name}\b", text)
        or re.search(rf"class[\s\\]+{name}\b", text)
    )


def _call_arguments(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(k.value for k in call.keywords)]


_UNKNOWN = ast.AST()  # `_functions`: in a function, but not in its body


def _functions(
    root: ast.AST,
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, ast.AST | None]]:
    """Every function and lambda under `root` (itself included), each after the function
    whose body holds it, and that function: None when it is in no function, `_UNKNOWN` when
    it is in a function's decorators, defaults or annotations (evaluated in another scope)."""
    stack: list[tuple[ast.AST, ast.AST | None]] = [(root, None)]
    node_class = ast.AST
    fields_of = WALKED_FIELDS
    while stack:
        node, parent = stack.pop()
        kind = type(node)
        scope = kind in _SCOPE_TYPES
        if scope:
            yield node, parent  # type: ignore[misc]
        for field in fields_of[kind]:
            value = getattr(node, field, None)
            # A function's body is in it; its other parts are in another scope.
            inner = (node if field == "body" else _UNKNOWN) if scope else parent
            if type(value) is list:
                stack.extend([(item, inner) for item in value if isinstance(item, node_class)])
            elif isinstance(value, node_class):
                stack.append((value, inner))
