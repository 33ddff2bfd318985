"""`engine.prefilter.may_have_compiled_context`: the `ast` screen in front of libCST.

It may say True for a module where discovery finds nothing (that only costs time), never
False for one where discovery finds a compiled body or a `tf.function` reference (that would
lose findings). Each case is checked against libCST discovery itself."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest

from tfgraphlint.discovery import CompiledContextProvider, DiscoveryOptions, discovery_wrapper
from tfgraphlint.discovery.model import ModuleDiscovery
from tfgraphlint.engine.prefilter import may_have_compiled_context


def _libcst_finds(source: str, keras_call: bool | None) -> bool:
    module = cst.parse_module(source)
    wrapper = discovery_wrapper(module, DiscoveryOptions(keras_call=keras_call))
    found = wrapper.resolve(CompiledContextProvider)[wrapper.module]
    assert isinstance(found, ModuleDiscovery)
    return bool(found.contexts) or found.references_tf_function


# (source, what the gate answers, what libCST discovery finds)
CASES = {
    "decorator": ("import tensorflow as tf\n@tf.function\ndef f(x):\n    return x\n", True, True),
    "from-import alias": (
        "from tensorflow import function as compiled\n@compiled\ndef f(x):\n    return x\n",
        True,
        True,
    ),
    "compat.v2": ("import tensorflow.compat.v2 as tf\ng = tf.function(len)\n", True, True),
    "submodule import binds the root": (
        "import tensorflow.keras\ng = tensorflow.function(len)\n",
        True,
        True,
    ),
    "function-local import": (
        "def build():\n    import tensorflow as tf\n    return tf.function(lambda x: x)\n",
        True,
        True,
    ),
    "spaces around the dot": (
        "import tensorflow as tf\n@tf . function\ndef f(x):\n    return x\n",
        True,
        True,
    ),
    "parenthesised receiver": (
        "import tensorflow as tf\n@(tf).function\ndef f(x):\n    return x\n",
        True,
        True,
    ),
    "chain broken over lines": (
        "import tensorflow as tf\ng = (tf.\n     function)(len)\n",
        True,
        True,
    ),
    "chain broken by a backslash": (
        "import tensorflow as tf\ng = tf.\\\n    function(len)\n",
        True,
        True,
    ),
    "chain broken by a comment": (
        "import tensorflow as tf\ng = (tf.  # note\n     function)(len)\n",
        True,
        True,
    ),
    "dataset call broken by comments": (
        "import tensorflow as tf\ndef parse(x):\n    return x\n"
        "ds = (tf.data.Dataset.range(3).  # (note)\n    map  # note\n    (parse))\n",
        True,
        True,
    ),
    "tensorflow only in a comment": (
        "import tensorflow as tf\nx = tf.constant(1)  # unlike tf.function\n",
        False,
        False,
    ),
    "no tensorflow import at all": (
        "import numpy as np\nfunction = np.vectorize\ny = np.function\n",
        False,
        False,
    ),
    "a project's own function decorator": (
        "from mylib import function\n@function\ndef f(x):\n    return x\n",
        False,
        False,
    ),
    "dataset callback": (
        "import tensorflow as tf\ndef parse(x):\n    return x\n"
        "ds = tf.data.Dataset.range(3).map(parse)\n",
        True,
        True,
    ),
    "dataset imported from tf.data": (
        "from tensorflow.data import Dataset\ndef parse(x):\n    return x\n"
        "ds = Dataset.range(3).map(parse)\n",
        True,
        True,
    ),
    "map on something else": (
        "import tensorflow as tf\nout = pool.map(len, [1, 2])\n",
        False,
        False,
    ),
    "keras train_step": (
        "import tensorflow as tf\nclass M(tf.keras.Model):\n"
        "    def train_step(self, data):\n        return {}\n",
        True,
        True,
    ),
    "keras step on a plain class": (
        "import tensorflow as tf\nclass M:\n    def train_step(self, data):\n        return {}\n",
        False,
        False,
    ),
    "star import from tensorflow": (
        "from tensorflow import *\n@function\ndef f(x):\n    return x\n",
        True,
        False,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gate_against_libcst_discovery(name: str) -> None:
    source, gate, libcst_finds = CASES[name]
    source = textwrap.dedent(source)
    assert may_have_compiled_context(source, ast.parse(source)) is gate
    assert _libcst_finds(source, keras_call=False) is libcst_finds
    assert gate or not libcst_finds  # the gate may never hide what discovery finds


_DATASET = "import functools\nimport tensorflow as tf\nfrom mylib import parse_record\n"
# (source, what the gate answers without follow-imports, what libCST discovery finds)
DATASET_CALLBACKS: dict[str, tuple[str, bool] | tuple[str, bool, bool]] = {
    "imported callback": ("ds = tf.data.Dataset.range(3).map(parse_record)\n", False),
    "what a factory returns": (
        "def make(n):\n    def parse(x):\n        return x * n\n    return parse\n"
        "ds = tf.data.Dataset.range(3).map(make(2))\n",
        False,
    ),
    "a builtin": ("ds = tf.data.Dataset.range(3).filter(bool)\n", False),
    # discovery resolves a name to a `def`, or to what a plain assignment binds it to: a
    # lambda, or a name it resolves in turn
    "a lambda bound to a name": (
        "parse = lambda x: x + 1\nds = tf.data.Dataset.range(3).map(parse)\n",
        True,
    ),
    "a lambda bound in a function, annotated": (
        "def make():\n    parse: object = lambda x: x + 1\n"
        "    return tf.data.Dataset.range(3).map(parse)\n",
        True,
    ),
    "a def's alias": (
        "def f(x):\n    return x\nparse = f\nds = tf.data.Dataset.range(3).map(parse)\n",
        True,
    ),
    "an alias of something else": (
        "parse = str.upper\nds = tf.data.Dataset.range(3).map(parse)\n",
        False,
    ),
    "an instance": (
        "class P:\n    def __call__(self, x):\n        return x\n"
        "ds = tf.data.Dataset.range(3).map(P())\n",
        False,
    ),
    "local def": ("def parse(x):\n    return x\nds = tf.data.Dataset.range(3).map(parse)\n", True),
    "lambda": ("ds = tf.data.Dataset.range(3).map(lambda x: x + 1)\n", True),
    "keyword": (
        "def parse(x):\n    return x\nds = tf.data.Dataset.range(3).map(map_func=parse)\n",
        True,
    ),
    "tf.function of a local def": (
        "def parse(x):\n    return x\nds = tf.data.Dataset.range(3).map(tf.function(parse))\n",
        True,
    ),
    "partial of a local def": (
        "def parse(x, k):\n    return x * k\n"
        "ds = tf.data.Dataset.range(3).map(functools.partial(parse, k=2))\n",
        True,
    ),
    "method": (
        "class Pipeline:\n    def parse(self, x):\n        return x\n"
        "    def build(self):\n        return tf.data.Dataset.range(3).map(self.parse)\n",
        True,
    ),
    "reduce's second argument": (
        "def add(a, b):\n    return a + b\ntotal = tf.data.Dataset.range(3).reduce(0, add)\n",
        True,
    ),
    "starred arguments": (
        "def parse(x):\n    return x\nargs = [parse]\nds = tf.data.Dataset.range(3).map(*args)\n",
        True,
        False,  # the gate cannot tell what `*args` holds
    ),
}


@pytest.mark.parametrize("name", list(DATASET_CALLBACKS))
def test_dataset_calls_count_only_with_a_local_callback(name: str) -> None:
    """Without follow-imports, a module whose dataset calls hand over no callback of its own
    (an imported function, what a factory returns) has nothing compiled; with it, every
    dataset call keeps the module (its imported callbacks are read from it)."""
    body, gate, *found = DATASET_CALLBACKS[name]
    libcst_finds = found[0] if found else gate
    source = _DATASET + body
    tree = ast.parse(source)
    assert may_have_compiled_context(source, tree, exports=False) is gate
    assert may_have_compiled_context(source, tree) is True
    assert _libcst_finds(source, keras_call=None) is libcst_finds
    assert gate or not libcst_finds  # the gate may never hide what discovery finds


def test_keras_call_unless_the_option_is_false() -> None:
    source = (
        "import tensorflow as tf\nclass L(tf.keras.layers.Layer):\n"
        "    def call(self, x):\n        return x\n"
    )
    tree = ast.parse(source)
    assert may_have_compiled_context(source, tree, keras_call=False) is False
    assert may_have_compiled_context(source, tree) is True
    assert may_have_compiled_context(source, tree, keras_call=True) is True
    assert _libcst_finds(source, keras_call=None)
    assert _libcst_finds(source, keras_call=True)


def test_keras_losses_and_metrics_pass_the_gate() -> None:
    for source in (
        "import keras\nclass L(keras.losses.Loss):\n    def call(self, y, p):\n        return p\n",
        "import tensorflow as tf\nclass M(tf.keras.metrics.Metric):\n"
        "    def result(self):\n        return 0\n",
        "import keras\ndef f(y, p):\n    return p\nm = keras.Sequential()\nm.compile(loss=f)\n",
    ):
        tree = ast.parse(source)
        assert may_have_compiled_context(source, tree, keras_call=False) is True
        assert _libcst_finds(source, keras_call=False)
    source = "import re\nimport tensorflow as tf\nP = re.compile('x')\n"
    assert may_have_compiled_context(source, ast.parse(source)) is False


def test_extra_decorators_turn_the_gate_off() -> None:
    source = "from mylib import compiled\n@compiled\ndef f(x):\n    return x\n"
    tree = ast.parse(source)
    assert may_have_compiled_context(source, tree) is False
    assert may_have_compiled_context(source, tree, extra_function_decorators=("mylib.*",))
