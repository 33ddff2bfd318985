"""Discovery of the Keras contexts `fit` traces: losses and metrics, and `Layer.call`."""

from __future__ import annotations

import textwrap

import pytest
from test_discovery import ctx, discover

from tfgraphlint.config import Config
from tfgraphlint.discovery import CompiledContext, ContextKind
from tfgraphlint.engine.runner import lint_source

_COMPILED = """
import functools
import re
import keras
import tensorflow as tf

def loss_a(y, p):
    return p

def metric_b(y, p):
    return p

def metric_c(y, p):
    return p

def weighted_d(y, p):
    return p

def scaled(y, p, scale):
    return p * scale

def not_a_loss(text):
    return text

pattern = re.compile(not_a_loss)
model = keras.Sequential([keras.layers.Dense(1)])
model.compile("sgd", loss_a, None, [metric_b])
model.compile(
    optimizer="sgd",
    loss={"out": functools.partial(scaled, scale=2.0)},
    metrics={"out": [metric_c, "mae"]},
    weighted_metrics=[weighted_d, lambda y, p: p],
)
"""


def test_functions_passed_to_compile() -> None:
    found = discover(_COMPILED)
    assert ctx(found, "loss_a").kind is ContextKind.KERAS_LOSS
    assert ctx(found, "scaled").kind is ContextKind.KERAS_LOSS
    for name in ("metric_b", "metric_c", "weighted_d", "<lambda>"):
        assert ctx(found, name).kind is ContextKind.KERAS_METRIC, name
    assert not any(ctx(found, n).converted for n in ("loss_a", "metric_b", "<lambda>"))
    assert ctx(found, "loss_a").unconverted_reason == "Keras 3 traces it without AutoGraph"
    assert "not_a_loss" not in found


@pytest.mark.parametrize(
    "exit_",
    [
        'model.compile("sgd", loss_a, run_eagerly=True)',
        'model.compile("sgd", loss_a)\nmodel.run_eagerly = True',
    ],
)
def test_a_model_that_runs_eagerly_leaves_losses_alone(exit_: str) -> None:
    found = discover(
        f"import keras\ndef loss_a(y, p):\n    return p\nmodel = keras.Sequential()\n{exit_}\n"
    )
    assert "loss_a" not in found


_CLASSES = """
import keras
import tensorflow as tf
import tf_keras

class L3(keras.losses.Loss):
    def call(self, y, p):
        return p
    def get_config(self):
        return {}

class M3(tf.keras.metrics.Metric):
    def update_state(self, y, p, sample_weight=None):
        pass
    def result(self):
        return 0.0
    def reset_state(self):
        pass

class M2(tf_keras.metrics.Mean):
    def update_state(self, y, p, sample_weight=None):
        pass

class Block(keras.layers.Layer):
    def call(self, x):
        return helper(x)

def helper(x):
    return x
"""


def test_loss_and_metric_subclasses() -> None:
    found = discover(_CLASSES)
    assert ctx(found, "L3.call").kind is ContextKind.KERAS_LOSS
    assert ctx(found, "M3.update_state").kind is ContextKind.KERAS_METRIC
    assert ctx(found, "M3.result").kind is ContextKind.KERAS_METRIC
    assert "L3.get_config" not in found and "M3.reset_state" not in found
    assert not ctx(found, "L3.call").converted
    assert ctx(found, "M2.update_state").converted  # Keras 2 converts it


def test_layer_call_default_true_and_false() -> None:
    by_default = discover(_CLASSES)
    assert ctx(by_default, "Block.call").breaking_only
    assert ctx(by_default, "helper").breaking_only  # a helper inherits it
    full = discover(_CLASSES, keras_call=True)
    assert not ctx(full, "Block.call").breaking_only
    assert "Block.call" not in discover(_CLASSES, keras_call=False)


_LAYER = """
import keras
import tensorflow as tf

class Block(keras.layers.Layer):
    def call(self, x, training=False):
        print("tracing", x)
        self.seen = x
        if training:
            x = x * 2
        if tf.reduce_sum(x) > 0:
            x = x * 3
        return x
"""


