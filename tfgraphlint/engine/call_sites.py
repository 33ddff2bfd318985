"""Call sites of the module's own `tf.function`s, for the rules that read them (`REACH =
"call-sites"`): which compiled function a call reaches, what a name is bound to, and which
loops run a call."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import libcst as cst

from tfgraphlint.discovery.model import CompiledContext
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.engine.rule import FuncNode, Rule

# Iterables whose loop variable (or, for `enumerate`, the index) is a new Python int on every
# iteration.
_COUNTING_ITERABLES = frozenset({"builtins.range", "itertools.count"})
_NUMBERS = (cst.Integer, cst.Float)
# A literal `range` with up to this many values makes few traces, all reused later.
_FEW = 8
COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
_COMPREHENSION_NODES = frozenset(COMPREHENSIONS)
_SCOPE_NODES = frozenset({cst.FunctionDef, cst.Lambda, cst.ClassDef})
_LOOP_NODES = frozenset({cst.For, cst.While})
Loop = cst.For | cst.While | cst.CompFor


@dataclass(frozen=True, slots=True)
class Target:
    """A compiled function a call site can reach: its node, its context, its parameters."""

    func: FuncNode
    ctx: CompiledContext
    params: tuple[str, ...]

    def param_at(self, position: int) -> str | None:
        return self.params[position] if position < len(self.params) else None


def target(rule: Rule, func: cst.BaseExpression) -> Target | None:
    """The same-module compiled function `func` names: a decorated def, a name bound to
    `tf.function(f)`, or a decorated method called as `self.method`."""
    if isinstance(func, cst.Name):
        defs = _definitions(rule, func)
        return defs[0] if len(defs) == 1 else None
    if isinstance(func, cst.Attribute) and could_name_target(func):  # `self.method(...)`
        return _method(rule, func, func.attr.value)
    return None


def could_name_target(func: cst.BaseExpression) -> bool:
    """Whether `target` may find something for a call of `func`: a name or `self.name`
    (most calls are neither, and are skipped before any metadata is read)."""
    # Exact classes (the parser makes no subclasses): `isinstance` on a libCST class runs
    # `ABCMeta.__instancecheck__`, a Python call, and these run on every call of a body.
    kind = type(func)
    return kind is cst.Name or (
        kind is cst.Attribute
        and type(func.value) is cst.Name  # type: ignore[attr-defined]
        and func.value.value == "self"  # type: ignore[attr-defined]
    )


def eager_target(rule: Rule, call: cst.Call) -> Target | None:
    """The compiled function of the module that an eager `call` reaches and that takes
    Python values as they are (no `input_signature`), or None."""
    if not could_name_target(call.func) or rule.compiled_context(call) is not None:
        return None
    found = target(rule, call.func)
    if found is None or found.ctx.has_input_signature:
        return None
    return found


def arguments(found: Target, call: cst.Call) -> Iterator[tuple[cst.Arg, str | None]]:
    """Each argument of `call` but `*rest` and `**kwargs`, with the parameter of `found` it
    binds (None when unknown: a position after `*rest`, or past the parameters)."""
    starred = False
    for position, arg in enumerate(a for a in call.args if a.keyword is None):
        if arg.star:
            starred = True
            continue
        yield arg, None if starred else found.param_at(position)
    for arg in call.args:
        if arg.keyword is not None:
            yield arg, arg.keyword.value


def _definitions(rule: Rule, name: cst.Name) -> list[Target]:
    scope = rule.get_metadata(FastScopeProvider, name, None)
    if scope is None:
        return []
    found: list[Target] = []
    for assignment in scope[name.value]:
        node = getattr(assignment, "node", None)
        if isinstance(node, cst.FunctionDef):
            found_target = _as_target(rule, node)
        elif isinstance(node, cst.Name):
            found_target = _wrapped_by_assignment(rule, node)
        else:
            found_target = None
        if found_target is None:
            return []
        if all(t.func is not found_target.func for t in found):
            found.append(found_target)
    return found


def _wrapped_by_assignment(rule: Rule, name: cst.Name) -> Target | None:
    """For `g = tf.function(f, ...)` or `g = tf.function(...)(f)`, the target of `f`."""
    assign_target = rule.get_metadata(ParentProvider, name, None)
    assign = rule.get_metadata(ParentProvider, assign_target, None) if assign_target else None
    if not isinstance(assign, cst.Assign) or not isinstance(assign.value, cst.Call):
        return None
    call = assign.value
    if not (
        rule.is_tf(call.func, "function")
        or isinstance(call.func, cst.Call)
        and rule.is_tf(call.func.func, "function")
    ):
        return None
    wrapped = next((a.value for a in call.args if a.keyword is None), None)
    if isinstance(wrapped, cst.Lambda):
        return _as_target(rule, wrapped)
    if isinstance(wrapped, cst.Name):
        scope = rule.get_metadata(FastScopeProvider, wrapped, None)
        assignments = scope[wrapped.value] if scope is not None else ()
        defs = [getattr(a, "node", None) for a in assignments]
        funcs = [d for d in defs if isinstance(d, cst.FunctionDef)]
        if len(funcs) == 1:
            return _as_target(rule, funcs[0])
    return None


def _method(rule: Rule, node: cst.CSTNode, name: str) -> Target | None:
    cls: cst.CSTNode | None = node
    parents = rule.parent_map()
    while cls is not None and type(cls) is not cst.ClassDef:
        cls = parents.get(cls)
    if cls is None:
        return None
    assert isinstance(cls, cst.ClassDef)
    for stmt in cls.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            found = _as_target(rule, stmt)
            if found is not None and found.params:
                return Target(found.func, found.ctx, found.params[1:])
    return None


def _as_target(rule: Rule, func: FuncNode) -> Target | None:
    ctx = rule.context_of_function(func)
    if ctx is None or not ctx.is_root:
        return None
    p = func.params
    params = tuple(param.name.value for param in (*p.posonly_params, *p.params))
    return Target(func, ctx, params)


def bound_values(rule: Rule, name: cst.Name) -> list[cst.CSTNode]:
    """What each binding of `name` in its scope assigns: the value of an assignment, the
    statement of a loop or an augmented assignment, the bound name itself for other kinds (a
    parameter, `with ... as`); [] when a binding is not a plain name (an import)."""
    scope = rule.get_metadata(FastScopeProvider, name, None)
    if scope is None:
        return []
    values: list[cst.CSTNode] = []
    for assignment in scope[name.value]:
        bound = getattr(assignment, "node", None)
        if not isinstance(bound, cst.Name):
            return []
        parent = rule.get_metadata(ParentProvider, bound, None)
        while isinstance(parent, cst.Element | cst.Tuple | cst.List):
            parent = rule.get_metadata(ParentProvider, parent, None)
        if isinstance(parent, cst.AssignTarget):
            assign = rule.get_metadata(ParentProvider, parent, None)
            if not isinstance(assign, cst.Assign):
                return []
            values.append(assign.value)
        elif isinstance(parent, cst.AugAssign | cst.For | cst.CompFor):
            values.append(parent)
        else:
            values.append(bound)
    return values


def enclosing_loops(rule: Rule, node: cst.CSTNode) -> list[Loop]:
    """Loops whose body runs `node`, innermost first, within its function scope; the `for`
    clauses of a comprehension whose element holds it are loops too."""
    loops: list[Loop] = []
    child = node
    parents = rule.parent_map()
    parent = parents.get(child)
    # Exact classes, as in `could_name_target`: this runs once per ancestor of the node.
    while parent is not None and type(parent) not in _SCOPE_NODES:
        kind = type(parent)
        if kind in _LOOP_NODES and child is parent.body:  # type: ignore[attr-defined]
            loops.append(parent)  # type: ignore[arg-type]
        elif kind in _COMPREHENSION_NODES and child is not parent.for_in:  # type: ignore[attr-defined]
            clauses: list[Loop] = []
            clause: cst.CompFor | None = parent.for_in  # type: ignore[attr-defined]
            while clause is not None:
                clauses.append(clause)
                clause = clause.inner_for_in
            loops.extend(reversed(clauses))
        child = parent
        parent = parents.get(child)
    return loops


def inside_body(rule: Rule, node: cst.CSTNode, loop: Loop) -> bool:
    """Whether `node` is in the body of `loop` (a comprehension has no statements: False)."""
    if isinstance(loop, cst.CompFor):
        return False
    child = node
    parents = rule.parent_map()
    parent = parents.get(child)
    while parent is not None:
        if parent is loop:
            return child is loop.body
        child = parent
        parent = parents.get(child)
    return False


# ---------------------------------------------------------------- loop counters
def varying(rule: Rule, expr: cst.BaseExpression, depth: int = 0) -> tuple[str, cst.CSTNode] | None:
    """(loop variable, loop) when `expr` is a Python number built from a loop counter
    and constants (arithmetic, `int()`, `float()`, a `math` function), or a name that the
    loop's body binds only to such numbers (`lr = 0.1 * 0.9 ** epoch`); else None. NumPy
    functions are left out: their `np.float64` results reach a tf.function as tensors
    (checked on TF 2.21), and so are `min`/`max`, which stop changing at their bound."""
    if depth > 4:
        return None
    if isinstance(expr, cst.Name):
        found = counter(rule, expr)
        return found if found is not None else _derived(rule, expr, depth)
    if isinstance(expr, cst.UnaryOperation):
        return varying(rule, expr.expression, depth)
    if isinstance(expr, cst.BinaryOperation) and not isinstance(expr.operator, cst.Modulo):
        left, right = varying(rule, expr.left, depth), varying(rule, expr.right, depth)
        if left is not None and (right is not None or constant(rule, expr.right)):
            return left
        if right is not None and constant(rule, expr.left):
            return right
        return None
    if isinstance(expr, cst.Call) and expr.args and not any(a.star for a in expr.args):
        qns = rule.qualnames(expr.func)
        if len(expr.args) == 1 and qns & {"builtins.float", "builtins.int"}:
            return varying(rule, expr.args[0].value, depth)
        if qns & _MATH_FUNCTIONS:
            each = [varying(rule, a.value, depth) for a in expr.args]
            if each[0] is not None and all(
                f is not None or constant(rule, a.value)
                for f, a in zip(each, expr.args, strict=True)
            ):
                return each[0]
    return None


# `math` functions of a number that change with it (not `floor`/`ceil`-like steps).
_MATH_FUNCTIONS = frozenset(
    f"math.{name}"
    for name in ("exp", "log", "log2", "log10", "sqrt", "pow", "cos", "sin", "tanh", "expm1")
)


def _derived(rule: Rule, name: cst.Name, depth: int) -> tuple[str, cst.CSTNode] | None:
    """(loop variable, loop) when every binding of `name` is an assignment in the body of a
    loop that runs the use, of a number that changes with that loop's counter."""
    values = bound_values(rule, name)
    if not values or not all(
        isinstance(v, cst.BaseExpression) and not isinstance(v, cst.Name) for v in values
    ):
        return None
    loops = enclosing_loops(rule, name)
    found: tuple[str, cst.CSTNode] | None = None
    for value in values:
        result = varying(rule, cast(cst.BaseExpression, value), depth + 1)
        if result is None or (found is not None and result[1] is not found[1]):
            return None
        loop = result[1]
        if loop not in loops or not isinstance(loop, cst.For | cst.While):
            return None
        if not inside_body(rule, value, loop):
            return None
        found = result
    return found


