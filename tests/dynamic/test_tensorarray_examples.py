"""TFG508's examples of a bare write on a parameter (a `tf.while_loop` body's loop variable,
a helper's argument) against real TensorFlow: each is called compiled and under
`tf.config.run_functions_eagerly(True)` with `[1, 2, 3]`. Eagerly the writes land; in the
graph they are lost and the array stacks to zeros.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

_FUNCTIONS = ("repeat3", "copy3")  # the compiled functions of those examples

_WORKER = r"""
import importlib.util, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

names = sys.argv[1].split(",")
out = {}
for path in sys.argv[2:]:
    name = os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for fn_name in names:
        fn = getattr(module, fn_name, None)
        if fn is None:
            continue
        runs = {}
        for eager in (False, True):
            tf.config.run_functions_eagerly(eager)
            runs["eager" if eager else "graph"] = fn(tf.constant([1.0, 2.0, 3.0])).numpy().tolist()
        tf.config.run_functions_eagerly(False)
        out[name] = runs
print(json.dumps(out))
"""


def test_parameter_writes_are_lost_in_the_graph(tmp_path: Path) -> None:
    kinds = write_rule_examples("TFG508", tmp_path)
    paths = [str(tmp_path / f"{n}.py") for n in kinds]
    results = run_tensorflow_script(_WORKER, ",".join(_FUNCTIONS), *paths)
    assert len(results) == len(_FUNCTIONS), results
    for name, runs in results.items():
        assert kinds[name] == "invalid", name
        assert runs == {"eager": [1.0, 2.0, 3.0], "graph": [0.0, 0.0, 0.0]}, (name, runs)
