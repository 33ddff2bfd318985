"""TFG203 tf-function-created-in-loop."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.scopes import find_names
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, Rule

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

    ## Known problems
    Only the loop itself is checked: a function that creates and calls a `tf.function` on
    every call, and is itself called in a loop, is not reported. A loop that wraps a
    *different* callable on each iteration (`for fn in fns: tf.function(fn)(x)`) is not
    reported either, because each of those functions needs its own trace anyway.

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

            for epoch in range(10):
                run = lambda x: tf.function(model)(x)  # deferred: not created by the loop
            """
        ),
    )
    INVALID = (
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

    def visit_Call(self, node: cst.Call) -> None:
        creates = self.is_tf(node.func, "function") or (
            isinstance(node.func, cst.Call) and self.is_tf(node.func.func, "function")
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
            return
        uses = _uses(loop, self.state.module)
        if _varies_per_iteration(target, uses.bound):
            return
        if not self._called_in_loop(created, uses):
            return
        self.report(
            created,
            f"`{self.code(created)}` in the `{_loop_word(loop)}` loop at line "
            f"{self.line_of(loop)} makes a new tf.function per iteration, so every call "
            "retraces",
        )

    def _check_def(self, node: cst.FunctionDef, decorator: cst.Decorator) -> None:
        loop = self._enclosing_loop(node)
        if loop is None:
            return
        uses = _uses(loop, self.state.module)
        if node.name.value not in uses.callees:
            return
        self.report(
            decorator,
            f"`@tf.function` def `{node.name.value}` in the `{_loop_word(loop)}` loop at line "
            f"{self.line_of(loop)} makes a new tf.function per iteration, so every call "
            "retraces",
        )

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
