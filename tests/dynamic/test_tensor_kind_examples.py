"""What is a tensor, on real TensorFlow (2.21): the claims behind the parameter inference of
`FunctionFacts.presumed` and the examples of TFG402, TFG502, TFG510, TFG102, TFG507 and TFG508
that rest on it.

One script imports TensorFlow once, runs every claim and every example module (written to
files, so AutoGraph can read their source) and prints one JSON document.
"""

from __future__ import annotations

from typing import Any

import pytest
from tf_scripts import run_tensorflow_script

from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.registry import find_rule

pytestmark = pytest.mark.dynamic

_SCRIPT = r"""
import importlib.util, json, os, sys
import numpy as np
import tensorflow as tf

def outcome(fn):
    try:
        value = fn()
    except Exception as exc:
        lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
        lines = [l for l in lines if not l.startswith(("File ", "See https", "in user code"))]
        return [type(exc).__name__, lines[-1] if lines else ""]
    if isinstance(value, tf.Tensor):
        value = value.numpy().tolist()
    return ["ok", value]

def load(folder, name):
    spec = importlib.util.spec_from_file_location(f"{os.path.basename(folder)}_{name}",
                                                  os.path.join(folder, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

out = {}
seen = {}

@tf.function
def kind_of(x):
    seen[type(x).__name__] = True
    return 0

for value in (np.array([1.0]), [1, 2], 3, 2.5):
    seen.clear()
    kind_of(value)
    out[f"type of {type(value).__name__}"] = sorted(seen)

@tf.function
def to_numpy(x):
    return x.numpy()

out["x.numpy() of an array"] = outcome(lambda: to_numpy(np.array([1.0])))

folder = sys.argv[1]
for name in ("402_calls_with_list", "402_calls_with_array", "402_calls_with_tensor"):
    out[name] = outcome(lambda: load(folder, name) and None)

for name in ("102_tensor_under_guard", "102_ternary_variable", "102_flag_guard"):
    module = load(folder, name)
    cls = next(v for v in vars(module).values() if isinstance(v, type) and
               issubclass(v, tf.Module) and v.__module__ == module.__name__)
    made = cls()
    # The Python float traces a second time.
    out[name] = [outcome(lambda: made(tf.constant(2.0))), outcome(lambda: made(3.0))]

for name, fn in (("507_tensor_count", "count"), ("507_slices", "shifts"),
                 ("507_python_count", "offset")):
    f = getattr(load(folder, name), fn)
    graph = f.get_concrete_function(tf.TensorSpec([None], tf.float32)).graph
    out[name] = len(graph.get_operations())

out["510_tensor_argument"] = outcome(lambda: load(folder, "510_tensor_argument") and None)
scale = load(folder, "510_flag").scale
out["510_flag"] = outcome(lambda: scale(tf.ones([2]), True))
out["502_list_argument"] = outcome(lambda: load(folder, "502_list_argument") and None)
out["502_count_arithmetic"] = outcome(lambda: load(folder, "502_count_arithmetic") and None)
firsts = load(folder, "502_tensor_argument").firsts
out["502_tensor_argument"] = outcome(lambda: firsts(tf.ones([2, 2])))

for name in ("508_rebound_after_loop", "508_rebound_in_loop"):
    f = load(folder, name).doubled
    out[name] = outcome(lambda: f(tf.constant([1.0, 2.0, 3.0])))
print(json.dumps(out))
"""


