"""TFG401's VALID examples of a `train_step` driven by hand, in a module that fits another
model, and of one driven by the model's own `fit` (Keras's never runs): on TF 2.21 the step
runs eagerly (`loss.numpy()` gives a number on every call), which is why discovery does not
treat it as traced by `fit`."""

from __future__ import annotations

from pathlib import Path

import pytest
from tf_scripts import run_tensorflow_script

from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.registry import find_rule

pytestmark = pytest.mark.dynamic

_WORKER = r"""
import json, runpy, sys
namespace = runpy.run_path(sys.argv[1])
seen = namespace["probe"].seen
print(json.dumps([isinstance(v, float) or hasattr(v, "dtype") for v in seen]))
"""


@pytest.mark.parametrize("marker", ["driven by hand", "called by the own fit"])
def test_a_step_driven_by_hand_runs_eagerly(tmp_path: Path, marker: str) -> None:
    rule = find_rule("TFG401")
    assert rule is not None
    (source,) = [e.source for e in rule.VALID if marker in e.source]
    script = tmp_path / "driven_by_hand.py"
    script.write_text(strip_markers(source), encoding="utf-8")
    # Three eager steps, each `loss.numpy()` a NumPy value (traced, it would have raised).
    assert run_tensorflow_script(_WORKER, str(script)) == [True, True, True]
