"""TFG301 variable-created-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.model import ContextKind
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.prefilter import words
from tfgraphlint.engine.rule import Confirmation, FileState, FuncNode, Rule

# Calls that create a `tf.Variable` when they run.
_VARIABLE_FACTORIES = frozenset(
    {
        *names.TF_VARIABLE,
        *names.under_tf(
            "keras.backend.variable",
            "keras.Variable",
            "random.Generator",
            "random.Generator.from_seed",
            "random.Generator.from_non_deterministic_state",
            "random.Generator.from_key_counter",
            "random.experimental.Generator",
            "random.experimental.Generator.from_seed",
            "random.experimental.Generator.from_non_deterministic_state",
        ),
        "keras.Variable",
        "keras.backend.Variable",
        "keras.backend.variable",
        "tf_keras.backend.variable",
    }
)
# Keras packages whose classes build weights (layers, models, optimizers, metrics).
_KERAS_ROOTS = ("keras.", "tf_keras.", *(f"{r}.keras." for r in names.TF_ROOTS))
_KERAS_STATEFUL_PACKAGES = ("layers", "optimizers", "metrics", "models")
# Keras packages TF 2.21 still re-exports outside `tf.keras` (`tf.optimizers.Adam` and
# `tf.metrics.Mean` are Keras 3's classes: checked on TF 2.21, and creating one in a
# tf.function raises the singleton-variable `ValueError`).
_TF_KERAS_ALIASES = tuple(
    (root, f"{root}{package}.")
    for root in ("tensorflow.", "tensorflow.compat.v2.")
    for package in ("optimizers", "metrics")
)
_KERAS_MODELS = frozenset({"Model", "Sequential"})
# Layers that own no variable: constructing and calling them in a trace works (checked on
# TF 2.21 / Keras 3 for each name below).
_STATELESS_LAYERS = frozenset(
    {
        "Activation",
        "ActivityRegularization",
        "Add",
        "Average",
        "CenterCrop",
        "Concatenate",
        "Dot",
        "ELU",
        "Flatten",
        "Identity",
        "InputLayer",
        "Lambda",
        "LeakyReLU",
        "Masking",
        "Maximum",
        "Minimum",
        "Multiply",
        "Permute",
        "ReLU",
        "RepeatVector",
        "Rescaling",
        "Reshape",
        "Resizing",
        "Softmax",
        # A wrapper that owns no variable: its cells do, and they are flagged where they are
        # made (construction and `get_initial_state` in a trace: two traces, no error).
        "StackedRNNCells",
        "Subtract",
        "ThresholdedReLU",
        "UnitNormalization",
    }
)
_STATELESS_LAYER_PREFIXES = (
    "MaxPool",
    "AveragePooling",
    "AvgPool",
    "GlobalAveragePooling",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "ZeroPadding",
    "Cropping",
    "UpSampling",
)
# Layers that own a seed-generator variable on Keras 3 only (Keras 2 keeps no state).
_KERAS3_SEEDED_LAYERS = frozenset({"Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise"})
# Keras 3 layers whose constructor creates a variable (a seed generator; checked on TF 2.21,
# with the `Random*` preprocessing layers): made in a trace, they raise even if never called.
# Every other layer, and a model, creates its variables when first called or built.
_KERAS3_STATE_AT_CONSTRUCTION = _KERAS3_SEEDED_LAYERS | frozenset(
    {
        "AugMix",
        "Bidirectional",
        "ConvLSTM1D",
        "ConvLSTM2D",
        "ConvLSTM3D",
        "CutMix",
        "GRU",
        "GRUCell",
        "LSTM",
        "LSTMCell",
        "MixUp",
        "RNN",
        "RandAugment",
        "SimpleRNN",
        "SimpleRNNCell",
        "Solarization",
    }
)
# What builds a layer or model made in the trace: calling it, or these methods.
_BUILDERS = frozenset(
    {"build", "__call__", "fit", "evaluate", "predict", "train_on_batch", "test_on_batch"}
)
# What makes a `Sequential` build at construction: an `Input` among its layers, or a layer
# given its input shape (checked on TF 2.21).
_INPUT_KEYWORDS = frozenset({"input_shape", "batch_input_shape", "input_dim", "batch_shape"})


class VariableCreatedInTfFunction(Rule):
    """
    ## What it does
    Flags code in a compiled body that creates TensorFlow variables on every trace:
    `tf.Variable(...)`, `tf.keras.backend.variable(...)`, `tf.random.Generator.from_seed(...)`,
    and constructors of Keras layers with weights, models, optimizers and metrics. A creation
    under an `if` (the singleton pattern `if self.v is None: self.v = tf.Variable(...)`) or
    under `with tf.init_scope():` is not flagged.

    A Keras layer or model owns no variable until it is called or built, so one made in the
    trace is reported only when the same function calls or builds it (`Dense(4)(x)`, `dense =
    Dense(4)` then `dense(x)`, `model.fit(...)`), or when its constructor already creates a
    variable: a `Sequential` given an input, and on Keras 3 the layers that own a seed
    generator (`Dropout`, `GaussianNoise`, the recurrent layers and cells, the `Random*`
    preprocessing layers; checked on TF 2.21). A functional `keras.Model(inputs, outputs)`
    wires layers that exist and is not reported. Optimizers and metrics create their
    variables when made.

    ## Why is this bad?
    `tf.function` only supports variables created once, on the first call: it traces that
    call twice, the second time with variable creation forbidden. An unconditional creation
    therefore fails on the very first call (TF 2.21):

    `ValueError: tf.function only supports singleton tf.Variables created on the first call.
    Make sure the tf.Variable is only created once or created outside tf.function.`

    (TF 2.3 and older: `ValueError: tf.function-decorated function tried to create variables
    on non-first call.`) Keras layers, models, optimizers (Keras 3 creates the `iterations`
    variable in the constructor), metrics and `tf.random.Generator` all create variables, so
    they fail the same way. Keras `train_step` runs inside Keras' own `tf.function`.

    ## Example
    ```python
    @tf.function
    def train_step(x, y):
        optimizer = tf.keras.optimizers.Adam(1e-3)
        counter = tf.Variable(0)
        ...
    ```

    ## Use instead
    ```python
    optimizer = tf.keras.optimizers.Adam(1e-3)
    counter = tf.Variable(0)

    @tf.function
    def train_step(x, y):
        ...
    ```
    or create the state in `__init__`/`build()`, or lazily under `if self.v is None:`.

    ## Known problems
    Layers are matched by name: weightless layers (`ReLU`, `Flatten`, pooling, merging...)
    are known and skipped, and so is `TimeDistributed` of one; `Dropout`-style layers are
    reported only for Keras 3 spellings (`tf.keras`, `keras`), where they own a
    seed-generator variable. A layer made in the trace and called elsewhere (kept in a list,
    or called by another method) is not reported.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Creating tf.Variables"
    """

    CODE = "TFG301"
    NAME = "variable-created-in-tf-function"
    REACH, TRIGGERS = "call-sites", (words("global", "nonlocal"),)
    SEVERITY = Severity.ERROR
    SUMMARY = "`tf.Variable`, Keras layer/model/optimizer/metric created on every trace"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            class Scale(tf.Module):
                def __init__(self):
                    self.w = None

                @tf.function
                def __call__(self, x):
                    if self.w is None:  # the documented singleton pattern
                        self.w = tf.Variable(tf.ones_like(x))
                    return self.w * x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Counter(tf.Module):
                @tf.function
                def __call__(self, x):
                    with tf.init_scope():  # runs eagerly, once per trace
                        if not hasattr(self, "count"):
                            self.count = tf.Variable(0)
                    self.count.assign_add(1)
                    return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Block(tf.keras.layers.Layer):
                def build(self, input_shape):  # Keras calls build() outside the trace
                    self.dense = tf.keras.layers.Dense(input_shape[-1])
                    self.scale = tf.Variable(1.0)

                def call(self, x):
                    return self.dense(x) * self.scale
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def head(x):
                x = tf.keras.layers.Flatten()(x)  # no weights: fine in a trace
                return tf.keras.layers.ReLU()(x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            CELLS = [tf.keras.layers.LSTMCell(256)]

            @tf.function
            def initial_state(batch_size):
                stacked = tf.keras.layers.StackedRNNCells(CELLS)  # its cells own the weights
                return stacked.get_initial_state(batch_size=batch_size)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def make_counter():
                return tf.Variable(0)  # only called eagerly

            counter = make_counter()

            @tf.function
            def step(x):
                counter.assign_add(1)
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def decayed(step):
                schedule = tf.keras.optimizers.schedules.ExponentialDecay(0.1, 1000, 0.9)
                loss_fn = tf.keras.losses.MeanSquaredError()  # no variables
                return schedule(step)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class DPModel(tf.keras.Model):
                def _make_loss_tracker(self):
                    self._loss_tracker = tf.keras.metrics.Mean(name="dp_loss")

                def train_step(self, data):
                    if self._loss_tracker is None:  # the helper runs on the first trace only
                        self._make_loss_tracker()
                    x, y = data
                    self._loss_tracker.update_state(self.compute_loss(x, y, self(x)))
                    return {"loss": self._loss_tracker.result()}
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def pooled(frames):
                pool = tf.keras.layers.TimeDistributed(tf.keras.layers.MaxPool2D())  # no weights
                frames = tf.keras.layers.TimeDistributed(tf.keras.layers.MaxPool2D())(frames)
                return pool(frames)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def widen(x):
                layer = tf.keras.layers.Dense(4)  # never called or built here: no variable yet
                return tf.tile(x, [1, layer.units])
            """
        ),
        Valid(
            """
            import keras
            import tensorflow as tf

            inputs = keras.Input((6,))
            hidden = keras.layers.Dense(5)(inputs)
            backbone = keras.Model(inputs, keras.layers.Dense(3)(hidden))

            @tf.function
            def feature_distance(a, b):
                features = keras.Model(backbone.input, backbone.layers[1].output)  # no new layer
                return tf.reduce_mean(tf.square(features(a) - features(b)))
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def f(x):
                v = tf.Variable(1.0)  # error: TFG301
                return v + x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(model, x, y):
                optimizer = tf.keras.optimizers.Adam(1e-3)  # error: TFG301
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.square(model(x) - y))
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))
                return loss
            """
        ),
        Invalid(
            """
            import keras
            import tensorflow as tf

            class Classifier(keras.Model):
                def train_step(self, data):
                    x, y = data
                    acc = keras.metrics.SparseCategoricalAccuracy()  # error: TFG301
                    acc.update_state(y, self(x))
                    return {"acc": acc.result()}
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def project(x, units):
                return tf.keras.layers.Dense(units)(x)  # error: TFG301

            @tf.function
            def encode(x):
                noise = tf.random.Generator.from_seed(0).normal(tf.shape(x))  # error: TFG301
                return project(x + noise, 16)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            ds = tf.data.Dataset.range(10)
            ds = ds.map(lambda i: i + tf.Variable(1, dtype=tf.int64))  # error: TFG301
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(model, x):
                optimizer = tf.optimizers.Adam(1e-3)  # error: TFG301
                loss = tf.metrics.Mean()  # error: TFG301
                loss.update_state(model(x))
                return loss.result()
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def per_frame(frames):
                dense = tf.keras.layers.TimeDistributed(tf.keras.layers.Dense(4))  # error: TFG301
                return dense(frames)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def make_head(x):
                head = tf.keras.Sequential(  # error: TFG301
                    [tf.keras.Input((3,)), tf.keras.layers.Dense(4)]
                )  # an input: built, with its weights, when made
                return x
            """
        ),
    )

    def __init__(self, state: FileState) -> None:
        super().__init__(state)
        self._calls: dict[str, list[cst.Call]] | None = None

    def visit_Call(self, node: cst.Call) -> None:
        what = self._creates_variables(node)
        if what is None:
            return
        ctx = self.compiled_context(node)
        if ctx is None or self._conditional(node) or self._inside_other_creation(node):
            return
        if self._made_unbuilt(node) and not self._built_in_trace(node):
            return  # a layer or model not called in the trace owns no variable yet
        if self._functional_model(node):
            return  # `Model(inputs, outputs)` wires layers that exist: no new variable
        func = self.enclosing_function(node)
        if func is not None and not self._reached_unconditionally(func, depth=0):
            return
        self.report(
            node,
            f"`{self.code(node)}` in {ctx.describe()} {what} on every trace, which raises "
            "`ValueError`",
            context=ctx,
        )

    def _creates_variables(self, call: cst.Call) -> str | None:
        """What the call creates ("creates a variable", ...), or None."""
        qns = self.qualnames(call.func)
        if qns & _VARIABLE_FACTORIES:
            return "creates a variable"
        for qn in sorted(qns):
            kind = _keras_stateful(qn)
            if kind is not None:
                if kind == "layer" and qn.endswith(".TimeDistributed"):
                    wrapped = self._wrapped_layer(call)
                    if wrapped is not None and self._creates_variables(wrapped) is None:
                        return None  # `TimeDistributed(MaxPool2D())` adds no variable
                return f"creates a Keras {kind}'s variables"
        return None

    def _made_unbuilt(self, call: cst.Call) -> bool:
        """Whether `call` makes a Keras layer or model that owns no variable until it is
        called or built (`Dense(4)`, `Sequential([...])` without an input shape)."""
        for qn in sorted(self.qualnames(call.func)):
            kind = _keras_stateful(qn)
            if kind not in ("layer", "model"):
                continue
            cls = qn.rsplit(".", 1)[-1]
            keras3 = not qn.startswith("tf_keras.")
            if keras3 and (cls in _KERAS3_STATE_AT_CONSTRUCTION or cls.startswith("Random")):
                return False
            return not (kind == "model" and self._has_input(call))
        return False

    def _functional_model(self, call: cst.Call) -> bool:
        """Whether `call` makes a functional `keras.Model(inputs, outputs)`: it reuses the
        layers its outputs come from, and creates no variable, made or called (a feature
        extractor made in a loss: checked on TF 2.21)."""
        if not call.args or not any(
            _keras_stateful(qn) == "model" and qn.rsplit(".", 1)[-1] == "Model"
            for qn in self.qualnames(call.func)
        ):
            return False
        positional = [a for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value for a in call.args if a.keyword is not None}
        return len(positional) >= 2 or {"inputs", "outputs"} <= keywords | (
            {"inputs"} if positional else set()
        )

    def _has_input(self, call: cst.Call) -> bool:
        """Whether a model's arguments give it an input (`keras.Input(...)`, `input_shape=`)."""
        finder = _InputFinder(self)
        for arg in call.args:
            walk(arg, finder)
        return finder.found

    def _built_in_trace(self, call: cst.Call) -> bool:
        """Whether the layer or model `call` makes is built in the same function: called at
        once (`Dense(4)(x)`), or bound to a name or attribute that the function then calls
        or builds (`dense = Dense(4)` ... `dense(x)`, `model.fit(...)`)."""
        if isinstance(call.func, cst.Call):
            return True  # `Dense(4)(x)`: this node is the call of the new layer
        parent = self.parent(call)
        if isinstance(parent, cst.Call) and parent.func is call:
            return True
        if (
            isinstance(parent, cst.Attribute)
            and parent.value is call
            and parent.attr.value in _BUILDERS
        ):
            return True
        targets: list[cst.BaseExpression] = []
        if isinstance(parent, cst.Assign) and parent.value is call:
            targets = [t.target for t in parent.targets]
        elif isinstance(parent, cst.AnnAssign) and parent.value is call:
            targets = [parent.target]
        names_ = {self._text(t) for t in targets if isinstance(t, cst.Name | cst.Attribute)}
        func = self.enclosing_function(call)
        if not names_ or func is None:
            return False
        finder = _BuildFinder(self, names_)
        walk(func.body, finder)
        return finder.found

    def _text(self, node: cst.CSTNode) -> str:
        return "".join(self.state.module.code_for_node(node).split())

    def _wrapped_layer(self, call: cst.Call) -> cst.Call | None:
        """The Keras layer made in the wrapper's first argument (`layer=`), or None when it
        is not made there or is not a Keras layer. `call` may be the call of the new wrapper
        (`TimeDistributed(MaxPool2D())(x)`)."""
        if isinstance(call.func, cst.Call):
            call = call.func
        arg = next((a for a in call.args if a.keyword is None and not a.star), None)
        arg = arg or next((a for a in call.args if a.keyword and a.keyword.value == "layer"), None)
        if arg is None or not isinstance(arg.value, cst.Call):
            return None
        qns = self.qualnames(arg.value.func)
        if not any(_is_keras_layer(qn) for qn in qns):
            return None
        return arg.value

    def _reached_unconditionally(self, func: FuncNode, depth: int) -> bool:
        """Whether a traced function runs on every trace of its root: a root or callback
        does; a helper or nested def does when one of its calls does, outside any `if`
        (`if self.loss is None: self._make_loss()` is the singleton pattern too)."""
        ctx = self.context_of_function(func)
        if ctx is None or ctx.kind not in (ContextKind.HELPER, ContextKind.NESTED):
            return ctx is not None
        if depth > 5 or not isinstance(func, cst.FunctionDef):
            return True
        calls = self._calls_by_name().get(func.name.value, [])
        if not calls:
            return True
        for call in calls:
            caller = self.enclosing_function(call)
            if (
                caller is not None
                and self.context_of_function(caller) is not None
                and not self._conditional(call)
                and self._reached_unconditionally(caller, depth + 1)
            ):
                return True
        return False

    def _calls_by_name(self) -> dict[str, list[cst.Call]]:
        """Every call in the module, by the callee's last name (`f(...)`, `self.f(...)`)."""
        if self._calls is None:
            collector = _CallIndex()
            walk(self.state.module, collector)
            self._calls = collector.calls
        return self._calls

    def _inside_other_creation(self, node: cst.CSTNode) -> bool:
        """Whether `node` is an argument of another creation in the same statement
        (`Sequential([Dense(1)])`): that one is reported."""
        parent = self.get_metadata(ParentProvider, node, None)
        while isinstance(parent, cst.BaseExpression | cst.Arg | cst.BaseElement):
            if isinstance(parent, cst.Call) and self._creates_variables(parent) is not None:
                return True
            parent = self.get_metadata(ParentProvider, parent, None)
        return False

    def _conditional(self, node: cst.CSTNode) -> bool:
        """Whether `node` runs only under a condition inside its function (`if`, a
        conditional expression, `and`/`or`): the lazy singleton pattern."""
        child = node
        parent = self.get_metadata(ParentProvider, child, None)
        while parent is not None and not isinstance(parent, cst.FunctionDef | cst.Lambda):
            if isinstance(parent, cst.If) and child is not parent.test:
                return True
            if isinstance(parent, cst.IfExp) and child is not parent.test:
                return True
            if isinstance(parent, cst.BooleanOperation) and child is parent.right:
                return True
            child = parent
            parent = self.get_metadata(ParentProvider, child, None)
        return False


