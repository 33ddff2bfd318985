"""tfgraphlint: find TensorFlow `tf.function` hazards before the code runs.

Importing this package never imports TensorFlow; dynamic mode (`tfgraphlint.dynamic`) does, and
only when asked.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

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
    from tfgraphlint._types import Example, FileError, Finding, LintResult, Severity
    from tfgraphlint.config import Config, ConfigError, load_config
    from tfgraphlint.engine.runner import lint_source

# Keep `import tfgraphlint` light: it is the parent of every submodule, so the flake8 plugin
# pays for whatever it imports on every run, even for files without TensorFlow. The public
# names load on first use (PEP 562): the data types and the config (dataclasses), and the
# engine (libcst).
_LAZY = {
    "Config": "tfgraphlint.config",
    "ConfigError": "tfgraphlint.config",
    "load_config": "tfgraphlint.config",
    "Example": "tfgraphlint._types",
    "FileError": "tfgraphlint._types",
    "Finding": "tfgraphlint._types",
    "LintResult": "tfgraphlint._types",
    "Severity": "tfgraphlint._types",
    "lint_source": "tfgraphlint.engine.runner",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
