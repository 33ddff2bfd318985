"""TFG108's claims against real TensorFlow, on the rule's INVALID examples: each flagged
logging call, in a `tf.function` called three times, logs once, and what it logs is the
symbolic tensor (`Tensor("...")`), not a value. The first VALID example's trace-time note is
logged once too (a deliberate idiom, not flagged), with a shape and no tensor.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

from tfgraphlint.engine.registry import find_rule

pytestmark = pytest.mark.dynamic

_WORKER = r"""
import importlib.util, json, logging, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from absl import logging as absl_logging

records = []
class Sink(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
# absl and tf.compat.v1.logging log through the "absl" and "tensorflow" loggers, which
# propagate to the root logger: one handler there sees every record once.
root = logging.getLogger()
root.addHandler(Sink())
root.setLevel(logging.INFO)
absl_logging.set_verbosity(absl_logging.INFO)
tf.get_logger().setLevel(logging.INFO)

out = {}
for path in sys.argv[1:]:
    name = os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    del records[:]
    for attr, obj in list(vars(module).items()):
        if hasattr(obj, "get_concrete_function"):
            fns = [obj]
        elif isinstance(obj, type) and issubclass(obj, tf.Module):
            instance = obj()
            fns = [getattr(instance, n) for n in vars(obj) if not n.startswith("_")]
        else:
            continue
        for fn in fns:
            for i in range(3):
                fn(tf.constant([1.0, float(i)]))
    out[name] = list(records)
print(json.dumps(out))
"""


def test_examples_match_tensorflow(tmp_path: Path) -> None:
    kinds = write_rule_examples("TFG108", tmp_path)
    logged = run_tensorflow_script(_WORKER, *(str(tmp_path / f"{n}.py") for n in kinds))
    rule = find_rule("TFG108")
    assert rule is not None
    for index, example in enumerate(rule.INVALID):
        flagged = example.source.count("# error: TFG108")
        records = logged[f"invalid_{index}"]
        # One record per flagged call over three calls, each a symbolic tensor.
        assert len(records) == flagged, records
        assert all('Tensor("' in r for r in records), records
    (note,) = logged["valid_0"]
    assert "Tensor(" not in note and "tracing train_step for shape" in note
