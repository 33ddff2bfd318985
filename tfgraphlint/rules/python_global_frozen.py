"""TFG105 python-global-frozen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import (
    Access,
    Assignment,
    BaseAssignment,
    FunctionScope,
    ImportAssignment,
    Scope,
)

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.positions import LazyPositionProvider
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.prefilter import words
from tfgraphlint.engine.rule import Confirmation, FileState, FuncNode, Rule
from tfgraphlint.rules.python_side_effect import OuterState

_LOOPS = (cst.For, cst.While)


@dataclass(frozen=True, slots=True)
class _Rebinding:
    line: int
    where: str  # "", or " in `set_lr`"


class PythonGlobalFrozen(Rule):
    """
    ## What it does
    Flags reads, in a compiled body, of a module-level Python scalar (a number, string or
    bool) that is reassigned after the function may have been traced: in a function that
    declares it `global`, or at module level after (or in a loop around) a call of a
    function of the module. The same for a scalar local of an enclosing function that runs
    eagerly, rebound after the compiled function is called or through `nonlocal`.

    ## Why is this bad?
    Globals and closure variables are read once, while TensorFlow traces the function, and
    the value is baked into the graph as a constant. They are not part of the trace cache
    key, so reassigning them later does not retrace: every later call silently keeps the
    old value (a learning rate that never decays, a debug flag that never turns on).

    ## Example
    ```python
    learning_rate = 0.1

    @tf.function
    def train_step(x):
        return x * learning_rate

    def decay():
        global learning_rate
        learning_rate *= 0.5
    ```

    ## Use instead
    Keep changing values in a `tf.Variable` (captured by reference: `lr.assign(...)` is seen
    by the graph), or pass them as tensor arguments (`train_step(x, tf.constant(lr))`). A
    Python argument works too, but retraces for every new value.

    ## Known problems
    Reassignments that happen before the first call (configuration at start-up) cannot be
    told apart from later ones when they are in a function; the rule reports them.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Depending on Python global
      and free variables"
    """

    CODE = "TFG105"
    NAME = "python-global-frozen"
    REACH, TRIGGERS = "call-sites", (words("global", "nonlocal"),)
    SEVERITY = Severity.WARNING
    SUMMARY = "reassigned module-level or closure Python scalar read in a compiled body (frozen)"

    CONFIRMED_BY = Confirmation.FROZEN_VALUE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            SCALE = 2.0  # never reassigned: a true constant

            @tf.function
            def scale(x):
                return x * SCALE
            """
        ),
        Valid(
            """
            import tensorflow as tf

            learning_rate = tf.Variable(0.1)  # read by reference

            @tf.function
            def train_step(x):
                return x * learning_rate

            def decay():
                learning_rate.assign(learning_rate * 0.5)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            try:
                import scipy  # noqa: F401

                HAS_SCIPY = True
            except ImportError:
                HAS_SCIPY = False  # decided at import, before any trace

            @tf.function
            def f(x):
                return x + 1 if HAS_SCIPY else x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def make_step(scale):
                factor = 1.0
                if scale:
                    factor = 2.0  # rebound before the function exists

                @tf.function
                def step(x):
                    return x * factor

                return step
            """
        ),
        Valid(
            """
            import tensorflow as tf

            verbose = False

            def log_everything():
                global verbose
                verbose = True

            def eager_report(x):
                return f"{x}" if verbose else ""  # not compiled: reads the current value
            """
        ),
        Valid(
            """
            import tensorflow as tf

            batch_size = 32

            def double(x):
                return x * 2

            print(double(3))
            batch_size = 64  # before `step` exists: no trace can have read 32

            @tf.function
            def step(x):
                return tf.reshape(double(x), [batch_size, -1])
            """
        ),
        Valid(
            """
            import tensorflow as tf

            learning_rate = 0.1  # a default, replaced by a variable at start-up

            @tf.function
            def train_step(x):
                return x * learning_rate

            def setup(initial):
                global learning_rate
                learning_rate = tf.Variable(initial)  # read by reference from now on
            """
        ),
        Valid(
            """
            import tensorflow as tf

            learning_rate = 0.1

            @tf.function
            def step(w, g):
                w.assign_sub(g * learning_rate)

            w = tf.Variable(1.0)
            step(w, tf.constant(1.0))
            learning_rate = 0.1  # the same value again (a copied cell): nothing changes
            step(w, tf.constant(1.0))
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            learning_rate = 0.1

            @tf.function
            def train_step(x):
                return x * learning_rate  # error: TFG105

            def decay():
                global learning_rate
                learning_rate *= 0.5
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            scale = 1.0

            @tf.function
            def f(x):
                return x * scale  # error: TFG105

            print(f(tf.constant(2.0)))
            scale = 2.0
            print(f(tf.constant(2.0)))  # still 2.0
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def train(dataset, epochs):
                lr = 0.1

                @tf.function
                def step(x):
                    return x * lr  # error: TFG105

                for _ in range(epochs):
                    for x in dataset:
                        step(x)
                    lr = lr * 0.5
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            DEBUG = False

            def enable_debug():
                global DEBUG
                DEBUG = True

            def maybe_check(x):
                if DEBUG:  # error: TFG105
                    tf.debugging.check_numerics(x, "x")
                return x

            @tf.function
            def step(x):
                return maybe_check(x) * 2
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def buggy_add():
                return 1 + foo  # error: TFG105

            foo = 1
            print(buggy_add())
            foo = 100  # after `buggy_add` was traced: it still adds 1
            print(buggy_add())

            @tf.function
            def variable_add():
                return 1 + foo  # defined after `foo = 100`, and `foo` is a variable from here on

            foo = tf.Variable(1)
            print(variable_add())
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.outer = OuterState(self)

    def visit_Module(self, node: cst.Module) -> None:
        scope = self.get_metadata(FastScopeProvider, node, None)
        if scope is not None:
            self._check_scope(scope, node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.context_of_function(node) is not None:
            return  # its locals live within one trace
        scope = self.get_metadata(FastScopeProvider, node.body, None)
        if isinstance(scope, FunctionScope):
            self._check_scope(scope, node.body)

    # ------------------------------------------------------------------ analysis
    def _check_scope(self, scope: Scope, body: cst.CSTNode) -> None:
        by_name: dict[str, list[Assignment]] = {}
        for a in scope.assignments:
            if isinstance(a, Assignment):
                by_name.setdefault(a.name, []).append(a)
        for name, assignments in by_name.items():
            if any(
                isinstance(a, ImportAssignment) or not isinstance(a.node, cst.Name)
                for a in assignments
            ):
                continue  # imports, defs, classes, parameters
            if len(assignments) < 2 or not any(
                self.compiled_context(r.node) is not None for a in assignments for r in a.references
            ):
                continue  # never rebound, or never read in a compiled body: nothing to report
            ordered = sorted(assignments, key=lambda a: self._pos(a.node))
            own = [a for a in ordered if self._owner_body(a.node) is body]
            if not own or not self._is_scalar(self.outer.bound_value(own[0].node), scope):
                continue
            # Each reader on its own: a rebinding before one function exists can still come
            # after another one's trace (a notebook that redefines both, in turn).
            calls = list(self._calls_of_local_functions(body))
            for reader in self._compiled_readers(ordered, body):
                rebinding = self._rebinding(ordered, own[0], body, reader, calls)
                if rebinding is not None:
                    self._report_reads(name, ordered, rebinding, scope, reader, body)

    def _rebinding(
        self,
        ordered: list[Assignment],
        first: Assignment,
        body: cst.CSTNode,
        reader: cst.CSTNode,
        calls: list[cst.Call],
    ) -> _Rebinding | None:
        """The first rebinding that can happen after `reader` (a statement of `body` that
        reads the name in a compiled body) is traced: in another function (`global`/
        `nonlocal`), or in this scope after a call of a local function (or in a loop around
        one)."""
        readers = [reader]
        initial = self.outer.bound_value(first.node)
        for a in ordered:
            if a is first or self._binds_variable(a.node):
                continue  # a `tf.Variable` is read by reference
            value = self.outer.bound_value(a.node)
            if (
                initial is not None
                and value is not None
                and _literal(value) is not None
                and _literal(value) == _literal(initial)
            ):
                continue  # bound again to the same constant (a re-run cell, a copy): no change
            owner = self._owner_body(a.node)
            if owner is not body:
                func = self._function_around(a.node)
                name = func.name.value if isinstance(func, cst.FunctionDef) else "a lambda"
                return _Rebinding(self.line_of(a.node), f" in `{name}`")
            pos = self._pos(a.node)
            loops = set(self._loops_around(a.node, body))
            if all(
                pos < self._pos(r) and not loops & set(self._loops_around(r, body)) for r in readers
            ):
                continue  # before the code that reads it exists: no trace can have happened
            for call in calls:
                if self._pos(call) < pos or loops & set(self._loops_around(call, body)):
                    return _Rebinding(self.line_of(a.node), "")
        return None

    def _compiled_readers(self, ordered: list[Assignment], body: cst.CSTNode) -> list[cst.CSTNode]:
        """The statements of `body` that hold a read of the name in a compiled body (the
        `def` of the compiled function or of the helper that reads it), in order, once each."""
        readers: list[cst.CSTNode] = []
        for a in ordered:
            for r in a.references:
                if self.compiled_context(r.node) is None:
                    continue
                child = self._statement_in(r.node, body)
                if child is not None and all(child is not seen for seen in readers):
                    readers.append(child)
        return sorted(readers, key=self._pos)

    def _statement_in(self, node: cst.CSTNode, body: cst.CSTNode) -> cst.CSTNode | None:
        """The child of `body` that holds `node`, or None when `body` does not hold it."""
        child: cst.CSTNode = node
        for p in self._parents(node):
            if p is body:
                return child
            child = p
        return None

    def _binds_variable(self, target: cst.CSTNode) -> bool:
        value = self.outer.bound_value(target)
        return isinstance(value, cst.Call) and names.any_in(
            self.qualnames(value.func), names.TF_VARIABLE
        )

    def _report_reads(
        self,
        name: str,
        ordered: list[Assignment],
        rebinding: _Rebinding,
        scope: Scope,
        reader: cst.CSTNode,
        body: cst.CSTNode,
    ) -> None:
        reported: set[FuncNode] = set()
        accesses: list[Access] = sorted(
            {r for a in ordered for r in a.references},
            key=lambda r: self._pos(r.node),
        )
        for access in accesses:
            node = access.node
            func = self.enclosing_function(node)
            ctx = self.compiled_context(node)
            if ctx is None or func is None or func in reported or self._is_write(node):
                continue
            if self._statement_in(node, body) is not reader:
                continue  # another reader, judged on its own
            reported.add(func)
            where = (
                "module-level"
                if scope is self.get_metadata(FastScopeProvider, self.state.module, None)
                else "closure variable"
            )
            self.report(
                node,
                f"{where} `{name}` read in {ctx.describe()} is frozen at its value when traced, "
                f"but reassigned at line {rebinding.line}{rebinding.where}",
                context=ctx,
            )

    # ------------------------------------------------------------------ helpers
    def _is_scalar(self, value: cst.BaseExpression | None, scope: Scope) -> bool:
        if isinstance(value, cst.UnaryOperation) and isinstance(
            value.operator, cst.Minus | cst.Plus
        ):
            value = value.expression
        if isinstance(value, cst.Integer | cst.Float | cst.SimpleString | cst.ConcatenatedString):
            return True
        if isinstance(value, cst.Name):
            if value.value in ("True", "False"):
                return True
            bound = [
                a for a in scope[value.value] if isinstance(a, Assignment) and a.scope is scope
            ]
            if len(bound) == 1 and isinstance(bound[0].node, cst.Name):
                inner = self.outer.bound_value(bound[0].node)
                return (
                    inner is not None
                    and not isinstance(inner, cst.Name)
                    and (self._is_scalar(inner, scope))
                )
        return False

    def _is_write(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentProvider, node, None)
        return isinstance(parent, cst.AugAssign) and parent.target is node

    def _pos(self, node: cst.CSTNode) -> tuple[int, int]:
        start = self.get_metadata(LazyPositionProvider, node).start
        return (start.line, start.column)

    def _parents(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        p = self.get_metadata(ParentProvider, node, None)
        while p is not None:
            yield p
            p = self.get_metadata(ParentProvider, p, None)

    def _owner_body(self, node: cst.CSTNode) -> cst.CSTNode:
        """The body that holds `node`: the module, or the innermost function's body."""
        child = node
        for p in self._parents(node):
            if isinstance(p, cst.FunctionDef | cst.Lambda) and child is p.body:
                return child
            child = p
        return child

    def _function_around(self, node: cst.CSTNode) -> FuncNode | None:
        """The function whose body holds `node`, even under `with tf.init_scope():`."""
        for p in self._parents(node):
            if isinstance(p, cst.FunctionDef | cst.Lambda):
                return p
        return None

    def _loops_around(self, node: cst.CSTNode, body: cst.CSTNode) -> Iterator[cst.CSTNode]:
        for p in self._parents(node):
            if p is body:
                return
            if isinstance(p, _LOOPS):
                yield p

    def _calls_of_local_functions(self, body: cst.CSTNode) -> Iterator[cst.Call]:
        """Calls, directly in `body`, of functions defined in the module (by name)."""
        finder = _Calls()
        walk(body, finder)
        for call in finder.calls:
            if not isinstance(call.func, cst.Name):
                continue
            scope = self.get_metadata(FastScopeProvider, call.func, None)
            if scope is None:
                continue
            if any(self._is_local_callable(a) for a in scope[call.func.value]):
                yield call

    def _is_local_callable(self, a: BaseAssignment) -> bool:
        """A function defined in the module, or a name assigned one (`step = tf.function(f)`)."""
        if not isinstance(a, Assignment) or isinstance(a, ImportAssignment):
            return False
        return isinstance(a.node, cst.FunctionDef) or (
            isinstance(a.node, cst.Name) and self.outer.bound_value(a.node) is not None
        )


def _literal(value: cst.BaseExpression) -> str | None:
    """The source of a constant number, string or bool (`0.1`, `-1`, `"x"`, `True`), else None."""
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus | cst.Plus):
        inner = _literal(value.expression)
        return (
            None
            if inner is None
            else ("-" if isinstance(value.operator, cst.Minus) else "") + inner
        )
    if isinstance(value, cst.Integer | cst.Float | cst.SimpleString):
        return value.value
    if isinstance(value, cst.Name) and value.value in {"True", "False", "None"}:
        return value.value
    return None


class _Calls(SameScopeVisitor):
    """Calls in one body, not in nested functions or classes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)
