"""TFG203 tf-function-created-in-loop."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor, find_names
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, FileState, Rule

Loop = cst.For | cst.While


class _Uses(cst.CSTVisitor):
    """Within a loop body: names bound there, and the source text of every called callee."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.bound: set[str] = set()
        self.callees: set[str] = set()

    def _bind(self, target: cst.BaseExpression) -> None:
        for name in find_names(target):
            self.bound.add(name.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            self._bind(t.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name)

    def visit_Call(self, node: cst.Call) -> None:
        self.callees.add(self.module.code_for_node(node.func))


class TfFunctionCreatedInLoop(Rule):
    """
    ## What it does
    Flags a `tf.function` that is created inside a `for` or `while` loop and called in that
    same loop: `tf.function(f)(x)`, `step = tf.function(f)` followed by `step(x)`, or a
    `@tf.function`-decorated `def` in the loop body.

    ## Why is this bad?
    Every `tf.function(...)` call returns a new function object with its own, empty trace
    cache ("separate `tf.function` objects are guaranteed not to share traces"). Creating it
    in the loop therefore traces the Python function again on every iteration: the graph is
    never reused, and each call costs a full trace (measured about 100x a cached call).
    TensorFlow only warns after five retraces ("(1) creating @tf.function repeatedly in a
    loop").

    ## Example
    ```python
    for x, y in dataset:
        step = tf.function(lambda x, y: train_step(model, x, y))
        step(x, y)
    ```

    ## Use instead
    Create the `tf.function` once, before the loop, and call it inside:
    ```python
    step = tf.function(lambda x, y: train_step(model, x, y))
    for x, y in dataset:
        step(x, y)
    ```

    The same holds through the module's own calls: a module-level function that creates a
    `tf.function` and calls it (or returns it for the loop to call) on every call, called in
    a loop, directly or from another module-level function that the loop calls.

    ## Known problems
    Calls are followed by name within the module only (not methods, not other modules). A
    loop that wraps a *different* callable on each iteration (`for fn in fns:
    tf.function(fn)(x)`), or calls such a factory with an argument the loop binds (a new
    model each time), or calls a factory that makes a Keras layer, model or optimizer, or a
    `tf.Variable`, on every call, is not reported, because each of those functions needs its
    own trace anyway.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Controlling retracing"
    """

    CODE = "TFG203"
    NAME = "tf-function-created-in-loop"
    REACH = "call-sites"
    SEVERITY = Severity.WARNING
    SUMMARY = "`tf.function` created and called inside a loop (a new trace every iteration)"

    CONFIRMED_BY = Confirmation.RETRACE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            step = tf.function(lambda x: model(x))
            for batch in dataset:
                step(batch)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def compile_all(fns):
                compiled = {}
                for name, fn in fns.items():
                    compiled[name] = tf.function(fn)  # one tf.function per callable, kept
                return compiled
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def evaluate_all(models, x):
                for model in models:
                    # A different callable each iteration: each needs its own trace anyway.
                    tf.function(model)(x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def build(layers):
                steps = []
                for layer in layers:
                    @tf.function
                    def apply(x, layer=layer):
                        return layer(x)
                    steps.append(apply)  # created in the loop, but only stored
                return steps
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def make_step(model):
                return tf.function(model)

            def run(models, x):
                for model in models:  # a new model each time: it needs its own trace
                    make_step(model)(x)
                step = make_step(models[0])  # created once, called in the loop: fine
                for batch in x:
                    step(batch)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            for epoch in range(10):
                run = lambda x: tf.function(model)(x)  # deferred: not created by the loop
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def evaluate(width, x):
                layer = tf.keras.layers.Dense(width)  # new weights on every call

                def forward(batch):
                    return layer(batch)

                return tf.function(forward)(x)  # a new model: it needs a trace of its own

            for width in (4, 8, 16):
                evaluate(width, tf.ones((1, 2)))
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            def make_step(model):
                @tf.function  # error: TFG203
                def step(x):
                    return model(x)

                return step

            def run(model, batches):
                for batch in batches:
                    make_step(model)(batch)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def forward(model, x):
                return model(x, training=False)

            def predict(model, x):
                return tf.function(forward)(model, x)  # error: TFG203

            def evaluate(model, batch):
                return predict(model, batch["x"])

            def main(model, batches):
                for batch in batches:
                    evaluate(model, batch)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            for x, y in dataset:
                step = tf.function(lambda x, y: train_step(model, x, y))  # error: TFG203
                step(x, y)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def predict_all(model, batches):
                out = []
                for batch in batches:
                    out.append(tf.function(model.predict_step)(batch))  # error: TFG203
                return out
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def serve(requests, model):
                while True:
                    request = requests.get()

                    @tf.function  # error: TFG203
                    def infer(x):
                        return model(x)

                    request.reply(infer(request.x))
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def train(model, dataset, epochs):
                for epoch in range(epochs):
                    step = tf.function(model.train_step, jit_compile=True)  # error: TFG203
                    for batch in dataset:
                        step(batch)
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self._calls: dict[str, list[cst.Call]] | None = None  # the module's calls, by name

    def visit_Call(self, node: cst.Call) -> None:
        creates = self.is_tf(node.func, "function") or (
            type(node.func) is cst.Call and self.is_tf(node.func.func, "function")
        )
        target = _wrapped(node) if creates else None
        if target is not None:
            self._check(node, target)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for dec in node.decorators:
            expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            if self.is_tf(expr, "function"):
                self._check_def(node, dec)
                return

    def _check(self, created: cst.Call, target: cst.BaseExpression) -> None:
        loop = self._enclosing_loop(created)
        if loop is None:
            self._check_factory(created, target, created)
            return
        uses = _uses(loop, self.state.module)
        if _varies_per_iteration(target, uses.bound):
            return
        if not self._called_in_loop(created, uses):
            return
        self.report(
            created,
            f"`{self.code(created)}` in the `{_loop_word(loop)}` loop at line "
            f"{self.line_of(loop)} makes a new tf.function per iteration, so every iteration "
            "traces it again",
        )

    def _check_def(self, node: cst.FunctionDef, decorator: cst.Decorator) -> None:
        loop = self._enclosing_loop(node)
        if loop is None:
            self._check_factory(node, node.body, decorator)
            return
        uses = _uses(loop, self.state.module)
        if node.name.value not in uses.callees:
            return
        self.report(
            decorator,
            f"`@tf.function` def `{node.name.value}` in the `{_loop_word(loop)}` loop at line "
            f"{self.line_of(loop)} makes a new tf.function per iteration, so every iteration "
            "traces it again",
        )

    # ------------------------------------------------ through the module's own calls
    def _check_factory(
        self, created: cst.Call | cst.FunctionDef, target: cst.CSTNode, reported: cst.CSTNode
    ) -> None:
        """`created` (a `tf.function(...)` call or a decorated `def`) in a module-level
        function that calls it, or returns it, on every call: reported when a loop of the
        module calls that function (directly, or through one more module-level function)
        with arguments the loop does not bind, and, for a returned one, calls the result."""
        factory = self._module_function(created)
        if factory is None:
            return
        params = {p.name.value for p in _all_params(factory.params)}
        if isinstance(target, cst.BaseExpression) and _varies_per_iteration(target, params):
            return  # wraps what the caller passes: a new callable may need its own trace
        how = self._factory_use(created, factory)
        if how is None:
            return
        if self._makes_state(factory):
            return  # a new model or variable per call: each tf.function needs its own trace
        # A nested def or lambda may close over the factory's arguments: then a call with
        # arguments the loop binds may need its new trace. A module-level function never does.
        fixed = (
            isinstance(created, cst.Call)
            and isinstance(target, cst.Name | cst.Attribute)
            and not (isinstance(target, cst.Name) and _defines(factory, target.value))
        )
        returned = how == "returned"
        for _call, loop, via in self._loop_calls(factory.name.value, returned, not fixed):
            text = f" (through `{via}`)" if via else ""
            what = (
                f"`{self.code(created)}`"
                if isinstance(created, cst.Call)
                else f"`@tf.function` def `{created.name.value}`"
            )
            self.report(
                reported,
                f"{what} in `{factory.name.value}`, which the `{_loop_word(loop)}` loop at line "
                f"{self.line_of(loop)} calls{text}, makes a new tf.function per call, so every "
                "pass of the loop traces it again",
            )
            return

    def _makes_state(self, factory: cst.FunctionDef) -> bool:
        """Whether the factory makes a Keras layer, model or optimizer, or a `tf.Variable`,
        on every call: the tf.function it creates then wraps new state each time."""
        finder = _StateMaker(self)
        walk(factory.body, finder)
        return finder.found

    def _module_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        """The module-level `def` whose own body (not a nested function's) holds `node`."""
        child = node
        parent = self.get_metadata(ParentProvider, child, None)
        while parent is not None:
            if isinstance(parent, cst.Lambda | cst.ClassDef):
                return None
            if isinstance(parent, cst.FunctionDef):
                outer = self.get_metadata(ParentProvider, parent, None)
                return parent if isinstance(outer, cst.Module) else None
            child = parent
            parent = self.get_metadata(ParentProvider, child, None)
        return None

    def _factory_use(
        self, created: cst.Call | cst.FunctionDef, factory: cst.FunctionDef
    ) -> str | None:
        """ "called" when the factory calls what it creates, "returned" when it returns it."""
        uses = _Uses(self.state.module)
        walk(factory.body, uses)
        parent = self.get_metadata(ParentProvider, created, None)
        if isinstance(created, cst.FunctionDef):
            if created.name.value in uses.callees:
                return "called"
            returned = _returned_names(factory)
            return "returned" if created.name.value in returned else None
        if isinstance(parent, cst.Call) and parent.func is created:
            return "called"
        if isinstance(parent, cst.Return):
            return "returned"
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Name):
                if target.value in uses.callees:
                    return "called"
                if target.value in _returned_names(factory):
                    return "returned"
        return None

    def _loop_calls(
        self, name: str, returned: bool, closes_over: bool, depth: int = 0
    ) -> list[tuple[cst.Call, Loop, str | None]]:
        """Calls of the module-level function `name` that a loop runs on every iteration
        (with arguments the loop does not bind; for a returned tf.function, with the result
        called in the loop), directly or, for a called one, through one more function."""
        found: list[tuple[cst.Call, Loop, str | None]] = []
        for call in self._calls_by_name().get(name, ()):
            loop = self._enclosing_loop(call)
            if loop is not None:
                uses = _uses(loop, self.state.module)
                if (returned or closes_over) and any(
                    _mentions(a.value, uses.bound) for a in call.args
                ):
                    continue
                if returned and not self._called_in_loop(call, uses):
                    continue
                found.append((call, loop, None))
            elif not returned and depth == 0:
                caller = self._module_function(call)
                if caller is not None and caller.name.value != name:
                    for outer, outer_loop, _ in self._loop_calls(
                        caller.name.value, False, closes_over, 1
                    ):
                        found.append((outer, outer_loop, caller.name.value))
        return found

    def _calls_by_name(self) -> dict[str, list[cst.Call]]:
        if self._calls is None:
            finder = _CallsByName()
            walk(self.state.module, finder)
            self._calls = finder.calls
        return self._calls

    def _called_in_loop(self, created: cst.Call, uses: _Uses) -> bool:
        """The created function is called in the loop: at once, or through the name (or
        attribute) it is assigned to."""
        parent = self.get_metadata(ParentProvider, created, None)
        if isinstance(parent, cst.Call) and parent.func is created:
            return True
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            if isinstance(target, cst.Name | cst.Attribute):
                return self.state.module.code_for_node(target) in uses.callees
        return False

    def _enclosing_loop(self, node: cst.CSTNode) -> Loop | None:
        """The innermost loop whose body runs `node`, within the same function scope."""
        child = node
        parent = self.get_metadata(ParentProvider, child, None)
        while parent is not None:
            if isinstance(parent, cst.FunctionDef | cst.Lambda | cst.ClassDef):
                return None
            if isinstance(parent, Loop) and child is parent.body:
                return parent
            child = parent
            parent = self.get_metadata(ParentProvider, child, None)
        return None


class _CallsByName(cst.CSTVisitor):
    """Every call of a plain name in the module: name -> calls."""

    def __init__(self) -> None:
        self.calls: dict[str, list[cst.Call]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name):
            self.calls.setdefault(node.func.value, []).append(node)


class _Returns(SameScopeVisitor):
    """Names returned by a function's own body (nested functions skipped)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Return(self, node: cst.Return) -> None:
        if isinstance(node.value, cst.Name):
            self.names.add(node.value.value)


def _returned_names(func: cst.FunctionDef) -> set[str]:
    finder = _Returns()
    walk(func.body, finder)
    return finder.names


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            found.append(star)
    return found


def _mentions(expr: cst.BaseExpression, names: set[str]) -> bool:
    return any(n.value in names for n in _names_in(expr))


def _names_in(expr: cst.CSTNode) -> list[cst.Name]:
    finder = _NameFinder()
    walk(expr, finder)
    return finder.names


class _NameFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: list[cst.Name] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)


def _wrapped(created: cst.Call) -> cst.BaseExpression | None:
    """The callable a `tf.function(f, ...)` / `tf.function(...)(f)` call wraps."""
    for arg in created.args:
        if arg.keyword is None and arg.star == "":
            return arg.value
        if arg.keyword is not None and arg.keyword.value == "func":
            return arg.value
    return None


def _varies_per_iteration(target: cst.BaseExpression, bound: set[str]) -> bool:
    """Whether the wrapped callable may be a different (already defined) function on each
    iteration: a name the loop binds, or an attribute of one. Lambdas are new code each
    iteration with the same behaviour, so they do not count."""
    if isinstance(target, cst.Lambda):
        return False
    base = target
    while isinstance(base, cst.Attribute | cst.Subscript | cst.Call):
        base = base.func if isinstance(base, cst.Call) else base.value
    return not isinstance(base, cst.Name) or base.value in bound


def _uses(loop: Loop, module: cst.Module) -> _Uses:
    uses = _Uses(module)
    if isinstance(loop, cst.For):
        uses._bind(loop.target)
    walk(loop.body, uses)
    return uses


def _loop_word(loop: Loop) -> str:
    return "for" if isinstance(loop, cst.For) else "while"


_KERAS_STATE_PACKAGES = ("layers.", "models.", "optimizers.", "Model", "Sequential")


class _StateMaker(cst.CSTVisitor):
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        for qn in self.rule.qualnames(node.func):
            rest = names.strip_tf_root(qn)
            rest = rest if rest is not None else qn
            if rest == "Variable":
                self.found = True
            for root in ("keras.", "tf_keras."):
                if rest.startswith(root) and rest[len(root) :].startswith(_KERAS_STATE_PACKAGES):
                    self.found = self.found or rest.rsplit(".", 1)[-1][:1].isupper()


def _defines(factory: cst.FunctionDef, name: str) -> bool:
    """Whether `name` is a function defined (or a lambda bound) in the factory's body."""
    for stmt in factory.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return True
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.Assign)
                    and isinstance(small.value, cst.Lambda)
                    and any(
                        isinstance(t.target, cst.Name) and t.target.value == name
                        for t in small.targets
                    )
                ):
                    return True
    return False
