"""TFG103 python-random-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.model import CompiledContext
from tfgraphlint.engine.rule import Confirmation, FileState, Rule
from tfgraphlint.rules.python_side_effect import OuterState, imported_qualnames

_MODULES = {"numpy.random.": "NumPy's", "random.": "Python's"}
# Names under those modules that neither draw numbers nor seed: constructors, state access.
_NOT_DRAWS = frozenset(
    {"default_rng", "get_state", "set_state", "getstate", "setstate", "get_bit_generator"}
)
_SEEDS = frozenset({"seed", "set_bit_generator"})
_GENERATORS = {
    "numpy.random.default_rng": "NumPy generator",
    "numpy.random.Generator": "NumPy generator",
    "numpy.random.RandomState": "NumPy generator",
    "numpy.random.mtrand.RandomState": "NumPy generator",
    "random.Random": "`random.Random` generator",
    "random.SystemRandom": "`random.Random` generator",
}
_GENERATOR_SEEDS = frozenset({"seed", "bit_generator", "spawn", "getstate", "setstate"})


class PythonRandomInTfFunction(Rule):
    """
    ## What it does
    Flags calls to Python's `random` module and to `numpy.random` in a compiled body, and
    draws from a NumPy or `random.Random` generator object created outside it
    (`rng.normal()` with `rng = np.random.default_rng()`).

    ## Why is this bad?
    Python code runs only while TensorFlow traces the function. The number is drawn once,
    during tracing, and the graph keeps it as a constant: every later call sees the same
    "random" value (the same crop, the same dropout mask, the same noise). Seeding
    (`np.random.seed`, `random.seed`) in a compiled body also happens only while tracing.

    ## Example
    ```python
    @tf.function
    def augment(image):
        if np.random.rand() < 0.5:
            image = tf.image.flip_left_right(image)
        return image
    ```

    ## Use instead
    TensorFlow's random ops, which run on every call: `tf.random.uniform(...)`,
    a `tf.random.Generator` created outside the function (`gen.normal(...)`), or the
    stateless `tf.random.stateless_*` ops with a seed tensor. To seed, call
    `tf.random.set_seed` outside the function instead of seeding Python's or NumPy's
    generator inside it.

    ## Known problems
    A draw meant to be a fixed constant (a seeded projection matrix built while tracing) is
    reported too; build such constants outside the function.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
    - TensorFlow guide, "Random number generation"
    """

    CODE = "TFG103"
    NAME = "python-random-in-tf-function"
    SEVERITY = Severity.WARNING
    SUMMARY = "`random`/`numpy.random` draw in a compiled body (drawn once, frozen into the graph)"

    CONFIRMED_BY = Confirmation.FROZEN_VALUE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def augment(image):
                if tf.random.uniform([]) < 0.5:  # a graph op: a new draw on every call
                    image = tf.image.flip_left_right(image)
                return image
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            INIT = np.random.default_rng(0).normal(size=(4, 4))  # eager, at import

            @tf.function
            def project(x):
                return tf.matmul(x, tf.constant(INIT, tf.float32))
            """
        ),
        Valid(
            """
            import random

            import tensorflow as tf

            def shuffled(files):
                random.shuffle(files)  # eager Python, not traced
                return tf.data.Dataset.from_tensor_slices(files)
            """
        ),
        Valid(
            """
            import numpy as np
            import tensorflow as tf

            def noise(x):
                return x + np.random.normal(size=x.shape)  # runs eagerly on every call

            @tf.function
            def step(x):
                return tf.numpy_function(noise, [x], tf.float64)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Sampler:
                def __init__(self):
                    self.random = tf.random.Generator.from_seed(1)

                @tf.function
                def __call__(self, shape):
                    return self.random.normal(shape)  # a tf.random.Generator draw
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def augment(image):
                if np.random.rand() < 0.5:  # error: TFG103
                    image = tf.image.flip_left_right(image)
                return image
            """
        ),
        Invalid(
            """
            import random

            import tensorflow as tf

            def jitter(x):
                return x * random.uniform(0.9, 1.1)  # error: TFG103

            ds = tf.data.Dataset.range(8).map(lambda x: jitter(tf.cast(x, tf.float32)))
            """
        ),
        Invalid(
            """
            from numpy.random import default_rng

            import tensorflow as tf

            rng = default_rng()

            @tf.function
            def add_noise(x):
                return x + rng.normal(size=(3,))  # error: TFG103
            """
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf

            @tf.function
            def step(x):
                np.random.seed(0)  # error: TFG103
                return x * 2
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.outer = OuterState(self)

    def visit_Call(self, node: cst.Call) -> None:
        ctx = self.compiled_context(node)
        if ctx is None:
            return
        for qn in sorted(imported_qualnames(self, node.func)):
            for prefix, owner in _MODULES.items():
                rest = qn[len(prefix) :] if qn.startswith(prefix) else ""
                if rest.isidentifier() and rest[0].islower() and rest not in _NOT_DRAWS:
                    self._report(node, ctx, f"{owner} global generator", rest in _SEEDS)
                    return
        func = node.func
        if isinstance(func, cst.Attribute) and not func.attr.value.startswith("_"):
            held = self.outer.classify(func.value, self._generator_kind)
            if held is not None:
                self._report(node, ctx, held.label(), func.attr.value in _GENERATOR_SEEDS)

    def _generator_kind(self, value: cst.BaseExpression | None) -> str | None:
        if not isinstance(value, cst.Call):
            return None
        kinds = {_GENERATORS.get(qn) for qn in imported_qualnames(self, value.func)}
        kinds.discard(None)
        return kinds.pop() if len(kinds) == 1 else None

    def _report(self, node: cst.Call, ctx: CompiledContext, source: str, seeds: bool) -> None:
        call = f"`{self.code(node)}`"
        if seeds:
            message = (
                f"{call} in {ctx.describe()} sets the state of {source} only while "
                "tracing, not on every call"
            )
        else:
            message = (
                f"{call} in {ctx.describe()} draws from {source} once, at trace time: every "
                "call reuses that value"
            )
        self.report(node, message, context=ctx)
