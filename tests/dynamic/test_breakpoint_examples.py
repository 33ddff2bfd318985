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

from pathlib import Path

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

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


def test_examples_match_tensorflow(tmp_path: Path) -> None:
    kinds = write_rule_examples("TFG106", tmp_path)
    results = run_tensorflow_script(_WORKER, *(str(tmp_path / f"{n}.py") for n in kinds))
    assert set(results) == set(kinds)
    for name, kind in kinds.items():
        calls, stops = results[name]["calls"], results[name]["stops"]
        if kind == "invalid":
            assert calls >= 3 and stops == 1, (name, results[name])
        else:
            assert stops in (0, calls), (name, results[name])
