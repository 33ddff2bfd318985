"""TFG107's claims against real TensorFlow, on the rule's own first two INVALID examples: a
file written in a `tf.function` is written once over three calls, and a value read from a file
stays what it was at trace time after the file changes. The first VALID example's eager loop,
by contrast, writes on every call.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

_WORKER = r"""
import importlib.util, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

def load(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

out = {}
writes = load("invalid_0.py")
for i in range(3):
    writes.train_step(tf.constant([1.0, float(i)]))
out["log lines after 3 calls"] = len(open("log.txt").read().splitlines())

with open("config.json", "w") as f:
    json.dump({"scale": 2.0}, f)
reads = load("invalid_1.py")
first = float(reads.step(tf.constant(1.0)))
with open("config.json", "w") as f:
    json.dump({"scale": 5.0}, f)
out["scale read"] = [first, float(reads.step(tf.constant(1.0)))]

os.remove("log.txt")
eager = load("valid_1.py")
eager.train([tf.constant(1.0)] * 3)
out["eager log lines after 3 calls"] = len(open("log.txt").read().splitlines())
print(json.dumps(out))
"""


def test_examples_match_tensorflow(tmp_path: Path) -> None:
    write_rule_examples("TFG107", tmp_path)
    (tmp_path / "config.json").write_text('{"scale": 1.0}', encoding="utf-8")
    results = run_tensorflow_script(_WORKER, cwd=tmp_path)
    assert results == {
        "log lines after 3 calls": 1,
        "scale read": [2.0, 2.0],
        "eager log lines after 3 calls": 3,
    }
