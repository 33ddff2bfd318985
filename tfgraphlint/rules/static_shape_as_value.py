"""TFG404 static-shape-as-value."""

from __future__ import annotations

import re

import libcst as cst
from libcst.helpers import get_full_name_for_node

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.model import CompiledContext, ContextKind
from tfgraphlint.discovery.tensors import FunctionFacts
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, FileState, Rule

# TF ops that turn a Python shape into a tensor: the argument position and keyword of the
# shape (a `None` in it fails the trace on TF 2.21).
_SHAPE_OPS: dict[str, tuple[int, str]] = {
    "zeros": (0, "shape"),
    "ones": (0, "shape"),
    "fill": (0, "dims"),
    "reshape": (1, "shape"),
    "broadcast_to": (1, "shape"),
    "random.normal": (0, "shape"),
    "random.uniform": (0, "shape"),
    "random.truncated_normal": (0, "shape"),
    "random.stateless_normal": (0, "shape"),
    "random.stateless_uniform": (0, "shape"),
}
_SHAPE_OP_NAMES = {q: op for op in _SHAPE_OPS for q in names.under_tf(op)}
_RELAXING_OPTIONS = ("reduce_retracing", "experimental_relax_shapes")


class StaticShapeAsValue(Rule):
    """
    ## What it does
    Flags the static batch size `x.shape[0]` (or the whole static shape `x.shape`) of an input
    used as the shape of `tf.zeros`, `tf.ones`, `tf.fill`, `tf.reshape`, `tf.broadcast_to`
    or `tf.random.*`, where the batch size may be unknown (`None`) when the function is
    traced: a `tf.function` parameter whose `input_signature` has `None` there, a parameter
    of a `tf.function(reduce_retracing=True)`, the inputs that Keras passes to `train_step`
    (and to `call`, with `keras-call` on, unless the inputs a script or notebook applies the
    layer to at module level fix the batch size: `keras.Input(batch_shape=(16, ...))` or
    `batch_size=16`, a layer's output on one, or a concrete tensor; a layer it does not
    apply needs every `keras.Input(...)` of the module to fix it; a layer applied, or an
    input made, inside a function is not followed, and the finding stays).

    ## Why is this bad?
    `x.shape` is the shape TensorFlow knows while tracing, not the shape of the values. When
    the batch size is unknown it is `None`, and the op fails the trace: on TensorFlow 2.21,
    `tf.zeros([x.shape[0], 3])` raises "TypeError: Expected int32, but got None",
    `tf.reshape(x, (x.shape[0], -1))` "Failed to convert elements of (None, -1) to Tensor",
    `tf.ones(x.shape[0])` "ValueError: None values not supported", and
    `tf.random.normal(x.shape)` "ValueError: Cannot convert a partially known TensorShape
    (None, 3) to a Tensor". Keras hides it: `fit` traces the first batch with
    its concrete size, and only a smaller last batch makes it retrace with `None`.

    ## Example
    ```python
    @tf.function(input_signature=[tf.TensorSpec([None, 3])])
    def pad(x):
        return tf.concat([x, tf.zeros([x.shape[0], 1])], axis=1)
    ```

    ## Use instead
    The dynamic shape: `tf.shape(x)[0]` (a tensor, known when the function runs), or
    `tf.shape(x)` whole; `tf.zeros_like(x)` and `tf.random.normal(tf.shape(x))` work for
    every batch size.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Tracing" (shapes)
    - `tf.shape` reference ("static and dynamic shape")
    """

    CODE = "TFG404"
    NAME = "static-shape-as-value"
    SEVERITY = Severity.ERROR
    SUMMARY = "static batch size `x.shape[0]` used as an op's shape where it may be `None`"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 3])])
            def pad(x):
                return tf.concat([x, tf.zeros([tf.shape(x)[0], 1])], axis=1)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([8, 3])])
            def pad(x):
                return tf.concat([x, tf.zeros([x.shape[0], 1])], axis=1)  # 8: known
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 3])])
            def scale(x):
                return x * tf.ones([x.shape[-1]])  # the channel size is known
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def noisy(x):
                return x + tf.random.normal(x.shape)  # traced per shape: never None
            """
        ),
        Valid(
            """
            import keras
            import tensorflow as tf

            class Pad(keras.layers.Layer):
                def call(self, inputs):
                    return tf.concat([inputs, tf.zeros([inputs.shape[0], 1])], axis=1)

            inputs = keras.Input(batch_shape=(4, 3))  # the only input: a batch of 4
            model = keras.Model(inputs, Pad()(inputs))

            @tf.function(input_signature=[tf.TensorSpec([4, 3])])
            def predict(x):
                return model(x)
            """,
            keras_call=True,
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 3])])
            def pad(x):
                return tf.concat([x, tf.zeros([x.shape[0], 1])], axis=1)  # error: TFG404
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
            def mask(ids):
                return tf.ones(ids.shape[0], tf.bool)  # error: TFG404
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(reduce_retracing=True)
            def noisy(x):
                return x + tf.random.normal(x.shape)  # error: TFG404
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Net(tf.keras.Model):
                def __init__(self):
                    super().__init__()
                    self.dense = tf.keras.layers.Dense(1)

                def train_step(self, data):
                    x, y = data
                    flat = tf.reshape(x, (x.shape[0], -1))  # error: TFG404
                    with tf.GradientTape() as tape:
                        loss = tf.reduce_mean((self.dense(flat) - y) ** 2)
                    grads = tape.gradient(loss, self.trainable_variables)
                    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                    return {"loss": loss}
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            class Net(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.dense = keras.layers.Dense(1)

                def call(self, inputs):
                    bias = tf.zeros([inputs.shape[0], 1])  # error: TFG404
                    return self.dense(inputs) + bias
            """,
            keras_call=True,
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self._inputs: _Inputs | None = None

    def visit_Call(self, node: cst.Call) -> None:
        op = next(
            (_SHAPE_OP_NAMES[q] for q in sorted(self.qualnames(node.func)) if q in _SHAPE_OP_NAMES),
            None,
        )
        if op is None:
            return
        shape = _argument(node, *_SHAPE_OPS[op])
        if shape is None:
            return
        if isinstance(shape, cst.List | cst.Tuple):
            candidates = [
                (el.value, False) for el in shape.elements if _batch_dim_of(el.value) is not None
            ]
        elif _batch_dim_of(shape) is not None:
            candidates = [(shape, False)]  # `tf.ones(x.shape[0])`: a 1-D shape
        else:
            candidates = [(shape, True)] if _whole_shape_of(shape) is not None else []
        if not candidates:
            return
        ctx = self.compiled_context(node)
        facts = self.facts(node)
        if ctx is None or facts is None:
            return
        for expr, whole in candidates:
            base = _whole_shape_of(expr) if whole else _batch_dim_of(expr)
            assert base is not None
            why = self._unknown_batch(base, ctx, facts)
            if why is None:
                continue
            fix = f"tf.shape({base})" if whole else f"tf.shape({base})[0]"
            what = "has a `None` batch size" if whole else "may be `None`"
            self.report(
                expr,
                f"`{self.code(expr)}` {what} when `tf.{op}` is traced ({why}); use `{fix}`",
                context=ctx,
            )

    def _unknown_batch(self, base: str, ctx: CompiledContext, facts: FunctionFacts) -> str | None:
        """Why the batch size of the input named `base` may be unknown while tracing, or None
        when it is known or we cannot tell."""
        if ctx.kind is ContextKind.KERAS_STEP:
            if _from_keras_data(base, facts):
                return "Keras traces the step again with a `None` batch for a smaller batch"
            return None
        if not facts.is_param(base):
            return None
        func = facts.func
        if not isinstance(func, cst.FunctionDef):
            return None
        params = [p.name.value for p in func.params.params]
        if ctx.kind is ContextKind.KERAS_CALL:
            first = params[1] if len(params) > 1 and params[0] == "self" else None
            if base == first and not self._fixed_batch_inputs(func):
                return "Keras traces `call` with a `None` batch for a smaller or symbolic batch"
            return None
        if not ctx.is_root:
            return None
        options = dict(ctx.options)
        if ctx.has_input_signature:
            sig = options.get("input_signature")
            if sig is None or base not in ctx.signature_params:
                return None
            if params and params[0] == "self":
                params = params[1:]
            if _signature_batch_is_none(sig, params.index(base)):
                return "its `input_signature` has `None` there"
            return None
        if any(options.get(key) == "True" for key in _RELAXING_OPTIONS):
            return "`reduce_retracing` traces it again with `None` for a new batch size"
        return None

    def _fixed_batch_inputs(self, func: cst.FunctionDef) -> bool:
        """Whether the inputs the layer of `call` method `func` is applied to all have a
        fixed batch size (`keras.Input(batch_shape=(16, 10))`, `keras.Input((10,),
        batch_size=16)`, a module constant for the 16): the layer then never sees `None`
        (checked on TF 2.21). Where the module applies the class to a name bound to
        `keras.Input(...)` (`Layer()(inputs)`, `layer = Layer()` then `layer(inputs)`), those
        inputs are read (the binding last written before the application); where it does
        not, every `keras.Input(...)` of the module must fix the batch size.

        Only module-level statements count (a script's or a notebook's), and only when the
        file's whole text makes no input and applies no such class inside a block: the
        slicer may blank code in functions, and findings must not depend on it."""
        cls = self._class_of(func)
        if cls is None:
            return False
        text = self.state.text or self.state.module.code
        if _in_block(cls.name.value).search(text):
            return False  # applied in a function too: not every application is seen
        if self._inputs is None:
            self._inputs = _Inputs(self)
            for stmt in self.state.module.body:
                if not isinstance(stmt, cst.FunctionDef | cst.ClassDef):
                    walk(stmt, self._inputs)
        inputs = self._inputs
        applied = inputs.applied.get(cls.name.value, [])
        if applied:
            return all(applied)
        if _in_block("Input").search(text):
            return False  # an input made in a function: not every input is seen
        return inputs.count > 0 and inputs.count == inputs.fixed_count

    def _class_of(self, func: cst.FunctionDef) -> cst.ClassDef | None:
        block = self.parent(func)
        cls = self.parent(block) if block is not None else None
        return cls if isinstance(cls, cst.ClassDef) else None


