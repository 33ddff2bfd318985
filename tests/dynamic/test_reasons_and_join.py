"""Retrace reasons and the static/dynamic join, on recorded data (no TensorFlow)."""

from __future__ import annotations

from typing import Any

import pytest

from tfgraphlint._types import Finding, Severity
from tfgraphlint.config import Config
from tfgraphlint.dynamic import reasons
from tfgraphlint.dynamic.join import Thresholds, join
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.rules import ALL_RULES

pytestmark = pytest.mark.dynamic


def tensor(shape: list[int | None] | None, dtype: str = "float32") -> dict[str, Any]:
    return {"kind": "tensor", "dtype": dtype, "shape": shape}


def py(value: object) -> dict[str, Any]:
    return {"kind": "python", "type": type(value).__name__, "value": repr(value)}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"step": py(3)}, {"step": py(4)}, "step: Python int 3 → 4"),
        ({"lr": py(0.1)}, {"lr": py("fast")}, "lr: Python float 0.1 → str 'fast'"),
        ({"x": tensor([2, 3])}, {"x": tensor([4, 3])}, "x: shape (2, 3) → (4, 3)"),
        ({"x": tensor([2])}, {"x": tensor([2], "float64")}, "x: dtype float32 → float64"),
        ({"x": tensor([2])}, {"x": tensor(None)}, "x: shape (2,) → unknown rank"),
        ({"x": py(1.0)}, {"x": tensor([])}, "x: Python float 1.0 → tensor float32 ()"),
        (
            {"c": {"kind": "object", "type": "Cfg", "id": 1}},
            {"c": {"kind": "object", "type": "Cfg", "id": 2}},
            "c: new `Cfg` object (objects are keyed by identity)",
        ),
        (
            {"xs": {"kind": "list", "items": [py(1)]}},
            {"xs": {"kind": "list", "items": [py(1), py(2)]}},
            "xs: list of 1 → 2 items",
        ),
        (
            {"d": {"kind": "dict", "items": {"'a'": py(1)}}},
            {"d": {"kind": "dict", "items": {"'a'": py(2)}}},
            "d['a']: Python int 1 → 2",
        ),
        ({"x": tensor([2])}, {"x": tensor([2]), "y": py(1)}, "y: added"),
    ],
)
def test_reason_of_each_kind(old: Any, new: Any, expected: str) -> None:
    assert reasons.retrace_reason(reasons.Trace(new), [reasons.Trace(old)]) == expected


def test_reason_uses_the_closest_earlier_trace() -> None:
    traces = [
        reasons.Trace({"x": tensor([2]), "n": py(1)}),
        reasons.Trace({"x": tensor([4]), "n": py(2)}),
        reasons.Trace({"x": tensor([2]), "n": py(3)}),
    ]
    assert reasons.reasons(traces) == [
        None,
        "x: shape (2,) → (4,); n: Python int 1 → 2",
        "n: Python int 1 → 3",
    ]


def test_variable_creation_pass_is_not_a_retrace() -> None:
    args = {"x": tensor([3])}
    traces = [
        reasons.Trace(args, "variable-creation"),
        reasons.Trace(args, "no-variable-creation"),
        reasons.Trace({"x": tensor([4])}, "no-variable-creation"),
    ]
    assert reasons.reasons(traces)[1] == reasons.VARIABLE_PASS
    assert reasons.count_retraces(traces) == 1


def finding(
    code: str,
    line: int,
    message: str,
    severity: Severity = Severity.WARNING,
    columns: tuple[int, int] = (5, 9),
    data: dict[str, Any] | None = None,
) -> Finding:
    start, end = columns
    return Finding(
        "m.py", line, start, line, end, code, "rule", severity, message, "step", data=data
    )


def report(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "qualname": "step",
        "line": 10,
        "status": "traced",
        "calls": 3,
        "traces": 1,
        "retraces": [],
        "prints": [],
        "side_effects": [],
        "conversions": [],
        "autograph": {"warnings": []},
        "error": None,
    }
    return {**base, **changes}


def verdicts(
    rep: dict[str, Any], *findings: Finding, lines: list[str] | None = None
) -> list[tuple[str, str]]:
    joined = join(rep, "m.py", findings, {"step": 10}, Thresholds(), lines or [])
    return [(f["code"], f["confirmed"]) for f in joined]


def test_print_confirmed_only_when_printed_at_trace_time() -> None:
    tfg101 = finding("TFG101", 12, "`print()` in tf.function `step` runs only while tracing")
    printed = report(prints=[{"file": "m.py", "line": 12, "text": "hi", "tracing": True}])
    assert verdicts(printed, tfg101) == [("TFG101", "confirmed")]
    assert verdicts(report(), tfg101) == [("TFG101", "not observed")]
    eager = report(prints=[{"file": "m.py", "line": 12, "text": "hi", "tracing": False}])
    assert verdicts(eager, tfg101) == [("TFG101", "not observed")]
    untraced = report(status="not traced", reason="no example inputs")
    assert verdicts(untraced, tfg101) == [("TFG101", "not applicable")]


