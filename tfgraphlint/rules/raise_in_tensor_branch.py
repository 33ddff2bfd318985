"""TFG511 raise-in-tensor-branch."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.control import Guard, guards, under_eager_check
from tfgraphlint.discovery.model import CompiledContext
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.autograph_conversion import Explainer, witness_note


def converted_facts(rule: Rule, node: cst.CSTNode) -> tuple[CompiledContext, FunctionFacts] | None:
    """The compiled context and facts around `node` when AutoGraph converts its body (TFG510
    covers the unconverted ones)."""
    ctx = rule.compiled_context(node)
    facts = rule.facts(node)
    if ctx is None or facts is None or facts.autograph_off_reason() is not None:
        return None
    return ctx, facts


def if_header(rule: Rule, node: cst.If) -> str:
    """`if cond` or `elif cond`, as written."""
    parent = rule.get_metadata(ParentProvider, node, None)
    keyword = "elif" if isinstance(parent, cst.If) and parent.orelse is node else "if"
    return f"{keyword} {rule.code(node.test)}"


def where(rule: Rule, guard: Guard) -> str:
    """Which branch of the guard's `if` a statement is in, and how it got there."""
    assert isinstance(guard.node, cst.If)
    head = if_header(rule, guard.node)
    if guard.moved:
        returning = "body" if guard.side == "else" else "`else` branch"
        return (
            f"after `{head}`, whose {returning} returns (so in its "
            f"{'`else`' if guard.side == 'else' else 'main'} branch)"
        )
    return f"in the {'`else` branch' if guard.side == 'else' else 'body'} of `{head}`"


class RaiseInTensorBranch(Rule):
    """
    ## What it does
    In a body that AutoGraph converts, flags a `raise` that runs whenever a branch of a
    tensor-dependent `if` is traced: directly in the body or the `else` of the `if` (through
    `with` blocks and graph loops), or after an `if` whose other branch returns (AutoGraph
    moves the statements that follow such an `if` into its `else` branch).

    ## Why is this bad?
    A tensor condition makes AutoGraph build a `tf.cond`, and a `tf.cond` traces *both*
    branches, whatever the value will be. The Python `raise` therefore executes while
    tracing, and every call fails with the user's exception, even for inputs that pass the
    check: `if tf.reduce_any(x < 0): raise ValueError("negative")` fails with `ValueError:
    negative` for `x = [1.0]` (verified on TensorFlow 2.21; also in the `else` branch, an
    `elif`, a `tf.range` loop, and after `if cond: return x`). Validation written for eager
    mode becomes "always raises" once wrapped in `tf.function`.

    ## Example
    ```python
    @tf.function
    def safe_sqrt(x):
        if tf.reduce_any(x < 0):
            raise ValueError("x must be non-negative")
        return tf.sqrt(x)
    ```

    ## Use instead
    Check in the graph, on every call: `tf.debugging.assert_non_negative(x)`,
    `tf.debugging.assert_equal(...)`, or `tf.debugging.Assert(condition, [x])`. A Python
    `raise` stays right under a Python condition: static shapes (`x.shape.rank != 2`),
    dtypes, `isinstance`, Python arguments.

    ## Known problems
    Only conditions known to be tensors are reported: a parameter such as `strict` may be a
    Python `bool` (then Python runs the `if`, and the `raise` only fires when it should). Code
    under `if tf.executing_eagerly():` is left alone.

    ## References
    - AutoGraph reference, "Control flow" (both branches of a `tf.cond` are traced)
    """

    CODE = "TFG511"
    NAME = "raise-in-tensor-branch"
    SEVERITY = Severity.ERROR
    SUMMARY = "`raise` in a branch of a tensor `if` (raised while tracing, on every call)"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def safe_sqrt(x):
                tf.debugging.assert_non_negative(x, message="x must be non-negative")
                return tf.sqrt(x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def flatten(x, strict=True):
                if x.shape.rank == 0:  # static shape: a Python check at trace time
                    raise ValueError("expects a batch")
                if not isinstance(strict, bool):
                    raise TypeError("strict must be a bool")
                if strict:  # a Python flag, or unknown: not reported
                    raise NotImplementedError
                return tf.reshape(x, [-1])
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def eager_check(x):
                if tf.reduce_any(x < 0):  # eager: a concrete value
                    raise ValueError("negative")
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def clip(x):
                if tf.reduce_max(x) > 1.0:
                    def fail():
                        raise ValueError("never called while tracing")
                    x = x / tf.reduce_max(x)
                if tf.reduce_min(x) < -1.0:
                    try:
                        raise KeyError("caught at trace time")
                    except KeyError:
                        pass
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def pick(x, mode):
                if tf.reduce_sum(x) > 0:
                    if mode not in ("a", "b"):  # Python check inside the branch
                        raise ValueError(mode)
                    x = x * 2
                if tf.executing_eagerly():
                    if tf.reduce_any(x < 0):
                        raise ValueError("eager-only validation")
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def unconverted(x):
                if tf.reduce_any(x < 0):  # TFG510 reports this `if`
                    raise ValueError("negative")
                return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def safe_sqrt(x):
                if tf.reduce_any(x < 0):
                    raise ValueError("x must be non-negative")  # error: TFG511
                return tf.sqrt(x)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None])])
            def normalize(x):
                total = tf.reduce_sum(x)
                if total > 0:
                    x = x / total
                else:
                    raise ValueError("empty or negative input")  # error: TFG511
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def checked_log(x):
                if tf.reduce_all(x > 0):
                    return tf.math.log(x)
                raise ValueError("log of a non-positive value")  # error: TFG511
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def check_range(x, lo, hi):
                with tf.name_scope("check_range"):
                    if tf.reduce_min(x) < lo:
                        raise ValueError("below range")  # error: TFG511
                    elif tf.reduce_max(x) > hi:
                        raise ValueError("above range")  # error: TFG511

            @tf.function
            def step(x):
                check_range(x, 0.0, 1.0)
                return x * 2
            """
        ),
    )

    def visit_Raise(self, node: cst.Raise) -> None:
        found = converted_facts(self, node)
        if found is None:
            return
        ctx, facts = found
        guard = self._tensor_guard(node, facts)
        if guard is None:
            return
        parent = self.parent
        if under_eager_check(node, parent, self.code):
            return
        assert isinstance(guard.node, cst.If)
        witness = Explainer(self, facts).tensor_witness(guard.node.test)
        note = witness_note(witness, self.code(guard.node.test))
        self.report(
            node,
            f"`{self.code(node)}` in {ctx.describe()} is {where(self, guard)}: a tensor "
            f"`if`{note} traces both branches, so every call raises",
            context=ctx,
        )

    def _tensor_guard(self, node: cst.Raise, facts: FunctionFacts) -> Guard | None:
        """The tensor `if` whose branch runs `node` unconditionally once traced, or None."""
        for guard in guards(node, self.parent):
            g = guard.node
            if guard.side == "dead":
                return None
            if isinstance(g, cst.With):
                continue
            if isinstance(g, cst.For) and facts.iteration_kind(g.iter) is Kind.TENSOR:
                continue  # a graph loop: its body is traced once
            if isinstance(g, cst.While) and facts.kind(g.test) is Kind.TENSOR:
                continue
            if isinstance(g, cst.If) and facts.kind(g.test) is Kind.TENSOR:
                return guard
            return None
        return None
