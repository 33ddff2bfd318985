"""Differential fuzz of the Keras gate: random modules of Keras layers whose `call`s bind,
rebind and test their arguments in many ways; each gives the same findings with the gate on,
with it off, and with no prefilter at all. Seeded: the same 80 modules on every run (about
70 findings); `TFGRAPHLINT_GATE_FUZZ=N` runs N. A richer version of this generator, run on
about 7,500 modules, found the two cases now in `test_keras_gate.py` (a binding closing a
cycle, a presumed parameter read before its rebinding)."""

from __future__ import annotations

import os
import random
import textwrap

import pytest

from tfgraphlint.config import Config
from tfgraphlint.engine import runner, slicing
from tfgraphlint.engine.runner import lint_source

pytestmark = pytest.mark.slow

ALL = Config(select=("ALL",))
_HEADERS = [
    ("import tensorflow as tf", "tf.keras.layers.Layer"),
    ("import tensorflow as tf", "tf.keras.Model"),
    ("import keras\nimport tensorflow as tf", "keras.layers.Layer"),
    ("import tensorflow as tf\nfrom tensorflow.keras import layers", "layers.Dense"),
    ("import tensorflow as tf\nfrom tensorflow.keras.layers import Layer", "Layer"),
    ("import tensorflow as tf\nfrom tensorflow.keras.layers import Layer", "Base"),
]
_EXTRAS = ["", "import numpy as np", "from tensorflow.keras import backend as K"]
_PARAMS = [
    ("self, inputs", "inputs"),
    ("self, inputs, training=None", "inputs"),
    ("self, x, mask=None", "x"),
    ("self, x: tf.Tensor", "x"),
    ("self, inputs, states", "inputs"),
    ("self, *args", "args"),
]


def _atoms(p: str) -> list[str]:
    return [
        p, "self.scale", f"self.dense({p})", f"tf.reduce_sum({p})", f"{p}.shape[0]",
        f"tf.shape({p})[0]", f"len({p})", "y", "z", f"helper({p})", f"self.helper({p})",
        f"{p}[0]", f"{p} > 0", f"{p} is None", f"not {p}", "training", "mask", "[1, 2]", "3",
        "self.flag", f"{p} * 2", f"-{p}", f"{p}.dtype", f"{p} and y", f"y or {p}",
        f"int({p})", "tf.constant(1)", f"(w := {p})", f"{p} if training else y",
        f"tf.cast({p}, tf.bool)", f"np.sum({p})", f"K.sum({p})",
    ]  # fmt: skip


def _statement(rnd: random.Random, p: str, depth: int = 0) -> str:
    def a() -> str:
        return rnd.choice(_atoms(p))

    if depth < 2 and rnd.random() < 0.25:
        body = textwrap.indent(_statement(rnd, p, depth + 1), "    ")
        head = rnd.choice([f"if {a()}:", f"for v in {a()}:", "with tf.GradientTape() as tape:"])
        return f"{head}\n{body}"
    return rnd.choice(
        [
            f"y = {a()}", f"z = {a()}", f"y += {a()}", f"{p} = {a()}", f"assert {a()}",
            f"if {a()}:\n    y = {a()}", f"while {a()}:\n    y = y - 1",
            f"for v in {a()}:\n    y = v", f"y = [v for v in {a()}]", f"y, z = {a()}",
            f"y = {a()}.numpy()", f"y = bool({a()})", f"y = len({a()})", f"y = iter({a()})",
            f"y = {a()} if {a()} else {a()}", f"z = tf.constant({a()})", f"print({a()})",
            f"self.cache = {a()}", f"y = list({a()})", f"y = any({a()})",
            f"def inner(q):\n    return q if q else {a()}\ny = inner({a()})",
        ]
    )  # fmt: skip


def _module(seed: int) -> str:
    rnd = random.Random(seed)
    header, base = rnd.choice(_HEADERS)
    parts = [f"{header}\n{rnd.choice(_EXTRAS)}", "G = 1"]
    if base == "Base":
        parts.append("class Base(Layer):\n    pass")
    if rnd.random() < 0.3:
        body = textwrap.indent(_statement(rnd, "t"), "    ")
        parts.append(f"def helper(t):\n{body}\n    return t")
    for index in range(rnd.randint(1, 3)):
        params, p = rnd.choice(_PARAMS)
        body = "\n".join(_statement(rnd, p) for _ in range(rnd.randint(1, 5)))
        parts.append(
            f"class L{index}({base}):\n"
            "    def __init__(self, flag=True, **kw):\n"
            "        super().__init__(**kw)\n"
            "        self.flag = flag\n"
            f"    def call({params}):\n"
            "        y = z = 0\n" + textwrap.indent(body, "        ") + "\n        return y"
        )
    return "\n\n\n".join(parts) + "\n"


def _findings(source: str, **kwargs: bool) -> list[tuple[int, int, str]]:
    result = lint_source(source, "layers.py", ALL, **kwargs)
    assert not result.errors, result.errors
    return sorted((f.line, f.column, f.code) for f in result.findings)


_SEEDS = int(os.environ.get("TFGRAPHLINT_GATE_FUZZ", "80"))


@pytest.mark.parametrize("seed", range(0, 5 * _SEEDS, 5))
def test_the_gate_loses_no_finding(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _module(seed)
    try:
        compile(source, "layers.py", "exec")
    except SyntaxError:
        pytest.skip("not valid Python (a generated `return` or `:=` where it cannot be)")
    gated = _findings(source)
    no_prefilter = _findings(source, prefilter=False)
    plain = slicing.slice_module
    monkeypatch.setattr(
        runner,
        "slice_module",
        lambda *args, **kwargs: plain(*args, **{**kwargs, "keras_gate": False}),
    )
    assert gated == _findings(source) == no_prefilter, source
