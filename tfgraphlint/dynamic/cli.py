"""`tfgraphlint trace`: arguments and entry point (the CLI imports this without TensorFlow).

The parent process never imports TensorFlow or user code: it finds the compiled functions and
the static findings of each file, sends each module to the worker (`supervisor.Worker`), then
joins and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tfgraphlint._types import Finding
from tfgraphlint.config import TRACE_KEYS, Config, ConfigError, load_config
from tfgraphlint.dynamic.join import Thresholds, join
from tfgraphlint.dynamic.supervisor import Outcome
from tfgraphlint.dynamic.targets import NotAnalysable, Target, analyse_for_trace, module_name
from tfgraphlint.engine.lines import split_lines
from tfgraphlint.engine.runner import decode_source

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def add_trace_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], help="files or folders to trace")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument(
        "--timeout", type=float, help="seconds per module, import included (default 60)"
    )
    parser.add_argument("--device", default="cpu", help="cpu (default: hides GPUs), or gpu")
    parser.add_argument("--config", type=Path, help="pyproject.toml to read instead of searching")
    parser.add_argument("--examples", help="Python file with an EXAMPLES dict of example calls")
    parser.add_argument("--recorded", help="JSON of calls written by pytest --tfgraphlint-record")
    parser.add_argument("--repeat", type=int, help="timed calls per mode after warm-up (default 5)")
    parser.add_argument("--max-traces", type=int, help="TFG801 above this many traces (default 1)")
    parser.add_argument(
        "--slow-trace", type=float, help="TFG804 above this many seconds (default 2)"
    )
    parser.add_argument(
        "--write-examples",
        metavar="PATH",
        type=Path,
        help="write an examples file to fill in for the functions with no example inputs "
        "(never over an existing file)",
    )


@dataclass(frozen=True, slots=True)
class TraceSettings:
    timeout: float = 60.0
    repeat: int = 5
    examples: str | None = None
    recorded: str | None = None
    factories: Mapping[str, str] = field(default_factory=dict)
    thresholds: Thresholds = Thresholds()


_KEYS = tuple(TRACE_KEYS)  # validated by `config.load_config` too, naming the file


def _number(table: Mapping[str, Any], key: str, kind: type) -> Any:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"[tool.tfgraphlint.trace] `{key}` must be a positive number")
    return kind(value)


def settings_from(config: Config, args: argparse.Namespace) -> TraceSettings:
    """`[tool.tfgraphlint.trace]`, overridden by flags; paths are relative to the config."""
    table = dict(config.trace)
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(f"unknown key `{unknown[0]}` in [tool.tfgraphlint.trace]")
    base = config.root or Path.cwd()
    factories = table.get("factories", {})
    if not isinstance(factories, Mapping) or not all(
        isinstance(v, str) for v in factories.values()
    ):
        raise ConfigError("[tool.tfgraphlint.trace] `factories` must map strings to strings")

    def path(flag: str | None, key: str) -> str | None:
        if flag:
            return str(Path(flag).resolve())
        value = table.get(key)
        return str((base / value).resolve()) if isinstance(value, str) else None

    default = TraceSettings()
    max_traces = args.max_traces or _number(table, "max-traces", int)
    slow = args.slow_trace or _number(table, "slow-trace", float)
    return TraceSettings(
        timeout=args.timeout or _number(table, "timeout", float) or default.timeout,
        repeat=args.repeat or _number(table, "repeat", int) or default.repeat,
        examples=path(args.examples, "examples"),
        recorded=path(args.recorded, "recorded"),
        factories=dict(factories),
        thresholds=Thresholds(
            max_traces=max_traces or default.thresholds.max_traces,
            slow_trace_s=slow or default.thresholds.slow_trace_s,
        ),
    )


@dataclass(slots=True)
class Plan:
    """One module to trace."""

    path: Path
    shown: str
    module: str
    sys_path: list[str]
    targets: list[Target]
    findings: list[Finding]
    lines: list[str] = field(default_factory=list)  # the source (names in a finding's code)


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return str(path)


def plan_file(path: Path, root: Path, config: Config | None = None) -> Plan | str | None:
    """The plan for one file under the project's `config`; None when it has no compiled
    function; a message if unreadable. Targets and findings come from one `analyse` run."""
    try:
        data = path.read_bytes()
        targets, analysis = analyse_for_trace(data, str(path), config)
    except OSError as exc:
        return f"cannot read: {exc}"
    except NotAnalysable as exc:
        return str(exc)
    if not targets:
        return None
    name, folder = module_name(path)
    findings = analysis.result.findings
    sys_path = list(dict.fromkeys([str(folder), str(root.resolve())]))
    lines = split_lines(decode_source(data))  # decodes: `analyse_for_trace` did
    return Plan(path.resolve(), _shown(path), name, sys_path, targets, findings, lines)


def _request(plan: Plan, settings: TraceSettings) -> dict[str, Any]:
    return {
        "path": str(plan.path),
        "module": plan.module,
        "sys_path": plan.sys_path,
        "targets": [t.to_json() for t in plan.targets],
        "settings": {
            "examples": settings.examples,
            "recorded": settings.recorded,
            "factories": dict(settings.factories),
            "repeat": settings.repeat,
            "sys_path": plan.sys_path,
        },
    }


def _missing(target: Target, outcome: Outcome) -> dict[str, Any]:
    """The report of a function the worker never answered for."""
    ctx = target.context
    base = {"qualname": ctx.qualname, "line": ctx.line}
    if outcome.imported is not None and not outcome.imported.get("ok"):
        message = outcome.imported["error"]["message"]
        return {**base, "status": "not traced", "reason": f"the module did not import: {message}"}
    if outcome.during == ctx.qualname:
        error = {"type": outcome.status, "message": outcome.failure, "line": None}
        return {**base, "status": "failed", "reason": outcome.failure, "error": error}
    return {**base, "status": "not traced", "reason": f"not reached: the worker {outcome.failure}"}


def assemble(
    plan: Plan, outcome: Outcome, settings: TraceSettings
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The module entry and the function reports of one plan, joined with static findings."""
    answered = {f["qualname"]: f for f in outcome.functions}
    reports = []
    for target in plan.targets:
        report = dict(answered.get(target.context.qualname) or _missing(target, outcome))
        functions = {c.qualname: c.line for c in (target.context, *target.helpers)}
        report["path"] = plan.shown
        report["findings"] = join(
            report, plan.shown, plan.findings, functions, settings.thresholds, plan.lines
        )
        reports.append(report)
    if outcome.imported is None:
        module = {"status": outcome.status, "reason": outcome.failure}
    elif outcome.imported.get("ok"):
        module = {"status": "imported", "reason": None, "import_time_s": outcome.imported["time_s"]}
    else:
        module = {"status": "import failed", "reason": outcome.imported["error"]["message"]}
    return {"path": plan.shown, "module": plan.module, **module}, reports


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal. While a module runs,
    the line is redrawn every `interval` seconds with the time spent on it and in all, so a
    slow import does not look frozen."""

    def __init__(self, total: int, stream: TextIO, interval: float = 1.0) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty() and total > 0
        self.interval = interval
        self.done = 0
        self.started = time.monotonic()
        self._label = ""
        self._since = self.started
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def _draw(self) -> None:
        now = time.monotonic()
        filled = int(20 * self.done / self.total)
        bar = "#" * filled + "-" * (20 - filled)
        line = (
            f"[{bar}] {self.done}/{self.total} {_clock(now - self.started)}  "
            f"{self._label[-34:]} ({_clock(now - self._since)})"
        )
        with self._lock:
            self.stream.write(f"\r{line[:79]:<79}")
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw()

    def show(self, label: str) -> None:
        """Start on the next module (the previous one is done)."""
        if not self.enabled:
            return
        if self._label:
            self.done += 1
        self._label, self._since = label, time.monotonic()
        self._draw()
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def close(self) -> None:
        if self.enabled:
            self._stop.set()
            if self._ticker is not None:
                self._ticker.join()
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()
            self.enabled = False


def _clock(seconds: float) -> str:
    """`7 s`, `1:05`."""
    whole = int(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60}:{whole % 60:02d}"


def run_trace(args: argparse.Namespace) -> int:
    from tfgraphlint.dynamic.output import format_text
    from tfgraphlint.dynamic.supervisor import Worker, worker_env
    from tfgraphlint.engine.files import iter_python_files

    skeleton: Path | None = args.write_examples
    if skeleton is not None and (skeleton.exists() or skeleton.is_symlink()):
        print(
            f"tfgraphlint trace: --write-examples: {skeleton} exists; not overwritten "
            "(move it away or give another path)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    start = Path(args.paths[0]) if args.paths else Path.cwd()
    config = load_config(args.config, start=start if start.is_dir() else start.parent)
    settings = settings_from(config, args)
    root = config.root or Path.cwd()
    plans: list[Plan] = []
    errors: list[dict[str, Any]] = []
    notebooks: list[Path] = []
    for path in iter_python_files(args.paths, config):
        if path.suffix.lower() == ".ipynb":
            notebooks.append(path)  # run in the worker below (`dynamic.notebooks`)
            continue
        plan = plan_file(path, root, config)
        if isinstance(plan, str):
            errors.append({"path": _shown(path), "message": plan})
        elif plan is not None:
            plans.append(plan)
    modules: list[dict[str, Any]] = []
    reports: list[dict[str, Any]] = []
    worker = Worker(worker_env(args.device), root)
    progress = Progress(len(plans), sys.stderr)
    try:
        for plan in plans:
            progress.show(plan.shown)
            outcome = worker.run(_request(plan, settings), settings.timeout)
            module, functions = assemble(plan, outcome, settings)
            modules.append(module)
            reports.extend(functions)
        for path in notebooks:
            _trace_notebook(path, root, settings, worker, modules, reports, errors, config)
    except RuntimeError as exc:  # the worker cannot start (TensorFlow missing or broken)
        progress.close()
        print(f"tfgraphlint trace: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        progress.close()  # stops its clock whatever happened
        worker.stop()
    doc = {
        "tensorflow": worker.tensorflow,
        "modules": modules,
        "functions": reports,
        "errors": errors,
    }
    if args.format == "json":
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_text(doc))
    if skeleton is not None:
        write_skeleton(skeleton, doc)
    return EXIT_FINDINGS if needs_attention(doc) else EXIT_CLEAN


def write_skeleton(path: Path, doc: Mapping[str, Any]) -> None:
    """`--write-examples`: the examples file for the functions with no example inputs; an
    existing file is left alone (`x` mode: also when one appeared while tracing)."""
    from tfgraphlint.dynamic.output import examples_skeleton

    text, count = examples_skeleton(doc)
    if not count:
        print(
            "tfgraphlint trace: every function had example inputs: no examples file written",
            file=sys.stderr,
        )
        return
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        print(f"tfgraphlint trace: --write-examples: cannot write {path}: {exc}", file=sys.stderr)
        return
    print(
        f"tfgraphlint trace: wrote example calls to fill in for {count} "
        f"function{'s' * (count != 1)} to {path}; then run with --examples {path}",
        file=sys.stderr,
    )


def _trace_notebook(
    path: Path,
    root: Path,
    settings: TraceSettings,
    worker: Any,
    modules: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    config: Config | None = None,
) -> None:
    """A notebook's code cells run in order as one module (`dynamic.notebooks`), skipping
    the cells that raise; functions and findings are reported by cell."""
    import tempfile

    from tfgraphlint.dynamic.notebooks import map_report, prepare, run_notebook

    with tempfile.TemporaryDirectory(prefix="tfgraphlint-nb-") as tmp:
        run = prepare(path, Path(tmp))
        if isinstance(run, str):
            errors.append({"path": _shown(path), "message": run})
            return
        if run is None:
            return

        def execute(module_path: Path) -> tuple[Any, Any]:
            plan = plan_file(module_path, root, config)
            if not isinstance(plan, Plan):
                return None, plan
            plan.shown = _shown(path)
            outcome = worker.run(_request(plan, settings), settings.timeout)
            return outcome, assemble(plan, outcome, settings)

        _, assembled = run_notebook(run, execute)
        if not isinstance(assembled, tuple):
            if isinstance(assembled, str):
                errors.append({"path": _shown(path), "message": assembled})
            return
        module, functions = assembled
        skipped = [{"cell": e.cell, "reason": e.message} for e in run.notebook.errors]
        module["cells_skipped"] = skipped + run.skipped
        for report in functions:
            map_report(run.notebook, report)
        modules.append(module)
        reports.extend(functions)


def needs_attention(doc: Mapping[str, Any]) -> bool:
    """Exit 1 when a dynamic finding was measured or a module could not be imported."""
    measured = any(
        f["confirmed"] == "measured" for report in doc["functions"] for f in report["findings"]
    )
    broken = any(m["status"] != "imported" for m in doc["modules"])
    return measured or broken or bool(doc["errors"])
