"""TFG401 eager-only-call."""

from __future__ import annotations

import re

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.model import CompiledContext, ModuleDiscovery
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.provider import CompiledContextProvider
from tfgraphlint.discovery.tensors import Kind
from tfgraphlint.engine.rule import Confirmation, Rule

# Keras backend helpers that call `.numpy()` on a tensor argument (variables are fine).
_KERAS_EVAL = frozenset(
    {
        *names.under_tf("keras.backend.eval", "keras.backend.get_value"),
        "keras.backend.eval",
        "keras.backend.get_value",
        "tf_keras.backend.eval",
        "tf_keras.backend.get_value",
    }
)
# Keras 3's `convert_to_numpy`: NumPy's conversion of a symbolic tensor raises.
_KERAS_TO_NUMPY = frozenset(
    {
        "keras.ops.convert_to_numpy",
        "keras.src.ops.convert_to_numpy",
        "keras.src.ops.core.convert_to_numpy",
        *names.under_tf("keras.ops.convert_to_numpy"),
    }
)
# In the text of a module: a Keras driver that traces a model's `call`, or a Keras input
# (a functional or `Sequential` model built on one calls its layers on symbolic tensors).
_KERAS_DRIVER = re.compile(r"\.\s*(?:fit|predict|evaluate)\s*\(|\bInput(?:Layer)?\s*\(")
# Words in an `if` test that mean the branch checks for eager execution or for a NumPy value.
_GUARD_WORDS = ("executing_eagerly", "numpy", "isinstance", "is_tensor", "EagerTensor")