def constant(rule: Rule, expr: cst.BaseExpression) -> bool:
    """A Python number that does not change: a literal, or a name only ever bound to
    literals (a module constant), or arithmetic on those."""
    if isinstance(expr, _NUMBERS):
        return True
    if isinstance(expr, cst.UnaryOperation):
        return constant(rule, expr.expression)
    if isinstance(expr, cst.BinaryOperation):
        return constant(rule, expr.left) and constant(rule, expr.right)
    if isinstance(expr, cst.Name):
        values = bound_values(rule, expr)
        return bool(values) and all(isinstance(v, _NUMBERS) for v in values)
    return False


def counter(rule: Rule, name: cst.Name) -> tuple[str, cst.CSTNode] | None:
    """The enclosing loop in which `name` is a new Python int on every iteration: the
    target of `for name in range(...)` or the index of `enumerate(...)`, or a name bound
    to number literals and incremented in the loop body (`step += 1`)."""
    values = bound_values(rule, name)
    for loop in enclosing_loops(rule, name):
        if (
            isinstance(loop, cst.For | cst.CompFor)
            and counts(rule, loop, name.value)
            and all(isinstance(v, cst.For | cst.CompFor | cst.Integer) for v in values)
        ):
            return name.value, loop
    increments = [v for v in values if isinstance(v, cst.AugAssign)]
    if not increments or not all(_counter_binding(v) for v in values):
        return None
    for loop in enclosing_loops(rule, name):
        if any(inside_body(rule, inc, loop) for inc in increments):
            return name.value, loop
    return None


