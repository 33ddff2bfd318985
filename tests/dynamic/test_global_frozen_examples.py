"""TFG105's notebook-shaped examples against real TensorFlow: a function traced before the
module-level value changes keeps the old value, a function defined after the change and
reading a `tf.Variable` follows it, and binding the same constant again changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from tf_scripts import run_tensorflow_script

from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.registry import find_rule

pytestmark = pytest.mark.dynamic

_WORKER = r"""
import contextlib, io, json, sys
import tensorflow as tf

source = open(sys.argv[1], encoding="utf-8").read()
namespace = {"__name__": "example"}
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    exec(compile(source, sys.argv[1], "exec"), namespace)
    if "variable_add" in namespace:
        namespace["foo"].assign(100)
        print(namespace["variable_add"]())
values = [
    round(float(line.split("(")[1].split(",")[0]), 3)
    for line in printed.getvalue().splitlines()
]
print(json.dumps(values))
"""


def _example(kind: str, needle: str) -> str:
    rule = find_rule("TFG105")
    assert rule is not None
    examples = rule.INVALID if kind == "invalid" else rule.VALID
    (source,) = [e.source for e in examples if needle in e.source]
    return strip_markers(source)


def test_traced_before_the_change_keeps_the_old_value(tmp_path: Path) -> None:
    script = tmp_path / "notebook.py"
    script.write_text(_example("invalid", "def buggy_add"), encoding="utf-8")
    values = run_tensorflow_script(_WORKER, str(script))
    # buggy_add before and after `foo = 100`: frozen at 1 + 1; variable_add: 1 + 1, then
    # 1 + 100 after `foo.assign(100)`, read by reference (the example's VALID part).
    assert values == [2.0, 2.0, 2.0, 101.0]


def test_the_same_constant_again_changes_nothing(tmp_path: Path) -> None:
    script = tmp_path / "copied_cell.py"
    source = _example("valid", "copied cell")
    script.write_text(source + "print(w.read_value())\n", encoding="utf-8")
    # w: 1.0 - 0.1 - 0.1: both steps used 0.1, as an eager run would.
    values = run_tensorflow_script(_WORKER, str(script))
    assert values == [0.8]
