"""TFG204 deprecated-tf-function-argument."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Applicability, Fix, Invalid, Severity, Valid
from tfgraphlint.engine.rule import Confirmation, Rule

# Deprecated keyword -> (what TensorFlow does with it, the replacement to suggest).
_DEPRECATED: dict[str, tuple[str, str]] = {
    "experimental_relax_shapes": (
        "is deprecated since TF 2.9 (TensorFlow logs a warning)",
        "use `reduce_retracing={value}`",
    ),
    "experimental_compile": (
        "is a deprecated alias (TensorFlow logs a warning)",
        "use `jit_compile={value}`",
    ),
    "experimental_follow_type_hints": (
        "is ignored by recent TensorFlow, so Python values retrace again",
        "use `input_signature` or pass tensors",
    ),
}


# Deprecated keyword -> its new name, for the keywords that were only renamed.
_RENAMED = {"experimental_relax_shapes": "reduce_retracing", "experimental_compile": "jit_compile"}


class DeprecatedTfFunctionArgument(Rule):
    """
    ## What it does
    Flags the deprecated `tf.function` keyword arguments `experimental_relax_shapes`,
    `experimental_compile` and `experimental_follow_type_hints`, in every form: decorator
    call, `tf.function(f, ...)`, `tf.function(...)(f)`.

    ## Why is this bad?
    `experimental_relax_shapes` was renamed `reduce_retracing` in TF 2.9 and
    `experimental_compile` was renamed `jit_compile`; both old names log a deprecation warning
    (once per process, on TF 2.21) and will be removed. `experimental_follow_type_hints` is
    worse: TF 2.21 accepts it and then ignores it, so a function that relied on it to convert
    Python numbers passed to `tf.Tensor`-annotated parameters silently retraces for every new
    value again (checked on TF 2.21: 5 Python ints, 5 traces).

    ## Example
    ```python
    @tf.function(experimental_relax_shapes=True, experimental_compile=True)
    def encode(tokens):
        ...
    ```

    ## Use instead
    ```python
    @tf.function(reduce_retracing=True, jit_compile=True)
    def encode(tokens):
        ...
    ```
    For `experimental_follow_type_hints`, give an `input_signature` or pass tensors
    (`tf.constant(n)`) instead of Python numbers.

    ## Fix safety
    Renaming `experimental_relax_shapes` to `reduce_retracing` and `experimental_compile` to
    `jit_compile` is safe: TensorFlow maps the old names onto the new ones, so the function
    compiles exactly as before. There is no fix when the call already has the new keyword too
    (which value wins is for the author to decide), and none for
    `experimental_follow_type_hints`, which has no equivalent.

    ## Known problems
    `reduce_retracing` does not exist before TF 2.9 and `jit_compile` before TF 2.5; a project
    that must support older TensorFlow has to keep the old names (silence with `# noqa: TFG204`).

    ## References
    - `tf.function` API documentation (arguments section)
    - TensorFlow guide, "Better performance with tf.function", "Controlling retracing"
    """

    CODE = "TFG204"
    NAME = "deprecated-tf-function-argument"
    SEVERITY = Severity.WARNING
    SUMMARY = (
        "deprecated `tf.function` argument (`experimental_relax_shapes`, "
        "`experimental_compile`, `experimental_follow_type_hints`)"
    )

    CONFIRMED_BY = Confirmation.RETRACE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function(reduce_retracing=True, jit_compile=True)
            def encode(tokens):
                return tf.reduce_sum(tokens, axis=-1)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def compile_step(step):
                return tf.function(step, input_signature=[tf.TensorSpec([None], tf.int32)])
            """
        ),
        Valid(
            """
            def function(f, experimental_compile=False):  # a project's own `function`
                return f

            @function(experimental_compile=True)
            def step(x):
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            # Not tf.function: an unrelated keyword of the same name.
            layer = tf.keras.layers.Dense(4)
            config = dict(experimental_compile=True)
            """
        ),
    )
    FIX = Applicability.SAFE
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function(experimental_relax_shapes=True)  # error: TFG204
            def encode(tokens):
                return tf.reduce_sum(tokens, axis=-1)
            """,
            fixed="""
            import tensorflow as tf

            @tf.function(reduce_retracing=True)
            def encode(tokens):
                return tf.reduce_sum(tokens, axis=-1)
            """,
        ),
        Invalid(
            """
            import tensorflow as tf

            class Trainer:
                def __init__(self, model, use_xla):
                    self.model = model
                    if use_xla:
                        self.train_step = tf.function(
                            self.train_step, experimental_compile=True  # error: TFG204
                        )

                def train_step(self, x):
                    return self.model(x)
            """,
            fixed="""
            import tensorflow as tf

            class Trainer:
                def __init__(self, model, use_xla):
                    self.model = model
                    if use_xla:
                        self.train_step = tf.function(
                            self.train_step, jit_compile=True
                        )

                def train_step(self, x):
                    return self.model(x)
            """,
        ),
        Invalid(
            """
            from tensorflow import function

            @function(
                experimental_follow_type_hints=True,  # error: TFG204
                experimental_compile=False,  # error: TFG204
            )
            def scale(x: "tf.Tensor", factor: "tf.Tensor"):
                return x * factor
            """,
            fixed="""
            from tensorflow import function

            @function(
                experimental_follow_type_hints=True,  # error: TFG204
                jit_compile=False,
            )
            def scale(x: "tf.Tensor", factor: "tf.Tensor"):
                return x * factor
            """,
        ),
        Invalid(
            """
            import tensorflow.compat.v2 as tf

            predict = tf.function(experimental_relax_shapes=True)(lambda x: x * 2)  # error: TFG204
            """,
            fixed="""
            import tensorflow.compat.v2 as tf

            predict = tf.function(reduce_retracing=True)(lambda x: x * 2)
            """,
        ),
        Invalid(
            """
            import tensorflow as tf

            # Both spellings: which value is meant is for the author to say (no fix).
            @tf.function(experimental_compile=True, jit_compile=False)  # error: TFG204
            def step(x):
                return x * 2
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not self.is_tf(node.func, "function"):
            return
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value not in _DEPRECATED:
                continue
            problem, remedy = _DEPRECATED[arg.keyword.value]
            value = self.code(arg.value)
            self.report(
                arg,
                f"`tf.function` argument `{arg.keyword.value}` {problem}; "
                + remedy.format(value=value),
                fix=self._rename(node, arg.keyword),
            )

    def _rename(self, call: cst.Call, keyword: cst.Name) -> Fix | None:
        new = _RENAMED.get(keyword.value)
        if new is None or any(a.keyword is not None and a.keyword.value == new for a in call.args):
            return None
        return Fix.safe(f"Rename `{keyword.value}` to `{new}`", self.edit(keyword, new))
