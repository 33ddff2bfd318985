"""TFG110's examples against real TensorFlow: each example module is run twice, once
compiled and once under `tf.config.run_functions_eagerly(True)`, with the same calls and
state changes in between. In every INVALID example the compiled results differ from the
eager ones (the graph kept the value read at trace time: a `self` counter, `len` of a list
attribute, a module dict changed in place, `next` of a Python iterator); in every VALID
example they are the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

_AGENT = "a = m.Agent()\nfor _ in range(5):\n    out.append(float(a.act(one)))\n    a.observe()"
# What each example's module is made to do between calls (in the order of the examples).
_DRIVERS = {
    "invalid_0": _AGENT,
    "invalid_1": "t = m.Trainer(0)\nfor _ in range(4):\n    out.append(float(t.train(one)))",
    "invalid_2": "r = m.Replay()\nfor i in range(3):\n    out.append(float(r.size(one))); r.add(i)",
    "invalid_3": "for v in (2.0, 3.0, 4.0):\n    out.append(float(m.apply(one))); m.set_scale(v)",
    "invalid_4": "for _ in range(3):\n    out.append(float(m.shift(one)))",
    "invalid_5": _AGENT.replace("m.Agent()", "m.make_agent()"),
    "valid_0": _AGENT,
    "valid_1": "s = m.Scaler(2.0)\nfor _ in range(3):\n    out.append(float(s(one)))",
    "valid_2": "c = m.Counter()\nfor _ in range(3):\n    out.append(float(c.run(one)))",
    "valid_3": "for _ in range(3):\n    out.append(float(m.step()))",
    "valid_4": "for _ in range(3):\n    out.append(float(m.apply(one)))",
    "valid_5": "t = m.Tracker()\nfor _ in range(3):\n    out.append(float(t.update(one)))",
    "valid_6": "c = m.Model()\nfor _ in range(3):\n    out.append(float(c()))",
    "valid_7": "s = m.Scales()\ns.start()\nfor _ in range(3):\n    out.append(float(s.apply(one)))"
    "\n    s.bump()",
}

_WORKER = r"""
import importlib.util, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

drivers = json.loads(sys.argv[1])
one = tf.constant(1.0)
out_all = {}
for path in sys.argv[2:]:
    name = os.path.basename(path)[:-3]
    runs = {}
    for eager in (False, True):
        tf.config.run_functions_eagerly(eager)
        spec = importlib.util.spec_from_file_location(f"{name}_{eager}", path)
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        out = []
        exec(drivers[name], {"m": m, "out": out, "one": one})
        runs["eager" if eager else "graph"] = out
    tf.config.run_functions_eagerly(False)
    out_all[name] = runs
print(json.dumps(out_all))
"""


def test_examples_match_tensorflow(tmp_path: Path) -> None:
    kinds = write_rule_examples("TFG110", tmp_path)
    assert set(kinds) == set(_DRIVERS), "every example needs a driver"
    results = run_tensorflow_script(
        _WORKER, json.dumps(_DRIVERS), *(str(tmp_path / f"{n}.py") for n in kinds)
    )
    for name, kind in kinds.items():
        graph, eager = results[name]["graph"], results[name]["eager"]
        assert len(graph) >= 3, (name, results[name])
        if kind == "invalid":
            # frozen: the graph repeats its first answer while eager code sees the change
            assert graph != eager and len(set(graph)) == 1, (name, results[name])
        else:
            assert graph == eager, (name, results[name])
