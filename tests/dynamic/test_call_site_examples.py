"""TFG205's examples against real TensorFlow: each example runs as a script, and every
INVALID one either retraces one of its `tf.function`s (a trace count above one) or stops with
the singleton-variables `ValueError` its message names; no VALID example does either."""

from __future__ import annotations

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
    out[name] = {"error": error, "traces": traces}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Any]]:
    folder = tmp_path_factory.mktemp("call_site_examples")
    kinds = write_rule_examples("TFG205", folder)
    doc = run_tensorflow_script(_WORKER, *(str(folder / f"{n}.py") for n in kinds))
    return kinds, doc


def test_new_object_examples_match_tensorflow(
    outcomes: tuple[dict[str, str], dict[str, Any]],
) -> None:
    kinds, doc = outcomes
    for name, kind in kinds.items():
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
    for name in ("invalid_0", "invalid_1"):
        assert doc[name]["error"] is not None and SINGLETON in doc[name]["error"], doc[name]
    assert doc["invalid_2"] == {"error": None, "traces": {"scaled": 3}}
