"""flake8 plugin, registered under `TFG`. Same engine and findings as the CLI; flake8 itself
applies `# noqa`, selection and output."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from tfgraphlint import __version__
from tfgraphlint.config import OPTIONS, Config, Option

if TYPE_CHECKING:
    import ast


def _flake8_value(option: Option, value: Any) -> Any:
    if isinstance(value, list):
        return option.parse(option.key, value)
    if isinstance(value, str) and option.parse.__name__ == "_positive_int":
        return option.parse(option.key, int(value))
    if isinstance(value, str) and option.parse.__name__ == "_bool":
        return option.parse(option.key, value.strip().lower() in ("1", "true", "yes", "on"))
    return option.parse(option.key, value)


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
                changes[option.attr] = _flake8_value(option, value)
        # Every rule runs; flake8's --select/--ignore/--extend-select decide what is shown.
        cls.config = Config(select=("ALL",)).with_overrides(**changes)

    def run(self) -> Iterator[tuple[int, int, str, type[Flake8Plugin]]]:
        from tfgraphlint.engine.runner import lint_source

        result = lint_source("".join(self.lines), self.filename, self.config, noqa=False)
        for f in result.findings:
            yield f.line, f.column - 1, f"{f.code} {f.message}", type(self)
        for e in result.errors:
            if e.kind == "internal":
                yield e.line or 1, 0, f"TFG999 {e.message}", type(self)
