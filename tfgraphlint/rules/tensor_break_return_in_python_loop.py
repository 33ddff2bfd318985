"""TFG513 tensor-break-return-in-python-loop."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.control import Guard, guards
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.engine.rule import Confirmation, FileState, Rule
from tfgraphlint.rules.autograph_conversion import Explainer, header, witness_note
from tfgraphlint.rules.raise_in_tensor_branch import converted_facts, if_header


class TensorBreakReturnInPythonLoop(Rule):
    """
    ## What it does
    In a body that AutoGraph converts, flags a `break` or `return` under a tensor-dependent
    `if` inside a loop that Python unrolls while tracing: `for` over `range` of Python ints
    or over a Python collection, or `while` on a Python condition such as `while True:`.

    ## Why is this bad?
    AutoGraph lowers `break` and `return` into flags that the loop tests before each
    iteration. Set inside a `tf.cond`, the flag becomes a tensor, and a Python loop cannot
    stop on a tensor. Tracing fails (verified on TensorFlow 2.21) with `NotImplementedError:
    break and return statements which depend on a TF condition are not supported in Python
    for loops. Did you intend to make it a TF loop?`, for `while True:` with
    `NotImplementedError: The condition of while loop started as non-Tensor, then changed to
    Tensor.`, and for a `return` with no `return` on the other path with `ValueError: the
    else branch must also have a return statement.` This holds even when the `break` sits
    under a Python `if` inside the tensor `if`. A tensor-dependent `continue` is fine.

    ## Example
    ```python
    @tf.function
    def refine(x, tol):
        for _ in range(100):
            x = update(x)
            if tf.norm(x) < tol:
                break
        return x
    ```

    ## Use instead
    Make it a graph loop: `for _ in tf.range(100):` (the body is traced once, and a tensor
    `break` works), or `while tf.norm(x) >= tol:`. Keep the Python loop only for conditions
    on Python values.

    ## Known problems
    Only loops known to run in Python (literal collections, `range` of Python values,
    `while True:`) and conditions known to be tensors are reported: `for layer in
    self.layers:` is left alone. A `break` after a tensor-dependent `continue` in the same
    body also fails (AutoGraph guards it with the `continue` flag, a tensor) and is not
    reported.

    ## References
    - AutoGraph reference, "Control flow" (break, continue and return statements) and
      "Limitations" (consistency of control flow types)
    """

    CODE = "TFG513"
    NAME = "tensor-break-return-in-python-loop"
    SEVERITY = Severity.ERROR
    SUMMARY = "tensor-dependent `break`/`return` in a loop Python unrolls (tracing fails)"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def refine(x, tol):
                for _ in tf.range(100):  # a graph loop: a tensor `break` works
                    x = x * 0.5
                    if tf.norm(x) < tol:
                        break
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def smooth(x):
                for i in range(3):
                    x = x * 0.5
                    if tf.reduce_sum(x) > 2.0:
                        x = x - 1.0
                        continue  # a tensor `continue` is fine
                    x = x + 1.0
                for i in range(3):
                    x = x * 0.5
                    if i == 1:
                        break  # a Python condition
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def first_hit(xs: tf.data.Dataset):
                total = tf.constant(0, tf.int64)
                for x in xs:  # a dataset loop supports `break`
                    if x > 2:
                        break
                    total += x
                for i in range(3):
                    for j in tf.range(3):  # the `break` belongs to the graph loop
                        if tf.reduce_sum(total) > 5:
                            break
                return total
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def apply_layers(self, x):
                for layer in self.layers:  # unknown iterable: not reported
                    x = layer(x)
                    if tf.reduce_all(x == 0):
                        break
                return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def refine(x, tol):
                for _ in range(100):
                    x = x * 0.5
                    if tf.norm(x) < tol:
                        break  # error: TFG513
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None])])
            def grow(x):
                while True:
                    x = x * 2.0
                    if tf.reduce_max(x) > 100.0:
                        break  # error: TFG513
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def first_positive(x):
                for scale in [1.0, 2.0, 4.0]:
                    y = x * scale
                    if tf.reduce_all(y > 0):
                        return y  # error: TFG513
                return tf.zeros_like(x)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def early_stop(x, verbose=False):
                for i in range(10):
                    x = x - 0.1
                    if tf.reduce_min(x) < 0:
                        if verbose:
                            tf.print("stop at", i)
                        break  # error: TFG513
                return x
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self._loops: set[int] = set()

    def visit_Break(self, node: cst.Break) -> None:
        self._check(node)

    def visit_Return(self, node: cst.Return) -> None:
        self._check(node)

    def _check(self, node: cst.Break | cst.Return) -> None:
        found = converted_facts(self, node)
        if found is None:
            return
        ctx, facts = found
        hit = self._python_loop_with_tensor_if(node, facts)
        if hit is None or self.under_eager_check(node):
            return
        loop, tensor_if = hit
        if id(loop) in self._loops:
            return  # one finding per loop
        self._loops.add(id(loop))
        assert isinstance(tensor_if.node, cst.If)
        witness = Explainer(self, facts).tensor_witness(tensor_if.node.test)
        note = witness_note(witness, self.code(tensor_if.node.test))
        # The full error texts are in the docstring (`tfgraphlint explain TFG513`).
        if isinstance(node, cst.Return) and not isinstance(loop, cst.While):
            error = "`NotImplementedError` (or `ValueError`)"
        else:
            error = "`NotImplementedError`"
        self.report(
            node,
            f"`{self.code(node)}` in {ctx.describe()} depends on tensor "
            f"`{if_header(self, tensor_if.node)}`{note} inside `{header(loop, self)}`, a loop "
            f"Python unrolls, so tracing raises {error}",
            context=ctx,
        )

    def _python_loop_with_tensor_if(
        self, node: cst.Break | cst.Return, facts: FunctionFacts
    ) -> tuple[cst.For | cst.While, Guard] | None:
        """The innermost loop around `node`, when Python runs it and a tensor `if` between
        them decides whether `node` runs."""
        tensor_if: Guard | None = None
        for guard in guards(node, self.parent):
            g = guard.node
            if guard.side == "dead":
                return None
            if isinstance(g, cst.If):
                if tensor_if is None and facts.kind(g.test) is Kind.TENSOR:
                    tensor_if = guard
                continue
            if isinstance(g, cst.With):
                continue
            if isinstance(g, cst.For | cst.While):
                if tensor_if is None:
                    return None
                if isinstance(g, cst.For):
                    kind = facts.iteration_kind(g.iter)
                else:
                    kind = facts.kind(g.test)
                return (g, tensor_if) if kind is Kind.PYTHON else None
            return None
        return None
