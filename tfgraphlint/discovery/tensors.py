"""Tensor or Python value? A small three-valued inference every rule shares.

- results of `tf.*` ops and tensor methods are tensors;
- parameters covered by an `input_signature` (or annotated `tf.Tensor`) are tensors;
- literals, `len()`, `.shape[i]`, `isinstance()` and `range` indices of Python loops are Python
  values;
- everything else is unknown.

It is flow-insensitive per function (a name takes the kind all its assignments agree on) and
deliberately shallow: rules fire at full severity only on TENSOR, and say "if `x` is a tensor"
(or stay silent) on UNKNOWN.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

import libcst as cst

from tfgraphlint.discovery import names
from tfgraphlint.discovery.model import CompiledContext


class Kind(enum.Enum):
    TENSOR = "tensor"
    PYTHON = "python"
    UNKNOWN = "unknown"


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


# TF API names (without the `tensorflow.` root) that do not return a tensor.
_NON_TENSOR_PREFIXES = (
    "function",
    "keras.",
    "data.",
    "config.",
    "distribute.",
    "nest.",
    "TensorShape",
    "TensorSpec",
    "RaggedTensorSpec",
    "SparseTensorSpec",
    "DType",
    "dtypes.as_dtype",
    "dtypes.DType",
    "as_dtype",
    "executing_eagerly",
    "is_tensor",
    "is_symbolic_tensor",
    "get_static_value",
    "print",
    "debugging.",
    "summary.",
    "io.gfile",
    "saved_model.",
    "train.",
    "autograph.",
    "compat.",
    "Module",
    "name_scope",
    "device",
    "control_dependencies",
    "init_scope",
    "GradientTape",
    "TensorArray",
    "random.Generator",
    "random.set_seed",
    "random.get_global_generator",
    "group",
    "no_op",
    "get_logger",
    "sysconfig.",
    "test.",
    "errors.",
    "estimator.",
    "lite.",
    "types.",
    "while_loop",
    "cond",
    "case",
    "switch_case",
    "tuple",
    "make_ndarray",
    "make_tensor_proto",
    "CriticalSection",
    "Graph",
    "experimental.",
    "xla.",
    "tpu.",
    "feature_column.",
    "queue.",
    "lookup.",
    "quantization.",
    "mlir.",
    "profiler.",
    "version.",
    "register_tensor_conversion_function",
    "custom_gradient",
    "recompute_grad",
    "function",
    "numpy_function",  # may return a list
    "py_function",  # may return a list
    "vectorized_map",
    "map_fn",
    "scan",
)
# Ops that return a Python list of tensors.
_PYTHON_LIST_OPS = frozenset(
    {"unstack", "split", "meshgrid", "gradients", "dynamic_partition", "py_func"}
)
_TENSOR_NAMESPACES = (
    "math.",
    "linalg.",
    "nn.",
    "random.",
    "image.",
    "strings.",
    "signal.",
    "sparse.",
    "ragged.",
    "bitwise.",
    "dtypes.cast",
    "audio.",
    "raw_ops.",
)
_TENSOR_CLASSES = frozenset({"Variable", "RaggedTensor", "SparseTensor", "constant"})
_PY_METHODS_OF_TENSOR = frozenset(
    {"get_shape", "as_list", "num_elements", "is_fully_defined", "numpy", "_numpy"}
)
_PY_ATTRS = frozenset({"shape", "dtype", "ndim", "rank", "name", "device", "op", "graph"})
_PY_BUILTINS = frozenset(
    {
        "builtins.len",
        "builtins.isinstance",
        "builtins.issubclass",
        "builtins.hasattr",
        "builtins.callable",
        "builtins.str",
        "builtins.repr",
        "builtins.type",
        "builtins.id",
        "builtins.list",
        "builtins.tuple",
        "builtins.dict",
        "builtins.set",
        "builtins.sorted",
    }
)
_CASTING_BUILTINS = frozenset({"builtins.int", "builtins.float", "builtins.bool", "builtins.abs"})


def tf_call_kind(qualname: str) -> Kind | None:
    """Kind of the value a TF API call returns; None when `qualname` is not TF."""
    if qualname.startswith("keras.ops.") or qualname.startswith("keras.src.ops."):
        return Kind.TENSOR
    rest = names.strip_tf_root(qualname)
    if rest is None:
        return None
    if rest.startswith("keras.ops."):
        return Kind.TENSOR
    if rest in _TENSOR_CLASSES:
        return Kind.TENSOR
    if rest.split(".")[-1] in _PYTHON_LIST_OPS:
        return Kind.PYTHON
    if rest.startswith(_NON_TENSOR_PREFIXES):
        return Kind.UNKNOWN
    if rest.startswith(_TENSOR_NAMESPACES):
        return Kind.TENSOR
    if "." not in rest and rest[:1].islower():
        return Kind.TENSOR
    return Kind.UNKNOWN


QualNames = Callable[[cst.CSTNode], set[str]]


class _BodyBindings(cst.CSTVisitor):
    """Name bindings in one function body, not descending into nested scopes."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.root = root
        self.bindings: dict[str, list[tuple[str, cst.BaseExpression | None]]] = {}

    def _bind(self, target: cst.BaseExpression, how: str, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            self.bindings.setdefault(target.value, []).append((how, value))
        elif isinstance(target, cst.Tuple | cst.List):
            for el in target.elements:
                # Unpacking loses the per-element kind, except unpacking a tensor (rows).
                self._bind(el.value, "unpack" if how == "assign" else how, value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.root

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return node is self.root

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

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


class FunctionFacts:
    """Kinds of names and expressions inside one compiled function."""

    def __init__(
        self,
        func: cst.FunctionDef | cst.Lambda,
        ctx: CompiledContext | None,
        qualnames: QualNames,
        module_constants: frozenset[str] = frozenset(),
        outer: FunctionFacts | None = None,
    ) -> None:
        self.func = func
        self.ctx = ctx
        self.qualnames = qualnames
        self.module_constants = module_constants
        self.outer = outer
        collector = _BodyBindings(func)
        func.visit(collector)
        self._bindings = collector.bindings
        self._params: dict[str, Kind] = {}
        for param in _all_params(func):
            self._params[param.name.value] = self._param_kind(param)
        self._cache: dict[str, Kind] = {}
        self._in_progress: set[str] = set()

    @property
    def param_names(self) -> list[str]:
        return list(self._params)

    def is_param(self, name: str) -> bool:
        return name in self._params and name not in self._bindings

    def _param_kind(self, param: cst.Param) -> Kind:
        name = param.name.value
        if self.ctx is not None and name in self.ctx.signature_params:
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
            if name in self._params:
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
            return self.kind(value)
        if how == "unpack":
            return Kind.TENSOR if self.kind(value) is Kind.TENSOR else Kind.UNKNOWN
        if how == "iter":
            return self.element_kind(value)
        return Kind.UNKNOWN

    def element_kind(self, iterable: cst.BaseExpression) -> Kind:
        """Kind of the loop variable of `for x in iterable`."""
        if self.is_range_call(iterable):
            assert isinstance(iterable, cst.Call)
            return any_tensor(self.kind(a.value) for a in iterable.args)
        if self.kind(iterable) is Kind.TENSOR:
            return Kind.TENSOR
        return Kind.UNKNOWN

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
        if isinstance(iterable, cst.List | cst.Tuple | cst.Dict | cst.Set):
            return Kind.PYTHON
        if isinstance(iterable, cst.Call) and self.qualnames(iterable.func) & {
            "builtins.enumerate",
            "builtins.zip",
            "builtins.reversed",
            "builtins.sorted",
        }:
            # Not overloaded for tensors: a Python loop (or an error over a tensor).
            return Kind.PYTHON
        return self.kind(iterable)

    def kind(self, expr: cst.BaseExpression) -> Kind:
        try:
            return self._kind(expr)
        except _Cycle:
            return Kind.UNKNOWN

    def _kind(self, expr: cst.BaseExpression) -> Kind:
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
            return self.name_kind(expr.value)
        if isinstance(expr, cst.Call):
            return self._call_kind(expr)
        if isinstance(expr, cst.Attribute):
            if expr.attr.value in _PY_ATTRS:
                return Kind.PYTHON
            return Kind.UNKNOWN
        if isinstance(expr, cst.Subscript):
            base = self._kind(expr.value)
            if base is Kind.TENSOR:
                return Kind.TENSOR
            if isinstance(expr.value, cst.Attribute) and expr.value.attr.value == "shape":
                return Kind.PYTHON
            return Kind.UNKNOWN
        if isinstance(expr, cst.BinaryOperation):
            return any_tensor((self._kind(expr.left), self._kind(expr.right)))
        if isinstance(expr, cst.UnaryOperation):
            return self._kind(expr.expression)
        if isinstance(expr, cst.BooleanOperation):
            return any_tensor((self._kind(expr.left), self._kind(expr.right)))
        if isinstance(expr, cst.Comparison):
            if any(
                isinstance(t.operator, cst.Is | cst.IsNot | cst.In | cst.NotIn)
                for t in expr.comparisons
            ):
                return Kind.PYTHON
            return any_tensor(
                [self._kind(expr.left), *(self._kind(t.comparator) for t in expr.comparisons)]
            )
        if isinstance(expr, cst.IfExp):
            return combine((self._kind(expr.body), self._kind(expr.orelse)))
        return Kind.UNKNOWN

    def _call_kind(self, call: cst.Call) -> Kind:
        qns = self.qualnames(call.func)
        if qns & _PY_BUILTINS:
            if (
                "builtins.len" in qns
                and call.args
                and self._kind(call.args[0].value) is Kind.TENSOR
            ):
                return Kind.UNKNOWN  # a static dim, or tf.shape(t)[0] when it is dynamic
            return Kind.PYTHON
        if qns & _CASTING_BUILTINS:
            return any_tensor(self._kind(a.value) for a in call.args) if call.args else Kind.PYTHON
        if "builtins.range" in qns:
            return Kind.PYTHON
        for qn in qns:
            k = tf_call_kind(qn)
            if k is not None:
                return k
            if qn.startswith("numpy.") or qn.startswith("math."):
                return Kind.PYTHON
        func = call.func
        if isinstance(func, cst.Attribute):
            receiver = self._kind(func.value)
            if receiver is Kind.TENSOR:
                return Kind.PYTHON if func.attr.value in _PY_METHODS_OF_TENSOR else Kind.TENSOR
            if func.attr.value == "as_list":
                return Kind.PYTHON
        return Kind.UNKNOWN


class _Cycle(Exception):
    pass


def _all_params(func: cst.FunctionDef | cst.Lambda) -> list[cst.Param]:
    p = func.params
    out = [*p.posonly_params, *p.params, *p.kwonly_params]
    if isinstance(p.star_arg, cst.Param):
        out.append(p.star_arg)
    if p.star_kwarg is not None:
        out.append(p.star_kwarg)
    return out
