"""Test helpers for TensorFlow code: guard against retracing.

    from tfgraphlint.testing import assert_max_traces

    def test_train_step_traces_once():
        with assert_max_traces(train_step, 1):
            for batch in batches:
                train_step(batch)

Importing this module does not import TensorFlow; entering `assert_max_traces` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tfgraphlint.dynamic.reasons import VARIABLE_PASS, Trace, plural, reasons

if TYPE_CHECKING:
    from tfgraphlint.dynamic.hooks import TraceEvent


class TraceLog:
    """The traces seen inside an `assert_max_traces` block (for further checks)."""

    def __init__(self) -> None:
        self.reasons: list[str | None] = []  # per trace: None for a function's first trace

    @property
    def count(self) -> int:
        """Traces, not counting the second pass TensorFlow makes when the first call creates
        variables."""
        return sum(1 for r in self.reasons if r != VARIABLE_PASS)


def _code_of(fn: Any) -> Any:
    from tfgraphlint.dynamic.hooks import user_function

    target = getattr(fn, "python_function", fn)
    code = getattr(user_function(target), "__code__", None)
    if code is None:
        raise TypeError(f"assert_max_traces needs a tf.function or a Python function, got {fn!r}")
    return code


@contextmanager
def assert_max_traces(fn: Any, n: int) -> Iterator[TraceLog]:
    """Fail with the retrace reasons when `fn` traces more than `n` times inside the block.

    `fn` is a `tf.function` (or the Python function it wraps, or a method: every instance
    counts). Traces of every `tf.function` object built from the same code are counted, so
    re-creating `tf.function(f)` in a loop is caught too.
    """
    from tfgraphlint.dynamic import hooks

    code = _code_of(fn)
    log = TraceLog()
    per_object: dict[int, list[Trace]] = {}

    def on_trace(event: TraceEvent) -> None:
        if event.code is code:
            trace = Trace(event.arguments, event.scope)
            earlier = per_object.setdefault(event.key, [])
            log.reasons.append(reasons([*earlier, trace])[-1])
            earlier.append(trace)

    with hooks.listening(on_trace):
        yield log
    if log.count > n:
        lines = [
            f"  trace {i + 1}: {reason or 'first trace'}" for i, reason in enumerate(log.reasons)
        ]
        name = getattr(code, "co_qualname", code.co_name)
        raise AssertionError(
            f"`{name}` traced {plural(log.count, 'time')} (at most {n} allowed):\n"
            + "\n".join(lines)
        )
