"""TFG510 tensor-control-flow-in-unconverted-code."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.autograph_conversion import ControlFlow, header, unconverted_verdict


class TensorControlFlowInUnconvertedCode(Rule):
    """
    ## What it does
    Flags an `if`, `while`, `for` or conditional expression on a tensor in a compiled body
    that AutoGraph does not convert: `tf.function(autograph=False)`, functions decorated with
    `tf.autograph.experimental.do_not_convert`, Keras `train_step`/`test_step`/`predict_step`
    overrides, `call` of Keras 3 layers and models (`keras`, or `tf.keras` taken as Keras 3 as
    on TensorFlow 2.16+; Keras 2's `tf_keras` converts `call` and is not reported; option
    `keras-call = false` leaves `call` out), Keras 3 losses and metrics (functions passed to
    `model.compile(loss=..., metrics=[...], weighted_metrics=[...])`, `call` of a
    `keras.losses.Loss` subclass, `update_state`/`result` of a `keras.metrics.Metric`
    subclass; not when the module compiles a model with `run_eagerly=True`, or the model's
    own `compile` passes a `run_eagerly` that defaults to `True`), functions
    AutoGraph refuses as a
    whole because they contain `for`/`else`, `while`/`else`, `yield` or a name-mangled
    attribute such as `self.__x`, and (with `follow-imports`) functions of modules on
    AutoGraph's allowlist, such as `tensorflow_probability` or `keras`, that compiled code
    of another module calls. The parameters of a tf.function count as tensors (a NumPy array
    passed in becomes one) unless a call in the same module passes a Python value, they have
    a default, or the body uses them as Python values (`if flag:`, `x is None`, `cfg.n`).

    ## Why is this bad?
    Without AutoGraph, Python runs the statement while tracing and asks for the truth value
    of a symbolic tensor (or iterates it): `OperatorNotAllowedInGraphError: Using a symbolic
    tf.Tensor as a Python bool is not allowed` (verified on TensorFlow 2.21 for
    `autograph=False`, for a function with `for`/`else`, for a generator helper and for a
    Keras 3 `train_step` under `fit`). AutoGraph's refusal is only a log warning, and for
    generators TensorFlow 2.12+ says nothing. Keras 3 traces losses, metrics and `call` as
    plain Python inside its own (unconverted) functions: a tensor `if` there fails under `fit`,
    and a layer's fails as soon as a functional or `Sequential` model is built (checked on
    TensorFlow 2.21 with Keras 3 by `tests/dynamic/test_keras_contexts.py`). A Python `if` on
    a Python value (`if training:`) is fine and is not reported.

    ## Example
    ```python
    @tf.function(autograph=False)
    def clip(x):
        if tf.reduce_max(x) > 1.0:
            x = x / tf.reduce_max(x)
        return x
    ```

    ## Use instead
    Let AutoGraph convert the function (drop `autograph=False`, or remove the `for`/`else`,
    the generator, the mangled name), or write the graph control flow explicitly:
    `tf.cond`, `tf.where`, `tf.while_loop`.

    ## References
    - AutoGraph reference, "Limitations"; `unsupported_features_checker.py`
    """

    CODE = "TFG510"
    NAME = "tensor-control-flow-in-unconverted-code"
    SEVERITY = Severity.ERROR
    SUMMARY = "tensor `if`/`while`/`for` where AutoGraph does not convert (tracing fails)"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import keras
            import tensorflow as tf

            class Noise(keras.layers.Layer):
                def call(self, x, training=False):
                    if training:  # a Python bool from Keras: fine
                        x = x + tf.random.normal(tf.shape(x), stddev=0.1)
                    return tf.where(x > 0, x, 0.1 * x)  # graph control flow

            model = keras.Sequential([keras.Input((3,)), Noise(), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            """
        ),
        Valid(
            """
            import keras
            import tensorflow as tf

            class Detector(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.dense = keras.layers.Dense(1)

                def compile(self, optimizer="sgd", run_eagerly=True, **kwargs):
                    super().compile(optimizer=optimizer, run_eagerly=run_eagerly, **kwargs)

                def call(self, x):
                    return self.dense(x)

                def train_step(self, data):
                    x, y = data
                    with tf.GradientTape() as tape:
                        loss = tf.reduce_mean(tf.square(self(x) - y))
                    if tf.math.is_nan(loss):  # compiled to run eagerly: a Python bool
                        return {"loss": loss}
                    grads = tape.gradient(loss, self.trainable_variables)
                    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                    return {"loss": loss}

            model = Detector()
            model.compile()
            """
        ),
        Valid(
            """
            import keras
            from keras import ops

            class Flatten2D(keras.layers.Layer):
                def call(self, x):
                    if ops.ndim(x) == 3:  # a Python int, even for a symbolic tensor
                        x = ops.reshape(x, (-1, x.shape[1] * x.shape[2]))
                    return x

            model = keras.Sequential([keras.Input((3,)), Flatten2D(), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            """
        ),
        Valid(
            """
            import keras
            import tensorflow as tf

            def clipped_mse(y_true, y_pred):
                loss = tf.reduce_mean(tf.square(y_true - y_pred))
                if loss > 1.0:  # the model runs eagerly: a Python bool
                    loss = tf.sqrt(loss)
                return loss

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss=clipped_mse, run_eagerly=True)
            """
        ),
        Valid(
            """
            import keras
            import tensorflow as tf

            def clipped_mse(y_true, y_pred):
                loss = tf.reduce_mean(tf.square(y_true - y_pred))
                return tf.cond(loss > 1.0, lambda: tf.sqrt(loss), lambda: loss)

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss=clipped_mse)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def scale(x, double):
                if double:  # a flag: the caller passes a Python bool
                    x = x * 2
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf
            import tf_keras

            class Block(tf_keras.layers.Layer):  # Keras 2 converts `call` with AutoGraph
                def call(self, x):
                    if tf.reduce_sum(x) > 0:
                        x = x * 2
                    return x
            """,
            keras_call=True,
        ),
        Valid(
            """
            import tensorflow as tf

            class CRF(tf.keras.layers.Layer):
                def call(self, inputs, mask):
                    first = mask[:, 0]
                    if tf.executing_eagerly():  # False while Keras traces `call`
                        if not tf.reduce_all(first):
                            raise NotImplementedError("left padding")
                    return inputs
            """,
            keras_call=True,
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def clip(x):
                if tf.reduce_max(x) > 1.0:  # converted: a tf.cond
                    x = x / tf.reduce_max(x)
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def clip(x):
                return tf.cond(tf.reduce_max(x) > 1.0, lambda: x / tf.reduce_max(x), lambda: x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def stack(x, n_layers):
                for _ in range(3):  # Python ints: fine without AutoGraph
                    x = tf.nn.relu(x)
                if x.shape.rank == 2:
                    x = x[None]
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def total(xs):
                s = tf.constant(0.0)
                for x in xs:
                    s += x
                else:
                    s += 1.0  # for/else: AutoGraph refuses `total`, but no tensor test here
                return s
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class EveryOther(tf.keras.metrics.Metric):
                def __init__(self):
                    super().__init__(name="every_other")
                    self.count = self.add_weight(name="count", initializer="zeros")

                def update_state(self, y_true, y_pred, sample_weight=None):
                    if tf.reduce_sum(y_pred) > 0:  # converted: called from `step` below
                        self.count.assign_add(1.0)

                def result(self):
                    return self.count

            metric = EveryOther()

            @tf.function
            def step(x):
                metric.update_state(x, x)  # a direct call from converted code, no `fit`
                return metric.result()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Halve(tf.keras.Model):
                def call(self, x):
                    while tf.norm(x) > 1.0:  # a script that only calls its model eagerly
                        x = x / 2.0
                    return x

            halve = Halve()
            halved = halve(tf.constant([[3.0, 4.0]]))
            print(halve.count_params())
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Step:  # a plain Python class: nothing traces its `call`
                def call(self, x):
                    return x

            class Clip(Step):
                def call(self, x):
                    if tf.reduce_max(x) > 1.0:  # eager: a Python bool
                        x = x / tf.reduce_max(x)
                    return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import keras
            import tensorflow as tf

            class Doubled(keras.layers.Layer):
                def call(self, x):
                    columns = []
                    for t in range(tf.shape(x)[1]):  # error: TFG510
                        columns.append(x[:, t] * 2.0)
                    return tf.stack(columns, axis=1)

            model = keras.Sequential([keras.Input((3,)), Doubled(), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            def clipped_mse(y_true, y_pred):
                loss = tf.reduce_mean(tf.square(y_true - y_pred))
                if loss > 1.0:  # error: TFG510
                    loss = tf.sqrt(loss)
                return loss

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss=clipped_mse)
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            def positive_rate(y_true, y_pred):
                return tf.reduce_mean(tf.cast(y_pred > 0, "float32"))

            def capped(y_true, y_pred):
                value = tf.reduce_max(y_pred)
                return value if value < 10.0 else tf.constant(10.0)  # error: TFG510

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile("sgd", "mse", metrics=[positive_rate], weighted_metrics=[capped])
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            class ClippedMSE(keras.losses.Loss):
                def call(self, y_true, y_pred):
                    loss = tf.reduce_mean(tf.square(y_true - y_pred))
                    if loss > 1.0:  # error: TFG510
                        loss = tf.sqrt(loss)
                    return loss

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss=ClippedMSE())
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class PositiveBatches(tf.keras.metrics.Metric):
                def __init__(self, name="positive_batches", **kwargs):
                    super().__init__(name=name, **kwargs)
                    self.count = self.add_variable(shape=(), initializer="zeros", name="count")

                def update_state(self, y_true, y_pred, sample_weight=None):
                    if tf.reduce_mean(y_pred) > 0:  # error: TFG510
                        self.count.assign_add(1.0)

                def result(self):
                    return self.count

            model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse", metrics=[PositiveBatches()])
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            class Gate(keras.layers.Layer):  # an old layer: Keras 2 converted this `call`
                def call(self, x):
                    if tf.reduce_sum(x) > 0:  # error: TFG510
                        x = x * 2.0
                    return x

            model = keras.Sequential([keras.Input((3,)), Gate(), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def halve_above(x, limit):
                if x > limit:  # error: TFG510
                    x = x / 2.0
                return x

            halve_above(tf.constant(3.0), 1.0)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def clip(x):
                if tf.reduce_max(x) > 1.0:  # error: TFG510
                    x = x / tf.reduce_max(x)
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Model(tf.keras.Model):
                def train_step(self, data):
                    x, y = data
                    loss = tf.reduce_mean(tf.square(self(x) - y))
                    if loss > 10.0:  # error: TFG510
                        loss = loss / 10.0
                    return {"loss": loss}
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None]), tf.TensorSpec([])])
            def find(x, target):
                for i in tf.range(tf.shape(x)[0]):  # error: TFG510
                    if x[i] == target:  # error: TFG510
                        break
                else:
                    i = -1
                return i
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Scaler(tf.Module):
                def __init__(self):
                    self.__scale = tf.Variable(2.0)

                @tf.function(input_signature=[tf.TensorSpec([None])])
                def __call__(self, x):
                    return x * self.__scale if tf.reduce_all(x > 0) else x  # error: TFG510
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            class Block(keras.layers.Layer):  # the module's own base class
                def get_config(self):
                    return {"name": self.name}

            class Gate(Block):  # a layer through `Block`
                def call(self, x):
                    if tf.reduce_sum(x) > 0:  # error: TFG510
                        x = x * 2.0
                    return x

            model = keras.Sequential([keras.Input((3,)), Gate(), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            class ClippedDense(keras.layers.Dense):  # Keras's own layers are layers too
                def call(self, x):
                    y = super().call(x)
                    if tf.reduce_max(y) > 1.0:  # error: TFG510
                        y = y / tf.reduce_max(y)
                    return y

            model = keras.Sequential([keras.Input((3,)), ClippedDense(1)])
            model.compile(optimizer="sgd", loss="mse")
            """
        ),
    )

    def _visit(self, node: ControlFlow) -> None:
        ctx = self.compiled_context(node)
        found = self.facts(node)
        if ctx is None or found is None:
            return
        facts = found.presumed(self.state.module)
        reason = facts.autograph_off_reason()
        if reason is None:
            return
        if self.under_eager_check(node):
            return  # `tf.executing_eagerly()` is False while tracing: never traced
        verdict = unconverted_verdict(node, facts, reason)
        if not verdict.fails:
            return
        text = verdict.text
        if not unconverted_verdict(node, found, reason).fails:
            # Only a parameter makes it a tensor: say so (a caller may pass a Python value).
            text = (
                text.replace(" is a tensor,", " is a tensor for tensor arguments,")
                .replace(" iterates a tensor,", " iterates a tensor for tensor arguments,")
                .replace(" gets a tensor,", " gets a tensor for tensor arguments,")
            )
        self.report(node, f"`{header(node, self)}` in {ctx.describe()} {text}", context=ctx)

    def visit_If(self, node: cst.If) -> None:
        self._visit(node)

    def visit_While(self, node: cst.While) -> None:
        self._visit(node)

    def visit_For(self, node: cst.For) -> None:
        self._visit(node)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._visit(node)
