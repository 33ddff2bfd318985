"""TFG109's claims against real TensorFlow, on the rule's own examples: a list or dict
argument modified in a `tf.function` makes the call fail with "should not modify its Python
input arguments" (a list default too), an attribute of another argument is set only while
tracing, and a copy may be modified.
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

def load(name):
    spec = importlib.util.spec_from_file_location(name, name + ".py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

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
print(json.dumps(out))
"""

_RAISES = "should not modify its Python input arguments"


def test_examples_match_tensorflow(tmp_path: Path) -> None:
    rule = find_rule("TFG109")
    assert rule is not None
    for kind, examples in (("invalid", rule.INVALID), ("valid", rule.VALID)):
        for index, example in enumerate(examples):
            source = strip_markers(example.source)
            (tmp_path / f"{kind}_{index}.py").write_text(source, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    assert _RAISES in out["list append"]
    assert _RAISES in out["dict update"]
    assert _RAISES in out["list default"]
    assert out["attribute after 3 calls"] == 1
    assert out["copy"] is None
    assert out["lazy"] is None
