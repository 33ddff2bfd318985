"""Why a function retraced: diff the cache keys of its traces (no TensorFlow needed).

Each trace is described by `hooks.describe` as one JSON-able `ArgDesc` per parameter:
`{"kind": "tensor", "dtype", "shape"}`, `{"kind": "python", "type", "value"}`,
`{"kind": "object", "type", "id"}`, `list`/`tuple`/`dict`/`record` with `items`, `variable`,
`other`. A retrace's reason is the difference to the most similar earlier trace of the same
function object, e.g. `step: Python int 3 → 4` or `x: shape (2, 3) → (4, 3)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ArgDesc = Mapping[str, Any]
Arguments = Mapping[str, ArgDesc]

SAME_ARGUMENTS = (
    "same argument types as an earlier trace (traced again in another context, e.g. from "
    "inside another graph, or after the trace cache was cleared)"
)
VARIABLE_PASS = "second pass of the first call: it created variables, so TensorFlow traces twice"


@dataclass(frozen=True, slots=True)
class Trace:
    """One trace as the reasons see it."""

    arguments: Arguments
    scope: str = "none"


def _shape_text(shape: Sequence[int | None] | None) -> str:
    if shape is None:
        return "unknown rank"
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def format_arg(desc: ArgDesc) -> str:
    """Short text for one argument's trace type: `float32 (2, 3)`, `Python int 3`."""
    kind = desc.get("kind")
    if kind in ("tensor", "variable"):
        prefix = "tensor" if kind == "tensor" else "tf.Variable"
        return f"{prefix} {desc['dtype']} {_shape_text(desc['shape'])}"
    if kind == "python":
        return f"Python {desc['type']} {desc['value']}"
    if kind == "object":
        return f"`{desc['type']}` object"
    if kind in ("list", "tuple"):
        return f"{kind} of {len(desc['items'])}"
    if kind in ("dict", "record"):
        return f"{desc.get('type', 'dict')} with keys {', '.join(desc['items'])}"
    return str(desc.get("text", kind))


def _diff(name: str, old: ArgDesc | None, new: ArgDesc | None) -> list[str]:
    if old == new:
        return []
    if old is None or new is None:
        return [f"{name}: {'added' if old is None else 'removed'}"]
    kind = old.get("kind")
    if kind != new.get("kind"):
        return [f"{name}: {format_arg(old)} → {format_arg(new)}"]
    if kind in ("tensor", "variable"):
        return _diff_tensor(name, old, new)
    if kind == "python":
        if old["type"] == new["type"]:
            return [f"{name}: Python {old['type']} {old['value']} → {new['value']}"]
        return [f"{name}: Python {old['type']} {old['value']} → {new['type']} {new['value']}"]
    if kind == "object":
        return [f"{name}: new `{new['type']}` object (objects are keyed by identity)"]
    if kind in ("list", "tuple"):
        return _diff_items(name, list(old["items"]), list(new["items"]), kind)
    if kind in ("dict", "record"):
        return _diff_mapping(name, old["items"], new["items"])
    return [f"{name}: {format_arg(old)} → {format_arg(new)}"]


def _diff_tensor(name: str, old: ArgDesc, new: ArgDesc) -> list[str]:
    out = []
    if old["dtype"] != new["dtype"]:
        out.append(f"{name}: dtype {old['dtype']} → {new['dtype']}")
    if old["shape"] != new["shape"]:
        out.append(f"{name}: shape {_shape_text(old['shape'])} → {_shape_text(new['shape'])}")
    return out or [f"{name}: a different tf.Variable"]


def _diff_items(name: str, old: list[ArgDesc], new: list[ArgDesc], kind: str) -> list[str]:
    if len(old) != len(new):
        return [f"{name}: {kind} of {len(old)} → {len(new)} items"]
    out: list[str] = []
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        out.extend(_diff(f"{name}[{i}]", a, b))
    return out


def _diff_mapping(name: str, old: Mapping[str, ArgDesc], new: Mapping[str, ArgDesc]) -> list[str]:
    if set(old) != set(new):
        return [f"{name}: keys {', '.join(old) or '(none)'} → {', '.join(new) or '(none)'}"]
    out: list[str] = []
    for key in old:
        out.extend(_diff(f"{name}[{key}]", old[key], new[key]))
    return out


def differences(old: Arguments, new: Arguments) -> list[str]:
    """What changed between two traces' arguments, one phrase per changed leaf."""
    out: list[str] = []
    for name in [*old, *(n for n in new if n not in old)]:
        out.extend(_diff(name, old.get(name), new.get(name)))
    return out


def is_variable_pass(trace: Trace, earlier: Sequence[Trace]) -> bool:
    """The second graph TensorFlow builds on a first call that creates variables."""
    return (
        trace.scope == "no-variable-creation"
        and len(earlier) == 1
        and earlier[0].scope == "variable-creation"
        and earlier[0].arguments == trace.arguments
    )


def retrace_reason(trace: Trace, earlier: Sequence[Trace]) -> str | None:
    """None for a first trace; else why TensorFlow traced again, against the closest earlier
    trace."""
    if not earlier:
        return None
    if is_variable_pass(trace, earlier):
        return VARIABLE_PASS
    candidates = [differences(e.arguments, trace.arguments) for e in reversed(earlier)]
    best = min(candidates, key=len)
    return "; ".join(best) if best else SAME_ARGUMENTS


def reasons(traces: Sequence[Trace]) -> list[str | None]:
    """The reason of each trace in order (None for the first)."""
    return [retrace_reason(t, traces[:i]) for i, t in enumerate(traces)]


def count_retraces(traces: Sequence[Trace]) -> int:
    """Traces after the first, not counting the variable-creation second pass."""
    return sum(1 for i, t in enumerate(traces) if i > 0 and not is_variable_pass(t, traces[:i]))


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 trace`, `2 traces`, `0 calls`."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def numbered_retraces(trace_reasons: Sequence[str | None]) -> list[tuple[int, str]]:
    """(trace number, reason) of each retrace. Numbers count traces as they are reported:
    the variable-creation second pass is neither a retrace nor counted, so with 2 traces the
    last retrace is number 2."""
    out: list[tuple[int, str]] = []
    number = 0
    for reason in trace_reasons:
        if reason == VARIABLE_PASS:
            continue
        number += 1
        if reason is not None:
            out.append((number, reason))
    return out
