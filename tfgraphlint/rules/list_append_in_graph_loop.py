"""TFG503 list-append-in-graph-loop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import Assignment, FunctionScope

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.model import CompiledContext, ContextKind
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


@dataclass(frozen=True, slots=True)
class Passed:
    """What a call passes for a parameter of a same-module function: `call` is the call of the
    function, or the `tf.while_loop` that runs it as its body (then `value` is the loop
    variable at the parameter's position)."""

    call: cst.Call
    value: cst.BaseExpression
    while_loop: bool


def passed_for(rule: Rule, func: cst.FunctionDef, param: str) -> Iterator[Passed]:
    """The values calls in the module pass for `func`'s parameter `param`: `func(a, ...)`,
    `func(param=a)`, and the loop variables of `tf.while_loop(cond, func, (a, ...))`."""
    params = [p.name.value for p in func.params.params]
    if param not in params:
        return
    index = params.index(param)
    scope = rule.get_metadata(FastScopeProvider, func, None)
    if scope is None:
        return
    for assignment in scope[func.name.value]:
        if not isinstance(assignment, Assignment) or assignment.node is not func:
            continue
        for access in assignment.references:
            found = _passed_at(rule, access.node, param, index)
            if found is not None:
                yield found


def _passed_at(rule: Rule, name: cst.CSTNode, param: str, index: int) -> Passed | None:
    parent = rule.parent(name)
    if isinstance(parent, cst.Call) and parent.func is name:
        for arg in parent.args:
            if arg.keyword is not None and arg.keyword.value == param:
                return Passed(parent, arg.value, False)
        positional = [a for a in parent.args if a.keyword is None]
        if any(a.star for a in positional[: index + 1]) or index >= len(positional):
            return None
        return Passed(parent, positional[index].value, False)
    call = rule.parent(parent) if isinstance(parent, cst.Arg) else None
    if not isinstance(call, cst.Call) or not rule.is_tf(call.func, "while_loop"):
        return None
    assert isinstance(parent, cst.Arg)
    args = list(call.args)
    is_body = (parent.keyword is not None and parent.keyword.value == "body") or (
        parent.keyword is None and args.index(parent) == 1
    )
    loop_vars = next(
        (a.value for a in args if a.keyword is not None and a.keyword.value == "loop_vars"),
        args[2].value if len(args) > 2 and args[2].keyword is None else None,
    )
    if not is_body or not isinstance(loop_vars, cst.Tuple | cst.List):
        return None
    elements = loop_vars.elements
    if index >= len(elements) or any(isinstance(e, cst.StarredElement) for e in elements):
        return None
    return Passed(call, elements[index].value, True)


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
        Valid(
            """
            import tensorflow as tf

            def record(outs, value):
                outs.append(value)

            @tf.function
            def scaled(x):
                outs = []
                for i in range(3):  # a Python loop, unrolled: the list holds three tensors
                    record(outs, x * float(i))
                return tf.stack(outs)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def count(x):
                seen = []

                def body(i):
                    seen.append(i)  # never read after the loop
                    return (i + 1,)

                return tf.while_loop(lambda i: i < 3, body, (tf.constant(0),))
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
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def scaled(x):
                outs = []

                def body(i):
                    outs.append(x * tf.cast(i, tf.float32))  # error: TFG503
                    return (i + 1,)

                tf.while_loop(lambda i: i < 3, body, (tf.constant(0),))
                return tf.stack(outs)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def record(outs, value):
                outs.append(value)  # error: TFG503

            @tf.function
            def scaled(x):
                outs = []
                for i in tf.range(3):
                    record(outs, x * tf.cast(i, tf.float32))
                return tf.stack(outs)
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
            self._check_while_loop_body(node, func.value, ctx)
            self._check_helper(node, func.value, ctx)
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

    def _check_while_loop_body(self, node: cst.Call, name: cst.Name, ctx: CompiledContext) -> None:
        """`outs.append(v)` in a `tf.while_loop` body, `outs` a list of the enclosing function
        read after the `tf.while_loop` call."""
        body = self.enclosing_function(node)
        if not isinstance(body, cst.FunctionDef):
            return  # (a nested def in a compiled body is NESTED, not GRAPH_BODY)
        scope = self.get_metadata(FastScopeProvider, name, None)
        if scope is None:
            return
        found = list(scope[name.value])
        assignments = [a for a in found if isinstance(a, Assignment)]
        owners = {a.scope for a in assignments}
        if (
            not assignments
            or len(assignments) != len(found)
            or len(owners) != 1
            or any(not _is_new_list(self._bound_value(a.node), self) for a in assignments)
        ):
            return
        owner = owners.pop()
        owner_func = owner.node if isinstance(owner, FunctionScope) else None
        if owner is scope or not isinstance(owner_func, cst.FunctionDef):
            return  # local to the body, or a module-level list
        for loop_call in self._while_loops_running(body):
            end = self.get_metadata(LazyPositionProvider, loop_call).end
            for access in (r for a in assignments for r in a.references):
                pos = self._position(access.node)
                if pos is None or pos <= (end.line, end.column) or self._inside(access.node, body):
                    continue
                self.report(
                    node,
                    f"`{self.code(node)}` in {ctx.describe()} appends to list `{name.value}` of "
                    f"`{owner_func.name.value}` in a `tf.while_loop` body: reading it after the "
                    f"loop (line {pos[0]}) raises `InaccessibleTensorError`",
                    context=ctx,
                )
                return

    def _check_helper(self, node: cst.Call, name: cst.Name, ctx: CompiledContext) -> None:
        """`outs.append(v)` in a helper whose parameter `outs` is a list that a call in a graph
        loop passes, the list being read after the loop."""
        helper = self.enclosing_function(node)
        if ctx.kind is not ContextKind.HELPER or not isinstance(helper, cst.FunctionDef):
            return
        for passed in passed_for(self, helper, name.value):
            value = passed.value
            facts = self.facts(passed.call)
            if passed.while_loop or not isinstance(value, cst.Name) or facts is None:
                continue
            loop = self._graph_loop(passed.call, facts)
            values = facts.bindings_of(value.value)
            if (
                loop is None
                or facts.autograph_off_reason() is not None
                or not values
                or not all(_is_new_list(v, self) for v in values)
                or not self._bound_before_and_read_after(value, loop)
            ):
                continue
            self.report(
                node,
                f"`{self.code(node)}` in {ctx.describe()} appends to list `{value.value}`, "
                f"passed in graph loop `{self._header(loop)}` at line "
                f"{self.line_of(passed.call)}: reading it after the loop raises "
                "`InaccessibleTensorError`",
                context=ctx,
            )
            return

    def _header(self, loop: cst.For | cst.While) -> str:
        if isinstance(loop, cst.For):
            return f"for {self.code(loop.target)} in {self.code(loop.iter)}"
        return f"while {self.code(loop.test)}"

    def _while_loops_running(self, body: cst.FunctionDef) -> Iterator[cst.Call]:
        """The `tf.while_loop(cond, body, ...)` calls that run `body`."""
        scope = self.get_metadata(FastScopeProvider, body, None)
        if scope is None:
            return
        for assignment in scope[body.name.value]:
            if not isinstance(assignment, Assignment) or assignment.node is not body:
                continue
            for access in assignment.references:
                arg = self.parent(access.node)
                call = self.parent(arg) if isinstance(arg, cst.Arg) else None
                if (
                    isinstance(arg, cst.Arg)
                    and isinstance(call, cst.Call)
                    and self.is_tf(call.func, "while_loop")
                    and (
                        arg.keyword is not None
                        and arg.keyword.value == "body"
                        or arg.keyword is None
                        and list(call.args).index(arg) == 1
                    )
                ):
                    yield call

    def _bound_value(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        target = self.parent(node)
        stmt = self.parent(target) if isinstance(target, cst.AssignTarget) else None
        return stmt.value if isinstance(stmt, cst.Assign) else None

    def _inside(self, node: cst.CSTNode, ancestor: cst.CSTNode) -> bool:
        p = self.parent(node)
        while p is not None:
            if p is ancestor:
                return True
            p = self.parent(p)
        return False

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
