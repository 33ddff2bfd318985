"""TFG506 generator-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.model import ContextKind
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, Rule

# Compiled bodies whose return value TensorFlow itself consumes (it must be tensors).
_RETURN_CONSUMED = frozenset(
    {
        ContextKind.DECORATED,
        ContextKind.WRAPPED,
        ContextKind.DATASET_CALLBACK,
        ContextKind.GRAPH_BODY,
    }
)


class _FirstYield(SameScopeVisitor):
    """The first `yield` of a function body, not looking into nested functions or classes."""

    def __init__(self) -> None:
        self.found: cst.Yield | None = None

    def visit_Yield(self, node: cst.Yield) -> None:
        if self.found is None:
            self.found = node


class GeneratorInTfFunction(Rule):
    """
    ## What it does
    Flags a `tf.function` (or a `Dataset.map` callback, or a `tf.map_fn`/`tf.while_loop`
    body) that is a generator: its body contains `yield` or `yield from`.

    ## Why is this bad?
    TensorFlow calls the function while tracing and expects tensors back; a generator function
    returns a generator object, so tracing fails with `TypeError: To be compatible with
    tf.function, Python functions must return zero or more Tensors or ExtensionTypes or None
    values; ... found return value of type generator` (verified on TensorFlow 2.21). AutoGraph
    never converts generators: a generator *helper* called from a tf.function runs as plain
    Python (its loops unrolled, and any tensor `if`/`while` in it fails, see TFG510), and TF
    2.12+ gives no warning about it.

    ## Example
    ```python
    @tf.function
    def batches(x):
        for i in range(3):
            yield x[i]
    ```

    ## Use instead
    Return tensors: build the values with `tf.stack`, a `tf.TensorArray` or
    `tf.data.Dataset`; keep Python generators outside compiled code (for example as the
    source of `tf.data.Dataset.from_generator`, which runs them eagerly).

    ## References
    - AutoGraph reference, "Limitations" (generators are not converted)
    """

    CODE = "TFG506"
    NAME = "generator-in-tf-function"
    SEVERITY = Severity.ERROR
    SUMMARY = "a `tf.function` (or graph callback) that is a generator (`yield`)"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            def gen():
                for i in range(3):
                    yield i  # eager Python generator feeding tf.data

            ds = tf.data.Dataset.from_generator(gen, output_signature=tf.TensorSpec([], tf.int64))
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def rows(x):
                ta = tf.TensorArray(tf.float32, size=3)
                for i in tf.range(3):
                    ta = ta.write(i, x[i])
                return ta.stack()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def pairs(xs):
                for a, b in zip(xs, xs[1:]):
                    yield a + b  # a helper generator: runs as Python, no tensor control flow

            @tf.function
            def total(x, y, z):
                return tf.add_n(list(pairs([x, y, z])))
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Feeder:
                def __iter__(self):
                    yield from range(3)

                @tf.function
                def step(self, x):
                    return x * 2
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def batches(x):
                for i in range(3):
                    yield x[i]  # error: TFG506
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def windows(x):
                yield from tf.unstack(x)  # error: TFG506

            compiled = tf.function(windows)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def expand(x):
                yield x  # error: TFG506
                yield x * 2

            ds = tf.data.Dataset.range(4).map(expand)
            """
        ),
    )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ctx = self.context_of_function(node)
        if ctx is None or ctx.kind not in _RETURN_CONSUMED:
            return
        finder = _FirstYield()
        walk(node.body, finder)
        if finder.found is None:
            return
        self.report(
            finder.found,
            f"{ctx.describe()} is a generator (`{self.code(finder.found)}`): tracing gets a "
            "generator, not tensors, and raises `TypeError`",
            context=ctx,
        )
