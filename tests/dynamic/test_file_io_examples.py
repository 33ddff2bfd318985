"""TFG107's claims against real TensorFlow, on the rule's own first two INVALID examples: a
file written in a `tf.function` is written once over three calls, and a value read from a file
stays what it was at trace time after the file changes. The first VALID example's eager loop,
by contrast, writes on every call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.registry import find_rule

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
    rule = find_rule("TFG107")
    assert rule is not None
    for kind, examples in (("invalid", rule.INVALID), ("valid", rule.VALID)):
        for index, example in enumerate(examples):
            source = strip_markers(example.source)
            (tmp_path / f"{kind}_{index}.py").write_text(source, encoding="utf-8")
    (tmp_path / "config.json").write_text('{"scale": 1.0}', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.splitlines()[-1])
    assert results == {
        "log lines after 3 calls": 1,
        "scale read": [2.0, 2.0],
        "eager log lines after 3 calls": 3,
    }
