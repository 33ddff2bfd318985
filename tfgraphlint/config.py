"""Configuration: one table of options, read from `[tool.tfgraphlint]` and overridden by flags.

The same option table drives the TOML reader, the CLI flags and the flake8 plugin's options,
so the three front ends cannot disagree on a name or a default.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

# What flake8 and ruff skip by default: VCS folders, caches, virtual envs, build output.
DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tfgraphlint_cache",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "__pycache__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
    "*.egg",
    "*.egg-info",
    "CVS",
)


class ConfigError(Exception):
    """A bad key or value in the configuration or on the command line (exit code 2)."""


@dataclass(frozen=True, slots=True)
class Config:
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    extend_include: tuple[str, ...] = ()
    extra_function_decorators: tuple[str, ...] = ()
    keras_call: bool | None = None  # None: `call` checked for what fails there only
    follow_calls: bool = True
    follow_imports: bool = False
    keras_project: bool = True
    large_loop_threshold: int = 100
    show_conversions: bool = False
    root: Path | None = None
    trace: Mapping[str, Any] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _str_list(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"`{key}` must be a list of strings, got {value!r}")


def _decorator_names(key: str, value: object) -> tuple[str, ...]:
    """Qualified names (globs allowed): every dotted part named (`mypkg.`, `.jit` and the empty
    name are errors)."""
    names = _str_list(key, value)
    for name in names:
        if not all(part.strip() for part in name.split(".")):
            raise ConfigError(
                f"`{key}`: {name!r} is not a qualified name (an empty part between dots)"
            )
    return names


def _bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(f"`{key}` must be true or false, got {value!r}")


def _positive_int(key: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ConfigError(f"`{key}` must be a positive integer, got {value!r}")


def _per_file_ignores(key: str, value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"`{key}` must be a table of glob = [codes], got {value!r}")
    return tuple((str(glob), _str_list(f"{key}.{glob}", codes)) for glob, codes in value.items())


def _table(key: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"`{key}` must be a table, got {value!r}")
    return dict(value)


def _positive_number(key: str, value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return value
    raise ConfigError(f"`{key}` must be a positive number, got {value!r}")


def _str(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    raise ConfigError(f"`{key}` must be a string, got {value!r}")


def _str_table(key: str, value: object) -> Mapping[str, str]:
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    raise ConfigError(f"`{key}` must be a table of strings, got {value!r}")


# `[tool.tfgraphlint.trace]` (read by `tfgraphlint trace`): validated with the rest of the file,
# so that `check` refuses a bad key there too and every error names the file and the key.
TRACE_KEYS: dict[str, Callable[[str, object], Any]] = {
    "examples": _str,
    "recorded": _str,
    "factories": _str_table,
    "timeout": _positive_number,
    "repeat": _positive_int,
    "max-traces": _positive_int,
    "slow-trace": _positive_number,
}


def _trace_table(key: str, value: object) -> Mapping[str, Any]:
    table = _table(key, value)
    for name, item in table.items():
        parse = TRACE_KEYS.get(name)
        if parse is None:
            known = ", ".join(TRACE_KEYS)
            raise ConfigError(
                f"unknown key `{name}` in [tool.tfgraphlint.{key}] (known keys: {known})"
            )
        parse(f"{key}.{name}", item)
    return table


@dataclass(frozen=True, slots=True)
class Option:
    key: str  # TOML key (kebab-case); the CLI flag is `--key`, flake8's `--tfg-key`
    attr: str
    parse: Callable[[str, object], Any]
    help: str
    rule_option: bool = False

    @property
    def is_list(self) -> bool:
        """A list of strings (a comma-separated list under flake8)."""
        return self.parse in (_str_list, _decorator_names)


OPTIONS: tuple[Option, ...] = (
    Option("select", "select", _str_list, "Rules to enable: codes, code prefixes or names."),
    Option("extend-select", "extend_select", _str_list, "Rules to enable on top of `select`."),
    Option("ignore", "ignore", _str_list, "Rules to disable: codes, code prefixes or names."),
    Option(
        "per-file-ignores",
        "per_file_ignores",
        _per_file_ignores,
        "Table of glob patterns to rules ignored in matching files.",
    ),
    Option("exclude", "exclude", _str_list, "Paths or globs to skip (replaces the defaults)."),
    Option("extend-exclude", "extend_exclude", _str_list, "Paths or globs to skip as well."),
    Option(
        "extend-include",
        "extend_include",
        _str_list,
        "Globs of more files to check in folders (`*.py`, `*.pyi` and `*.ipynb` always are).",
    ),
    Option(
        "extra-function-decorators",
        "extra_function_decorators",
        _decorator_names,
        "Qualified names (globs allowed) of project decorators that wrap `tf.function`.",
    ),
    Option(
        "keras-call",
        "keras_call",
        _bool,
        "Keras `Layer.call`/`Model.call`: unset, checked for what fails there; true, every rule;"
        " false, not checked.",
    ),
    Option(
        "follow-calls",
        "follow_calls",
        _bool,
        "Check same-module helpers called from compiled bodies (AutoGraph converts them).",
    ),
    Option(
        "follow-imports",
        "follow_imports",
        _bool,
        "Also check functions of other checked files that compiled bodies call or pass to "
        "`Dataset.map` (through imports); off until its precision is measured.",
    ),
    Option(
        "keras-project",
        "keras_project",
        _bool,
        "Drop the findings of a Keras class (its `call`, `update_state`...) when the other "
        "checked files only make instances and call them eagerly.",
    ),
    Option(
        "large-loop-threshold",
        "large_loop_threshold",
        _positive_int,
        "large-python-loop: smallest literal `range(N)` that is reported.",
        rule_option=True,
    ),
    Option(
        "show-conversions",
        "show_conversions",
        _bool,
        "Report the AutoGraph conversion map (info findings).",
    ),
    Option("trace", "trace", _trace_table, "Settings of `tfgraphlint trace` (dynamic mode)."),
)
_BY_KEY = {o.key: o for o in OPTIONS}


def config_from_mapping(data: Mapping[str, Any], *, root: Path | None = None) -> Config:
    """Validate a `[tool.tfgraphlint]` table. Unknown keys are errors, as in ruff."""
    changes: dict[str, Any] = {}
    for key, value in data.items():
        option = _BY_KEY.get(key) or _BY_KEY.get(key.replace("_", "-"))
        if option is None:
            known = ", ".join(sorted(_BY_KEY))
            raise ConfigError(f"unknown key `{key}` in [tool.tfgraphlint] (known keys: {known})")
        changes[option.attr] = option.parse(key, value)
    return replace(Config(root=root), **changes)


def find_pyproject(start: Path) -> Path | None:
    """The nearest `pyproject.toml` upward from `start` that has a [tool.tfgraphlint] table,
    or else the nearest one at all (it marks the project root)."""
    start = start.resolve()
    first: Path | None = None
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        try:
            found = candidate.is_file()
        except OSError:  # a folder that cannot be searched: no config to be found there
            continue
        if found:
            first = first or candidate
            try:
                if "tfgraphlint" in candidate.read_text(encoding="utf-8", errors="replace"):
                    return candidate
            except OSError:
                continue
    return first


def load_config(path: Path | None = None, *, start: Path | None = None) -> Config:
    """Read the config from `path`, or from the nearest pyproject.toml above `start`."""
    # Imported here, not at the top: the flake8 plugin imports this module and never reads TOML.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib

    if path is None:
        path = find_pyproject(start or Path.cwd())
        if path is None:
            return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except OSError as exc:  # unreadable (permissions), a folder, ...
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    tool = data.get("tool", {})
    if not isinstance(tool, Mapping):
        raise ConfigError(f"{path}: `tool` must be a table ([tool])")
    table = tool.get("tfgraphlint", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [tool.tfgraphlint] must be a table")
    try:
        config = config_from_mapping(table, root=path.parent.resolve())
        _check_selectors(config)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return config


def _check_selectors(config: Config) -> None:
    """The file's own selectors, checked here so that an unknown one names the file (the CLI
    checks the flags' after merging them). Imported lazily: the registry imports every rule."""
    from tfgraphlint.engine.registry import matching, unknown_selector

    for key, selectors in (
        ("select", config.select or ()),
        ("extend-select", config.extend_select),
        ("ignore", config.ignore),
    ):
        for selector in selectors:
            if not matching(selector):
                raise unknown_selector(key, selector)
    for glob, selectors in config.per_file_ignores:
        for selector in selectors:
            if not matching(selector):
                raise unknown_selector("per-file-ignores", selector, f" (for `{glob}`)")


def config_fields() -> Sequence[str]:
    return [f.name for f in fields(Config)]
