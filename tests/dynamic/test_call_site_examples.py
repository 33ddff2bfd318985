"""The call-site rules' examples against real TensorFlow: each example runs as a script.

- TFG205: every INVALID one either retraces one of its `tf.function`s (a trace count above
  one) or stops with the singleton-variables `ValueError` its message names; no VALID one
  does either.
- TFG206: every INVALID one traces at least three times (more than the two traces of
  `reduce_retracing=True`), every VALID one at most twice, and none raises.
- TFG207: every INVALID one traces twice (two distinct numbers), every VALID one once.
- TFG203: a `@tf.function` made in a loop traces again on every iteration, once each.
- TFG201, its VALID example whose only caller passes a tensor bound: AutoGraph makes the
  `range` loop a `while` loop, and new bounds trace once; the same call with Python ints
  unrolls and retraces.
- TFG202, its self-contained examples (the others use names they do not define): a float
  the loop derives from its counter, or a `math` function of it, retraces on every pass; a
  NumPy float64 derived from it is passed as a tensor and traces once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

SINGLETON = "only supports singleton tf.Variables created on the first call"

_WORKER = r"""
import json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

out = {}
for path in sys.argv[1:]:
    name = os.path.basename(path)[:-3]
    error = None
    try:
        namespace = runpy.run_path(path, run_name="__main__")
    except Exception as exc:
        namespace = {}
        error = f"{type(exc).__name__}: {exc}"
    traces = {
        attr: obj.experimental_get_tracing_count()
        for attr, obj in namespace.items()
        if hasattr(obj, "experimental_get_tracing_count")
    }
    code = os.path.basename(os.path.dirname(path))[:6]  # the folder `TFG2050`: `TFG205`
    out[f"{code}/{name}"] = {"error": error, "traces": traces}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Any]]:
    """Every example of both rules, run in one TensorFlow process: `TFG205/invalid_0`, ..."""
    kinds: dict[str, str] = {}
    paths: list[str] = []
    for code in ("TFG205", "TFG206", "TFG207", "TFG202"):
        folder = tmp_path_factory.mktemp(code)
        for name, kind in write_rule_examples(code, folder).items():
            kinds[f"{code}/{name}"] = kind
            paths.append(str(folder / f"{name}.py"))
    doc = run_tensorflow_script(_WORKER, *paths)
    return kinds, doc


def test_new_object_examples_match_tensorflow(
    outcomes: tuple[dict[str, str], dict[str, Any]],
) -> None:
    kinds, doc = outcomes
    for name, kind in kinds.items():
        if not name.startswith("TFG205/"):
            continue
        error, traces = doc[name]["error"], doc[name]["traces"]
        retraced = any(count > 1 for count in traces.values())
        if kind == "invalid":
            assert retraced or (error is not None and SINGLETON in error), (name, doc[name])
        else:
            assert error is None and not retraced, (name, doc[name])


def test_a_new_model_and_optimizer_per_pass_raise_the_singleton_error(
    outcomes: tuple[dict[str, str], dict[str, Any]],
) -> None:
    """The message's second claim: a retrace that creates variables raises."""
    _, doc = outcomes
    for name in ("TFG205/invalid_0", "TFG205/invalid_1"):
        assert doc[name]["error"] is not None and SINGLETON in doc[name]["error"], doc[name]
    assert doc["TFG205/invalid_2"] == {"error": None, "traces": {"scaled": 3}}


def test_growing_shape_examples_match_tensorflow(
    outcomes: tuple[dict[str, str], dict[str, Any]],
) -> None:
    kinds, doc = outcomes
    for name, kind in kinds.items():
        if not name.startswith("TFG206/"):
            continue
        assert doc[name]["error"] is None, (name, doc[name])
        most = max(doc[name]["traces"].values())
        assert most >= 3 if kind == "invalid" else most <= 2, (name, doc[name])


