"""TFG503's `tf.while_loop`-body and helper examples (the last two VALID and the last two
INVALID) against real TensorFlow: tracing each INVALID one fails with `InaccessibleTensorError`
(a tensor appended in a graph loop body read outside it), and no VALID one does.

It runs the tracing worker of `test_control_flow_examples` (every module-level `tf.function`
traced with its `input_signature` or float vectors).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_control_flow_examples import _WORKER
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

SIGNATURE = "cannot be accessed from FuncGraph"


def test_examples_match_tensorflow(tmp_path: Path) -> None:
    every = write_rule_examples("TFG503", tmp_path)
    chosen = _last_two(every, "invalid") | _last_two(every, "valid")
    kinds = {n: k for n, k in every.items() if n in chosen}
    outcomes = run_tensorflow_script(_WORKER, *(str(tmp_path / f"{n}.py") for n in kinds))
    for name, kind in kinds.items():
        errors = [e for e in outcomes[name].values() if e is not None]
        hits = [e for e in errors if SIGNATURE in e]
        if kind == "invalid":
            assert hits, (name, outcomes[name] or "the example defines no tf.function")
        else:
            assert not hits, (name, outcomes[name])


def _last_two(kinds: dict[str, str], kind: str) -> set[str]:
    count = sum(1 for k in kinds.values() if k == kind)
    return {f"{kind}_{count - 2}", f"{kind}_{count - 1}"}
