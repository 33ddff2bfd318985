"""TFG202 python-scalar-argument."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.engine import call_sites
from tfgraphlint.engine.rule import Confirmation, Rule


class PythonScalarArgument(Rule):
    """
    ## What it does
    Flags calls to a `tf.function` of the same module that pass a Python number changing on
    every iteration of a loop: the loop variable of `for step in range(...)`, the index of
    `enumerate(...)`, a counter incremented in the loop, arithmetic or a `math` function on
    one (`lr * 0.9 ** epoch`, `math.exp(-epoch)`), or a name the loop binds to such a number
    (`lr = 0.1 * 0.9 ** epoch`). A NumPy result (`np.exp(-epoch)`, a `np.float64`) is not
    flagged: TensorFlow passes it in as a tensor.

    ## Why is this bad?
    Python numbers are part of the trace cache key *by value*: each new value builds and
    compiles a new graph, and the cache keeps growing. A retrace costs about 100x a cached
    call (measured: 0.57 ms vs 58.5 ms per call on TF 2.21), and `reduce_retracing=True`
    does not help with Python values. TensorFlow only warns after five retraces.

    ## Example
    ```python
    @tf.function
    def train_step(x, y, step):
        ...

    for step, (x, y) in enumerate(dataset):
        train_step(x, y, step)
    ```

    ## Use instead
    Pass a tensor, so that the value is an input of one graph:
    ```python
    for step, (x, y) in enumerate(dataset):
        train_step(x, y, tf.constant(step, tf.int64))
    ```
    or keep the value in a `tf.Variable` that the function reads, or give the function an
    `input_signature`, which converts Python numbers to tensors at the call.

    ## Known problems
    Only calls in the module that defines the `tf.function` are checked, and only arguments
    built from loop counters (not, say, a learning rate read from a schedule object). Calls
    made inside another compiled body are not reported.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Rules of tracing" and
      "Pass tensors instead of python literals"
    """

    CODE = "TFG202"
    NAME = "python-scalar-argument"
    REACH = "call-sites"
    SEVERITY = Severity.WARNING
    SUMMARY = "`tf.function` called with a Python number that changes every loop iteration"

    CONFIRMED_BY = Confirmation.RETRACE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x, step):
                return x * tf.cast(step, tf.float32)

            for step in range(1000):
                train_step(x, tf.constant(step))
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x, num_layers):
                return x

            for step in range(1000):
                train_step(x, 3)  # the same value every time: one trace
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None]), tf.TensorSpec([], tf.int32)])
            def train_step(x, step):
                return x

            for step in range(1000):
                train_step(x, step)  # converted to a tensor by the input_signature
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def forward(x, training):
                return x

            for step in range(1000):
                forward(x, step % 2 == 0)  # two values: two traces
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def forward(x, step):  # not compiled
                return x

            for step in range(1000):
                forward(x, step)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def evaluate(model, x):
                return model(x)

            for model in models:
                evaluate(model, x)  # not a number
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def apply_block(x, index):
                return blocks[index](x)

            for epoch in range(100):
                for index in range(4):  # four traces, reused by every epoch
                    x = apply_block(x, index)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def apply_block(x, index):
                return blocks[index](x)

            for epoch in range(100):
                for index in range(1000, 1004):  # four values: four traces, then reused
                    x = apply_block(x, index)
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def train_step(x, w):
                return x * tf.cast(w, x.dtype)

            def train(x, epochs):
                for epoch in range(epochs):
                    w = 50 / (1 + np.exp(5 - epoch))  # a NumPy float64: passed as a tensor
                    train_step(x, w)

            train(tf.constant(1.0), 3)
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x, y, step):
                return x

            for step, (x, y) in enumerate(dataset):
                train_step(x, y, step)  # error: TFG202
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            LR = 0.1

            def apply_lr(grads, lr):
                return [g * lr for g in grads]

            apply_lr = tf.function(apply_lr)

            def fit(grads, epochs):
                for epoch in range(epochs):
                    apply_lr(grads, lr=LR * 0.9**epoch)  # error: TFG202
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Trainer(tf.Module):
                @tf.function
                def step(self, batch, global_step):
                    return batch

                def run(self, batches):
                    global_step = 0
                    for batch in batches:
                        global_step += 1
                        self.step(batch, global_step)  # error: TFG202
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def schedule(step, warmup):
                return tf.minimum(1.0, step / warmup)

            for i in range(100):
                schedule(float(i), warmup=10.0)  # error: TFG202
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def predict(x, step):
                return x

            outputs = [predict(x, step) for step in range(100)]  # error: TFG202
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x, y, step):
                return x

            for step, batch in enumerate(dataset):
                train_step(*batch, step)  # error: TFG202
            """
        ),
        Invalid(
            """
            import math

            import tensorflow as tf

            @tf.function
            def train_step(x, lr, decay):
                return x * lr * decay

            def train(x, epochs):
                for epoch in range(epochs):
                    lr = 0.1 * 0.9**epoch  # a new Python float on every pass
                    train_step(x, lr, 1.0)  # error: TFG202
                    train_step(x, 0.1, math.exp(-epoch))  # error: TFG202

            train(tf.constant(1.0), 3)
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        target = call_sites.eager_target(self, node)
        if target is not None:
            for arg, param in call_sites.arguments(target, node):
                self._check_arg(node, arg, param, target)

    def _check_arg(
        self, call: cst.Call, arg: cst.Arg, param: str | None, target: call_sites.Target
    ) -> None:
        loop_var = call_sites.varying(self, arg.value)
        if loop_var is None:
            return
        name, loop = loop_var
        as_param = f" passed as `{param}`" if param is not None else " passed"
        self.report(
            arg,
            f"Python number `{self.code(arg.value)}`{as_param} to tf.function "
            f"`{target.ctx.qualname}` changes with `{name}` in the loop at line "
            f"{self.line_of(loop)}, so each new value traces the function again",
        )