def counts(rule: Rule, loop: cst.For | cst.CompFor, name: str) -> bool:
    """Whether `for` binds `name` to a counter: `range`, `itertools.count`, or the index
    of `enumerate`."""
    it = loop.iter
    if not isinstance(it, cst.Call):
        return False
    qns = rule.qualnames(it.func)
    if qns & _COUNTING_ITERABLES:
        if "builtins.range" in qns and _few_values(it):
            return False
        return isinstance(loop.target, cst.Name) and loop.target.value == name
    if "builtins.enumerate" in qns and isinstance(loop.target, cst.Tuple):
        first = loop.target.elements[0].value if loop.target.elements else None
        return isinstance(first, cst.Name) and first.value == name
    return False


def _few_values(it: cst.Call) -> bool:
    """`range(4)`, `range(1, 5)`: a small fixed set of values, traced once each and then
    reused by every later pass of the loop."""
    length = literal_range_length(it)
    return length is not None and length <= _FEW


def literal_range_length(it: cst.Call) -> int | None:
    """How many values `range(...)` or `tf.range(...)` gives when its bounds are integer
    literals (`range(4)`, `tf.range(1, -5, -2)`), else None."""
    if any(a.keyword is not None for a in it.args):
        return None
    bounds = [_int_literal(a.value) for a in it.args]
    if not bounds or len(bounds) > 3 or None in bounds:
        return None
    try:
        return len(range(*cast(list[int], bounds)))
    except ValueError:  # a zero step
        return None


def _int_literal(expr: cst.BaseExpression) -> int | None:
    """The value of `4` or `-4`."""
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
        inner = _int_literal(expr.expression)
        return None if inner is None else -inner
    if isinstance(expr, cst.Integer):
        return expr.evaluated_value
    return None


def _counter_binding(value: cst.CSTNode) -> bool:
    """A binding of a loop counter: a number literal, or `+=`/`-=` of one."""
    if isinstance(value, cst.AugAssign):
        return isinstance(value.value, _NUMBERS) and isinstance(
            value.operator, cst.AddAssign | cst.SubtractAssign
        )
    return isinstance(value, _NUMBERS)