@pytest.mark.parametrize(
    ("keras_call", "codes"),
    [(None, ["TFG510"]), (True, ["TFG101", "TFG102", "TFG510"]), (False, [])],
)
def test_layer_call_reports_only_what_breaks_by_default(
    keras_call: bool | None, codes: list[str]
) -> None:
    config = Config(keras_call=keras_call)
    found = lint_source(_LAYER, "layer.py", config).findings
    assert sorted({f.code for f in found}) == codes
    if keras_call is None:
        assert "Keras 3 `call`" in found[0].message


def test_the_keras_kinds_describe_themselves() -> None:
    found = discover(_COMPILED)
    loss = ctx(found, "loss_a")
    assert isinstance(loss, CompiledContext)
    assert "a Keras loss, traced by `Model.fit`" in loss.describe()
    assert "a Keras metric" in ctx(found, "metric_b").describe()


def test_slicing_keeps_the_run_eagerly_exit_of_losses() -> None:
    source = """
import keras
import tensorflow as tf

def clipped(y, p):
    if tf.reduce_sum(p) > 0:
        return p
    return -p

def build():
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile("sgd", loss=clipped)
    return model

def debug(model):
    model.run_eagerly = True
"""
    sliced = lint_source(source, "e.py").findings
    assert sliced == lint_source(source, "e.py", prefilter=False).findings == []


def test_a_call_converted_with_to_graph_is_converted() -> None:
    source = """
        import tensorflow as tf

        class Net(tf.keras.Sequential):
            def call(self, inputs):
                if tf.reduce_sum(inputs) > 0:
                    return inputs
                return -inputs

        Net.call = tf.autograph.to_graph(Net.call)
        """
    assert ctx(discover(source), "Net.call").converted
    assert lint_source(textwrap.dedent(source), "net.py").findings == []


def test_tf_function_calls_are_checked_beside_default_keras_calls() -> None:
    """A module whose only contexts are Keras `call`s found by default runs the breakage rules
    only, unless it calls `tf.function`: the rules that read its arguments (TFG204 here) run."""
    source = textwrap.dedent(
        """
        import keras
        import tensorflow as tf

        class Block(keras.layers.Layer):
            def call(self, x):
                print("traced")  # not reported: only code that breaks unconverted is
                return x.numpy()

        model = keras.Sequential([Block()])
        fast = tf.function(model, experimental_relax_shapes=True)
        """
    )
    found = lint_source(source, "m.py", Config(select=("ALL",)))
    assert not found.errors
    assert sorted(f.code for f in found.findings) == ["TFG204", "TFG401"]
    without_call = source.replace("tf.function(model, experimental_relax_shapes=True)", "model")
    found = lint_source(without_call, "m.py", Config(select=("ALL",)))
    # Nothing in the module traces a model: `.numpy()` in `call` (which fails traced on every
    # TF 2) is taken for a model the project calls eagerly. `fit` is evidence again.
    assert found.findings == []
    fitted = without_call + "model.fit(x, y)\n"
    found = lint_source(fitted, "m.py", Config(select=("ALL",)))
    assert [f.code for f in found.findings] == ["TFG401"]


def test_methods_the_class_replaces_on_its_instances_are_not_keras_contexts() -> None:
    """keras-cv's `BoxCOCOMetrics.__new__` replaces `update_state` and `result` on the new
    instance with wrappers that run them in a `tf.py_function`: Keras calls the wrappers, so
    the methods run eagerly (5 false TFG102 findings on the corpus). A `call` wrapped with
    `tf.function` in `__init__` is still traced, as a tf.function."""
    found = discover(
        """
        import types
        import keras
        import tensorflow as tf

        class Coco(keras.metrics.Metric):
            def __new__(cls, *args, **kwargs):
                obj = super(keras.metrics.Metric, cls).__new__(cls)
                real_update = obj.update_state

                def update_state_fn(self, y_true, y_pred, sample_weight=None):
                    return tf.py_function(func=real_update, inp=[y_true, y_pred], Tout=[])

                obj.update_state = types.MethodType(update_state_fn, obj)
                return obj

            def update_state(self, y_true, y_pred, sample_weight=None):
                self.count += 1

            def result(self):
                return self.total

        class Fast(keras.layers.Layer):
            def __init__(self):
                super().__init__()
                self.call = tf.function(self.call)

            def call(self, x):
                return x
        """
    )
    assert "Coco.update_state" not in found
    assert ctx(found, "Coco.result").kind is ContextKind.KERAS_METRIC
    assert ctx(found, "Fast.call").kind is ContextKind.WRAPPED


