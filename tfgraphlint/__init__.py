"""tfgraphlint: find TensorFlow `tf.function` hazards before the code runs.

Importing this package never imports TensorFlow; dynamic mode (`tfgraphlint.dynamic`) does, and
only when asked.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from tfgraphlint._types import Example, FileError, Finding, LintResult, Severity
from tfgraphlint.config import Config, ConfigError, load_config

__version__ = "0.1.0.dev0"

__all__ = [
    "Config",
    "ConfigError",
    "Example",
    "FileError",
    "Finding",
    "LintResult",
    "Severity",
    "__version__",
    "examples",
    "lint_source",
    "load_config",
]

if TYPE_CHECKING:
    from tfgraphlint.engine.runner import lint_source


def __getattr__(name: str) -> Any:
    # Keep `import tfgraphlint` light: the engine (libcst) loads on first use.
    if name == "lint_source":
        from tfgraphlint.engine.runner import lint_source

        return lint_source
    raise AttributeError(name)


def examples(*calls: Any) -> Any:
    """No-op decorator that records example calls for `tfgraphlint trace`.

    `@tfgraphlint.examples((x1,), (x2,), {"x": x3})` attaches the calls to the function as
    `__tfgraphlint_examples__`; it changes nothing else. Each call is a tuple of positional
    arguments, a dict of keyword arguments, or a `(args, kwargs)` pair.
    """

    def decorate(fn: Any) -> Any:
        existing = list(getattr(fn, "__tfgraphlint_examples__", ()))
        # Some wrapped objects refuse new attributes; the decorator then records nothing.
        with contextlib.suppress(AttributeError):
            fn.__tfgraphlint_examples__ = [*existing, *calls]
        return fn

    return decorate
