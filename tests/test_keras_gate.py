"""The Keras gate (`engine.keras_gate`): a module whose only compiled code is Keras `call`s found
by default is dropped before libCST parses it only when nothing in what they run can be
reported; with the gate off (and without the prefilter) such a module has no finding."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tfgraphlint.config import Config
from tfgraphlint.engine import slicing
from tfgraphlint.engine.examples import example_config, iter_examples
from tfgraphlint.engine.runner import analyse, lint_source
from tfgraphlint.engine.slicing import slice_module
from tfgraphlint.rules import ALL_RULES

ALL = Config(select=("ALL",))


def _sliced_text(*args: Any, **kwargs: Any) -> str | None:
    """The slicer's text (`slicing.slice_module`), None when it drops the file."""
    sliced = slice_module(*args, **kwargs)
    return None if sliced is None else sliced.text


HEADER = """\
from typing import Optional

import tensorflow as tf
from tensorflow import keras


class Block(keras.layers.Layer):
    def __init__(self, units, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.use_bias = use_bias
        self.dense = keras.layers.Dense(units)
        self.blocks = [keras.layers.Dense(units) for _ in range(3)]

"""


def _module(call: str) -> str:
    """The layer with `call` as its methods; what follows a `# module:` line goes after the
    class, at the top level."""
    methods, _, after = call.partition("# module:\n")
    module = HEADER + textwrap.indent(textwrap.dedent(methods), "    ")
    return module + ("\n\n" + textwrap.dedent(after) if after else "")


def _findings(source: str, config: Config = ALL, **kwargs: bool) -> list[tuple[int, str]]:
    result = lint_source(source, "m.py", config, **kwargs)
    assert not result.errors, result.errors
    return sorted((f.line, f.code) for f in result.findings)


PYTHON_ONLY = [
    # flags, `is None`, attributes, builtins, loops over layers and ranges of attributes
    """
    def call(self, inputs, training=None, mask=None):
        x = self.dense(inputs)
        if training:
            x = tf.nn.dropout(x, 0.1)
        if mask is not None and self.use_bias:
            x = x * tf.cast(mask, x.dtype)
        for block in self.blocks:
            x = block(x)
        for i in range(self.units):
            x = x + i
        return x
    """,
    # a static shape, `len` of a shape, an `isinstance` check, a string compare
    """
    def call(self, inputs):
        if inputs.shape[-1] == self.units or len(inputs.shape) > 3:
            return inputs
        if isinstance(inputs, (list, tuple)):
            inputs = tf.concat(inputs, axis=-1)
        mode = self.mode if hasattr(self, "mode") else "sum"
        if mode == "sum":
            return tf.reduce_sum(inputs, axis=-1)
        return inputs
    """,
    # `inputs` used as a list (unpacked, iterated): not presumed a tensor
    """
    def call(self, inputs):
        x, y = inputs
        parts = [tf.identity(t) for t in inputs]
        for i, part in enumerate(parts):
            x = x + part * i
        return x + y
    """,
    # a helper of the module the `call` runs, with Python control flow only
    """
    def call(self, inputs, training=False):
        return _scale(self.dense(inputs), self.units, training)
    # module:
    def _scale(x, factor, training):
        if training and factor > 1:
            return x * factor
        return x
    """,
    # a parameter annotated with a Python type, or with any type but a tensor's, is never
    # presumed a tensor; nor is a first argument with a default
    """
    def call(self, inputs, training: bool = None, scale: Optional[tf.Tensor] = None):
        if training:
            inputs = tf.nn.dropout(inputs, 0.1)
        if scale:
            inputs = inputs * 2.0
        return inputs

    def _masked(self, x, mask: tf.Tensor | None = None):
        if mask:
            return x * 2.0
        return x

    def _head(self, x: "list[int]", y_pred: int):
        if x or y_pred:
            return 1
        return 0
    """,
    # a helper's parameters are not presumed tensors (only a Keras `call`'s first one is),
    # whatever the `call` passes
    """
    def call(self, inputs):
        return self._gate(tf.reduce_max(inputs), inputs)

    def _gate(self, peak, x):
        if peak > 1.0:
            return x / peak
        return x
    """,
    # `*args` and `**kwargs` are parameters like the others: never presumed tensors
    """
    def call(self, x, *args, **kwargs):
        training = kwargs["training"]
        y = self.dense(x, *args, **kwargs)
        if training and args[0]:
            y = tf.nn.dropout(y, 0.1)
        return x + y
    """,
    # the results of other packages' functions (NumPy, `math`, a library's own) are no
    # tensors for the inference
    """
    def call(self, inputs):
        scale = tf.constant(int(math.sqrt(self.units)))
        if np.sqrt(self.units) > 2 and helpers.enabled(self.units):
            return inputs * scale
        return inputs
    # module:
    import math

    import numpy as np
    from mylib import helpers
    """,
    """
    def call(self, inputs=None):
        if inputs > 0:
            return self.dense(inputs)
        return None
    """,
]


