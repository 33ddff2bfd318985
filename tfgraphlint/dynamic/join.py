"""Static findings meet the trace: each is `confirmed`, `not observed` or `not applicable`;
the trace adds its own findings, TFG801-TFG804.

The join works by code family (the hundreds digit), so new static rules are covered as they
land: TFG1xx side effects (seen as output or state changes at trace time only), TFG2xx
retracing (seen as retraces), TFG590 the conversion map (compared line by line with the graph),
and for every family, a trace error at the finding's line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tfgraphlint._types import Finding, Severity
from tfgraphlint.dynamic.reasons import plural

CONFIRMED = "confirmed"
NOT_OBSERVED = "not observed"
NOT_APPLICABLE = "not applicable"
MEASURED = "measured"

Report = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class DynamicCode:
    code: str
    name: str
    severity: Severity
    summary: str


DYNAMIC_CODES = (
    DynamicCode(
        "TFG801", "excessive-retracing", Severity.WARNING, "a function traced more than allowed"
    ),
    DynamicCode(
        "TFG802", "conversion-refused", Severity.WARNING, "AutoGraph could not convert a function"
    ),
    DynamicCode("TFG803", "trace-error", Severity.ERROR, "tracing raised an error"),
    DynamicCode("TFG804", "slow-trace", Severity.WARNING, "one trace took longer than allowed"),
)
_BY_CODE = {c.code: c for c in DYNAMIC_CODES}


@dataclass(frozen=True, slots=True)
class Thresholds:
    max_traces: int = 1  # TFG801 when a function traces more often over its example calls
    slow_trace_s: float = 2.0  # TFG804 when its first trace takes longer


_GRAPH_WORDS = ("tf.cond", "tf.while_loop", "graph loop", "tf.case", "dataset.reduce", "graph op")
_PYTHON_WORDS = ("unroll", "in python", "python loop", "python `if`", "plain python")


def predicted_graph(message: str) -> bool | None:
    """What a TFG590 message predicts: graph control flow (True), Python (False), or unsure."""
    text = message.lower()
    graph = any(w in text for w in _GRAPH_WORDS)
    python = any(w in text for w in _PYTHON_WORDS)
    return graph if graph != python else None


def _named(message: str) -> set[str]:
    """Identifiers a message names in backticks (`x`, `self.count`)."""
    return {m.split(".")[-1] for m in re.findall(r"`([A-Za-z_][\w.]*)`", message)}


def _judge_side_effect(finding: Finding, report: Report) -> tuple[str, str]:
    prints = [p for p in report.get("prints", []) if p.get("line") == finding.line]
    if any(p["tracing"] for p in prints) and not any(not p["tracing"] for p in prints):
        return CONFIRMED, f"printed {prints[0]['text']!r} while tracing only"
    if prints:
        return NOT_OBSERVED, "this line also ran outside tracing"
    names = _named(finding.message)
    for effect in report.get("side_effects", []):
        if effect["kind"] == "state" and names & _named(effect["detail"]):
            return CONFIRMED, effect["detail"]
    if report.get("traces_at_import") and report.get("traces") == report["traces_at_import"]:
        return NOT_APPLICABLE, (
            "traced only while the module imported: state changes of that trace are not measured"
        )
    return NOT_OBSERVED, "no output or state change from this line while tracing"


def _judge_retracing(finding: Finding, report: Report) -> tuple[str, str]:
    retraces = report.get("retraces", [])
    if not retraces:
        if int(report.get("calls", 0)) < 2:
            return NOT_APPLICABLE, "one example call: a retrace cannot show"
        return NOT_OBSERVED, f"{plural(int(report['calls']), 'example call')}, no retrace"
    names = _named(finding.message)
    for retrace in retraces:
        changed = {
            part.split(":")[0].split("[")[0].strip() for part in retrace["reason"].split(";")
        }
        if not names or names & changed:
            return CONFIRMED, f"retrace {retrace['trace']}: {retrace['reason']}"
    reasons = "; ".join(r["reason"] for r in retraces)
    return NOT_OBSERVED, f"retraces were for another reason: {reasons}"


def _judge_conversion(finding: Finding, report: Report) -> tuple[str, str]:
    expected = predicted_graph(finding.message)
    seen = [c for c in report.get("conversions", []) if c["line"] == finding.line]
    if expected is None or not seen:
        return NOT_APPLICABLE, "no prediction to compare with the graph"
    observed = bool(seen[0]["graph"])
    what = "graph control flow" if observed else "no graph op (ran in Python or not reached)"
    return (CONFIRMED if observed == expected else NOT_OBSERVED), f"the traced graph has {what}"


def judge(finding: Finding, report: Report) -> tuple[str, str]:
    """(verdict, evidence) for one static finding in a function's report."""
    status = report.get("status")
    if status == "not traced":
        return NOT_APPLICABLE, f"not traced: {report.get('reason')}"
    error = report.get("error") or {}
    if error.get("line") == finding.line:
        return CONFIRMED, f"tracing failed at this line: {error['message']}"
    if status == "failed":
        return NOT_APPLICABLE, "tracing failed elsewhere before this could show"
    if finding.code == "TFG590":
        return _judge_conversion(finding, report)
    family = finding.code[3:4]
    if family == "1":
        return _judge_side_effect(finding, report)
    if family == "2":
        return _judge_retracing(finding, report)
    if finding.severity is Severity.ERROR:
        return NOT_OBSERVED, "traced without an error"
    return NOT_APPLICABLE, "tracing does not measure this kind of hazard"


