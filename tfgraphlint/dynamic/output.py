"""Text report of `tfgraphlint trace`: a table sorted by cost, then the details per function."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from tfgraphlint.dynamic.reasons import plural

Doc = Mapping[str, Any]

_COLUMNS = ("function", "status", "traces", "trace ms", "ops", "graph ms", "eager ms", "speedup")


def _figure(value: float) -> str:
    """One decimal from 1 up, two significant digits below (never a bare `0.0`), `<0.001`
    below that (no exponent)."""
    if value >= 1 or value == 0:
        return f"{value:.1f}"
    return f"{value:.2g}" if value >= 0.001 else "<0.001"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else _figure(seconds * 1000)


def _cost(report: Mapping[str, Any]) -> float:
    return float(report.get("trace_time_total_s") or 0.0)


def _row(report: Mapping[str, Any]) -> tuple[str, ...]:
    """A traced or failed function (the ones not traced are summarised apart)."""
    speedup = report.get("speedup")
    return (
        f"{_where(report)} {report['qualname']}",
        report["status"],
        str(report.get("traces", "-")),
        _ms(report.get("trace_time_total_s")),
        str(report.get("graph_ops") or "-"),
        _ms(report.get("graph_time_s")),
        _ms(report.get("eager_time_s")),
        "-" if speedup is None else f"{_figure(speedup)}x",
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


def _not_traced(reports: list[Mapping[str, Any]], total: int) -> list[str]:
    """One block per reason, each naming its functions: a hint is said once, not per
    function."""
    if not reports:
        return []
    by_reason: dict[str, list[Mapping[str, Any]]] = {}
    for report in reports:
        by_reason.setdefault(str(report["reason"]), []).append(report)
    lines = [f"not traced: {len(reports)} of {plural(total, 'function')}"]
    for reason, group in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        lines.append(f"  {reason} ({plural(len(group), 'function')}):")
        lines += [f"    {_where(r)} {r['qualname']}" for r in group]
    if any(needs_examples(r) for r in reports):
        lines.append(
            "  `tfgraphlint trace --write-examples PATH ...` writes an examples file to fill in "
            "for the functions with no example inputs"
        )
    return lines


def needs_examples(report: Mapping[str, Any]) -> bool:
    """Not traced for want of example calls (what `--write-examples` writes a skeleton for)."""
    return report["status"] == "not traced" and "no example inputs" in str(report["reason"])


def _details(report: Mapping[str, Any]) -> list[str]:
    head = f"{_where(report)} {report['qualname']}"
    calls = plural(int(report.get("calls", 0)), "call")
    at_import = int(report.get("traces_at_import") or 0)
    imported = f"; {plural(at_import, 'trace')} while the module imported" if at_import else ""
    lines = [f"{head} (inputs: {report.get('inputs', '?')}, {calls}{imported})"]
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
    functions = doc["functions"]
    reports = sorted((r for r in functions if r["status"] != "not traced"), key=lambda r: -_cost(r))
    untraced = [r for r in functions if r["status"] == "not traced"]
    out = [
        f"tfgraphlint trace: {plural(len(functions), 'function')} in "
        f"{plural(len(doc['modules']), 'module')} (TensorFlow {doc.get('tensorflow') or '?'})",
        "",
    ]
    if reports:
        out += _table([_COLUMNS, *map(_row, reports)]) + [""]
        for report in reports:
            out += _details(report)
        out.append("")
    if untraced:
        out += _not_traced(untraced, len(functions)) + [""]
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


_SKELETON_HEAD = '''"""Example calls for `tfgraphlint trace`, written by its `--write-examples`.

Fill in each list: a call is a tuple of positional arguments, a dict of keyword arguments,
an `(args, kwargs)` pair, or a single argument; give several calls to measure retracing.
A function whose list stays empty is not traced. Use it with `--examples THIS_FILE` or
`[tool.tfgraphlint.trace] examples = "THIS_FILE"`.
"""

import tensorflow as tf

EXAMPLES = {
'''


def examples_skeleton(doc: Doc) -> tuple[str, int]:
    """An examples file (see `worker.Session.examples`) with an empty list per function not
    traced for want of example calls, and how many functions it names."""
    modules = {m["path"]: m["module"] for m in doc["modules"]}
    lines = [_SKELETON_HEAD]
    count = 0
    for report in doc["functions"]:
        if not needs_examples(report) or report["path"] not in modules:
            continue
        count += 1
        parameters = report.get("parameters")
        signature = f"({', '.join(parameters)})" if parameters is not None else ""
        key = json.dumps(f"{modules[report['path']]}:{report['qualname']}")
        names = parameters or []
        call = names[0] + "," if len(names) == 1 else ", ".join(names)
        lines.append(
            f"    # {report['path']}:{report['line']} {report['qualname']}{signature}\n"
            f"    {key}: [\n"
            f"        # ({call}),\n"
            "    ],\n"
        )
    lines.append("}\n")
    return "".join(lines), count