@pytest.mark.parametrize("call", PYTHON_ONLY)
def test_gate_drops_layers_whose_calls_can_report_nothing(call: str) -> None:
    source = _module(call)
    assert _sliced_text(source, ALL) is None
    assert _sliced_text(source, ALL, keras_gate=False) is not None  # the gate dropped it
    assert _findings(source, prefilter=False) == []  # and nothing was there to find


SITES = [
    # a tensor `if` (the first argument of `call` is presumed a tensor)
    (
        """
        def call(self, inputs):
            if tf.reduce_sum(inputs) > 0:
                return inputs
            return -inputs
        """,
        "TFG510",
    ),
    (
        """
        def call(self, inputs):
            total = tf.reduce_sum(inputs)
            while total > 1.0:
                total = total / 2.0
            return inputs * total
        """,
        "TFG510",
    ),
    (
        """
        def call(self, inputs):
            return inputs.numpy() * 2
        """,
        None,  # eager-only-call: only where the module shows models traced
    ),
    (
        """
        def call(self, inputs):
            assert tf.reduce_all(inputs > 0)
            return inputs
        """,
        "TFG509",
    ),
    (
        """
        def call(self, inputs):
            return tf.stack([row * 2 for row in tf.abs(inputs)])
        """,
        "TFG502",
    ),
    (
        """
        def call(self, inputs):
            batch, width = tf.shape(inputs)
            return tf.reshape(inputs, [batch, width])
        """,
        "TFG405",
    ),
    (
        """
        def call(self, inputs):
            return inputs * len(tf.shape(inputs))
        """,
        "TFG405",
    ),
    # a tensor bound to a flag's name, then tested
    (
        """
        def call(self, inputs, training=None):
            training = tf.reduce_any(inputs > 0)
            if training:
                return inputs
            return -inputs
        """,
        "TFG510",
    ),
    # in a helper the `call` runs, and in a function nested in the `call`
    (
        """
        def call(self, inputs):
            return self._gate(inputs)

        def _gate(self, x):
            peak = tf.reduce_max(x)
            if peak > 1.0:
                return x / peak
            return x
        """,
        "TFG510",
    ),
    (
        """
        def call(self, inputs):
            peak = tf.reduce_max(inputs)

            def norm(x):
                return x / peak if peak > 1.0 else x

            return norm(inputs)
        """,
        None,
    ),
    # a cycle between two names (`inputs = y`, `y = inputs if ...`): the inference skips the
    # binding that closes it, or not, depending on which name it reached first
    (
        """
        def call(self, inputs, training=False):
            for v in y:
                y = inputs if training else y
            if -inputs:
                y = 2
            inputs = y
        """,
        "TFG510",
    ),
    # a presumed parameter read before its rebinding to a Python value
    (
        """
        def call(self, inputs: tf.Tensor):
            inputs = len(inputs)
            return inputs
        """,
        "TFG405",
    ),
    # a parameter annotated as a tensor (an import's alias, a subscript, a string)
    (
        """
        def call(self, inputs, mask: tf.Tensor = None):
            if mask:
                return inputs
            return -inputs
        """,
        "TFG510",
    ),
    (
        """
        def call(self, inputs, mask: TensorAlias = None):
            if mask:
                return inputs
            return -inputs
        # module:
        from tensorflow import Tensor as TensorAlias
        """,
        "TFG510",
    ),
    (
        """
        def call(self, inputs, mask: "tf.Tensor" = None):
            if mask:
                return inputs
            return -inputs
        """,
        None,
    ),
    # a starred parameter annotated as a tensor
    (
        """
        def call(self, inputs, *masks: tf.Tensor):
            if masks[0]:
                return inputs
            return -inputs
        """,
        None,
    ),
    # the functions of Keras 3's `ops` give tensors
    (
        """
        def call(self, inputs):
            if ops.sum(inputs) > 0:
                return inputs
            return -inputs
        # module:
        from keras import ops
        """,
        "TFG510",
    ),
    # a loop variable over a tensor
    (
        """
        def call(self, inputs):
            out = inputs
            for row in tf.unstack(inputs):
                if row[0] > 0:
                    out = out + row
            return out
        """,
        "TFG510",
    ),
]