class _InputFinder(cst.CSTVisitor):
    def __init__(self, rule: VariableCreatedInTfFunction) -> None:
        self.rule = rule
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if any(
            qn.rsplit(".", 1)[-1] in ("Input", "InputLayer") and qn.startswith(_KERAS_ROOTS)
            for qn in self.rule.qualnames(node.func)
        ):
            self.found = True

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and node.keyword.value in _INPUT_KEYWORDS:
            self.found = True


class _BuildFinder(cst.CSTVisitor):
    """Whether a call calls or builds one of `names` (source texts: `dense`, `self.head`)."""

    def __init__(self, rule: VariableCreatedInTfFunction, names_: set[str]) -> None:
        self.rule = rule
        self.names = names_
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.rule._text(func) in self.names or (
            isinstance(func, cst.Attribute)
            and func.attr.value in _BUILDERS
            and self.rule._text(func.value) in self.names
        ):
            self.found = True


class _CallIndex(cst.CSTVisitor):
    def __init__(self) -> None:
        self.calls: dict[str, list[cst.Call]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.value if isinstance(func, cst.Name) else None
        if isinstance(func, cst.Attribute):
            name = func.attr.value
        if name is not None:
            self.calls.setdefault(name, []).append(node)


def _is_keras_layer(qualname: str) -> bool:
    """Whether `qualname` is a class of a Keras `layers` package."""
    root = next((r for r in _KERAS_ROOTS if qualname.startswith(r)), None)
    if root is None:
        return False
    parts = qualname[len(root) :].split(".")
    return len(parts) == 2 and parts[0] == "layers" and parts[1][:1].isupper()


def _keras_stateful(qualname: str) -> str | None:
    """ "layer", "model", "optimizer" or "metric" when `qualname` is a Keras class that owns
    variables, else None."""
    for tf_root, prefix in _TF_KERAS_ALIASES:
        if qualname.startswith(prefix):  # `tensorflow.optimizers.Adam` -> `keras.optimizers.Adam`
            qualname = "keras." + qualname[len(tf_root) :]
            break
    root = next((r for r in _KERAS_ROOTS if qualname.startswith(r)), None)
    if root is None:
        return None
    parts = qualname[len(root) :].split(".")
    cls = parts[-1]
    if not cls[:1].isupper():
        return None
    if len(parts) == 1 or parts == ["models", cls]:
        return "model" if cls in _KERAS_MODELS else None
    if len(parts) != 2 or parts[0] not in _KERAS_STATEFUL_PACKAGES:
        return None
    package = parts[0]
    if package == "layers":
        if cls in _STATELESS_LAYERS or cls.startswith(_STATELESS_LAYER_PREFIXES):
            return None
        if cls in _KERAS3_SEEDED_LAYERS and root == "tf_keras.":
            return None
        return "layer"
    if package == "models":
        return None
    return package[:-1]
