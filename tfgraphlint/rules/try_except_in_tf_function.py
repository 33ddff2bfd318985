"""TFG504 try-except-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, Rule

_ERRORS_MODULE = "tensorflow.python.framework.errors_impl."


class _FirstCall(SameScopeVisitor):
    """The first call in a `try` body, not looking into nested functions or classes."""

    def __init__(self) -> None:
        self.found: cst.Call | None = None

    def visit_Call(self, node: cst.Call) -> bool:
        if self.found is None:
            self.found = node
        return False


class TryExceptInTfFunction(Rule):
    """
    ## What it does
    Flags `except tf.errors.<SomeError>` handlers around code that calls TensorFlow, in a
    compiled body.

    ## Why is this bad?
    `tf.errors.*` exceptions (`InvalidArgumentError`, `OutOfRangeError`, `ResourceExhaustedError`,
    ...) are raised by ops when the graph *runs*. Inside a `tf.function` the Python `try` only
    runs while tracing, when the ops are merely added to the graph; by the time they fail, the
    `try` is long gone and the error reaches the caller of the tf.function. AutoGraph does not
    convert `try`/`except`. Verified: `try: tf.gather(x, 5) except
    tf.errors.InvalidArgumentError:` inside a tf.function lets the error through (TensorFlow
    2.3, 2.12, 2.21), and so does `except tf.errors.OutOfRangeError` around `next(iterator)`.

    ## Example
    ```python
    @tf.function
    def lookup(x, i):
        try:
            return tf.gather(x, i)
        except tf.errors.InvalidArgumentError:
            return tf.constant(-1.0)
    ```

    ## Use instead
    Make the check part of the graph (`tf.cond`, `tf.where`, `tf.debugging.assert_*`), or
    catch the error around the *call* of the tf.function. For iterators, loop with `for` over
    the dataset or use `iterator.get_next_as_optional()`.

    ## Known problems
    Handlers that catch broad `Exception` are not flagged: they also catch trace-time errors
    (static shape mismatches raise `ValueError` while tracing), which is often the intent.

    ## References
    - AutoGraph reference, "Control flow" (exceptions are not converted)
    """

    CODE = "TFG504"
    NAME = "try-except-in-tf-function"
    REACH = "call-sites"
    SEVERITY = Severity.WARNING
    SUMMARY = "`except tf.errors.*` in a compiled body (runtime op errors are never caught)"

    CONFIRMED_BY = Confirmation.NONE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def lookup(x, i):
                ok = tf.logical_and(i >= 0, i < tf.shape(x)[0])
                return tf.cond(ok, lambda: tf.gather(x, i), lambda: tf.constant(-1.0))
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x, config):
                try:
                    scale = config["scale"]  # trace-time Python lookup
                except KeyError:
                    scale = 1.0
                return x * scale
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def lookup(x, i):
                return tf.gather(x, i)

            def safe_lookup(x, i):
                try:
                    return lookup(x, i)  # eager caller: the graph error arrives here
                except tf.errors.InvalidArgumentError:
                    return None
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def fit_shape(x):
                try:
                    return tf.reshape(x, [2, 3])  # static shape errors are trace-time ValueErrors
                except ValueError:
                    return tf.reshape(x, [-1])
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def lookup(x, i):
                try:
                    return tf.gather(x, i)
                except tf.errors.InvalidArgumentError:  # error: TFG504
                    return tf.constant(-1.0)
            """
        ),
        Invalid(
            """
            import tensorflow as tf
            from tensorflow.errors import OutOfRangeError

            @tf.function
            def drain(iterator):
                total = tf.constant(0)
                for _ in range(10):
                    try:
                        total += next(iterator)
                    except OutOfRangeError:  # error: TFG504
                        break
                return total
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def decode(raw):
                try:
                    return tf.io.decode_png(raw)
                except (tf.errors.InvalidArgumentError, ValueError):  # error: TFG504
                    return tf.zeros([32, 32, 3], tf.uint8)

            ds = tf.data.TFRecordDataset(["a.tfrecord"]).map(decode)
            """
        ),
    )

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.type is None:
            return
        error = self._tf_error(node.type)
        if error is None:
            return
        ctx = self.compiled_context(node)
        try_node = self.get_metadata(ParentProvider, node, None)
        if ctx is None or not isinstance(try_node, cst.Try):
            return
        finder = _FirstCall()
        walk(try_node.body, finder)
        if finder.found is None:
            return
        self.report(
            node,
            f"`except {self.code(error)}` in {ctx.describe()} catches errors raised while "
            f"tracing only, not those of `{self.code(finder.found)}` when the graph runs",
            context=ctx,
        )

    def _tf_error(self, expr: cst.BaseExpression) -> cst.BaseExpression | None:
        """The first `tf.errors.*` class among the caught types."""
        candidates = [e.value for e in expr.elements] if isinstance(expr, cst.Tuple) else [expr]
        for candidate in candidates:
            for qn in self.qualnames(candidate):
                rest = names.strip_tf_root(qn)
                if (rest is not None and rest.startswith("errors.")) or qn.startswith(
                    _ERRORS_MODULE
                ):
                    return candidate
        return None
