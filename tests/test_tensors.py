"""The shared tensor/Python inference (`tfgraphlint.discovery.tensors`)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, QualifiedNameProvider
from libcst.metadata.base_provider import LazyValue

from tfgraphlint.discovery.model import CompiledContext, ContextKind
from tfgraphlint.discovery.tensors import FunctionFacts, Kind, tf_call_kind


def _facts(source: str, ctx: CompiledContext | None = None) -> FunctionFacts:
    """Facts of the first function of `source`; names resolved as the engine does."""
    module = cst.parse_module(textwrap.dedent(source))
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    qualified = wrapper.resolve(QualifiedNameProvider)

    def qualnames(node: cst.CSTNode) -> set[str]:
        value = qualified.get(node, set())
        if isinstance(value, LazyValue):
            value = value()
        return {q.name for q in value}

    func = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    return FunctionFacts(func, ctx, qualnames)


def _returned(facts: FunctionFacts) -> cst.BaseExpression:
    """The expression of the function's last `return`."""
    assert isinstance(facts.func, cst.FunctionDef)
    last = facts.func.body.body[-1]
    assert isinstance(last, cst.SimpleStatementLine)
    ret = last.body[0]
    assert isinstance(ret, cst.Return) and ret.value is not None
    return ret.value


def _ctx(signature: frozenset[str] = frozenset()) -> CompiledContext:
    return CompiledContext(
        kind=ContextKind.DECORATED,
        qualname="f",
        line=1,
        root_qualname="f",
        root_line=1,
        has_input_signature=bool(signature),
        signature_params=signature,
    )


@pytest.mark.parametrize(
    ("expr", "kind"),
    [
        ("tf.reduce_sum(x) > 0", Kind.TENSOR),
        ("tf.shape(x)[0]", Kind.TENSOR),
        ("x.shape[0] is None", Kind.PYTHON),
        ("x.shape.ndims == 2", Kind.PYTHON),
        ("len(items)", Kind.PYTHON),
        ("flag", Kind.UNKNOWN),
        ("tf.linalg.LinearOperatorFullMatrix(m)", Kind.UNKNOWN),
        ("tf.compat.v1.trainable_variables()", Kind.PYTHON),
        ("tf.executing_eagerly_outside_functions()", Kind.PYTHON),
        ("m.get_shape()", Kind.PYTHON),
        # A method of an API call's result: libCST names it after the API function
        # ("tensorflow.math.reduce_sum.numpy"); the result's kind decides, not the name.
        ("tf.math.reduce_sum(x).numpy()", Kind.PYTHON),
        ("ops.convert_to_numpy(x).tolist()", Kind.UNKNOWN),
        ("ops.ndim(x) == 2", Kind.PYTHON),  # a Python int, even for a symbolic tensor
    ],
)
def test_expression_kinds(expr: str, kind: Kind) -> None:
    facts = _facts(
        f"""
        import tensorflow as tf
        from keras import ops

        def f(x, flag, items, m):
            return {expr}
        """
    )
    assert facts.kind(_returned(facts)) is kind


def test_self_referencing_update_keeps_the_tensor_kind() -> None:
    facts = _facts(
        """
        import tensorflow as tf

        def f(x):
            loss = tf.reduce_mean(x)
            loss = loss / 10.0
            total = 0
            total = total + tf.reduce_sum(x)
            count = 0
            count = count + 1
            return loss
        """
    )
    assert facts.name_kind("loss") is Kind.TENSOR
    assert facts.name_kind("total") is Kind.UNKNOWN  # starts Python, becomes a tensor
    assert facts.name_kind("count") is Kind.PYTHON


def test_parameter_rebound_first_takes_the_new_kind() -> None:
    facts = _facts(
        """
        import tensorflow as tf

        def f(x, y):
            x = tf.convert_to_tensor(x)
            z = y
            y = tf.constant(1.0)
            return x
        """
    )
    assert facts.name_kind("x") is Kind.TENSOR
    assert facts.name_kind("y") is Kind.UNKNOWN  # the parameter's value is read first


