"""What the embedded examples cannot show: paths, severities and message contents of the
retracing (TFG2xx), variable (TFG3xx) and eager-only (TFG4xx) rules."""

from __future__ import annotations

import textwrap

import pytest

from tfgraphlint._types import Finding, Severity
from tfgraphlint.config import Config
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.rules import ALL_RULES


def _findings(code: str, source: str, path: str = "train.py") -> list[Finding]:
    rules = [rule for rule in ALL_RULES if code == rule.CODE]
    result = lint_source(textwrap.dedent(source), path, Config(), rules=rules)
    assert result.errors == []
    return result.findings


_EAGER_SWITCH = """
    import tensorflow as tf

    @tf.function
    def step(x):
        return x

    tf.config.run_functions_eagerly(True)
"""


@pytest.mark.parametrize(
    "path", ["tests/test_train.py", "pkg/train_test.py", "conftest.py", "pkg/testing/util.py"]
)
def test_run_functions_eagerly_allowed_in_tests(path: str) -> None:
    assert _findings("TFG403", _EAGER_SWITCH, path) == []


def test_run_functions_eagerly_reported_in_library_code() -> None:
    [finding] = _findings("TFG403", _EAGER_SWITCH, "pkg/training/loop.py")
    assert finding.line == 8 and finding.severity is Severity.WARNING


def test_numpy_on_unknown_receiver_is_a_conditional_warning() -> None:
    findings = _findings(
        "TFG401",
        """
        import tensorflow as tf

        @tf.function
        def step(x):
            y = tf.square(x)
            return x.numpy(), y.numpy()
        """,
    )
    by_col = {f.column: f for f in findings}
    unknown, tensor = (by_col[c] for c in sorted(by_col))
    assert unknown.severity is Severity.WARNING and unknown.message.startswith("if `x` is")
    assert tensor.severity is Severity.ERROR and "SymbolicTensor" in tensor.message


def test_scalar_argument_names_parameter_and_loop_variable() -> None:
    [finding] = _findings(
        "TFG202",
        """
        import tensorflow as tf

        @tf.function
        def train_step(x, y, step):
            return x

        for epoch in range(num_epochs):
            for x, y in dataset:
                train_step(x, y, step=epoch * 100)
        """,
    )
    assert "as `step`" in finding.message  # passed by keyword: the keyword names it
    assert "`epoch * 100`" in finding.message and "`epoch`" in finding.message
    assert "tf.function `train_step`" in finding.message and "line 8" in finding.message


def test_nested_creations_are_reported_once() -> None:
    findings = _findings(
        "TFG301",
        """
        import tensorflow as tf

        @tf.function
        def f(x):
            model = tf.keras.Sequential([tf.keras.layers.Dense(4), tf.keras.layers.Dense(1)])
            return model(x)
        """,
    )
    assert [(f.line, "Sequential" in f.message) for f in findings] == [(6, True)]


@pytest.mark.parametrize(
    ("module", "reported"),
    [("keras", True), ("tensorflow.keras", True), ("tf_keras", False)],
)
def test_dropout_owns_a_variable_on_keras_3_only(module: str, reported: bool) -> None:
    findings = _findings(
        "TFG301",
        f"""
        import tensorflow as tf
        from {module} import layers

        @tf.function
        def f(x):
            return layers.Dropout(0.5)(x, training=True)
        """,
    )
    assert bool(findings) is reported


_LOOP_CALLERS = """
    import tensorflow as tf

    @tf.function
    def train(x, steps):
        for _ in range(steps):
            x = x * 2
        return x

    def main(x, n):
        {first}
        {second}
"""


@pytest.mark.parametrize(
    ("first", "second", "reported"),
    [
        ("train(x, tf.constant(n))", "train(x, steps=tf.constant(3))", False),
        ("train(x, tf.constant(n))", "train(x, 3)", True),  # one caller passes an int
        ("train(x, tf.constant(n))", "train(x, n)", True),  # `n`: unknown, maybe an int
        ("pass", "pass", True),  # no caller in the module: nothing says tensor
        ("steps = tf.constant(n)", "train(x, steps)", False),  # bound only to a tensor
    ],
)
def test_loop_bound_silent_only_when_every_caller_passes_a_tensor(
    first: str, second: str, reported: bool
) -> None:
    source = _LOOP_CALLERS.format(first=first, second=second)
    assert [f.code for f in _findings("TFG201", source)] == (["TFG201"] if reported else [])


@pytest.mark.parametrize(
    ("call", "reported"),
    [
        ("train(tf.ones([2]), tf.constant(5))", False),  # a notebook's top-level call
        ("train(tf.ones([2]), 5)", True),
        ("steps = tf.constant(5)\ntrain(tf.ones([2]), steps)", True),  # a module-level name
    ],
)
def test_loop_bound_passed_a_tensor_at_module_level(call: str, reported: bool) -> None:
    source = _LOOP_CALLERS.format(first="pass", second="pass") + textwrap.indent(call, "    ")
    assert [f.code for f in _findings("TFG201", source)] == (["TFG201"] if reported else [])


_LAYER_APPLIED = """
    import keras
    import tensorflow as tf

    BATCH = 16

    class Cell(keras.layers.Layer):
        def call(self, inputs):
            return inputs + tf.zeros([inputs.shape[0], 5])

    {application}
"""


@pytest.mark.parametrize(
    ("application", "reported"),
    [
        ("out = Cell()(keras.Input(batch_shape=(16, 5)))", False),
        ("x = keras.Input(batch_shape=(BATCH, 5))\n    out = Cell()(x)", False),
        (
            "x = keras.Input(batch_shape=(BATCH, 5))\n    y = keras.layers.Dense(5)(x)\n"
            "    out = Cell()(y)",
            False,
        ),  # a layer keeps its input's batch size
        ("cell = Cell()\n    out = cell(tf.zeros((1, 5)))", False),  # a concrete value
        ("x = keras.Input(shape=(5,))\n    out = Cell()(x)", True),  # a `None` batch
        (
            "x = keras.Input(batch_shape=(16, 5))\n    a = Cell()(x)\n"
            "    b = Cell()(keras.Input(shape=(5,)))",
            True,
        ),  # one application is free
        (
            "x = keras.Input(batch_shape=(16, 5))\n    x = keras.Input(shape=(5,))\n"
            "    out = Cell()(x)",
            True,
        ),  # the binding written last is read
        ("pass", True),  # applied nowhere here, and no input fixes a batch size
        # Made or applied in a function: not counted (the slicer may blank that code).
        ("def build():\n        return Cell()(keras.Input(batch_shape=(16, 5)))", True),
    ],
)
def test_static_batch_known_from_the_inputs_a_layer_is_applied_to(
    application: str, reported: bool
) -> None:
    source = _LAYER_APPLIED.format(application=application)
    rules = [rule for rule in ALL_RULES if rule.CODE == "TFG404"]
    result = lint_source(textwrap.dedent(source), "m.py", Config(keras_call=True), rules=rules)
    assert result.errors == []
    assert [f.code for f in result.findings] == (["TFG404"] if reported else [])
