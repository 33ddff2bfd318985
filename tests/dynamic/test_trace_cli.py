"""`tfgraphlint trace` end to end, with real TensorFlow in a worker process."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.dynamic


SOURCE = (Path(__file__).parent / "data" / "conversion_cases.py").read_text().splitlines()


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["qualname"]: f for f in doc["functions"]}


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("scaled", "step: Python int 3 → 4"),
        ("by_shape", "x: shape (2, 3) → (4, 3)"),
        ("by_dtype", "x: dtype float32 → float64"),
        ("by_object", "config: new `Config` object (objects are keyed by identity)"),
    ],
)
def test_each_retrace_reason(traced: dict[str, Any], function: str, reason: str) -> None:
    report = by_name(traced)[function]
    assert report["status"] == "traced"
    assert report["traces"] == 2
    assert report["retraces"] == [{"trace": 2, "reason": reason}]
    assert [f["code"] for f in report["findings"]] == ["TFG801"]


def test_stable_function_and_input_signature_trace_once(traced: dict[str, Any]) -> None:
    functions = by_name(traced)
    assert functions["stable"]["traces"] == 1
    assert functions["stable"]["findings"] == []
    signed = functions["signed"]
    assert (signed["inputs"], signed["traces"], signed["calls"]) == ("input_signature", 1, 1)


def test_variable_created_on_first_call_is_one_trace(traced: dict[str, Any]) -> None:
    counter = by_name(traced)["Counter.add"]
    assert counter["status"] == "traced"
    assert counter["traces"] == 1


def test_costs_are_measured(traced: dict[str, Any]) -> None:
    report = by_name(traced)["mixed_control_flow"]
    assert report["trace_time_s"] > 0
    assert report["graph_ops"] > 0
    assert report["graph_time_s"] > 0 and report["eager_time_s"] > 0
    assert report["speedup"] == pytest.approx(report["eager_time_s"] / report["graph_time_s"])


def test_conversions_line_by_line(traced: dict[str, Any]) -> None:
    report = by_name(traced)["mixed_control_flow"]
    graph = {(c["statement"], c["line"]): c["graph"] for c in report["conversions"]}
    assert {SOURCE[line - 1].strip(): g for (_, line), g in graph.items()} == {
        "if tf.reduce_sum(x) > 0:": True,
        "for _ in range(2):": False,
        "for i in tf.range(3):": True,
    }


def test_conversion_warning_for_a_helper(traced: dict[str, Any]) -> None:
    report = by_name(traced)["uses_for_else"]
    assert report["autograph"]["warnings"] == [
        {"function": "first_positive", "cause": "for/else statement not yet supported"}
    ]
    refused = [f for f in report["findings"] if f["code"] == "TFG802"]
    helper_line = 1 + SOURCE.index("def first_positive(values):")
    assert [f["line"] for f in refused] == [helper_line]


def test_trace_error_mapped_to_its_line(traced: dict[str, Any]) -> None:
    report = by_name(traced)["asserts_on_tensor"]
    assert report["status"] == "failed"
    assert report["error"]["type"] == "OperatorNotAllowedInGraphError"
    line = report["error"]["line"]
    assert SOURCE[line - 1].strip() == "assert tf.reduce_sum(y) > 0"
    codes = {(f["code"], f["line"], f["confirmed"]) for f in report["findings"]}
    assert ("TFG803", line, "measured") in codes


def test_trace_time_print_and_state_change(traced: dict[str, Any]) -> None:
    report = by_name(traced)["noisy"]
    kinds = sorted(e["kind"] for e in report["side_effects"])
    assert kinds == ["print", "state"]
    assert (
        "global `calls`"
        in next(e for e in report["side_effects"] if e["kind"] == "state")["detail"]
    )


def test_static_findings_joined(traced: dict[str, Any]) -> None:
    noisy = by_name(traced)["noisy"]
    verdicts = {f["code"]: f["confirmed"] for f in noisy["findings"]}
    assert verdicts["TFG101"] == "confirmed"
    asserts = by_name(traced)["asserts_on_tensor"]
    static = [f for f in asserts["findings"] if f["confirmed"] != "measured"]
    assert static and all(f["confirmed"] == "confirmed" for f in static)


def test_methods_examples_file_and_factories(traced: dict[str, Any]) -> None:
    functions = by_name(traced)
    scale = functions["Scaler.scale"]
    assert (scale["status"], scale["inputs"]) == ("traced", "examples file")
    given = functions["no_inputs_given"]
    assert (given["status"], given["calls"], given["traces"]) == ("traced", 2, 1)


def test_text_table_sorted_by_cost(traced: dict[str, Any]) -> None:
    from tfgraphlint.dynamic.output import format_text

    text = format_text(traced)
    table = text.split("\n\n")[1].splitlines()[1:]
    costs = [float(row.split()[4]) for row in table if " not traced " not in row]
    assert costs == sorted(costs, reverse=True)
    assert text.rstrip().splitlines()[-1].startswith("static findings: ")


def test_not_traced_functions_say_why(traced: dict[str, Any]) -> None:
    from tfgraphlint.dynamic.output import format_text

    text = format_text(traced)
    assert "  no example inputs: give it an input_signature, " in text
    assert re.search(r"\(1 function\):\n    \S*retrace_cases\.py:51 no_examples\n", text)
    assert (
        "  method of `NeedsArguments`: `NeedsArguments()` raised "
        "TypeError: NeedsArguments.__init__() missing 1 required positional argument: 'units'; "
        'add a factory: factories = {"retrace_cases:NeedsArguments" = "module:make"} '
        "(1 function):\n"
    ) in text
    assert "retrace_cases.py:60 NeedsArguments.call\n" in text
