"""The project phase of Keras tracing against real TensorFlow: the layer and metric of
`tests/data/keras_project/layers.py`, whose findings `tfgraphlint check` drops when the
project's only other module calls them eagerly (`tests/test_keras_project.py`), really run
eagerly there: the tensor `if` and `.numpy()` work. Built into a functional model from a Keras
`Input` (a use that keeps the findings), Keras 3 traces the layer and the `if` fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tf_scripts import run_tensorflow_script

pytestmark = pytest.mark.dynamic

DATA = Path(__file__).parents[1] / "data" / "keras_project"

_WORKER = r"""
import contextlib, io, json, os, runpy, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
import tensorflow as tf
sys.path.insert(0, os.getcwd())
out = {"keras": keras.__version__}
for script in sys.argv[1:]:
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            runpy.run_path(script, run_name="__main__")
        out[script] = {"error": None, "printed": printed.getvalue().split()}
    except Exception as exc:
        out[script] = {"error": f"{type(exc).__name__}: {exc}"[:300], "printed": []}
print(json.dumps(out))
"""


def test_the_eager_script_runs_what_a_trace_would_break(tmp_path: Path) -> None:
    for name in ("layers.py", "train.py", "functional.py"):
        shutil.copy(DATA / name, tmp_path / name)
    out = run_tensorflow_script(_WORKER, "train.py", "functional.py", cwd=tmp_path)
    # `gate(tf.ones(3))` returns its input (the `if` ran on an eager tensor), the layer has
    # no weights, and `update_state` read `.numpy()` of 2.0.
    assert out["train.py"] == {"error": None, "printed": ["[1.", "1.", "1.]", "0", "2.0"]}
    functional = out["functional.py"]["error"]
    if int(out["keras"].split(".")[0]) >= 3:
        assert functional is not None and "OperatorNotAllowedInGraphError" in functional
    else:  # Keras 2 converts `call` with AutoGraph: the `if` becomes a `tf.cond`
        assert functional is None
