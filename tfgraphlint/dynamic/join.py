"""Static findings meet the trace: each is `confirmed`, `not observed` or `not applicable`;
the trace adds its own findings, TFG801-TFG804.

Each rule declares how a trace confirms it (`Rule.CONFIRMED_BY`): output or a state change
while tracing only, a value frozen at trace time (graph calls repeat it, eager calls do not),
a retrace, an error at trace, the conversion map's prediction (TFG590's `data`), or nothing.
A trace error at a finding's line confirms a finding of any rule. The join reads the
declaration, the finding's position (the names in the code it flags) and its `data`, never
its message.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tfgraphlint._types import Finding, Severity
from tfgraphlint.dynamic.reasons import plural
from tfgraphlint.engine.rule import Confirmation

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


@functools.cache
def _declarations() -> dict[str, Confirmation]:
    from tfgraphlint.engine.registry import all_rules

    return {rule.CODE: rule.CONFIRMED_BY for rule in all_rules()}


def confirmation(code: str) -> Confirmation:
    """How a trace confirms a finding of rule `code` (an unknown code: it cannot)."""
    return _declarations().get(code, Confirmation.NONE)


def subjects(finding: Finding, lines: Sequence[str]) -> set[str]:
    """The identifiers in the code a finding flags (`self.count += 1`: `self`, `count`), read
    from the source at its position; empty when the source is not given."""
    if not lines or not 1 <= finding.line <= finding.end_line <= len(lines):
        return set()
    span = list(lines[finding.line - 1 : finding.end_line])
    span[-1] = span[-1][: finding.end_column - 1]
    span[0] = span[0][finding.column - 1 :]
    words = re.findall(r"[A-Za-z_]\w*", "\n".join(span))
    return {w for w in words if not keyword.iskeyword(w)}


def _judge_side_effect(finding: Finding, report: Report, names: set[str]) -> tuple[str, str]:
    prints = [p for p in report.get("prints", []) if p.get("line") == finding.line]
    if any(p["tracing"] for p in prints) and not any(not p["tracing"] for p in prints):
        return CONFIRMED, f"printed {prints[0]['text']!r} while tracing only"
    if prints:
        return NOT_OBSERVED, "this line also ran outside tracing"
    for effect in report.get("side_effects", []):
        if effect["kind"] == "state" and effect.get("name") in names:
            return CONFIRMED, effect["detail"]
    if report.get("traces_at_import") and report.get("traces") == report["traces_at_import"]:
        return NOT_APPLICABLE, (
            "traced only while the module imported: state changes of that trace are not measured"
        )
    return NOT_OBSERVED, "no output or state change from this line while tracing"


def _judge_retracing(finding: Finding, report: Report, names: set[str]) -> tuple[str, str]:
    retraces = report.get("retraces", [])
    if not retraces:
        if int(report.get("calls", 0)) < 2:
            return NOT_APPLICABLE, "one example call: a retrace cannot show"
        return NOT_OBSERVED, f"{plural(int(report['calls']), 'example call')}, no retrace"
    for retrace in retraces:
        changed = {
            part.split(":")[0].split("[")[0].strip() for part in retrace["reason"].split(";")
        }
        if not names or names & changed:
            return CONFIRMED, f"retrace {retrace['trace']}: {retrace['reason']}"
    reasons = "; ".join(r["reason"] for r in retraces)
    return NOT_OBSERVED, f"retraces were for another reason: {reasons}"


def _judge_frozen(finding: Finding, report: Report, names: set[str]) -> tuple[str, str]:
    """A value computed in Python while tracing is a constant of the graph: a global changed
    between calls changes eager calls' output but not the graph's; a random number or a clock
    reading differs between eager calls, and repeats in graph calls."""
    for probe in report.get("global_probes", []):
        if probe["name"] not in names:
            continue
        change = f"after global `{probe['name']}` changed {probe['old']} → {probe['new']}"
        if probe.get("error"):
            return NOT_APPLICABLE, f"{change}, a call raised {probe['error']}"
        if probe["eager_changed"] and not probe["graph_changed"]:
            return CONFIRMED, (
                f"{change}, an eager call returned a new output and a graph call the old one"
            )
        if probe["graph_changed"]:
            return NOT_OBSERVED, f"{change}, graph calls saw the new value"
        return NOT_OBSERVED, f"{change}, the eager output did not change either"
    repeats = report.get("repeats")
    if not repeats or repeats.get("graph_same") is None or repeats.get("eager_same") is None:
        return NOT_APPLICABLE, "the outputs of repeated calls could not be compared"
    graph = f"{plural(int(repeats['graph_calls']), 'graph call')} with the same inputs"
    eager = plural(int(repeats["eager_calls"]), "eager call")
    if not repeats["graph_same"]:
        return NOT_OBSERVED, f"{graph} returned different outputs: nothing frozen showed"
    if repeats["eager_same"]:
        return NOT_OBSERVED, f"{graph} and {eager} all returned the same output"
    return CONFIRMED, (
        f"{graph} returned the same output, {eager} returned different ones: a value was "
        "frozen while tracing"
    )


def _judge_conversion(finding: Finding, report: Report) -> tuple[str, str]:
    predicts = (finding.data or {}).get("predicts")
    seen = [c for c in report.get("conversions", []) if c["line"] == finding.line]
    if predicts not in ("graph", "python") or not seen:
        return NOT_APPLICABLE, "no prediction to compare with the graph"
    observed = bool(seen[0]["graph"])
    what = "graph control flow" if observed else "no graph op (ran in Python or not reached)"
    verdict = CONFIRMED if observed == (predicts == "graph") else NOT_OBSERVED
    return verdict, f"the traced graph has {what}"


def judge(finding: Finding, report: Report, lines: Sequence[str] = ()) -> tuple[str, str]:
    """(verdict, evidence) for one static finding in a function's report; `lines`: the
    file's source, for the names in the code the finding flags."""
    status = report.get("status")
    if status == "not traced":
        return NOT_APPLICABLE, f"not traced: {report.get('reason')}"
    error = report.get("error") or {}
    if error.get("line") == finding.line:
        return CONFIRMED, f"tracing failed at this line: {error['message']}"
    if status == "failed":
        return NOT_APPLICABLE, "tracing failed elsewhere before this could show"
    how = confirmation(finding.code)
    if how is Confirmation.CONVERSION:
        return _judge_conversion(finding, report)
    if how is Confirmation.TRACE_EFFECT:
        return _judge_side_effect(finding, report, subjects(finding, lines))
    if how is Confirmation.RETRACE:
        return _judge_retracing(finding, report, subjects(finding, lines))
    if how is Confirmation.FROZEN_VALUE:
        return _judge_frozen(finding, report, subjects(finding, lines))
    if how is Confirmation.TRACE_ERROR:
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
    lines: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The static findings in the bodies this trace covers, judged, then the dynamic ones.
    `lines`: the file's source lines (the names a finding's code holds)."""
    out = []
    for finding in findings:
        if finding.function in functions:
            verdict, evidence = judge(finding, report, lines)
            out.append({**finding.to_json(), "confirmed": verdict, "evidence": evidence})
    return out + dynamic_findings(report, path, functions, thresholds)
