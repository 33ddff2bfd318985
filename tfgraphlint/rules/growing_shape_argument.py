"""TFG206 growing-shape-argument."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.engine import call_sites
from tfgraphlint.engine.rule import Confirmation, Rule

# Calls whose first argument (or `shape=`/`dims=`) is the shape of the tensor they make.
_SHAPED = frozenset(
    {
        *names.under_tf(
            "zeros",
            "ones",
            "fill",
            "random.normal",
            "random.uniform",
            "random.truncated_normal",
            "random.stateless_normal",
            "random.stateless_uniform",
        ),
        *(f"numpy.{f}" for f in ("zeros", "ones", "empty", "full")),
        *(f"numpy.random.{f}" for f in ("normal", "uniform", "standard_normal")),
    }
)
_SHAPE_KEYWORDS = ("shape", "dims", "size")
# NumPy's random draws take the shape as `size=`, after the distribution's parameters.
_SIZE_ONLY = frozenset(f"numpy.random.{f}" for f in ("normal", "uniform"))
_RANGES = frozenset({*names.under_tf("range"), "numpy.arange"})
# Options of `tf.function` that let one trace serve many shapes.
_RELAXING = ("reduce_retracing", "experimental_relax_shapes")


class GrowingShapeArgument(Rule):
    """
    ## What it does
    Flags calls, in a loop, to a `tf.function` of the same module that pass a tensor or
    array whose shape changes with the loop counter: `tf.zeros([n, 3])`, `tf.range(n)`,
    `np.ones((step, d))`, or a slice `x[:n]`, when the function has no `input_signature` and
    no `reduce_retracing=True`.

    ## Why is this bad?
    A tensor argument is part of the trace cache key by its shape and dtype: each new shape
    makes a new graph. On TF 2.21, seven calls with seven batch sizes trace seven times;
    with `reduce_retracing=True` they trace twice (the second trace has a `None` dimension
    and serves every later shape). A loop that grows a sequence or a batch retraces on every
    pass, and TensorFlow only warns after five retraces.

    ## Example
    ```python
    @tf.function
    def decode(prefix):
        ...

    for n in range(1, 100):
        decode(tokens[:n])
    ```

    ## Use instead
    Let one graph take any length: `@tf.function(reduce_retracing=True)`, or an
    `input_signature` with `None` for the changing dimension:
    ```python
    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def decode(prefix):
        ...
    ```
    or pad the input to a fixed size.

    ## Known problems
    Only calls in the module that defines the `tf.function`, and shapes built from a loop
    counter in the call itself (not from a tensor computed earlier), are checked. A loop
    over up to eight literal values (`range(4)`) is not reported: its traces are reused.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Controlling retracing"
    """

    CODE = "TFG206"
    NAME = "growing-shape-argument"
    REACH = "call-sites"
    SEVERITY = Severity.WARNING
    SUMMARY = "`tf.function` called in a loop with a tensor whose shape follows the counter"

    CONFIRMED_BY = Confirmation.RETRACE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function(reduce_retracing=True)
            def total(x):
                return tf.reduce_sum(x)

            for n in range(1, 20):
                total(tf.zeros([n, 3]))  # one trace with a `None` dimension serves all
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
            def total(x):
                return tf.reduce_sum(x)

            tokens = tf.range(40)
            for n in range(1, 20):
                total(tokens[:n])
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                return tf.reduce_sum(x)

            tokens = tf.range(100)
            for start in range(0, 90, 5):
                total(tokens[start : start + 10])  # a window: always ten elements
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                return tf.reduce_sum(x)

            for n in range(20):
                total(tf.fill([3], float(n)))  # the value changes, not the shape
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                return tf.reduce_sum(x)

            for n in range(1, 20):
                total(tf.zeros([n, 3]))  # error: TFG206
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                return tf.reduce_sum(x)

            tokens = tf.range(40)
            for n in range(1, 20):
                total(tokens[:n])  # error: TFG206
            """
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def total(x):
                return tf.reduce_sum(x)

            for step in range(1, 20):
                total(x=np.ones((step, 2)))  # error: TFG206
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        target = call_sites.eager_target(self, node)
        if target is None or _relaxed(target):
            return
        for arg, param in call_sites.arguments(target, node):
            found = self._growing(arg.value)
            if found is None:
                continue
            name, loop = found
            as_param = f" passed as `{param}`" if param is not None else ""
            self.report(
                arg,
                f"`{self.code(arg.value)}`{as_param} to tf.function `{target.ctx.qualname}` "
                f"has a shape that changes with `{name}` in the loop at line "
                f"{self.line_of(loop)}: every new shape retraces (no `reduce_retracing`, no "
                "`input_signature`)",
            )
            return

    def _growing(self, expr: cst.BaseExpression) -> tuple[str, cst.CSTNode] | None:
        """(counter, loop) when the shape of `expr` follows a loop counter."""
        if isinstance(expr, cst.Call):
            qualnames = self.qualnames(expr.func)
            if qualnames & _SHAPED:
                return self._shape_varies(expr, bool(qualnames & _SIZE_ONLY))
            if qualnames & _RANGES:
                bounds = [a.value for a in expr.args if a.keyword is None]
                varying = [call_sites.varying(self, b) for b in bounds[:2]]
                moving = [v for v in varying if v is not None]
                return moving[0] if len(moving) == 1 else None
            return None
        if isinstance(expr, cst.Subscript):
            for element in expr.slice:
                index = element.slice
                if not isinstance(index, cst.Slice):
                    continue
                lower = call_sites.varying(self, index.lower) if index.lower else None
                upper = call_sites.varying(self, index.upper) if index.upper else None
                if (lower is None) != (upper is None):
                    return lower or upper
        return None

    def _shape_varies(self, call: cst.Call, size_only: bool) -> tuple[str, cst.CSTNode] | None:
        shape = next(
            (a.value for a in call.args if a.keyword and a.keyword.value in _SHAPE_KEYWORDS), None
        )
        if shape is None and not size_only:
            shape = next((a.value for a in call.args if a.keyword is None), None)
        if shape is None:
            return None
        dims = (
            [e.value for e in shape.elements]
            if isinstance(shape, cst.List | cst.Tuple)
            else [shape]
        )
        for dim in dims:
            found = call_sites.varying(self, dim)
            if found is not None:
                return found
        return None


def _relaxed(target: call_sites.Target) -> bool:
    """`reduce_retracing=True` (or its old name) on the `tf.function`."""
    return any(key in _RELAXING and value != "False" for key, value in target.ctx.options)