class _Inputs(cst.CSTVisitor):
    """The module's `keras.Input(...)` calls (how many, how many fix the batch size), and
    for each class name, whether the inputs it is applied to fix it."""

    def __init__(self, rule: StaticShapeAsValue) -> None:
        self.rule = rule
        self.count = 0
        self.fixed_count = 0
        self.bound: dict[str, bool | None] = {}  # name -> its last `keras.Input` fixes it
        self.layers: dict[str, str] = {}  # name bound to `Cls(...)` -> "Cls"
        self.applied: dict[str, list[bool]] = {}  # "Cls" -> per application: fixed batch

    def _is_input(self, call: cst.Call) -> bool:
        return any(
            qn.rsplit(".", 1)[-1] == "Input" and "keras" in qn.split(".")
            for qn in self.rule.qualnames(call.func)
        )

    def _fixes_batch(self, call: cst.Call) -> bool:
        constants = self.rule.module_constants()

        def known(value: cst.BaseExpression) -> bool:
            return isinstance(value, cst.Integer) or (
                isinstance(value, cst.Name) and value.value in constants
            )

        for arg in call.args:
            if arg.keyword is None:
                continue
            value = arg.value
            if arg.keyword.value == "batch_size" and known(value):
                return True
            if (
                arg.keyword.value == "batch_shape"
                and isinstance(value, cst.Tuple | cst.List)
                and value.elements
                and known(value.elements[0].value)
            ):
                return True
        return False

    def visit_Call(self, node: cst.Call) -> None:
        if self._is_input(node):
            self.count += 1
            self.fixed_count += self._fixes_batch(node)
            return
        func = node.func
        cls: str | None = None
        if isinstance(func, cst.Call) and isinstance(func.func, cst.Name):
            cls = func.func.value  # `Layer(...)(inputs)`
        elif isinstance(func, cst.Name):
            cls = self.layers.get(func.value)  # `layer(inputs)`
        if cls is None or not node.args:
            return
        self.applied.setdefault(cls, []).append(self._fixed(node.args[0].value))

    def _fixed(self, arg: cst.BaseExpression) -> bool:
        """Whether an argument a layer is applied to has a fixed batch size: a name bound
        to such an input (or to a layer's output on one), such an input written in place,
        or a concrete TensorFlow or NumPy value (`tf.zeros((1, 10, 5))`, eager code)."""
        if isinstance(arg, cst.Name):
            return bool(self.bound.get(arg.value))
        if isinstance(arg, cst.Call):
            if self._is_input(arg):
                return self._fixes_batch(arg)
            return any(
                names.strip_tf_root(qn) is not None or qn.startswith("numpy.")
                for qn in self.rule.qualnames(arg.func)
            ) and not any("keras" in qn.split(".") for qn in self.rule.qualnames(arg.func))
        return False

    def leave_Assign(self, original_node: cst.Assign) -> None:
        value = original_node.value
        for target in original_node.targets:
            if not isinstance(target.target, cst.Name):
                continue
            name = target.target.value
            self.bound.pop(name, None)
            self.layers.pop(name, None)
            if not isinstance(value, cst.Call):
                continue
            if self._is_input(value):
                self.bound[name] = self._fixes_batch(value)
            elif value.args and (
                isinstance(value.func, cst.Call)  # `x = layers.Conv1D(32, 3)(inputs)`
                or (isinstance(value.func, cst.Name) and value.func.value in self.layers)
            ):
                first = value.args[0].value  # a layer keeps the batch size of its input
                if isinstance(first, cst.Name) and first.value in self.bound:
                    self.bound[name] = self.bound[first.value]
            elif isinstance(value.func, cst.Name):
                self.layers[name] = value.func.value


