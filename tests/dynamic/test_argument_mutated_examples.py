"""TFG109's claims against real TensorFlow, on the rule's own examples: a list or dict
argument modified in a `tf.function` makes the call fail with "should not modify its Python
input arguments" (a list default too), an attribute of another argument is set only while
tracing, and a copy may be modified; a Keras optimizer's `learning_rate` is set on every
call.
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
        fn(*args)
        return None
    except Exception as exc:
        return str(exc)

x = tf.constant([1.0, 2.0])
out = {}
out["list append"] = outcome(load("invalid_0").train_step, x, [])
out["dict update"] = outcome(load("invalid_1").collect, x, {})
third = load("invalid_2")
config = third.Config()
for _ in range(3):
    third.step(x, config)
out["attribute after 3 calls"] = config.calls
out["list default"] = outcome(third.fast, x)
out["copy"] = outcome(load("valid_1").extend, x, [x])

class Cache:
    kernel = None
lazy = Cache()
out["lazy"] = outcome(load("valid_3").build, x, lazy)
set_rate = load("valid_4").set_rate
optimizer = tf.keras.optimizers.SGD(0.1)
rates = []
for rate in (0.01, 0.02, 0.03):
    set_rate(x, optimizer, tf.constant(rate))
    rates.append(round(float(optimizer.learning_rate.numpy()), 4))
out["learning rate per call"] = rates
print(json.dumps(out))
"""
)

_RAISES = "should not modify its Python input arguments"


def test_examples_match_tensorflow(tmp_path: Path) -> None:
    write_rule_examples("TFG109", tmp_path)
    out = run_tensorflow_script(_WORKER, cwd=tmp_path)
    assert _RAISES in out["list append"]
    assert _RAISES in out["dict update"]
    assert _RAISES in out["list default"]
    assert out["attribute after 3 calls"] == 1
    assert out["copy"] is None
    assert out["lazy"] is None
    # A Keras optimizer's `learning_rate` setter assigns its variable on every call.
    assert out["learning rate per call"] == [0.01, 0.02, 0.03]
