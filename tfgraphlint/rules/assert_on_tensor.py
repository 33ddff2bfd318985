"""TFG509 assert-on-tensor."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.model import CompiledContext, root_context
from tfgraphlint.discovery.provider import CompiledContextProvider
from tfgraphlint.discovery.tensors import Kind
from tfgraphlint.engine.rule import Confirmation, Rule


class AssertOnTensor(Rule):
    """
    ## What it does
    Flags a Python `assert` statement whose condition is a tensor, in a compiled body.

    ## Why is this bad?
    AutoGraph does not convert `assert` (only the experimental `ASSERT_STATEMENTS` feature
    does), so Python evaluates the condition while tracing and asks for the truth value of a
    symbolic tensor. Tracing fails with `OperatorNotAllowedInGraphError: Using a symbolic
    tf.Tensor as a Python bool is not allowed`, even when the assertion would hold (verified on
    TensorFlow 2.3, 2.12 and 2.21). Under `python -O` the check silently disappears instead.

    ## Example
    ```python
    @tf.function
    def normalize(x):
        assert tf.reduce_all(x >= 0), "x must be non-negative"
        return x / tf.reduce_sum(x)
    ```

    ## Use instead
    A graph assertion, which runs on every call: `tf.debugging.assert_non_negative(x)`,
    `tf.debugging.assert_equal(...)`, or `tf.debugging.Assert(condition, [x])`. Python
    `assert` stays fine on Python values: `assert x.shape.rank == 2`, `assert isinstance(...)`.

    ## References
    - AutoGraph reference, "Limitations" and `experimental_autograph_options`
    """

    CODE = "TFG509"
    NAME = "assert-on-tensor"
    SEVERITY = Severity.ERROR
    SUMMARY = "Python `assert` on a tensor condition in a compiled body (tracing fails)"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x):
                assert x.shape.rank == 2, "expects a batch of vectors"
                assert x.shape[0] is not None
                return x * 2
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def normalize(x):
                tf.debugging.assert_non_negative(x, message="x must be non-negative")
                return x / tf.reduce_sum(x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def eager_check(x):
                assert tf.reduce_all(x >= 0)  # eager: a concrete value, fine
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x, training):
                assert isinstance(training, bool)
                assert training  # a Python flag here, not a tensor
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(
                experimental_autograph_options=tf.autograph.experimental.Feature.ASSERT_STATEMENTS
            )
            def step(x):
                assert tf.reduce_all(x > 0)  # converted to tf.Assert by the feature
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Groups(tf.keras.layers.Layer):
                def call(self, x, groups=2):
                    channels = x.shape[-1]
                    assert int(channels) % int(groups) == 0  # Python ints (unconverted code)
                    return tf.reshape(x, [-1, groups, channels // groups])
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def normalize(x):
                assert tf.reduce_all(x >= 0), "x must be non-negative"  # error: TFG509
                return x / tf.reduce_sum(x)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def check_batch(x):
                n = tf.shape(x)[0]
                assert n > 0  # error: TFG509
                return n

            @tf.function(input_signature=[tf.TensorSpec([None, 3])])
            def step(x):
                return check_batch(x)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None])])
            def clip(x):
                assert x.shape.rank == 1
                assert x > -1.0  # error: TFG509
                return tf.clip_by_value(x, -1.0, 1.0)
            """
        ),
    )

    def visit_Assert(self, node: cst.Assert) -> None:
        ctx = self.compiled_context(node)
        facts = self.facts(node)
        if ctx is None or facts is None or facts.kind(node.test) is not Kind.TENSOR:
            return
        if self._assert_feature_on(ctx):
            return
        self.report(
            node,
            f"`assert {self.code(node.test)}` in {ctx.describe()} asks Python for a tensor's "
            "truth value, so tracing raises `OperatorNotAllowedInGraphError`",
            context=ctx,
        )

    def _assert_feature_on(self, ctx: CompiledContext) -> bool:
        """Whether the root tf.function enables AutoGraph's `ASSERT_STATEMENTS` feature."""
        discovery = self.get_metadata(CompiledContextProvider, self.state.module, None)
        root = root_context(ctx, discovery)
        return any(
            key == "experimental_autograph_options" and "ASSERT_STATEMENTS" in value
            for key, value in root.options
        )
