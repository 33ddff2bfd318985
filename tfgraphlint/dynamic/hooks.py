"""Observe every `tf.function` trace, with no change to user code.

TensorFlow builds each graph in `tracing_compilation._create_concrete_function(function_type,
type_context, func_graph, tracing_options)`, called exactly once per trace (cache miss) of
every `tf.function`, for plain functions and methods alike. `function_type` holds TensorFlow's
own cache key for the call: one `TraceType` per parameter (`TensorSpec`, `Literal[3]`,
`Weakref[...]`, ...), so describing it says exactly why TensorFlow traced. The same from
TensorFlow 2.15 to 2.21 (CI runs the dynamic tests under both ends); `install()` raises
`UnsupportedTensorFlow`, naming that range, where the hook point is missing (2.14 and older).

Importing this module imports TensorFlow.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import CodeType
from typing import Any

import tensorflow as tf

ArgDesc = dict[str, Any]  # JSON-able description of one argument's trace type (see `describe`)


class UnsupportedTensorFlow(RuntimeError):
    """This TensorFlow version has no hook point that tfgraphlint knows."""


@dataclass(slots=True)
class TraceEvent:
    """One graph built by TensorFlow for one `tf.function` object."""

    key: int  # one per tf.function object (a method gets one per instance, as in TF)
    name: str  # the Python function's `__qualname__`
    module: str
    filename: str
    line: int
    code: CodeType | None
    arguments: dict[str, ArgDesc]
    scope: str  # "variable-creation", "no-variable-creation" or "none"
    duration_s: float
    concrete: Any  # the ConcreteFunction, or None when tracing raised
    error: BaseException | None
    function: Any = None  # the user's Python function (`user_function` of the traced one)


Listener = Callable[[TraceEvent], None]

_TF_DIR = os.path.dirname(tf.__file__)
_lock = threading.Lock()
_listeners: list[Listener] = []
_original: Callable[..., Any] | None = None
_state = threading.local()
_serials: dict[int, int] = {}
_counter = itertools.count(1)


def tracing_depth() -> int:
    """How many graphs this thread is building right now (0 outside tracing)."""
    return int(getattr(_state, "depth", 0))


def user_function(python_function: Any) -> Any:
    """The user's Python function behind a tf.function's (decorated) python function."""
    fn = inspect.unwrap(python_function)
    return getattr(fn, "__func__", fn)


def _key(cache: Any) -> int:
    """A serial number per trace cache. Caches cannot be weakly referenced, and an id can be
    reused after garbage collection, so an empty cache (a fresh function) gets a new serial."""
    ident = id(cache)
    if ident not in _serials or len(cache) == 0:
        _serials[ident] = next(_counter)
    return _serials[ident]


def def_line(code: CodeType) -> int:
    """The `def` line of a function: `co_firstlineno` is its first decorator's line."""
    for line in range(code.co_firstlineno, code.co_firstlineno + 100):
        text = linecache.getline(code.co_filename, line).lstrip()
        if text.startswith(("def ", "async def ")):
            return line
        if not text:
            break
    return code.co_firstlineno


def _scope(options: Any) -> str:
    return str(getattr(options.scope_type, "name", "none")).lower().replace("_", "-")


