"""The words and numbers `tfgraphlint trace` and the pytest plugin print (no TensorFlow):
plurals, retrace numbers, small times and speedups, the progress bar's clock."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest

from tfgraphlint.dynamic import reasons
from tfgraphlint.dynamic.cli import Progress
from tfgraphlint.dynamic.join import Thresholds, join
from tfgraphlint.dynamic.output import format_text
from tfgraphlint.pytest_plugin import FunctionTraces, report_lines

pytestmark = pytest.mark.dynamic

X2, X4 = (
    {"x": {"kind": "tensor", "dtype": "float32", "shape": [2]}},
    {"x": {"kind": "tensor", "dtype": "float32", "shape": [4]}},
)


def traced(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "path": "m.py",
        "qualname": "step",
        "line": 10,
        "status": "traced",
        "reason": None,
        "inputs": "examples file",
        "calls": 1,
        "traces": 1,
        "retraces": [],
        "side_effects": [],
        "conversions": [],
        "findings": [],
        "trace_time_total_s": 0.02,
        "graph_ops": 3,
    }
    return {**base, **changes}


def test_retrace_numbers_skip_the_variable_creation_pass() -> None:
    traces = [
        reasons.Trace(X2, "variable-creation"),
        reasons.Trace(X2, "no-variable-creation"),
        reasons.Trace(X4, "no-variable-creation"),
    ]
    assert reasons.numbered_retraces(reasons.reasons(traces)) == [(2, "x: shape (2,) → (4,)")]
    plugin = FunctionTraces("step", "m", "/tmp/m.py", 3, traces=traces)
    lines = report_lines([plugin], None)
    assert "  step (/tmp/m.py:3): 2 traces, 0.00 s" in lines
    assert "    retrace 2: x: shape (2,) → (4,)" in lines


def test_one_is_singular() -> None:
    plugin = FunctionTraces("step", "m", "/tmp/m.py", 3, traces=[reasons.Trace(X2)])
    assert report_lines([plugin], 0)[0] == (
        "1 tf.function object traced 1 time in 0.00 s (at most 0 traces allowed each)"
    )
    assert report_lines([plugin], 0)[-1].startswith("FAILED: 1 tf.function object traced more")
    [tfg801] = join(traced(), "m.py", [], {"step": 10}, Thresholds(max_traces=0))
    assert tfg801["message"].startswith("`step` traced 1 time over 1 example call (at most 0")


def test_small_times_and_speedups_keep_two_figures() -> None:
    doc = {
        "tensorflow": "2.21.0",
        "modules": [{"path": "m.py", "module": "m", "status": "imported", "reason": None}],
        "errors": [],
        "functions": [
            traced(graph_time_s=0.00059, eager_time_s=0.0000053, speedup=0.009),
            traced(qualname="big", graph_time_s=0.002, eager_time_s=0.05, speedup=25.04),
            traced(qualname="tiny", graph_time_s=0.5, eager_time_s=0.0000004, speedup=0.0000008),
        ],
    }
    text = format_text(doc)
    assert "tfgraphlint trace: 3 functions in 1 module (TensorFlow 2.21.0)" in text
    rows = {line.split()[1]: line.split()[-3:] for line in text.split("\n\n")[1].splitlines()}
    assert rows["step"] == ["0.59", "0.0053", "0.009x"]
    assert rows["big"] == ["2.0", "50.0", "25.0x"]
    assert rows["tiny"] == ["500.0", "<0.001", "<0.001x"]
    assert "(inputs: examples file, 1 call)" in text


def test_progress_bar_shows_the_time_spent(tmp_path: Any) -> None:
    """On a real terminal (a pseudo-terminal), the line is redrawn while a module runs."""
    leader, follower = os.openpty()
    stream = os.fdopen(follower, "w")
    progress = Progress(2, stream, interval=0.05)
    progress.show("pkg/slow_import.py")
    time.sleep(1.3)  # the module's import hangs
    progress.show("pkg/other.py")
    progress.close()
    stream.close()
    os.set_blocking(leader, False)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    lines = out.decode().split("\r")
    slow = [
        m
        for line in lines
        if (m := re.search(r"0/2 (\d+) s +pkg/slow_import\.py \((\d+) s\)", line))
    ]
    assert len(slow) > 2  # redrawn while waiting, not drawn once
    assert int(slow[0][2]) == 0 and int(slow[-1][2]) >= 1  # the clock moved
    assert any("1/2" in line and "pkg/other.py" in line for line in lines)
