"""Discovery's claims on rule examples, against real TensorFlow, in one TensorFlow process:

- a function passed to a tf.function that calls the parameter is traced with it: its `print`
  runs while tracing only (TFG101's INVALID example: once over three calls), while one the
  tf.function hands to `tf.py_function` prints on every call (TFG101's VALID example);
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

_WORKER = (
    WORKER_PRELUDE
    + r"""
import contextlib, io

passed_prints = {}
for name, passed in zip(sys.argv[2::2], sys.argv[3::2]):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        module = load(name)  # calls the tf.function once
        for _ in range(2):
            module.evaluate(getattr(module, passed), tf.constant([1.0, 2.0]))
    passed_prints[name] = printed.getvalue().count("y =")
eager = load(sys.argv[1]).result
print(json.dumps({"passed_prints": passed_prints, "eager_result": eager}))
"""
)


def _example(code: str, kind: str, text: str) -> str:
    rule = find_rule(code)
    assert rule is not None
    examples = rule.INVALID if kind == "invalid" else rule.VALID
    (index,) = [i for i, e in enumerate(examples) if text in e.source]
    return f"{kind}_{index}"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[str]]:
    folder = tmp_path_factory.mktemp("discovery_examples")
    for code in ("TFG101", "TFG401"):
        sub = folder / code
        sub.mkdir()
        write_rule_examples(code, sub)
        for path in sub.iterdir():
            path.rename(folder / f"{code}_{path.name}")
    names = [
        "TFG401_" + _example("TFG401", "valid", "run_functions_eagerly(True)"),
        "TFG101_" + _example("TFG101", "invalid", "def evaluate(loss_fn, y)"),
        "squared_error",
        "TFG101_" + _example("TFG101", "valid", "def evaluate(log_fn, y)"),
        "log_values",
    ]
    return run_tensorflow_script(_WORKER, *names, cwd=folder), names


def test_a_passed_function_prints_while_tracing_only(
    results: tuple[dict[str, Any], list[str]],
) -> None:
    found, names = results
    assert found["passed_prints"] == {names[1]: 1, names[3]: 3}


def test_numpy_works_in_a_module_that_runs_functions_eagerly(
    results: tuple[dict[str, Any], list[str]],
) -> None:
    assert results[0]["eager_result"] == 3.0
