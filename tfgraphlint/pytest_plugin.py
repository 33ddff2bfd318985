"""pytest plugin (entry point `pytest11`): report and guard `tf.function` retracing in tests.

Inert unless one of its options is given; importing it never imports TensorFlow.

    pytest --tfgraphlint-traces               # report every tf.function traced in the session
    pytest --tfgraphlint-max-traces 2         # ... and fail when one traced more than twice
    pytest --tfgraphlint-record calls.json    # save the traced calls for `tfgraphlint trace`

Counts are per `tf.function` object, as TensorFlow caches them (a `tf.function` method has one
per instance). The second graph TensorFlow builds when a first call creates variables is not
counted. Works with pytest-xdist: workers send their traces to the controller.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tfgraphlint.dynamic.reasons import VARIABLE_PASS, Trace, numbered_retraces, plural, reasons

if TYPE_CHECKING:
    from tfgraphlint.dynamic.hooks import TraceEvent

_WORKER_KEY = "tfgraphlint_traces"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfgraphlint", "tf.function tracing (tfgraphlint)")
    group.addoption(
        "--tfgraphlint-traces",
        action="store_true",
        help="report every tf.function traced during the tests, with retrace reasons",
    )
    group.addoption(
        "--tfgraphlint-max-traces",
        type=int,
        metavar="N",
        help="fail the session when a tf.function traced more than N times (implies the report)",
    )
    group.addoption(
        "--tfgraphlint-record",
        metavar="PATH",
        help="write the traced calls as JSON, for `[tool.tfgraphlint.trace] recorded`",
    )


@dataclass(slots=True)
class FunctionTraces:
    """All traces of one tf.function object."""

    name: str
    module: str
    filename: str
    line: int
    traces: list[Trace] = field(default_factory=list)
    seconds: float = 0.0
    label: str | None = None  # what the report calls it (a Keras `fit` function: its model)

    @property
    def shown(self) -> str:
        return self.label or self.name

    @property
    def reasons(self) -> list[str | None]:
        return reasons(self.traces)

    @property
    def count(self) -> int:
        return sum(1 for r in self.reasons if r != VARIABLE_PASS)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "filename": self.filename,
            "line": self.line,
            "seconds": self.seconds,
            "traces": [{"arguments": t.arguments, "scope": t.scope} for t in self.traces],
            "label": self.label,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FunctionTraces:
        return cls(
            name=data["name"],
            module=data["module"],
            filename=data["filename"],
            line=data["line"],
            traces=[Trace(t["arguments"], t["scope"]) for t in data["traces"]],
            seconds=data["seconds"],
            label=data.get("label"),
        )


class TraceGuard:
    """Collects traces (in the process that runs tests) and reports them (in the main one)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.max_traces: int | None = config.getoption("tfgraphlint_max_traces")
        self.record: str | None = config.getoption("tfgraphlint_record")
        self.functions: dict[str, FunctionTraces] = {}

    # -------------------------------------------------------------- collecting
    def _on_trace(self, event: TraceEvent) -> None:
        entry = self.functions.get(str(event.key))
        if entry is None:
            entry = FunctionTraces(event.name, event.module, event.filename, event.line)
            keras = keras_model_function(event.function, event.name)
            if keras is not None:
                entry.label, entry.filename, entry.line = keras
            self.functions[str(event.key)] = entry
        entry.traces.append(Trace(event.arguments, event.scope))
        entry.seconds += event.duration_s

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self._runs_tests():
            from tfgraphlint.dynamic import hooks

            hooks.add_listener(self._on_trace)

    def _runs_tests(self) -> bool:
        """False only in an xdist controller, whose workers run the tests."""
        dist = getattr(self.config.option, "dist", "no")
        return hasattr(self.config, "workerinput") or dist in (None, "no")

    @pytest.hookimpl(optionalhook=True)  # an xdist hook: absent without xdist
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        data = getattr(node, "workeroutput", {}).get(_WORKER_KEY, {})
        worker = node.gateway.id if hasattr(node, "gateway") else "worker"
        for key, value in data.items():
            self.functions[f"{worker}:{key}"] = FunctionTraces.from_json(value)

    # -------------------------------------------------------------- reporting
    def violations(self) -> list[FunctionTraces]:
        if self.max_traces is None:
            return []
        return [f for f in self.functions.values() if f.count > self.max_traces]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput"):
            self.config.workeroutput[_WORKER_KEY] = {  # type: ignore[attr-defined]
                key: f.to_json() for key, f in self.functions.items()
            }
            return
        if self.record:
            Path(self.record).write_text(json.dumps(recorded_calls(self.functions), indent=1))
        if self.violations() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(self.config, "workerinput"):
            return
        terminalreporter.section("tfgraphlint: tf.function traces")
        for line in report_lines(list(self.functions.values()), self.max_traces):
            terminalreporter.write_line(line)


