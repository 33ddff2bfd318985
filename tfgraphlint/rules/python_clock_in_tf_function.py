"""TFG104 python-clock-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.python_side_effect import imported_qualnames

# Clock reads, and the number of positional arguments that makes them read a given time
# instead of the current one (None: they always read the clock).
_CLOCKS: dict[str, int | None] = {
    "time.time": None,
    "time.time_ns": None,
    "time.perf_counter": None,
    "time.perf_counter_ns": None,
    "time.monotonic": None,
    "time.monotonic_ns": None,
    "time.process_time": None,
    "time.process_time_ns": None,
    "time.localtime": 1,
    "time.gmtime": 1,
    "time.ctime": 1,
    "time.asctime": 1,
    "time.strftime": 2,
    "datetime.datetime.now": None,
    "datetime.datetime.utcnow": None,
    "datetime.datetime.today": None,
    "datetime.date.today": None,
}
_SLEEP = "time.sleep"


class PythonClockInTfFunction(Rule):
    """
    ## What it does
    Flags reads of the Python clock (`time.time()`, `time.perf_counter()`,
    `time.monotonic()`, `datetime.datetime.now()`, `datetime.date.today()`, ...) and
    `time.sleep()` in a compiled body.

    ## Why is this bad?
    Python code runs only while TensorFlow traces the function. The clock is read once,
    during tracing, and the graph keeps the reading as a constant: every call reports the
    same time, and durations computed from it are zero or meaningless. `time.sleep` sleeps
    once while tracing and never again.

    ## Example
    ```python
    @tf.function
    def train_step(x):
        start = time.time()
        loss = model_loss(x)
        tf.print("step took", time.time() - start)
        return loss
    ```

    ## Use instead
    `tf.timestamp()`, an op that reads the clock every time the graph runs, or time the
    call from eager code around the `tf.function`.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
    - `tf.timestamp` API documentation
    """

    CODE = "TFG104"
    NAME = "python-clock-in-tf-function"
    SEVERITY = Severity.WARNING
    SUMMARY = (
        "`time.time()`/`datetime.now()`/`time.sleep()` in a compiled body (runs once, at trace)"
    )

    CONFIRMED_BY = Confirmation.FROZEN_VALUE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x):
                start = tf.timestamp()  # a graph op: read on every call
                loss = tf.reduce_sum(x)
                tf.print("step took", tf.timestamp() - start)
                return loss
            """
        ),
        Valid(
            """
            import time

            import tensorflow as tf

            @tf.function
            def train_step(x):
                return tf.reduce_sum(x)

            def train(batches):
                for x in batches:
                    start = time.perf_counter()  # eager code around the call
                    train_step(x)
                    print(time.perf_counter() - start)
            """
        ),
        Valid(
            """
            import time

            import tensorflow as tf

            @tf.function
            def stamp(x, when):
                label = time.strftime("%Y-%m-%d", time.gmtime(when))  # a given time
                return x, label
            """
        ),
        Valid(
            """
            import time

            import tensorflow as tf

            def slow_io(path):
                time.sleep(0.1)  # runs eagerly, on every call
                return path

            @tf.function
            def load(path):
                return tf.py_function(slow_io, [path], tf.string)
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import time

            import tensorflow as tf

            @tf.function
            def train_step(x):
                start = time.time()  # error: TFG104
                loss = tf.reduce_sum(x)
                tf.print("took", time.time() - start)  # error: TFG104
                return loss
            """
        ),
        Invalid(
            """
            from datetime import datetime

            import tensorflow as tf

            def tag(x):
                return x, datetime.now().isoformat()  # error: TFG104

            ds = tf.data.Dataset.range(4).map(tag)
            """
        ),
        Invalid(
            """
            import time as clock

            import tensorflow as tf

            class Throttled(tf.Module):
                @tf.function
                def __call__(self, x):
                    clock.sleep(0.5)  # error: TFG104
                    return x + 1
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.compiled_context(node)
        if ctx is None:
            return
        qns = imported_qualnames(self, node.func)
        if _SLEEP in qns:
            self.report(
                node,
                f"`{self.code(node)}` in {ctx.describe()} sleeps once, while tracing, not on "
                "every call",
                context=ctx,
            )
            return
        positional = sum(1 for a in node.args if a.keyword is None and not a.star)
        for qn in sorted(qns):
            if qn in _CLOCKS:
                given = _CLOCKS[qn]
                if given is not None and positional >= given:
                    return
                self.report(
                    node,
                    f"`{self.code(node)}` in {ctx.describe()} reads the clock once, at trace "
                    "time (a constant in the graph)",
                    context=ctx,
                )
                return