def _in_block(name: str) -> re.Pattern[str]:
    """An indented line (code in a function or a block) that calls `name`."""
    return re.compile(rf"^[ \t]+[^#\n]*\b{re.escape(name)}\s*\(", re.MULTILINE)


def _argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if len(positional) > index and all(not a.star for a in call.args[: index + 1]):
        return positional[index].value
    return None


def _whole_shape_of(expr: cst.BaseExpression) -> str | None:
    """`x` for `x.shape` (a plain name)."""
    if (
        isinstance(expr, cst.Attribute)
        and expr.attr.value == "shape"
        and isinstance(expr.value, cst.Name)
    ):
        return expr.value.value
    return None


def _batch_dim_of(expr: cst.BaseExpression) -> str | None:
    """`x` for `x.shape[0]`."""
    if not isinstance(expr, cst.Subscript) or len(expr.slice) != 1:
        return None
    index = expr.slice[0].slice
    if not (
        isinstance(index, cst.Index)
        and isinstance(index.value, cst.Integer)
        and index.value.value == "0"
    ):
        return None
    return _whole_shape_of(expr.value)


def _from_keras_data(base: str, facts: FunctionFacts) -> bool:
    """Whether `base` is the data a Keras step receives, or a name only ever bound by
    unpacking it (`x, y = data`) or indexing it (`x = data[0]`)."""
    func = facts.func
    if not isinstance(func, cst.FunctionDef):
        return False
    params = [p.name.value for p in func.params.params]
    if len(params) != 2:
        return False
    data = params[1]
    if base == data:
        return facts.is_param(data)
    values = facts.bindings_of(base)
    if not values:
        return False
    for value in values:
        if isinstance(value, cst.Subscript):
            value = value.value
        if not (isinstance(value, cst.Name) and value.value == data and facts.is_param(data)):
            return False
    return True


def _signature_batch_is_none(signature: str, position: int) -> bool:
    """Whether the `position`-th spec of an `input_signature` (its source text) is a
    `TensorSpec` whose shape starts with a literal `None`."""
    try:
        sig = cst.parse_expression(signature)
    except cst.ParserSyntaxError:
        return False
    if not isinstance(sig, cst.List | cst.Tuple) or position >= len(sig.elements):
        return False
    spec = sig.elements[position].value
    if not isinstance(spec, cst.Call):
        return False
    name = get_full_name_for_node(spec.func) or ""
    if name.split(".")[-1] != "TensorSpec":
        return False
    shape = _argument(spec, 0, "shape")
    return (
        isinstance(shape, cst.List | cst.Tuple)
        and bool(shape.elements)
        and isinstance(shape.elements[0].value, cst.Name)
        and shape.elements[0].value.value == "None"
    )
