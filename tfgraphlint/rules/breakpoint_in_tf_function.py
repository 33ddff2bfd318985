"""TFG106 breakpoint-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.python_side_effect import imported_qualnames

# Debugger entry points: the builtin, and `set_trace` of the usual debuggers.
_BUILTIN = "builtins.breakpoint"
_DEBUGGERS = frozenset(
    {
        "pdb.set_trace",
        "ipdb.set_trace",
        "pudb.set_trace",
        "IPython.core.debugger.set_trace",
    }
)


class BreakpointInTfFunction(Rule):
    """
    ## What it does
    Flags `breakpoint()`, `pdb.set_trace()` (and `ipdb`/`pudb`/IPython's `set_trace`) in a
    compiled body: a `tf.function`, a helper it calls, a `Dataset.map` callback, a Keras
    `train_step`.

    ## Why is this bad?
    Python code runs only while TensorFlow traces the function. The debugger stops once, at
    trace time, where every tensor is symbolic and has no value to inspect; the calls that
    run the graph never stop there. On TensorFlow 2.21, a `tf.function` with `breakpoint()`
    and `pdb.set_trace()` called three times with tensors of one shape enters each debugger
    exactly once. TensorFlow warns about `pdb.set_trace()` only, and `breakpoint()` not at
    all.

    ## Example
    ```python
    @tf.function
    def train_step(x):
        loss = model_loss(x)
        breakpoint()
        return loss
    ```

    ## Use instead
    Debug the function eagerly: `tf.config.run_functions_eagerly(True)` while debugging (a
    `breakpoint()` under `if tf.executing_eagerly():` then stops on every call), or check
    values in the graph with `tf.debugging.assert_*` and `tf.print`.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Debugging"
    - AutoGraph reference, "Debugging" (`pdb` and AutoGraph-generated code)
    """

    CODE = "TFG106"
    NAME = "breakpoint-in-tf-function"
    SEVERITY = Severity.WARNING
    SUMMARY = "`breakpoint()`/`pdb.set_trace()` in a compiled body (stops only while tracing)"

    CONFIRMED_BY = Confirmation.TRACE_EFFECT
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x):
                loss = tf.reduce_sum(x)
                tf.debugging.assert_all_finite(loss, "loss is not finite")
                return loss

            def debug(x):
                breakpoint()  # eager code: stops on every call
                return train_step(x)
            """
        ),
        Valid(
            """
            import pdb

            import tensorflow as tf

            @tf.function
            def train_step(x):
                if tf.executing_eagerly():  # only under run_functions_eagerly(True)
                    pdb.set_trace()
                return tf.reduce_sum(x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def inspect(x):
                breakpoint()  # a tf.py_function callback runs eagerly, on every call
                return x

            @tf.function
            def step(x):
                return tf.py_function(inspect, [x], tf.float32)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def breakpoint():  # the project's own function, not the builtin
                tf.print("checkpoint")

            @tf.function
            def step(x):
                breakpoint()
                return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x):
                loss = tf.reduce_sum(x)
                breakpoint()  # error: TFG106
                return loss
            """
        ),
        Invalid(
            """
            import pdb

            import tensorflow as tf

            def parse(record):
                pdb.set_trace()  # error: TFG106
                return record * 2

            ds = tf.data.Dataset.range(4).map(parse)
            """
        ),
        Invalid(
            """
            import tensorflow as tf
            from ipdb import set_trace

            class Net(tf.keras.Model):
                def train_step(self, data):
                    set_trace()  # error: TFG106
                    x, y = data
                    return {"loss": tf.reduce_mean(x)}
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        qns = imported_qualnames(self, node.func)
        if not (qns & _DEBUGGERS) and _BUILTIN not in self.qualnames(node.func):
            return
        ctx = self.compiled_context(node)
        if ctx is None:
            return
        if self.under_eager_check(node):
            return
        self.report(
            node,
            f"`{self.code(node)}` in {ctx.describe()} stops only once, while tracing, with "
            "symbolic tensors; debug with `tf.config.run_functions_eagerly(True)`",
            context=ctx,
        )