def _hooked(function_type: Any, type_context: Any, func_graph: Any, options: Any) -> Any:
    __tracebackhide__ = True  # pytest: a traceback through a trace ends in user code
    assert _original is not None
    cache = getattr(options, "function_cache", None)
    fn = user_function(options.python_function)
    code = getattr(fn, "__code__", None)
    if cache is None or not _listeners or (code and code.co_filename.startswith(_TF_DIR)):
        return _original(function_type, type_context, func_graph, options)
    key = _key(cache)
    arguments = {
        name: describe(param.type_constraint) for name, param in function_type.parameters.items()
    }
    _state.depth = tracing_depth() + 1
    start = time.perf_counter()
    concrete: Any = None
    error: BaseException | None = None
    try:
        concrete = _original(function_type, type_context, func_graph, options)
        return concrete
    except BaseException as exc:
        error = exc
        raise
    finally:
        _state.depth -= 1
        event = TraceEvent(
            key=key,
            name=getattr(fn, "__qualname__", options.name),
            module=getattr(fn, "__module__", "") or "",
            filename=code.co_filename if code else "",
            line=def_line(code) if code else 0,
            code=code,
            arguments=arguments,
            scope=_scope(options),
            duration_s=time.perf_counter() - start,
            concrete=concrete,
            error=error,
            function=fn,
        )
        for listener in list(_listeners):
            listener(event)


SUPPORTED = "2.15 to 2.21"  # the TensorFlow versions CI runs the dynamic tests under (ends)


def _module() -> Any:
    supported = f"tfgraphlint's dynamic mode supports TensorFlow {SUPPORTED}"
    try:
        from tensorflow.python.eager.polymorphic_function import tracing_compilation
    except ImportError as exc:  # pragma: no cover - TensorFlow 2.14 and older
        raise UnsupportedTensorFlow(
            f"TensorFlow {tf.__version__} has no tracing_compilation module; {supported}"
        ) from exc
    if not hasattr(tracing_compilation, "_create_concrete_function"):  # pragma: no cover
        raise UnsupportedTensorFlow(
            f"TensorFlow {tf.__version__}: unknown tracing internals; {supported}"
        )
    return tracing_compilation


def install() -> None:
    """Put the hook in place (once); raises `UnsupportedTensorFlow` if TF has no hook point."""
    global _original
    module = _module()
    with _lock:
        if _original is None:
            _original = module._create_concrete_function
            module._create_concrete_function = _hooked


def add_listener(listener: Listener) -> None:
    """Call `listener` after every trace of every tf.function."""
    install()
    with _lock:
        _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    add_listener(listener)
    try:
        yield
    finally:
        remove_listener(listener)


# ------------------------------------------------------------------ trace types


def _shape(spec: Any) -> list[int | None] | None:
    rank = spec.shape.rank
    return None if rank is None else list(spec.shape.as_list())


def describe(trace_type: Any) -> ArgDesc:
    """A JSON-able description of a TraceType: what TensorFlow keys its cache on."""
    from tensorflow.core.function.trace_type import default_types as dt

    if isinstance(trace_type, tf.TensorSpec):
        return {"kind": "tensor", "dtype": trace_type.dtype.name, "shape": _shape(trace_type)}
    if type(trace_type).__name__ == "VariableSpec":
        return {"kind": "variable", "dtype": trace_type.dtype.name, "shape": _shape(trace_type)}
    if isinstance(trace_type, dt.Literal):
        value = trace_type.value
        return {"kind": "python", "type": type(value).__name__, "value": repr(value)}
    if isinstance(trace_type, dt.Weakref):
        obj = trace_type._ref()
        return {"kind": "object", "type": type(obj).__name__, "id": id(obj)}
    if isinstance(trace_type, dt.List):
        return {
            "kind": "list",
            "items": [describe(c) for c in trace_type.components_tuple.components],
        }
    if isinstance(trace_type, dt.Tuple):
        return {"kind": "tuple", "items": [describe(c) for c in trace_type.components]}
    if isinstance(trace_type, dt.Dict):
        return {
            "kind": "dict",
            "items": {repr(k): describe(v) for k, v in trace_type.mapping.items()},
        }
    if isinstance(trace_type, dt.NamedTuple | dt.Attrs):
        return {
            "kind": "record",
            "type": trace_type.type_name,
            "items": {
                name: describe(value)
                for name, value in zip(
                    trace_type.attribute_names, trace_type.attributes.components, strict=False
                )
            },
        }
    return {"kind": "other", "type": type(trace_type).__name__, "text": repr(trace_type)}
