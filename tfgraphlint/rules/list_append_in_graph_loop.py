"""TFG503 list-append-in-graph-loop."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.positions import LazyPositionProvider
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.engine.rule import Confirmation, Rule

_MUTATORS = frozenset({"append", "extend", "insert"})


def _is_new_list(value: cst.BaseExpression | None, rule: Rule) -> bool:
    """`[]`, `[a, b]`, `list()`, `list(...)` or a list comprehension."""
    if isinstance(value, cst.List | cst.ListComp):
        return True
    return isinstance(value, cst.Call) and "builtins.list" in rule.qualnames(value.func)


class ListAppendInGraphLoop(Rule):
    """
    ## What it does
    Flags `items.append(...)` (and `extend`, `insert`) on a Python list created before a loop
    that AutoGraph turns into a `tf.while_loop` (a `for` over `tf.range`, `range(<tensor>)`, a
    tensor or a `tf.data.Dataset`, or a `while` on a tensor condition), when the list is used
    after the loop.

    ## Why is this bad?
    AutoGraph traces the body of a graph loop once, in its own graph. The appended tensors
    belong to that loop-body graph and the list is not a loop variable, so reading the list
    after the loop raises `InaccessibleTensorError: The tensor ... cannot be accessed from
    FuncGraph(...), because it was defined in FuncGraph(name=while_body_...)` (TensorFlow 2.12,
    2.21; same class on 2.3). In a Python loop (`for i in range(3)`) the same code is fine: it
    is unrolled.

    ## Example
    ```python
    @tf.function
    def cumulative(x):
        outs = []
        for i in tf.range(tf.shape(x)[0]):
            outs.append(tf.reduce_sum(x[: i + 1]))
        return tf.stack(outs)
    ```

    ## Use instead
    A `tf.TensorArray`, which is a loop variable:
    `ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)`, `ta = ta.write(i, v)` in the
    loop, `ta.stack()` after it.

    ## References
    - AutoGraph reference, "Limitations", "Python collections in TensorFlow control flow"
    """

    CODE = "TFG503"
    NAME = "list-append-in-graph-loop"
    SEVERITY = Severity.ERROR
    SUMMARY = "Python list appended to inside a graph (`tf.while_loop`) loop"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def cumulative(x):
                ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
                for i in tf.range(tf.shape(x)[0]):
                    ta = ta.write(i, tf.reduce_sum(x[: i + 1]))
                return ta.stack()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def heads(x):
                outs = []
                for i in range(3):  # a Python loop: unrolled, appending is fine
                    outs.append(x[i] * 2)
                return tf.stack(outs)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                s = tf.constant(0.0)
                for i in tf.range(3):
                    parts = []  # a new list in every iteration, used only inside
                    parts.append(x * tf.cast(i, tf.float32))
                    s += tf.reduce_sum(tf.stack(parts))
                return s
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def train(dataset, step):
                losses = []
                for batch in dataset:  # eager loop
                    losses.append(step(batch))
                return losses
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(x, layers):
                outs = []
                for layer in layers:  # a Python list of layers: unrolled
                    x = layer(x)
                    outs.append(x)
                return outs
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def cumulative(x):
                outs = []
                for i in tf.range(tf.shape(x)[0]):
                    outs.append(tf.reduce_sum(x[: i + 1]))  # error: TFG503
                return tf.stack(outs)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def evaluate(model, dataset: tf.data.Dataset):
                losses = []
                for x, y in dataset.batch(32):
                    losses.append(tf.reduce_mean(tf.square(model(x) - y)))  # error: TFG503
                return tf.reduce_mean(losses)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None])])
            def until_small(x):
                history = list()
                while tf.reduce_max(x) > 1.0:
                    x = x / 2
                    history.extend([x])  # error: TFG503
                return history
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value in _MUTATORS
            and isinstance(func.value, cst.Name)
        ):
            return
        ctx = self.compiled_context(node)
        facts = self.facts(node)
        if ctx is None or facts is None or facts.autograph_off_reason() is not None:
            return
        loop = self._graph_loop(node, facts)
        if loop is None:
            return
        name = func.value.value
        values = facts.bindings_of(name)
        if not values or not all(_is_new_list(v, self) for v in values):
            return
        if not self._bound_before_and_read_after(func.value, loop):
            return
        header = (
            f"for {self.code(loop.target)} in {self.code(loop.iter)}"
            if isinstance(loop, cst.For)
            else f"while {self.code(loop.test)}"
        )
        self.report(
            node,
            f"`{self.code(node)}` in {ctx.describe()} appends to a Python list in graph loop "
            f"`{header}`: reading `{name}` after it raises `InaccessibleTensorError`",
            context=ctx,
        )

    def _graph_loop(self, node: cst.CSTNode, facts: FunctionFacts) -> cst.For | cst.While | None:
        """The outermost loop around `node` (inside its function) that becomes a graph loop."""
        found: cst.For | cst.While | None = None
        child = node
        parent = self.get_metadata(ParentProvider, child, None)
        while parent is not None and parent is not facts.func:
            if isinstance(parent, cst.For) and child is parent.body:
                if facts.iteration_kind(parent.iter) is Kind.TENSOR:
                    found = parent
            elif (
                isinstance(parent, cst.While)
                and child is parent.body
                and facts.kind(parent.test) is Kind.TENSOR
            ):
                found = parent
            child = parent
            parent = self.get_metadata(ParentProvider, child, None)
        return found

    def _bound_before_and_read_after(self, name: cst.Name, loop: cst.For | cst.While) -> bool:
        """Whether the list is bound only before `loop` (not inside it) and read after it."""
        scope = self.get_metadata(FastScopeProvider, name, None)
        if scope is None:
            return False
        loop_range = self.get_metadata(LazyPositionProvider, loop)
        start = (loop_range.start.line, loop_range.start.column)
        end = (loop_range.end.line, loop_range.end.column)
        assignments = [a for a in scope.assignments[name.value] if hasattr(a, "node")]
        if not assignments:
            return False
        for assignment in assignments:
            pos = self._position(assignment.node)
            if pos is None or pos >= start:
                return False
        for assignment in assignments:
            for access in assignment.references:
                pos = self._position(access.node)
                if pos is not None and pos > end:
                    return True
        return False

    def _position(self, node: cst.CSTNode) -> tuple[int, int] | None:
        pos = self.get_metadata(LazyPositionProvider, node, None)
        return None if pos is None else (pos.start.line, pos.start.column)
