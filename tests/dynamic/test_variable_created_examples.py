"""TFG301's `TimeDistributed` examples against real TensorFlow: a wrapper of a weightless layer
made in a trace works across retraces, a wrapper of a layer with weights raises the
singleton-variable `ValueError` the message names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tf_scripts import WORKER_PRELUDE, run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

_WORKER = (
    WORKER_PRELUDE
    + r"""

def outcome(fn, *args):
    try:
        return ["ok", list(fn(*args).shape)]
    except Exception as exc:
        return [type(exc).__name__, str(exc)]

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