@pytest.mark.parametrize(("call", "code"), SITES)
def test_gate_keeps_layers_whose_calls_may_report(call: str, code: str | None) -> None:
    source = _module(call)
    assert _sliced_text(source, ALL) is not None
    found = _findings(source)
    assert found == _findings(source, prefilter=False)
    if code is not None:
        assert code in {c for _, c in found}, found


def test_gate_leaves_other_compiled_code_alone() -> None:
    """A `tf.function`, a loss's `call` or an explicit `keras-call = true` make every rule
    apply: the gate stays off."""
    python_only = _module(PYTHON_ONLY[0])
    with_function = python_only + "\n\n@tf.function\ndef step(x):\n    return x\n"
    assert _sliced_text(with_function, ALL) is not None
    loss = textwrap.dedent(
        """\
        import tensorflow as tf


        class Hinge(tf.keras.losses.Loss):
            def call(self, y_true, y_pred):
                print("tracing")
                return tf.reduce_mean(tf.maximum(0.0, 1.0 - y_true * y_pred))
        """
    )
    assert _sliced_text(loss, ALL) is not None
    assert [c for _, c in _findings(loss)] == ["TFG101"]
    explicit = dataclasses.replace(ALL, keras_call=True)
    assert _sliced_text(python_only, explicit) is not None


def test_trace_still_sees_the_calls_the_gate_drops() -> None:
    """`trace` lists every compiled body: it asks with `keep_discovery`, which skips the gate."""
    source = _module(PYTHON_ONLY[0])
    analysis = analyse(source, "m.py", ALL, keep_discovery=True)
    assert analysis.discovery is not None
    assert [c.qualname for c in analysis.discovery.contexts] == ["Block.call"]


def test_gate_reads_builtins_and_imports_as_libcst_does() -> None:
    """A builtin's name bound by an import is that import (`tf.cast` here: a tensor); bound
    by a function of the module, it is that function (whose result is not known to be one)."""
    imported = _module(
        """
        def call(self, inputs):
            if int(inputs > 0, tf.bool):
                return inputs
            return -inputs
        """
    ).replace("from tensorflow import keras", "from tensorflow import cast as int, keras")
    assert _sliced_text(imported, ALL) is not None
    assert "TFG510" in {c for _, c in _findings(imported)}
    assert _findings(imported) == _findings(imported, prefilter=False)
    local = _module(
        """
        def call(self, inputs):
            if len(inputs) > 0:
                return inputs
            return -inputs
        # module:
        def len(x):
            return tf.reduce_sum(x)
        """
    )
    assert _sliced_text(local, ALL) is None
    assert _findings(local, prefilter=False) == []


EXAMPLES = list(iter_examples(ALL_RULES))


def test_no_rule_example_loses_a_finding_to_the_gate() -> None:
    """Every embedded example, with all rules: a module the gate drops has no finding without
    it (the examples of the breakage rules in Keras `call`s are kept, and report)."""
    dropped = 0
    for _rule, _kind, _index, example in EXAMPLES:
        config = dataclasses.replace(example_config(example), select=("ALL",))
        source = example.source
        if _sliced_text(source, config) is None and _sliced_text(source, config, keras_gate=False):
            dropped += 1
            assert _findings(source, config, prefilter=False) == [], source
    assert dropped > 0  # some examples are layers that can report nothing


def test_gate_blanks_the_calls_that_can_report_nothing_beside_one_that_can() -> None:
    """In a module of layers, the `call`s whose traced code can report nothing are blanked,
    and the helper only they run; the one that can report keeps its own helper."""
    source = _module(
        """
        def call(self, inputs, training=None):
            if training:
                inputs = tf.nn.dropout(inputs, 0.1)
            return _relu(self.dense(inputs))
        # module:
        def _relu(x):
            return tf.nn.relu(x)


        def _peak(x):
            peak = tf.reduce_max(x)
            if peak > 1.0:
                return x / peak
            return x


        class Norm(keras.layers.Layer):
            def call(self, inputs):
                return _peak(inputs)
        """
    )
    sliced = _sliced_text(source, ALL)
    assert sliced is not None
    kept = {line.strip() for line in sliced.splitlines() if line.strip()}
    assert "return _peak(inputs)" in kept and "if peak > 1.0:" in kept
    assert "return _relu(self.dense(inputs))" not in kept
    assert "return tf.nn.relu(x)" not in kept
    found = _findings(source)
    assert found == _findings(source, prefilter=False)
    assert [c for _, c in found] == ["TFG510"]