def test_distinct_literal_examples_match_tensorflow(
    outcomes: tuple[dict[str, str], dict[str, Any]],
) -> None:
    kinds, doc = outcomes
    for name, kind in kinds.items():
        if not name.startswith("TFG207/"):
            continue
        assert doc[name]["error"] is None, (name, doc[name])
        assert max(doc[name]["traces"].values()) == (2 if kind == "invalid" else 1), doc[name]


def test_scalar_argument_examples_match_tensorflow(
    outcomes: tuple[dict[str, str], dict[str, Any]],
) -> None:
    kinds, doc = outcomes
    # The last example of each kind (indices below ten: `max` compares the names as text).
    invalid = max(n for n, k in kinds.items() if n.startswith("TFG202/") and k == "invalid")
    valid = max(n for n, k in kinds.items() if n.startswith("TFG202/") and k == "valid")
    assert invalid == "TFG202/invalid_6" and valid == "TFG202/valid_8", (invalid, valid)
    # Three epochs, two calls each: five distinct argument values, five traces.
    assert doc[invalid] == {"error": None, "traces": {"train_step": 5}}, doc[invalid]
    assert doc[valid] == {"error": None, "traces": {"train_step": 1}}, doc[valid]


_LOOP_WORKER = r"""
import json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

namespace = runpy.run_path(sys.argv[1])
tensor_bound, python_bound = namespace["Dreamer"](), namespace["Dreamer"]()
tensor_bound.dream(tf.zeros([2]), 250)  # the example's own caller: bounds 100, 100, 50
for steps in (3, 4, 5):
    python_bound.ascend(tf.zeros([2]), steps)
ops = {
    op.type
    for op in tensor_bound.ascend.get_concrete_function(
        tf.TensorSpec([2]), tf.TensorSpec([], tf.int32)
    ).graph.get_operations()
}
print(json.dumps({
    "tensor_traces": tensor_bound.ascend.experimental_get_tracing_count(),
    "python_traces": python_bound.ascend.experimental_get_tracing_count(),
    "while_loop": bool(ops & {"While", "StatelessWhile"}),
}))
"""


def test_loop_bound_passed_a_tensor_by_its_caller_is_a_graph_loop(tmp_path: Path) -> None:
    kinds = write_rule_examples("TFG201", tmp_path)
    valid = max((n for n, k in kinds.items() if k == "valid"), key=lambda n: int(n[6:]))
    assert valid == "valid_6", valid  # the example with a caller (the last VALID one)
    doc = run_tensorflow_script(_LOOP_WORKER, str(tmp_path / f"{valid}.py"))
    assert doc == {"tensor_traces": 1, "python_traces": 3, "while_loop": True}, doc


_FACTORY_WORKER = r"""
import json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

namespace = runpy.run_path(sys.argv[1])
print(json.dumps([list(namespace["evaluate"](w, tf.ones((1, 2))).shape) for w in (4, 8)]))
"""


def test_a_factory_making_a_new_model_per_call_runs(tmp_path: Path) -> None:
    """TFG203's VALID factory: each call wraps a new layer in a new tf.function, whose first
    call creates that layer's variables; it runs (module loop included) without an error."""
    kinds = write_rule_examples("TFG203", tmp_path)
    (name,) = [
        n
        for n, k in kinds.items()
        if k == "valid" and "new weights on every call" in (tmp_path / f"{n}.py").read_text()
    ]
    doc = run_tensorflow_script(_FACTORY_WORKER, str(tmp_path / f"{name}.py"))
    assert doc == [[1, 4], [1, 8]], doc


_PER_ITERATION_WORKER = r"""
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

traces = []
for epoch in range(3):
    @tf.function
    def step(x):
        traces.append(epoch)
        return x + 1

    for _ in range(4):
        step(tf.constant(1.0))
print(json.dumps(traces))
"""


def test_a_tf_function_made_in_a_loop_is_traced_again_on_every_iteration() -> None:
    """TFG203's message: a `@tf.function` made in a loop is traced once per iteration (its
    four calls within an iteration share that trace), not once in all."""
    assert run_tensorflow_script(_PER_ITERATION_WORKER) == [0, 1, 2]
