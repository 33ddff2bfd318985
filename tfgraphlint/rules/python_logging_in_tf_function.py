"""TFG108 python-logging-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.python_side_effect import imported_qualnames

_LEVELS = ("debug", "info", "warning", "warn", "error", "critical", "fatal", "exception", "log")
# Module-level logging functions: the standard library's, absl's, and TF 1's.
_LOGGING = frozenset(
    {
        *(f"logging.{level}" for level in _LEVELS),
        *(f"absl.logging.{level}" for level in _LEVELS),
        *names.under_tf(*(f"compat.v1.logging.{level}" for level in _LEVELS)),
        *names.under_tf(*(f"logging.{level}" for level in _LEVELS)),
    }
)
# Calls that turn a value into text while tracing.
_TO_TEXT = frozenset({"builtins.str", "builtins.repr", "builtins.format"})


class PythonLoggingInTfFunction(Rule):
    """
    ## What it does
    Flags a call to Python logging (`logging.info(...)` and the other levels, `absl.logging`,
    `tf.compat.v1.logging`) in a compiled body when what it logs is a tensor: a tensor
    argument, or a tensor formatted into the message (an f-string, `str()`, `%`,
    `.format()`).

    ## Why is this bad?
    Python code runs only while TensorFlow traces the function. The logging call runs once
    per trace, never on the calls that run the graph, and the tensor it formats is symbolic:
    the log shows `Tensor("Sum:0", shape=(), dtype=float32)`, not a value. On TensorFlow
    2.21, a `tf.function` that logs its loss with `logging.info`, `absl.logging` and
    `tf.compat.v1.logging`, called three times, logs one symbolic tensor through each.

    Logging Python values at trace time (`logging.info("tracing for shape %s", x.shape)`)
    is a deliberate idiom that reports each retrace, and is not flagged.

    ## Example
    ```python
    @tf.function
    def train_step(x):
        loss = model_loss(x)
        logging.info("loss %s", loss)
        return loss
    ```

    ## Use instead
    `tf.print(...)`, an op that prints the value on every call, or return the value and log
    it in eager code around the call.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
    """

    CODE = "TFG108"
    NAME = "python-logging-in-tf-function"
    SEVERITY = Severity.WARNING
    SUMMARY = "Python `logging` of a tensor in a compiled body (once per trace, symbolic)"

    CONFIRMED_BY = Confirmation.TRACE_EFFECT
    VALID = (
        Valid(
            """
            import logging

            import tensorflow as tf

            @tf.function
            def train_step(x):
                logging.info("tracing train_step for shape %s", x.shape)  # trace-time note
                loss = tf.reduce_sum(x)
                tf.print("loss", loss)  # every call, with the value
                return loss
            """
        ),
        Valid(
            """
            import logging

            import tensorflow as tf

            @tf.function
            def train_step(x):
                return tf.reduce_sum(x)

            def train(batches):
                for x in batches:
                    loss = train_step(x)
                    logging.info("loss %s", float(loss))  # eager code
            """
        ),
        Valid(
            """
            import logging

            import tensorflow as tf

            def report(x):
                logging.info("value %s", x)  # a tf.py_function callback runs eagerly
                return x

            @tf.function
            def step(x):
                return tf.py_function(report, [x], tf.float32)
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import logging

            import tensorflow as tf

            @tf.function
            def train_step(x):
                loss = tf.reduce_sum(x)
                logging.info("loss %s", loss)  # error: TFG108
                logging.warning(f"loss is {loss}")  # error: TFG108
                return loss
            """
        ),
        Invalid(
            """
            import tensorflow as tf
            from absl import logging

            class Trainer(tf.Module):
                @tf.function
                def step(self, x):
                    norm = tf.norm(x)
                    logging.info("norm: " + str(norm))  # error: TFG108
                    return norm
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def step(x):
                total = tf.reduce_sum(x)
                tf.compat.v1.logging.info("total {}".format(total))  # error: TFG108
                return total
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not imported_qualnames(self, node.func) & _LOGGING:
            return
        ctx = self.compiled_context(node)
        facts = self.facts(node)
        if ctx is None or facts is None or self.under_eager_check(node):
            return
        tensor = next((t for a in node.args if (t := self._logged_tensor(a.value, facts))), None)
        if tensor is None:
            return
        self.report(
            node,
            f"`{self.code(node.func)}()` in {ctx.describe()} logs once, while tracing, and shows "
            f"the symbolic tensor `{self.code(tensor)}`, not its value; use `tf.print()`",
            context=ctx,
        )

    def _logged_tensor(
        self, expr: cst.BaseExpression, facts: FunctionFacts
    ) -> cst.BaseExpression | None:
        """The tensor that `expr` logs: itself, or a tensor it formats into text."""
        if facts.kind(expr) is Kind.TENSOR:
            return expr
        if isinstance(expr, cst.FormattedString):
            for part in expr.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    found = self._logged_tensor(part.expression, facts)
                    if found is not None:
                        return found
            return None
        if isinstance(expr, cst.BinaryOperation) and isinstance(
            expr.operator, cst.Add | cst.Modulo
        ):
            return self._logged_tensor(expr.left, facts) or self._logged_tensor(expr.right, facts)
        if isinstance(expr, cst.Tuple):
            return next(
                (t for e in expr.elements if (t := self._logged_tensor(e.value, facts))), None
            )
        if isinstance(expr, cst.Call):
            func = expr.func
            formats = isinstance(func, cst.Attribute) and func.attr.value == "format"
            if formats or self.qualnames(func) & _TO_TEXT:
                return next(
                    (t for a in expr.args if (t := self._logged_tensor(a.value, facts))), None
                )
        return None