def test_parameters_rebound_in_one_line_and_later() -> None:
    """`a = ...; b = ...` on one line counts both assignments; a later read of a parameter
    makes its later rebinding not the first use."""
    facts = _facts(
        """
        import tensorflow as tf

        def f(x, y, w):
            x = tf.convert_to_tensor(x); y = tf.constant(2.0)
            print(w)
            w = tf.constant(3.0)
            return x
        """
    )
    assert facts.name_kind("x") is Kind.TENSOR
    assert facts.name_kind("y") is Kind.TENSOR
    assert facts.name_kind("w") is Kind.UNKNOWN


def test_signature_parameters_are_tensors() -> None:
    facts = _facts("def f(x, n):\n    return x\n", _ctx(frozenset({"x"})))
    assert facts.name_kind("x") is Kind.TENSOR
    assert facts.name_kind("n") is Kind.UNKNOWN


@pytest.mark.parametrize(
    ("iterable", "kind"),
    [
        ("tf.range(n)", Kind.TENSOR),
        ("range(tf.shape(x)[0])", Kind.TENSOR),
        ("range(3)", Kind.PYTHON),
        ("range(n)", Kind.UNKNOWN),
        ("ds", Kind.TENSOR),
        ("ds.batch(2).prefetch(1)", Kind.TENSOR),
        ("iter(ds)", Kind.TENSOR),
        ("enumerate(ds)", Kind.TENSOR),
        ("zip(ds, ds)", Kind.TENSOR),
        ("enumerate(layers)", Kind.PYTHON),
        ("[x, x]", Kind.PYTHON),
        ("layers", Kind.UNKNOWN),
        ("features.items()", Kind.PYTHON),
        ("annotated", Kind.TENSOR),
    ],
)
def test_iteration_kinds(iterable: str, kind: Kind) -> None:
    facts = _facts(
        f"""
        import tensorflow as tf

        def f(x, n, layers, features, annotated: tf.data.Dataset):
            ds = tf.data.Dataset.from_tensor_slices(x)
            return {iterable}
        """
    )
    assert facts.iteration_kind(_returned(facts)) is kind


def test_datasets_are_not_tensors() -> None:
    facts = _facts(
        """
        import tensorflow as tf

        def f(x):
            ds = tf.data.TFRecordDataset(x).map(parse)
            return ds
        """
    )
    assert facts.is_dataset(_returned(facts))
    assert facts.kind(_returned(facts)) is Kind.UNKNOWN


def test_elements_of_unstack_are_tensors_with_comprehension_locals() -> None:
    facts = _facts(
        """
        import tensorflow as tf

        def f(x):
            vals = tf.unstack(x)
            return vals
        """
    )
    vals = _returned(facts)
    assert facts.kind(vals) is Kind.PYTHON
    assert facts.element_kind(vals) is Kind.TENSOR
    assert facts.kind(cst.Name("v"), {"v": Kind.TENSOR}) is Kind.TENSOR


def test_tensor_arrays() -> None:
    facts = _facts(
        """
        import tensorflow as tf

        def f(n, out):
            ta = tf.TensorArray(tf.float32, size=n)
            ta = ta.write(0, 1.0)
            return ta.stack()
        """
    )
    stack = _returned(facts)
    assert isinstance(stack, cst.Call) and isinstance(stack.func, cst.Attribute)
    assert facts.is_tensor_array(stack.func.value)
    assert not facts.is_tensor_array(cst.Name("out"))
    assert facts.kind(stack) is Kind.TENSOR


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("for i in range(3):\n        pass\n    else:\n        pass", "`for`/`else`"),
        ("while x:\n        pass\n    else:\n        pass", "`while`/`else`"),
        ("def gen():\n        yield 1", "generators"),
        ("y = self.__scale", "name-mangled"),
    ],
)
def test_constructs_autograph_refuses(body: str, reason: str) -> None:
    facts = _facts(f"def f(self, x):\n    {body}\n    return x\n", _ctx())
    refused = facts.unconvertible_reason()
    assert refused is not None and reason in refused[0]
    off = facts.autograph_off_reason()
    assert off is not None and reason in off


