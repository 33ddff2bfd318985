"""Text report of `tfgraphlint trace`: a table sorted by cost, then the details per function."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

Doc = Mapping[str, Any]

_COLUMNS = ("function", "status", "traces", "trace ms", "ops", "graph ms", "eager ms", "speedup")


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def _cost(report: Mapping[str, Any]) -> float:
    return float(report.get("trace_time_total_s") or 0.0)


def _row(report: Mapping[str, Any]) -> tuple[str, ...]:
    traced = report["status"] != "not traced"
    speedup = report.get("speedup")
    return (
        f"{_where(report)} {report['qualname']}",
        report["status"],
        str(report.get("traces", "-")) if traced else "-",
        _ms(report.get("trace_time_total_s")) if traced else "-",
        str(report.get("graph_ops") or "-"),
        _ms(report.get("graph_time_s")),
        _ms(report.get("eager_time_s")),
        "-" if speedup is None else f"{speedup:.1f}x",
    )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(widths[i + 2]) for i, cell in enumerate(row[2:])]
        lines.append("  ".join(cells).rstrip())
    return lines


def _where(report: Mapping[str, Any]) -> str:
    """`path:line`, or `path:cell N:line` for a notebook's function."""
    cell = f"cell {report['cell']}:" if report.get("cell") is not None else ""
    return f"{report['path']}:{cell}{report['line']}"


def _line(item: Mapping[str, Any]) -> str:
    """`line N`, or `cell C line N` in a notebook."""
    cell = f"cell {item['cell']} " if item.get("cell") is not None else ""
    return f"{cell}line {item['line']}"


def _details(report: Mapping[str, Any]) -> list[str]:
    head = f"{_where(report)} {report['qualname']}"
    if report["status"] == "not traced":
        return [f"{head}: not traced: {report['reason']}"]
    calls = int(report.get("calls", 0))
    lines = [f"{head} (inputs: {report.get('inputs', '?')}, {calls} call{'s' * (calls != 1)})"]
    if report["status"] == "failed":
        lines.append(f"  failed: {report['reason']}")
    for retrace in report.get("retraces", []):
        lines.append(f"  retrace {retrace['trace']}: {retrace['reason']}")
    for effect in report.get("side_effects", []):
        where = f" ({_line(effect)})" if effect.get("line") else ""
        lines.append(f"  side effect{where}: {effect['detail']}")
    conversions = report.get("conversions", [])
    if conversions:
        parts = [
            f"{c['statement']} {_line(c)}: {'graph' if c['graph'] else 'Python'}"
            for c in conversions
        ]
        lines.append("  control flow: " + ", ".join(parts))
    for finding in report.get("findings", []):
        verdict = finding["confirmed"]
        evidence = f" ({finding['evidence']})" if finding.get("evidence") else ""
        where = f"{finding['code']} {_line(finding)}"
        lines.append(f"  {where} [{verdict}]: {finding['message']}{evidence}")
    return lines


def summary(doc: Doc) -> str:
    verdicts: Counter[str] = Counter(
        f["confirmed"] for r in doc["functions"] for f in r["findings"]
    )
    dynamic: Counter[str] = Counter(
        f["code"] for r in doc["functions"] for f in r["findings"] if f["confirmed"] == "measured"
    )
    static = ", ".join(
        f"{verdicts[v]} {v}" for v in ("confirmed", "not observed", "not applicable")
    )
    measured = ", ".join(f"{code} x{n}" for code, n in sorted(dynamic.items())) or "none"
    return f"static findings: {static}; dynamic findings: {measured}"


def format_text(doc: Doc) -> str:
    reports = sorted(doc["functions"], key=lambda r: (r["status"] == "not traced", -_cost(r)))
    count = len(reports)
    modules = len(doc["modules"])
    out = [
        f"tfgraphlint trace: {count} function{'s' * (count != 1)} in {modules} "
        f"module{'s' * (modules != 1)} (TensorFlow {doc.get('tensorflow') or '?'})",
        "",
    ]
    if reports:
        out += _table([_COLUMNS, *map(_row, reports)]) + [""]
        for report in reports:
            out += _details(report)
        out.append("")
    broken = [m for m in doc["modules"] if m["status"] != "imported"]
    for module in broken:
        out.append(f"module {module['path']}: {module['status']}: {module['reason']}")
    for module in doc["modules"]:
        for skip in module.get("cells_skipped", []):
            where = f"cell {skip['cell']}" + (f":{skip['line']}" if skip.get("line") else "")
            what = f" ({skip['skipped']})" if skip.get("skipped") else ""
            out.append(f"notebook {module['path']}: {where} skipped{what}: {skip['reason']}")
    for error in doc.get("errors", []):
        out.append(f"file {error['path']}: {error['message']}")
    out.append(summary(doc))
    return "\n".join(out) + "\n"
