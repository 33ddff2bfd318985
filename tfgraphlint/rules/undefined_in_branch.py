"""TFG501 undefined-in-branch."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.control import statements
from tfgraphlint.discovery.model import CompiledContext
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.positions import LazyPositionProvider
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor, declarations
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine import call_sites
from tfgraphlint.engine.rule import Confirmation, FileState, Rule

Pos = tuple[int, int]


# ---------------------------------------------------------------------- assignment analysis
class _Assigned(SameScopeVisitor):
    """Names a block may assign (first target node of each), not looking into nested scopes.

    Augmented assignments are left out: they need the name to exist already."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, cst.Name] = {}

    def _bind(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.names.setdefault(target.value, target)
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return False

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return False

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return False

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return False

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target)


def assigned(node: cst.CSTNode | None) -> dict[str, cst.Name]:
    if node is None:
        return {}
    finder = _Assigned()
    walk(node, finder)
    return finder.names


def falls_through(suite: cst.BaseSuite | cst.Else | cst.If | None) -> bool:
    """Whether control can reach the end of a block (no final return/raise/break/continue)."""
    stmts = statements(suite)
    if not stmts:
        return True
    last = stmts[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return not isinstance(last.body[-1], cst.Return | cst.Raise | cst.Break | cst.Continue)
    if isinstance(last, cst.If) and last.orelse is not None:
        return falls_through(last.body) or falls_through(last.orelse)
    return True


def definitely_assigned(
    suite: cst.BaseSuite | cst.Else | cst.If | None,
    python_if: Callable[[cst.If], bool] | None = None,
) -> set[str]:
    """Names a block assigns on every path that falls through it. With `python_if`, an `if`
    it says yes to (a test that is not a tensor) counts as assigning what any of its
    branches does: Python takes one path while tracing, and a path that leaves a name unset
    fails in plain Python too (not a graph's error)."""
    out: set[str] = set()
    for stmt in statements(suite):
        out |= statement_assigns(stmt, python_if)
    return out


def statement_assigns(
    stmt: cst.CSTNode, python_if: Callable[[cst.If], bool] | None = None
) -> set[str]:
    """Names one statement assigns on every path that falls through it. Loops, `try` and
    `match` count as assigning everything they may assign (errs towards silence)."""
    if isinstance(stmt, cst.If):
        body, orelse = stmt.body, stmt.orelse
        if not falls_through(body):
            return definitely_assigned(orelse, python_if)
        if orelse is not None and not falls_through(orelse):
            return definitely_assigned(body, python_if)
        if python_if is not None and python_if(stmt):
            return definitely_assigned(body, python_if) | definitely_assigned(orelse, python_if)
        return definitely_assigned(body, python_if) & definitely_assigned(orelse, python_if)
    if isinstance(stmt, cst.With):
        return definitely_assigned(stmt.body, python_if) | {
            n for item in stmt.items for n in assigned(item)
        }
    if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
        return {stmt.name.value}
    return set(assigned(stmt))


def target_names(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, cst.Tuple | cst.List):
        return {n for element in target.elements for n in target_names(element.value)}
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return set()


def _last_binding_is_none(suite: cst.BaseSuite | cst.Else, name: str) -> cst.Name | None:
    """The target of `name = None` when that is the last statement of the block that binds
    `name` (a plain statement of the block itself, not nested), else None."""
    for stmt in reversed(statements(suite)):
        if name not in statement_assigns(stmt) and name not in assigned(stmt):
            continue
        return _sets_none(stmt, name)
    return None


def _sets_none(stmt: cst.CSTNode, name: str) -> cst.Name | None:
    """The target of `stmt` when it is the one-statement line `name = None`, else None."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value == name
        and _is_none(small.value)
    ):
        return small.targets[0].target
    return None


def _runs_at_least_once(iterable: cst.BaseExpression, facts: FunctionFacts) -> bool:
    """`tf.range(3)`, `tf.range(1, 4)`: integer literal bounds that give at least one value."""
    if not isinstance(iterable, cst.Call) or not (
        facts.is_range_call(iterable) or facts.qualnames(iterable.func) & names.TF_RANGE
    ):
        return False
    length = call_sites.literal_range_length(iterable)
    return length is not None and length > 0


def _is_none(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


class UndefinedInBranch(Rule):
    """
    ## What it does
    In a body that AutoGraph converts, flags a variable that a tensor-dependent `if` assigns
    in only one branch (or sets to `None` on one path) and that is read after the `if`; a
    variable first assigned inside a `for` loop over a `tf.data.Dataset` and read after the
    loop; the same for a tensor loop (`for i in tf.range(n)`, `while i < n` on tensors),
    which may run zero times; and a conditional expression `a if <tensor> else None`.

    ## Why is this bad?
    A tensor condition makes AutoGraph build a `tf.cond`, whose two branches must produce
    every variable that lives on after it, with a tensor value. Tracing fails with
    `ValueError: 'y' must also be initialized in the else branch`, or `ValueError: 'y' is None
    at the end of the else branch.` (identical on TensorFlow 2.3, 2.12 and 2.21). A dataset
    loop becomes a `Dataset.reduce`, whose state must exist before it: `ValueError: 'z' must be
    defined before the loop`. The same code works eagerly and with a Python condition.
    A name first set in a tensor loop traces, but the graph asserts at run time that the loop
    ran: a call where it runs zero times (an empty batch, `n = 0`) fails with
    `InvalidArgumentError: ... loop must iterate at least once to initialize z` (TensorFlow
    2.15 and 2.21). The loop variable itself is exempt: it is 0 when the loop does not run.

    ## Example
    ```python
    @tf.function
    def scale(x):
        if tf.reduce_sum(x) > 0:
            y = x * 2
        return y
    ```

    ## Use instead
    Give the variable a tensor value on every path: assign it before the `if`
    (`y = tf.zeros_like(x)`) or in an `else` branch; define loop results before the loop,
    with the dtype and shape the loop gives them.

    ## Known problems
    Only conditions known to be tensors are reported: a parameter such as `training` may be a
    Python `bool` (then Python runs the `if` and the code is fine) or a tensor.

    ## References
    - AutoGraph reference, "Limitations", "Undefined and None values"
    """

    CODE = "TFG501"
    NAME = "undefined-in-branch"
    SEVERITY = Severity.ERROR
    SUMMARY = "variable set on only some paths of a tensor `if` or loop and used after it"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import argparse

            import tensorflow as tf

            parser = argparse.ArgumentParser()
            parser.add_argument("--policy", choices=["cosine", "steps"], default="cosine")
            args = parser.parse_args([])

            @tf.function
            def learning_rate(step):
                if tf.reduce_sum(step) < 10.0:
                    lr = tf.reduce_sum(step) / 10.0
                else:
                    # A Python test: tracing takes one of these branches, and each sets `lr`
                    # (any other policy would fail in plain Python too).
                    if args.policy == "cosine":
                        lr = tf.cos(tf.reduce_sum(step))
                    elif args.policy == "steps":
                        lr = tf.constant(0.1)
                return lr
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x):
                y = tf.zeros_like(x)
                if tf.reduce_sum(x) > 0:
                    y = x * 2
                return y
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x, training=False):
                if training:  # a Python flag: Python runs this `if`
                    y = x * 2
                else:
                    y = x
                if x.shape[0] is None:
                    z = tf.shape(x)[0]
                return y
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def report(x):
                if tf.reduce_sum(x) > 0:
                    tmp = x * 2  # only used inside the branch
                    tf.print(tmp)
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def pick(x):
                if tf.reduce_sum(x) > 0:
                    y = x * 2
                else:
                    return x  # the other path leaves the function
                return y
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def last(x):
                for i in tf.range(3):
                    z = x * tf.cast(i, tf.float32)  # AutoGraph defines z from the first iteration
                y = None
                if x.shape.rank == 2:
                    y = x
                return z, y
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def positive_part(x):
                if tf.reduce_sum(x) > 0:
                    y = x * 2
                else:
                    y = None  # never read after the `if`: not an output of the `tf.cond`
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def last_index(x):
                for i in tf.range(tf.shape(x)[0]):
                    tf.print(x[i])
                return i  # the loop variable: 0 when the loop does not run
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def two_passes(x):
                total = tf.constant(0.0)
                for i in tf.range(tf.shape(x)[0]):
                    chunk = x[i] * 2.0
                    total += chunk
                for i in tf.range(tf.shape(x)[0]):
                    chunk = x[i] * 3.0  # set again before this loop reads it
                    total += chunk
                return total
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def eager(x):
                if tf.reduce_sum(x) > 0:
                    y = x * 2
                return y  # eager: a normal Python `if`
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def scale(x):
                if tf.reduce_sum(x) > 0:
                    y = x * 2  # error: TFG501
                return y
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None])])
            def masked(x):
                mask = None
                if tf.reduce_any(x < 0):
                    mask = x >= 0  # error: TFG501
                return x if mask is None else tf.boolean_mask(x, mask)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def bucket(x):
                s = tf.reduce_sum(x)
                if s > 10:
                    label = tf.constant(2)  # error: TFG501
                elif s > 0:
                    label = tf.constant(1)
                return label
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def last_loss(dataset: tf.data.Dataset):
                for x, y in dataset:
                    loss = tf.reduce_mean(tf.square(x - y))  # error: TFG501
                return loss
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def positive_part(x):
                if tf.reduce_sum(x) > 0:
                    y = x * 2
                else:
                    y = None  # error: TFG501
                return y
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def safe_log(x):
                return tf.math.log(x) if tf.reduce_all(x > 0) else None  # error: TFG501
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def last_row(x):
                for i in tf.range(tf.shape(x)[0]):
                    row = x[i] * 2.0  # error: TFG501
                return row  # an empty `x` fails at run time
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None])])
            def running_sum(x):
                total = tf.constant(0.0)
                i = tf.constant(0)
                while i < tf.size(x):
                    total += x[i]
                    last = x[i]  # error: TFG501
                    i += 1
                return total, last
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self._reported: set[tuple[int, str]] = set()

    # ------------------------------------------------------------------ visitors
    def visit_If(self, node: cst.If) -> None:
        found = self._converted(node)
        if found is None:
            return
        ctx, facts = found
        if facts.kind(node.test) is not Kind.TENSOR:
            return
        orelse = node.orelse
        if not falls_through(node.body) or not falls_through(orelse):
            return
        self._check_one_branch(node, ctx, facts)
        self._check_none_before(node, ctx, facts)
        self._check_none_in_branch(node, ctx, facts)

    def visit_For(self, node: cst.For) -> None:
        found = self._converted(node)
        if found is None:
            return
        ctx, facts = found
        if not facts.is_dataset(node.iter):
            if (
                facts.iteration_kind(node.iter) is Kind.TENSOR
                and not facts.is_dataset_iterator(node.iter)
                and not _runs_at_least_once(node.iter, facts)
            ):
                self._check_may_not_run(node, ctx, facts)
            return
        for name, target, read in self._first_set_then_read(node, facts):
            self.report(
                target,
                f"`{name}`, first assigned in dataset loop `{self._header(node)}` in "
                f"{ctx.describe()}, is "
                f"read after it (line {read}), so tracing raises `ValueError`",
                context=ctx,
            )

    def visit_While(self, node: cst.While) -> None:
        found = self._converted(node)
        if found is None:
            return
        ctx, facts = found
        if facts.kind(node.test) is Kind.TENSOR:
            self._check_may_not_run(node, ctx, facts)

    def _check_may_not_run(
        self, loop: cst.For | cst.While, ctx: CompiledContext, facts: FunctionFacts
    ) -> None:
        """A name first set in a graph loop (other than a dataset's) and read after it: the
        loop may run zero times, and the graph asserts that it did not."""
        for name, target, read in self._first_set_then_read(loop, facts):
            self.report(
                target,
                f"`{name}`, first assigned in tensor loop `{self._header(loop)}` in "
                f"{ctx.describe()}, is "
                f"read after it (line {read}): a call where the loop runs zero times fails "
                f"with `loop must iterate at least once to initialize {name}`",
                context=ctx,
            )

    def _header(self, loop: cst.For | cst.While) -> str:
        """`for x in xs` or `while test`, for a message."""
        if isinstance(loop, cst.For):
            return f"for {self.code(loop.target)} in {self.code(loop.iter)}"
        return f"while {self.code(loop.test)}"

    def _first_set_then_read(
        self, loop: cst.For | cst.While, facts: FunctionFacts
    ) -> Iterator[tuple[str, cst.Name, int]]:
        """(name, first target, line of the read) for each name that the body of `loop`
        assigns, that is neither its loop variable nor bound before it, and that is read
        after it."""
        targets = target_names(loop.target) if isinstance(loop, cst.For) else set()
        for name, target in assigned(loop.body).items():
            if name in targets or self._defined_before(name, loop, facts):
                continue
            read = self._read_after(name, loop, facts)
            if read is not None:
                yield name, target, read

    def visit_IfExp(self, node: cst.IfExp) -> None:
        found = self._converted(node)
        if found is None or not (_is_none(node.body) or _is_none(node.orelse)):
            return
        ctx, facts = found
        if facts.kind(node.test) is not Kind.TENSOR:
            return
        side = "else" if _is_none(node.orelse) else "if"
        self.report(
            node,
            f"`{self.code(node)}` in {ctx.describe()} has a tensor condition and `None` on its "
            f"{side} side, which a `tf.cond` cannot return (tracing raises `ValueError`)",
            context=ctx,
        )

    # ------------------------------------------------------------------ checks
    def _check_one_branch(self, node: cst.If, ctx: CompiledContext, facts: FunctionFacts) -> None:
        in_body = assigned(node.body)
        in_else = assigned(node.orelse)

        def python_if(inner: cst.If) -> bool:
            return facts.kind(inner.test) is not Kind.TENSOR

        in_orelse = definitely_assigned(node.orelse, python_if)
        both = definitely_assigned(node.body, python_if) & in_orelse
        for name, target in {**in_else, **in_body}.items():
            if name in both or self._defined_before(name, node, facts):
                continue
            read = self._read_after(name, node, facts)
            if read is None or not self._first_report(node, name):
                continue
            missing = "else" if name not in in_orelse else "main"
            self.report(
                target,
                f"`{name}` is not assigned in the {missing} branch of tensor "
                f"`if {self.code(node.test)}` in {ctx.describe()} but read at line {read}, so "
                "tracing raises `ValueError`",
                context=ctx,
            )

    def _check_none_before(self, node: cst.If, ctx: CompiledContext, facts: FunctionFacts) -> None:
        """`y = None` just before a tensor `if` that sets `y` on one path only."""
        both = definitely_assigned(node.body) & definitely_assigned(node.orelse)
        for name, target in {**assigned(node.orelse), **assigned(node.body)}.items():
            if name in both or not self._none_just_before(name, node):
                continue
            read = self._read_after(name, node, facts)
            if read is None or not self._first_report(node, name):
                continue
            self.report(
                target,
                f"`{name}` is `None` before tensor `if {self.code(node.test)}` in "
                f"{ctx.describe()}, set in one branch only and read at line {read}: a `tf.cond` "
                "cannot output `None`, so tracing raises `ValueError`",
                context=ctx,
            )

    def _check_none_in_branch(
        self, node: cst.If, ctx: CompiledContext, facts: FunctionFacts
    ) -> None:
        """`else: y = None` (or the main branch ending with `y = None`) while the other
        branch gives `y` a value, and `y` read after the `if`."""
        if not isinstance(node.orelse, cst.Else):
            return  # an `elif` chain: its own `if` is checked on its own
        both = definitely_assigned(node.body) & definitely_assigned(node.orelse)
        for name in sorted(both):
            body_none = _last_binding_is_none(node.body, name)
            else_none = _last_binding_is_none(node.orelse, name)
            if (body_none is None) == (else_none is None):
                continue  # `None` on neither side, or on both (a Python value then)
            read = self._read_after(name, node, facts)
            if read is None or not self._first_report(node, name):
                continue
            side = "else" if else_none is not None else "main"
            target = else_none if else_none is not None else body_none
            assert target is not None
            self.report(
                target,
                f"`{name}` is set to `None` in the {side} branch of tensor "
                f"`if {self.code(node.test)}` in {ctx.describe()} and read at line {read}: a "
                "`tf.cond` cannot output `None`, so tracing raises `ValueError`",
                context=ctx,
            )

    # ------------------------------------------------------------------ helpers
    def _converted(self, node: cst.CSTNode) -> tuple[CompiledContext, FunctionFacts] | None:
        ctx = self.compiled_context(node)
        facts = self.facts(node)
        if ctx is None or facts is None or facts.autograph_off_reason() is not None:
            return None
        return ctx, facts

    def _first_report(self, node: cst.If, name: str) -> bool:
        """Report a name once per `if`/`elif` chain."""
        root: cst.CSTNode = node
        parent = self.get_metadata(ParentProvider, root, None)
        while isinstance(parent, cst.If) and parent.orelse is root:
            root, parent = parent, self.get_metadata(ParentProvider, parent, None)
        key = (id(root), name)
        if key in self._reported:
            return False
        self._reported.add(key)
        return True

    def _pos(self, node: cst.CSTNode) -> Pos:
        start = self.get_metadata(LazyPositionProvider, node).start
        return (start.line, start.column)

    def _end(self, node: cst.CSTNode) -> Pos:
        end = self.get_metadata(LazyPositionProvider, node).end
        return (end.line, end.column)

    def _defined_before(self, name: str, stmt: cst.CSTNode, facts: FunctionFacts) -> bool:
        """Bound before `stmt` in the function, or anywhere in a loop around it, or declared
        global/nonlocal (all err towards silence)."""
        globals_, nonlocals = declarations(facts.func)
        if name in globals_ or name in nonlocals or name in facts.param_names:
            return True
        scope = self.get_metadata(FastScopeProvider, stmt, None)
        if scope is None:
            return True
        start = self._pos(stmt)
        loops = [(self._pos(loop), self._end(loop)) for loop in self._enclosing_loops(stmt, facts)]
        for assignment in scope.assignments[name]:
            target = getattr(assignment, "node", None)
            if not isinstance(target, cst.CSTNode):
                return True
            pos = self._pos(target)
            if pos < start or any(lo <= pos <= hi for lo, hi in loops):
                return True
        return False

    def _enclosing_loops(self, node: cst.CSTNode, facts: FunctionFacts) -> Iterator[cst.CSTNode]:
        parent = self.get_metadata(ParentProvider, node, None)
        while parent is not None and parent is not facts.func:
            if isinstance(parent, cst.For | cst.While):
                yield parent
            parent = self.get_metadata(ParentProvider, parent, None)

    def _following(self, stmt: cst.CSTNode, facts: FunctionFacts) -> Iterator[cst.CSTNode]:
        """Statements that may run after `stmt`, in order, up to the end of the function."""
        child: cst.CSTNode = stmt
        parent = self.get_metadata(ParentProvider, child, None)
        while parent is not None and child is not facts.func.body:
            if isinstance(parent, cst.IndentedBlock | cst.SimpleStatementSuite):
                siblings = list(parent.body)
                if child in siblings:
                    yield from siblings[siblings.index(child) + 1 :]
            child = parent
            parent = self.get_metadata(ParentProvider, child, None)

    def _read_after(self, name: str, stmt: cst.CSTNode, facts: FunctionFacts) -> int | None:
        """Line of the first read of `name` after `stmt` that no assignment masks, or None.
        A read with an assignment of `name` between `stmt` and it (say in a second loop that
        sets the name before reading it) counts as masked: that errs towards silence."""
        scope = self.get_metadata(FastScopeProvider, stmt, None)
        if scope is None:
            return None
        assignments = scope.assignments[name]
        reads = sorted(self._pos(access.node) for a in assignments for access in a.references)
        nodes = [getattr(a, "node", None) for a in assignments]
        bound = [self._pos(n) for n in nodes if isinstance(n, cst.CSTNode)]
        end = self._end(stmt)
        for following in self._following(stmt, facts):
            lo, hi = self._pos(following), self._end(following)
            inside = [r for r in reads if lo <= r <= hi]
            if inside:
                first = inside[0]
                return None if any(end < b < first for b in bound) else first[0]
            if name in statement_assigns(following):
                return None
        return None

    def _none_just_before(self, name: str, node: cst.If) -> bool:
        """Whether the statement right before `node` in its block is `name = None`."""
        parent = self.get_metadata(ParentProvider, node, None)
        if not isinstance(parent, cst.IndentedBlock):
            return False
        siblings = list(parent.body)
        index = siblings.index(node)
        if index == 0:
            return False
        return _sets_none(siblings[index - 1], name) is not None
