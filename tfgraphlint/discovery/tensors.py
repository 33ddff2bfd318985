"""Tensor or Python value? A small three-valued inference every rule shares.

- results of `tf.*` ops and tensor methods are tensors;
- parameters covered by an `input_signature` (or annotated `tf.Tensor`) are tensors;
- literals, `len()`, `.shape[i]`, `isinstance()` and `range` indices of Python loops are Python
  values;
- everything else is unknown.

It also recognises `tf.data` datasets and their iterators (loops over them are graph loops) and
`tf.TensorArray`s (functional updates), and the constructs that make AutoGraph refuse a whole
function (`unconvertible_reason`).

It is flow-insensitive per function (a name takes the kind all its assignments agree on) and
deliberately shallow: rules fire at full severity only on TENSOR, and say "if `x` is a tensor"
(or stay silent) on UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import libcst as cst

from tfgraphlint.discovery import names
from tfgraphlint.discovery.api_kinds import TENSOR_LIST_OPS, keras_ops_list
from tfgraphlint.discovery.api_kinds import Kind as Kind  # re-exported: the rules use it
from tfgraphlint.discovery.api_kinds import tf_call_kind as tf_call_kind
from tfgraphlint.discovery.model import CompiledContext, ContextKind
from tfgraphlint.discovery.scopes import FunctionScopeVisitor
from tfgraphlint.discovery.walk import walk


def combine(kinds: Iterable[Kind]) -> Kind:
    """The kind several values agree on; UNKNOWN when they disagree or there are none."""
    seen = set(kinds)
    return seen.pop() if len(seen) == 1 else Kind.UNKNOWN


def any_tensor(kinds: Iterable[Kind]) -> Kind:
    """An operation with these operand kinds: a tensor if any is, Python if all are."""
    seen = set(kinds)
    if Kind.TENSOR in seen:
        return Kind.TENSOR
    if seen == {Kind.PYTHON}:
        return Kind.PYTHON
    return Kind.UNKNOWN


_PY_METHODS_OF_TENSOR = frozenset(
    {"get_shape", "as_list", "num_elements", "is_fully_defined", "numpy", "_numpy"}
)
_SHAPE_METHODS = names.SHAPE_METHODS
_PY_ATTRS = frozenset({"shape", "dtype", "ndim", "ndims", "rank", "name", "device", "op", "graph"})
_PY_BUILTINS = frozenset(f"builtins.{n}" for n in names.PY_BUILTINS)
_CASTING_BUILTINS = frozenset(f"builtins.{n}" for n in names.CASTING_BUILTINS)


QualNames = Callable[[cst.CSTNode], set[str]]


class _BodyBindings(FunctionScopeVisitor):
    """Name bindings in one function body, not descending into nested scopes."""

    def __init__(self, root: cst.CSTNode) -> None:
        super().__init__(root)
        self.bindings: dict[str, list[tuple[str, cst.BaseExpression | None]]] = {}

    def _bind(self, target: cst.BaseExpression, how: str, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            self.bindings.setdefault(target.value, []).append((how, value))
        elif isinstance(target, cst.Tuple | cst.List):
            for el in target.elements:
                # Unpacking loses the per-element kind, except unpacking a tensor (rows).
                self._bind(el.value, "unpack" if how == "assign" else how, value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self._bind(t.target, "assign", node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target, "assign", node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            expr = cst.BinaryOperation(left=node.target, operator=cst.Add(), right=node.value)
            self.bindings.setdefault(node.target.value, []).append(("assign", expr))

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, "iter", node.iter)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target, "assign", node.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, "other", None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind(node.name.name, "other", None)


_DATASET_METHODS = frozenset(
    {
        "apply",
        "batch",
        "bucket_by_sequence_length",
        "cache",
        "concatenate",
        "enumerate",
        "filter",
        "flat_map",
        "group_by_window",
        "ignore_errors",
        "interleave",
        "map",
        "padded_batch",
        "prefetch",
        "ragged_batch",
        "rebatch",
        "rejection_resample",
        "repeat",
        "scan",
        "shard",
        "shuffle",
        "skip",
        "snapshot",
        "take",
        "take_while",
        "unbatch",
        "unique",
        "window",
        "with_options",
    }
)
_DATASET_FACTORIES = frozenset(
    {
        "data.experimental.make_csv_dataset",
        "data.experimental.make_batched_features_dataset",
        "data.experimental.sample_from_datasets",
        "data.experimental.choose_from_datasets",
    }
)
# TensorArray methods that return a new TensorArray (the functional update) or a tensor.
_TENSOR_ARRAY_UPDATES = frozenset({"write", "scatter", "unstack", "split", "identity", "grad"})
_TENSOR_ARRAY_READS = names.TENSOR_ARRAY_READS


class FunctionFacts:
    """Kinds of names and expressions inside one compiled function."""

    def __init__(
        self,
        func: cst.FunctionDef | cst.Lambda,
        ctx: CompiledContext | None,
        qualnames: QualNames,
        module_constants: frozenset[str] = frozenset(),
        outer: FunctionFacts | None = None,
        presumed_tensors: frozenset[str] = frozenset(),
    ) -> None:
        self.func = func
        self.presumed_tensors = presumed_tensors
        self.ctx = ctx
        self.qualnames = qualnames
        self.module_constants = module_constants
        self.outer = outer
        collector = _BodyBindings(func)
        walk(func, collector)
        self._bindings = collector.bindings
        self._params: dict[str, Kind] = {}
        self._param_nodes: dict[str, cst.Param] = {}
        for param in _all_params(func):
            self._params[param.name.value] = self._param_kind(param)
            self._param_nodes[param.name.value] = param
        self._shadowed, self._param_reads = _params_rebound_first(func, set(self._params))
        self._cache: dict[str, Kind] = {}
        self._in_progress: set[str] = set()
        self._unconvertible: tuple[str, cst.CSTNode] | None = None
        self._unconvertible_checked = False
        self._presumed: FunctionFacts | None = None

    def presumed(self, module: cst.Module) -> FunctionFacts:
        """These facts with the parameters TensorFlow hands in as tensors taken as tensors
        (`presumed_tensor_params`), here and in the enclosing functions: the view of the rules
        that report only what fails on a tensor (`numpy-call-on-tensor`, ...)."""
        if self._presumed is None:
            outer = self.outer.presumed(module) if self.outer is not None else None
            tensors = presumed_tensor_params(
                self.func, self.ctx, module, self.qualnames, self.module_constants
            )
            if not tensors and outer is self.outer:
                self._presumed = self
            else:
                self._presumed = FunctionFacts(
                    self.func,
                    self.ctx,
                    self.qualnames,
                    self.module_constants,
                    outer,
                    tensors,
                )
        return self._presumed

    @property
    def param_names(self) -> list[str]:
        return list(self._params)

    def is_param(self, name: str) -> bool:
        return name in self._params and name not in self._bindings

    def _param_kind(self, param: cst.Param) -> Kind:
        name = param.name.value
        if self.ctx is not None and name in self.ctx.signature_params:
            return Kind.TENSOR
        if name in self.presumed_tensors:
            return Kind.TENSOR
        if param.annotation is not None:
            ann = param.annotation.annotation
            qn = self.qualnames(ann)
            if any(
                names.strip_tf_root(q) in ("Tensor", "types.experimental.TensorLike") for q in qn
            ):
                return Kind.TENSOR
            if qn & {"builtins.int", "builtins.float", "builtins.bool", "builtins.str"}:
                return Kind.PYTHON
        return Kind.UNKNOWN

    def bindings_of(self, name: str) -> list[cst.BaseExpression | None]:
        """The values assigned to `name` in this body (None for bindings without one)."""
        return [value for _, value in self._bindings.get(name, [])]

    def name_kind(self, name: str) -> Kind:
        if name in ("True", "False", "None"):
            return Kind.PYTHON
        if name in self._cache:
            return self._cache[name]
        if name in self._in_progress:
            raise _Cycle
        self._in_progress.add(name)
        try:
            kinds: list[Kind] = []
            if name in self._params and name not in self._shadowed:
                kinds.append(self._params[name])
            for how, value in self._bindings.get(name, []):
                try:
                    kinds.append(self._binding_kind(how, value))
                except _Cycle:
                    continue  # `i = i + 1`: decided by the other assignments
            if not kinds:
                if self.outer is not None:
                    kinds.append(self.outer.name_kind(name))
                elif name in self.module_constants:
                    kinds.append(Kind.PYTHON)
                else:
                    kinds.append(Kind.UNKNOWN)
            result = combine(kinds)
        finally:
            self._in_progress.discard(name)
        self._cache[name] = result
        return result

    def _binding_kind(self, how: str, value: cst.BaseExpression | None) -> Kind:
        if value is None:
            return Kind.UNKNOWN
        if how == "assign":
            return self._kind(value, {})  # a cycle (`i = i + 1`) skips this binding
        if how == "unpack":
            return Kind.TENSOR if self._kind(value, {}) is Kind.TENSOR else Kind.UNKNOWN
        if how == "iter":
            return self.element_kind(value)
        return Kind.UNKNOWN

    def element_kind(
        self, iterable: cst.BaseExpression, local: Mapping[str, Kind] | None = None
    ) -> Kind:
        """Kind of the loop variable of `for x in iterable` (`local` as in `kind`)."""
        if self.is_range_call(iterable):
            assert isinstance(iterable, cst.Call)
            return any_tensor(self.kind(a.value, local) for a in iterable.args)
        if self.kind(iterable, local) is Kind.TENSOR or self._is_tensor_list(iterable):
            return Kind.TENSOR
        return Kind.UNKNOWN

    def _is_tensor_list(self, expr: cst.BaseExpression, depth: int = 0) -> bool:
        """A Python list whose items are all tensors: `tf.unstack(x)`, `tf.split(...)`, or a
        name only ever bound to one."""
        if isinstance(expr, cst.Call):
            qns = self.qualnames(expr.func)
            tf_names = (names.strip_tf_root(q) for q in qns)
            return any(
                n is not None and n.split(".")[-1] in TENSOR_LIST_OPS for n in tf_names
            ) or any(keras_ops_list(q) for q in qns)
        if isinstance(expr, cst.Name) and depth < 4 and not self.is_param(expr.value):
            values = self._bindings.get(expr.value, [])
            return bool(values) and all(
                how == "assign" and value is not None and self._is_tensor_list(value, depth + 1)
                for how, value in values
            )
        return False

    def is_range_call(self, expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Call) and "builtins.range" in self.qualnames(expr.func)

    def iteration_kind(self, iterable: cst.BaseExpression) -> Kind:
        """TENSOR when AutoGraph turns `for _ in iterable` into a graph loop, PYTHON when Python
        unrolls it, UNKNOWN when it depends on values we cannot see."""
        if self.is_range_call(iterable):
            assert isinstance(iterable, cst.Call)
            return any_tensor(self.kind(a.value) for a in iterable.args)
        if isinstance(iterable, cst.Call) and self.qualnames(iterable.func) & names.TF_RANGE:
            return Kind.TENSOR
        if self.is_dataset(iterable) or self.is_dataset_iterator(iterable):
            return Kind.TENSOR
        if isinstance(iterable, cst.List | cst.Tuple | cst.Dict | cst.Set):
            return Kind.PYTHON
        if (
            isinstance(iterable, cst.Call)
            and isinstance(iterable.func, cst.Attribute)
            and iterable.func.attr.value in ("keys", "values", "items")
            and not iterable.args
        ):
            return Kind.PYTHON  # a dict view: neither tensors nor datasets have these
        if isinstance(iterable, cst.Call) and self.qualnames(iterable.func) & {
            "builtins.enumerate",
            "builtins.zip",
            "builtins.reversed",
            "builtins.sorted",
        }:
            args = [a.value for a in iterable.args if a.keyword is None]
            if (
                args
                and self.qualnames(iterable.func) & {"builtins.enumerate", "builtins.zip"}
                and all(self.is_dataset(a) for a in args)
            ):
                return Kind.TENSOR  # tf.data overloads enumerate/zip over datasets
            # Not overloaded for tensors: a Python loop (or an error over a tensor).
            return Kind.PYTHON
        return self.kind(iterable)

    # ------------------------------------------------------------------ datasets
    def is_dataset(self, expr: cst.BaseExpression, depth: int = 0) -> bool:
        """Whether `expr` is a `tf.data.Dataset`: built by `tf.data`, a chain of dataset
        methods on one, a name only ever bound to one, or a parameter annotated as one."""
        if depth > 8:
            return False
        if isinstance(expr, cst.Call):
            for qn in self.qualnames(expr.func):
                rest = names.strip_tf_root(qn)
                if rest is not None and (
                    rest.startswith("data.Dataset.")
                    or (rest.startswith("data.") and rest.endswith("Dataset"))
                    or rest in _DATASET_FACTORIES
                ):
                    return True
            func = expr.func
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value in _DATASET_METHODS
                and self.is_dataset(func.value, depth + 1)
            )
        if isinstance(expr, cst.Name):
            name = expr.value
            if name in self._param_nodes and name not in self._bindings:
                ann = self._param_nodes[name].annotation
                return ann is not None and any(
                    names.strip_tf_root(q) == "data.Dataset" for q in self.qualnames(ann.annotation)
                )
            values = self._bindings.get(name, [])
            if not values:
                return self.outer is not None and self.outer.is_dataset(expr, depth + 1)
            return all(
                how == "assign" and value is not None and self.is_dataset(value, depth + 1)
                for how, value in values
            )
        return False

    def is_dataset_iterator(self, expr: cst.BaseExpression) -> bool:
        """`iter(dataset)` (a `tf.data.Iterator`), or a name only ever bound to one."""
        if isinstance(expr, cst.Call):
            return (
                "builtins.iter" in self.qualnames(expr.func)
                and len(expr.args) == 1
                and self.is_dataset(expr.args[0].value)
            )
        if isinstance(expr, cst.Name) and not self.is_param(expr.value):
            values = self._bindings.get(expr.value, [])
            return bool(values) and all(
                how == "assign" and isinstance(value, cst.Call) and self.is_dataset_iterator(value)
                for how, value in values
            )
        return False

    # ------------------------------------------------------------------ TensorArray
    def is_tensor_array(self, expr: cst.BaseExpression, depth: int = 0) -> bool:
        """Whether `expr` is a `tf.TensorArray`: a constructor call, the result of a functional
        update (`ta.write(...)`), a name only ever bound to those (at least once to a
        constructor, checked through enclosing functions) or to its own final read (`ta =
        ta.stack()` after the loop: the name was a TensorArray before), or a parameter
        annotated as one."""
        if depth > 8:
            return False
        if isinstance(expr, cst.Call):
            if any(names.strip_tf_root(q) == "TensorArray" for q in self.qualnames(expr.func)):
                return True
            func = expr.func
            return (
                isinstance(func, cst.Attribute)
                and func.attr.value in _TENSOR_ARRAY_UPDATES
                and self.is_tensor_array(func.value, depth + 1)
            )
        if not isinstance(expr, cst.Name):
            return False
        name = expr.value
        if name in self._param_nodes and name not in self._bindings:
            ann = self._param_nodes[name].annotation
            return ann is not None and any(
                names.strip_tf_root(q) == "TensorArray" for q in self.qualnames(ann.annotation)
            )
        values = self._bindings.get(name, [])
        if not values:
            return self.outer is not None and self.outer.is_tensor_array(expr, depth + 1)
        constructed = any(
            isinstance(v, cst.Call)
            and any(names.strip_tf_root(q) == "TensorArray" for q in self.qualnames(v.func))
            for _, v in values
        )
        return constructed and all(
            how == "assign"
            and isinstance(value, cst.Call)
            and (
                isinstance(value.func, cst.Attribute)
                and value.func.attr.value in _TENSOR_ARRAY_UPDATES | _TENSOR_ARRAY_READS
                and isinstance(value.func.value, cst.Name)
                and value.func.value.value == name
                or self.is_tensor_array(value, depth + 1)
            )
            for how, value in values
        )

    # ------------------------------------------------------------------ AutoGraph refusal
    def unconvertible_reason(self) -> tuple[str, cst.CSTNode] | None:
        """Why AutoGraph refuses to convert this whole function (and runs it as plain Python),
        with the offending node: `for`/`else`, `while`/`else`, `yield` anywhere in it (nested
        functions included, as AutoGraph's checker walks them), or a name-mangled attribute
        such as `self.__x` (TF 2.21 `unsupported_features_checker`)."""
        if not self._unconvertible_checked:
            finder = _UnsupportedFinder()
            walk(self.func.body, finder)
            self._unconvertible = finder.found
            self._unconvertible_checked = True
        return self._unconvertible

    def autograph_off_reason(self) -> str | None:
        """Why Python, not AutoGraph, runs this body's `if`/`for`/`while` (a phrase for
        messages), or None when AutoGraph converts it."""
        ctx = self.ctx
        if ctx is not None and not ctx.converted:
            if ctx.kind in (ContextKind.KERAS_STEP, ContextKind.KERAS_CALL):
                return "Keras traces it without AutoGraph"
            if isinstance(self.func, cst.FunctionDef) and any(
                names.any_in(self.qualnames(_decorator_callee(d)), names.DO_NOT_CONVERT)
                for d in self.func.decorators
            ):
                return "it is decorated with `do_not_convert`"
            if ctx.unconverted_reason is not None:
                return ctx.unconverted_reason
            if ctx.is_root:
                return "it is compiled with `autograph=False`"
            return f"AutoGraph is off for {ctx.root_label} `{ctx.root_qualname}`"
        facts: FunctionFacts | None = self
        while facts is not None:
            refused = facts.unconvertible_reason()
            if refused is not None:
                what = "it" if facts is self else f"the enclosing `{_func_name(facts.func)}`"
                return f"AutoGraph refuses to convert {what} ({refused[0]})"
            facts = facts.outer
        return None

    # ------------------------------------------------------------------ expressions
    def kind(self, expr: cst.BaseExpression, local: Mapping[str, Kind] | None = None) -> Kind:
        """Kind of `expr`. `local` gives the kinds of names bound by an enclosing
        comprehension (they shadow the function's names inside it)."""
        try:
            return self._kind(expr, local or {})
        except _Cycle:
            return Kind.UNKNOWN

    def _kind(self, expr: cst.BaseExpression, local: Mapping[str, Kind]) -> Kind:
        if isinstance(
            expr,
            cst.Integer
            | cst.Float
            | cst.Imaginary
            | cst.SimpleString
            | cst.ConcatenatedString
            | cst.FormattedString,
        ):
            return Kind.PYTHON
        if isinstance(
            expr,
            cst.List | cst.Tuple | cst.Dict | cst.Set | cst.ListComp | cst.DictComp | cst.SetComp,
        ):
            return Kind.PYTHON
        if isinstance(expr, cst.Name):
            if expr.value in local:
                return local[expr.value]
            if self._param_reads and id(expr) in self._param_reads:
                return self._params[expr.value]  # `x = tf.constant(x)`: this `x` is the param
            return self.name_kind(expr.value)
        if isinstance(expr, cst.Call):
            return self._call_kind(expr, local)
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in _PY_ATTRS:
                return Kind.PYTHON
            return Kind.UNKNOWN
        if isinstance(expr, cst.Subscript):
            base = self._kind(expr.value, local)
            if base is Kind.TENSOR:
                return Kind.TENSOR
            if isinstance(expr.value, cst.Attribute) and expr.value.attr.value == "shape":
                return Kind.PYTHON
            return Kind.UNKNOWN
        if isinstance(expr, cst.BinaryOperation):
            return self._operands_kind((expr.left, expr.right), local)
        if isinstance(expr, cst.UnaryOperation):
            return self._kind(expr.expression, local)
        if isinstance(expr, cst.BooleanOperation):
            return self._operands_kind((expr.left, expr.right), local)
        if isinstance(expr, cst.Comparison):
            if any(
                isinstance(t.operator, cst.Is | cst.IsNot | cst.In | cst.NotIn)
                for t in expr.comparisons
            ):
                return Kind.PYTHON
            return self._operands_kind(
                [expr.left, *(t.comparator for t in expr.comparisons)], local
            )
        if isinstance(expr, cst.IfExp):
            return combine((self._kind(expr.body, local), self._kind(expr.orelse, local)))
        return Kind.UNKNOWN

    def _operands_kind(
        self, operands: Iterable[cst.BaseExpression], local: Mapping[str, Kind]
    ) -> Kind:
        """`any_tensor` of the operands; a tensor operand decides even when another one is
        the name being inferred (`x = x + tf.reduce_sum(y)` makes `x` a tensor)."""
        kinds: list[Kind] = []
        cycled = False
        for operand in operands:
            try:
                kinds.append(self._kind(operand, local))
            except _Cycle:
                cycled = True
        if Kind.TENSOR in kinds:
            return Kind.TENSOR
        if cycled:
            raise _Cycle
        return any_tensor(kinds)

    def _call_kind(self, call: cst.Call, local: Mapping[str, Kind]) -> Kind:
        # libCST names `f(x).tolist` after `f` ("keras.ops.convert_to_numpy.tolist"): a
        # method of a call's result is not an API function, its receiver decides (below).
        qns = self.qualnames(call.func) if _dotted(call.func) else set()
        if qns & _PY_BUILTINS:
            if (
                "builtins.len" in qns
                and call.args
                and self._kind(call.args[0].value, local) is Kind.TENSOR
            ):
                return Kind.UNKNOWN  # a static dim, or tf.shape(t)[0] when it is dynamic
            return Kind.PYTHON
        if qns & _CASTING_BUILTINS:
            if not call.args or self.autograph_off_reason() is not None:
                # Unconverted, `int(t)` of a symbolic tensor raises (python-only-api-on-tensor
                # says so where it is): it never gives a tensor.
                return Kind.PYTHON
            return self._operands_kind([a.value for a in call.args], local)
        if "builtins.range" in qns:
            return Kind.PYTHON
        # A name bound to several things (`try: import tensorflow as tf` with a fallback)
        # has several qualified names: their kinds must agree, else the kind is unknown.
        kinds: set[Kind] = set()
        for qn in qns:
            k = tf_call_kind(qn)
            if k is None and (qn.startswith("numpy.") or qn.startswith("math.")):
                k = Kind.PYTHON
            if k is not None:
                kinds.add(k)
        if kinds:
            return kinds.pop() if len(kinds) == 1 else Kind.UNKNOWN
        func = call.func
        if isinstance(func, cst.Attribute):
            if func.attr.value in _SHAPE_METHODS:
                return Kind.PYTHON
            receiver = self._kind(func.value, local)
            if receiver is Kind.TENSOR:
                return Kind.PYTHON if func.attr.value in _PY_METHODS_OF_TENSOR else Kind.TENSOR
            if func.attr.value in _TENSOR_ARRAY_READS and self.is_tensor_array(func.value):
                return Kind.TENSOR
        return Kind.UNKNOWN


def _dotted(expr: cst.BaseExpression) -> bool:
    """`a.b.c`: names and attributes only (no call, subscript... inside)."""
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return isinstance(expr, cst.Name)


class _UnsupportedFinder(cst.CSTVisitor):
    """First construct that makes AutoGraph refuse a function (see `unconvertible_reason`)."""

    def __init__(self) -> None:
        self.found: tuple[str, cst.CSTNode] | None = None

    def _hit(self, reason: str, node: cst.CSTNode) -> None:
        if self.found is None:
            self.found = (reason, node)

    def visit_For(self, node: cst.For) -> None:
        if node.orelse is not None:
            self._hit("`for`/`else` is not supported", node)

    def visit_While(self, node: cst.While) -> None:
        if node.orelse is not None:
            self._hit("`while`/`else` is not supported", node)

    def visit_Yield(self, node: cst.Yield) -> None:
        self._hit("generators (`yield`) are not supported", node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        attr = node.attr.value
        if attr.startswith("__") and not attr.endswith("__"):
            self._hit(f"name-mangled attributes (`.{attr}`) are not supported", node)


class _Cycle(Exception):
    pass


class _NameUses(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.nodes: list[cst.Name] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)
        self.nodes.append(node)


def _params_rebound_first(
    func: cst.FunctionDef | cst.Lambda, params: set[str]
) -> tuple[set[str], dict[int, cst.Name]]:
    """Parameters that the function body rebinds, at its top level, before any other use
    (`x = tf.convert_to_tensor(x)`): the parameter's own value is never seen afterwards but
    in the rebinding statement's value, whose reads of it (by node id) come second."""
    reads: dict[int, cst.Name] = {}
    if not isinstance(func, cst.FunctionDef) or not isinstance(func.body, cst.IndentedBlock):
        return set(), reads
    rebinding: dict[int, list[str]] = {}  # top-level statements assigning a param: the names
    values: dict[int, list[cst.BaseExpression]] = {}  # and the values they assign
    for index, stmt in enumerate(func.body.body):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign | cst.AnnAssign) and small.value is not None:
                    targets = (
                        [t.target for t in small.targets]
                        if isinstance(small, cst.Assign)
                        else [small.target]
                    )
                    assigned = [
                        t.value for t in targets if isinstance(t, cst.Name) and t.value in params
                    ]
                    if assigned:
                        rebinding.setdefault(index, []).extend(assigned)
                        values.setdefault(index, []).append(small.value)
    shadowed: set[str] = set()
    if not rebinding:
        return shadowed, reads  # most functions: no walk at all
    seen: set[str] = set()
    for index, stmt in enumerate(func.body.body[: max(rebinding) + 1]):
        fresh = {n for n in rebinding.get(index, ()) if n not in seen}
        shadowed |= fresh
        for value in values.get(index, ()) if fresh else ():
            in_value = _NameUses()
            walk(value, in_value)
            reads.update((id(n), n) for n in in_value.nodes if n.value in fresh)
        uses = _NameUses()
        walk(stmt, uses)
        seen |= uses.names
    return shadowed, reads


def _decorator_callee(decorator: cst.Decorator) -> cst.BaseExpression:
    expr = decorator.decorator
    return expr.func if isinstance(expr, cst.Call) else expr


def _func_name(func: cst.FunctionDef | cst.Lambda) -> str:
    return func.name.value if isinstance(func, cst.FunctionDef) else "<lambda>"


def _all_params(func: cst.FunctionDef | cst.Lambda) -> list[cst.Param]:
    p = func.params
    out = [*p.posonly_params, *p.params, *p.kwonly_params]
    if isinstance(p.star_arg, cst.Param):
        out.append(p.star_arg)
    if p.star_kwarg is not None:
        out.append(p.star_kwarg)
    return out


# ---------------------------------------------------------------------- presumed tensors
# What TensorFlow hands a tf.function (checked on TF 2.21): a NumPy array argument becomes a
# symbolic tensor inside (`np.clip(x, 0, 1)` raises `NotImplementedError`, `x.numpy()`
# `AttributeError`), while a list stays a list and a Python int, float or bool stays one.
# Attributes of a tensor (a use of any other attribute says the parameter is some object).
_TENSOR_ATTRS = frozenset(
    {
        *_PY_ATTRS,
        *_PY_METHODS_OF_TENSOR,
        "set_shape",
        "value_index",
        "consumers",
        "ref",
        "experimental_ref",
        "eval",
        "__getitem__",
    }
)
_LOSS_PARAMS = names.LOSS_PARAMS
_FLAG_PARAMS = names.FLAG_PARAMS
_PYTHON_CHECKS = frozenset(f"builtins.{n}" for n in names.PYTHON_CHECKS)
_ITERATING_BUILTINS = frozenset(f"builtins.{n}" for n in names.ITERATING_BUILTINS)


class _PythonUses(cst.CSTVisitor):
    """Parameters that the body uses as something other than a tensor: an object with
    attributes a tensor lacks (`cfg.lr`, `xs.append`), a callable, a dict (`x["key"]`), a
    sequence unpacked (`a, b = x`, `f(*x)`) or iterated (`for a in x`, a comprehension over
    it, `zip(x, y)`, `range(n)`: a list of tensors or layers, or a count, more often than a
    tensor; the terms of a `range(n - k - 1)` bound are counts too), a flag (`if x:`, `not
    x`), a value checked for its type or for None (`isinstance(x, ...)`, `x is None`), or a
    string (`x == "train"`). Nested functions are walked: they see the same parameters."""

    def __init__(self, params: set[str], qualnames: QualNames) -> None:
        self.params = params
        self.qualnames = qualnames
        self.python: set[str] = set()
        # `xs = inputs` (or a slice, `rest = inputs[2:]`): a plain copy of a parameter, used
        # as the parameter is.
        self.aliases: dict[str, str] = {}

    def _param(self, expr: cst.BaseExpression | None) -> str | None:
        if isinstance(expr, cst.Name):
            if expr.value in self.params:
                return expr.value
            return self.aliases.get(expr.value)
        return None

    def _mark(self, expr: cst.BaseExpression | None) -> None:
        name = self._param(expr)
        if name is not None:
            self.python.add(name)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value not in _TENSOR_ATTRS:
            self._mark(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        self._mark(node.func)
        for arg in node.args:
            if arg.star:
                self._mark(arg.value)
        if node.args:
            qns = self.qualnames(node.func)
            if qns & _PYTHON_CHECKS:
                self._mark(node.args[0].value)
            elif qns & _ITERATING_BUILTINS:
                for arg in node.args:
                    self._mark_iterated(arg.value)
                    if "builtins.range" in qns:
                        self._mark_counts(arg.value)

    def _mark_iterated(self, expr: cst.BaseExpression) -> None:
        """A parameter iterated, or a slice of it (`zip(layers, inputs[1:])`: a list of
        tensors more often than a tensor)."""
        self._mark(expr)
        if isinstance(expr, cst.Subscript) and all(
            isinstance(el.slice, cst.Slice) for el in expr.slice
        ):
            self._mark(expr.value)

    def _mark_counts(self, expr: cst.BaseExpression) -> None:
        """The parameters of an arithmetic `range` bound (`range(ndims - dim - 1)`): counts
        (an attribute or subscript, `x.shape[0]`, says nothing about `x`)."""
        if isinstance(expr, cst.BinaryOperation):
            self._mark_counts(expr.left)
            self._mark_counts(expr.right)
        elif isinstance(expr, cst.UnaryOperation):
            self._mark_counts(expr.expression)
        else:
            self._mark(expr)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(
                index.value, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString
            ):
                self._mark(node.value)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        operands = [node.left, *(t.comparator for t in node.comparisons)]
        if any(isinstance(t.operator, cst.Is | cst.IsNot) for t in node.comparisons) or any(
            isinstance(o, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString)
            for o in operands
        ):
            for o in operands:
                self._mark(o)

    def _unpacked(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Tuple | cst.List):
            self._mark(value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self._unpacked(t.target, node.value)
        value = node.value
        if isinstance(value, cst.Subscript) and all(
            isinstance(e.slice, cst.Slice) for e in value.slice
        ):
            value = value.value  # `rest = inputs[2:]`: a slice is used as the sequence is
        source = self._param(value)
        if source is not None and len(node.targets) == 1:
            target = node.targets[0].target
            if isinstance(target, cst.Name) and target.value not in self.params:
                self.aliases[target.value] = source

    def visit_For(self, node: cst.For) -> None:
        self._mark_iterated(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._mark_iterated(node.iter)

    def _truth(self, test: cst.BaseExpression) -> None:
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            self._truth(test.expression)
        elif isinstance(test, cst.BooleanOperation):
            self._truth(test.left)
            self._truth(test.right)
        else:
            self._mark(test)

    def visit_If(self, node: cst.If) -> None:
        self._truth(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._truth(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._truth(node.test)

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        if isinstance(node.operator, cst.Not):
            self._truth(node.expression)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        self._truth(node.left)
        self._truth(node.right)


def _python_literal(expr: cst.BaseExpression, module_constants: frozenset[str]) -> bool:
    """A value a caller writes that TensorFlow passes in as a Python value (a number, a
    string, a list, tuple, dict or set display, `True`/`False`/`None`, a lambda), or a
    module-level constant."""
    if isinstance(expr, cst.UnaryOperation):
        return _python_literal(expr.expression, module_constants)
    if isinstance(expr, cst.Name):
        return expr.value in ("True", "False", "None") or expr.value in module_constants
    return isinstance(
        expr,
        cst.Integer
        | cst.Float
        | cst.Imaginary
        | cst.SimpleString
        | cst.ConcatenatedString
        | cst.FormattedString
        | cst.List
        | cst.Tuple
        | cst.Dict
        | cst.Set
        | cst.ListComp
        | cst.DictComp
        | cst.SetComp
        | cst.Lambda,
    )


class _CallSites(cst.CSTVisitor):
    """Every call in a module by the called name (`f(...)`, `self.f(...)`, `obj.f(...)`),
    and the names bound to a call that takes a name first (`g = tf.function(f)`)."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[cst.Call, bool]]] = {}  # name -> (call, via attribute)
        self.wrappers: dict[str, set[str]] = {}  # f -> {g}

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            self.calls.setdefault(func.value, []).append((node, False))
        elif isinstance(func, cst.Attribute):
            self.calls.setdefault(func.attr.value, []).append((node, True))

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if isinstance(value, cst.Call) and value.args and isinstance(value.args[0].value, cst.Name):
            wrapped = value.args[0].value.value
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    self.wrappers.setdefault(wrapped, set()).add(t.target.value)


_call_sites_cache: list[tuple[cst.Module, _CallSites]] = []


def _module_call_sites(module: cst.Module) -> _CallSites:
    """The call index of `module`, for the last module asked (files are linted one at a
    time)."""
    if _call_sites_cache and _call_sites_cache[0][0] is module:
        return _call_sites_cache[0][1]
    sites = _CallSites()
    walk(module, sites)
    _call_sites_cache[:] = [(module, sites)]
    return sites


def call_site_arguments(
    func: cst.FunctionDef, module: cst.Module
) -> Iterator[tuple[cst.Call, str, cst.BaseExpression]]:
    """The calls in `module` that may call `func` by its name (`f(...)`, or a name bound to
    `tf.function(f)`; a method or static method: `self.f(...)`, `obj.f(...)`), with each
    argument and the parameter it binds (`*args` and what follows them are not matched).
    `np.clip(...)` is no call of a module-level `clip`, nor `clip(...)` of a method."""
    sites = _module_call_sites(module)
    name = func.name.value
    positional = [p.name.value for p in (*func.params.posonly_params, *func.params.params)]
    method = bool(positional) and positional[0] in ("self", "cls")
    static = any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
        for d in func.decorators
    )
    for callee in sorted({name, *sites.wrappers.get(name, ())}):
        for call, via_attribute in sites.calls.get(callee, ()):
            if via_attribute and not (method or static):
                continue  # `np.clip(...)`: not the module's function `clip`
            if method and not via_attribute:
                continue  # `clip(...)`: not the method `clip`
            order = positional[1:] if method and via_attribute else positional
            for index, arg in enumerate(call.args):
                if arg.star:
                    break
                if arg.keyword is not None:
                    target: str | None = arg.keyword.value
                elif index < len(order):
                    target = order[index]
                else:
                    target = None
                if target is not None:
                    yield call, target, arg.value


def _python_at_call_sites(
    func: cst.FunctionDef,
    params: list[cst.Param],
    module: cst.Module,
    module_constants: frozenset[str],
) -> set[str]:
    """Parameters that a call in the same module passes a Python value to (`f(3)`,
    `f([1, 2])`, `f(x, training=True)`); TensorFlow keeps those Python."""
    wanted = {p.name.value for p in params}
    return {
        target
        for _, target, value in call_site_arguments(func, module)
        if target in wanted and _python_literal(value, module_constants)
    }


def presumed_tensor_params(
    func: cst.FunctionDef | cst.Lambda,
    ctx: CompiledContext | None,
    module: cst.Module,
    qualnames: QualNames,
    module_constants: frozenset[str] = frozenset(),
) -> frozenset[str]:
    """Parameters of a compiled body that hold a tensor unless something says otherwise:

    - every parameter without a default of a tf.function of this module (a NumPy array
      passed in becomes a tensor; only lists and Python scalars stay Python), except `self`
      and `cls`, `*args`/`**kwargs`, parameters annotated with a Python type, and flags by
      name (`training`, `mask`, `mode`);
    - the first argument of a Keras `call` (`inputs`);
    - `y_true` and `y_pred` of any compiled body (losses and metrics).

    A parameter is dropped when the body uses it as a Python value (`_PythonUses`) or a call
    in the same module passes it a Python literal (`f(3)`, `f([1, 2])`). Lambdas (whose
    callers are not looked up) have none."""
    if ctx is None or ctx.root_path is not None or not isinstance(func, cst.FunctionDef):
        return frozenset()  # a lambda: its callers are not looked up
    params = [*func.params.posonly_params, *func.params.params, *func.params.kwonly_params]
    positional = [*func.params.posonly_params, *func.params.params]
    receiver = bool(positional) and positional[0].name.value in ("self", "cls")
    candidates: list[cst.Param] = []
    for param in params:
        name = param.name.value
        if receiver and param is positional[0]:
            continue
        if name in _LOSS_PARAMS:
            candidates.append(param)
        elif ctx.kind is ContextKind.KERAS_CALL:
            first = positional[1] if receiver and len(positional) > 1 else None
            if param is first and param.default is None:
                candidates.append(param)
        elif ctx.is_root and param.default is None and name not in _FLAG_PARAMS:
            candidates.append(param)
    candidates = [p for p in candidates if not _annotated(p, qualnames)]
    if not candidates:
        return frozenset()
    names_ = {p.name.value for p in candidates}
    uses = _PythonUses(names_, qualnames)
    walk(func.body, uses)
    names_ -= uses.python
    if names_:
        names_ -= _python_at_call_sites(
            func, [p for p in candidates if p.name.value in names_], module, module_constants
        )
    return frozenset(names_)


def _annotated(param: cst.Param, qualnames: QualNames) -> bool:
    """A parameter with an annotation other than a tensor type (its kind is its own)."""
    if param.annotation is None:
        return False
    qns = qualnames(param.annotation.annotation)
    return not any(
        names.strip_tf_root(q) in ("Tensor", "types.experimental.TensorLike") for q in qns
    )