def test_converted_function_has_no_refusal() -> None:
    facts = _facts("def f(x):\n    y = x.__class__\n    return [v for v in x]\n", _ctx())
    assert facts.unconvertible_reason() is None
    assert facts.autograph_off_reason() is None


def test_autograph_false_reason() -> None:
    ctx = CompiledContext(
        kind=ContextKind.DECORATED,
        qualname="f",
        line=1,
        root_qualname="f",
        root_line=1,
        converted=False,
    )
    facts = _facts("def f(x):\n    return x\n", ctx)
    assert facts.autograph_off_reason() == "it is compiled with `autograph=False`"


@pytest.mark.parametrize(
    ("qualname", "kind"),
    [
        ("tensorflow.reduce_sum", Kind.TENSOR),
        ("tensorflow.compat.v1.nn.rnn_cell.LSTMCell", Kind.UNKNOWN),
        ("tensorflow.compat.v1.global_variables", Kind.PYTHON),
        ("tensorflow.unstack", Kind.PYTHON),
        ("numpy.sum", None),
    ],
)
def test_tf_call_kind(qualname: str, kind: Kind | None) -> None:
    assert tf_call_kind(qualname) is kind


def _presumed(source: str, kind: ContextKind = ContextKind.DECORATED) -> set[str]:
    """The parameters `FunctionFacts.presumed` takes as tensors, for the first function of
    `source` (the first method of the first class when there is no function)."""
    module = cst.parse_module(textwrap.dedent(source))
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    qualified = wrapper.resolve(QualifiedNameProvider)

    def qualnames(node: cst.CSTNode) -> set[str]:
        value = qualified.get(node, set())
        if isinstance(value, LazyValue):
            value = value()
        return {q.name for q in value}

    func = next((s for s in module.body if isinstance(s, cst.FunctionDef)), None)
    if func is None:
        cls = next(s for s in module.body if isinstance(s, cst.ClassDef))
        func = next(s for s in cls.body.body if isinstance(s, cst.FunctionDef))
    ctx = CompiledContext(kind=kind, qualname="f", line=1, root_qualname="f", root_line=1)
    facts = FunctionFacts(func, ctx, qualnames).presumed(module)
    return {n for n in facts.param_names if facts.name_kind(n) is Kind.TENSOR}


@pytest.mark.parametrize(
    ("source", "tensors"),
    [
        ("def f(x, y):\n    return x", {"x", "y"}),
        ("def f(x, n=3, *args, **kw):\n    return x", {"x"}),
        ("import tensorflow as tf\ndef f(x: int, y: tf.Tensor):\n    return x", {"y"}),
        ("def f(x, training):\n    return x", {"x"}),  # a flag by name
        ("def f(cfg, x):\n    return x * cfg.scale", {"x"}),  # an object
        ("def f(fn, x):\n    return fn(x)", {"x"}),  # a callable
        ("def f(d, x):\n    return d['a'] + x", {"x"}),  # a dict
        ("def f(pair):\n    a, b = pair\n    return a", set()),  # unpacked
        ("def f(xs):\n    return [a for a, b in xs]", set()),
        ("def f(x, layers):\n    return [l(x) for l in layers]", {"x"}),  # iterated
        # iterated through a plain copy (a Keras layer's list of inputs)
        ("def f(inputs):\n    xs = inputs\n    return [x.shape[0] for x in xs]", set()),
        ("def f(x, n):\n    for i in range(n):\n        x = x * 2\n    return x", {"x"}),
        ("def f(x, ws):\n    return [w * x for w, _ in zip(ws, ws)]", {"x"}),
        ("def f(xs, x):\n    return g(*xs, x)", {"x"}),
        ("def f(flag, x):\n    if flag:\n        x = -x\n    return x", {"x"}),
        ("def f(x, y):\n    return x if y is None else y", {"x"}),
        ("def f(x, mode):\n    return x if mode == 'train' else -x", {"x"}),
        ("def f(x, y):\n    return x if isinstance(y, int) else y", {"x"}),
        ("def f(x):\n    return x.shape, x.dtype, x.numpy()", {"x"}),
        # Call sites in the same module: a Python literal keeps the parameter Python.
        ("def f(x, n):\n    return x * n\n\nf(tf.ones(3), 4)", {"x"}),
        ("def f(x, n):\n    return x * n\n\nf(tf.ones(3), n=[1, 2])", {"x"}),
        ("def f(x, n):\n    return x * n\n\nf(tf.ones(3), K)\nK = 3", {"x", "n"}),
        ("def f(x, n):\n    return x\n\ng = tf.function(f)\ng(1, 2)", set()),
        ("class M:\n    def f(self, x, n):\n        return x\n\nM().f(t, 2)", {"x"}),
    ],
)
def test_presumed_tensor_parameters(source: str, tensors: set[str]) -> None:
    assert _presumed(source) == tensors


