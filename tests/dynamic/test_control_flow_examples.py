"""The examples of TFG511-TFG513 against real TensorFlow: every INVALID example fails to trace
with the error the rule names, and no VALID example does.

One worker process imports TensorFlow and the examples (written to files, so AutoGraph can
read their source) and traces every module-level `tf.function` of each: with its
`input_signature`, or with a float vector for each parameter that has no default (a
`tf.data.Dataset` for one annotated as such, a stand-in object for `self`).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from tf_scripts import run_tensorflow_script

from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.registry import find_rule

pytestmark = pytest.mark.dynamic

CODES = ("TFG511", "TFG512", "TFG513")
# The error texts each rule's documentation quotes (TFG511: the user's own exception, see below).
SIGNATURES = {
    "TFG512": ("must also have a return statement", "'retval_' is None at the end of the"),
    "TFG513": (
        "not supported in Python for loops",
        "started as non-Tensor, then changed to Tensor",
        "must also have a return statement",
    ),
}

_WORKER = r"""
import importlib.util, inspect, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

class Stand:
    layers = []

def trace(fn):
    if fn.input_signature is not None:
        return fn.get_concrete_function()
    args = []
    for name, param in inspect.signature(fn.python_function).parameters.items():
        if param.default is not inspect.Parameter.empty:
            break
        if name == "self":
            args.append(Stand())
        elif "Dataset" in str(param.annotation):
            args.append(tf.data.Dataset.range(5))
        else:
            args.append(tf.TensorSpec([None], tf.float32))
    return fn.get_concrete_function(*args)

out = {}
for path in sys.argv[1:]:
    name = os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = {}
    for attr, obj in vars(module).items():
        if attr.startswith("_") or not hasattr(obj, "get_concrete_function"):
            continue
        try:
            trace(obj)
            results[attr] = None
        except Exception as exc:
            lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
            lines = [l for l in lines if not l.startswith(("File ", "See https", "in user code"))]
            results[attr] = lines[-1] if lines else type(exc).__name__
    out[name] = results
print(json.dumps(out))
"""


def _cases() -> list[tuple[str, str, int, str]]:
    cases = []
    for code in CODES:
        rule = find_rule(code)
        assert rule is not None
        for kind, examples in (("invalid", rule.INVALID), ("valid", rule.VALID)):
            for index, example in enumerate(examples):
                cases.append((code, kind, index, strip_markers(example.source)))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str | None]]:
    folder = tmp_path_factory.mktemp("control_flow_examples")
    paths = []
    for code, kind, index, source in CASES:
        path = folder / f"{code}_{kind}_{index}.py"
        path.write_text(source, encoding="utf-8")
        paths.append(str(path))
    doc: dict[str, dict[str, str | None]] = run_tensorflow_script(_WORKER, *paths)
    return doc


def _matches(code: str, source: str, error: str) -> bool:
    if code == "TFG511":
        raised = re.findall(r"raise (\w+)\(\"([^\"]*)\"\)", source)
        return any(error == f"{kind}: {text}" for kind, text in raised)
    return any(s in error for s in SIGNATURES[code])


@pytest.mark.parametrize(
    ("code", "kind", "index", "source"),
    CASES,
    ids=[f"{c}-{k}-{i}" for c, k, i, _ in CASES],
)
def test_example_matches_tensorflow(
    outcomes: dict[str, Any], code: str, kind: str, index: int, source: str
) -> None:
    results = outcomes[f"{code}_{kind}_{index}"]
    errors = [e for e in results.values() if e is not None]
    hits = [e for e in errors if _matches(code, source, e)]
    if kind == "invalid":
        assert hits, results or "the example defines no tf.function"
    else:
        assert not hits, results
