"""TFG501's examples against real TensorFlow: tracing every INVALID example fails with one of
the `ValueError`s the rule's documentation quotes, and no VALID example does.

It runs the tracing worker of `test_control_flow_examples` (every module-level `tf.function`
traced with its `input_signature` or float vectors, a `tf.data.Dataset` for a parameter
annotated as one).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_control_flow_examples import _WORKER
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

SIGNATURES = (
    "must also be initialized in the",
    "is None at the end of the",
    "must be defined before the loop",
)


def test_examples_match_tensorflow(tmp_path: Path) -> None:
    kinds = write_rule_examples("TFG501", tmp_path)
    outcomes = run_tensorflow_script(_WORKER, *(str(tmp_path / f"{n}.py") for n in kinds))
    for name, kind in kinds.items():
        errors = [e for e in outcomes[name].values() if e is not None]
        hits = [e for e in errors if any(s in e for s in SIGNATURES)]
        if kind == "invalid":
            assert hits, (name, outcomes[name] or "the example defines no tf.function")
        else:
            assert not hits, (name, outcomes[name])