class EagerOnlyCall(Rule):
    """
    ## What it does
    Flags calls that need a concrete (eager) value in a compiled body: `x.numpy()`,
    `x.item()` on a tensor, `tf.keras.backend.eval(t)` / `get_value(t)` and Keras 3's
    `keras.ops.convert_to_numpy(t)` on a tensor.

    ## Why is this bad?
    While TensorFlow traces a function, tensors are symbolic: they have a dtype and a shape
    but no value yet. The first call fails (TF 2.21):

    - `AttributeError: 'SymbolicTensor' object has no attribute 'numpy'` (TF 2.12 and older:
      `'Tensor' object has no attribute 'numpy'`);
    - on a `tf.Variable`: `NotImplementedError: numpy() is only available when eager
      execution is enabled.`;
    - `K.eval(t)` / `K.get_value(t)` call `t.numpy()` and fail the same way;
    - `keras.ops.convert_to_numpy(t)`: `NotImplementedError: Cannot convert a symbolic
      tf.Tensor (...) to a numpy array.`

    ## Example
    ```python
    @tf.function
    def train_step(x, y):
        loss = compute_loss(x, y)
        history.append(loss.numpy())
        return loss
    ```

    ## Use instead
    Return the tensor and convert it outside the compiled function, or use `tf.print` for
    logging:
    ```python
    @tf.function
    def train_step(x, y):
        return compute_loss(x, y)

    history.append(train_step(x, y).numpy())
    ```

    ## Known problems
    When the receiver of `.numpy()` may or may not be a tensor (a parameter, an attribute),
    the finding says "if `x` is a tensor" and is a warning. Branches guarded by
    `tf.executing_eagerly()`, `isinstance(...)` or `hasattr(x, "numpy")` are skipped, and so
    are functions run through `tf.py_function` (also through a name that every assignment in
    its scope binds to `tf.py_function`, `tf.numpy_function` or `py_func`).

    In a Keras `call` (checked by default for what fails when Keras 3 traces it), a finding
    needs the module itself to show that models are traced: a `tf.function`, a `fit`,
    `predict` or `evaluate` call, or a Keras `Input` (a model built on one calls its layers on
    symbolic tensors). `.numpy()` in a `call` fails when traced on every TF 2
    version, Keras 2 included, so a `call` that uses it in working code belongs to a model
    its project calls eagerly (in user repositories, every such finding without that
    evidence was false). `keras-call = true` reports them all.

    ## References
    - TensorFlow guide, "Introduction to graphs and tf.function"
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
    """

    CODE = "TFG401"
    NAME = "eager-only-call"
    SEVERITY = Severity.ERROR
    SUMMARY = (
        "`.numpy()`, `.item()`, `K.eval` / `K.get_value`, `ops.convert_to_numpy` on a tensor "
        "in a compiled body"
    )

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            class Probe(tf.keras.Model):
                def __init__(self):
                    super().__init__()
                    self.dense = tf.keras.layers.Dense(1)
                    self.seen = []

                def call(self, inputs):
                    return self.dense(inputs)

                def train_step(self, data):
                    x, y = data
                    loss = tf.reduce_mean(tf.square(self(x) - y))
                    self.seen.append(loss.numpy())  # driven by hand below: runs eagerly
                    return {"loss": loss}

            def get_model():
                inputs = tf.keras.layers.Input(shape=(1,))
                model = tf.keras.Model(inputs, tf.keras.layers.Dense(1)(inputs))
                return model

            probe = Probe()
            for _ in range(3):
                probe.train_step((np.ones((4, 1), "float32"), np.zeros((4, 1), "float32")))

            other = get_model()  # the model that `fit` traces is another one
            other.compile(optimizer="sgd", loss="mse")
            other.fit(np.ones((4, 1)), np.zeros((4, 1)), verbose=0)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x):
                return tf.reduce_sum(x)

            total = step(tf.ones([3])).numpy()  # eager: fine
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def scale(x):
                table = np.arange(4)
                return x * table.sum().item()  # NumPy values: trace-time constants
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def to_host(t):
                return t.numpy()  # runs eagerly inside tf.py_function

            @tf.function
            def step(x):
                return tf.py_function(to_host, [x], tf.float32)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def double(t):
                return t.numpy() * 2  # eager: `run` is `tf.py_function` whichever branch ran

            def scale(x, new_api=True):
                if new_api:
                    run = tf.py_function
                else:
                    run = tf.compat.v1.py_func
                return run(double, [x], tf.float32)

            dataset = tf.data.Dataset.from_tensor_slices([1.0, 2.0]).map(scale)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def summarize(x):
                if tf.executing_eagerly():  # False while tracing: never runs in the graph
                    print(x.numpy())
                return tf.reduce_mean(x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            lr = tf.Variable(0.1)

            @tf.function
            def decayed():
                return tf.keras.backend.get_value(lr) * 0.5  # a variable: works in a graph
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            class Probe(tf.keras.Model):
                def __init__(self):
                    super().__init__()
                    self.dense = tf.keras.layers.Dense(1)
                    self.seen = []

                def call(self, inputs):
                    return self.dense(inputs)

                def fit(self, x, y, epochs=1):  # its own fit: Keras's never runs
                    for _ in range(epochs):
                        self.train_step((x, y))

                def train_step(self, data):
                    x, y = data
                    loss = tf.reduce_mean(tf.square(self(x) - y))
                    self.seen.append(loss.numpy())  # called by the own fit: runs eagerly
                    return {"loss": loss}

            probe = Probe()
            probe.fit(np.ones((4, 1), "float32"), np.zeros((4, 1), "float32"), epochs=3)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            tf.compat.v1.enable_eager_execution()  # TensorFlow 1 code: no Keras 3 tracing

            class Scale(tf.keras.layers.Layer):
                def call(self, x):
                    return x / float(tf.reduce_max(x).numpy())  # x is an EagerTensor

            scaled = Scale()(tf.constant([[1.0, 4.0]]))
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Peak(tf.keras.layers.Layer):
                def call(self, x):
                    return x / float(tf.reduce_max(x).numpy())  # a model called eagerly

            peak = Peak()
            with tf.GradientTape() as tape:
                tape.watch(inputs := tf.constant([[1.0, 4.0]]))
                peaked = peak(inputs)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            tf.config.run_functions_eagerly(True)  # every function of the program runs eagerly

            @tf.function
            def total(x):
                return float(x.numpy().sum())  # `x` is an eager tensor here

            result = total(tf.constant([1.0, 2.0]))
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf
            from keras import ops

            @tf.function
            def running_total(x):
                totals = ops.convert_to_numpy(ops.cumsum(x))  # error: TFG401
                return float(totals[-1])
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            def mean_prediction(y_true, y_pred):
                return float(tf.reduce_mean(y_pred).numpy())  # error: TFG401

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse", metrics=[mean_prediction])
            """
        ),
        Invalid(
            """
            import keras
            import numpy as np

            class Lookup(keras.layers.Layer):
                def call(self, ids):
                    return np.take(np.arange(10.0), ids.numpy())  # error: TFG401

            model = keras.Sequential([keras.Input((3,), dtype="int32"), Lookup()])
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def f(x, y):
                return (x + y).numpy()  # error: TFG401
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x, y):
                loss = tf.reduce_mean(tf.square(x - y))
                if loss.numpy() > 10.0:  # error: TFG401
                    tf.print("diverging")
                return loss
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def log_metric(value):
                print("metric", value.numpy())  # error: TFG401

            @tf.function
            def evaluate(model, x):
                log_metric(model(x))
                return model(x)
            """
        ),
        Invalid(
            """
            import tensorflow as tf
            from tensorflow.keras import backend as K

            @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
            def normalize(x):
                peak = K.eval(tf.reduce_max(x))  # error: TFG401
                return x / peak, x.numpy()  # error: TFG401
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and not node.args:
            if func.attr.value in ("numpy", "item"):
                self._check_method(node, func)
        elif self.qualnames(func) & _KERAS_EVAL and node.args:
            self._check_keras_eval(node, node.args[0].value)
        elif self.qualnames(func) & _KERAS_TO_NUMPY and node.args:
            self._check_keras_eval(node, node.args[0].value, to_numpy=True)

    _traces_models: bool | None = None

    def _unseen_keras_call(self, ctx: CompiledContext) -> bool:
        """Whether `ctx` is a Keras `call` found by default (or code it calls) in a module that
        shows no model traced: no tf.function (called, or a context of its own), and no
        `fit`/`predict`/`evaluate` call or Keras `Input` in its whole text (the slicer may blank
        them)."""
        if not ctx.breaking_only:
            return False
        if self._traces_models is None:
            found = self.get_metadata(CompiledContextProvider, self.state.module, None)
            self._traces_models = bool(_KERAS_DRIVER.search(self.state.text)) or (
                isinstance(found, ModuleDiscovery) and not found.only_default_keras_calls
            )
        return not self._traces_models

    def _check_method(self, node: cst.Call, func: cst.Attribute) -> None:
        facts = self.facts(node)
        ctx = self.compiled_context(node)
        if facts is None or ctx is None or self._guarded(node) or self._unseen_keras_call(ctx):
            return
        receiver = func.value
        kind = facts.kind(receiver)
        method = func.attr.value
        if kind is Kind.PYTHON or (kind is Kind.UNKNOWN and method != "numpy"):
            return
        text = self.code(receiver)
        consequence = (
            f"`{self.code(node)}` in {ctx.describe()} fails while tracing (a `SymbolicTensor` "
            f"has no `.{method}()`)"
        )
        if kind is Kind.TENSOR:
            self.report(node, consequence, context=ctx)
        else:
            self.report(
                node,
                f"if `{text}` is a tensor, {consequence}",
                severity=Severity.WARNING,
                context=ctx,
            )

    def _check_keras_eval(
        self, node: cst.Call, arg: cst.BaseExpression, *, to_numpy: bool = False
    ) -> None:
        facts = self.facts(node)
        ctx = self.compiled_context(node)
        if facts is None or ctx is None or self._guarded(node) or self._unseen_keras_call(ctx):
            return
        if facts.kind(arg) is not Kind.TENSOR:
            return
        what = (
            f"converts the symbolic tensor `{self.code(arg)}` to NumPy, which raises "
            "`NotImplementedError` while tracing"
            if to_numpy
            else f"calls `.numpy()` on the symbolic tensor `{self.code(arg)}` and fails while "
            "tracing"
        )
        self.report(
            node,
            f"`{self.code(node)}` in {ctx.describe()} {what}; use the tensor itself",
            context=ctx,
        )

    def _guarded(self, node: cst.CSTNode) -> bool:
        """Whether `node` is in a function that checks for eager execution or NumPy values
        (`if tf.executing_eagerly():`, `isinstance(x, np.ndarray)`, `hasattr(x, "numpy")`)."""
        func = self.enclosing_function(node)
        child: cst.CSTNode = node
        parent = self.get_metadata(ParentProvider, child, None)
        while parent is not None and parent is not func:
            if isinstance(parent, cst.If | cst.IfExp) and child is not parent.test:
                test = self.state.module.code_for_node(parent.test)
                if any(word in test for word in _GUARD_WORDS):
                    return True
            child = parent
            parent = self.get_metadata(ParentProvider, child, None)
        if func is None:
            return False
        body = self.state.module.code_for_node(func.body)
        return "executing_eagerly" in body
