"""TFG505 recursive-tf-function."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.model import CompiledContext
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.positions import LazyPositionProvider
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, FileState, Rule

_TF_COND = names.under_tf("cond")


class _Calls(cst.CSTVisitor):
    """Calls in a function body, nested functions included (they run when it calls them)."""

    def __init__(self) -> None:
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)


class RecursiveTfFunction(Rule):
    """
    ## What it does
    Flags a `tf.function` that calls itself, directly or through other functions of the same
    module, and a helper of a compiled body whose recursion is guarded by a tensor condition.

    ## Why is this bad?
    TensorFlow does not support recursive tf.functions ("could cause infinite loops", says the
    guide). With a tensor argument, the base case `if n <= 1` becomes a `tf.cond` whose two
    branches are both traced, so tracing recurses forever: `StagingError ... RecursionError:
    maximum recursion depth exceeded` (TensorFlow 2.12, 2.21); TensorFlow 2.3 hangs instead.
    With Python arguments it runs, but traces once per depth (every call with a new value is a
    new graph).

    ## Example
    ```python
    @tf.function
    def fact(n):
        if n <= 1:
            return tf.constant(1)
        return n * fact(n - 1)
    ```

    ## Use instead
    A loop: `for i in tf.range(2, n + 1): acc *= i`, or `tf.while_loop`. Recursion that only
    builds a static structure from Python values belongs in an undecorated helper.

    ## References
    - TensorFlow guide, "Better performance with tf.function" ("Recursive tf.functions are not
      supported")
    """

    CODE = "TFG505"
    NAME = "recursive-tf-function"
    REACH = "call-sites"
    SEVERITY = Severity.ERROR
    SUMMARY = "a `tf.function` that calls itself (tracing never ends on tensors)"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def fact(n):
                acc = tf.constant(1)
                for i in tf.range(2, n + 1):
                    acc *= i
                return acc
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def tower(x, depth):
                if depth == 0:  # a Python depth: the recursion ends while tracing
                    return x
                return tower(tf.nn.relu(x), depth - 1)

            @tf.function
            def model(x):
                return tower(x, 3)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def flatten(tree):
                if isinstance(tree, (list, tuple)):
                    return [leaf for sub in tree for leaf in flatten(sub)]
                return [tree]

            @tf.function
            def total(tree):
                return tf.add_n(flatten(tree))
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def minimize(loss_fn, jit_compile=False):
                if jit_compile:
                    @tf.function(jit_compile=True)
                    def run():
                        return minimize(loss_fn)  # a fresh `run` per call: not recursion
                    return run()
                return loss_fn()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Net(tf.Module):
                @tf.function
                def __call__(self, x):
                    return self.block(x)

                def block(self, x):
                    return x * 2
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def fact(n):
                if n <= 1:
                    return tf.constant(1)
                return n * fact(n - 1)  # error: TFG505
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
            def is_even(n):
                return tf.constant(True) if n == 0 else is_odd(n - 1)  # error: TFG505

            @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
            def is_odd(n):
                return tf.constant(False) if n == 0 else is_even(n - 1)  # error: TFG505
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def halve(x):
                if tf.reduce_max(x) < 1.0:
                    return x
                return halve(x / 2)  # error: TFG505

            @tf.function
            def normalize(x):
                return halve(x)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Tree(tf.Module):
                @tf.function
                def depth(self, node_ids):
                    return 1 + self.depth(node_ids[1:])  # error: TFG505
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def fact(n):
                return tf.cond(
                    n <= 1,
                    lambda: tf.constant(1),
                    lambda: n * fact(n - 1),  # error: TFG505
                )
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def fact(n):
                f = fact
                if n <= 1:
                    return tf.constant(1)
                return n * f(n - 1)  # error: TFG505
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self._calls: dict[cst.FunctionDef, list[cst.Call]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        func = self.enclosing_function(node)
        # A `tf.cond`/`tf.while_loop`/... branch lambda is traced as part of its caller.
        # Exact classes: `isinstance` on a libCST class is a Python call, on every call node.
        while type(func) is cst.Lambda and self._graph_body_lambda(func):
            func = self.enclosing_function(func)
        if type(func) is not cst.FunctionDef:
            return
        ctx = self.context_of_function(func)
        if ctx is None:
            return
        # Calling an enclosing function defines a new nested function object: not recursion.
        outer = set(self._enclosing_defs(func))
        for callee in self._callees(node, func):
            if callee in outer:
                continue
            if callee is func or self._reaches(callee, func, {callee, *outer}):
                self._check(node, func, callee, ctx)
                return

    def _check(
        self,
        call: cst.Call,
        func: cst.FunctionDef,
        callee: cst.FunctionDef,
        ctx: CompiledContext,
    ) -> None:
        facts = self.facts_of_function(func)
        via = "itself" if callee is func else f"itself through `{callee.name.value}`"
        guard = self._tensor_guard(call, func, facts)
        args = [a.value for a in call.args]
        tensor_arg = next((a for a in args if facts.kind(a) is Kind.TENSOR), None)
        if ctx.is_root:
            if guard is not None or tensor_arg is not None:
                why = (
                    f"the base case `{self.code(guard)}` is a tensor condition"
                    if guard is not None
                    else f"`{self.code(tensor_arg)}` is a tensor"  # type: ignore[arg-type]
                )
                self.report(
                    call,
                    f"{ctx.describe()} calls {via} and {why}, so tracing recurses until "
                    "`RecursionError`",
                    context=ctx,
                )
            else:
                self.report(
                    call,
                    f"{ctx.describe()} calls {via}: recursive tf.functions are not supported "
                    "(a trace per depth, endless on tensors)",
                    severity=Severity.WARNING,
                    context=ctx,
                )
        elif guard is not None:
            self.report(
                call,
                f"`{func.name.value}` in {ctx.describe()} calls {via} under the tensor condition "
                f"`{self.code(guard)}`, so tracing recurses until `RecursionError`",
                context=ctx,
            )

    def _callees(self, call: cst.Call, where: cst.FunctionDef) -> list[cst.FunctionDef]:
        """Same-module functions a call may invoke: a name bound by `def`, or `self.method`
        inside a method of the same class."""
        func = call.func
        if isinstance(func, cst.Name):
            return self._defs_of(func, 3)
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            owner = self._method_class(where)
            if owner is None or func.value.value != owner[1]:
                return []
            return [
                stmt
                for stmt in owner[0].body.body
                if isinstance(stmt, cst.FunctionDef) and stmt.name.value == func.attr.value
            ]
        return []

    def _defs_of(self, name: cst.Name, depth: int) -> list[cst.FunctionDef]:
        """The `def`s a name is bound to, through aliases (`f = fact`)."""
        scope = self.get_metadata(FastScopeProvider, name, None)
        if scope is None or depth == 0:
            return []
        found: list[cst.FunctionDef] = []
        for assignment in scope[name.value]:
            node = getattr(assignment, "node", None)
            if isinstance(node, cst.FunctionDef):
                found.append(node)
            elif isinstance(node, cst.Name):
                target = self.get_metadata(ParentProvider, node, None)
                stmt = self.get_metadata(ParentProvider, target, None) if target else None
                if (
                    isinstance(target, cst.AssignTarget)
                    and isinstance(stmt, cst.Assign)
                    and isinstance(stmt.value, cst.Name)
                    and stmt.value.value != name.value
                ):
                    found.extend(self._defs_of(stmt.value, depth - 1))
        return found

    def _graph_body_lambda(self, func: cst.Lambda) -> bool:
        """Whether a lambda is an argument of `tf.cond`/`tf.while_loop`/`tf.map_fn`/..."""
        arg = self.get_metadata(ParentProvider, func, None)
        call = self.get_metadata(ParentProvider, arg, None) if arg is not None else None
        return (
            isinstance(arg, cst.Arg)
            and isinstance(call, cst.Call)
            and bool(self.qualnames(call.func) & names.GRAPH_BODY_CALLS.keys())
        )

    def _method_class(self, func: cst.FunctionDef) -> tuple[cst.ClassDef, str] | None:
        """(class, name of its `self` parameter) for a method, following nested functions out."""
        current: cst.FunctionDef | cst.Lambda | None = func
        parents = self.parent_map()
        while isinstance(current, cst.FunctionDef):
            body = parents.get(current)
            cls = parents.get(body) if body else None
            if isinstance(cls, cst.ClassDef):
                params = current.params.params
                return (cls, params[0].name.value) if params else None
            current = self.enclosing_function(current)
        return None

    def _enclosing_defs(self, func: cst.FunctionDef) -> Iterator[cst.FunctionDef]:
        outer = self.enclosing_function(func)
        while outer is not None:
            if isinstance(outer, cst.FunctionDef):
                yield outer
            outer = self.enclosing_function(outer)

    def _reaches(
        self, start: cst.FunctionDef, target: cst.FunctionDef, seen: set[cst.FunctionDef]
    ) -> bool:
        """Whether `start` calls `target`, through same-module functions (depth-limited)."""
        if len(seen) > 20:
            return False
        for call in self._calls_in(start):
            for callee in self._callees(call, start):
                if callee is target:
                    return True
                if callee not in seen:
                    seen.add(callee)
                    if self._reaches(callee, target, seen):
                        return True
        return False

    def _calls_in(self, func: cst.FunctionDef) -> list[cst.Call]:
        if func not in self._calls:
            collector = _Calls()
            walk(func.body, collector)
            self._calls[func] = collector.calls
        return self._calls[func]

    def _pos(self, node: cst.CSTNode) -> tuple[int, int]:
        start = self.get_metadata(LazyPositionProvider, node).start
        return (start.line, start.column)

    def _tensor_guard(
        self, call: cst.Call, func: cst.FunctionDef, facts: FunctionFacts
    ) -> cst.BaseExpression | None:
        """A tensor condition that decides whether `call` runs: an enclosing `if`, `while`
        or conditional expression, or an earlier `if <tensor>: return` in an enclosing block."""
        start = self._pos(call)
        child: cst.CSTNode = call
        parent = self.get_metadata(ParentProvider, child, None)
        while parent is not None and parent is not func:
            if (
                isinstance(parent, cst.If | cst.While | cst.IfExp)
                and child is not parent.test
                and facts.kind(parent.test) is Kind.TENSOR
            ):
                return parent.test
            if (
                isinstance(parent, cst.Call)
                and parent.args
                and child is not parent.args[0]
                and self.qualnames(parent.func) & _TF_COND
                and facts.kind(parent.args[0].value) is Kind.TENSOR
            ):
                return parent.args[0].value  # a `tf.cond` branch: both are traced
            if isinstance(parent, cst.IndentedBlock | cst.Module):
                for stmt in parent.body:
                    if self._pos(stmt) >= start:
                        break
                    if (
                        isinstance(stmt, cst.If)
                        and _returns(stmt.body)
                        and facts.kind(stmt.test) is Kind.TENSOR
                    ):
                        return stmt.test
            child = parent
            parent = self.get_metadata(ParentProvider, child, None)
        return None


def _returns(block: cst.BaseSuite) -> bool:
    """Whether a block ends with `return` (or `raise`)."""
    if isinstance(block, cst.SimpleStatementSuite):
        last_small = block.body[-1] if block.body else None
        return isinstance(last_small, cst.Return | cst.Raise)
    if not block.body:
        return False
    last = block.body[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], cst.Return | cst.Raise)
    return False
