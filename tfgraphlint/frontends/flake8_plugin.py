"""flake8 plugin, registered under `TFG`. Same engine and findings as the CLI; flake8 itself
applies `# noqa`, selection and output.

Rules that are off by default go to flake8's default ignore list, so `flake8` shows what
`tfgraphlint check` shows, and `flake8 --select TFG` what `tfgraphlint check --select TFG`
shows. Options come from flake8's own config (`[flake8]` in setup.cfg, tox.ini or .flake8),
named `tfg-<key>` after the `[tool.tfgraphlint]` keys.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tfgraphlint import __version__
from tfgraphlint.config import OPTIONS, Config, ConfigError, Option

if TYPE_CHECKING:
    import ast


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flake8_value(option: Option, value: Any) -> Any:
    """Convert a flake8 option value (a string, or a list for list options) and validate it
    with the same parser as `[tool.tfgraphlint]`."""
    key = f"tfg-{option.key}"
    kind = option.parse.__name__
    if isinstance(value, str) and kind == "_positive_int":
        try:
            value = int(value)
        except ValueError:
            raise ConfigError(f"`{key}` must be a positive integer, got {value!r}") from None
    elif isinstance(value, str) and kind == "_bool":
        word = value.strip().lower()
        if word not in _TRUE + _FALSE:
            raise ConfigError(f"`{key}` must be true or false, got {value!r}")
        value = word in _TRUE
    return option.parse(key, value)


# Rules with DEFAULT_ENABLED = False, for flake8's default ignore list. Spelled out rather than
# read from the registry so that flake8 does not import libcst and every rule at start-up in
# projects that never mention TensorFlow; tests/test_flake8_plugin.py checks the list.
OFF_BY_DEFAULT: tuple[str, ...] = ("TFG590",)

# Options that make sense under flake8 (selection is flake8's own job).
_FLAKE8_OPTIONS = tuple(
    o
    for o in OPTIONS
    if o.key in ("extra-function-decorators", "keras-call", "follow-calls", "large-loop-threshold")
)


class Flake8Plugin:
    name = "tfgraphlint"
    version = __version__
    config: ClassVar[Config] = Config()

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        # `tree` is required for flake8 to classify this as a tree plugin; we use libCST.
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, manager: Any) -> None:
        manager.extend_default_ignore(list(OFF_BY_DEFAULT))
        for option in _FLAKE8_OPTIONS:
            is_list = option.parse.__name__ == "_str_list"
            manager.add_option(
                f"--tfg-{option.key}",
                dest=f"tfg_{option.attr}",
                default=None,
                parse_from_config=True,
                comma_separated_list=is_list,
                help=f"tfgraphlint: {option.help}",
            )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        changes: dict[str, Any] = {}
        for option in _FLAKE8_OPTIONS:
            value = getattr(options, f"tfg_{option.attr}", None)
            if value is not None:
                try:
                    changes[option.attr] = _flake8_value(option, value)
                except ConfigError as exc:
                    from flake8.exceptions import ExecutionError

                    raise ExecutionError(f"tfgraphlint: {exc}") from exc
        # Every rule runs; flake8's --select/--ignore/--extend-select decide what is shown.
        cls.config = Config(select=("ALL",)).with_overrides(**changes)

    def run(self) -> Iterator[tuple[int, int, str, type[Flake8Plugin]]]:
        from tfgraphlint.engine.prefilter import may_contain_compiled_code

        source = "".join(self.lines)
        if not may_contain_compiled_code(source, self.config):
            return  # the engine (libCST and every rule) is not even imported
        from tfgraphlint.engine.runner import lint_source

        result = lint_source(source, self.filename, self.config, noqa=False)
        for f in result.findings:
            yield f.line, f.column - 1, f"{f.code} {f.message}", type(self)
        for e in result.errors:
            if e.kind == "internal":
                yield e.line or 1, 0, f"TFG999 {e.message}", type(self)
