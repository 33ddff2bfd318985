"""TFG109 argument-mutated."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.model import CompiledContext
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, FileState, Rule

# Methods only lists have (tensors, TensorArrays and tf.Variables have none of them).
_LIST_ONLY = frozenset({"append", "extend", "insert"})
# Methods that mutate a list or a dict, but that other objects have too (`pbar.update(1)`).
_MUTATORS = frozenset(
    {*_LIST_ONLY, "remove", "pop", "clear", "sort", "reverse", "update", "setdefault", "popitem"}
)
_CONTAINER_TYPES = frozenset(
    {
        "builtins.list",
        "builtins.dict",
        "typing.List",
        "typing.Dict",
        "typing.MutableSequence",
        "typing.MutableMapping",
        "collections.OrderedDict",
        "collections.defaultdict",
    }
)
_RAISES = "tracing fails for a list or dict argument"
# Attributes whose setter assigns a `tf.Variable` (an op, on every call): a Keras optimizer's
# `learning_rate` (Keras 3, and the Keras 2 optimizers of TF 2.11+; checked on TF 2.21).
_VARIABLE_PROPERTIES = frozenset({"learning_rate"})


class _Rebinds(cst.CSTVisitor):
    """Names a function body binds with `=`, `for`, `with ... as` or `:=` (not in nested
    functions): a parameter rebound to a copy (`acc = list(acc)`) may be modified."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def _targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.names.add(target.value)
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._targets(element.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._targets(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


class ArgumentMutated(Rule):
    """
    ## What it does
    Flags a `tf.function` that modifies one of its own Python arguments: a list method
    (`acc.append(x)`), a list or dict mutation on an argument known to be one (annotated
    `list`/`dict`, or defaulting to `[]`/`{}`), an item assignment or deletion
    (`d[k] = v`), or an attribute assignment (`config.step = 3`, `obj.count += 1`). Setting
    `optimizer.learning_rate` is not flagged: a Keras optimizer's setter assigns a variable.

    ## Why is this bad?
    TensorFlow checks that a `tf.function` leaves its list and dict arguments as they were:
    on TensorFlow 2.21, `acc.append(x)` or `d["k"] = x` on an argument makes the call fail
    with `ValueError: f(x, acc) should not modify its Python input arguments`. A tensor or a
    NumPy array argument (converted to a tensor) does not support item assignment
    (`TypeError: 'SymbolicTensor' object does not support item assignment`). Any other
    object's attribute is set only while tracing: after three calls, `obj.count += 1` has
    counted one.

    ## Example
    ```python
    @tf.function
    def train_step(x, losses):
        loss = model_loss(x)
        losses.append(loss)
        return loss
    ```

    ## Use instead
    Return the values and collect them in eager code (`losses.append(train_step(x))`),
    modify a copy (`losses = list(losses)`; TensorFlow allows it), or keep state in a
    `tf.Variable`.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
    """

    CODE = "TFG109"
    NAME = "argument-mutated"
    SEVERITY = Severity.ERROR
    SUMMARY = "a `tf.function` that modifies its own list, dict or object argument"

    CONFIRMED_BY = Confirmation.TRACE_EFFECT
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x):
                return tf.reduce_sum(x)

            def train(batches):
                losses = []
                for x in batches:
                    losses.append(train_step(x))  # eager code collects the results
                return losses
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def extend(x, acc):
                acc = list(acc)  # a copy may be modified
                acc.append(x)
                return acc
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Trainer(tf.Module):
                @tf.function
                def step(self, x, counter):
                    counter.assign_add(1)  # a tf.Variable: an op, on every call
                    return x + 1

            @tf.function
            def report(x, pbar):
                pbar.update(1)  # `update` is not only a dict method: not known to raise
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def build(x, cache):
                if cache.kernel is None:  # lazily made once: the guard says so
                    cache.kernel = tf.Variable(tf.ones([2]))
                return x * cache.kernel
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def set_rate(x, optimizer, rate):
                optimizer.learning_rate = rate  # the setter assigns a variable: an op
                return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x, losses):
                loss = tf.reduce_sum(x)
                losses.append(loss)  # error: TFG109
                return loss
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def collect(x, stats: dict):
                stats.update(total=tf.reduce_sum(x))  # error: TFG109
                stats["max"] = tf.reduce_max(x)  # error: TFG109
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Config:
                calls = 0

            @tf.function
            def step(x, config):
                config.calls += 1  # error: TFG109
                return x * 2

            def normalise(x, history=[]):
                history.append(x)  # error: TFG109
                return x

            fast = tf.function(normalise)
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self._rebound: dict[cst.FunctionDef, set[str]] = {}

    # ------------------------------------------------------------------ visits
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return
        method = func.attr.value
        if method not in _MUTATORS:
            return
        found = self._argument(node, func.value.value)
        if found is None:
            return
        fdef, param, ctx = found
        if _is_container(self, param):
            consequence = _RAISES
        elif method in _LIST_ONLY:
            consequence = (
                "tracing fails if it is a list, and any other object changes only while tracing"
            )
        else:
            return
        self.report(
            node,
            f"`{self.code(func)}()` in {ctx.describe()} modifies its argument "
            f"`{param.name.value}`: {consequence}",
            context=ctx,
        )

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._store(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._store(node.target)

    # ------------------------------------------------------------------ helpers
    def _store(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._store(element.value)
            return
        if not isinstance(target, cst.Subscript | cst.Attribute):
            return
        if not isinstance(target.value, cst.Name):
            return
        found = self._argument(target, target.value.value)
        if found is None:
            return
        _, param, ctx = found
        name = param.name.value
        if isinstance(target, cst.Subscript):
            message = (
                f"`{self.code(target)}` in {ctx.describe()} modifies its argument `{name}`: "
                "tracing fails for a list, dict or tensor argument"
            )
        else:
            if self._lazily_made(target) or target.attr.value in _VARIABLE_PROPERTIES:
                return
            message = (
                f"`{self.code(target)}` in {ctx.describe()} sets an attribute of its argument "
                f"`{name}` only while tracing, not on every call"
            )
        self.report(target, message, context=ctx)

    def _argument(
        self, node: cst.CSTNode, name: str
    ) -> tuple[cst.FunctionDef, cst.Param, CompiledContext] | None:
        """The compiled root function whose own body holds `node`, and its parameter
        `name` (not `self`/`cls`, not rebound in the body), with the compiled context."""
        ctx = self.compiled_context(node)
        if ctx is None or not ctx.is_root:
            return None
        fdef = self.enclosing_function(node)
        if not isinstance(fdef, cst.FunctionDef):
            return None
        params = [*fdef.params.posonly_params, *fdef.params.params, *fdef.params.kwonly_params]
        if params and self._is_method(fdef):
            params = params[1:]
        param = next((p for p in params if p.name.value == name), None)
        if param is None or name in self._rebinds(fdef):
            return None
        return fdef, param, ctx

    def _is_method(self, fdef: cst.FunctionDef) -> bool:
        parent = self.parent(fdef)
        grand = self.parent(parent) if parent is not None else None
        if not isinstance(grand, cst.ClassDef):
            return False
        return not any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
            for d in fdef.decorators
        )

    def _rebinds(self, fdef: cst.FunctionDef) -> set[str]:
        found = self._rebound.get(fdef)
        if found is None:
            visitor = _Rebinds()
            walk(fdef.body, visitor)
            found = self._rebound[fdef] = visitor.names
        return found

    def _lazily_made(self, target: cst.Attribute) -> bool:
        """Whether the assignment sits under an `if` that tests the same attribute
        (`if cache.kernel is None: cache.kernel = ...`): made once, on purpose."""
        text = self.state.module.code_for_node(target)
        up = self.parent(target)
        while up is not None and not isinstance(up, cst.FunctionDef | cst.Lambda):
            if isinstance(up, cst.If) and text in self.state.module.code_for_node(up.test):
                return True
            up = self.parent(up)
        return False


def _is_container(rule: Rule, param: cst.Param) -> bool:
    """Whether `param` is known to be a list or a dict: its annotation, or its default."""
    default = param.default
    if isinstance(default, cst.List | cst.Dict | cst.ListComp | cst.DictComp):
        return True
    if isinstance(default, cst.Call) and rule.qualnames(default.func) & _CONTAINER_TYPES:
        return True
    if param.annotation is not None:
        annotation = param.annotation.annotation
        if isinstance(annotation, cst.Subscript):
            annotation = annotation.value
        return bool(rule.qualnames(annotation) & _CONTAINER_TYPES)
    return False
