"""`engine.prefilter.may_have_compiled_context`: the `ast` screen in front of libCST.

It may say True for a module where discovery finds nothing (that only costs time), never
False for one where discovery finds a compiled body or a `tf.function` reference (that would
lose findings). Each case is checked against libCST discovery itself."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from tfgraphlint.discovery import CompiledContextProvider, DiscoveryOptions, discovery_wrapper
from tfgraphlint.discovery.model import ModuleDiscovery
from tfgraphlint.engine.prefilter import code_view, may_have_compiled_context, outline_clears


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


# ------------------------------------------------------------------ the outline
# `outline_clears` reads imports and class headers without parsing the file: it may say
# "cleared" only where the gate says False.
def _clears(source: str, keras_call: bool | None = None) -> bool:
    return outline_clears(source, code_view(source), keras_call=keras_call)


def _all_sources() -> list[str]:
    sources = [textwrap.dedent(case[0]) for case in CASES.values()]
    sources += [_DATASET + case[0] for case in DATASET_CALLBACKS.values()]
    sources += list(OUTLINE_KEEPS.values()) + list(OUTLINE_CANNOT_TELL.values())
    sources += list(OUTLINE_CLEARS.values())
    return sources


# Modules the gate keeps, written in the ways the outline reads line by line.
OUTLINE_KEEPS = {
    "a header over several lines": (
        "import tensorflow as tf\nclass L(\n    tf.keras.layers.Layer,\n    metaclass=type,\n"
        "):\n    def call(self, x):\n        return x\n"
    ),
    "an import after a semicolon": (
        "import os; import tensorflow as tf\nclass L(tf.keras.layers.Layer):\n"
        "    def call(self, x):\n        return x\n"
    ),
    "an import in a one-line if": (
        "if True: from keras import layers\nclass L(layers.Layer):\n"
        "    def call(self, x):\n        return x\n"
    ),
    "an import in parentheses over lines": (
        "from tensorflow.keras import (\n    layers,\n    models,\n)\nclass M(models.Model):\n"
        "    def train_step(self, data):\n        return {}\n"
    ),
    "async def, a decorator, a docstring": (
        'import keras\nclass L(keras.layers.Layer):\n    """Doc.\n\n    More.\n    """\n'
        "    x = 1\n    @property\n    def size(self):\n        return 1\n\n"
        "    async def call(self, x):\n        return x\n"
    ),
    "a method after a nested block": (
        "import keras\nclass L(keras.layers.Layer):\n    if True:\n        def helper(self):\n"
        "            return 1\n    def call(self, x):\n        return x\n"
    ),
    "a class inside a function": (
        "def build():\n    import keras\n    class L(keras.layers.Layer):\n"
        "        def call(self, x):\n            return x\n    return L\n"
    ),
    "a local base class first": (
        "import keras\nclass Base(keras.layers.Layer):\n    pass\nclass L(Base):\n"
        "    def call(self, x):\n        return x\n"
    ),
    "Windows line ends": (
        "import keras\r\nclass L(keras.layers.Layer):\r\n    def call(self, x):\r\n"
        "        return x\r\n"
    ),
    "tf.function": "import tensorflow as tf\n@tf.function\ndef f(x):\n    return x\n",
    "a compile call": (
        "import keras\ndef loss(y, p):\n    return p\n"
        "m = keras.Sequential()\nm.compile(loss=loss)\n"
    ),
}
# The outline cannot tell: it leaves these to the gate, whatever the gate says.
OUTLINE_CANNOT_TELL = {
    "tabs": "import keras\nclass L(Base):\n\tdef call(self, x):\n\t\treturn x\n",
    "a form feed": "import keras\n\x0cclass L(Base):\n    def call(self, x):\n        return x\n",
    "lone carriage returns": (
        "import keras\rclass L(Base):\r    def call(self, x):\r        return x\r"
    ),
    "an import continued from the line above": (
        "from keras \\\n    import layers\nclass L(Base):\n"
        "    def call(self, x):\n        return x\n"
    ),
    "a one-line try": (
        "try: import keras\nexcept ImportError: keras = None\nclass L(Base):\n"
        "    def call(self, x):\n        return x\n"
    ),
    "a star import": (
        "from keras.layers import *\nclass L(Base):\n    def call(self, x):\n        return x\n"
    ),
}
# Cleared without a parse: Keras `call`s on bases that are not Keras', and no tf.function.
OUTLINE_CLEARS = {
    "a layer on an imported base": (
        "import tensorflow as tf\nfrom mylib import Base\nclass L(Base):\n"
        "    def call(self, x):\n        if x > 0:\n            return x\n        return -x\n"
    ),
    "no import at all": "class L(Base):\n    def call(self, x):\n        return x  # keras\n",
    "function in a comment only": (
        "import keras\nx = 1  # tf.function\ndef call(x):\n    return x\n"
    ),
    "a nested class on a plain base": (
        "import keras\nclass Outer:\n    class L(object):\n        def call(self, x):\n"
        "            return x\n"
    ),
}


@pytest.mark.parametrize("keras_call", [None, False, True])
def test_outline_clears_only_what_the_gate_drops(keras_call: bool | None) -> None:
    for source in _all_sources():
        if _clears(source, keras_call):
            tree = ast.parse(source)
            assert not may_have_compiled_context(code_view(source), tree, keras_call=keras_call)
            assert not _libcst_finds(source, keras_call=keras_call), source


@pytest.mark.parametrize("name", list(OUTLINE_KEEPS))
def test_outline_keeps_what_the_gate_keeps(name: str) -> None:
    source = OUTLINE_KEEPS[name]
    assert may_have_compiled_context(code_view(source), ast.parse(source)) is True
    assert not _clears(source)


@pytest.mark.parametrize("name", list(OUTLINE_CANNOT_TELL))
def test_outline_leaves_what_it_cannot_read_to_the_gate(name: str) -> None:
    assert not _clears(OUTLINE_CANNOT_TELL[name])


@pytest.mark.parametrize("name", list(OUTLINE_CLEARS))
def test_outline_clears_plain_classes(name: str) -> None:
    source = OUTLINE_CLEARS[name]
    assert _clears(source)
    assert may_have_compiled_context(code_view(source), ast.parse(source)) is False


def test_outline_on_the_bundled_fixtures_and_rule_examples() -> None:
    """On every fixture and every rule example (valid and invalid), under each value of
    `keras-call`: the outline clears a module only where the gate drops it, and does clear
    some (the layers on bases of their own that the examples hold)."""
    from tfgraphlint.engine.examples import iter_examples, strip_markers
    from tfgraphlint.engine.registry import all_rules

    root = Path(__file__).resolve().parent.parent / "fixtures"
    sources = [p.read_text(encoding="utf-8") for p in sorted(root.rglob("*.py"))]
    sources += [strip_markers(ex.code) for *_, ex in iter_examples(all_rules())]
    cleared = 0
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        view = code_view(source)
        for keras_call in (None, False, True):
            if outline_clears(source, view, keras_call=keras_call):
                cleared += 1
                assert not may_have_compiled_context(view, tree, keras_call=keras_call), source
    assert cleared > 0