_TF1_LAYER = """
{imports}

def legacy_setup():
    {marker}

class Scale(tf.keras.layers.Layer):
    def call(self, x):
        return x / float(tf.reduce_max(x).numpy())

model = tf.keras.Sequential([tf.keras.Input((2,)), Scale()])
"""


@pytest.mark.parametrize(
    ("imports", "marker"),
    [
        ("import tensorflow as tf", "tf.compat.v1.enable_eager_execution()"),
        ("import tensorflow as tf", "cell = tf.nn.rnn_cell.LSTMCell(4)"),
        ("import tensorflow.compat.v1 as tf", "x = tf.placeholder(tf.float32)"),
        ("from tensorflow.compat import v1 as tf", "tf.get_variable('w', [1])"),
        ("import tensorflow as tf", "tf.logging.info('start')"),
        ("import tensorflow as tf\nimport tensorflow.contrib.slim as slim", "pass"),
        ("import tensorflow as tf\nimport tensorflow", "tensorflow.Session()"),
    ],
)
@pytest.mark.parametrize("prefilter", [True, False])
def test_keras_call_is_not_found_by_default_in_tensorflow_1_code(
    imports: str, marker: str, prefilter: bool
) -> None:
    """A module that uses API TF 2 removed from `tf` (or, through `tf.compat.v1`, API that
    builds a TF 1 program) is TF 1 code: its Keras `call`s are not contexts by default,
    whatever the slicer blanks (the marker sits in a function no compiled code reaches);
    `keras-call = true` still checks them."""
    source = _TF1_LAYER.format(imports=imports, marker=marker)
    found = lint_source(source, "m.py", Config(), prefilter=prefilter).findings
    assert found == []
    every = lint_source(source, "m.py", Config(keras_call=True), prefilter=prefilter).findings
    assert [f.code for f in every] == ["TFG401"]


@pytest.mark.parametrize(
    "marker",
    [
        "tf.keras.layers.Dense(1)",  # `layers` under `keras`: TF 2
        "tf.compat.v1.nn.rnn_cell",  # removed from `tf`, not from `tf.compat.v1`... as text only
        "np.logging = None",  # not TensorFlow
        "tf.get_logger().info('start')",
        # TF 2 code keeps these: `tf.compat.v1` logging, a session for GPU memory growth
        "tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO)",
        "tf.compat.v1.Session(config=tf.compat.v1.ConfigProto())",
    ],
)
def test_tensorflow_2_code_keeps_its_keras_call(marker: str) -> None:
    source = _TF1_LAYER.format(imports="import numpy as np\nimport tensorflow as tf", marker=marker)
    found = lint_source(source, "m.py", Config()).findings
    if "rnn_cell" in marker:
        assert found == []  # `tf.compat.v1.nn.rnn_cell` is TF 1's API through compat.v1
    else:
        assert [f.code for f in found] == ["TFG401"], marker


def test_tensorflow_1_api_through_a_reexported_tf() -> None:
    """`from mypkg import tf`, where `mypkg` re-exports TensorFlow (`discovery.reexports`
    gives `mypkg.tf -> tensorflow`): `tf.Session()` is TF 1 API through the local name."""
    import ast

    from tfgraphlint.discovery.legacy import uses_tf1_api

    source = "from mypkg import tf\n\ndef setup():\n    return tf.Session()\n"
    tree = ast.parse(source)
    assert uses_tf1_api(source, tree, {"mypkg.tf": "tensorflow"})
    assert not uses_tf1_api(source, tree, {})  # `tf` is not known to be TensorFlow
    assert not uses_tf1_api(source, tree, {"mypkg.tf": "keras"})


