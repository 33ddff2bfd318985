"""TFG205 new-object-per-call."""

from __future__ import annotations

import re

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine import call_sites
from tfgraphlint.engine.rule import Confirmation, Rule

# What a Keras constructor makes, by the qualified name after the Keras root.
_KERAS_ROOTS = ("keras.", "tf_keras.", *(f"{root}.keras." for root in names.TF_ROOTS))
_KERAS_KINDS = (
    (re.compile(r"(models\.)?(Sequential|Model)$"), "Keras model"),
    (re.compile(r"models\.(clone_model|load_model|model_from_json)$"), "Keras model"),
    (re.compile(r"saving\.load_model$"), "Keras model"),
    (re.compile(r"applications\.([a-z_0-9]+\.)?[A-Z]\w*$"), "Keras model"),
    (re.compile(r"layers\.(experimental\.)?[A-Z]\w*$"), "Keras layer"),
    (re.compile(r"optimizers\.(legacy\.|experimental\.)?[A-Z]\w*$"), "Keras optimizer"),
    (re.compile(r"metrics\.[A-Z]\w*$"), "Keras metric"),
    (re.compile(r"losses\.[A-Z]\w*$"), "Keras loss object"),
)
# Kinds whose first use creates variables: a retrace that builds them raises `ValueError`.
_MAKES_VARIABLES = frozenset({"Keras model", "Keras layer", "Keras optimizer", "Keras metric"})
_DATACLASS = frozenset({"dataclasses.dataclass"})


def _a(kind: str, *, new: bool = False) -> str:
    """`a Keras model`, `a new object of class `Cfg``: a kind with its article."""
    adjective = "new " if new else ""
    if kind.startswith("Keras"):
        return f"a {adjective}{kind}"
    return f"a {adjective}object of class {kind.split()[0]}"


# Methods that make instances compare or trace by value, or reuse instances.
_VALUE_HOOKS = frozenset({"__tf_tracing_type__", "__new__"})
_FACTORY_DEPTH = 2