def test_presumed_tensor_parameters_by_context() -> None:
    helper = "def f(x, y_true, y_pred):\n    return x"
    assert _presumed(helper, ContextKind.HELPER) == {"y_true", "y_pred"}
    call = "class L:\n    def call(self, inputs, mask, training=False):\n        return inputs"
    assert _presumed(call, ContextKind.KERAS_CALL) == {"inputs"}
    # A Keras `call` that unpacks its inputs takes a list.
    unpacked = "class L:\n    def call(self, inputs):\n        a, b = inputs\n        return a"
    assert _presumed(unpacked, ContextKind.KERAS_CALL) == set()
    # Without presumption, a parameter is unknown.
    module = cst.parse_module("def f(x):\n    return x\n")
    func = module.body[0]
    assert isinstance(func, cst.FunctionDef)
    assert FunctionFacts(func, _ctx(), lambda n: set()).name_kind("x") is Kind.UNKNOWN


def test_module_constant_argument_keeps_the_parameter_python() -> None:
    source = "N = 3\n\ndef f(x, n):\n    return x * n\n\nf(tf.ones(3), N)\n"
    module = cst.parse_module(source)
    func = module.body[1]
    assert isinstance(func, cst.FunctionDef)
    facts = FunctionFacts(func, _ctx(), lambda n: set(), frozenset({"N"})).presumed(module)
    assert facts.name_kind("x") is Kind.TENSOR
    assert facts.name_kind("n") is Kind.UNKNOWN


def test_lambda_parameters_are_not_presumed() -> None:
    module = cst.parse_module("g = tf.function(lambda x: np.clip(x, 0, 1))\ng(3)\n")
    stmt = module.body[0]
    assert isinstance(stmt, cst.SimpleStatementLine)
    assign = stmt.body[0]
    assert isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call)
    func = assign.value.args[0].value
    assert isinstance(func, cst.Lambda)
    ctx = CompiledContext(
        kind=ContextKind.WRAPPED, qualname="g", line=1, root_qualname="g", root_line=1
    )
    assert FunctionFacts(func, ctx, lambda n: set()).presumed(module).name_kind("x") is Kind.UNKNOWN


@pytest.mark.parametrize(
    "other_call",
    [
        "print(np.clip([1.0], 0, 1))",  # another object's `clip`: no call of the tf.function
        "class T:\n    def clip(self, x):\n        return x\n\nT().clip([1.0])",
    ],
)
def test_calls_of_another_clip_are_no_call_site_evidence(other_call: str) -> None:
    from tfgraphlint.config import Config
    from tfgraphlint.engine.runner import lint_source

    source = textwrap.dedent(
        """
        import numpy as np
        import tensorflow as tf

        @tf.function
        def clip(x):
            return np.clip(x, 0, 1)

        clip(tf.constant([1.0]))
        """
    )
    alone = lint_source(source, "m.py", Config()).findings
    assert [f.code for f in alone] == ["TFG402"]
    found = lint_source(source + other_call + "\n", "m.py", Config()).findings
    assert [(f.line, f.code) for f in found] == [(alone[0].line, "TFG402")]
    # A Python list passed to the tf.function itself is evidence: the parameter is Python.
    passed = lint_source(source + "clip([1.0])\n", "m.py", Config()).findings
    assert passed == []