def test_a_keras_call_a_tf_function_runs_is_checked_with_every_rule() -> None:
    """A Keras `call` found by default is checked only for what breaks there, unless a
    compiled body of the module runs it (`net(x)` in a tf.function, `net = Net()`): it is then
    traced, and every rule applies to it and to what it calls."""
    source = textwrap.dedent(
        """
        import keras
        import tensorflow as tf

        class Net(keras.Model):
            def call(self, x):
                print("traced")  # reported: `step` traces it
                return helper(x)

        def helper(x):
            print("helper")  # reported: `Net.call` calls it
            return x

        class Other(keras.layers.Layer):
            def call(self, x):
                print("not reported: only called eagerly here")
                return x

        net = Net()
        other = Other()

        @tf.function
        def step(x):
            return net(x)

        other(1.0)
        """
    )
    found = discover(source)
    called = ctx(found, "Net.call")
    assert called.kind is ContextKind.KERAS_CALL and not called.breaking_only
    assert called.describe() == (
        "`Net.call` (a Keras `call`, traced where `step` calls `net(...)` at line 24)"
    )
    assert not ctx(found, "helper").breaking_only
    # Made at the top level and only called by eager code: a script's model, not traced.
    assert "Other.call" not in found
    config = Config(select=("ALL",))
    findings = lint_source(source, "m.py", config).findings
    assert [(f.line, f.code) for f in findings] == [(7, "TFG101"), (11, "TFG101")]
    full = lint_source(source, "m.py", config, prefilter=False).findings
    assert [(f.line, f.code) for f in full] == [(7, "TFG101"), (11, "TFG101")]


def test_a_keras_call_its_own_train_step_runs_is_checked_with_every_rule() -> None:
    """`self(x)` in a `train_step` that `fit` traces runs the model's `call`: traced too."""
    found = discover(
        """
        import keras
        import tensorflow as tf

        class Net(keras.Model):
            def call(self, x):
                print("traced")
                return x

            def train_step(self, data):
                return self(data, training=True)

        class Other(keras.Model):
            def call(self, x):
                return x
        """
    )
    called = ctx(found, "Net.call")
    assert not called.breaking_only and called.caller_qualname == "Net.train_step"
    assert "traced where `Net.train_step` calls `self(...)` at line 11" in called.describe()
    assert ctx(found, "Other.call").breaking_only


_ON_SELF = """
import keras
import tensorflow as tf

class Block(keras.layers.Layer):
    def call(self, x):
        return x

class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.block = Block()

    def call(self, x):
        return self.block(x)

class Unused(keras.layers.Layer):
    def call(self, x):
        return x

class Trainer:
    def __init__(self, other):
        self.net = Net()
        self.other = other

    @tf.function
    def step(self, x):
        return self.net(x) + self.other(x)
"""


def test_a_keras_call_run_through_an_attribute_of_self_is_checked_with_every_rule() -> None:
    """`self.net = Net()` in `__init__`, `self.net(x)` in a tf.function method: `Net.call`
    is traced, and so is the `call` of the sublayer it runs (`self.block(x)`)."""
    found = discover(_ON_SELF)
    net = ctx(found, "Net.call")
    assert not net.breaking_only and net.caller_qualname == "Trainer.step"
    assert "traced where `Trainer.step` calls `self.net(...)` at line 28" in net.describe()
    block = ctx(found, "Block.call")
    assert not block.breaking_only and block.caller_qualname == "Net.call"
    assert ctx(found, "Unused.call").breaking_only


@pytest.mark.parametrize(
    "change",
    [
        "trainer = Trainer(None)\ntrainer.net = object()\n",  # assigned from outside
        "class Other(Trainer):\n    def reset(self):\n        self.net, self.x = 1, 2\n",
        "def rebind(trainer):\n    trainer.net += 1\n",
    ],
)
def test_an_attribute_assigned_elsewhere_is_not_known_to_hold_the_model(change: str) -> None:
    found = discover(_ON_SELF + change)
    assert ctx(found, "Net.call").breaking_only
    assert ctx(found, "Block.call").breaking_only


def test_an_attribute_bound_to_a_parameter_is_not_known_to_hold_a_model() -> None:
    found = discover(_ON_SELF.replace("self.net = Net()", "self.net = other"))
    assert ctx(found, "Net.call").breaking_only


_SCRIPT = """
import tensorflow as tf

class Net(tf.keras.Model):
    def call(self, x):
        return x

{use}
"""