# The examples the script runs: (file name, rule, VALID or INVALID, a text only it holds).
_EXAMPLES = (
    ("402_calls_with_list", "TFG402", "VALID", "clip([0.5, 2.0])"),
    ("402_calls_with_array", "TFG402", "INVALID", "clip(np.array("),
    ("402_calls_with_tensor", "TFG402", "INVALID", "to_host(tf.constant("),
    ("102_tensor_under_guard", "TFG102", "INVALID", "class Normalizer"),
    ("102_ternary_variable", "TFG102", "VALID", "if self.v is None else self.v"),
    ("102_flag_guard", "TFG102", "VALID", "class Penalised"),
    ("507_tensor_count", "TFG507", "INVALID", "def count("),
    ("507_slices", "TFG507", "INVALID", "def shifts("),
    ("507_python_count", "TFG507", "VALID", "def offset("),
    ("510_tensor_argument", "TFG510", "INVALID", "halve_above(tf.constant(3.0), 1.0)"),
    ("510_flag", "TFG510", "VALID", "def scale(x, double)"),
    ("502_list_argument", "TFG502", "VALID", "firsts([[1.0, 2.0], [3.0, 4.0]])"),
    ("502_tensor_argument", "TFG502", "INVALID", "def firsts(x)"),
    ("502_count_arithmetic", "TFG502", "VALID", "def expand(t, dim, ndims)"),
    ("508_rebound_after_loop", "TFG508", "INVALID", "y.write(i, x[i] * 2)  # error"),
    ("508_rebound_in_loop", "TFG508", "VALID", "y = y.write(i"),
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("tensor_kinds")
    for name, code, kind, text in _EXAMPLES:
        rule = find_rule(code)
        assert rule is not None
        (source,) = [e.source for e in getattr(rule, kind) if text in e.source]
        (folder / f"{name}.py").write_text(strip_markers(source), encoding="utf-8")
    doc: dict[str, Any] = run_tensorflow_script(_SCRIPT, str(folder))
    return doc


def test_numpy_array_argument_becomes_a_tensor(results: dict[str, Any]) -> None:
    assert results["type of ndarray"] == ["SymbolicTensor"]
    assert results["type of list"] == ["list"]
    assert results["type of int"] == ["int"]
    assert results["type of float"] == ["float"]
    assert results["x.numpy() of an array"][0] == "AttributeError"


def test_tfg402_examples_that_call_their_function(results: dict[str, Any]) -> None:
    # `clip([0.5, 2.0])` runs; `clip(np.array(...))` fails while tracing with the error the
    # rule quotes, and so does the parameter passed a tensor.
    assert results["402_calls_with_list"] == ["ok", None]
    error = results["402_calls_with_array"]
    assert error[0] == "NotImplementedError", error
    assert "Cannot convert a symbolic tf.Tensor" in error[1]
    assert results["402_calls_with_tensor"][0] == "NotImplementedError"


def test_tfg102_tensor_under_lazy_guard_is_out_of_scope(results: dict[str, Any]) -> None:
    first, second = results["102_tensor_under_guard"]
    assert first[0] == "ok"
    assert second[0] == "TypeError" and "is out of scope" in second[1], second


def test_tfg102_one_line_variable_guard_works_across_traces(results: dict[str, Any]) -> None:
    first, second = results["102_ternary_variable"]
    assert first == ["ok", 2.0]
    assert second == ["ok", 5.0]


def test_tfg507_ops_per_loop(results: dict[str, Any]) -> None:
    assert results["507_tensor_count"] > 2000  # 1,000 `s += 1` on a tensor
    assert results["507_slices"] > 4000  # 1,000 slices of the argument
    assert results["507_python_count"] < 10  # 10,000 `s += 1` on a Python int


def test_tfg508_rebinding_after_the_loop_still_loses_the_writes(results: dict[str, Any]) -> None:
    assert results["508_rebound_after_loop"] == ["ok", [0.0, 0.0, 0.0]]
    assert results["508_rebound_in_loop"] == ["ok", [2.0, 4.0, 6.0]]


def test_tfg510_and_tfg502_parameters(results: dict[str, Any]) -> None:
    # A tensor argument in an unconverted `if` and in a comprehension fails; a Python bool
    # flag and a list argument do not.
    error = results["510_tensor_argument"]
    assert error[0] == "OperatorNotAllowedInGraphError", error
    assert results["510_flag"] == ["ok", [2.0, 2.0]]
    assert results["502_list_argument"] == ["ok", None]
    # `range(ndims - dim - 1)` in a comprehension, called with Python ints: it traces.
    assert results["502_count_arithmetic"] == ["ok", None]
    error = results["502_tensor_argument"]
    assert error[0] == "OperatorNotAllowedInGraphError", error


def test_tfg102_tensor_set_under_a_flag_is_set_again_by_every_trace(
    results: dict[str, Any],
) -> None:
    first, second = results["102_flag_guard"]
    assert first == ["ok", 6.0]
    assert second == ["ok", 9.0]
