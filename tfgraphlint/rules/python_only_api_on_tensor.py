"""TFG405 python-only-api-on-tensor."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.engine.rule import Confirmation, Rule

# Builtins that need a concrete value and fail on a symbolic tensor even under AutoGraph.
_ALWAYS = {"builtins.bool": "bool", "builtins.iter": "iter"}
# Builtins that AutoGraph converts to graph ops (`len` -> `tf.shape`, `int` -> `tf.cast`), and
# that fail on a symbolic tensor only where AutoGraph does not convert the code.
_UNCONVERTED = {"builtins.len": "len", "builtins.int": "int", "builtins.float": "float"}
_CONSTANT = names.under_tf("constant")
_ONE_TENSOR = names.under_tf(*names.ONE_TENSOR_OPS)


class PythonOnlyApiOnTensor(Rule):
    """
    ## What it does
    Flags a tensor passed where Python needs a concrete value, in a compiled body:
    `tf.constant(t)`, `bool(t)` and `iter(t)` anywhere, and `len(t)`, `int(t)` and
    `float(t)` where AutoGraph does not convert the code (Keras `train_step`, `autograph=False`,
    `do_not_convert`). Only values known to be tensors (results of TF ops, parameters an
    `input_signature` covers) are flagged. Also flags unpacking one tensor into names
    (`b, h, w, c = tf.shape(x)`), when the value is surely one tensor (the result of a TF
    function that returns one, not of `tf.nn.moments` or `tf.while_loop`, which return tuples).

    ## Why is this bad?
    While tracing, a tensor is symbolic: it has no value for Python to read. On TensorFlow
    2.21, `tf.constant(t)` raises "TypeError: Expected any non-tensor type, but got a tensor
    instead"; `bool(t)` and `iter(t)` raise `OperatorNotAllowedInGraphError` even with
    AutoGraph; without AutoGraph `len(t)` raises "len is not well defined for a symbolic
    Tensor" and `int(t)`/`float(t)` a `TypeError` ("not 'SymbolicTensor'"). AutoGraph turns
    `len`, `int` and `float` into graph ops, so they only fail where it does not convert.
    Unpacking iterates the tensor, which no graph allows, with AutoGraph or without and even
    when the shape is known: "OperatorNotAllowedInGraphError: Iterating over a symbolic
    `tf.Tensor` is not allowed" (TensorFlow 2.15 and 2.21).

    ## Example
    ```python
    @tf.function
    def scale(x):
        total = tf.reduce_sum(x)
        return x / tf.constant(total)
    ```

    ## Use instead
    Graph ops: `tf.convert_to_tensor(t)` or `tf.identity(t)` for `tf.constant(t)`,
    `tf.shape(t)[0]` for `len(t)`, `tf.cast(t, tf.int32)` for `int(t)`, a tensor comparison
    in `tf.cond` (or an AutoGraph `if`) for `bool(t)`, `tf.unstack` or a `tf.range` loop for
    `iter(t)`, indexing (`t[0]`, `t[1]`) or `tf.unstack(t, num=4)` for unpacking.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "AutoGraph transformations"
    - AutoGraph reference, "Limitations" (Python builtins on tensors)
    """

    CODE = "TFG405"
    NAME = "python-only-api-on-tensor"
    SEVERITY = Severity.ERROR
    SUMMARY = (
        "`tf.constant(t)`, `bool(t)`, `iter(t)` (and `len`/`int`/`float` unconverted) on a tensor"
    )

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x):
                total = tf.reduce_sum(x)
                return x / tf.convert_to_tensor(total)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
            def first(x):
                n = len(x)  # AutoGraph: tf.shape(x)[0]
                k = int(tf.reduce_sum(x))  # AutoGraph: tf.cast
                return x[: n - 1], k
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def rows(x):
                return tf.zeros([len([1, 2]), int(x.shape[-1])])  # Python values
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3])])
            def normalise(images):
                height, width = images.shape[1:3]  # a static TensorShape: Python ints
                mean, variance = tf.nn.moments(images, axes=[0])  # a tuple of tensors
                shape = tf.shape(images)
                batch, rest = shape[0], shape[1:]  # indexing, not unpacking
                return (images - mean) / tf.sqrt(variance + 1e-6), batch, height * width
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def clip_count(scores, max_boxes=50):
                max_boxes = tf.constant(max_boxes, dtype=tf.int32)  # reads the Python int
                return tf.minimum(tf.size(scores), max_boxes)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([5, 2, 4])], autograph=False)
            def best_path(logits):
                # a Python list of sparse tensors, and a tensor (TF 1's RNN drivers, such as
                # `tf.compat.v1.nn.bidirectional_dynamic_rnn`, return tuples too)
                decoded, scores = tf.nn.ctc_greedy_decoder(logits, tf.fill([2], 5))
                return tf.sparse.to_dense(decoded[0]), len(decoded)
            """
        ),
        Valid(
            """
            import tensorflow as tf
            from keras import ops

            @tf.function(autograph=False)
            def swap_halves(x):
                parts = ops.split(x, [1], axis=-1)  # a Python list of two tensors
                if len(parts) == 2:  # a Python int, even unconverted
                    x = ops.concatenate([parts[1], parts[0]], axis=-1)
                return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x):
                total = tf.reduce_sum(x)
                return x / tf.constant(total)  # error: TFG405
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def positive(x):
                flag = bool(tf.reduce_sum(x) > 0)  # error: TFG405
                return tf.cast(flag, tf.float32)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)], autograph=False)
            def count(x):
                return tf.fill([len(x)], 1.0)  # error: TFG405
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def steps(x):
                return tf.zeros([int(tf.reduce_sum(x))])  # error: TFG405
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
                    loss = tf.reduce_mean((self.dense(x) - y) ** 2)
                    return {"loss": loss, "big": float(loss) > 1.0}  # error: TFG405
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3])])
            def flatten(images):
                batch, height, width, channels = tf.shape(images)  # error: TFG405
                return tf.reshape(images, [batch, height * width * channels])
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Pairs(tf.keras.Model):
                # annotated as a tensor: the message names the annotation (a list passed
                # here would unpack fine, and the annotation would be the mistake)
                def call(self, inputs: tf.Tensor):
                    first, second = inputs  # error: TFG405
                    return first + second
            """
        ),
    )

    def visit_Assign(self, node: cst.Assign) -> None:
        if not any(isinstance(t.target, cst.Tuple | cst.List) for t in node.targets):
            return
        facts = self.facts(node)
        if facts is None or not self._one_tensor(node.value, facts, 3):
            return
        ctx = self.compiled_context(node)
        if ctx is None or self.under_eager_check(node):
            return
        target = next(t.target for t in node.targets if isinstance(t.target, cst.Tuple | cst.List))
        # When the tensor is a parameter only by its annotation, say so: a list passed to a
        # parameter annotated `tf.Tensor` is unpacked fine, and the annotation is then wrong.
        annotation = self._tensor_annotation(node.value, facts)
        what = f" (annotated `{annotation}`)" if annotation else ""
        shape = "" if annotation else " whatever its shape"  # the message stays short
        self.report(
            node,
            f"`{self.code(target)} = {self.code(node.value)}` in {ctx.describe()} unpacks a "
            f"symbolic tensor{what}, which iterates it: tracing raises "
            f"`OperatorNotAllowedInGraphError`{shape}; index it (`t[0]`) or use "
            "`tf.unstack(t, num=k)`",
            context=ctx,
        )

    def _tensor_annotation(self, expr: cst.BaseExpression, facts: FunctionFacts) -> str | None:
        """The annotation of the parameter `expr` names, when it is what makes it a tensor
        (no `input_signature` covers it), as written; else None."""
        if not isinstance(expr, cst.Name) or not facts.is_param(expr.value):
            return None
        func = facts.func
        if not isinstance(func, cst.FunctionDef):
            return None
        if facts.ctx is not None and expr.value in facts.ctx.signature_params:
            return None
        params = func.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.name.value == expr.value and param.annotation is not None:
                annotation = param.annotation.annotation
                if any(
                    names.strip_tf_root(q) in ("Tensor", "types.experimental.TensorLike")
                    for q in self.qualnames(annotation)
                ):
                    return self.code(annotation)
        return None

    def _one_tensor(self, expr: cst.BaseExpression, facts: FunctionFacts, depth: int) -> bool:
        """Whether `expr` is surely one tensor: a call of a TF function that returns one, a
        subscript or arithmetic of one, a parameter an `input_signature` covers or annotated
        `tf.Tensor`, or a name every binding of which is one (`depth` names deep)."""
        if isinstance(expr, cst.Call):
            return bool(self.qualnames(expr.func) & _ONE_TENSOR)
        if isinstance(expr, cst.Subscript):
            return self._one_tensor(expr.value, facts, depth)
        if isinstance(expr, cst.BinaryOperation):
            return self._one_tensor(expr.left, facts, depth) or self._one_tensor(
                expr.right, facts, depth
            )
        if isinstance(expr, cst.Name) and depth > 0:
            if facts.is_param(expr.value):
                return facts.kind(expr) is Kind.TENSOR
            values = facts.bindings_of(expr.value)
            return bool(values) and all(
                v is not None and self._one_tensor(v, facts, depth - 1) for v in values
            )
        return False

    def visit_Call(self, node: cst.Call) -> None:
        qns = self.qualnames(node.func)
        builtin = next((_ALWAYS[q] for q in sorted(qns) if q in _ALWAYS), None)
        unconverted = next((_UNCONVERTED[q] for q in sorted(qns) if q in _UNCONVERTED), None)
        constant = bool(qns & _CONSTANT)
        if builtin is None and unconverted is None and not constant:
            return
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if constant:
            value = next(
                (a.value for a in node.args if a.keyword and a.keyword.value == "value"), None
            )
            arg = value if value is not None else positional[0].value if positional else None
        else:
            arg = positional[0].value if len(positional) == 1 and len(node.args) == 1 else None
        if arg is None:
            return
        facts = self.facts(node)
        if facts is None or facts.kind(arg) is not Kind.TENSOR:
            return
        ctx = self.compiled_context(node)
        if ctx is None or self.under_eager_check(node):
            return
        where = ctx.describe()
        if constant:
            message = (
                f"`{self.code(node)}` in {where}: `tf.constant` needs a Python value and "
                f"fails on the symbolic tensor `{self.code(arg)}`; use `tf.convert_to_tensor`"
            )
        elif builtin is not None:
            message = (
                f"`{self.code(node)}` in {where} needs a concrete value and fails on a "
                f"symbolic tensor while tracing, even with AutoGraph"
            )
        else:
            why = facts.autograph_off_reason()
            if why is None:
                return
            message = (
                f"`{self.code(node)}` in {where} fails on a symbolic tensor: AutoGraph does not "
                f"convert `{unconverted}` here ({why})"
            )
        self.report(node, message, context=ctx)
