"""TFG507 large-python-loop."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, Rule


def literal_int(expr: cst.BaseExpression) -> int | None:
    """The value of an integer literal (`100`, `-1`, `1_000`), else None."""
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if (
        isinstance(expr, cst.UnaryOperation)
        and isinstance(expr.operator, cst.Minus)
        and isinstance(expr.expression, cst.Integer)
    ):
        return -int(expr.expression.evaluated_value)
    return None


def literal_range_length(call: cst.Call) -> int | None:
    """`len(range(...))` when every argument of a `range(...)` call is an integer literal."""
    if not 1 <= len(call.args) <= 3 or any(a.keyword or a.star for a in call.args):
        return None
    values = [literal_int(a.value) for a in call.args]
    ints = [v for v in values if v is not None]
    if len(ints) != len(values) or (len(ints) == 3 and ints[2] == 0):
        return None
    return len(range(*ints))


class _CreatesOps(SameScopeVisitor):
    """Whether a loop body adds TF ops to the graph: a TF API call, or a call, arithmetic
    (`s += 1` included), or a slice whose result is a tensor (with the parameters of a
    tf.function taken as tensors, `FunctionFacts.presumed`). Nested functions are not looked
    into."""

    def __init__(self, rule: Rule, facts: FunctionFacts) -> None:
        self.rule = rule
        self.facts = facts
        self.found: cst.CSTNode | None = None

    def visit_Call(self, node: cst.Call) -> bool:
        if self.found is None and (
            any(names.strip_tf_root(q) is not None for q in self.rule.qualnames(node.func))
            or self.facts.kind(node) is Kind.TENSOR
        ):
            self.found = node
        return self.found is None

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> bool:
        if self.found is None and self.facts.kind(node) is Kind.TENSOR:
            self.found = node
        return self.found is None

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        """`x[1:]` of a tensor: a `StridedSlice` op per iteration."""
        if self.found is None and self.facts.kind(node) is Kind.TENSOR:
            self.found = node
        return self.found is None

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        """`s += 1` adds an op when `s` (or the operand) is a tensor; with a Python int `s` it
        is Python arithmetic at trace time."""
        if self.found is None and Kind.TENSOR in (
            self.facts.kind(node.target),
            self.facts.kind(node.value),
        ):
            self.found = node
        return self.found is None


class LargePythonLoop(Rule):
    """
    ## What it does
    Flags a `for` loop over `range(N)` with literal bounds and at least
    `large-loop-threshold` iterations (default 100) in a compiled body, when the loop body
    creates TensorFlow ops.

    ## Why is this bad?
    A loop over Python integers runs while tracing: AutoGraph leaves it to Python, which adds
    one copy of the loop body to the graph per iteration. Graph size, trace time and memory
    grow with N (3, 12 and 102 graph nodes for 1, 10 and 100 matmuls, against a constant 17 with
    `tf.range`; 2,003 nodes for 1,000 `s += 1` on a tensor, 4,002 for 1,000 slices `x[1:]`
    of a tensor argument, and 4 for 10,000 `s += 1` on a Python int, on TF 2.21). TensorFlow
    itself only warns past 50,000 iterations.

    ## Example
    ```python
    @tf.function
    def power(m):
        out = tf.eye(4)
        for _ in range(1000):
            out = tf.matmul(out, m)
        return out
    ```

    ## Use instead
    `for _ in tf.range(1000):` (AutoGraph makes it a `tf.while_loop`, the body is traced once).
    Short loops are fine, and often faster unrolled: that is what the threshold is for.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Looping over Python data"
    """

    CODE = "TFG507"
    NAME = "large-python-loop"
    SEVERITY = Severity.WARNING
    SUMMARY = "`for _ in range(N)` with a large literal N in a compiled body (unrolled N times)"
    OPTIONS = ("large-loop-threshold",)

    CONFIRMED_BY = Confirmation.NONE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def power(m):
                out = tf.eye(4)
                for _ in tf.range(1000):
                    out = tf.matmul(out, m)
                return out
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def residual(x, blocks):
                for i in range(4):  # a short static loop: unrolling is intended
                    x = x + blocks[i](x)
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def build_table(x):
                names = []
                for i in range(500):  # pure Python at trace time, no ops
                    names.append(f"feature_{i}")
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def eager_power(m):
                out = tf.eye(4)
                for _ in range(1000):  # eager: no graph
                    out = tf.matmul(out, m)
                return out
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def smooth(x):
                for _ in range(50):
                    x = tf.nn.avg_pool1d(x, 3, 1, "SAME")
                return x
            """,
            large_loop_threshold=64,
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def offset(x):
                s = 0
                for _ in range(10000):
                    s += 1  # a Python int: trace-time arithmetic, no op
                return x + s
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def count(x):
                s = tf.constant(0)
                for _ in range(1000):  # error: TFG507
                    s += 1  # a tensor: one `add` op per iteration
                return s
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def shifts(x):
                for _ in range(1000):  # error: TFG507
                    x = x[1:]  # a slice of the tensor argument: one op per iteration
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def power(m):
                out = tf.eye(4)
                for _ in range(1000):  # error: TFG507
                    out = tf.matmul(out, m)
                return out
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def rollout(state, policy):
                rewards = []
                for t in range(0, 400, 2):  # error: TFG507
                    state, reward = policy(state)
                    rewards.append(tf.reduce_sum(reward))
                return tf.stack(rewards)

            @tf.function
            def evaluate(state, policy):
                return rollout(state, policy)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def smooth(x):
                for _ in range(50):  # error: TFG507
                    x = tf.nn.avg_pool1d(x, 3, 1, "SAME")
                return x
            """,
            large_loop_threshold=10,
        ),
    )

    def visit_For(self, node: cst.For) -> None:
        if not isinstance(node.iter, cst.Call):
            return
        ctx = self.compiled_context(node)
        facts = self.facts(node)
        if ctx is None or facts is None or not facts.is_range_call(node.iter):
            return
        count = literal_range_length(node.iter)
        threshold = int(self.config.large_loop_threshold)
        if count is None or count < threshold:
            return
        finder = _CreatesOps(self, facts.presumed(self.state.module))
        walk(node.body, finder)
        if finder.found is None:
            return
        self.report(
            node,
            f"`for` loop over `{self.code(node.iter)}` in {ctx.describe()} is unrolled while "
            f"tracing: {count} copies of its body in the graph; use `tf.range`",
            context=ctx,
        )
