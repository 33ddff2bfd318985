"""TFG402 numpy-call-on-tensor."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.tensors import Kind
from tfgraphlint.engine.rule import Confirmation, Rule

# NumPy functions that accept a symbolic tensor without converting it (checked on TF 2.21:
# they read `.shape`/`.ndim` or dispatch to the tensor's own methods).
_TENSOR_SAFE = frozenset(
    {
        "numpy.shape",
        "numpy.ndim",
        "numpy.isscalar",
        "numpy.dtype",
        "numpy.iterable",
    }
)


class NumpyCallOnTensor(Rule):
    """
    ## What it does
    Flags NumPy functions called on a tensor in a compiled body: `np.mean(t)`,
    `np.array(t)`, `np.asarray(t)`, `np.float32(t)`, `np.clip(t, 0, 1)`... It reports
    arguments known to be tensors: results of TF ops, parameters an `input_signature`
    covers, and the parameters TensorFlow converts to tensors: those of a tf.function
    without a default (a NumPy array passed in becomes a tensor too), the first argument of
    a Keras `call` and `y_true`/`y_pred`.

    ## Why is this bad?
    NumPy needs concrete values, but tensors are symbolic while TensorFlow traces the
    function. The first call fails (TF 2.21):

    `NotImplementedError: Cannot convert a symbolic tf.Tensor (x:0) to a numpy array. This
    error may indicate that you're trying to pass a Tensor to a NumPy call, which is not
    supported.`

    (or a `TypeError` when the tensor is a size or shape argument, as in
    `np.random.normal(size=tf.shape(x))`). NumPy calls on Python values are fine, but they
    run once, at trace time, and their result is frozen into the graph as a constant.

    ## Example
    ```python
    @tf.function
    def normalize(pixels):
        x = tf.cast(pixels, tf.float32)
        return (x - np.mean(x)) / np.std(x)
    ```

    ## Use instead
    The TensorFlow op (`tf.reduce_mean`, `tf.math.reduce_std`, `tf.clip_by_value`...) or
    `tf.experimental.numpy`, whose functions are graph ops:
    ```python
    @tf.function
    def normalize(pixels):
        x = tf.cast(pixels, tf.float32)
        return (x - tf.reduce_mean(x)) / tf.math.reduce_std(x)
    ```

    ## Known problems
    A tf.function parameter stays a Python value when the caller passes a list or a Python
    number. It is not reported when a call in the same module passes one (`clip([1, 2])`),
    when it has a default, or when the body uses it as a Python value (`cfg.lr`, `if flag:`,
    `x is None`, `a, b = x`); a caller in another module is not seen, and the message says
    "unless the caller passes a list or a Python number". Shape-only uses (`x.shape`,
    `np.prod(x.shape[1:])`, `x.dtype`), `np.shape`, `np.ndim` and `np.isscalar` work on
    symbolic tensors and are not reported.

    ## References
    - TensorFlow guide, "Better performance with tf.function" ("NumPy and Python calls are
      converted to constants")
    """

    CODE = "TFG402"
    NAME = "numpy-call-on-tensor"
    SEVERITY = Severity.ERROR
    SUMMARY = "NumPy function applied to a tensor in a compiled body"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def flatten(x):
                x = tf.convert_to_tensor(x)
                units = np.prod(x.shape[1:])  # static shape: Python ints
                return tf.reshape(x, [-1, units]) * np.float32(0.5)
            """
        ),
        Valid(
            """
            import tensorflow as tf
            import tensorflow.experimental.numpy as tnp

            @tf.function
            def normalize(x):
                x = tf.cast(x, tf.float32)
                return (x - tnp.mean(x)) / tnp.std(x)  # graph ops
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def scale(x):
                return x * np.sqrt(2.0) + np.pi  # constants computed at trace time
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            def host_stats(t):
                return np.float32(np.mean(t))  # runs eagerly through tf.numpy_function

            @tf.function
            def stats(x):
                y = tf.square(x)
                return tf.numpy_function(host_stats, [y], tf.float32)
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def rank_of(x):
                y = tf.abs(x)
                return np.ndim(y), np.shape(y)  # work on symbolic tensors
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def clip(x):
                return np.clip(x, 0, 1)  # the caller below passes a list: it stays a list

            clip([0.5, 2.0])
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def scaled(config, x, training):
                if training:  # a flag: a Python bool
                    x = x * np.float32(training)
                return x * np.float32(config.scale)  # `config` is an object, not a tensor
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def flatten(x):
                n = np.prod(x.shape[1:]) * np.prod(x.shape.as_list()[1:])  # static shapes
                return tf.reshape(x, [-1, n]) if x.dtype == tf.float32 else x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def normalize(pixels):
                x = tf.cast(pixels, tf.float32)
                return (x - np.mean(x)) / np.std(x)  # error: TFG402, TFG402
            """
        ),
        Invalid(
            """
            import numpy
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
            def to_host(points):
                return numpy.asarray(points)  # error: TFG402
            """
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf

            def augment(image, label):
                image = tf.image.random_flip_left_right(image)
                noise = np.random.normal(0.0, 0.1, size=tf.shape(image))  # error: TFG402
                return image + noise, label

            dataset = tf.data.Dataset.from_tensor_slices((images, labels)).map(augment)
            """
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def threshold(logits):
                probs = tf.nn.sigmoid(logits)
                return tf.constant(np.float32(probs) > 0.5)  # error: TFG402
            """
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def clip(x):
                return np.clip(x, 0, 1)  # error: TFG402

            clip(np.array([0.5, 2.0]))  # the array becomes a tensor inside
            """
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def to_host(x):
                return tf.constant(np.asarray(x[1:]) * 2)  # error: TFG402

            to_host(tf.constant([1.0, 2.0]))
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        qns = self.qualnames(node.func)
        func = next((q for q in sorted(qns) if q.startswith("numpy.")), None)
        if func is None or func in _TENSOR_SAFE:
            return
        if any(not q.startswith("numpy.") for q in qns):
            return  # the name may be something else too (`import numpy as tf` then TF)
        facts = self.facts(node)
        ctx = self.compiled_context(node)
        if facts is None or ctx is None:
            return
        presumed = facts.presumed(self.state.module)
        tensor = next((a.value for a in node.args if presumed.kind(a.value) is Kind.TENSOR), None)
        if tensor is None:
            return
        if facts.kind(tensor) is Kind.TENSOR:
            what = f"the symbolic tensor `{self.code(tensor)}`"
        else:
            what = (
                f"`{self.code(tensor)}`, a symbolic tensor unless the caller passes a list or "
                "a Python number (a NumPy array becomes a tensor),"
            )
        self.report(
            node,
            f"`{self.code(node)}` in {ctx.describe()} passes {what} to NumPy, which fails "
            "while tracing",
            context=ctx,
        )
