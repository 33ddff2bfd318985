"""`tfgraphlint trace` on a realistic training script (tests/dynamic/data/project_cases.py):
traces made while the module imports, `tf.Module` bookkeeping, the not-traced summary and the
`--write-examples` skeleton, with real TensorFlow in a worker process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tfgraphlint.dynamic.output import format_text

pytestmark = pytest.mark.dynamic

DATA = Path(__file__).parent / "data"
SOURCE = (DATA / "project_cases.py").read_text().splitlines()


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["qualname"]: f for f in doc["functions"]}


def line_of(text: str) -> int:
    return 1 + [s.strip() for s in SOURCE].index(text)


def test_traces_made_while_importing_are_kept(project: dict[str, Any]) -> None:
    # `warm_up(tf.ones([3]))` at module level traced it while project_main imported
    # project_cases, before project_cases's own turn; its example call hits the cache.
    report = by_name(project)["warm_up"]
    assert (report["status"], report["traces"]) == ("traced", 1)
    assert report["traces_at_import"] == 1
    assert report["trace_time_s"] > 0 and report["graph_ops"] > 0
    printed = line_of('print("tracing warm_up")')
    assert [(e["kind"], e["line"]) for e in report["side_effects"]] == [("print", printed)]
    verdicts = {f["code"]: (f["confirmed"], f["line"]) for f in report["findings"]}
    assert verdicts["TFG101"] == ("confirmed", printed)
    # The append ran at import, before any state was measured: no verdict either way.
    assert verdicts["TFG102"] == ("not applicable", line_of("history.append(x)"))
    assert "1 call; 1 trace while the module imported)" in format_text(project)


def test_tf_module_bookkeeping_is_not_a_side_effect(project: dict[str, Any]) -> None:
    dense = by_name(project)["Dense.__call__"]
    assert dense["side_effects"] == []
    # A tf.Module's own attribute changed while tracing is still reported and confirmed.
    counting = by_name(project)["Counting.__call__"]
    assert [e["detail"] for e in counting["side_effects"]] == [
        "`self.traced` changed 0 → 1 in a call that traced, and not in calls that did not"
    ]
    assert [(f["code"], f["confirmed"]) for f in counting["findings"]] == [("TFG102", "confirmed")]


def test_retraces_are_numbered_as_traces_are_counted(project: dict[str, Any]) -> None:
    # The first call creates a variable: TensorFlow builds 3 graphs, 2 are traces.
    dense = by_name(project)["Dense.__call__"]
    assert (dense["traces"], dense["graphs_built"]) == (2, 3)
    assert dense["retraces"] == [{"trace": 2, "reason": "x: shape (2, 3) → (4, 3)"}]
    assert "  retrace 2: x: shape (2, 3) → (4, 3)" in format_text(project)


def test_not_traced_functions_summarised_once(project: dict[str, Any]) -> None:
    text = format_text(project)
    assert text.count("no example inputs") == 2  # the reason once, the skeleton hint once
    block = text[text.index("not traced: 3 of 7 functions") :]
    assert re.search(
        r"no example inputs: .* \(2 functions\):\n.*:51 train_step\n.*:56 eval_step", block
    )
    assert "`pytest --tfgraphlint-traces`" in block
    assert "Classifier.train_step" in block
    assert "--write-examples PATH" in block
    table = text.split("\n\n")[1]
    assert "not traced" not in table


def test_examples_skeleton_filled_in_traces_them(
    project: dict[str, Any], project_folder: Path, tmp_path: Path
) -> None:
    skeleton = (project_folder / "project_examples.py").read_text()
    assert '"project_cases:train_step": [\n        # (features, labels),\n    ],' in skeleton
    assert '"project_cases:eval_step": [\n        # (features,),\n    ],' in skeleton
    assert "Dense" not in skeleton and "warm_up" not in skeleton and "Classifier" not in skeleton
    command = [sys.executable, "-m", "tfgraphlint", "trace", "--format", "json"]
    # Filled in: the train step gets two calls, the eval step stays empty.
    examples = tmp_path / "examples.py"
    examples.write_text(
        skeleton.replace(
            "# (features, labels),",
            "(tf.ones([4, 2]), tf.ones([4])),\n        (tf.ones([8, 2]), tf.ones([8])),",
        )
    )
    proc = subprocess.run(
        [*command, "--examples", str(examples), str(DATA / "project_cases.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    functions = by_name(json.loads(proc.stdout))
    step = functions["train_step"]
    assert (step["status"], step["inputs"], step["calls"], step["traces"]) == (
        "traced",
        "examples file",
        2,
        2,
    )
    assert functions["eval_step"]["reason"] == (
        "no example inputs: its list in the examples file is empty"
    )


def test_write_examples_never_overwrites(tmp_path: Path) -> None:
    existing = tmp_path / "examples.py"
    existing.write_text("EXAMPLES = {}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tfgraphlint", "trace", "--write-examples", str(existing)]
        + [str(DATA / "project_cases.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2
    assert f"--write-examples: {existing} exists; not overwritten" in proc.stderr
    assert existing.read_text() == "EXAMPLES = {}\n"