def _finding(report: Report, path: str, code: str, line: int, message: str) -> dict[str, Any]:
    spec = _BY_CODE[code]
    finding = Finding(
        path, line, 1, line, 1, code, spec.name, spec.severity, message, report["qualname"]
    )
    return {**finding.to_json(), "confirmed": MEASURED, "evidence": None}


def dynamic_findings(
    report: Report, path: str, functions: Mapping[str, int], thresholds: Thresholds
) -> list[dict[str, Any]]:
    """TFG801-TFG804 for one function. `functions` maps qualnames its trace covers to lines."""
    name, line = report["qualname"], int(report["line"])
    out = []
    traces = int(report.get("traces") or 0)
    if traces > thresholds.max_traces:
        reasons = "; ".join(r["reason"] for r in report.get("retraces", []))
        out.append(
            _finding(
                report,
                path,
                "TFG801",
                line,
                f"`{name}` traced {plural(traces, 'time')} over "
                f"{plural(int(report['calls']), 'example call')} (at most "
                f"{thresholds.max_traces} allowed): {reasons}",
            )
        )
    for warning in report.get("autograph", {}).get("warnings", []):
        where = functions.get(warning["function"], line)
        out.append(
            _finding(
                report,
                path,
                "TFG802",
                where,
                f"AutoGraph could not convert `{warning['function']}` ({warning['cause']}): it "
                "runs as plain Python, so tensor-dependent control flow in it fails to trace",
            )
        )
    error = report.get("error")
    if error:
        out.append(
            _finding(
                report,
                path,
                "TFG803",
                error.get("line") or line,
                f"tracing `{name}` failed: {error['message']}",
            )
        )
    first = report.get("trace_time_s")
    if first is not None and first > thresholds.slow_trace_s:
        out.append(
            _finding(
                report,
                path,
                "TFG804",
                line,
                f"`{name}` took {first:.2f} s to trace ({report.get('graph_ops')} ops; the limit "
                f"is {thresholds.slow_trace_s:g} s): every retrace pays this again",
            )
        )
    return out


def join(
    report: Report,
    path: str,
    findings: Sequence[Finding],
    functions: Mapping[str, int],
    thresholds: Thresholds,
) -> list[dict[str, Any]]:
    """The static findings in the bodies this trace covers, judged, then the dynamic ones."""
    out = []
    for finding in findings:
        if finding.function in functions:
            verdict, evidence = judge(finding, report)
            out.append({**finding.to_json(), "confirmed": verdict, "evidence": evidence})
    return out + dynamic_findings(report, path, functions, thresholds)
