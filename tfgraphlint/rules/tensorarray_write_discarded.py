"""TFG508 tensorarray-write-discarded."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import FunctionScope

from tfgraphlint._types import Applicability, Fix, Invalid, Severity, Valid
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.list_append_in_graph_loop import passed_for

_UPDATES = frozenset({"write", "scatter", "unstack", "split"})


class TensorarrayWriteDiscarded(Rule):
    """
    ## What it does
    Flags `ta.write(i, v)` (and `scatter`, `unstack`, `split`) used as a statement, its result
    thrown away, where `ta` is a `tf.TensorArray`, in a compiled body.

    ## Why is this bad?
    `TensorArray` is functional: `write` returns a new TensorArray that holds the value, and
    leaves `ta` as it was. Eagerly the array happens to be updated in place, so the code works
    in tests; under `tf.function` the writes are lost without any error or warning: a loop of
    bare `ta.write(i, i)` stacks to `[]`, two bare writes into a `size=2` array stack to
    `[0, 0]` (verified on TensorFlow 2.3, 2.12 and 2.21).

    ## Example
    ```python
    @tf.function
    def squares(n):
        ta = tf.TensorArray(tf.int32, size=n)
        for i in tf.range(n):
            ta.write(i, i * i)
        return ta.stack()
    ```

    ## Use instead
    Rebind the result: `ta = ta.write(i, i * i)`.

    ## Fix safety
    The fix rebinds the result (`ta = ta.write(...)`). It is unsafe because it changes what the
    graph computes: the writes that were lost now land in the array, which is what the code
    meant (and what it does eagerly, where it is a no-op) but a change of behaviour to review.
    It is offered only when `ta` is a plain local name of the function (a parameter or a local
    variable): rebinding a closure variable or a `global` would make it local, or rebind it
    for everyone.

    ## References
    - `tf.TensorArray` API documentation ("the result of `write` must be used")
    """

    CODE = "TFG508"
    NAME = "tensorarray-write-discarded"
    SEVERITY = Severity.WARNING
    SUMMARY = "`TensorArray.write()` result thrown away (writes lost in graph mode)"
    FIX = Applicability.UNSAFE

    CONFIRMED_BY = Confirmation.NONE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def squares(n):
                ta = tf.TensorArray(tf.int32, size=n)
                for i in tf.range(n):
                    ta = ta.write(i, i * i)
                return ta.stack()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def doubled(x):
                y = tf.TensorArray(tf.float32, size=3)
                for i in tf.range(3):
                    y = y.write(i, x[i] * 2)
                y = y.stack()
                return y
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def log_step(writer, loss, step):
                with writer.as_default():
                    tf.summary.scalar("loss", loss, step=step)
                writer.flush()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x, out_file):
                out_file.write("not a TensorArray")  # a file, not a TensorArray
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def eager_fill(values):
                ta = tf.TensorArray(tf.float32, size=len(values))
                for i, v in enumerate(values):
                    ta.write(i, v)  # eager code: updated in place, works
                return ta.stack()
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def squares(n):
                ta = tf.TensorArray(tf.int32, size=n)
                for i in tf.range(n):
                    ta.write(i, i * i)  # error: TFG508
                return ta.stack()
            """,
            fixed="""
            import tensorflow as tf

            @tf.function
            def squares(n):
                ta = tf.TensorArray(tf.int32, size=n)
                for i in tf.range(n):
                    ta = ta.write(i, i * i)
                return ta.stack()
            """,
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def pair(a, b):
                ta = tf.TensorArray(tf.float32, size=2)
                ta = ta.write(0, a)
                ta.write(1, b)  # error: TFG508
                return ta.stack()
            """,
            fixed="""
            import tensorflow as tf

            @tf.function
            def pair(a, b):
                ta = tf.TensorArray(tf.float32, size=2)
                ta = ta.write(0, a)
                ta = ta.write(1, b)
                return ta.stack()
            """,
        ),
        Invalid(
            """
            from tensorflow import TensorArray
            import tensorflow as tf

            def fill(ta: TensorArray, x):
                ta.unstack(x)  # error: TFG508
                return ta

            @tf.function
            def rows(x):
                ta = TensorArray(tf.float32, size=tf.shape(x)[0])
                return fill(ta, x).stack()
            """,
            fixed="""
            from tensorflow import TensorArray
            import tensorflow as tf

            def fill(ta: TensorArray, x):
                ta = ta.unstack(x)
                return ta

            @tf.function
            def rows(x):
                ta = TensorArray(tf.float32, size=tf.shape(x)[0])
                return fill(ta, x).stack()
            """,
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def collect(x):
                ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
                i = tf.constant(0)
                while i < tf.shape(x)[0]:
                    ta.write(i, x[i] * 2)  # error: TFG508
                    i += 1
                return ta.stack()
            """,
            fixed="""
            import tensorflow as tf

            @tf.function
            def collect(x):
                ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
                i = tf.constant(0)
                while i < tf.shape(x)[0]:
                    ta = ta.write(i, x[i] * 2)
                    i += 1
                return ta.stack()
            """,
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def doubled(x):
                y = tf.TensorArray(tf.float32, size=3)
                for i in tf.range(3):
                    y.write(i, x[i] * 2)  # error: TFG508
                y = y.stack()  # the name is rebound to the result after the loop
                return y
            """,
            fixed="""
            import tensorflow as tf

            @tf.function
            def doubled(x):
                y = tf.TensorArray(tf.float32, size=3)
                for i in tf.range(3):
                    y = y.write(i, x[i] * 2)
                y = y.stack()  # the name is rebound to the result after the loop
                return y
            """,
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def fill_all(values):
                ta = tf.TensorArray(tf.float32, size=3)

                def put(i, v):
                    ta.write(i, v)  # error: TFG508

                for i in range(3):
                    put(i, values[i])
                return ta.stack()
            """
            # No fix: `ta` belongs to the enclosing function; `ta = ta.write(...)` in `put`
            # would make it local to `put` and raise UnboundLocalError.
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def repeat3(x):
                ta = tf.TensorArray(tf.float32, size=3)

                def body(i, ta):
                    ta.write(i, x[i])  # error: TFG508
                    return i + 1, ta

                _, out = tf.while_loop(lambda i, ta: i < 3, body, (tf.constant(0), ta))
                return out.stack()
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def put(ta, i, value):
                ta.write(i, value)  # error: TFG508

            @tf.function
            def copy3(x):
                ta = tf.TensorArray(tf.float32, size=3)
                for i in tf.range(3):
                    put(ta, i, x[i])
                return ta.stack()
            """
        ),
    )

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in _UPDATES
        ):
            return
        ctx = self.compiled_context(node)
        facts = self.facts(node)
        if ctx is None or facts is None or not facts.is_tensor_array(call.func.value):
            return
        receiver = self.code(call.func.value)
        method = call.func.attr.value
        self.report(
            node,
            f"the result of `{self.code(call)}` in {ctx.describe()} is thrown away, so in the "
            f"graph the `{method}` is lost; assign it to `{receiver}`",
            context=ctx,
            fix=self._rebind(node, call.func.value),
        )

    def _rebind(self, node: cst.Expr, receiver: cst.BaseExpression) -> Fix | None:
        if not isinstance(receiver, cst.Name):
            return None
        scope = self.get_metadata(FastScopeProvider, node, None)
        # Local assignments only: libCST files `global`/`nonlocal` names under their own scope.
        if not isinstance(scope, FunctionScope) or receiver.value not in scope.assignments:
            return None
        name = receiver.value
        return Fix.unsafe(f"Rebind `{name}` to the result", self.insert_before(node, f"{name} = "))

    def leave_Expr(self, original_node: cst.Expr) -> None:
        """A bare `ta.write(...)` on a parameter that is a `TensorArray` at the call: the body
        of a `tf.while_loop` given one as loop variable, or a helper passed one."""
        call = original_node.value
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in _UPDATES
            and isinstance(call.func.value, cst.Name)
        ):
            return
        receiver = call.func.value
        ctx = self.compiled_context(original_node)
        facts = self.facts(original_node)
        func = self.enclosing_function(original_node)
        if ctx is None or facts is None or not isinstance(func, cst.FunctionDef):
            return
        if facts.is_tensor_array(receiver):
            return  # `visit_Expr` reports it
        for passed in passed_for(self, func, receiver.value):
            caller = self.facts(passed.call)
            if caller is None or not caller.is_tensor_array(passed.value):
                continue
            where = (
                f"the `tf.while_loop` at line {self.line_of(passed.call)} gives it as a loop "
                "variable: rebind it and return it"
                if passed.while_loop
                else f"`{self.code(passed.value)}` passed at line {self.line_of(passed.call)}: "
                "return the result and rebind it at the call"
            )
            self.report(
                original_node,
                f"the result of `{self.code(call)}` in {ctx.describe()} is thrown away, so in "
                f"the graph the `{call.func.attr.value}` is lost; `{receiver.value}` is {where}",
                context=ctx,
            )
            return
