"""TFG512 missing-return-on-tensor-path."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.control import (
    branches,
    definitely_returns,
    find,
    guards,
    statements,
)
from tfgraphlint.discovery.tensors import Kind
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.autograph_conversion import Explainer, witness_note
from tfgraphlint.rules.raise_in_tensor_branch import converted_facts, if_header


def direct_returns(stmts: Sequence[cst.CSTNode]) -> Iterator[cst.Return]:
    """The `return`s a block runs unconditionally: at its top level or in its `with` blocks."""
    for stmt in stmts:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from (small for small in stmt.body if isinstance(small, cst.Return))
        elif isinstance(stmt, cst.With):
            yield from direct_returns(statements(stmt.body))


def _returns_none(ret: cst.Return) -> bool:
    return ret.value is None or isinstance(ret.value, cst.Name) and ret.value.value == "None"


class MissingReturnOnTensorPath(Rule):
    """
    ## What it does
    In a body that AutoGraph converts, flags a tensor-dependent `if` that returns on one path
    and not on the other (the other branch falls through to the end of its block), and a
    bare `return` or `return None` in a branch of a tensor-dependent `if`.

    ## Why is this bad?
    A tensor condition makes AutoGraph build a `tf.cond`, and AutoGraph lowers `return` into
    a value that both branches must produce, as a tensor. Tracing fails with `ValueError:
    the else branch must also have a return statement.` (or `the main branch ...`), and a
    `None` return value with `ValueError: 'retval_' is None at the end of the main branch.`,
    even when every path returns `None` (all verified on TensorFlow 2.21). AutoGraph only
    treats the statements that follow the `if` *in the same block* as its `else` branch, so
    a `return` after an enclosing `with` block, an enclosing `if`, or after an
    `if`/`elif` chain does not count: `if a: return x` / `elif b: return y` / `return z`
    fails on the `elif`. The same code works eagerly and with a Python condition.

    ## Example
    ```python
    @tf.function
    def relu_or_none(x):
        if tf.reduce_sum(x) > 0:
            return tf.nn.relu(x)
    ```

    ## Use instead
    Return a tensor on every path of the `if`: `else: return tf.zeros_like(x)`, or a
    `return` right after the `if` in the same block. For a function that returns nothing,
    drop the early `return` and put the rest in an `else:` branch. With a Python condition
    (`if training:`) the `if` runs in Python and any return is fine.

    ## Known problems
    Only conditions known to be tensors are reported. An `if` inside a loop is left to
    TFG513 (Python loops) or not reported (graph loops), and an `if` whose other branch
    raises is left to TFG511.

    ## References
    - AutoGraph reference, "Control flow", return statements; `return_statements.py`
    """

    CODE = "TFG512"
    NAME = "missing-return-on-tensor-path"
    SEVERITY = Severity.ERROR
    SUMMARY = "`return` on only one path of a tensor `if`, or returning `None` (tracing fails)"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def relu_or_zero(x):
                if tf.reduce_sum(x) > 0:
                    return tf.nn.relu(x)
                else:
                    return tf.zeros_like(x)

            @tf.function
            def relu_or_zero_2(x):
                if tf.reduce_sum(x) > 0:
                    return tf.nn.relu(x)
                y = tf.zeros_like(x)  # the rest of the block is the else branch
                return y
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def sign(x):
                if tf.reduce_sum(x) > 0:
                    y = x
                else:
                    return -x  # the statements after the `if` join the main branch
                return y

            @tf.function
            def bucket(x):
                if tf.reduce_sum(x) > 10:
                    return tf.constant(2)
                elif tf.reduce_sum(x) > 0:
                    return tf.constant(1)
                else:
                    return tf.constant(0)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x, training=False):
                if training:  # a Python flag: Python runs this `if`
                    return x * 0.5
                if x.shape.rank == 1:
                    return x[None]
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def checked(x):
                if tf.reduce_all(x > 0):
                    return tf.math.log(x)
                raise ValueError("non-positive")  # TFG511 reports this

            def eager(x):
                if tf.reduce_sum(x) > 0:
                    return x  # eager: a normal Python `if`
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x):
                if tf.reduce_sum(x) > 0:
                    with tf.name_scope("positive"):
                        return x * 2  # a `with` that returns counts as a return
                with tf.name_scope("rest"):
                    y = x + 1
                return y

            @tf.function
            def guarded(x):
                try:
                    if tf.reduce_sum(x) > 0:  # in a `try`: traces fine (TF 2.21)
                        return x
                except ValueError:
                    pass
                return x * 0

            @tf.function
            def log_if_positive(x):
                if tf.reduce_sum(x) > 0:
                    tf.print(x)
                else:
                    tf.print("non-positive")
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def first_positive(x):
                for i in tf.range(tf.shape(x)[0]):
                    if x[i] > 0:
                        return x[i]
                    else:
                        return -x[i]
                return tf.constant(0.0)
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def relu_or_none(x):
                if tf.reduce_sum(x) > 0:
                    return tf.nn.relu(x)  # error: TFG512
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None])])
            def bucket(x):
                s = tf.reduce_sum(x)
                if s > 10:
                    return tf.constant(2)
                elif s > 0:
                    return tf.constant(1)  # error: TFG512
                return tf.constant(0)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def scaled(x):
                with tf.name_scope("scaled"):
                    if tf.reduce_max(x) > 1.0:
                        return x / tf.reduce_max(x)  # error: TFG512
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def log_positive(x):
                if tf.reduce_sum(x) <= 0:
                    return  # error: TFG512
                tf.print(x)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def maybe_log(x):
                if tf.reduce_all(x > 0):
                    return tf.math.log(x)
                return None  # error: TFG512
            """
        ),
    )

    def visit_If(self, node: cst.If) -> None:
        found = converted_facts(self, node)
        if found is None:
            return
        ctx, facts = found
        if facts.kind(node.test) is not Kind.TENSOR:
            return
        for guard in guards(node, self.parent):
            if guard.side == "dead" or not isinstance(guard.node, cst.If | cst.With):
                return  # unreachable, or in a loop (TFG513) or a `try`
        if self.under_eager_check(node):
            return
        main, other = branches(node, self.parent)
        head = if_header(self, node)
        note = witness_note(Explainer(self, facts).tensor_witness(node.test), self.code(node.test))
        main_returns, other_returns = definitely_returns(main), definitely_returns(other)
        if main_returns != other_returns:
            returning, missing = (main, other) if main_returns else (other, main)
            missing_side = "else" if main_returns else "main"
            if not find(missing, cst.Return, cst.Raise):
                first = find(returning, cst.Return)[0]
                self.report(
                    first,
                    f"`{self.code(first)}` in {ctx.describe()} returns on one path only of tensor "
                    f"`{head}`{note}: the {missing_side} branch falls through, so tracing "
                    "raises `ValueError`",
                    context=ctx,
                )
                return
        for side, stmts, others in (("main", main, other), ("else", other, main)):
            if find(others, cst.Raise):
                continue
            none_return = next((r for r in direct_returns(stmts) if _returns_none(r)), None)
            if none_return is None:
                continue
            self.report(
                none_return,
                f"`{self.code(none_return)}` in {ctx.describe()} returns `None` from the {side} "
                f"branch of tensor `{head}`{note}, which a `tf.cond` cannot output (tracing "
                "raises `ValueError`)",
                context=ctx,
            )
            return