def test_a_model_a_script_only_calls_eagerly_is_no_context() -> None:
    """Made at the top level and only called (or asked for its weights) by eager code:
    `call` runs as Python, not traced."""
    use = "net = Net()\nprint(net(tf.ones((1, 2))))\nnet.summary()\n\ndef again():\n    net(1)\n"
    assert "Net.call" not in discover(_SCRIPT.format(use=use))
    assert "Net.call" not in discover(_SCRIPT.format(use="out = Net()(tf.ones((1, 2)))\n"))


@pytest.mark.parametrize(
    "use",
    [
        # a model file trying out what another module fits
        "if __name__ == '__main__':\n    net = Net()\n    net(tf.ones((1, 2)))\n",
        # only made inside functions: no sign that this module is the one using it
        "def main():\n    net = Net()\n    net(tf.ones((1, 2)))\n",
        "net = Net()\nnet(1)\n\ndef train(ds):\n    net.fit(ds)\n",
        "net = Net()\nnet.compile(loss='mse')\n",
        "net = Net()\nmodels = [net]\n",
        "net = Net()\nstep = tf.function(lambda x: net(x))\n",
        "net = Net()\n\n@tf.function\ndef step(x):\n    return net(x)\n",
        "net = Net()\nnet = Net()\nnet(1)\n",
        "net = Net()\nnet(1)\ninputs = tf.keras.Input((2,))\n",
        "net = Net()\nnet(1)\n\nclass Wider(Net):\n    pass\n",
        "net = Net()\nnet(1)\nkeep(Net)\n",
    ],
)
def test_a_model_used_any_other_way_stays_a_keras_context(use: str) -> None:
    assert ctx(discover(_SCRIPT.format(use=use)), "Net.call").kind is ContextKind.KERAS_CALL


def test_slicing_keeps_every_use_of_a_scripted_model() -> None:
    # The `fit` in a function that names the model's instance must reach discovery.
    source = textwrap.dedent(
        """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def call(self, x):
                if tf.reduce_sum(x) > 0:
                    return x
                return -x

        net = Net()
        net(tf.ones((1, 2)))

        def train(ds):
            net.fit(ds)
        """
    )
    config = Config(select=("ALL",))
    sliced = [(f.line, f.code) for f in lint_source(source, "m.py", config).findings]
    full = lint_source(source, "m.py", config, prefilter=False).findings
    assert sliced == [(f.line, f.code) for f in full] == [(6, "TFG510")]


@pytest.mark.parametrize(
    "elsewhere",
    [
        "class Trainer:\n    def run(self, ds):\n        net.fit(ds)\n",
        "class Trainer:\n    model = net\n",
    ],
)
@pytest.mark.parametrize("made", ["net = Net()", "for _ in range(1):\n    net = Net()"])
def test_slicing_keeps_uses_of_a_scripted_model_anywhere(made: str, elsewhere: str) -> None:
    source = (
        textwrap.dedent(
            """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def call(self, x):
                if tf.reduce_sum(x) > 0:
                    return x
                return -x

        """
        )
        + f"{made}\nnet(tf.ones((1, 2)))\n\n{elsewhere}"
    )
    config = Config(select=("ALL",))
    sliced = [(f.line, f.code) for f in lint_source(source, "m.py", config).findings]
    full = lint_source(source, "m.py", config, prefilter=False).findings
    assert sliced == [(f.line, f.code) for f in full] == [(6, "TFG510")]


