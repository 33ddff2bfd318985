"""TFG501's examples against real TensorFlow: every INVALID example either fails to trace with
one of the `ValueError`s the rule's documentation quotes, or traces and runs on a non-empty
input but fails on an empty one with the loop's run-time assertion; no VALID example does
either.

The worker traces every module-level `tf.function` of each example like the one of
`test_control_flow_examples` (its `input_signature`, or a float vector per parameter without a
default, a `tf.data.Dataset` for one annotated as such), then calls it with three-element and
with empty inputs of that signature.
"""

from __future__ import annotations

from typing import Any

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

TRACE_ERRORS = (
    "must also be initialized in the",
    "is None at the end of the",
    "must be defined before the loop",
)
ZERO_ITERATIONS = "loop must iterate at least once to initialize"

_WORKER = r"""
import importlib.util, inspect, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

def specs(fn):
    if fn.input_signature is not None:
        return list(fn.input_signature)
    out = []
    for name, param in inspect.signature(fn.python_function).parameters.items():
        if param.default is not inspect.Parameter.empty:
            break
        if "Dataset" in str(param.annotation):
            out.append("dataset")
        else:
            out.append(tf.TensorSpec([None], tf.float32))
    return out

def values(spec_list, size):
    out = []
    for spec in spec_list:
        if spec == "dataset":
            out.append(tf.data.Dataset.range(size))
        else:
            shape = [size if d is None else d for d in spec.shape.as_list()]
            out.append(tf.ones(shape, spec.dtype))
    return out

def error(exc):
    lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
    lines = [l for l in lines if not l.startswith(("File ", "See https", "in user code"))]
    return " ".join(lines[-3:]) if lines else type(exc).__name__

out = {}
for path in sys.argv[1:]:
    name = os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = {}
    for attr, obj in vars(module).items():
        if attr.startswith("_") or not hasattr(obj, "get_concrete_function"):
            continue
        found = {"trace": None, "three": None, "empty": None}
        spec_list = specs(obj)
        try:
            dataset = tf.data.Dataset.range(5)
            obj.get_concrete_function(*(dataset if s == "dataset" else s for s in spec_list))
        except Exception as exc:
            found["trace"] = error(exc)
        if found["trace"] is None:
            for key, size in (("three", 3), ("empty", 0)):
                try:
                    obj(*values(spec_list, size))
                except Exception as exc:
                    found[key] = error(exc)
        results[attr] = found
    out[name] = results
print(json.dumps(out))
"""


def _hits(found: dict[str, str | None]) -> list[str]:
    trace, three, empty = found["trace"], found["three"], found["empty"]
    hits = [trace] if trace is not None and any(s in trace for s in TRACE_ERRORS) else []
    if trace is None and three is None and empty is not None and ZERO_ITERATIONS in empty:
        hits.append(empty)
    return hits


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Any]]:
    """The examples' kinds and what the worker saw of each, in one TensorFlow process."""
    folder = tmp_path_factory.mktemp("tfg501_examples")
    kinds = write_rule_examples("TFG501", folder)
    outcomes = run_tensorflow_script(_WORKER, *(str(folder / f"{n}.py") for n in kinds))
    return kinds, outcomes


def test_examples_match_tensorflow(examples: tuple[dict[str, str], dict[str, Any]]) -> None:
    kinds, outcomes = examples
    for name, kind in kinds.items():
        hits = [h for found in outcomes[name].values() for h in _hits(found)]
        if kind == "invalid":
            assert hits, (name, outcomes[name] or "the example defines no tf.function")
        else:
            assert not hits, (name, outcomes[name])


def test_zero_iteration_examples_fail_only_when_empty(
    examples: tuple[dict[str, str], dict[str, Any]],
) -> None:
    """The two loop examples are proven by the run-time assertion, not by a trace error: the
    claim in the message (it traces, and fails only when the loop runs zero times) holds."""
    _, outcomes = examples
    for name in ("invalid_6", "invalid_7"):
        (found,) = outcomes[name].values()
        assert found["trace"] is None and found["three"] is None, (name, found)
        assert found["empty"] is not None and ZERO_ITERATIONS in found["empty"], (name, found)
