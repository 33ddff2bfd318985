"""Discovery's claims on rule examples, against real TensorFlow, in one TensorFlow process:

- a function passed to a tf.function that calls the parameter is traced with it: its `print`
  runs while tracing only (TFG101's INVALID example: once over four calls), while one the
  tf.function hands to `tf.py_function` prints on every call (TFG101's VALID example);
- a Keras `call` that a tf.function runs through an instance is traced with it: its `print`
  runs while tracing only (TFG101's INVALID example: fewer times than the three calls);
  so is one run through an attribute of the tf.function's `self` (`self.net = Net()` in
  `__init__`), and a sublayer's `call` that such a `call` runs (`self.double(x)`);
- a module that turns `tf.config.run_functions_eagerly(True)` on at its top level runs its
  tf.functions eagerly: `.numpy()` in one gives the value (TFG401's VALID example; the
  rule's INVALID examples show the same call failing while tracing).
"""

from __future__ import annotations

from typing import Any

import pytest
from tf_scripts import WORKER_PRELUDE, run_tensorflow_script, write_rule_examples

from tfgraphlint.engine.registry import find_rule

pytestmark = pytest.mark.dynamic

# Arguments: the eager module, then pairs of a module and a call to run three times in it.
_WORKER = (
    WORKER_PRELUDE
    + r"""
import contextlib, io

prints = {}
for name, call in zip(sys.argv[2::2], sys.argv[3::2]):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        module = load(name)
        for _ in range(3):
            eval(call, vars(module))
    lines = printed.getvalue().splitlines()
    prints[name] = sum(line.startswith(("x =", "y =")) for line in lines)
eager = load(sys.argv[1]).result
print(json.dumps({"prints": prints, "eager_result": eager}))
"""
)
_X = "tf.constant([1.0, 2.0])"


def _example(code: str, kind: str, text: str) -> str:
    rule = find_rule(code)
    assert rule is not None
    examples = rule.INVALID if kind == "invalid" else rule.VALID
    (index,) = [i for i, e in enumerate(examples) if text in e.source]
    return f"{code}_{kind}_{index}"


_PASSED = _example("TFG101", "invalid", "def evaluate(loss_fn, y)")
_PY_FUNCTION = _example("TFG101", "valid", "def evaluate(log_fn, y)")
_KERAS_CALL = _example("TFG101", "invalid", "return scale(x)")
_KERAS_ATTRIBUTE = _example("TFG101", "invalid", "return self.net(x)")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("discovery_examples")
    for code in ("TFG101", "TFG401"):
        sub = folder / code
        sub.mkdir()
        write_rule_examples(code, sub)
        for path in sub.iterdir():
            path.rename(folder / f"{code}_{path.name}")
    args = [
        _example("TFG401", "valid", "run_functions_eagerly(True)"),
        _PASSED,
        f"evaluate(squared_error, {_X})",
        _PY_FUNCTION,
        f"evaluate(log_values, {_X})",
        _KERAS_CALL,
        f"step({_X})",
        _KERAS_ATTRIBUTE,
        f"trainer.step({_X})",
    ]
    found: dict[str, Any] = run_tensorflow_script(_WORKER, *args, cwd=folder)
    return found


def test_a_passed_function_prints_while_tracing_only(results: dict[str, Any]) -> None:
    # Four calls: the module's own, then three.
    assert results["prints"][_PASSED] == 1
    assert results["prints"][_PY_FUNCTION] == 4  # noqa: PLR2004


def test_a_keras_call_run_by_a_tf_function_prints_while_tracing_only(
    results: dict[str, Any],
) -> None:
    assert 1 <= results["prints"][_KERAS_CALL] < 3  # noqa: PLR2004


def test_a_sublayer_of_a_model_on_self_prints_while_tracing_only(results: dict[str, Any]) -> None:
    assert 1 <= results["prints"][_KERAS_ATTRIBUTE] < 3  # noqa: PLR2004


def test_numpy_works_in_a_module_that_runs_functions_eagerly(results: dict[str, Any]) -> None:
    assert results["eager_result"] == 3.0  # noqa: PLR2004


_ALIAS_WORKER = (
    WORKER_PRELUDE
    + r"""
module = load(sys.argv[1])
print(json.dumps([float(v) for v in module.dataset]))
"""
)


def test_a_function_run_through_a_py_function_alias_runs_eagerly(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """TFG401's VALID example: `run = tf.py_function` (or `py_func` in the other branch),
    then `run(double, ...)` in a `Dataset.map` callback: `double` runs eagerly on every
    element, so its `.numpy()` works (1.0 and 2.0 doubled)."""
    folder = tmp_path_factory.mktemp("py_function_alias")
    write_rule_examples("TFG401", folder)
    name = _example("TFG401", "valid", "run = tf.py_function").removeprefix("TFG401_")
    assert run_tensorflow_script(_ALIAS_WORKER, name, cwd=folder) == [2.0, 4.0]


_POOL_WORKER = (
    WORKER_PRELUDE
    + r"""
module = load(sys.argv[1])
for value in (1.0, 2.0, 3.0):
    module.step(tf.constant([value]))
print(json.dumps(len(module.pool)))
"""
)


def test_a_list_bound_by_tuple_unpacking_grows_while_tracing_only(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """TFG102's INVALID example: `pool, seen = [], set()` at module level, and a helper of a
    tf.function appends to `pool`: three calls of one signature leave one element."""
    folder = tmp_path_factory.mktemp("pool")
    write_rule_examples("TFG102", folder)
    name = _example("TFG102", "invalid", "pool, seen = [], set()").removeprefix("TFG102_")
    assert run_tensorflow_script(_POOL_WORKER, name, cwd=folder) == 1


_TO_NUMPY_WORKER = (
    WORKER_PRELUDE
    + r"""
import keras
try:
    module = load(sys.argv[1])
    module.running_total(tf.constant([1.0, 2.0]))
    error = None
except Exception as exc:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    error = type(exc).__name__ + ": " + (lines[-1] if lines else "")
print(json.dumps({"keras": keras.__version__, "error": error}))
"""
)


def test_convert_to_numpy_of_a_tensor_fails_while_tracing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """TFG401's INVALID example: `ops.convert_to_numpy(ops.cumsum(x))` in a tf.function raises
    `NotImplementedError` on Keras 3 (TF 2.16+); Keras 2 has no `keras.ops` to import."""
    folder = tmp_path_factory.mktemp("to_numpy")
    write_rule_examples("TFG401", folder)
    rule = find_rule("TFG401")
    assert rule is not None
    (index,) = [i for i, e in enumerate(rule.INVALID) if "convert_to_numpy" in e.source]
    found = run_tensorflow_script(_TO_NUMPY_WORKER, f"invalid_{index}", cwd=folder)
    error = found["error"]
    assert error is not None
    if found["keras"].startswith("2."):
        assert "cannot import name 'ops'" in error, error
    else:
        assert error.startswith("NotImplementedError") and "symbolic" in error, error
