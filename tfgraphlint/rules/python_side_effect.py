"""TFG102 python-side-effect, and `OuterState`: what the TFG1xx rules know about Python state
that lives outside a compiled body (module-level names, names of an eagerly running enclosing
function, attributes of `self`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import (
    Assignment,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
    QualifiedNameSource,
)

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.model import CompiledContext, ContextKind
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor, declarations
from tfgraphlint.discovery.tensors import Kind
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.prefilter import words
from tfgraphlint.engine.rule import Confirmation, FileState, FuncNode, Rule

# Methods that mutate a list, dict, set or deque in place, and how messages say it.
MUTATING_METHODS: dict[str, str] = {
    "append": "appends to",
    "appendleft": "appends to",
    "extend": "extends",
    "extendleft": "extends",
    "insert": "inserts into",
    "pop": "pops from",
    "popleft": "pops from",
    "popitem": "pops from",
    "remove": "removes from",
    "discard": "removes from",
    "clear": "clears",
    "sort": "sorts",
    "reverse": "reverses",
    "rotate": "rotates",
    "update": "updates",
    "setdefault": "updates",
    "add": "adds to",
    "difference_update": "updates",
    "intersection_update": "updates",
    "symmetric_difference_update": "updates",
}

_CONTAINER_CALLS: dict[str, str] = {
    "builtins.list": "list",
    "builtins.dict": "dict",
    "builtins.set": "set",
    "collections.defaultdict": "dict",
    "collections.OrderedDict": "dict",
    "collections.Counter": "dict",
    "collections.deque": "deque",
}

_PRESENCE_BUILTINS = frozenset({"builtins.hasattr", "builtins.getattr"})

Classifier = Callable[[cst.BaseExpression | None], str | None]


@dataclass(frozen=True, slots=True)
class Held:
    """A piece of outer Python state, as messages name it."""

    kind: str  # what the classifier said: "list", "NumPy generator", ...
    where: str  # "module-level", "enclosing function `make`", "attribute"
    name: str  # `history`, `self.history`

    def label(self) -> str:
        if self.where == "attribute":
            return f"{self.kind} attribute `{self.name}`"
        if self.where == "module-level":
            return f"module-level {self.kind} `{self.name}`"
        return f"{self.kind} `{self.name}` of {self.where}"


def container_kind(rule: Rule, value: cst.BaseExpression | None) -> str | None:
    """The kind of fresh Python container `value` builds ("list", "dict", "set", "deque")."""
    if isinstance(value, cst.List | cst.ListComp):
        return "list"
    if isinstance(value, cst.Dict | cst.DictComp):
        return "dict"
    if isinstance(value, cst.Set | cst.SetComp):
        return "set"
    if isinstance(value, cst.Call):
        for qn in sorted(rule.qualnames(value.func)):
            if qn in _CONTAINER_CALLS:
                return _CONTAINER_CALLS[qn]
    return None


def imported_qualnames(rule: Rule, node: cst.CSTNode) -> set[str]:
    """Qualified names of `node` that come from an import and are not shadowed by a local
    binding of the same name (`random = Foo()` is not the stdlib module)."""
    names = rule.qualified_names(node)
    local = {q.name for q in names if q.source is not QualifiedNameSource.IMPORT}
    return {q.name for q in names if q.source is QualifiedNameSource.IMPORT} - local


class OuterState:
    """Resolves expressions in a compiled body to Python state that outlives the call."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self._class_attrs: dict[cst.ClassDef, dict[str, list[cst.BaseExpression | None]]] = {}
        self._declared: dict[FuncNode, tuple[frozenset[str], frozenset[str]]] = {}
        self._runs_once: dict[cst.FunctionDef, bool] = {}

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.rule.parent(node)

    # ------------------------------------------------------------------ names
    def owner(self, name: cst.Name) -> tuple[str, list[Assignment]] | None:
        """Where the binding `name` refers to lives, when it is outside every compiled body:
        "module-level" or "enclosing function `f`" (an eager one), with its assignments.
        None for locals, imports, builtins, and names bound in a compiled enclosing body."""
        scope = self.rule.get_metadata(FastScopeProvider, name, None)
        if scope is None:
            return None
        assignments: list[Assignment] = []
        for a in scope[name.value]:
            if not isinstance(a, Assignment) or isinstance(a, ImportAssignment):
                return None
            assignments.append(a)
        owners = {a.scope for a in assignments}
        if len(owners) != 1:
            return None
        owner = owners.pop()
        if isinstance(owner, GlobalScope):
            return "module-level", assignments
        if (
            isinstance(owner, FunctionScope)
            and isinstance(owner.node, cst.FunctionDef)
            and owner is not scope
            and self.rule.context_of_function(owner.node) is None
        ):
            return f"enclosing function `{owner.node.name.value}`", assignments
        return None

    def bound_value(self, target: cst.CSTNode) -> cst.BaseExpression | None:
        """The value a plain assignment binds to the Name `target`, also in a tuple assigned
        element by element (`history, seen = [], set()`); None for other bindings (loop
        targets, `+=`, other unpacking, parameters, defs)."""
        p = self.parent(target)
        if isinstance(p, cst.AssignTarget):
            stmt = self.parent(p)
            if isinstance(stmt, cst.Assign):
                return stmt.value
        if isinstance(p, cst.AnnAssign) and p.target is target:
            return p.value
        if isinstance(p, cst.Element):
            return self._unpacked_value(p)
        return None

    def _unpacked_value(self, element: cst.Element) -> cst.BaseExpression | None:
        """`b`'s value in `a, b = x, y` (same length, no starred element on either side)."""
        names = self.parent(element)
        holder = self.parent(names) if names is not None else None
        stmt = self.parent(holder) if isinstance(holder, cst.AssignTarget) else None
        if not (
            isinstance(names, cst.Tuple | cst.List)
            and isinstance(stmt, cst.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.value, cst.Tuple | cst.List)
            and len(stmt.value.elements) == len(names.elements)
            and all(type(e) is cst.Element for e in (*names.elements, *stmt.value.elements))
        ):
            return None
        index = next(i for i, e in enumerate(names.elements) if e is element)
        return stmt.value.elements[index].value

    def declared(self, func: FuncNode) -> tuple[frozenset[str], frozenset[str]]:
        """Names `func` declares `global` and `nonlocal`."""
        if func not in self._declared:
            self._declared[func] = declarations(func)
        return self._declared[func]

    # ------------------------------------------------------------------ self
    def method(self, func: FuncNode) -> tuple[cst.ClassDef, cst.FunctionDef] | None:
        """The class and the method that hold `func` (itself or an enclosing function)."""
        cur: FuncNode | None = func
        while cur is not None:
            if isinstance(cur, cst.FunctionDef):
                block = self.parent(cur)
                cls = self.parent(block) if block is not None else None
                if isinstance(cls, cst.ClassDef):
                    return cls, cur
            cur = self.rule.enclosing_function(cur)
        return None

    def receiver(self, func: FuncNode) -> tuple[cst.ClassDef, str] | None:
        """The class and receiver name (`self`) of the method that holds `func`."""
        found = self.method(func)
        if found is None or not _is_plain_method(found[1]):
            return None
        return found[0], found[1].params.params[0].name.value

    def runs_once(self, func: FuncNode, ctx: CompiledContext) -> bool:
        """Whether the method holding `func` is a once-only initialiser: `build`/`__init__`,
        decorated `@once` (`snt.once`), or a helper that compiled code calls on `self` only
        under presence guards (`if not self._built: self._build(x)`) or `tf.init_scope()`."""
        found = self.method(func)
        if found is None:
            return False
        cls, method = found
        if method.name.value in _INITIALISERS or any(
            _decorator_name(d) == "once" for d in method.decorators
        ):
            return True
        if ctx.kind is not ContextKind.HELPER:
            return False
        if method not in self._runs_once:
            self._runs_once[method] = self._only_called_lazily(cls, method)
        return self._runs_once[method]

    def _only_called_lazily(self, cls: cst.ClassDef, method: cst.FunctionDef) -> bool:
        calls = _SelfCalls(method.name.value)
        walk(cls, calls)
        mine = [
            (call, caller)
            for call, caller in calls.found
            if isinstance(call.func, cst.Attribute) and self.is_receiver(call.func.value, caller)
        ]
        return bool(mine) and all(
            self.rule.compiled_context(call) is None
            or self.lazily_guarded(call, caller, self.mentions_receiver(caller))
            for call, caller in mine
        )

    def mentions_receiver(self, func: FuncNode) -> Callable[[cst.BaseExpression], bool]:
        def mentions(e: cst.BaseExpression) -> bool:
            base = e.value if isinstance(e, cst.Attribute) else e
            return self.is_receiver(base, func)

        return mentions

    def is_receiver(self, expr: cst.BaseExpression, func: FuncNode) -> bool:
        """Whether `expr` is the `self` of the method around `func` (not a rebound name)."""
        if not isinstance(expr, cst.Name):
            return False
        method = self.receiver(func)
        if method is None or expr.value != method[1]:
            return False
        scope = self.rule.get_metadata(FastScopeProvider, expr, None)
        if scope is None:
            return False
        bindings = list(scope[expr.value])
        return (
            len(bindings) == 1
            and isinstance(bindings[0], Assignment)
            and isinstance(bindings[0].node, cst.Param)
        )

    def class_attrs(self, cls: cst.ClassDef) -> dict[str, list[cst.BaseExpression | None]]:
        """Every value assigned to `self.<attr>` in the class's methods, and class-level
        assignments; None for a value that is not a plain assignment (`+=`, unpacking)."""
        if cls not in self._class_attrs:
            collector = _SelfAssignments()
            for stmt in cls.body.body:
                if isinstance(stmt, cst.FunctionDef) and _is_plain_method(stmt):
                    collector.receiver = stmt.params.params[0].name.value
                    walk(stmt.body, collector)
                elif isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.Assign):
                            for t in small.targets:
                                if isinstance(t.target, cst.Name):
                                    collector.add(t.target.value, small.value)
            self._class_attrs[cls] = collector.values
        return self._class_attrs[cls]

    # ------------------------------------------------------------------ classification
    def classify(self, expr: cst.BaseExpression, classifier: Classifier) -> Held | None:
        """The outer state `expr` (a name or `self.attr`) refers to, when every value bound to
        it gets the same non-None answer from `classifier`."""
        func = self.rule.enclosing_function(expr)
        if func is None:
            return None
        if isinstance(expr, cst.Name):
            found = self.owner(expr)
            if found is None:
                return None
            where, assignments = found
            values = [self.bound_value(a.node) for a in assignments]
            name = expr.value
        elif isinstance(expr, cst.Attribute) and self.is_receiver(expr.value, func):
            method = self.receiver(func)
            assert method is not None
            values = self.class_attrs(method[0]).get(expr.attr.value, [])
            where, name = "attribute", f"{method[1]}.{expr.attr.value}"
        else:
            return None
        kinds = {classifier(v) for v in values}
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        return None if kind is None else Held(kind, where, name)

    def presence_checks(self, test: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
        """Sub-expressions an `if` test checks for presence or truth (`x is None`, `not x`,
        `x`, `k in x`, `hasattr(o, n)`, `self._needs_init()`): the lazy-initialisation guards.
        Equality and ordering tests (`if self.count == 0:`) are not presence checks."""
        if isinstance(test, cst.BooleanOperation):
            yield from self.presence_checks(test.left)
            yield from self.presence_checks(test.right)
        elif isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            yield from self.presence_checks(test.expression)
        elif isinstance(test, cst.Comparison):
            if all(
                isinstance(c.operator, cst.Is | cst.IsNot | cst.In | cst.NotIn)
                for c in test.comparisons
            ):
                yield test.left
                yield from (c.comparator for c in test.comparisons)
        elif isinstance(test, cst.Call):
            if test.args and self.rule.qualnames(test.func) & _PRESENCE_BUILTINS:
                yield test.args[0].value
            elif not test.args and isinstance(test.func, cst.Attribute):
                # A predicate method on the state: `if self._need_init():` (tf-gnn's HGT)
                yield test.func
        else:
            yield test

    def lazily_guarded(
        self, node: cst.CSTNode, func: FuncNode, mentions: Callable[[cst.BaseExpression], bool]
    ) -> bool:
        """Whether `node` sits under an `if` that checks the state for presence or truth:
        `if self.v is None:`, `if not self.built:`, `if key not in cache:`."""
        child: cst.CSTNode = node
        p = self.parent(child)
        while p is not None and p is not func:
            if (
                isinstance(p, cst.If)
                and child is not p.test
                and any(mentions(e) for e in self.presence_checks(p.test))
            ):
                return True
            child, p = p, self.parent(p)
        return False


_INITIALISERS = frozenset({"__init__", "build"})


class _SameTargetAssignments(SameScopeVisitor):
    """Counts the assignments to one target expression in a body (not in nested scopes)."""

    def __init__(self, target: cst.BaseExpression) -> None:
        super().__init__()
        self.target = target
        self.count = 0

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if node.target.deep_equals(self.target):
            self.count += 1


def _decorator_name(dec: cst.Decorator) -> str:
    expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return expr.value if isinstance(expr, cst.Name) else ""


def _is_plain_method(func: cst.FunctionDef) -> bool:
    if not func.params.params:
        return False
    for dec in func.decorators:
        d = dec.decorator
        if isinstance(d, cst.Name) and d.value in ("staticmethod", "classmethod"):
            return False
    return True


def _flatten(targets: list[cst.BaseExpression]) -> Iterator[cst.BaseExpression]:
    """Assignment targets with tuple and list unpacking taken apart."""
    for target in targets:
        if isinstance(target, cst.Tuple | cst.List):
            yield from _flatten([el.value for el in target.elements])
        else:
            yield target


class _SelfCalls(cst.CSTVisitor):
    """Calls `<receiver>.<name>(...)` in the methods of a class, with the method holding
    each (the receiver being that method's first parameter)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[tuple[cst.Call, cst.FunctionDef]] = []
        self._methods: list[cst.FunctionDef] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._methods.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._methods.pop()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (
            self._methods
            and isinstance(func, cst.Attribute)
            and func.attr.value == self.name
            and isinstance(func.value, cst.Name)
        ):
            self.found.append((node, self._methods[-1]))


class _SelfAssignments(cst.CSTVisitor):
    """`<receiver>.attr = value` in a method body (nested functions included: they close over
    the receiver)."""

    def __init__(self) -> None:
        self.receiver = ""
        self.values: dict[str, list[cst.BaseExpression | None]] = {}

    def add(self, attr: str, value: cst.BaseExpression | None) -> None:
        self.values.setdefault(attr, []).append(value)

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == self.receiver
        ):
            self.add(target.attr.value, value)
        elif isinstance(target, cst.Tuple | cst.List):
            for el in target.elements:
                self._target(el.value, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self._target(t.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._target(node.asname.name, None)


class PythonSideEffect(Rule):
    """
    ## What it does
    Flags, in a compiled body, mutations of Python state that outlives the call: appending to,
    updating or deleting from a list, dict or set defined outside the function (at module
    level, in an enclosing function that runs eagerly, or on `self`), assigning a name
    declared `global` or `nonlocal`, and assigning attributes of `self` or of module-level
    objects (`self.step += 1`, `self.cache = x`).

    ## Why is this bad?
    Python code runs only while TensorFlow traces the function; later calls run the graph
    and skip it. The list grows once per trace, not once per call, the counter stops
    counting, and a Python `if` on such state is decided once and frozen into the graph.
    When the stored value is a tensor, it belongs to the trace's graph and raises
    `TypeError: ... out of scope` (`InaccessibleTensorError`) when used anywhere else.

    ## Example
    ```python
    history = []

    @tf.function
    def train_step(x):
        loss = compute_loss(x)
        history.append(loss)
        return loss
    ```

    ## Use instead
    Return values from the function and collect them outside, or keep state in TensorFlow
    objects that the graph updates on every call: `tf.Variable(...).assign_add(...)`, a
    `tf.TensorArray`, a Keras metric. Work meant to happen once belongs under
    `with tf.init_scope():` or in `__init__`/`build`.

    ## Known problems
    Only containers whose every binding is a literal or a `list()`/`dict()`/`set()`/
    `collections` constructor are known to be Python containers; mutating methods on other
    objects (Keras metrics, optimizers) are assumed to be graph operations. Assignments under
    a presence check of the same state (`if self.v is None:`, `if not self.built:`,
    `if key not in cache:`, `self.v = ... if self.v is None else self.v`) are taken as
    deliberate lazy initialisation, unless the value stored is a tensor made by an op (not a
    `tf.Variable`, a layer or a weight): that tensor belongs to the first trace, and the next
    trace raises `TypeError: <tf.Tensor 'Sum:0' ...> is out of scope and cannot be used
    here` (TF 2.21).

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
      and "Changing Python global and free variables"
    """

    CODE = "TFG102"
    NAME = "python-side-effect"
    REACH, TRIGGERS = "call-sites", (words("global", "nonlocal"),)
    SEVERITY = Severity.WARNING
    SUMMARY = (
        "mutation of an outer list/dict/set, a `global`, or a `self` attribute in a compiled "
        "body (runs only while tracing)"
    )

    CONFIRMED_BY = Confirmation.TRACE_EFFECT
    VALID = (
        Valid(
            """
            import contextlib
            import threading

            import tensorflow as tf

            _scope = threading.local()

            @contextlib.contextmanager
            def quantized(flag):
                backup = getattr(_scope, "quantize", False)
                _scope.quantize = flag  # set for the `with` block, then restored (larq)
                yield flag
                _scope.quantize = backup

            @tf.function
            def forward(x):
                with quantized(True):
                    return x * 2
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class GraphUpdate(tf.Module):
                def __init__(self):
                    self._names = None

                def _need_init(self):
                    return self._names is None

                def _do_init(self, spec):
                    self._names = sorted(spec)  # static metadata, set once (tf-gnn's HGT)

                @tf.function
                def __call__(self, x):
                    if self._need_init():
                        self._do_init(["a", "b"])
                    return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def unrolled(x):
                outputs = []  # a local list, built and consumed within one trace
                for i in range(3):
                    outputs.append(x * i)
                return tf.stack(outputs)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Scale(tf.Module):
                def __init__(self):
                    self.w = None
                    self.steps = tf.Variable(0)

                @tf.function
                def __call__(self, x):
                    if self.w is None:  # the documented singleton pattern
                        self.w = tf.Variable(tf.ones_like(x))
                    self.steps.assign_add(1)  # a graph op, runs on every call
                    return self.w * x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Trainer(tf.keras.Model):
                def __init__(self):
                    super().__init__()
                    self.history = []  # only mutated eagerly

                def train_step(self, data):
                    x, y = data
                    with tf.GradientTape() as tape:
                        loss = self.compiled_loss(y, self(x, training=True))
                    grads = tape.gradient(loss, self.trainable_variables)
                    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                    self.compiled_metrics.update_state(y, self(x))
                    return {m.name: m.result() for m in self.metrics}

                def on_epoch_end(self, logs):
                    self.history.append(logs)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            calls = 0

            @tf.function
            def step(x):
                global calls
                with tf.init_scope():
                    calls += 1  # runs eagerly, once per trace, on purpose
                return x + 1
            """
        ),
        Valid(
            """
            import tensorflow as tf

            _SPECS = {}

            @tf.function
            def embed(x, name):
                if name not in _SPECS:  # a trace-time memo of Python values
                    _SPECS[name] = x.shape[-1]
                return x * _SPECS[name]
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def outer(x):
                seen = []

                def body(i):
                    seen.append(i)  # the list belongs to the same trace
                    return i + 1

                return body(x), len(seen)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Dense(tf.Module):
                def __init__(self, units):
                    self.units = units
                    self._built = False

                def _build(self, x):  # only reached under the guard below
                    self.w = tf.Variable(tf.zeros([x.shape[-1], self.units]))
                    self._built = True

                @tf.function
                def __call__(self, x):
                    if not self._built:
                        self._build(x)
                    return x @ self.w
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Driver:
                def __init__(self, model):
                    self._model = model

                @property
                def model(self):
                    return self._model

                @model.setter
                def model(self, model):  # not what `self.model(images)` runs
                    self._model = model

                def benchmark(self, images):
                    @tf.function
                    def step(images):
                        return self.model(images)  # calls the model the property returns

                    for _ in range(3):
                        step(images)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Counter(tf.Module):
                def __init__(self):
                    self.v = None

                @tf.function
                def __call__(self, x):
                    self.v = tf.Variable(0.0) if self.v is None else self.v  # made once
                    self.v.assign_add(x)
                    return self.v.read_value()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class RecentMean(tf.keras.metrics.Metric):
                def __init__(self, capacity):
                    super().__init__()
                    self.capacity = capacity
                    self.values = []

                def update_state(self, value):
                    if len(self.values) == self.capacity:
                        self.values.pop(0)
                    self.values.append(float(value))  # only updated eagerly: every call

                def result(self):
                    return tf.reduce_mean(self.values) if self.values else tf.constant(0.0)

            recent = RecentMean(capacity=2)  # no model is compiled with it
            for loss in (0.5, 0.4, 0.3):
                recent.update_state(tf.constant(loss))
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Penalised(tf.Module):
                def __init__(self, use_penalty=True):
                    self.use_penalty = use_penalty
                    self.scale = tf.Variable(2.0)

                @tf.function
                def __call__(self, x):
                    if self.use_penalty:  # a flag, not a check of `self.penalty`
                        self.penalty = x * self.scale  # set again by every trace
                        return x + self.penalty
                    return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            class Normalizer(tf.Module):
                def __init__(self):
                    self.total = None

                @tf.function
                def __call__(self, x):
                    if self.total is None:  # not lazy initialisation: `total` is a tensor
                        self.total = tf.reduce_sum(x)  # error: TFG102
                    return x / self.total
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            history = []

            @tf.function
            def train_step(x):
                loss = tf.reduce_sum(x)
                history.append(loss)  # error: TFG102
                return loss
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            pool, seen = [], set()

            def remember(image):
                pool.append(image)  # error: TFG102
                return image

            @tf.function
            def step(x):
                return remember(x) * 2.0
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Counter(tf.Module):
                def __init__(self):
                    self.count = 0
                    self.v = tf.Variable(0)

                @tf.function
                def __call__(self):
                    if self.count == 0:
                        self.count += 1  # error: TFG102
                        self.v.assign_add(1)
                    return self.v
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            step_count = 0

            @tf.function
            def step(x):
                global step_count
                step_count += 1  # error: TFG102
                return x * 2
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def make_step(model):
                losses = {}

                @tf.function
                def step(x):
                    loss = tf.reduce_mean(model(x))
                    losses["last"] = loss  # error: TFG102
                    return loss

                return step, losses
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Model(tf.keras.Model):
                def __init__(self):
                    super().__init__()
                    self.seen = set()

                def train_step(self, data):
                    self.last_batch = data  # error: TFG102
                    self.seen.add("train")  # error: TFG102
                    return super().train_step(data)
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self.outer = OuterState(self)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in MUTATING_METHODS:
            return
        ctx = self.compiled_context(node)
        body = self.enclosing_function(node)
        if ctx is None or body is None:
            return
        held = self.outer.classify(func.value, lambda v: container_kind(self, v))
        if (
            held is None
            or self.outer.lazily_guarded(node, body, self._mentions(func.value, body))
            or self.outer.runs_once(body, ctx)
        ):
            return
        stored = [a.value for a in node.args]
        self._report(node, f"{MUTATING_METHODS[func.attr.value]} {held.label()}", ctx, stored)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._check_targets(node, [t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_targets(node, [node.target], node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._check_targets(node, [node.target], node.value)

    def visit_Del(self, node: cst.Del) -> None:
        self._check_targets(node, [node.target], None)

    def _check_targets(
        self,
        stmt: cst.CSTNode,
        targets: list[cst.BaseExpression],
        value: cst.BaseExpression | None,
    ) -> None:
        """Report the statement once, for its first target that is outer state."""
        ctx = self.compiled_context(stmt)
        body = self.enclosing_function(stmt)
        if ctx is None or body is None:
            return
        for target in _flatten(targets):
            what = self._describe_target(target, body)
            if what is None:
                continue
            state_expr = target.value if isinstance(target, cst.Subscript) else target
            if self._restored_on_exit(body, target):
                continue
            mentions = self._mentions(state_expr, body)
            stored = [] if value is None else [value]
            ternary = value is not None and self._lazy_ternary(target, value, mentions)
            if ternary:
                assert isinstance(value, cst.IfExp)
                stored = [value.orelse if value.body.deep_equals(target) else value.body]
            elif self.outer.runs_once(body, ctx):
                continue
            elif not self.outer.lazily_guarded(stmt, body, mentions):
                self._report(stmt, what, ctx, stored)
                return
            # Lazy initialisation: fine for variables, layers and Python values, but a tensor
            # made under the guard belongs to the first trace ("out of scope" on the next).
            # Only when the guard checks the target itself: under `if self.use_penalty:` (a
            # flag) every trace sets the attribute again before it reads it.
            tensor = self._stored_tensor(stmt, stored)
            if tensor is not None and (
                ternary or self._guard_checks_target(stmt, body, state_expr)
            ):
                self.report(
                    stmt,
                    f"`{self.code(stmt)}` in {ctx.describe()} keeps the tensor "
                    f"`{self.code(tensor)}` of the first trace under a lazy-initialisation "
                    "guard; a later trace raises `... is out of scope`",
                    context=ctx,
                )
            return

    def _guard_checks_target(
        self, stmt: cst.CSTNode, body: FuncNode, target: cst.BaseExpression
    ) -> bool:
        """Whether an `if` around `stmt` checks `target` itself for presence (`if self.v is
        None:`, `if not self.v:`, `if "v" not in self.__dict__`, `if not hasattr(self,
        "v"):`), not some other state."""
        attr = target.attr.value if isinstance(target, cst.Attribute) else None
        child: cst.CSTNode = stmt
        p = self.parent(child)
        while p is not None and p is not body:
            if isinstance(p, cst.If) and child is not p.test:
                for e in self.outer.presence_checks(p.test):
                    base = e.value if isinstance(e, cst.Subscript) else e
                    if base.deep_equals(target):
                        return True
                text = self.state.module.code_for_node(p.test)
                if attr is not None and (f'"{attr}"' in text or f"'{attr}'" in text):
                    return True
            child, p = p, self.parent(p)
        return False

    def _restored_on_exit(self, body: FuncNode, target: cst.BaseExpression) -> bool:
        """A `@contextlib.contextmanager` that sets `target` and sets it back (larq's
        `quantized_scope`: `backup = ...; x.flag = value; yield; x.flag = backup`): the
        change lasts only for the `with` block, inside the same trace."""
        if not isinstance(body, cst.FunctionDef) or not any(
            "contextlib.contextmanager" in self.qualnames(d.decorator) for d in body.decorators
        ):
            return False
        finder = _SameTargetAssignments(target)
        walk(body.body, finder)
        return finder.count >= 2

    def _describe_target(self, target: cst.BaseExpression, body: FuncNode) -> str | None:
        """What assigning or deleting `target` changes, when it is outer state."""
        if isinstance(target, cst.Name):
            globals_, nonlocals = self.outer.declared(body)
            if target.value in globals_:
                return f"rebinds module-level `{target.value}` (declared `global`)"
            found = self.outer.owner(target) if target.value in nonlocals else None
            if found is not None:
                return f"rebinds `{target.value}` of {found[0]} (declared `nonlocal`)"
            return None
        if isinstance(target, cst.Attribute):
            name = f"{self.code(target.value)}.{target.attr.value}"
            if self.outer.is_receiver(target.value, body):
                return f"sets attribute `{name}`"
            if isinstance(target.value, cst.Name):
                found = self.outer.owner(target.value)
                if found is not None and found[0] == "module-level":
                    return f"sets attribute `{name}` of module-level `{target.value.value}`"
            return None
        if isinstance(target, cst.Subscript):
            held = self.outer.classify(target.value, lambda v: container_kind(self, v))
            return None if held is None else f"sets an item of {held.label()}"
        return None

    def _mentions(
        self, state: cst.BaseExpression, body: FuncNode
    ) -> Callable[[cst.BaseExpression], bool]:
        """Whether a guard expression checks `state` or an item of it (for `self.x`: any
        attribute of `self`, as in `if not self.built:`)."""
        if isinstance(state, cst.Attribute) and self.outer.is_receiver(state.value, body):
            return self.outer.mentions_receiver(body)

        def mentions_state(e: cst.BaseExpression) -> bool:
            base = e.value if isinstance(e, cst.Subscript) else e
            return base.deep_equals(state)

        return mentions_state

    def _lazy_ternary(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression,
        mentions: Callable[[cst.BaseExpression], bool],
    ) -> bool:
        """`self.v = tf.Variable(0) if self.v is None else self.v`: the guard in one line."""
        return (
            isinstance(value, cst.IfExp)
            and (value.body.deep_equals(target) or value.orelse.deep_equals(target))
            and any(mentions(e) for e in self.outer.presence_checks(value.test))
        )

    def _stored_tensor(
        self, node: cst.CSTNode, stored: list[cst.BaseExpression]
    ) -> cst.BaseExpression | None:
        """The first stored value that is a tensor made in this trace (not a variable)."""
        facts = self.facts(node)
        if facts is None:
            return None
        return next(
            (v for v in stored if facts.kind(v) is Kind.TENSOR and not self._creates_variable(v)),
            None,
        )

    def _creates_variable(self, value: cst.BaseExpression) -> bool:
        """`tf.Variable(...)`, or a name bound only to one: a variable outlives the trace."""
        values: list[cst.BaseExpression | None] = [value]
        if isinstance(value, cst.Name):
            scope = self.get_metadata(FastScopeProvider, value, None)
            bindings = scope[value.value] if scope is not None else set()
            values = [
                self.outer.bound_value(a.node) if isinstance(a, Assignment) else None
                for a in bindings
            ]
        return bool(values) and all(
            isinstance(v, cst.Call) and self.is_tf(v.func, "Variable") for v in values
        )

    def _report(
        self,
        node: cst.CSTNode,
        what: str,
        ctx: CompiledContext,
        stored: list[cst.BaseExpression],
    ) -> None:
        if self._stored_tensor(node, stored) is not None:
            tail = "only while tracing; the stored tensor cannot be used outside that trace"
        else:
            tail = "only while tracing, not on every call"
        self.report(
            node,
            f"`{self.code(node)}` {what} in {ctx.describe()} {tail}",
            context=ctx,
        )
