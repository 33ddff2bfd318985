"""TFG301's examples against real TensorFlow: a `TimeDistributed` wrapper of a weightless
layer made in a trace works across retraces, one of a layer with weights raises the
singleton-variable `ValueError` the message names; a layer made and never called, and a
functional model of existing layers, trace twice without an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tf_scripts import WORKER_PRELUDE, run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

# The shape a call returns, or the error it raises.
_OUTCOME = r"""

def outcome(fn, *args):
    try:
        return ["ok", list(fn(*args).shape)]
    except Exception as exc:
        return [type(exc).__name__, str(exc)]
"""

_WORKER = (
    WORKER_PRELUDE
    + _OUTCOME
    + r"""
kinds = json.loads(sys.argv[1])
out = {}
for name in kinds:
    for fn_name in ("pooled", "per_frame"):
        if f"def {fn_name}(" in open(name + ".py").read():  # other examples fail on import
            fn = getattr(load(name), fn_name)
            # Two shapes: the second call traces again.
            first = outcome(fn, tf.ones([2, 3, 4, 4, 1]))
            out[fn_name] = [first, outcome(fn, tf.ones([1, 3, 6, 6, 1]))]
print(json.dumps(out))
"""
)


def test_time_distributed_examples_match_tensorflow(tmp_path: Path) -> None:
    import json

    kinds = write_rule_examples("TFG301", tmp_path)
    out = run_tensorflow_script(_WORKER, json.dumps(sorted(kinds)), cwd=tmp_path)
    assert out["pooled"] == [["ok", [2, 3, 1, 1, 1]], ["ok", [1, 3, 1, 1, 1]]]
    error, message = out["per_frame"][0]
    assert error == "ValueError", message
    assert "singleton tf.Variables created on the first call" in message


_BUILD_WORKER = (
    WORKER_PRELUDE
    + _OUTCOME
    + r"""
out = {}
for name in sys.argv[1:]:
    for fn_name in ("widen", "make_head"):
        if f"def {fn_name}(" in open(name + ".py").read():
            fn = getattr(load(name), fn_name)
            out[fn_name] = [outcome(fn, tf.ones([2, 3])), outcome(fn, tf.ones([5, 3]))]
    if "def feature_distance(" in open(name + ".py").read():
        fn = load(name).feature_distance
        out["feature_distance"] = [
            outcome(lambda a: tf.reshape(fn(a, tf.zeros_like(a)), [1]), tf.ones([n, 6]))
            for n in (2, 3)
        ]
print(json.dumps(out))
"""
)


def test_layer_made_but_not_built_in_a_trace(tmp_path: Path) -> None:
    """A layer made in the trace and never called owns no variable, and a functional model
    of existing layers creates none: two traces work. A `Sequential` given an input builds
    when made, and raises the message's `ValueError`."""
    kinds = write_rule_examples("TFG301", tmp_path)
    out = run_tensorflow_script(_BUILD_WORKER, *sorted(kinds), cwd=tmp_path)
    assert out["widen"] == [["ok", [2, 12]], ["ok", [5, 12]]], out["widen"]
    # A functional model of existing layers, made in the trace: two traces, no error.
    assert out["feature_distance"] == [["ok", [1]], ["ok", [1]]], out["feature_distance"]
    error, message = out["make_head"][0]
    assert error == "ValueError", message
    assert "singleton tf.Variables created on the first call" in message
