"""TFG101 print-in-tf-function."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import QualifiedNameSource

from tfgraphlint._types import Applicability, Fix, Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.model import autograph_feature_on
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.provider import CompiledContextProvider
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, Rule

_TF_PRINT = names.under_tf("print")


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

    ## Fix safety
    The fix, `print(...)` to `tf.print(...)`, is unsafe: it changes what runs and what is
    shown. `tf.print` prints on every call instead of once per trace, shows tensor values
    instead of symbolic tensors, formats them its own way, and writes to stderr, not stdout.
    It is offered only for a `print(...)` statement with plain positional arguments (no
    `sep=`/`end=`/`file=`, no `*args`), none of which formats text (an f-string, `%`,
    `.format()`, `str()`, `repr()`: the tensor would be turned into text once, at trace time),
    in a file where `tf` (or `tensorflow`) names the imported TensorFlow module.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
    """

    CODE = "TFG101"
    NAME = "print-in-tf-function"
    SEVERITY = Severity.WARNING
    SUMMARY = "builtin `print` in a compiled body (runs only while tracing)"
    FIX = Applicability.UNSAFE

    CONFIRMED_BY = Confirmation.TRACE_EFFECT
    VALID = (
        Valid(
            """
            import keras

            class Probe(keras.layers.Layer):
                def call(self, x):
                    print("Probe input shape:", x.shape)  # a Keras `call` is checked only
                    return x  # for what fails there, unless `keras-call = true`
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(
                experimental_autograph_options=tf.autograph.experimental.Feature.BUILTIN_FUNCTIONS
            )
            def step(x):
                print("x:", x)  # converted to a `py_func`: prints on every call
                return x
            """
        ),
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
        Valid(
            """
            import tensorflow as tf

            DEBUG = False  # bound once, never rebound: the branch below never runs

            @tf.function
            def step(x):
                if DEBUG:
                    print("step", x)
                return x * 2
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def log_values(y):
                print("y =", y.numpy())  # runs eagerly on every call, in tf.py_function
                return y

            @tf.function
            def evaluate(log_fn, y):
                return tf.py_function(log_fn, [y], tf.float32)

            evaluate(log_values, tf.constant([1.0, 2.0]))
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import keras
            import tensorflow as tf

            def logged_mse(y_true, y_pred):
                loss = tf.reduce_mean(tf.square(y_true - y_pred))
                print("loss:", loss)  # error: TFG101
                return loss

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss=logged_mse)
            """,
            fixed="""
            import keras
            import tensorflow as tf

            def logged_mse(y_true, y_pred):
                loss = tf.reduce_mean(tf.square(y_true - y_pred))
                tf.print("loss:", loss)
                return loss

            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss=logged_mse)
            """,
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def step(x):
                print("x =", x)  # error: TFG101
                return x * 2
            """,
            fixed="""
            import tensorflow as tf

            @tf.function
            def step(x):
                tf.print("x =", x)
                return x * 2
            """,
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def step(x, total):
                print(f"x = {x}")  # error: TFG101
                print("total:", total, sep="")  # error: TFG101
                return x * 2
            """
            # No fix: the f-string freezes the symbolic tensor into text at trace time, and
            # `sep=` is not passed on.
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
        Invalid(
            """
            import tensorflow as tf

            def squared_error(y):
                print("y =", y)  # error: TFG101
                return tf.reduce_sum(y * y)

            @tf.function
            def evaluate(loss_fn, y):
                return loss_fn(y)  # traces the function passed as `loss_fn`

            evaluate(squared_error, tf.constant([1.0, 2.0]))
            """,
            fixed="""
            import tensorflow as tf

            def squared_error(y):
                tf.print("y =", y)
                return tf.reduce_sum(y * y)

            @tf.function
            def evaluate(loss_fn, y):
                return loss_fn(y)  # traces the function passed as `loss_fn`

            evaluate(squared_error, tf.constant([1.0, 2.0]))
            """,
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            class Scale(keras.Model):
                def call(self, x):
                    print("x =", x)  # error: TFG101
                    return 2.0 * x

            scale = Scale()

            @tf.function
            def step(x):
                return scale(x)  # traces `Scale.call`
            """,
            fixed="""
            import keras
            import tensorflow as tf

            class Scale(keras.Model):
                def call(self, x):
                    tf.print("x =", x)
                    return 2.0 * x

            scale = Scale()

            @tf.function
            def step(x):
                return scale(x)  # traces `Scale.call`
            """,
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            class Double(keras.layers.Layer):
                def call(self, x):
                    print("x =", x)  # error: TFG101
                    return 2.0 * x

            class Net(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.double = Double()

                def call(self, x):
                    return self.double(x)  # traced when `Net.call` is

            class Trainer:
                def __init__(self):
                    self.net = Net()

                @tf.function
                def step(self, x):
                    return self.net(x)  # traces `Net.call`

            trainer = Trainer()
            """,
            fixed="""
            import keras
            import tensorflow as tf

            class Double(keras.layers.Layer):
                def call(self, x):
                    tf.print("x =", x)
                    return 2.0 * x

            class Net(keras.Model):
                def __init__(self):
                    super().__init__()
                    self.double = Double()

                def call(self, x):
                    return self.double(x)  # traced when `Net.call` is

            class Trainer:
                def __init__(self):
                    self.net = Net()

                @tf.function
                def step(self, x):
                    return self.net(x)  # traces `Net.call`

            trainer = Trainer()
            """,
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if "builtins.print" not in self.qualnames(node.func):
            return
        ctx = self.compiled_context(node)
        if ctx is None:
            return
        discovery = self.get_metadata(CompiledContextProvider, self.state.module, None)
        if autograph_feature_on(ctx, discovery, "BUILTIN_FUNCTIONS"):
            return  # AutoGraph turns `print` into a `py_func` that runs on every call
        self.report(
            node,
            f"`print()` in {ctx.describe()} runs only while tracing, not on every call; "
            "use `tf.print()`",
            context=ctx,
            fix=self._to_tf_print(node),
        )

    def _to_tf_print(self, node: cst.Call) -> Fix | None:
        if not isinstance(node.func, cst.Name):
            return None
        if not isinstance(self.get_metadata(ParentProvider, node, None), cst.Expr):
            return None  # a value is used (`print(x) or x`): `tf.print` returns an op
        for arg in node.args:
            if arg.keyword is not None or arg.star:
                return None
            finder = _TextFormatting()
            walk(arg.value, finder)
            if finder.found:
                return None
        module = self._tf_module_name(node)
        if module is None:
            return None
        return Fix.unsafe(
            f"Replace `print` with `{module}.print`", self.edit(node.func, f"{module}.print")
        )

    def _tf_module_name(self, node: cst.CSTNode) -> str | None:
        """`tf` or `tensorflow` when that name, where `node` is, is the imported module."""
        scope = self.get_metadata(FastScopeProvider, node, None)
        if scope is None:
            return None
        for candidate in ("tf", "tensorflow"):
            found = scope.get_qualified_names_for(f"{candidate}.print")
            if found and all(
                q.source is QualifiedNameSource.IMPORT and q.name in _TF_PRINT for q in found
            ):
                return candidate
        return None


class _TextFormatting(cst.CSTVisitor):
    """Finds text formatting: f-strings, `%` on a string, `.format()`, `str()`, `repr()`."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self.found = True

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Modulo) and isinstance(
            node.left, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString
        ):
            self.found = True

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (isinstance(func, cst.Attribute) and func.attr.value == "format") or (
            isinstance(func, cst.Name) and func.value in ("str", "repr", "format")
        ):
            self.found = True
