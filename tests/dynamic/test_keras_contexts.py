"""Keras 3 contexts against real TensorFlow (2.21, Keras 3): the rule examples that build a
Keras model (losses and metrics passed to `compile`, `Loss`/`Metric` subclasses, a layer's
`call`) are built and fitted in one worker. Every INVALID example of TFG510/TFG401 fails with
the error its message names (Keras traces these functions without AutoGraph), every VALID
one fits, and the `print` of TFG101's Keras loss runs once, while tracing, not on every step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

_WORKER = r"""
import contextlib, importlib.util, io, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf

out = {}
for path in sys.argv[1:]:
    name = os.path.basename(path)[:-3]
    printed = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stdout(printed):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            x = np.ones((8, 3), "float32")
            y = np.ones((8, 1), "float32")
            module.model.fit(x, y, epochs=2, batch_size=4, verbose=0)  # 4 steps
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    out[f"{os.path.basename(os.path.dirname(path))}/{name}"] = {
        "error": error, "printed": len(printed.getvalue().splitlines())
    }
import keras
out["__keras__"] = keras.__version__
print(json.dumps(out))
"""

_CODES = ("TFG510", "TFG401", "TFG101")
_FAILS = {
    "TFG510": "as a Python `bool` is not allowed",  # OperatorNotAllowedInGraphError
    "TFG401": "has no attribute 'numpy'",
}


@pytest.fixture(scope="module")
def fitted(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    kinds: dict[str, str] = {}
    sources: dict[str, str] = {}
    paths: list[str] = []
    for code in _CODES:
        folder: Path = tmp_path_factory.mktemp(code)
        for name, kind in write_rule_examples(code, folder).items():
            text = (folder / f"{name}.py").read_text(encoding="utf-8")
            if "\nmodel = " in text:  # the examples that build a Keras model
                kinds[f"{folder.name}/{name}"] = kind
                sources[f"{folder.name}/{name}"] = text
                paths.append(str(folder / f"{name}.py"))
    return kinds, sources, run_tensorflow_script(_WORKER, *paths)


def test_keras_examples_fail_as_their_rules_say(
    fitted: tuple[dict[str, str], dict[str, str], dict[str, Any]],
) -> None:
    kinds, sources, results = fitted
    keras2 = results["__keras__"].startswith("2.")
    checked = 0
    for key, kind in kinds.items():
        code = next(c for c in _CODES if key.startswith(c))
        error = results[key]["error"]
        if keras2 and "from keras import ops" in sources[key]:
            # `keras.ops` is Keras 3 API: Keras 2 cannot import the example at all.
            assert error is not None and "cannot import name 'ops'" in error, (key, error)
            continue
        if kind == "valid" or code not in _FAILS:
            assert error is None, (key, error)
        elif keras2:
            # Keras 2 (TF 2.15) converts losses, metrics and `call` with AutoGraph; these
            # messages are about Keras 3 ("Keras 3 traces it without AutoGraph"). Under
            # Keras 2 only the VALID examples are checked: they must still fit.
            continue
        else:
            expected = _FAILS[code]
            if code == "TFG510" and "range(tf.shape" in sources[key]:
                expected = "cannot be interpreted as an integer"  # Python's `range`: TypeError
            assert error is not None and expected in error, (key, error)
            checked += 1
    assert keras2 or checked >= 8  # six TFG510 and two TFG401 Keras examples


def test_print_in_a_keras_loss_runs_once_not_per_step(
    fitted: tuple[dict[str, str], dict[str, str], dict[str, Any]],
) -> None:
    kinds, sources, results = fitted
    loss_prints = [
        results[key]["printed"]
        for key, kind in kinds.items()
        if key.startswith("TFG101") and kind == "invalid"
    ]
    assert loss_prints and all(1 <= n < 4 for n in loss_prints), loss_prints


def _run_valid_example(code: str, marker: str, worker: str, tmp_path: Path) -> Any:
    """Writes the VALID example of rule `code` holding `marker` (markers stripped) and runs
    `worker` on it in a TensorFlow process: the JSON document it prints."""
    from tfgraphlint.engine.examples import strip_markers
    from tfgraphlint.engine.registry import find_rule

    rule = find_rule(code)
    assert rule is not None
    (source,) = [e.source for e in rule.VALID if marker in e.source]
    script = tmp_path / f"{code}_valid.py"
    script.write_text(strip_markers(source), encoding="utf-8")
    return run_tensorflow_script(worker, str(script))


_DIRECT_WORKER = r"""
import json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
namespace = runpy.run_path(sys.argv[1])
step = namespace["step"]
print(json.dumps([float(step(tf.ones([3]))) for _ in range(2)]))
"""


def test_a_metric_updated_directly_from_a_tf_function_is_converted(tmp_path: Path) -> None:
    """TFG510's VALID example: a `Metric` subclass whose `update_state` (a tensor `if`) only a
    tf.function of the module calls is converted by AutoGraph with it, and counts."""
    marker = "a direct call from converted code"
    assert _run_valid_example("TFG510", marker, _DIRECT_WORKER, tmp_path) == [1.0, 2.0]


_SCRIPT_WORKER = r"""
import contextlib, io, json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
with contextlib.redirect_stdout(io.StringIO()):
    namespace = runpy.run_path(sys.argv[1])
