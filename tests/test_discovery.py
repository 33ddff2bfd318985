"""Discovery: which bodies are compiled, and why. Names resolve through qualified names."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper

from tfgraphlint.discovery import (
    EAGER,
    CompiledContext,
    CompiledContextProvider,
    ContextKind,
    DiscoveryOptions,
    ModuleDiscovery,
    discovery_wrapper,
)


def discover(source: str, **options: object) -> dict[str, object]:
    """qualname -> CompiledContext or EAGER, for every function discovery classified."""
    module = cst.parse_module(textwrap.dedent(source))
    wrapper = discovery_wrapper(module, DiscoveryOptions(**options))  # type: ignore[arg-type]
    mapping = wrapper.resolve(CompiledContextProvider)
    out: dict[str, object] = {}
    for node, value in mapping.items():
        if isinstance(value, CompiledContext):
            out[value.qualname] = value
        elif value is EAGER and isinstance(node, cst.FunctionDef):
            out[node.name.value] = EAGER
    return out


def ctx(found: dict[str, object], name: str) -> CompiledContext:
    value = found[name]
    assert isinstance(value, CompiledContext), value
    return value


@pytest.mark.parametrize(
    "header, decorator",
    [
        ("import tensorflow as tf", "@tf.function"),
        ("import tensorflow as tf", "@tf.function(jit_compile=True, reduce_retracing=True)"),
        ("import tensorflow", "@tensorflow.function"),
        ("from tensorflow import function", "@function"),
        ("from tensorflow import function as compiled", "@compiled()"),
        ("import tensorflow.compat.v2 as tf", "@tf.function"),
        ("from tensorflow.compat import v2 as tf", "@tf.function"),
    ],
)
def test_decorator_spellings(header: str, decorator: str) -> None:
    found = discover(f"{header}\n\n{decorator}\ndef step(x):\n    return x\n")
    assert ctx(found, "step").kind is ContextKind.DECORATED


def test_function_local_import() -> None:
    found = discover(
        """
        def build():
            import tensorflow as tf

            @tf.function
            def step(x):
                return x
            return step
        """
    )
    assert ctx(found, "build.<locals>.step").kind is ContextKind.DECORATED
    assert "build" not in found


def test_look_alikes_are_not_tf_function() -> None:
    found = discover(
        """
        import tensorflow as tf
        from mylib import function

        @function
        def a(x):
            return x

        def tf_function(f):
            return f

        @tf_function
        def b(x):
            return x

        class tf2:
            function = staticmethod(lambda f: f)

        @tf2.function
        def c(x):
            return x
        """
    )
    assert found == {}


def test_local_variable_shadowing_tf() -> None:
    found = discover(
        """
        import tensorflow as tf

        def outer(tf):
            @tf.function
            def inner(x):
                return x
            return inner
        """
    )
    assert found == {}


def test_call_forms() -> None:
    found = discover(
        """
        import tensorflow as tf

        def f(x):
            return x

        def g(x):
            return x

        def h(x):
            return x

        fast_f = tf.function(f)
        fast_g = tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])(g)
        fast_h = tf.function(func=h, autograph=False)
        square = tf.function(lambda x: x * x)
        """
    )
    assert ctx(found, "f").kind is ContextKind.WRAPPED
    g = ctx(found, "g")
    assert g.has_input_signature and g.signature_params == frozenset({"x"})
    assert ctx(found, "h").converted is False
    assert ctx(found, "<lambda>").kind is ContextKind.WRAPPED


def test_call_form_before_def_and_self_method() -> None:
    found = discover(
        """
        import tensorflow as tf

        class Trainer(tf.Module):
            def __init__(self):
                self.fast_step = tf.function(self.step)

            def step(self, x):
                return self.helper(x)

            def helper(self, x):
                return x

        fast = tf.function(later)

        def later(x):
            return x
        """
    )
    assert ctx(found, "Trainer.step").kind is ContextKind.WRAPPED
    helper = ctx(found, "Trainer.helper")
    assert helper.kind is ContextKind.HELPER and helper.root_qualname == "Trainer.step"
    assert ctx(found, "later").kind is ContextKind.WRAPPED
    assert "Trainer.__init__" not in found


def test_methods_and_input_signature_skip_self() -> None:
    found = discover(
        """
        import tensorflow as tf

        class Model(tf.keras.Model):
            @tf.function(input_signature=[tf.TensorSpec([None, 3])])
            def serve(self, x, training=False):
                return self(x)
        """
    )
    serve = ctx(found, "Model.serve")
    assert serve.signature_params == frozenset({"x"})


def test_helpers_transitive_with_chain() -> None:
    found = discover(
        """
        import tensorflow as tf

        def leaf(x):
            return x

        def middle(x):
            return leaf(x)

        def unused(x):
            return x

        @tf.function
        def train_step(x):
            return middle(x)
        """
    )
    middle = ctx(found, "middle")
    assert middle.kind is ContextKind.HELPER
    assert middle.call_line == 15
    assert middle.describe() == "`middle` (called from tf.function `train_step`, line 15)"
    leaf = ctx(found, "leaf")
    assert leaf.caller_qualname == "middle" and leaf.root_qualname == "train_step"
    assert "reached from tf.function `train_step`" in leaf.describe()
    assert "unused" not in found


def test_follow_calls_off() -> None:
    found = discover(
        """
        import tensorflow as tf

        def helper(x):
            return x

        @tf.function
        def step(x):
            return helper(x)
        """,
        follow_calls=False,
    )
    assert "helper" not in found


def test_nested_defs_inherit() -> None:
    found = discover(
        """
        import tensorflow as tf

        @tf.function(autograph=False)
        def outer(x):
            def inner(y):
                return y
            return inner(x)
        """
    )
    inner = ctx(found, "outer.<locals>.inner")
    assert inner.kind is ContextKind.NESTED and inner.converted is False


def test_dataset_callbacks() -> None:
    found = discover(
        """
        import tensorflow as tf

        def parse(record):
            return record

        def keep(record):
            return True

        def add(state, x):
            return state + x

        def make(files):
            ds = tf.data.TFRecordDataset(files)
            ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
            ds = ds.filter(predicate=keep)
            total = ds.reduce(0, add)
            return tf.data.Dataset.range(3).map(lambda x: x + 1)

        def not_a_dataset(items):
            return items.map(str)
        """
    )
    assert ctx(found, "parse").via == "Dataset.map"
    assert ctx(found, "keep").via == "Dataset.filter"
    assert ctx(found, "add").via == "Dataset.reduce"
    assert ctx(found, "make.<locals>.<lambda>").kind is ContextKind.DATASET_CALLBACK
    assert "not_a_dataset" not in found and "make" not in found


def test_helper_of_a_dataset_callback_names_its_root() -> None:
    found = discover(
        """
        import tensorflow as tf

        def resize(x):
            return x

        def make(ds):
            ds = tf.data.Dataset.range(3)
            return ds.map(lambda x: resize(x))
        """
    )
    resize = ctx(found, "resize")
    assert "called from `Dataset.map` callback `make.<locals>.<lambda>`" in resize.describe()


def test_graph_bodies_only_inside_compiled_code() -> None:
    found = discover(
        """
        import tensorflow as tf

        def body(i, acc):
            return i + 1, acc

        def cond(i, acc):
            return i < 10

        def double(x):
            return 2 * x

        @tf.function
        def run(xs):
            tf.while_loop(cond, body, [0, 0.0])
            return tf.map_fn(double, xs)

        def eager(xs):
            return tf.map_fn(lambda x: x, xs)
        """
    )
    assert ctx(found, "body").kind is ContextKind.GRAPH_BODY
    assert ctx(found, "body").via == "tf.while_loop"
    assert ctx(found, "cond").kind is ContextKind.GRAPH_BODY
    assert ctx(found, "double").via == "tf.map_fn"
    assert "eager.<locals>.<lambda>" not in found


def test_py_function_callbacks_are_eager() -> None:
    found = discover(
        """
        import tensorflow as tf

        def log(x):
            print(x.numpy())
            return x

        @tf.function
        def step(x):
            return tf.py_function(log, [x], tf.float32)
        """
    )
    assert found["log"] is EAGER


def test_do_not_convert_is_traced_not_converted() -> None:
    found = discover(
        """
        import tensorflow as tf

        @tf.autograph.experimental.do_not_convert
        def helper(x):
            return x

        @tf.function
        def step(x):
            return helper(x)
        """
    )
    helper = ctx(found, "helper")
    assert helper.kind is ContextKind.HELPER and helper.converted is False
    assert ctx(found, "step").converted is True


def test_keras_steps_and_call() -> None:
    source = """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def train_step(self, data):
                return {}

            def call(self, x):
                return x

        class NotKeras:
            def train_step(self, data):
                return {}
        """
    found = discover(source)
    step = ctx(found, "Net.train_step")
    assert step.kind is ContextKind.KERAS_STEP and step.converted is False
    assert "unless the model runs eagerly" in step.describe()
    assert "NotKeras.train_step" not in found
    # `call`: found by default for what fails there, every rule with `keras-call = true`.
    assert ctx(found, "Net.call").breaking_only
    assert not ctx(discover(source, keras_call=True), "Net.call").breaking_only
    assert "Net.call" not in discover(source, keras_call=False)


def test_extra_function_decorators() -> None:
    source = """
        from mylib.compile import compiled

        @compiled
        def step(x):
            return x
        """
    assert discover(source) == {}
    found = discover(source, extra_function_decorators=("mylib.compile.compiled",))
    assert ctx(found, "step").kind is ContextKind.DECORATED
    found = discover(source, extra_function_decorators=("mylib.*",))
    assert "step" in found


# Exits and opt-outs that real code uses (issue 10, section 3). Each row: a snippet and, per
# qualname, what discovery must say: a ContextKind, "EAGER", None (not classified), or
# "unconverted"/"converted" for a compiled body's AutoGraph status.
_Expected = ContextKind | str | None
EXIT_CASES: list[tuple[str, str, dict[str, _Expected]]] = [
    (
        "py_function-decorator",
        """
        import tensorflow as tf

        @tf.py_function(Tout=tf.float32)
        def log(x):
            print(x.numpy())
            return x

        @tf.function
        def step(x):
            return log(x)
        """,
        {"log": "EAGER", "step": ContextKind.DECORATED},
    ),
    (
        "own-decorator-calling-py_function",
        """
        import functools
        import tensorflow as tf

        def eager(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return tf.numpy_function(fn, args, tf.float32)
            return wrapper

        @eager
        def augment(image):
            return image.numpy()

        @tf.function
        def step(x):
            return augment(x)
        """,
        {"augment": "EAGER"},
    ),
    (
        "unknown-decorator-on-dataset-callback",
        """
        import tensorflow as tf
        from mylib import cached

        @cached
        def parse(record):
            return record

        def plain(record):
            return record

        ds = tf.data.Dataset.range(3).map(parse).map(plain)
        """,
        {"parse": None, "plain": ContextKind.DATASET_CALLBACK},
    ),
    (
        "known-decorator-on-dataset-callback",
        """
        import tensorflow as tf

        class P:
            @staticmethod
            def parse(record):
                return record

        ds = tf.data.Dataset.range(3).map(P.parse)

        @tf.function
        def double(x):
            return 2 * x

        ds2 = tf.data.Dataset.range(3).map(double)
        """,
        {"double": ContextKind.DECORATED},
    ),
    (
        "run_eagerly-compile",
        """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def train_step(self, data):
                return {}

        class Other(tf.keras.Model):
            def train_step(self, data):
                return {}

        model = Net()
        model.compile(optimizer="adam", run_eagerly=True)
        model.fit(data)
        """,
        {"Net.train_step": None, "Other.train_step": ContextKind.KERAS_STEP},
    ),
    (
        "run_eagerly-unknown-model",
        """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def train_step(self, data):
                return {}

        def build(make):
            model = make()
            model.compile(run_eagerly=True)
        """,
        {"Net.train_step": None},
    ),
    (
        "run_eagerly-attribute",
        """
        import tensorflow as tf

        class EagerModel(tf.keras.Model):
            def __init__(self):
                super().__init__()
                self.run_eagerly = True

            def train_step(self, data):
                return {}

        class Graph(tf.keras.Model):
            def train_step(self, data):
                return {}
        """,
        {"EagerModel.train_step": None, "Graph.train_step": ContextKind.KERAS_STEP},
    ),
    (
        "run_eagerly-false",
        """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def train_step(self, data):
                return {}

        model = Net()
        model.compile(run_eagerly=False)
        """,
        {"Net.train_step": ContextKind.KERAS_STEP},
    ),
    (
        "train_step-called-directly",
        """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def train_step(self, data):
                return {}

        model = Net()
        for batch in dataset:
            model.train_step(batch)
        """,
        {"Net.train_step": None},
    ),
    (
        "train_step-called-from-a-tf-function",
        """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def train_step(self, data):
                return {}

        model = Net()

        @tf.function
        def step(batch):
            return model.train_step(batch)
        """,
        {"Net.train_step": ContextKind.KERAS_STEP},
    ),
    (
        "train_step-called-directly-and-fit",
        """
        import tensorflow as tf

        class Net(tf.keras.Model):
            def train_step(self, data):
                return {}

        model = Net()
        model.train_step(first)
        model.fit(dataset)
        """,
        {"Net.train_step": ContextKind.KERAS_STEP},
    ),
    (
        "to_graph-converts",
        """
        import tensorflow as tf

        def k(x):
            return x

        def j(x):
            return x

        class Net(tf.keras.Model):
            def train_step(self, data):
                return tf.autograph.to_graph(k)(data) + plain(data)

        def plain(x):
            return x

        g = tf.function(tf.autograph.to_graph(j), autograph=False)
        """,
        {
            "k": "converted",
            "j": "converted",
            "plain": "unconverted",
            "Net.train_step": "unconverted",
        },
    ),
    (
        "defined-twice-module-level",
        """
        import tensorflow as tf

        def step(x):
            return x.numpy()

        def step(x):
            return x

        step = tf.function(step)
        """,
        {"step": ContextKind.WRAPPED},
    ),
    (
        "defined-twice-helper",
        """
        import tensorflow as tf

        def helper(x):
            return x.numpy()

        @tf.function
        def step(x):
            return helper(x)

        def helper(x):
            return x
        """,
        {"helper": ContextKind.HELPER},
    ),
    (
        "strategy-run-self-method",
        """
        import tensorflow as tf

        class Trainer:
            def step_fn(self, x):
                return x

            @tf.function
            def train(self, x):
                return self.strategy.run(self.step_fn, args=(x,))

            def eager(self, x):
                return self.strategy.run(self.other, args=(x,))

            def other(self, x):
                return x

        @tf.function(autograph=False)
        def outer(x):
            return tf.distribute.get_strategy().run(inner, args=(x,))

        def inner(x):
            return x

        @tf.function
        def not_a_strategy(x):
            return session.run(fetch)

        def fetch():
            return 1
        """,
        {
            "Trainer.step_fn": ContextKind.GRAPH_BODY,
            "Trainer.other": None,
            "inner": "unconverted",
            "fetch": None,
        },
    ),
]


@pytest.mark.parametrize("source, expected", [pytest.param(s, e, id=i) for i, s, e in EXIT_CASES])
def test_exits_and_opt_outs(source: str, expected: dict[str, _Expected]) -> None:
    module = cst.parse_module(textwrap.dedent(source))
    mapping = discovery_wrapper(module, DiscoveryOptions()).resolve(CompiledContextProvider)
    by_name: dict[str, list[object]] = {}
    for node, value in mapping.items():
        if isinstance(value, CompiledContext):
            by_name.setdefault(value.qualname, []).append(value)
        elif value is EAGER and isinstance(node, cst.FunctionDef):
            by_name.setdefault(node.name.value, []).append("EAGER")
    for name, want in expected.items():
        got = by_name.get(name, [])
        if want is None:
            assert got == [], name
        elif want == "EAGER":
            assert got == ["EAGER"], name
        else:
            assert len(got) == 1 and isinstance(got[0], CompiledContext), (name, got)
            if isinstance(want, ContextKind):
                assert got[0].kind is want, (name, got[0])
            else:
                assert got[0].converted is (want == "converted"), (name, got[0])


def test_discovery_refuses_to_run_without_its_options() -> None:
    """No silent defaults: a caller that forgets the options (as `trace` once did, and got
    "0 functions" under `extra-function-decorators`) gets an error, not another answer."""
    module = cst.parse_module("import tensorflow as tf\n")
    with pytest.raises(TypeError, match="DiscoveryOptions"):
        MetadataWrapper(module).resolve(CompiledContextProvider)
    options = DiscoveryOptions(extra_function_decorators=("mylib.compiled",))
    source = "import mylib\n\n@mylib.compiled\ndef f(x):\n    return x\n"
    wrapper = MetadataWrapper(
        cst.parse_module(source), cache={CompiledContextProvider: options}
    )  # libCST's own resolver hands the options over too
    found = list(wrapper.resolve(CompiledContextProvider).values())
    assert [c.qualname for c in found if isinstance(c, CompiledContext)] == ["f"]


def test_strategy_experimental_run_v2_callback() -> None:
    found = discover(
        """
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()

        def replica_step(x):
            return x * 2

        @tf.function
        def step(x):
            return strategy.experimental_run_v2(replica_step, args=(x,))
        """
    )
    body = ctx(found, "replica_step")
    assert body.kind is ContextKind.GRAPH_BODY and body.via == "strategy.experimental_run_v2"


def test_functions_passed_to_a_compiled_function_that_calls_them() -> None:
    found = discover(
        """
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()

        def by_position(x): return x
        def by_keyword(x): return x
        def through_binding(x): return x
        def to_strategy(x): return x
        def to_helper(x): return x
        def to_map_fn(x): return x
        def name_only(x): return x
        def to_py_function(x): return x
        def rebound(x): return x
        def starred(x): return x

        def run_step(fn, x):
            return fn(x)

        step = tf.function(run_step)

        @tf.function
        def direct(fn, x):
            return fn(x)

        @tf.function
        def on_replicas(fn, x):
            return strategy.run(fn, args=(x,))

        @tf.function
        def mapped(fn, x):
            return tf.map_fn(fn, x)

        def helper(g, x):
            return g(x)

        @tf.function
        def outer(x):
            return helper(to_helper, x)

        @tf.function
        def named(fn, x):
            tf.print(fn.__name__)
            return x

        @tf.function
        def via_py(fn, x):
            return tf.py_function(fn, [x], tf.float32)

        @tf.function
        def rebinding(fn, x):
            fn = tf.identity
            return fn(x)

        class Trainer:
            def loss(self, x):
                return x

            def unused(self, x):
                return x

            @tf.function
            def train(self, fn, x):
                return fn(x)

            def fit(self, x):
                return self.train(self.loss, x)

        direct(by_position, 1.0)
        direct(fn=by_keyword, x=1.0)
        step(through_binding, 1.0)
        on_replicas(to_strategy, 1.0)
        mapped(to_map_fn, [1.0])
        named(name_only, 1.0)
        via_py(to_py_function, 1.0)
        rebinding(rebound, 1.0)
        direct(*[starred, 1.0])
        """
    )
    for name, to in [
        ("by_position", "direct"),
        ("by_keyword", "direct"),
        ("through_binding", "run_step"),
        ("to_strategy", "on_replicas"),
        ("to_map_fn", "mapped"),
        ("to_helper", "helper"),
        ("Trainer.loss", "Trainer.train"),
    ]:
        passed = ctx(found, name)
        assert passed.kind is ContextKind.HELPER and passed.caller_qualname == to, name
        assert "which calls it while tracing" in passed.describe()
    for name in ("name_only", "to_py_function", "rebound", "starred", "unused"):
        assert not isinstance(found.get(name), CompiledContext), name
    assert ctx(found, "by_position").describe() == (
        "`by_position` (passed as `fn` at line 69 to tf.function `direct`, which calls it "
        "while tracing)"
    )
    assert "(reached from tf.function `outer`)" in ctx(found, "to_helper").describe()


def test_passed_functions_are_helpers_not_followed_without_follow_calls() -> None:
    source = """
        import tensorflow as tf

        def loss(x): return x

        @tf.function
        def direct(fn, x):
            return fn(x)

        direct(loss, 1.0)
        """
    assert isinstance(discover(source).get("loss"), CompiledContext)
    assert not isinstance(discover(source, follow_calls=False).get("loss"), CompiledContext)


@pytest.mark.parametrize(
    "switch, eager",
    [
        ("tf.config.run_functions_eagerly(True)", True),
        ("tf.config.experimental_run_functions_eagerly(True)", True),
        ("tf.config.run_functions_eagerly(run_eagerly=True)", True),
        ("if DEBUG:\n    tf.config.run_functions_eagerly(True)", False),
        ("def debug():\n    tf.config.run_functions_eagerly(True)", False),
        ("tf.config.run_functions_eagerly(DEBUG)", False),
        ("tf.config.run_functions_eagerly(True)\ntf.config.run_functions_eagerly(False)", False),
        (
            "tf.config.run_functions_eagerly(True)\n"
            "def main():\n    tf.config.run_functions_eagerly(False)",
            False,
        ),
    ],
)
def test_a_module_that_runs_functions_eagerly(switch: str, eager: bool) -> None:
    source = "import tensorflow as tf\nDEBUG = True\n" + switch + "\n"
    source += "@tf.function\ndef f(x):\n    return x\n"
    module = cst.parse_module(source)
    wrapper = discovery_wrapper(module, DiscoveryOptions())
    found = wrapper.resolve(CompiledContextProvider)[wrapper.module]
    assert isinstance(found, ModuleDiscovery)
    assert found.runs_functions_eagerly is eager


NAMED_LAMBDAS = """
import tensorflow as tf

shout = lambda x: print("map", x) or x  # a module-level name: TFG101


def pipeline():
    ds = tf.data.Dataset.range(3)
    norm: object = lambda x: print("norm", x) or x  # annotated: TFG101
    first, second = (lambda x: print("a") or x), (lambda x: print("b") or x)
    return ds.map(shout).map(norm).map(first).map(second)


@tf.function
def step(x):
    log = lambda v: print("value", v) or v  # run by tf.py_function on every call: silent
    return tf.py_function(log, [x], tf.float32)


wrapped = lambda x: print("wrapped") or x  # handed to tf.function: TFG101
compiled = tf.function(wrapped)


@tf.function
def doubled(x):
    return double(x) + (lambda y: y)(x)


double = lambda x: [print("d"), x * 2][1]  # called from a tf.function: TFG101
"""


@pytest.mark.parametrize("prefilter", [True, False])
def test_a_name_bound_to_a_lambda_is_that_lambda(prefilter: bool) -> None:
    """`ds.map(parse)`, `tf.function(parse)`, `tf.py_function(parse, ...)` and a call
    `parse(x)` in a tf.function, with `parse = lambda ...` (at module level or in a function,
    annotated or not), resolve to the lambda, as a `def`'s name does: checked on TF 2.21, the
    map callback and the called helper print once, at their trace, and the `py_function`
    one on every call. Unpacked targets are not followed (their lambdas stay unresolved: no
    finding). The screen keeps such a file (`prefilter`)."""
    from tfgraphlint.engine.runner import lint_source

    result = lint_source(NAMED_LAMBDAS, "named.py", prefilter=prefilter)
    assert result.errors == []
    lines = sorted((f.line, f.code) for f in result.findings)
    assert lines == [(4, "TFG101"), (9, "TFG101"), (20, "TFG101"), (29, "TFG101")]


ALIASES = """
import tensorflow as tf


def decode(x):
    print("decoding", x)  # traced through the alias below: TFG101
    return x


parse = decode
first = parse  # an alias of an alias
ds = tf.data.Dataset.range(3).map(first)
a = b  # noqa: F821 (a cycle of names resolves to nothing)
b = a
other = tf.data.Dataset.range(3).map(a)
"""


@pytest.mark.parametrize("prefilter", [True, False])
def test_a_name_bound_to_a_function_name_is_that_function(prefilter: bool) -> None:
    """`parse = decode`, then `ds.map(parse)`: `parse` resolves to `decode`, through any
    chain of such names (a cycle resolves to nothing, without looping), and the slicer keeps
    `decode` for it."""
    from tfgraphlint.engine.runner import lint_source

    result = lint_source(ALIASES, "aliases.py", prefilter=prefilter)
    assert result.errors == []
    assert sorted((f.line, f.code) for f in result.findings) == [(6, "TFG101")]
    assert "`decode` (a `Dataset.map` callback" in result.findings[0].message