def test_conversion_map_compared_line_by_line() -> None:
    as_graph = finding("TFG590", 14, "(any words)", Severity.INFO, data={"predicts": "graph"})
    in_python = finding("TFG590", 16, "(any words)", Severity.INFO, data={"predicts": "python"})
    either = finding("TFG590", 18, "(any words)", Severity.INFO, data={"predicts": "either"})
    conversions = [
        {"line": 14, "statement": "for", "graph": True},
        {"line": 16, "statement": "if", "graph": True},
        {"line": 18, "statement": "if", "graph": False},
    ]
    assert verdicts(report(conversions=conversions), as_graph, in_python, either) == [
        ("TFG590", "confirmed"),
        ("TFG590", "not observed"),
        ("TFG590", "not applicable"),
    ]


def test_retracing_rules_need_a_retrace_on_a_name_in_the_flagged_code() -> None:
    lines = [""] * 9 + ["    train(x, step=3)"]
    tfg202 = finding("TFG202", 10, "(any words)", columns=(14, 20))  # `step=3`
    seen = report(traces=2, retraces=[{"trace": 2, "reason": "step: Python int 0 → 1"}])
    assert verdicts(seen, tfg202, lines=lines)[0] == ("TFG202", "confirmed")
    other = report(traces=2, retraces=[{"trace": 2, "reason": "x: shape (2,) → (3,)"}])
    assert verdicts(other, tfg202, lines=lines)[0] == ("TFG202", "not observed")
    assert verdicts(report(calls=1), tfg202, lines=lines) == [("TFG202", "not applicable")]


def test_trace_error_at_the_line_confirms_any_family() -> None:
    tfg509 = finding("TFG509", 20, "`assert` on a tensor", Severity.ERROR)
    failed = report(
        status="failed", error={"message": "OperatorNotAllowedInGraphError", "line": 20}
    )
    assert verdicts(failed, tfg509) == [("TFG509", "confirmed"), ("TFG803", "measured")]
    assert verdicts(report(), tfg509) == [("TFG509", "not observed")]


def test_dynamic_findings_thresholds() -> None:
    slow = report(
        trace_time_s=3.5,
        graph_ops=900,
        traces=3,
        retraces=[{"trace": 2, "reason": "a"}, {"trace": 3, "reason": "b"}],
    )
    assert verdicts(slow) == [("TFG801", "measured"), ("TFG804", "measured")]
    lenient = join(slow, "m.py", [], {"step": 10}, Thresholds(max_traces=3, slow_trace_s=5))
    assert lenient == []


def test_every_rule_declares_how_a_trace_confirms_it() -> None:
    declared = {rule.CODE: rule.CONFIRMED_BY for rule in ALL_RULES if "CONFIRMED_BY" in vars(rule)}
    assert sorted(declared) == sorted(rule.CODE for rule in ALL_RULES)
    assert declared["TFG103"] is declared["TFG104"] is Confirmation.FROZEN_VALUE
    assert declared["TFG590"] is Confirmation.CONVERSION


REWORDED = """\
import tensorflow as tf

@tf.function
def step(x, n):
    for i in tf.range(n):
        x = x + 1
    for j in range(3):
        x = x * 2
    for k in range(n):
        x = x - 1
    print("tracing")
    return x

step(tf.constant(1.0), 2)
step(tf.constant(1.0), 3)
"""


def test_rewording_the_messages_changes_no_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """The join reads each rule's declaration, the flagged code and TFG590's `data`: a message
    that says the opposite (graph words for a Python loop, other names) changes nothing."""
    rep = report(
        calls=2,
        traces=2,
        retraces=[{"trace": 2, "reason": "n: Python int 2 → 3"}],
        prints=[{"file": "m.py", "line": 11, "text": "tracing", "tracing": True}],
        conversions=[
            {"line": 5, "statement": "for", "graph": True},
            {"line": 7, "statement": "for", "graph": False},
            {"line": 9, "statement": "for", "graph": False},
        ],
    )
    lines = REWORDED.splitlines()

    def judged() -> list[tuple[str, int, str]]:
        found = lint_source(REWORDED, "m.py", Config(select=("ALL",))).findings
        joined = join(rep, "m.py", found, {"step": 4}, Thresholds(), lines)
        return [(f["code"], f["line"], f["confirmed"]) for f in joined]

    before = judged()
    assert ("TFG590", 5, "confirmed") in before
    assert ("TFG590", 7, "confirmed") in before
    assert ("TFG101", 11, "confirmed") in before
    original = Rule.report

    def reworded(self: Rule, node: Any, message: str, **kwargs: Any) -> None:
        opposite = "`x` and `i` run in Python, unrolled; `y` becomes a tf.while_loop graph op"
        original(self, node, opposite, **kwargs)

    monkeypatch.setattr(Rule, "report", reworded)
    assert judged() == before