print(json.dumps(namespace["halved"].numpy().tolist()))
"""


def test_a_model_a_script_only_calls_eagerly_runs_its_python_loop(tmp_path: Path) -> None:
    """TFG510's VALID example: a script that makes its model at the top level and only calls
    it (no `fit`, no tf.function, no Keras `Input`) runs `call` eagerly: the tensor `while`
    halves the input three times (norm 5, then 2.5, 1.25, 0.625)."""
    marker = "a script that only calls its model eagerly"
    assert _run_valid_example("TFG510", marker, _SCRIPT_WORKER, tmp_path) == [[0.375, 0.5]]


_EAGER_METRIC_WORKER = r"""
import json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
recent = runpy.run_path(sys.argv[1])["recent"]
print(json.dumps([len(recent.values), round(float(recent.result()), 3)]))
"""


def test_a_metric_updated_only_eagerly_runs_its_python_code_every_call(tmp_path: Path) -> None:
    """TFG102's VALID example: a `Metric` subclass that no model is compiled with, updated
    from eager code only, keeps its Python list up to date (the last two of three values)."""
    marker = "only updated eagerly"
    assert _run_valid_example("TFG102", marker, _EAGER_METRIC_WORKER, tmp_path) == [2, 0.35]


_LIST_INPUT_WORKER = r"""
import json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
import numpy as np
heads = runpy.run_path(sys.argv[1])["Heads"]
inputs = [keras.Input((8, 8, 2)), keras.Input((4, 4, 2)), keras.Input((2, 2, 2))]
model = keras.Model(inputs, heads()(inputs))
model.compile(optimizer="sgd", loss="mse")
data = [np.ones((5, s, s, 2), "float32") for s in (8, 4, 2)]
model.fit(data, np.ones((5, 8, 8, 6), "float32"), batch_size=2, verbose=0)
print(json.dumps(list(model.output_shape)))
"""


@pytest.mark.parametrize("marker", ["inputs[1:])]", "rest = inputs[1:]"])
def test_a_keras_call_iterating_a_slice_of_its_list_input_traces(
    tmp_path: Path, marker: str
) -> None:
    """TFG502's VALID examples: a `call` whose input is a list of tensors iterates a slice
    of it (directly, or bound to a name first); built on symbolic inputs and fitted, it
    traces without an error."""
    shape = _run_valid_example("TFG502", marker, _LIST_INPUT_WORKER, tmp_path)
    assert shape == [None, 8, 8, 6]


_TF1_WORKER = r"""
import json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
print(json.dumps(runpy.run_path(sys.argv[1])["scaled"].numpy().tolist()))
"""


def test_a_tensorflow_1_module_calls_its_layer_eagerly(tmp_path: Path) -> None:
    """TFG401's VALID example: a module written for TF 1 (`enable_eager_execution`) calls
    its layer eagerly, where `.numpy()` works; its `call` is no context by default."""
    marker = "TensorFlow 1 code"
    assert _run_valid_example("TFG401", marker, _TF1_WORKER, tmp_path) == [[0.25, 1.0]]


_EAGER_LAYER_WORKER = r"""
import json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
print(json.dumps(runpy.run_path(sys.argv[1])["peaked"].numpy().tolist()))
"""


def test_a_layer_the_module_calls_eagerly_may_use_numpy(tmp_path: Path) -> None:
    """TFG401's VALID example: a module that traces no model (no tf.function, `fit` or
    `Input`) and calls its layer under a `GradientTape`: `call` runs eagerly."""
    marker = "a model called eagerly"
    assert _run_valid_example("TFG401", marker, _EAGER_LAYER_WORKER, tmp_path) == [[0.25, 1.0]]
