"""TFG514 graph-loop-variable-type-change."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, Rule

_CAST = names.under_tf("cast", "dtypes.cast")
_CONCAT = names.under_tf("concat")
_EMPTY_MAKERS = names.under_tf("zeros", "ones")
_CONSTANT = names.under_tf("constant")
_COND = names.under_tf("cond")
_SET_LOOP_OPTIONS = names.under_tf("autograph.experimental.set_loop_options")
_FLOAT_DTYPES = frozenset({"float16", "float32", "float64", "bfloat16", "double", "half"})


class _Assignments(SameScopeVisitor):
    """Assignments to plain names in a block, not descending into nested scopes; and whether
    the block calls `set_loop_options`."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.found: list[tuple[str, cst.BaseExpression, bool, cst.CSTNode]] = []
        self.loop_options = False

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.found.append((node.targets[0].target.value, node.value, False, node))

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.target, cst.Name):
            self.found.append((node.target.value, node.value, True, node))

    def visit_Call(self, node: cst.Call) -> None:
        if self.rule.qualnames(node.func) & _SET_LOOP_OPTIONS:
            self.loop_options = True


class _Loads(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _names_in(node: cst.CSTNode) -> set[str]:
    loads = _Loads()
    walk(node, loads)
    return loads.names


class GraphLoopVariableTypeChange(Rule):
    """
    ## What it does
    Flags, in code AutoGraph converts, a variable whose dtype or shape a graph loop or a
    tensor `if` changes:
    - a Python `int` (`s = 0`) before a tensor loop (`tf.range`, a tensor `while`) that the
      loop turns into a float (`s += 0.5`, `s = s + tf.cast(i, tf.float32)`);
    - an empty tensor (`tf.zeros([0, d])`, `tf.constant([])`) grown with `tf.concat` in a
      tensor loop, with no shape invariant (`set_loop_options`);
    - a name given an `int` in one branch of a tensor `if` and a `float` in the other, or
      tuples of different lengths, and read after the `if`;
    - a `tf.cond` branch that returns `None` (`lambda: None`, or a local function without a
      `return` value) while the other returns a tensor.

    ## Why is this bad?
    AutoGraph turns a tensor loop into `tf.while_loop` and a tensor `if` into `tf.cond`: a
    loop variable must keep its dtype and shape from one iteration to the next, and both
    branches must give a name the same dtype and structure. On TensorFlow 2.21 the trace
    fails: `s = 0` then `s = s + 0.5` in a `tf.range` loop raises "TypeError: Input 'y' of
    'AddV2' Op has type float32 that does not match type int32"; growing `tf.zeros([0, 3])`
    with `tf.concat` raises "'acc' has shape (0, 3) before the loop, but shape (None, 3)
    after one iteration"; `y = 1` / `y = 1.5` in the branches raises "'y' has dtype int32
    in the main branch, but dtype float32 in the else branch"; and `tf.cond(p, lambda: x,
    lambda: None)` raises a `ValueError`. Eager code runs the same lines without an error.

    ## Example
    ```python
    @tf.function
    def total(x):
        s = 0
        for i in tf.range(tf.shape(x)[0]):
            s += 0.5 * tf.reduce_sum(x[i])
        return s
    ```

    ## Use instead
    Start the variable with the dtype and shape it keeps (`s = 0.0`, `tf.zeros([], x.dtype)`),
    collect growing results in a `tf.TensorArray` (or declare the growing dimension with
    `tf.autograph.experimental.set_loop_options(shape_invariants=[(acc, tf.TensorShape([None,
    3]))])`), give both branches the same type, and return a tensor (`tf.zeros_like(x)`) from
    every `tf.cond` branch.

    ## References
    - AutoGraph reference, "Control flow" (loop variables and branch outputs)
    - `tf.autograph.experimental.set_loop_options` reference
    """

    CODE = "TFG514"
    NAME = "graph-loop-variable-type-change"
    SEVERITY = Severity.ERROR
    SUMMARY = "tensor loop/`if`/`tf.cond` that changes a variable's dtype, shape or structure"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                s = 0.0
                for i in tf.range(tf.shape(x)[0]):
                    s += 0.5 * tf.reduce_sum(x[i])
                return s
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def rows(x):
                acc = tf.zeros([0, 3])
                for i in tf.range(tf.shape(x)[0]):
                    tf.autograph.experimental.set_loop_options(
                        shape_invariants=[(acc, tf.TensorShape([None, 3]))]
                    )
                    acc = tf.concat([acc, x[i : i + 1]], 0)
                return acc
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def last(x):
                y = None
                for i in tf.range(3):
                    y = x * 2.0  # None before a loop, then a tensor: fine
                count = 0
                for i in tf.range(3):
                    count += 1
                return y, count
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def scaled(x):
                if tf.reduce_sum(x) > 0:
                    y = 1.0
                else:
                    y = 1.5
                return tf.cond(tf.reduce_sum(x) > 0, lambda: x * y, lambda: tf.zeros_like(x))
            """
        ),
        Valid(
            """
            import tensorflow as tf

            ds = tf.data.Dataset.range(3)

            @tf.function
            def collect(x):
                acc = tf.zeros([0], tf.int64)
                for e in ds:  # a `Dataset.reduce`: shapes may change
                    acc = tf.concat([acc, [e]], 0)
                return acc
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                s = 0
                for i in range(3):  # a Python loop: unrolled, no loop variable
                    s += 0.5
                return x * s
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                s = 0
                for i in tf.range(tf.shape(x)[0]):
                    s += 0.5 * tf.reduce_sum(x[i])  # error: TFG514
                return s
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def rows(x):
                acc = tf.zeros([0, 3])
                for i in tf.range(tf.shape(x)[0]):
                    acc = tf.concat([acc, x[i : i + 1]], 0)  # error: TFG514
                return acc
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def scaled(x):
                if tf.reduce_sum(x) > 0:
                    y = 1
                else:
                    y = 1.5  # error: TFG514
                return x * y
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def clipped(x):
                pos = tf.reduce_sum(x) > 0
                return tf.cond(pos, lambda: tf.abs(x), lambda: None)  # error: TFG514
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def checked(x):
                def report():
                    tf.print("negative sum")  # returns nothing

                pos = tf.reduce_sum(x) > 0
                return tf.cond(pos, lambda: tf.abs(x), report)  # error: TFG514
            """
        ),
    )

    # ------------------------------------------------------------------ loops
    def visit_For(self, node: cst.For) -> None:
        facts = self._converted_facts(node)
        if (
            facts is not None
            and facts.iteration_kind(node.iter) is Kind.TENSOR
            # A loop over a dataset is a `Dataset.reduce`, which relaxes shapes (TF 2.21).
            and not facts.is_dataset(node.iter)
            and not facts.is_dataset_iterator(node.iter)
        ):
            self._check_loop(node, facts)

    def visit_While(self, node: cst.While) -> None:
        facts = self._converted_facts(node)
        if facts is not None and facts.kind(node.test) is Kind.TENSOR:
            self._check_loop(node, facts)

    def _converted_facts(self, node: cst.CSTNode) -> FunctionFacts | None:
        facts = self.facts(node)
        if facts is None or facts.autograph_off_reason() is not None:
            return None
        if self.under_eager_check(node):
            return None
        return facts

    def _check_loop(self, loop: cst.For | cst.While, facts: FunctionFacts) -> None:
        inside = _Assignments(self)
        walk(loop.body, inside)
        reported: set[str] = set()
        for name, value, augmented, stmt in inside.found:
            if name in reported:
                continue
            reads_itself = augmented or name in _names_in(value)
            if not reads_itself:
                continue
            init = self._value_before(loop, name)
            if init is None:
                continue
            if _is_int_literal(init) and self._is_float(value):
                what = (
                    f"`{name}` is a Python int before the loop and a float after "
                    f"`{self.code(stmt)}`"
                )
                fix = f"start it as a float (`{name} = {self.code(init)}.0`)"
            elif (
                not inside.loop_options
                and self._is_empty_tensor(init)
                and isinstance(value, cst.Call)
                and self.qualnames(value.func) & _CONCAT
            ):
                what = f"`{name}` is the empty `{self.code(init)}` before the loop and grows in it"
                fix = "collect the rows in a `tf.TensorArray`, or set a shape invariant"
            else:
                continue
            reported.add(name)
            ctx = self.compiled_context(stmt)
            self.report(
                stmt,
                f"{what}: AutoGraph's graph loop in "
                f"{ctx.describe() if ctx else 'this function'} fails while tracing; {fix}",
                context=ctx,
            )

    def _value_before(self, node: cst.CSTNode, name: str) -> cst.BaseExpression | None:
        """The value `name` is last given by a simple statement before `node` in the same
        block, when no compound statement in between assigns it."""
        block = self.parent(node)
        if not isinstance(block, cst.IndentedBlock | cst.Module):
            return None
        body: Sequence[cst.BaseStatement] = block.body
        index = next((i for i, s in enumerate(body) if s is node), None)
        if index is None:
            return None
        for stmt in reversed(body[:index]):
            assigned = _Assignments(self)
            walk(stmt, assigned)
            values = [v for n, v, aug, _ in assigned.found if n == name]
            if not values:
                continue
            if not isinstance(stmt, cst.SimpleStatementLine):
                return None
            last = next(
                ((v, aug) for n, v, aug, _ in reversed(assigned.found) if n == name),
                None,
            )
            return None if last is None or last[1] else last[0]
        return None

    def _is_float(self, value: cst.BaseExpression) -> bool:
        """A float literal, an arithmetic expression holding one, or a cast to a float dtype."""
        if isinstance(value, cst.Float):
            return True
        if isinstance(value, cst.BinaryOperation):
            return self._is_float(value.left) or self._is_float(value.right)
        if isinstance(value, cst.UnaryOperation):
            return self._is_float(value.expression)
        if isinstance(value, cst.Call) and self.qualnames(value.func) & _CAST:
            dtype = next(
                (
                    a.value
                    for i, a in enumerate(value.args)
                    if (a.keyword is None and i == 1) or (a.keyword and a.keyword.value == "dtype")
                ),
                None,
            )
            return (
                isinstance(dtype, cst.Attribute)
                and dtype.attr.value in _FLOAT_DTYPES
                and any(names.strip_tf_root(q) is not None for q in self.qualnames(dtype))
            )
        return False

    def _is_empty_tensor(self, value: cst.BaseExpression) -> bool:
        """`tf.zeros([0, ...])`, `tf.ones((0,))`, `tf.constant([])`."""
        if not isinstance(value, cst.Call) or not value.args:
            return False
        qns = self.qualnames(value.func)
        first = value.args[0].value
        if qns & _CONSTANT:
            return isinstance(first, cst.List) and not first.elements
        if qns & _EMPTY_MAKERS:
            return (
                isinstance(first, cst.List | cst.Tuple)
                and bool(first.elements)
                and isinstance(first.elements[0].value, cst.Integer)
                and first.elements[0].value.value == "0"
            )
        return False

    # ------------------------------------------------------------------ tensor if
    def visit_If(self, node: cst.If) -> None:
        if not isinstance(node.orelse, cst.Else):
            return
        facts = self._converted_facts(node)
        if facts is None or facts.kind(node.test) is not Kind.TENSOR:
            return
        main = _last_simple_values(node.body)
        other = _last_simple_values(node.orelse.body)
        block = self.parent(node)
        if not isinstance(block, cst.IndentedBlock | cst.Module):
            return
        index = next((i for i, s in enumerate(block.body) if s is node), None)
        if index is None:
            return
        later: set[str] = set()
        for stmt in block.body[index + 1 :]:
            later |= _names_in(stmt)
        for name, (value_main, _) in main.items():
            if name not in other or name not in later:
                continue
            value_else, stmt_else = other[name]
            mismatch = _mismatch(value_main, value_else)
            if mismatch is None:
                continue
            ctx = self.compiled_context(node)
            self.report(
                stmt_else,
                f"`{name}` is {mismatch} in the two branches of the tensor `if` "
                f"`{self.code(node.test)}`: AutoGraph's `tf.cond` in "
                f"{ctx.describe() if ctx else 'this function'} fails while tracing",
                context=ctx,
            )

    # ------------------------------------------------------------------ tf.cond
    def visit_Call(self, node: cst.Call) -> None:
        if not self.qualnames(node.func) & _COND:
            return
        branches = _cond_branches(node)
        if branches is None:
            return
        facts = self.facts(node)
        if facts is None:
            return
        func = self.enclosing_function(node)
        none_side = [b for b in branches if _returns_none(b, func)]
        tensor_side = [
            b for b in branches if isinstance(b, cst.Lambda) and facts.kind(b.body) is Kind.TENSOR
        ]
        if len(none_side) != 1 or len(tensor_side) != 1:
            return
        ctx = self.compiled_context(node)
        self.report(
            none_side[0],
            f"`{self.code(none_side[0])}` returns None while the other branch of `tf.cond` "
            f"returns a tensor: tracing fails in {ctx.describe() if ctx else 'this function'}; "
            "return a tensor from both (`tf.zeros_like`)",
            context=ctx,
        )


def _is_int_literal(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        value = value.expression
    return isinstance(value, cst.Integer)


def _last_simple_values(
    block: cst.BaseSuite,
) -> dict[str, tuple[cst.BaseExpression, cst.CSTNode]]:
    """Names a branch body assigns at its top level, with the value of the last assignment
    (names also assigned in nested compound statements are left out)."""
    out: dict[str, tuple[cst.BaseExpression, cst.CSTNode]] = {}
    dropped: set[str] = set()
    if not isinstance(block, cst.IndentedBlock):
        return out
    for stmt in block.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    out[small.targets[0].target.value] = (small.value, small)
                elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
                    dropped.add(small.target.value)
        else:
            dropped |= _names_in(stmt)
    return {k: v for k, v in out.items() if k not in dropped}


def _literal_type(value: cst.BaseExpression) -> str | None:
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        value = value.expression
    if isinstance(value, cst.Integer):
        return "int"
    if isinstance(value, cst.Float):
        return "float"
    return None


def _mismatch(a: cst.BaseExpression, b: cst.BaseExpression) -> str | None:
    """How two branch values differ in a way `tf.cond` rejects: an int and a float literal,
    or tuples of different lengths (without starred items)."""
    ta, tb = _literal_type(a), _literal_type(b)
    if ta is not None and tb is not None and ta != tb:
        return f"an {ta} and a {tb}" if ta == "int" else f"a {ta} and an {tb}"
    if isinstance(a, cst.Tuple) and isinstance(b, cst.Tuple):
        if any(isinstance(e, cst.StarredElement) for e in (*a.elements, *b.elements)):
            return None
        if len(a.elements) != len(b.elements):
            return f"tuples of {len(a.elements)} and {len(b.elements)} items"
    return None


def _cond_branches(call: cst.Call) -> list[cst.BaseExpression] | None:
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    true_fn = keywords.get("true_fn", positional[1] if len(positional) > 1 else None)
    false_fn = keywords.get("false_fn", positional[2] if len(positional) > 2 else None)
    if true_fn is None or false_fn is None:
        return None
    return [true_fn, false_fn]


def _returns_none(branch: cst.BaseExpression, func: cst.FunctionDef | cst.Lambda | None) -> bool:
    """`lambda: None`, or the name of a function defined (once) in the body of `func` that
    never returns a value."""
    if isinstance(branch, cst.Lambda):
        return isinstance(branch.body, cst.Name) and branch.body.value == "None"
    if not isinstance(branch, cst.Name) or not isinstance(func, cst.FunctionDef):
        return False
    body = func.body
    if not isinstance(body, cst.IndentedBlock):
        return False
    defs = [s for s in body.body if isinstance(s, cst.FunctionDef) and s.name.value == branch.value]
    if len(defs) != 1 or defs[0].decorators:
        return False
    finder = _ValueReturns()
    walk(defs[0].body, finder)
    return not finder.found


class _ValueReturns(SameScopeVisitor):
    """Whether a function body returns a value or yields (nested scopes left out)."""

    def __init__(self) -> None:
        self.found = False

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.found = True

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True
