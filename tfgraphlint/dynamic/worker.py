"""The worker process of `tfgraphlint trace`: imports TensorFlow once, then imports and traces
one user module per request, read as a JSON line from one pipe, answered on another.

Run as `python -m tfgraphlint.dynamic.worker --in FD --out FD --token T` by `supervisor.Worker`
only. The pipes are private file descriptors, so what user code prints or reads cannot break
the protocol; each message is a frame marked with the token, written with `os.write` and a
`json` of our own, so bytes a module writes to the pipe, or a module that patches `json`, do
not either. Messages to the parent: `ready`, `phase` (what runs now, so a timeout can say where
it hung), `function`, `result`. Each module is imported as in a fresh interpreter as far as
names go (`isolate`): its own roots first on `sys.path`, colliding modules of earlier ones
forgotten.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import faulthandler
import importlib
import importlib.util
import io
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, ModuleType
from typing import IO, Any

from tfgraphlint.dynamic.reasons import VARIABLE_PASS, Trace, numbered_retraces, reasons
from tfgraphlint.dynamic.supervisor import FRAME
from tfgraphlint.engine.lines import split_lines

Call = tuple[tuple[Any, ...], dict[str, Any]]

_CONTROL_FLOW_OPS = frozenset(
    {"If", "StatelessIf", "While", "StatelessWhile", "ReduceDataset", "Case", "StatelessCase"}
)
_AG_WARNING = re.compile(
    r"AutoGraph could not transform <(?:function|method|bound method) (?P<name>[\w.<>]+)"
    r".*?>.*?Cause: (?P<cause>[^\n]*)",
    re.S,
)


class NotTraceable(Exception):
    """The function cannot be called: the message says why (it becomes the `reason`)."""


# ------------------------------------------------------------------ protocol


def _private_json() -> ModuleType:
    """A copy of the `json` package of our own: a module that patches `json` (its functions,
    its encoder's helpers) patches the copy in `sys.modules`, not this one."""
    saved = {k: v for k, v in sys.modules.items() if k == "json" or k.startswith("json.")}
    for name in saved:
        del sys.modules[name]
    try:
        return importlib.import_module("json")
    finally:
        for name in [k for k in sys.modules if k == "json" or k.startswith("json.")]:
            del sys.modules[name]
        sys.modules.update(saved)


_JSON = _private_json()
_ENCODE = _JSON.JSONEncoder(default=str).encode
_DECODE = _JSON.JSONDecoder().decode
_WRITE = os.write
_GETPID = os.getpid


class Channel:
    """Requests come as JSON lines; each message goes out as one frame, `FRAME token:length`,
    a newline and the JSON, so bytes a module writes to the pipe are not taken for a
    message. A process forked by a module that comes back here (it did not exit) ends: it
    must not answer or take requests."""

    def __init__(self, read_fd: int, write_fd: int, token: str) -> None:
        self._in: IO[str] = os.fdopen(read_fd, "r", encoding="utf-8")
        self._out = write_fd
        self._marker = FRAME + token.encode() + b":"
        self._pid = _GETPID()

    def _check_process(self) -> None:
        if _GETPID() != self._pid:
            os._exit(0)

    def send(self, event: str, **data: Any) -> None:
        self._check_process()
        payload = _ENCODE({"event": event, **data}).encode("ascii")  # ensure_ascii: ASCII
        frame = b"\n" + self._marker + str(len(payload)).encode() + b"\n" + payload
        view = memoryview(frame)
        while view:
            view = view[_WRITE(self._out, view) :]

    def requests(self) -> Iterator[dict[str, Any]]:
        for line in self._in:
            self._check_process()
            if line.strip():
                yield _DECODE(line)


# ------------------------------------------------------------------ helpers


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are not user code (TensorFlow, Keras, the stdlib, ourselves)."""
    import sysconfig

    dirs = {sysconfig.get_paths()["stdlib"], str(Path(__file__).resolve().parent.parent)}
    for name in ("tensorflow", "keras", "tf_keras", "absl", "numpy"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs.update(spec.submodule_search_locations)
    return tuple(sorted(d.rstrip("/") + "/" for d in dirs))


LIBRARY_DIRS: tuple[str, ...] = ()


def is_user_file(filename: str) -> bool:
    return not filename.startswith((*LIBRARY_DIRS, "<")) and "__autograph_generated" not in filename


def _short_error(exc: BaseException, limit: int = 300) -> str:
    """TensorFlow's message, without AutoGraph's 'in user code' frame listing, and cut after
    the first sentence when long (TensorFlow appends paragraphs of advice)."""
    text = str(exc).strip()
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paragraphs) > 1 and paragraphs[0].startswith("in user code"):
        text = paragraphs[-1]
    text = " ".join(text.split())
    name = type(exc).__name__
    text = text.removeprefix(f"{name}: ")
    if len(text) > limit:
        sentence = re.match(r"(.+?[.!?])\s", text)
        text = (
            sentence.group(1)
            if sentence and len(sentence.group(1)) <= limit
            else text[:limit] + " [...]"
        )
    return f"{name}: {text}" if text else name


def error_line(exc: BaseException, path: str) -> int | None:
    """The line of `path` an exception comes from: AutoGraph's `File "...", line N` listing
    (innermost), else the innermost traceback frame in that file."""
    wanted = os.path.realpath(path)
    lines = [
        int(m.group(2))
        for m in re.finditer(r'File "([^"]+)", line (\d+)', str(exc))
        if os.path.realpath(m.group(1)) == wanted
    ]
    if lines:
        return lines[-1]
    frames = [
        f.lineno
        for f in traceback.extract_tb(exc.__traceback__)
        if os.path.realpath(f.filename) == wanted
    ]
    return frames[-1] if frames else None


def error_info(exc: BaseException, path: str) -> dict[str, Any]:
    if isinstance(exc, SystemExit):
        message = f"called sys.exit({exc.code!r})"
    else:
        message = _short_error(exc)
    return {"type": type(exc).__name__, "message": message, "line": error_line(exc, path)}


@contextlib.contextmanager
def captured_output() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        yield buffer


@dataclass(frozen=True, slots=True)
class Baseline:
    """`sys.path` and the top-level modules when the worker was ready: what every request
    starts from."""

    path: tuple[str, ...] = ()
    tops: frozenset[str] = frozenset()
    site: tuple[str, ...] = ()  # the stdlib's and installed packages' folders

    @classmethod
    def now(cls) -> Baseline:
        import sysconfig

        paths = sysconfig.get_paths()
        site = {os.path.realpath(paths[k]) + os.sep for k in ("purelib", "platlib", "stdlib")}
        return cls(
            tuple(sys.path),
            frozenset(k.partition(".")[0] for k in sys.modules),
            tuple(sorted(site)),
        )


BASELINE: Baseline | None = None  # set when the worker is ready


def _location(spec: Any) -> str | tuple[str, ...] | None:
    """Where a module spec loads from: its file, or a namespace package's folders."""
    if spec is None:
        return None
    origin = getattr(spec, "origin", None)
    if isinstance(origin, str) and origin and getattr(spec, "has_location", False):
        return os.path.realpath(origin)
    locations = getattr(spec, "submodule_search_locations", None)
    if origin is None and locations is not None:
        return tuple(os.path.realpath(p) for p in locations)
    return None


def _fresh_location(name: str) -> tuple[bool, str | tuple[str, ...] | None]:
    """(known, where) a fresh interpreter with the current `sys.path` would import `name`
    from; not known when an import hook fails."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(name, None)
        except Exception:
            return False, None
        if spec is not None:
            return True, _location(spec)
    return True, None


def isolate(sys_path: Sequence[str]) -> list[str]:
    """Prepare the interpreter for the next module, as if it were imported in a fresh one:
    its roots first on `sys.path` (earlier modules' roots dropped), and every top-level module
    an earlier module imported that would now import from elsewhere (`a/helpers.py` then
    `b/helpers.py`) forgotten, with its submodules. Modules that resolve to the same file
    stay imported (a shared helper imports once). Returns the names forgotten."""
    global BASELINE
    if BASELINE is None:
        BASELINE = Baseline.now()
    sys.path[:] = list(dict.fromkeys([*sys_path, *BASELINE.path]))
    forgotten = []
    for top in sorted({k.partition(".")[0] for k in sys.modules} - BASELINE.tops):
        module = sys.modules.get(top)
        loaded = _location(getattr(module, "__spec__", None))
        if loaded is None:
            continue  # made in memory (no file, no folders): not ours to judge
        known, fresh = _fresh_location(top)
        if not known or fresh == loaded:
            continue
        if fresh is None and isinstance(loaded, str) and loaded.startswith(BASELINE.site):
            continue  # an installed package found by other means
        for name in [k for k in sys.modules if k == top or k.startswith(top + ".")]:
            del sys.modules[name]
        forgotten.append(top)
    if forgotten:
        importlib.invalidate_caches()
    return forgotten


def import_module(name: str, path: Path, sys_path: Sequence[str]) -> ModuleType:
    isolate(sys_path)
    existing = sys.modules.get(name)
    if existing is not None and os.path.realpath(getattr(existing, "__file__", "")) == str(path):
        return existing
    if name:
        with contextlib.suppress(ModuleNotFoundError):
            module = importlib.import_module(name)
            if os.path.realpath(getattr(module, "__file__", "")) == str(path):
                return module
    # Not importable under its dotted name (e.g. a clash): load it from its path.
    unique = f"_tfgraphlint_trace_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    spec.loader.exec_module(module)
    return module


def _load_object(ref: str, sys_path: Sequence[str]) -> Any:
    """`module:attr.attr` -> the object."""
    for entry in reversed(sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    module_name, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def _load_file(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_tfgraphlint_examples_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ finding the function


def _is_tf_function(obj: Any) -> bool:
    import tensorflow as tf

    return isinstance(obj, tf.types.experimental.PolymorphicFunction)


def _code(fn: Any) -> CodeType | None:
    from tfgraphlint.dynamic.hooks import user_function

    return getattr(user_function(getattr(fn, "python_function", fn)), "__code__", None)


@dataclass(slots=True)
class Resolved:
    call: Callable[..., Any]  # what to call: the tf.function, bound to an instance if a method
    defined: Any  # the tf.function as found (where @tfgraphlint.examples stores calls)
    code: CodeType
    instance: Any = None


def _matches(fn: Any, qualname: str, path: Path) -> bool:
    code = _code(fn)
    return (
        code is not None
        and getattr(code, "co_qualname", code.co_name) == qualname
        and os.path.realpath(code.co_filename) == str(path)
    )


def _find_function(space: Iterator[Any], qualname: str, path: Path) -> Any:
    for value in space:
        value = getattr(value, "__func__", value)  # staticmethod / classmethod
        if _is_tf_function(value) and _matches(value, qualname, path):
            return value
    return None


class Session:
    """State of one worker across requests: settings files load once."""

    def __init__(self) -> None:
        self._examples: dict[str, Mapping[str, Any]] = {}
        self._recorded: dict[str, Mapping[str, Any]] = {}
        self.imported = ImportTraces()

    def examples(self, path: str | None) -> Mapping[str, Any]:
        if not path:
            return {}
        if path not in self._examples:
            module = _load_file(path)
            table = getattr(module, "EXAMPLES", None)
            if not isinstance(table, Mapping):
                raise NotTraceable(f"{path} has no EXAMPLES dict")
            self._examples[path] = table
        return self._examples[path]

    def recorded(self, path: str | None) -> Mapping[str, Any]:
        if not path:
            return {}
        if path not in self._recorded:
            self._recorded[path] = _DECODE(Path(path).read_text(encoding="utf-8"))
        return self._recorded[path]


def _instance(cls: type, key: str, settings: Mapping[str, Any]) -> Any:
    factory_ref = settings.get("factories", {}).get(key)
    try:
        if factory_ref:
            return _load_object(factory_ref, settings.get("sys_path", []))()
        return cls()
    except Exception as exc:
        how = f"the factory `{factory_ref}`" if factory_ref else f"`{cls.__qualname__}()`"
        hint = "" if factory_ref else f'; add a factory: factories = {{"{key}" = "module:make"}}'
        raise NotTraceable(
            f"method of `{cls.__qualname__}`: {how} raised {_short_error(exc)}{hint}"
        ) from None


def resolve(
    module: ModuleType, module_name: str, qualname: str, path: Path, settings: Mapping[str, Any]
) -> Resolved:
    parts = qualname.split(".")
    if "<locals>" in parts:
        outer = qualname.split(".<locals>")[0]
        raise NotTraceable(f"defined inside `{outer}`: not reachable after import")
    owner: Any = module
    for part in parts[:-1]:
        owner = getattr(owner, part, None)
    cls = owner if isinstance(owner, type) else None
    if len(parts) > 1 and cls is None:
        raise NotTraceable(f"`{'.'.join(parts[:-1])}` is not a class of the imported module")
    space = list(vars(cls).values()) if cls else list(vars(module).values())
    found = _find_function(iter(space), qualname, path)
    if cls is None:
        if found is None:
            raise NotTraceable(
                "no module-level tf.function object wraps it (it is wrapped inside a function or "
                "at call time)"
            )
        code = _code(found)
        assert code is not None
        return Resolved(found, found, code)
    instance = _instance(cls, f"{module_name}:{cls.__qualname__}", settings)
    if found is not None:
        bound = found.__get__(instance, cls)
    else:  # wrapped in __init__: self.step = tf.function(self._step)
        bound = found = _find_function(iter(vars(instance).values()), qualname, path)
        if found is None:
            raise NotTraceable(f"no tf.function object wraps it on a `{cls.__qualname__}` instance")
    code = _code(found)
    assert code is not None
    return Resolved(bound, found, code, instance)


# ------------------------------------------------------------------ inputs


def normalize_call(call: Any) -> Call:
    """A tuple of args, a dict of kwargs, an `(args, kwargs)` pair, or a single argument."""
    if isinstance(call, dict):
        return (), dict(call)
    if (
        isinstance(call, tuple)
        and len(call) == 2
        and isinstance(call[0], tuple | list)
        and isinstance(call[1], dict)
    ):
        return tuple(call[0]), dict(call[1])
    if isinstance(call, tuple):
        return call, {}
    return (call,), {}


def _from_spec(spec: Any) -> Any:
    import tensorflow as tf

    if not isinstance(spec, tf.TensorSpec):
        raise NotTraceable(
            f"input_signature holds a {type(spec).__name__}, only TensorSpecs are built"
        )
    rank = spec.shape.rank
    shape = [] if rank is None else [2 if d is None else d for d in spec.shape.as_list()]
    return tf.zeros(shape, spec.dtype)


def _rebuild(desc: Mapping[str, Any]) -> Any:
    """A value with the recorded trace type (tensors become zeros)."""
    import ast

    import tensorflow as tf

    kind = desc["kind"]
    if kind == "tensor":
        shape = [2 if d is None else d for d in (desc["shape"] or [])]
        return tf.zeros(shape, desc["dtype"])
    if kind == "python":
        return ast.literal_eval(desc["value"])
    if kind in ("list", "tuple"):
        items = [_rebuild(d) for d in desc["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {ast.literal_eval(k): _rebuild(v) for k, v in desc["items"].items()}
    raise ValueError(kind)


def example_calls(
    resolved: Resolved, key: str, session: Session, settings: Mapping[str, Any]
) -> tuple[list[Call], str]:
    """The calls to make, and where they come from (first source that applies)."""
    signature = getattr(resolved.defined, "input_signature", None)
    if signature is not None:
        import tensorflow as tf

        return [(tuple(tf.nest.map_structure(_from_spec, list(signature))), {})], "input_signature"
    table = session.examples(settings.get("examples"))
    if table.get(key):  # an empty list (a skeleton not filled in yet) gives no call
        return [normalize_call(c) for c in table[key]], "examples file"
    python_function = getattr(resolved.defined, "python_function", None)
    for holder in (
        resolved.defined,
        python_function,
        getattr(python_function, "__wrapped__", None),
    ):
        calls = getattr(holder, "__tfgraphlint_examples__", None)
        if calls:
            return [normalize_call(c) for c in calls], "@tfgraphlint.examples"
    recorded = session.recorded(settings.get("recorded")).get(key, [])
    rebuilt = []
    for arguments in recorded:
        with contextlib.suppress(ValueError, SyntaxError):
            rebuilt.append(((), {name: _rebuild(d) for name, d in arguments.items()}))
    if rebuilt:
        return rebuilt, "recorded by pytest"
    reason = "no example inputs: give it an input_signature, @tfgraphlint.examples(...), an entry"
    reason += " in the examples file, or record calls with pytest --tfgraphlint-record"
    if recorded:
        reason = "recorded calls pass objects that cannot be rebuilt; " + reason
    elif key in table:
        reason = "no example inputs: its list in the examples file is empty"
    raise NotTraceable(reason)


# ------------------------------------------------------------------ observing


def _graphs(graph: Any, seen: set[int] | None = None) -> Iterator[Any]:
    """A graph and every function graph nested in it (cond branches, loop bodies, calls)."""
    seen = set() if seen is None else seen
    if id(graph) in seen:
        return
    seen.add(id(graph))
    yield graph
    for fn in list(getattr(graph, "_functions", {}).values()):
        inner = getattr(fn, "graph", None)
        if inner is not None:
            yield from _graphs(inner, seen)


def _innermost_user_frame(frames: Sequence[Any]) -> tuple[str, int] | None:
    for frame in reversed(frames):
        if is_user_file(frame.filename):
            return os.path.realpath(frame.filename), frame.lineno
    return None


def graph_facts(concrete: Any) -> tuple[int, set[tuple[str, int]]]:
    """(ops in the graph and its nested function graphs, source lines of graph control flow)."""
    ops = 0
    lines: set[tuple[str, int]] = set()
    for graph in _graphs(concrete.graph):
        operations = graph.get_operations()
        ops += len(operations)
        for op in operations:
            if op.type in _CONTROL_FLOW_OPS:
                where = _innermost_user_frame(op.traceback)
                if where is not None:
                    lines.add(where)
    return ops, lines


@dataclass(slots=True)
class Observation:
    """What happened while the example calls of one function ran."""

    code: CodeType
    traces: list[Trace] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    ops: list[int] = field(default_factory=list)
    graph_lines: set[tuple[str, int]] = field(default_factory=set)
    prints: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    active: bool = True

    def on_trace(self, event: Any) -> None:
        if not self.active or event.code is not self.code:
            return
        self.traces.append(Trace(event.arguments, event.scope))
        self.durations.append(event.duration_s)
        if event.concrete is not None:
            ops, lines = graph_facts(event.concrete)
            self.ops.append(ops)
            self.graph_lines |= lines

    def on_print(self, text: str) -> None:
        if self.active:
            self.prints.append(_print_record(text))

    def on_log(self, message: str) -> None:
        self.logs.append(message)


def _print_record(text: str) -> dict[str, Any]:
    """A `print` call: its source line (through AutoGraph's source map), whether it ran while
    tracing."""
    from tensorflow.python.util import tf_stack

    from tfgraphlint.dynamic.hooks import tracing_depth

    where = _innermost_user_frame(list(tf_stack.extract_stack()))
    return {
        "file": where[0] if where else None,
        "line": where[1] if where else None,
        "text": text[:200],
        "tracing": tracing_depth() > 0,
    }


@dataclass(slots=True)
class ImportTraces:
    """The traces made while modules imported (a module-level call of a tf.function), by
    function code, each with the prints and TensorFlow warnings made while it traced. One per
    worker: a module imported by an earlier module's import is not imported again.

    A print or warning made while tracing is held until a trace ends; the trace that ends
    takes those made deeper than the tracing depth it returns to (a nested tf.function's
    trace has taken its own already)."""

    by_code: dict[CodeType, Observation] = field(default_factory=dict)
    pending: list[tuple[int, str, Any]] = field(default_factory=list)  # (depth, kind, record)

    def on_trace(self, event: Any) -> None:
        from tfgraphlint.dynamic.hooks import tracing_depth

        depth = tracing_depth()
        taken = [(kind, record) for held, kind, record in self.pending if held > depth]
        self.pending = [p for p in self.pending if p[0] <= depth]
        if event.code is None or not is_user_file(event.code.co_filename):
            return
        observation = self.by_code.setdefault(event.code, Observation(event.code))
        observation.on_trace(event)
        for kind, record in taken:
            (observation.prints if kind == "print" else observation.logs).append(record)

    def on_print(self, text: str) -> None:
        from tfgraphlint.dynamic.hooks import tracing_depth

        if tracing_depth() > 0:
            self.pending.append((tracing_depth(), "print", _print_record(text)))

    def on_log(self, message: str) -> None:
        from tfgraphlint.dynamic.hooks import tracing_depth

        if tracing_depth() > 0:
            self.pending.append((tracing_depth(), "log", message))

    def of(self, code: CodeType) -> Observation:
        """A new observation of `code`, holding what its traces at import showed."""
        seen = self.by_code.get(code)
        observation = Observation(code)
        if seen is not None:
            observation.traces = list(seen.traces)
            observation.durations = list(seen.durations)
            observation.ops = list(seen.ops)
            observation.graph_lines = set(seen.graph_lines)
            observation.prints = list(seen.prints)
            observation.logs = list(seen.logs)
        return observation


class _LogHandler(logging.Handler):
    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink(record.getMessage())


@contextlib.contextmanager
def observing(observation: Observation | ImportTraces) -> Iterator[None]:
    """Trace events, prints (with their source line) and TensorFlow warnings, for one function
    or for a module's import."""
    import tensorflow as tf

    from tfgraphlint.dynamic import hooks

    original_print = builtins.print

    def recording_print(*args: Any, **kwargs: Any) -> None:
        sep = kwargs.get("sep", " ")
        observation.on_print((" " if sep is None else str(sep)).join(str(a) for a in args))
        original_print(*args, **kwargs)

    # AutoGraph must call it as it is, not convert it.
    recording_print = tf.autograph.experimental.do_not_convert(recording_print)

    handler = _LogHandler(observation.on_log)
    tf.get_logger().addHandler(handler)
    builtins.print = recording_print
    try:
        with hooks.listening(observation.on_trace):
            yield
    finally:
        builtins.print = original_print
        tf.get_logger().removeHandler(handler)


def _fingerprint(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Values of plain Python state: scalars by value, containers by length."""
    out: dict[str, Any] = {}
    for name, value in namespace.items():
        if name.startswith("__"):
            continue
        if value is None or isinstance(value, bool | int | float | str):
            out[name] = repr(value)
        elif isinstance(value, list | dict | set):
            out[name] = f"{type(value).__name__} of {len(value)}"
    return out


def _own_attributes(instance: Any) -> dict[str, Any]:
    """An instance's attributes, without TensorFlow's object tracking: a `tf.Module` (any
    `Trackable`, Keras layers included) sets its `_self_*` bookkeeping lazily, the first time a
    variable or module is assigned to it, which is not a side effect of the user's code."""
    from tensorflow.python.trackable.base import Trackable

    attributes: dict[str, Any] = vars(instance)
    if isinstance(instance, Trackable):
        return {k: v for k, v in attributes.items() if not k.startswith("_self_")}
    return attributes


def _state(module: ModuleType, instance: Any) -> dict[str, Any]:
    state = {f"global `{k}`": v for k, v in _fingerprint(vars(module)).items()}
    if instance is not None and hasattr(instance, "__dict__"):
        attributes = _own_attributes(instance)
        state.update({f"`self.{k}`": v for k, v in _fingerprint(attributes).items()})
    return state


def _median_call_time(
    fn: Callable[..., Any], call: Call, repeat: int, outputs: list[str | None]
) -> float:
    """The median time of `repeat` calls after a warm-up; each call's `output_key` goes to
    `outputs`."""
    args, kwargs = call
    outputs.append(output_key(fn(*args, **kwargs)))  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
        outputs.append(output_key(result))
    times.sort()
    return times[len(times) // 2]


def output_key(value: Any) -> str | None:
    """A digest of a call's output, equal for equal outputs (tensors by dtype, shape and
    bytes); None when it holds something else than tensors and plain Python values."""
    import hashlib

    import numpy as np
    import tensorflow as tf

    digest = hashlib.sha256()
    try:
        items = tf.nest.flatten(value, expand_composites=True)
    except Exception:
        return None
    for item in items:
        if isinstance(item, tf.Tensor | tf.Variable):
            array = np.asarray(item.numpy())
            if array.dtype == object:
                digest.update(repr(array.tolist()).encode())
            else:
                digest.update(f"{array.dtype}{array.shape}".encode() + array.tobytes())
        elif item is None or isinstance(item, bool | int | float | str | bytes):
            digest.update(repr(item).encode())
        else:
            return None
    return digest.hexdigest()


def _all_same(keys: Sequence[str | None]) -> bool | None:
    """Whether the outputs were all equal; None when some cannot be compared."""
    if len(keys) < 2 or any(k is None for k in keys):
        return None
    return len(set(keys)) == 1


_MAX_PROBES = 5


def _global_reads(code: CodeType) -> set[str]:
    """The global names a function's code (and code nested in it) may read."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            found |= _global_reads(const)
    return found


def _changed(value: bool | int | float) -> bool | int | float:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return value * 2 + 1.0


def global_probes(resolved: Resolved, call: Call) -> list[dict[str, Any]]:
    """For each number or bool global the function reads (at most five): change it, call the
    function in graph and in eager mode, and restore it. A value frozen at trace time changes
    the eager output only. A probe whose eager calls differ without any change (a random
    number) says nothing, and is left out."""
    import tensorflow as tf

    from tfgraphlint.dynamic.hooks import user_function

    python_function = getattr(resolved.defined, "python_function", resolved.defined)
    namespace = getattr(user_function(python_function), "__globals__", None)
    if not isinstance(namespace, dict):
        return []
    args, kwargs = call

    def run(eager: bool) -> str | None:
        tf.config.run_functions_eagerly(eager)
        try:
            return output_key(resolved.call(*args, **kwargs))
        finally:
            tf.config.run_functions_eagerly(False)

    probes = []
    names = [
        n
        for n in sorted(_global_reads(resolved.code))
        if type(namespace.get(n)) in (bool, int, float)
    ]
    for name in names[:_MAX_PROBES]:
        old = namespace[name]
        new = _changed(old)
        probe: dict[str, Any] = {"name": name, "old": repr(old), "new": repr(new)}
        try:
            graph_before, eager_before = run(False), run(True)
            if eager_before is None or eager_before != run(True):
                continue  # eager calls differ without a change, or cannot be compared
            namespace[name] = new
            eager_after, graph_after = run(True), run(False)
        except Exception as exc:
            probe["error"] = _short_error(exc)
        else:
            probe["graph_changed"] = graph_after != graph_before
            probe["eager_changed"] = eager_after != eager_before
        finally:
            namespace[name] = old
        probes.append(probe)
    return probes


def _autograph(
    resolved: Resolved, observation: Observation, converted_statically: bool
) -> dict[str, Any]:
    import tensorflow as tf

    warnings = []
    to_code_ok = True
    if converted_statically:
        python_function = getattr(resolved.defined, "python_function", None)
        try:
            tf.autograph.to_code(python_function)
        except Exception as exc:
            to_code_ok = False
            warnings.append({"function": resolved.code.co_qualname, "cause": _short_error(exc)})
    for message in observation.logs:
        match = _AG_WARNING.search(message)
        if match:
            warnings.append({"function": match["name"], "cause": match["cause"].strip()})
        elif "Large unrolled loop" in message:
            warnings.append(
                {"function": resolved.code.co_qualname, "cause": split_lines(message)[0]}
            )
    refused_self = any(w["function"] == resolved.code.co_qualname for w in warnings)
    return {
        "enabled": converted_statically,
        "converted": converted_statically and to_code_ok and not refused_self,
        "warnings": _unique(warnings),
    }


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _side_effects(
    observation: Observation, changes: list[tuple[bool, dict[str, tuple[Any, Any]]]]
) -> list[dict[str, Any]]:
    effects: list[dict[str, Any]] = []
    run_lines = {(p["file"], p["line"]) for p in observation.prints if not p["tracing"]}
    seen: set[tuple[Any, Any]] = set()
    for p in observation.prints:
        where = (p["file"], p["line"])
        if p["tracing"] and where not in run_lines and where not in seen:
            seen.add(where)
            count = sum(1 for q in observation.prints if (q["file"], q["line"]) == where)
            effects.append(
                {
                    "kind": "print",
                    "file": p["file"],
                    "line": p["line"],
                    "detail": f"printed {p['text']!r} while tracing only ({count}x)",
                }
            )
    untraced = {name for traced, diff in changes if not traced for name in diff}
    reported: set[str] = set()
    for traced, diff in changes:
        for name, (old, new) in diff.items():
            if traced and name not in untraced and name not in reported:
                reported.add(name)
                effects.append(
                    {
                        "kind": "state",
                        "name": name.strip("`").split(" `")[-1].split(".")[-1],
                        "file": None,
                        "line": None,
                        "detail": f"{name} changed {old} → {new} in a call that traced, "
                        "and not in calls that did not",
                    }
                )
    return effects


def _parameters(resolved: Resolved) -> dict[str, Any]:
    """`{"parameters": [...]}`: the names an example call gives (`self` bound), if known."""
    import inspect

    try:
        signature = inspect.signature(getattr(resolved.call, "python_function", resolved.call))
    except (TypeError, ValueError):
        return {}
    names = list(signature.parameters)
    if resolved.instance is not None and names and names[0] == "self":
        names = names[1:]
    return {"parameters": names}


def trace_function(
    module: ModuleType,
    module_name: str,
    path: Path,
    target: Mapping[str, Any],
    session: Session,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """Trace one compiled function over its example calls and measure it.

    A module-level tf.function that the module's import already traced keeps those traces
    (TensorFlow's cache is per tf.function object: an example call with the same input types
    does not trace again); a method's instance is new, so its traces all come from the calls.
    """
    import tensorflow as tf

    out: dict[str, Any] = {"qualname": target["qualname"], "line": target["line"]}
    kind = target["kind"]
    if kind == "dataset-callback":
        return {
            **out,
            "status": "not traced",
            "reason": "a Dataset callback: traced by its pipeline",
        }
    if kind == "keras-step":
        reason = (
            "a Keras step: traced by Model.fit; run the tests that call fit with "
            "`pytest --tfgraphlint-traces` to see its traces"
        )
        return {**out, "status": "not traced", "reason": reason}
    try:
        resolved = resolve(module, module_name, target["qualname"], path, settings)
    except NotTraceable as exc:
        return {**out, "status": "not traced", "reason": str(exc)}
    try:
        calls, source = example_calls(
            resolved, f"{module_name}:{target['qualname']}", session, settings
        )
    except NotTraceable as exc:  # the parameters go into `--write-examples` skeletons
        return {**out, "status": "not traced", "reason": str(exc), **_parameters(resolved)}
    tf.config.run_functions_eagerly(False)
    if resolved.instance is None:
        observation = session.imported.of(resolved.code)
    else:
        observation = Observation(resolved.code)
    at_import = sum(1 for r in reasons(observation.traces) if r != VARIABLE_PASS)
    changes: list[tuple[bool, dict[str, tuple[Any, Any]]]] = []
    error: dict[str, Any] | None = None
    completed = 0
    with observing(observation), captured_output():
        for args, kwargs in calls:
            before = _state(module, resolved.instance)
            seen = len(observation.traces)
            try:
                resolved.call(*args, **kwargs)
            except Exception as exc:
                error = error_info(exc, str(path))
                break
            completed += 1
            after = _state(module, resolved.instance)
            diff = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
            changes.append((len(observation.traces) > seen, diff))
        observation.active = False
        costs = _costs(resolved, calls[0], settings) if completed else {}
    trace_reasons = reasons(observation.traces)
    retraces = [{"trace": n, "reason": r} for n, r in numbered_retraces(trace_reasons)]
    conversions = [
        {**s, "graph": (str(path), s["line"]) in observation.graph_lines}
        for s in target["statements"]
    ]
    return {
        **out,
        "status": "failed" if error else "traced",
        "reason": error["message"] if error else None,
        "inputs": source,
        "calls": len(calls),
        "autograph": _autograph(resolved, observation, target["converted"]),
        "conversions": conversions,
        "traces": sum(1 for r in trace_reasons if r != VARIABLE_PASS),
        "traces_at_import": at_import,
        "graphs_built": len(observation.traces),
        "retraces": retraces,
        "trace_time_s": observation.durations[0] if observation.durations else None,
        "trace_time_total_s": sum(observation.durations),
        "graph_ops": observation.ops[0] if observation.ops else None,
        "side_effects": _side_effects(observation, changes),
        "prints": observation.prints,
        "error": error,
        **costs,
    }


def _costs(resolved: Resolved, call: Call, settings: Mapping[str, Any]) -> dict[str, Any]:
    import tensorflow as tf

    repeat = int(settings.get("repeat", 5))
    out: dict[str, Any] = {"graph_time_s": None, "eager_time_s": None, "speedup": None}
    graph: list[str | None] = []
    eager: list[str | None] = []
    try:
        out["graph_time_s"] = _median_call_time(resolved.call, call, repeat, graph)
        tf.config.run_functions_eagerly(True)
        out["eager_time_s"] = _median_call_time(resolved.call, call, repeat, eager)
    except Exception as exc:
        out["cost_error"] = _short_error(exc)
    finally:
        tf.config.run_functions_eagerly(False)
    if out["graph_time_s"] and out["eager_time_s"]:
        out["speedup"] = out["eager_time_s"] / out["graph_time_s"]
    # The same calls, compared: a value frozen at trace time repeats in graph calls only.
    out["repeats"] = {
        "graph_calls": len(graph),
        "eager_calls": len(eager),
        "graph_same": _all_same(graph),
        "eager_same": _all_same(eager),
    }
    if "cost_error" not in out:
        out["global_probes"] = global_probes(resolved, call)
    return out


# ------------------------------------------------------------------ main loop


def handle(request: Mapping[str, Any], channel: Channel, session: Session) -> dict[str, Any]:
    path = Path(request["path"]).resolve()
    settings = request.get("settings", {})
    channel.send("phase", phase="import")
    start = time.perf_counter()
    try:
        with captured_output() as output, observing(session.imported):
            module = import_module(request["module"], path, request.get("sys_path", []))
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: report, keep going
        return {"ok": False, "error": error_info(exc, str(path))}
    result = {
        "ok": True,
        "time_s": time.perf_counter() - start,
        "output": output.getvalue()[-2000:],
    }
    for target in request["targets"]:
        channel.send("phase", phase="trace", function=target["qualname"])
        try:
            report = trace_function(module, request["module"], path, target, session, settings)
        except BaseException as exc:  # a SystemExit inside a traced function, say
            error = error_info(exc, str(path))
            report = {
                "qualname": target["qualname"],
                "line": target["line"],
                "status": "failed",
                "reason": error["message"],
                "error": error,
            }
        channel.send("function", **report)  # sent at once: it survives a later crash
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--in", dest="read_fd", type=int, required=True)
    parser.add_argument("--out", dest="write_fd", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    faulthandler.enable()  # a crash prints the Python stack to stderr (a file the parent reads)
    channel = Channel(args.read_fd, args.write_fd, args.token)
    global LIBRARY_DIRS, BASELINE
    import tensorflow as tf

    from tfgraphlint.dynamic import hooks

    tf.get_logger().propagate = False
    LIBRARY_DIRS = _library_dirs()
    hooks.install()  # now: fail early on an unknown TensorFlow version
    BASELINE = Baseline.now()
    channel.send("ready", tensorflow=tf.__version__)
    session = Session()
    for request in channel.requests():
        channel.send("result", **{"import": handle(request, channel, session)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
