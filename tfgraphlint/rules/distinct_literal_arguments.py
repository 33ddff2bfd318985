"""TFG207 distinct-literal-arguments."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.engine import call_sites
from tfgraphlint.engine.rule import Confirmation, FileState, Rule


@dataclass
class _Uses:
    """The number literals one parameter of one compiled function receives in one scope."""

    target: call_sites.Target
    param: str
    values: dict[str, cst.Arg] = field(default_factory=dict)  # literal -> first argument


class DistinctLiteralArguments(Rule):
    """
    ## What it does
    Flags a `tf.function` of the same module that one scope (a function body, or the module)
    calls with two or more different Python number literals for the same parameter:
    `scale(x, 7)` and then `scale(x, 9)`. Off by default: calling a function once per
    setting is often deliberate, and then each trace is paid once.

    ## Why is this bad?
    Python numbers are part of the trace cache key by value: each distinct number traces
    and compiles the function again (on TF 2.21, `f(x, 7); f(x, 9); f(x, 7)` traces twice).
    When the number is data rather than a setting (a threshold, a scale, a step), the cost
    grows with every new value, and the graphs stay in the cache.

    ## Example
    ```python
    @tf.function
    def scale(x, factor):
        return x * factor

    a = scale(x, 0.5)
    b = scale(x, 2.0)
    ```

    ## Use instead
    Pass the value as a tensor, so that one graph serves every value:
    ```python
    a = scale(x, tf.constant(0.5))
    b = scale(x, tf.constant(2.0))
    ```
    or give the function an `input_signature`, which converts Python numbers to tensors.

    ## Known problems
    Only literals (not names bound to them), only calls of the same module, and only one
    scope at a time are compared. `True`/`False` and strings are not counted: they are
    usually modes, and a mode per trace is what `tf.function` is for.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Rules of tracing" and
      "Pass tensors instead of python literals"
    """

    CODE = "TFG207"
    NAME = "distinct-literal-arguments"
    REACH = "call-sites"
    SEVERITY = Severity.WARNING
    SUMMARY = "`tf.function` called with different Python number literals for one parameter"
    DEFAULT_ENABLED = False

    CONFIRMED_BY = Confirmation.RETRACE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x, factor):
                return x * factor

            x = tf.ones([3])
            a = scale(x, tf.constant(0.5))
            b = scale(x, tf.constant(2.0))  # tensors: one trace
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x, factor):
                return x * factor

            x = tf.ones([3])
            a = scale(x, 2.0)
            b = scale(x + 1.0, 2.0)  # the same number: one trace
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([3]), tf.TensorSpec([])])
            def scale(x, factor):
                return x * factor

            x = tf.ones([3])
            a = scale(x, 0.5)
            b = scale(x, 2.0)  # converted to tensors by the input_signature
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x, factor):
                return x * factor

            x = tf.ones([3])
            a = scale(x, 7)
            b = scale(x, 9)  # error: TFG207
            c = scale(x, 7)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def threshold(x, cutoff=0.5):
                return tf.cast(x > cutoff, tf.float32)

            def report(x):
                low = threshold(x, cutoff=0.1)
                high = threshold(x, cutoff=0.9)  # error: TFG207
                return low, high

            report(tf.linspace(0.0, 1.0, 5))
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self._uses: dict[tuple[int, int, str], _Uses] = {}

    def visit_Call(self, node: cst.Call) -> None:
        target = call_sites.eager_target(self, node)
        scope = self.get_metadata(FastScopeProvider, node, None)
        if target is None or scope is None:
            return
        for arg, param in call_sites.arguments(target, node):
            literal = _number(arg.value)
            if param is None or literal is None:
                continue
            key = (id(scope), id(target.func), param)
            uses = self._uses.setdefault(key, _Uses(target, param))
            uses.values.setdefault(literal, arg)

    def leave_Module(self, original_node: cst.Module) -> None:
        for uses in self._uses.values():
            if len(uses.values) < 2:
                continue
            (first, first_arg), (second, second_arg) = list(uses.values.items())[:2]
            count = len(uses.values)
            self.report(
                second_arg,
                f"`{second}` passed as `{uses.param}` to tf.function "
                f"`{uses.target.ctx.qualname}`, called with `{first}` at line "
                f"{self.line_of(first_arg)}: each distinct Python number is a trace of its "
                f"own ({count} numbers in this scope); pass a tensor if the value is data",
            )


def _number(expr: cst.BaseExpression) -> str | None:
    """The text of an int or float literal, with its sign (`-1`, `0.5`), or None."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = _number(expr.expression)
        return None if inner is None else f"-{inner}"
    if isinstance(expr, cst.Integer | cst.Float):
        return expr.value
    return None