# ---------------------------------------------------------------- Keras classes by descent
_DESCENT = """
import keras
import tensorflow as tf
from tensorflow.keras import layers

class Block(keras.layers.Layer):
    pass

class Middle(Block):
    def get_config(self):
        return {}

class Gate(Middle):  # a layer two classes down
    def call(self, x):
        return x

class Norm(layers.BatchNormalization):  # Keras's own layer
    def call(self, x, training=None):
        return x

class Spec(layers.InputSpec):  # not a layer
    def call(self, x):
        return x

class Deep(keras.layers.experimental.SyncBatchNormalization):  # not directly under layers
    def call(self, x):
        return x

class Top(tf.keras.Layer):  # `tf.keras.Layer` is `keras.Layer` (TF 2.16 and later)
    def call(self, x):
        return x

class Direct(keras.layers.Layer):  # its own `__call__`: Keras's does not run `call`
    def __call__(self, *args):
        return self.call(*args)

    def call(self, x):
        return x

class Below(Direct):
    def call(self, x):
        return x

class Hooked(keras.layers.Layer):  # a `__call__` that runs Keras's own: traced
    def __call__(self, *args, **kwargs):
        outputs = super().__call__(*args, **kwargs)
        return outputs

    def call(self, x):
        return x

class Plain:
    def call(self, x):
        return x

class Sub(Plain):  # a plain Python class
    def call(self, x):
        return x

class Loop(Loop2):  # undefined base: nothing known
    def call(self, x):
        return x

class BaseLoss(tf.keras.losses.Loss):
    pass

class Focal(BaseLoss):  # a Keras loss through the module's own base
    def call(self, y_true, y_pred):
        return y_pred
"""


def test_keras_classes_by_descent() -> None:
    found = discover(_DESCENT)
    assert ctx(found, "Gate.call").kind is ContextKind.KERAS_CALL
    assert ctx(found, "Norm.call").kind is ContextKind.KERAS_CALL
    assert ctx(found, "Top.call").kind is ContextKind.KERAS_CALL
    assert ctx(found, "Hooked.call").kind is ContextKind.KERAS_CALL
    assert ctx(found, "Focal.call").kind is ContextKind.KERAS_LOSS
    for name in (
        "Spec.call",
        "Deep.call",
        "Plain.call",
        "Sub.call",
        "Loop.call",
        "Direct.call",
        "Below.call",
    ):
        assert not isinstance(found.get(name), CompiledContext), name


def test_a_cycle_of_bases_ends() -> None:
    found = discover(
        """
        import keras

        class A(B):
            def call(self, x):
                return x

        class B(A):
            def call(self, x):
                return x
        """
    )
    assert not isinstance(found.get("A.call"), CompiledContext)


@pytest.mark.parametrize(
    "base_header, base",
    [
        ("class Block(keras.layers.Layer):\n    pass", "Block"),
        (
            "class Block(keras.layers.Layer):\n    pass\n\n\nclass Middle(Block):\n    pass",
            "Middle",
        ),
        ("", "keras.layers.Dense"),
        ("", "keras.layers.LSTMCell"),
        # a base whose `__call__` runs `call` itself: nothing to find, with or without slicing
        (
            "class Block(keras.layers.Layer):\n"
            "    def __call__(self, *args):\n"
            "        return self.call(*args)",
            "Block",
        ),
    ],
)
def test_layers_by_descent_are_checked_with_the_screen_and_slicer(
    base_header: str, base: str
) -> None:
    source = (
        "import keras\nimport tensorflow as tf\n\n\n"
        + base_header
        + f"\n\n\ndef helper(t):\n    return t\n\n\nclass Gate({base}):\n"
        + "    def call(self, x):\n"
        + "        if tf.reduce_sum(x) > 0:\n"
        + "            x = x * 2.0\n"
        + "        return x\n"
    )
    with_prefilter = lint_source(source, "layers.py", Config())
    without = lint_source(source, "layers.py", Config(), prefilter=False)
    assert [(f.code, f.line) for f in with_prefilter.findings] == [
        (f.code, f.line) for f in without.findings
    ]
    expected = [] if "__call__" in base_header else ["TFG510"]
    assert [f.code for f in with_prefilter.findings] == expected


@pytest.mark.slow
def test_a_long_chain_of_bases_is_analysed_without_recursion() -> None:
    """1,100 classes, each deriving from the one above (deeper than Python's default
    recursion limit): the screen, the slicer and discovery walk bases without recursing."""
    classes = ["class C0(keras.layers.Layer):\n    pass"] + [
        f"class C{i}(C{i - 1}):\n    def call(self, x):\n        if x > 0:\n"
        "            return -x\n        return x"
        for i in range(1, 1100)
    ]
    source = "import keras\n\n\n" + "\n\n\n".join(classes) + "\n"
    result = lint_source(source, "chain.py", Config())
    assert not result.errors, result.errors
    assert len(result.findings) == 1099
    assert {f.code for f in result.findings} == {"TFG510"}
