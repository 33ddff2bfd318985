"""TFG106's examples against real TensorFlow: in every INVALID example the debugger is entered
exactly once over three calls (at trace time), and in every VALID example never or on every
call, never only once.

One worker process imports TensorFlow, replaces the debugger entry points with counters
(`sys.breakpointhook`, `pdb.set_trace`, and an `ipdb` module, which is not installed here),
runs each example module and calls what it compiled three times: each module-level
`tf.function` with a float vector, each module-level `tf.data.Dataset` iterated over three
elements, and each Keras `Model` subclass fitted for three steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.registry import find_rule

pytestmark = pytest.mark.dynamic

_WORKER = r"""
import importlib.util, json, os, sys, types
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf
import pdb

stops = []
sys.breakpointhook = lambda *a, **k: stops.append("breakpoint")
pdb.set_trace = lambda *a, **k: stops.append("pdb")
ipdb = types.ModuleType("ipdb")
ipdb.set_trace = lambda *a, **k: stops.append("ipdb")
sys.modules["ipdb"] = ipdb

out = {}
for path in sys.argv[1:]:
    name = os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    del stops[:]  # a Dataset.map callback is traced by `map`, while the module runs
    spec.loader.exec_module(module)
    calls = 0
    for attr, obj in list(vars(module).items()):
        if attr.startswith("_"):
            continue
        if hasattr(obj, "get_concrete_function"):
            for i in range(3):
                obj(tf.constant([1.0, float(i)]))
                calls += 1
        elif isinstance(obj, tf.data.Dataset):
            for _ in obj.take(3):
                calls += 1
        elif isinstance(obj, type) and issubclass(obj, tf.keras.Model):
            model = obj()
            model.compile(optimizer="sgd")
            model.fit(np.zeros((6, 2), "float32"), np.zeros((6, 1), "float32"),
                      batch_size=2, epochs=1, verbose=0)
            calls += 3
    out[name] = {"calls": calls, "stops": len(stops)}
print(json.dumps(out))
"""


def test_examples_match_tensorflow(tmp_path: os.PathLike[str]) -> None:
    rule = find_rule("TFG106")
    assert rule is not None
    paths, kinds = [], {}
    for kind, examples in (("invalid", rule.INVALID), ("valid", rule.VALID)):
        for index, example in enumerate(examples):
            path = os.path.join(tmp_path, f"{kind}_{index}.py")
            with open(path, "w", encoding="utf-8") as f:
                f.write(strip_markers(example.source))
            paths.append(path)
            kinds[f"{kind}_{index}"] = kind
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER, *paths],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.splitlines()[-1])
    assert set(results) == set(kinds)
    for name, kind in kinds.items():
        calls, stops = results[name]["calls"], results[name]["stops"]
        if kind == "invalid":
            assert calls >= 3 and stops == 1, (name, results[name])
        else:
            assert stops in (0, calls), (name, results[name])
