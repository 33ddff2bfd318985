"""TFG101 print-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.engine.rule import Rule


class PrintInTfFunction(Rule):
    """
    ## What it does
    Flags calls to the builtin `print()` in a compiled body: a `tf.function`, a helper it
    calls, a `Dataset.map` callback, a Keras `train_step`.

    ## Why is this bad?
    Python code runs only while TensorFlow traces the function. `print` shows its output
    once per trace (and for both branches of a tensor `if`), never on the calls that run the
    graph, and it prints symbolic tensors, not values. AutoGraph does not convert `print`
    unless `Feature.BUILTIN_FUNCTIONS` is on.

    ## Example
    ```python
    @tf.function
    def train_step(x):
        print("loss", loss(x))
    ```

    ## Use instead
    `tf.print(...)`, which is an op in the graph and runs on every call. Keep `print` only for
    messages meant to appear at trace time.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
    """

    CODE = "TFG101"
    NAME = "print-in-tf-function"
    SEVERITY = Severity.WARNING
    SUMMARY = "builtin `print` in a compiled body (runs only while tracing)"

    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x):
                tf.print("x =", x)
                return x
            """
        ),
        Valid(
            """
            def eager(x):
                print(x)  # not compiled
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def log(x):
                print(x.numpy())  # runs eagerly through tf.py_function

            @tf.function
            def step(x):
                tf.py_function(log, [x], [])
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x, print=tf.print):
                print(x)  # a parameter, not the builtin
                return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def step(x):
                print("x =", x)  # error: TFG101
                return x * 2
            """
        ),
        Invalid(
            """
            from tensorflow import function as compiled

            def describe(x):
                print("shape", x.shape)  # error: TFG101

            @compiled(jit_compile=True)
            def step(x):
                describe(x)
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            ds = tf.data.Dataset.range(10)
            ds = ds.map(lambda x: print(x) or x)  # error: TFG101
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if "builtins.print" not in self.qualnames(node.func):
            return
        ctx = self.compiled_context(node)
        if ctx is None:
            return
        self.report(
            node,
            f"`print()` in {ctx.describe()} runs only while tracing, not on every call; "
            "use `tf.print()`",
            context=ctx,
        )
