"""Values frozen while tracing (TFG103-TFG105), confirmed by `tfgraphlint trace` with real
TensorFlow: graph calls with the same inputs repeat the value, eager calls do not; a changed
global changes the eager output only."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.dynamic


def verdicts(doc: dict[str, Any], function: str) -> list[tuple[str, str, str]]:
    report = next(f for f in doc["functions"] if f["qualname"] == function)
    return [
        (f["code"], f["confirmed"], f["evidence"])
        for f in report["findings"]
        if f["code"] in ("TFG103", "TFG104", "TFG105")
    ]


@pytest.mark.parametrize(("function", "code"), [("draws", "TFG103"), ("stamps", "TFG104")])
def test_random_and_clock_frozen_in_the_graph_are_confirmed(
    traced: dict[str, Any], function: str, code: str
) -> None:
    [(found, verdict, evidence)] = verdicts(traced, function)
    assert (found, verdict) == (code, "confirmed")
    assert evidence == (
        "4 graph calls with the same inputs returned the same output, 4 eager calls returned "
        "different ones: a value was frozen while tracing"
    )


@pytest.mark.parametrize("function", ["seeded", "unused_draw"])
def test_a_draw_that_does_not_change_the_output_is_not_observed(
    traced: dict[str, Any], function: str
) -> None:
    found = verdicts(traced, function)
    assert found  # `seeded`: `random.seed(0)` and `random.random()`
    expected = "4 graph calls with the same inputs and 4 eager calls all returned the same output"
    assert found == [("TFG103", "not observed", expected)] * len(found)


def test_a_changed_global_changes_the_eager_output_only(traced: dict[str, Any]) -> None:
    assert verdicts(traced, "train_step") == [
        (
            "TFG105",
            "confirmed",
            "after global `learning_rate` changed 0.1 → 1.2, an eager call returned a new "
            "output and a graph call the old one",
        )
    ]