_KERAS_STEPS = {"train_step": "fit", "test_step": "evaluate", "predict_step": "predict"}
# Keras 2 (TensorFlow 2.15): `model.train_step` is looked up when called, not closed over;
# the function Keras traces is named after it.
_KERAS2_FUNCTIONS = {
    "train_function": "train_step",
    "test_function": "test_step",
    "predict_function": "predict_step",
}


def _closure_values(fn: Any, depth: int = 0) -> Iterator[Any]:
    """What a function closes over, following wrappers (`functools.wraps`, tf.function) and
    the closures of the functions it closes over, a few levels deep."""
    if depth > 4:
        return
    fn = getattr(fn, "python_function", fn)
    wrapped = getattr(fn, "__wrapped__", None)
    if wrapped is not None:
        yield from _closure_values(wrapped, depth + 1)
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        yield value
        if inspect.isfunction(value) or hasattr(type(value), "python_function"):
            yield from _closure_values(value, depth + 1)


def _is_keras_model(value: Any) -> bool:
    return any(
        c.__name__ == "Model" and c.__module__.startswith(("keras.", "tf_keras."))
        for c in type(value).__mro__
    )


def keras_model_function(function: Any, name: str) -> tuple[str, str, int] | None:
    """(label, file, line) for a tf.function Keras builds for `fit`/`evaluate`/`predict`:
    named after the model's class and step (`TinyRegressor.train_step [Keras fit:
    one_step_on_data]`), located at the step when the model overrides it, else at the class.
    None for any other function."""
    module = getattr(function, "__module__", "") or ""
    if not module.startswith(("keras.", "tf_keras.")):
        return None
    model: Any = None
    short = name.rsplit(".", 1)[-1]
    step = _KERAS2_FUNCTIONS.get(short) or ("predict_step" if "predict" in name else None)
    for value in _closure_values(function):
        if model is None and _is_keras_model(value):
            model = value
        method = getattr(value, "__name__", "")
        if step is None and method in _KERAS_STEPS and inspect.ismethod(value):
            step = method
    if model is None:
        return None
    cls = type(model)
    if step is None:
        label = f"{cls.__qualname__} [Keras: {short}]"
    else:
        label = f"{cls.__qualname__}.{step} [Keras {_KERAS_STEPS[step]}: {short}]"
    where: Any = cls
    override = getattr(cls, step, None) if step else None
    override_module = getattr(override, "__module__", "") or ""
    if override is not None and not override_module.startswith(("keras.", "tf_keras.")):
        where = override
    try:
        filename = inspect.getsourcefile(where)
        line = inspect.getsourcelines(where)[1]
    except (OSError, TypeError):
        return label, getattr(function.__code__, "co_filename", ""), 0
    return label, filename or "", line


def _location(f: FunctionTraces, root: Path) -> str:
    path = Path(f.filename)
    try:
        shown = path.resolve().relative_to(root).as_posix()
    except ValueError:
        shown = str(path)
    return f"{shown}:{f.line}"


def report_lines(
    functions: list[FunctionTraces], max_traces: int | None, root: Path | None = None
) -> list[str]:
    """The session report: one block per tf.function, most traced first."""
    root = (root or Path.cwd()).resolve()
    if not functions:
        return ["no tf.function was traced"]
    total = sum(f.count for f in functions)
    seconds = sum(f.seconds for f in functions)
    lines = [
        f"{plural(len(functions), 'tf.function object')} traced {plural(total, 'time')} in "
        f"{seconds:.2f} s"
        + (f" (at most {max_traces} traces allowed each)" if max_traces is not None else "")
    ]
    for f in sorted(functions, key=lambda f: (-f.count, -f.seconds, f.name)):
        flag = (
            "  FAILED: too many traces" if max_traces is not None and f.count > max_traces else ""
        )
        lines.append(
            f"  {f.shown} ({_location(f, root)}): {plural(f.count, 'trace')}, "
            f"{f.seconds:.2f} s{flag}"
        )
        for number, reason in numbered_retraces(f.reasons):
            lines.append(f"    retrace {number}: {reason}")
    over = [f for f in functions if max_traces is not None and f.count > max_traces]
    if over:
        lines.append(
            f"FAILED: {plural(len(over), 'tf.function object')} traced more than "
            f"{plural(max_traces or 0, 'time')} (--tfgraphlint-max-traces)"
        )
    return lines


def recorded_calls(functions: Mapping[str, FunctionTraces]) -> dict[str, list[Any]]:
    """`module:qualname` -> distinct argument descriptions, for `tfgraphlint trace`."""
    out: dict[str, list[Any]] = {}
    for f in functions.values():
        calls = out.setdefault(f"{f.module}:{f.name}", [])
        for trace in f.traces:
            if trace.arguments not in calls:
                calls.append(trace.arguments)
    return out


def pytest_configure(config: pytest.Config) -> None:
    enabled = (
        config.getoption("tfgraphlint_traces")
        or config.getoption("tfgraphlint_max_traces") is not None
        or config.getoption("tfgraphlint_record")
    )
    if enabled:
        config.pluginmanager.register(TraceGuard(config), "tfgraphlint-trace-guard")
