"""TFG110 python-state-frozen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import Assignment, GlobalScope

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, FileState, FuncNode, Rule
from tfgraphlint.rules.python_side_effect import OuterState, container_kind

# Methods that change a list, dict, set or deque in place.
_MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "popleft",
        "appendleft",
        "remove",
        "clear",
        "update",
        "setdefault",
        "popitem",
        "add",
        "discard",
    }
)
# Methods that run before the first trace (or are the trace's own lazy set-up).
_SETUP = frozenset({"__init__", "build", "__post_init__", "setup", "reset_states"})
# Python iterators whose `next()` in a compiled body is drawn once, at trace time.
_ITERATOR_CALLS = frozenset({"itertools.count", "itertools.cycle", "itertools.repeat"})
_NUMBER_CALLS = frozenset({"builtins.int", "builtins.float", "builtins.len", "builtins.round"})
_CONTAINERS = frozenset({"list", "dict", "set", "deque"})
_PY_SEQUENCES = (cst.List, cst.Tuple, cst.ListComp, cst.GeneratorExp)


@dataclass(frozen=True, slots=True)
class _Change:
    line: int
    where: str  # the function that changes it


class PythonStateFrozen(Rule):
    """
    ## What it does
    Flags reads, in a compiled body, of Python state that eager code changes between calls:
    a `self` attribute holding a Python number, string, list or dict that another (eager)
    method of the class updates (`self.steps += 1`, `self.memory.append(x)`), a module-level
    list or dict that an eager function changes in place, and `next()` on a Python iterator
    (`iter([...])`, `itertools.cycle`, a generator).

    ## Why is this bad?
    Python values are read once, while TensorFlow traces the function, and baked into the
    graph as constants. A `tf.function` method keys its trace cache by the identity of
    `self`, not by the values of its attributes, and a global container is no part of the
    key at all, so changing them does not retrace: every later call silently uses the
    first value. On TensorFlow 2.21, a method comparing `self.steps` with a threshold
    returns the step-0 answer forever while `self.steps` grows, `len(self.memory)` stays
    at its length when traced, a module dict changed after the first call is never seen,
    and `next(it)` gives the first element on every call.

    ## Example
    ```python
    class Agent(tf.Module):
        def __init__(self):
            self.steps = 0

        @tf.function
        def act(self, obs):
            if self.steps < 1000:  # frozen: always True
                return tf.random.uniform([])
            return self.policy(obs)

        def observe(self):
            self.steps += 1
    ```

    ## Use instead
    Keep state the graph must see in a `tf.Variable` (`self.steps = tf.Variable(0)`,
    `self.steps.assign_add(1)`): variables are read by reference on every call. Pass
    values that change as tensor arguments, and iterate a `tf.data.Dataset` (its iterator
    runs in the graph) instead of a Python iterator.

    ## Known problems
    The rule does not know whether the change happens before the first call (set-up after
    construction); it counts only increments (`+=`, `self.x = self.x * d`) and in-place
    changes (`append`, `[k] = v`) in methods other than `__init__`/`build`, which rarely
    are set-up. Plain reassignments (`self.mode = "eval"`) are not flagged.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Depending on Python global
      and free variables" and "Using Python iterators and generators"
    """

    CODE = "TFG110"
    NAME = "python-state-frozen"
    REACH = "state-changes"
    SEVERITY = Severity.WARNING
    SUMMARY = "Python state changed between calls (`self.steps`, a global dict) read when traced"

    CONFIRMED_BY = Confirmation.NONE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            class Agent(tf.Module):
                def __init__(self):
                    self.steps = tf.Variable(0)  # read by reference on every call

                @tf.function
                def act(self, obs):
                    if self.steps < 3:
                        return obs * 0.0
                    return obs

                def observe(self):
                    self.steps.assign_add(1)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Scaler(tf.Module):
                def __init__(self, scale):
                    self.scale = scale  # set once, never changed: a true constant

                @tf.function
                def __call__(self, x):
                    return x * self.scale
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Counter(tf.Module):
                def __init__(self):
                    self.calls = 0

                @tf.function
                def step(self, x):
                    return x + 1

                def run(self, x):
                    self.calls += 1  # only eager code reads it
                    print("calls", self.calls)
                    return self.step(x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            dataset = tf.data.Dataset.range(10)
            it = iter(dataset)  # a tf.data iterator: `next` runs in the graph

            @tf.function
            def step():
                return next(it) * 2
            """
        ),
        Valid(
            """
            import tensorflow as tf

            _ACTIVATIONS = {}

            def register(fn):
                _ACTIVATIONS[fn.__name__] = fn  # filled at import, before any trace
                return fn

            @register
            def swish(x):
                return x * tf.sigmoid(x)

            @tf.function
            def apply(x, name="swish"):
                return _ACTIVATIONS[name](x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Tracker(tf.Module):
                def __init__(self):
                    self._make_totals()

                def _make_totals(self):  # builds the dict afresh, from `__init__` only
                    self.totals = {}
                    self.totals["loss"] = tf.Variable(0.0)

                @tf.function
                def update(self, loss):
                    self.totals["loss"].assign_add(loss)  # a variable in it: by reference
                    return self.totals["loss"].read_value()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Model(tf.Module):
                def __init__(self):
                    self.v = tf.Variable(0)
                    self.counter = 0

                @tf.function
                def __call__(self):
                    if self.counter == 0:
                        with tf.init_scope():  # a one-time set-up, lifted out of the graph
                            self.counter += 1
                            self.v.assign_add(1)
                    return self.v
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Scales:
                def __init__(self):
                    self.scales = {}

                @tf.function
                def apply(self, x):
                    return x * self.scales["train"]  # a variable: read anew on every call

                def start(self):
                    self.scales["train"] = tf.Variable(2.0)  # fills it with a TF object

                def bump(self):
                    self.scales["train"].assign_add(1.0)
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            class Agent(tf.Module):
                def __init__(self):
                    self.steps = 0

                @tf.function
                def act(self, obs):
                    if self.steps < 3:  # error: TFG110
                        return obs * 0.0
                    return obs

                def observe(self):
                    self.steps += 1
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Trainer:
                def __init__(self, start_step):
                    self.steps = start_step
                    self.step_fn = tf.function(self._step)

                def _step(self, x):
                    if self.steps >= 2:  # error: TFG110
                        return x * 2.0  # never reached once traced below 2
                    return x

                def train(self, x):
                    out = self.step_fn(x)
                    self.steps += 1
                    return out
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Replay(tf.Module):
                def __init__(self):
                    self.memory = []

                def add(self, item):
                    self.memory.append(item)

                @tf.function
                def size(self, x):
                    return x + len(self.memory)  # error: TFG110
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            CONFIG = {"scale": 1.0}

            @tf.function
            def apply(x):
                return x * CONFIG["scale"]  # error: TFG110

            def set_scale(value):
                CONFIG["scale"] = value
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            offsets = iter([1.0, 2.0, 3.0])

            @tf.function
            def shift(x):
                return x + next(offsets)  # error: TFG110
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def make_agent():
                class Agent(tf.Module):  # a class defined in a factory
                    def __init__(self):
                        self.steps = 0

                    @tf.function
                    def act(self, obs):
                        if self.steps < 3:  # error: TFG110
                            return obs * 0.0
                        return obs

                    def observe(self):
                        self.steps += 1

                return Agent()
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.outer = OuterState(self)

    # ------------------------------------------------------------------ self attributes
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self.holds_compiled_code(node):
            return  # no method of it (nor anything nested) is traced: no read is frozen
        uses: dict[str, list[tuple[cst.Attribute, cst.FunctionDef]]] = {}
        # method name -> the methods that call it on `self` (one walk per class, shared by
        # every attribute's set-up check)
        callers: dict[str, set[str]] = {}
        for stmt in node.body.body:
            if not isinstance(stmt, cst.FunctionDef) or not _is_method(stmt):
                continue
            finder = _SelfAttributes(stmt.params.params[0].name.value)
            walk(stmt.body, finder)
            for attr in finder.found:
                uses.setdefault(attr.attr.value, []).append((attr, stmt))
                p = self.parent(attr)
                if isinstance(p, cst.Call) and p.func is attr:
                    callers.setdefault(attr.attr.value, set()).add(stmt.name.value)
        for name, found in uses.items():
            self._check_attribute(name, found, callers)

    def _check_attribute(
        self,
        name: str,
        found: list[tuple[cst.Attribute, cst.FunctionDef]],
        callers: dict[str, set[str]],
    ) -> None:
        reads: list[cst.Attribute] = []
        changes: dict[str, _Change] = {}  # "aug" / "mutate" -> the first such change
        kinds: set[str] = set()
        # Methods that bind the attribute afresh (`self.x = {}` then fill it) build it.
        builders = {m for a, m in found if self._use(a)[0] == "assign" and not self._self_update(a)}
        setup = self._setup_methods({m for _, m in found}, callers)
        for attr, method in found:
            use, value = self._use(attr)
            compiled = self.compiled_context(attr) is not None
            if use in ("assign", "aug", "mutate", "other") and compiled:
                return  # also changed while tracing: python-side-effect's business
            if use == "other":
                return  # bound by a loop, unpacking, `with`: unknown value
            if use == "read" and compiled:
                reads.append(attr)
            if use == "aug" and isinstance(value, cst.Integer | cst.Float):
                kinds.add("number")  # `self.steps += 1`
            if use == "assign":
                kind = self._value_kind(value, attr)
                if kind is None:
                    return  # a tf.Variable, a layer, something unknown
                kinds.add(kind)
                if self._self_update(attr):
                    use = "aug"  # `self.eps = self.eps * 0.99`
            if self.context_of_function(method) is not None:
                continue  # under `tf.init_scope()` in a compiled method: a one-time set-up
            if use == "mutate" and self._makes_tf_object(value):
                continue  # `self.writers["train"] = tf.summary.create_file_writer(...)`
            if (
                use == "aug"
                and method not in setup
                or use == "mutate"
                and not (method in setup or method in builders)
            ):
                changes.setdefault(use, _Change(self.line_of(attr), method.name.value))
        kinds.discard("none")
        if kinds and kinds <= _CONTAINERS:
            change = changes.get("mutate")
            container = True
        elif kinds and not kinds & _CONTAINERS:
            change = changes.get("aug")
            container = False
        else:
            return
        if change is None:
            return
        reported: set[FuncNode] = set()
        for attr in reads:
            func = self.enclosing_function(attr)
            ctx = self.compiled_context(attr)
            if func is None or ctx is None or func in reported:
                continue
            if container and not self._container_read(attr):
                continue
            if self.under_eager_check(attr):
                continue
            reported.add(func)
            self.report(
                attr,
                f"Python attribute `{self.code(attr)}` read in {ctx.describe()} is frozen at "
                f"its value when traced, but `{change.where}` changes it (line "
                f"{change.line}); keep it in a `tf.Variable`",
                context=ctx,
            )

    @staticmethod
    def _setup_methods(
        methods: set[cst.FunctionDef], callers: dict[str, set[str]]
    ) -> set[cst.FunctionDef]:
        """`__init__`/`build` and the methods only they call on `self` (`_create_trackers`)."""
        setup = {m for m in methods if m.name.value in _SETUP}
        for m in methods:
            names = callers.get(m.name.value)
            if names and names <= _SETUP:
                setup.add(m)
        return setup

    def _use(self, attr: cst.Attribute) -> tuple[str, cst.BaseExpression | None]:
        """How `self.x` is used: "assign" (with the value), "aug", "mutate" (in place),
        "call" (`self.x(...)`), "other" binding, or "read"."""
        p = self.parent(attr)
        if isinstance(p, cst.AssignTarget):
            stmt = self.parent(p)
            return ("assign", stmt.value) if isinstance(stmt, cst.Assign) else ("other", None)
        if isinstance(p, cst.AnnAssign) and p.target is attr:
            return ("assign", p.value) if p.value is not None else ("read", None)
        if isinstance(p, cst.AugAssign) and p.target is attr:
            return "aug", p.value
        if isinstance(p, cst.Element | cst.Tuple | cst.List | cst.For | cst.AsName) and (
            self._is_target(attr)
        ):
            return "other", None
        if isinstance(p, cst.Attribute) and p.value is attr:
            grand = self.parent(p)
            if isinstance(grand, cst.Call) and grand.func is p and p.attr.value in _MUTATORS:
                return "mutate", None
        if isinstance(p, cst.Subscript) and p.value is attr:
            if self._is_target(p):
                target = self.parent(p)
                stmt = self.parent(target) if isinstance(target, cst.AssignTarget) else None
                return "mutate", stmt.value if isinstance(stmt, cst.Assign) else None
            grand = self.parent(p)
            if isinstance(grand, cst.Del):
                return "mutate", None
        if isinstance(p, cst.Call) and p.func is attr:
            return "call", None
        if isinstance(p, cst.Del):
            return "other", None
        return "read", None

    def _makes_tf_object(self, value: cst.BaseExpression | None) -> bool:
        """Whether `value` makes a TensorFlow or Keras object (`tf.Variable(...)`, a layer, a
        summary writer): the graph uses the object, whose state TensorFlow tracks, not a
        Python value frozen into it. Filling a dict with them is set-up (checked on TF 2.21:
        a variable put in a dict before the first call, then assigned, is read anew)."""
        if not isinstance(value, cst.Call):
            return False
        for qn in self.qualnames(value.func):
            rest = names.strip_tf_root(qn)
            if rest is None:
                continue
            last = rest.rsplit(".", 1)[-1]
            if last[:1].isupper() or last in ("create_file_writer", "create_noop_writer"):
                return True
        return False

    def _is_target(self, node: cst.CSTNode) -> bool:
        child: cst.CSTNode = node
        p = self.parent(child)
        while isinstance(p, cst.Element | cst.Tuple | cst.List | cst.StarredElement):
            child, p = p, self.parent(p)
        if isinstance(p, cst.AssignTarget | cst.CompFor):
            return True
        if isinstance(p, cst.AugAssign | cst.AnnAssign) and p.target is child:
            return True
        if isinstance(p, cst.For) and p.target is child:
            return True
        return isinstance(p, cst.AsName)

    def _value_kind(self, value: cst.BaseExpression | None, attr: cst.Attribute) -> str | None:
        """ "number", "string", "none", a container kind, or "param" (an `__init__` argument,
        kept only when something increments it) for Python values; None for anything else."""
        if value is None:
            return None
        if isinstance(value, cst.UnaryOperation):
            value = value.expression
        if isinstance(value, cst.Integer | cst.Float):
            return "number"
        if isinstance(value, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
            return "string"
        if isinstance(value, cst.Name):
            if value.value in ("True", "False"):
                return "number"
            if value.value == "None":
                return "none"
            return "param" if self._is_param(value, attr) else None
        if isinstance(value, cst.BinaryOperation) and self._mentions(value, attr):
            return "number"  # `self.eps = self.eps * 0.99`
        if isinstance(value, cst.Call) and (
            isinstance(value.func, cst.Attribute)
            and value.func.attr.value in ("numpy", "item")
            or self.qualnames(value.func) & _NUMBER_CALLS
        ):
            return "number"  # `self.steps = int(...)`, `self.steps = ckpt.steps.numpy()`
        kind = container_kind(self, value)
        if kind is not None:
            return kind
        return None

    def _is_param(self, name: cst.Name, attr: cst.Attribute) -> bool:
        func = self.enclosing_function(attr)
        if not isinstance(func, cst.FunctionDef) or func.name.value not in _SETUP:
            return False
        return any(p.name.value == name.value for p in func.params.params)

    def _self_update(self, attr: cst.Attribute) -> bool:
        p = self.parent(attr)
        stmt = self.parent(p) if p is not None else None
        return isinstance(stmt, cst.Assign) and self._mentions(stmt.value, attr)

    def _mentions(self, expr: cst.BaseExpression, attr: cst.Attribute) -> bool:
        finder = _SelfAttributes(attr.value.value if isinstance(attr.value, cst.Name) else "")
        walk(expr, finder)
        return any(a.attr.value == attr.attr.value for a in finder.found)

    def _container_read(self, node: cst.BaseExpression) -> bool:
        """`len(x)`, `x[k]` (not called: a registry of functions), `k in x`, `x.get(k)`,
        `for v in x`: reads of the contents that changing them in place makes stale."""
        p = self.parent(node)
        if isinstance(p, cst.Arg):
            call = self.parent(p)
            return (
                isinstance(call, cst.Call)
                and len(call.args) == 1
                and "builtins.len" in self.qualnames(call.func)
            )
        if isinstance(p, cst.Subscript) and p.value is node:
            grand = self.parent(p)  # `x[k](...)`, `x[k].update_state(...)`: an object in it
            return not (
                isinstance(grand, cst.Call)
                and grand.func is p
                or isinstance(grand, cst.Attribute)
                and grand.value is p
            )
        if isinstance(p, cst.ComparisonTarget) and isinstance(p.operator, cst.In | cst.NotIn):
            return True
        if isinstance(p, cst.Attribute) and p.value is node and p.attr.value == "get":
            grand = self.parent(p)
            great = self.parent(grand) if grand is not None else None
            return not (isinstance(great, cst.Call) and great.func is grand)
        return isinstance(p, cst.For) and p.iter is node

    # ------------------------------------------------------------------ module containers
    def visit_Module(self, node: cst.Module) -> None:
        scope = self.get_metadata(FastScopeProvider, node, None)
        if not isinstance(scope, GlobalScope):
            return
        by_name: dict[str, list[Assignment]] = {}
        for a in scope.assignments:
            if isinstance(a, Assignment):
                by_name.setdefault(a.name, []).append(a)
        for name, assignments in by_name.items():
            if len(assignments) != 1 or not isinstance(assignments[0].node, cst.Name):
                continue
            value = self.outer.bound_value(assignments[0].node)
            if container_kind(self, value) is None:
                continue
            self._check_container(name, assignments[0])

    def _check_container(self, name: str, assignment: Assignment) -> None:
        change: _Change | None = None
        reads: list[cst.Name] = []
        for access in sorted(assignment.references, key=lambda r: self.line_of(r.node)):
            ref = access.node
            if not isinstance(ref, cst.Name):
                continue
            func = self.enclosing_function(ref)
            compiled = self.compiled_context(ref) is not None
            if self._mutated(ref):
                if compiled:
                    return  # changed while tracing: python-side-effect's business
                if func is None or self.outer.lazily_guarded(
                    ref, func, lambda e: isinstance(e, cst.Name) and e.value == name
                ):
                    continue  # at import time, or a memo filled once per key
                if change is None:
                    where = func.name.value if isinstance(func, cst.FunctionDef) else "lambda"
                    change = _Change(self.line_of(ref), where)
            elif compiled and self._container_read(ref):
                reads.append(ref)
        if change is None:
            return
        reported: set[FuncNode] = set()
        for ref in reads:
            func = self.enclosing_function(ref)
            ctx = self.compiled_context(ref)
            if func is None or ctx is None or func in reported or self.under_eager_check(ref):
                continue
            reported.add(func)
            self.report(
                ref,
                f"module-level container `{name}` read in {ctx.describe()} is frozen at its "
                f"contents when traced, but `{change.where}` changes it in place (line "
                f"{change.line}); pass the values as tensors or keep them in `tf.Variable`s",
                context=ctx,
            )

    def _mutated(self, ref: cst.Name) -> bool:
        p = self.parent(ref)
        if isinstance(p, cst.Attribute) and p.value is ref:
            grand = self.parent(p)
            return isinstance(grand, cst.Call) and grand.func is p and p.attr.value in _MUTATORS
        if isinstance(p, cst.Subscript) and p.value is ref:
            return self._is_target(p) or isinstance(self.parent(p), cst.Del)
        return False

    # ------------------------------------------------------------------ iterators
    def visit_Call(self, node: cst.Call) -> None:
        if len(node.args) != 1 or "builtins.next" not in self.qualnames(node.func):
            return
        arg = node.args[0].value
        if not isinstance(arg, cst.Name):
            return
        ctx = self.compiled_context(node)
        if ctx is None:
            return
        found = self.outer.owner(arg)
        if found is None or len(found[1]) != 1:
            return
        value = self.outer.bound_value(found[1][0].node)
        if value is None or not self._python_iterator(value):
            return
        self.report(
            node,
            f"`{self.code(node)}` on a Python iterator in {ctx.describe()} draws one element "
            "while tracing, and every call returns that element; iterate a `tf.data.Dataset` "
            "or pass the value as an argument",
            context=ctx,
        )

    def _python_iterator(self, value: cst.BaseExpression) -> bool:
        if not isinstance(value, cst.Call):
            return isinstance(value, cst.GeneratorExp)
        qns = self.qualnames(value.func)
        if qns & _ITERATOR_CALLS:
            return True
        if "builtins.iter" in qns and len(value.args) == 1:
            inner = value.args[0].value
            return isinstance(inner, _PY_SEQUENCES) or (
                isinstance(inner, cst.Call) and "builtins.range" in self.qualnames(inner.func)
            )
        return any(isinstance(d, cst.FunctionDef) and _is_generator(d) for d in self._defs(value))

    def _defs(self, call: cst.Call) -> Iterator[cst.CSTNode]:
        if not isinstance(call.func, cst.Name):
            return
        scope = self.get_metadata(FastScopeProvider, call.func, None)
        if scope is None:
            return
        for a in scope[call.func.value]:
            if isinstance(a, Assignment):
                yield a.node


def _is_method(func: cst.FunctionDef) -> bool:
    if not func.params.params:
        return False
    return not any(
        isinstance(d.decorator, cst.Name) and d.decorator.value in ("staticmethod", "classmethod")
        for d in func.decorators
    )


def _is_generator(func: cst.FunctionDef) -> bool:
    finder = _Yields()
    walk(func.body, finder)
    return finder.found


class _Yields(SameScopeVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Yield(self, node: cst.Yield) -> None:
        self.found = True


class _SelfAttributes(cst.CSTVisitor):
    """Every `<receiver>.attr` in a method body (nested functions included)."""

    def __init__(self, receiver: str) -> None:
        self.receiver = receiver
        self.found: list[cst.Attribute] = []

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value == self.receiver:
            self.found.append(node)