def test_many_calls_are_gated_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `_MAX_SEPARATE_CALLS`, the `call`s are not closed over one by one (each closure is
    linear in the module: a module of thousands of layers took minutes): the module is kept
    whole or dropped whole, with a bounded number of closures."""
    layers = "".join(
        textwrap.dedent(
            f"""

            class Layer{i}(keras.layers.Layer):
                def call(self, inputs, training=None):
                    return tf.nn.dropout(inputs, 0.1) if training else inputs
            """
        )
        for i in range(slicing._MAX_SEPARATE_CALLS + 8)
    )
    quiet = "import tensorflow as tf\nfrom tensorflow import keras\n" + layers
    loud = quiet + textwrap.dedent(
        """

        class Loud(keras.layers.Layer):
            def call(self, inputs):
                assert tf.reduce_all(inputs > 0)
                return inputs
        """
    )
    closures = 0
    close = slicing._close_over_names

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal closures
        closures += 1
        return close(*args, **kwargs)

    monkeypatch.setattr(slicing, "_close_over_names", counted)
    assert _sliced_text(quiet, ALL) is None
    assert closures <= 2
    closures = 0
    sliced = _sliced_text(loud, ALL)
    assert sliced is not None and "return tf.nn.dropout(inputs, 0.1)" in sliced  # all kept
    assert closures <= 2
    monkeypatch.setattr(slicing, "_close_over_names", close)
    assert _findings(quiet, prefilter=False) == []
    assert [c for _, c in _findings(loud)] == ["TFG509"]


def test_gate_reads_re_exported_names_as_discovery_does(tmp_path: Path) -> None:
    """With `tf` re-exported by the project's package (`from pkg import tf`), a call on
    another name imported from the package is no TensorFlow call (a layer that only asks it
    is dropped); a TensorFlow op through the re-exported name may give a tensor (kept, and
    reported as without the gate)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("import tensorflow as tf\n", encoding="utf-8")
    (package / "boxes.py").write_text("def is_relative(fmt):\n    return fmt == 'rel'\n")
    layer = textwrap.dedent(
        """\
        from pkg import boxes, tf


        class Block(tf.keras.layers.Layer):
            def call(self, inputs):
                if {test}:
                    return inputs
                return -inputs
        """
    )
    path = str(package / "layer.py")
    python = layer.format(test="boxes.is_relative(self.fmt)")
    aliases = {"pkg.tf": "tensorflow"}
    assert slice_module(python, ALL, aliases=aliases) is None
    assert slice_module(python, ALL, aliases=aliases, keras_gate=False) is not None
    assert lint_source(python, path, ALL, prefilter=False).findings == []
    tensor = layer.format(test="tf.reduce_any(inputs > 0)")
    assert slice_module(tensor, ALL, aliases=aliases) is not None
    found = lint_source(tensor, path, ALL).findings
    assert [(f.line, f.code) for f in found] == [(6, "TFG510")]
    assert found == lint_source(tensor, path, ALL, prefilter=False).findings


def test_gate_reads_keras_calls_outside_the_table_as_the_inference_does() -> None:
    """`keras.backend.backend()` (Keras 3, outside `keras.ops`) is in no table of the
    inference, which then reads its receiver (a module attribute: no tensor): a layer that
    only compares it is dropped. `keras.ops.any(...)` is a tensor: kept, and reported."""
    layer = textwrap.dedent(
        """\
        import keras


        class Block(keras.layers.Layer):
            def call(self, inputs):
                if {test}:
                    return inputs
                return -inputs
        """
    )
    python = layer.format(test='keras.backend.backend() == "tensorflow"')
    assert _sliced_text(python, ALL) is None
    assert _sliced_text(python, ALL, keras_gate=False) is not None
    assert _findings(python, prefilter=False) == []
    tensor = layer.format(test="keras.ops.any(inputs > 0)")
    assert _sliced_text(tensor, ALL) is not None
    assert _findings(tensor) == [(6, "TFG510")] == _findings(tensor, prefilter=False)


def test_gate_reads_a_nested_function_s_free_names_in_the_enclosing_one() -> None:
    """A function nested in a `call` reads a free name as the enclosing `call` binds it (the
    inference's `FunctionFacts.outer`): a flag with a default is Python (dropped), the
    result of a TF op may be a tensor (kept, and reported as without the gate)."""
    layer = _module(
        """
        def call(self, inputs, fast=False):
            total = tf.reduce_sum(inputs)
            def step(x):
                if {test}:
                    return x
                return -x
            return step(inputs)
        """
    )
    python = layer.replace("{test}", "fast")
    assert _sliced_text(python, ALL) is None
    assert _sliced_text(python, ALL, keras_gate=False) is not None
    assert _findings(python, prefilter=False) == []
    tensor = layer.replace("{test}", "total > 0")
    assert _sliced_text(tensor, ALL) is not None
    found = _findings(tensor)
    assert [code for _, code in found] == ["TFG510"]
    assert found == _findings(tensor, prefilter=False)
