"""TFG404, TFG405 and TFG514's examples against real TensorFlow: every INVALID example fails
to trace with the error its rule's docs quote, and every VALID example traces and runs.

One worker process imports TensorFlow, runs each example module and traces what it compiled:
a module-level `tf.function` with an `input_signature` through `get_concrete_function()`, one
without it called with float tensors of shape [4, 3], [3, 3] and [2, 3] (a new batch size
each time, so `reduce_retracing` relaxes it to `None`), and a Keras `Model` subclass fitted on
ten samples in batches of four (the last batch holds two, and Keras traces its step again
with a `None` batch).
"""

from __future__ import annotations

from typing import Any

import pytest
from tf_scripts import run_tensorflow_script, write_rule_examples

pytestmark = pytest.mark.dynamic

_WORKER = r"""
import importlib.util, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow as tf

def last_line(exc):
    # Keras ends a `call`'s error with the arguments it received: the error is above them.
    text = str(exc)
    for marker in ("Call arguments received by", "Arguments received by"):
        text = text.split(marker)[0]
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[-1] if lines else ""

out = {}
for path in sys.argv[1:]:
    name = os.path.relpath(path, os.path.dirname(os.path.dirname(path)))[:-3]
    spec = importlib.util.spec_from_file_location(name.replace(os.sep, "_"), path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:  # `from keras import ops` under Keras 2
        out[name] = {"traced": 0, "errors": [["ImportError", str(exc)]]}
        continue
    traced, errors = 0, []
    for attr, obj in list(vars(module).items()):
        if attr.startswith("_"):
            continue
        try:
            if hasattr(obj, "get_concrete_function"):
                if obj.input_signature is not None:
                    obj.get_concrete_function()
                else:
                    for n in (4, 3, 2):
                        obj(tf.reshape(tf.range(n * 3, dtype=tf.float32), [n, 3]))
                traced += 1
            elif isinstance(obj, type) and issubclass(obj, tf.keras.Model):
                model = obj()
                model.compile(optimizer="sgd")
                model.fit(np.ones((10, 3), "float32"), np.ones((10, 1), "float32"),
                          batch_size=4, epochs=1, verbose=0)
                traced += 1
        except Exception as exc:
            errors.append([type(exc).__name__, last_line(exc)])
    out[name] = {"traced": traced, "errors": errors}
import keras
out["__keras__"] = keras.__version__
print(json.dumps(out))
"""

# What each rule's docs say TensorFlow 2.21 raises (a part of the last line of the error).
_CLAIMS = {
    "TFG404": (
        "Expected int32, but got None",
        "None values not supported",
        "Failed to convert elements of (None",
        "Cannot convert a partially known TensorShape (None",
    ),
    "TFG405": (
        "Expected any non-tensor type, but got a tensor instead",
        "Using a symbolic `tf.Tensor` as a Python `bool` is not allowed",
        "len is not well defined for a symbolic Tensor",
        "not 'SymbolicTensor'",
        "Iterating over a symbolic `tf.Tensor` is not allowed",
    ),
    "TFG514": (
        "has type float32 that does not match type int32",
        "before the loop, but shape",
        "has dtype int32 in the main branch, but dtype float32 in the else branch",
        "len(graphs[1].outputs): 0",
    ),
}


_Results = dict[str, tuple[dict[str, str], Any, dict[str, str]]]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> _Results:
    folders = {code: tmp_path_factory.mktemp(code) for code in _CLAIMS}
    kinds = {code: write_rule_examples(code, folder) for code, folder in folders.items()}
    paths = [str(folders[code] / f"{n}.py") for code in _CLAIMS for n in kinds[code]]
    found = run_tensorflow_script(_WORKER, *paths)
    keras2 = found["__keras__"].startswith("2.")
    return {
        code: (
            kinds[code],
            {n: found[f"{folders[code].name}/{n}"] for n in kinds[code]},
            {
                n: (folders[code] / f"{n}.py").read_text(encoding="utf-8") if keras2 else ""
                for n in kinds[code]
            },
        )
        for code in _CLAIMS
    }


@pytest.mark.parametrize("code", sorted(_CLAIMS))
def test_examples_match_tensorflow(code: str, results: _Results) -> None:
    kinds, found, keras2_sources = results[code]
    claimed: set[str] = set()
    for name, kind in kinds.items():
        errors = found[name]["errors"]
        if "from keras import ops" in keras2_sources[name]:
            # `keras.ops` is Keras 3 API: under Keras 2 (TF 2.15) the example cannot import.
            assert errors and errors[0][0] == "ImportError", (name, found[name])
            continue
        if kind == "valid":
            assert not errors and found[name]["traced"] >= 1, (name, found[name])
            continue
        assert len(errors) == 1, (name, found[name])
        error_type, text = errors[0]
        assert error_type in ("TypeError", "ValueError", "OperatorNotAllowedInGraphError")
        matched = [claim for claim in _CLAIMS[code] if claim in text]
        assert matched, (name, text)
        claimed.update(matched)
    assert claimed == set(_CLAIMS[code]), "every quoted error is proven by an example"