class _Returns(SameScopeVisitor):
    """The `return` statements of one function, not of the functions it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[cst.BaseExpression | None] = []

    def visit_Return(self, node: cst.Return) -> None:
        self.values.append(node.value)


class NewObjectPerCall(Rule):
    """
    ## What it does
    Flags calls, in a loop, to a `tf.function` of the same module that pass a Python object
    made anew on each pass: a Keras model, layer, optimizer, metric or loss object, an
    instance of a class of the module (not a `NamedTuple`), or what a function of the module
    that builds one of those returns (`model = build_model(config)`).

    ## Why is this bad?
    A `tf.function` keys a Python object argument by its identity, not by its value: each new
    object makes a new trace (on TF 2.21, three calls with three equal frozen dataclasses
    trace three times). When the new trace creates variables (an unbuilt model's weights,
    a new optimizer's slots, a new metric's totals), TensorFlow refuses:
    `ValueError: tf.function only supports singleton tf.Variables created on the first call`.
    This is how a hyperparameter search or a k-fold loop around a compiled `train_step`
    breaks on its second model.

    ## Example
    ```python
    @tf.function
    def train_step(model, optimizer, x, y):
        ...

    for fold in range(5):
        model = build_model()
        optimizer = tf.keras.optimizers.Adam()
        for x, y in folds[fold]:
            train_step(model, optimizer, x, y)
    ```

    ## Use instead
    Create the `tf.function` for each object, where the object is made, so that each has
    its own trace cache, or make the objects once and reset their state:
    ```python
    for fold in range(5):
        model = build_model()
        optimizer = tf.keras.optimizers.Adam()
        step = tf.function(train_step_fn)  # a fresh function for this model
        for x, y in folds[fold]:
            step(model, optimizer, x, y)
    ```
    Pass settings that are plain values as tensors or as a `NamedTuple` of them.

    ## Known problems
    Only calls in the module that defines the `tf.function`, objects whose class the module
    defines or Keras makes, and factories of the module one or two calls deep are seen. An
    object that comes from another module's function is not reported.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Rules of tracing" and
      "Creating tf.Variables"
    """

    CODE = "TFG205"
    NAME = "new-object-per-call"
    REACH = "call-sites"
    SEVERITY = Severity.WARNING
    SUMMARY = "`tf.function` called in a loop with a Python object made anew on each pass"

    CONFIRMED_BY = Confirmation.RETRACE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def predict(model, x):
                return model(x)

            model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(4)])
            x = tf.ones([2, 3])
            for step in range(3):
                predict(model, x)  # the same model on every call: one trace
            """
        ),
        Valid(
            """
            import collections
            import tensorflow as tf

            Settings = collections.namedtuple("Settings", "scale")

            @tf.function
            def scaled(settings, x):
                return x * settings.scale

            x = tf.ones([3])
            for step in range(3):
                scaled(Settings(tf.constant(2.0)), x)  # a namedtuple traces by its fields
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def train_step_fn(model, x):
                return model(x)

            x = tf.ones([2, 3])
            for width in (4, 8):
                model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(width)])
                step = tf.function(train_step_fn)  # a new tf.function for each model
                step(model, x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def predict(model, x):
                return model(x)

            x = tf.ones([2, 3])
            model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(4)])
            predict(model, x)
            model = tf.keras.Sequential([tf.keras.layers.Dense(8)])  # not in a loop
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def predict(model, x):
                return model(x)

            x = tf.ones([2, 3])
            for width in (4, 8, 16):
                model = tf.keras.Sequential([tf.keras.layers.Dense(width)])
                predict(model, x)  # error: TFG205
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def build_model():
                return tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])

            @tf.function
            def train_step(model, optimizer, x, y):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean((model(x) - y) ** 2)
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))
                return loss

            x, y = tf.ones([4, 3]), tf.ones([4, 1])
            for fold in range(3):
                model = build_model()
                optimizer = tf.keras.optimizers.Adam()
                train_step(model, optimizer, x, y)  # error: TFG205
            """
        ),
        Invalid(
            """
            import dataclasses
            import tensorflow as tf

            @dataclasses.dataclass(frozen=True)
            class Settings:
                scale: float

            @tf.function
            def scaled(settings, x):
                return x * settings.scale

            x = tf.ones([3])
            for step in range(3):
                scaled(Settings(2.0), x)  # error: TFG205
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not call_sites.could_name_target(node.func):
            return  # no compiled function of the module is called
        loops = call_sites.enclosing_loops(self, node)
        if not loops or self._callee_made_in(node.func, loops):
            return
        target = call_sites.eager_target(self, node)
        if target is None:
            return
        made: list[tuple[cst.Arg, str, call_sites.Loop]] = []
        for arg in node.args:
            if not arg.star:
                found = self._made_anew(arg.value, loops)
                if found is not None:
                    made.append((arg, *found))
        if not made:
            return
        subjects = ", ".join(f"`{self.code(arg.value)}`" for arg, _, _ in made)
        if len(made) == 1:
            what = f"is {_a(made[0][1], new=True)}"
        else:
            what = f"are new ({', '.join(_a(kind) for _, kind, _ in made)})"
        consequence = (
            ", and a retrace that creates variables raises `ValueError`"
            if any(kind in _MAKES_VARIABLES for _, kind, _ in made)
            else " (an object is keyed by identity)"
        )
        self.report(
            made[0][0],
            f"{subjects} passed to tf.function `{target.ctx.qualname}` {what} on each pass of "
            f"the loop at line {self.line_of(made[0][2])}: every call retraces{consequence}",
        )

    def _made_anew(
        self, value: cst.BaseExpression, loops: list[call_sites.Loop]
    ) -> tuple[str, call_sites.Loop] | None:
        """(kind, loop) when `value` is a new object on each pass of one of `loops`."""
        if isinstance(value, cst.Call):
            kind = self._made(value, _FACTORY_DEPTH)
            return None if kind is None else (kind, loops[0])
        if isinstance(value, cst.Name):
            found_kind, loop = self._made_in_loop(value, loops)
            if found_kind is not None and loop is not None:
                return found_kind, loop
        return None

    # ------------------------------------------------------------------ the argument
    def _made_in_loop(
        self, name: cst.Name, loops: list[call_sites.Loop]
    ) -> tuple[str | None, call_sites.Loop | None]:
        """(kind, loop) when every binding of `name` makes a new object and one is in the
        body of a loop around the call."""
        values = call_sites.bound_values(self, name)
        if not values or not all(isinstance(v, cst.Call) for v in values):
            return None, None
        kinds = {self._made(v, _FACTORY_DEPTH) for v in values if isinstance(v, cst.Call)}
        if len(kinds) != 1 or None in kinds:
            return None, None
        for loop in loops:
            if any(call_sites.inside_body(self, v, loop) for v in values):
                return kinds.pop(), loop
        return None, None

    def _made(self, call: cst.Call, depth: int) -> str | None:
        """What kind of new object `call` returns: a Keras kind, a class of the module, or
        what a function of the module returns on every path (`depth` calls deep)."""
        for qualname in sorted(self.qualnames(call.func)):
            for root in _KERAS_ROOTS:
                if qualname.startswith(root):
                    rest = qualname[len(root) :]
                    for pattern, kind in _KERAS_KINDS:
                        if pattern.match(rest):
                            return kind
        definition = self._local_definition(call.func)
        if isinstance(definition, cst.ClassDef):
            return self._class_kind(definition, set())
        if isinstance(definition, cst.FunctionDef) and depth > 0:
            return self._factory_kind(definition, depth - 1)
        return None

    def _local_definition(self, func: cst.BaseExpression) -> cst.CSTNode | None:
        """The one `def` or `class` of the module that the name `func` is bound to."""
        if not isinstance(func, cst.Name):
            return None
        scope = self.get_metadata(FastScopeProvider, func, None)
        if scope is None:
            return None
        nodes = [getattr(a, "node", None) for a in scope[func.value]]
        if len(nodes) != 1 or not isinstance(nodes[0], cst.ClassDef | cst.FunctionDef):
            return None
        return nodes[0]

    def _class_kind(self, cls: cst.ClassDef, seen: set[str]) -> str | None:
        """`Keras model`/`Keras layer` for a subclass of one, "`Name`" for a plain class
        (or dataclass) whose instances trace by identity; None when unsure."""
        if cls.name.value in seen or cls.keywords:
            return None
        seen.add(cls.name.value)
        for decorator in cls.decorators:
            callee = decorator.decorator
            callee = callee.func if isinstance(callee, cst.Call) else callee
            if not self.qualnames(callee) & _DATACLASS:
                return None  # attrs and the like: TensorFlow may trace by the fields
        for stmt in cls.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value in _VALUE_HOOKS:
                return None
        kind = f"`{cls.name.value}` object"
        for base in cls.bases:
            qualnames = self.qualnames(base.value)
            if qualnames & names.KERAS_MODEL_CLASSES:
                kind = "Keras model"
            elif any(names.is_keras_layer_class(q) for q in qualnames):
                kind = "Keras layer"
            elif qualnames == {"builtins.object"}:
                continue
            else:
                parent = self._local_definition(base.value)
                if not isinstance(parent, cst.ClassDef):
                    return None  # NamedTuple, ExtensionType, Enum or unknown
                parent_kind = self._class_kind(parent, seen)
                if parent_kind is None:
                    return None
                if parent_kind in _MAKES_VARIABLES:
                    kind = parent_kind
        return kind

    def _factory_kind(self, func: cst.FunctionDef, depth: int) -> str | None:
        """The kind of new object every `return` of `func` gives, or None."""
        finder = _Returns()
        walk(func.body, finder)
        kinds: set[str | None] = set()
        for value in finder.values:
            if isinstance(value, cst.Call):
                kinds.add(self._made(value, depth))
            elif isinstance(value, cst.Name):
                bound = call_sites.bound_values(self, value)
                if not bound or not all(isinstance(b, cst.Call) for b in bound):
                    return None
                kinds |= {self._made(b, depth) for b in bound if isinstance(b, cst.Call)}
            else:
                return None
        if len(kinds) != 1 or None in kinds:
            return None
        return kinds.pop()

    def _callee_made_in(self, func: cst.BaseExpression, loops: list[call_sites.Loop]) -> bool:
        """Whether the called name is bound in one of `loops`: a new `tf.function` per pass
        has its own cache (TFG203's concern, not this rule's)."""
        if not isinstance(func, cst.Name):
            return False
        scope = self.get_metadata(FastScopeProvider, func, None)
        if scope is None:
            return True
        for assignment in scope[func.value]:
            node = getattr(assignment, "node", None)
            if not isinstance(node, cst.CSTNode):
                return True
            if any(call_sites.inside_body(self, node, loop) for loop in loops):
                return True
        return False
