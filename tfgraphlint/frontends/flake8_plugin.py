"""flake8 plugin, registered under `TFG` (and its logical-line part, `Flake8Deferred`, under
`TFG0`). Same engine and findings as the CLI; flake8 itself applies `# noqa`, selection and
output.

Rules that are off by default go to flake8's default ignore list, so `flake8` shows what
`tfgraphlint check` shows. They are an info rule (TFG590, the conversion map, which flake8
would fail on for every line it reports) and opt-in warnings (TFG207), so a prefix (`--select
TFG`) does not bring them in: they run only when `--select`/`--extend-select` names their
code. Options come from flake8's own config
(`[flake8]` in setup.cfg, tox.ini or .flake8), named `tfg-<key>` after the
`[tool.tfgraphlint]` keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from tfgraphlint import __version__
from tfgraphlint.discovery.reexports import may_import_reexport, reexports_in_text
from tfgraphlint.engine.prefilter import names_a_package, package_needles

if TYPE_CHECKING:
    import argparse
    import ast
    import socket
    from pathlib import Path

    from tfgraphlint.config import Config, Option


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flake8_value(option: Option, value: Any) -> Any:
    """Convert a flake8 option value (a string, or a list for list options) and validate it
    with the same parser as `[tool.tfgraphlint]`."""
    from tfgraphlint.config import ConfigError

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
OFF_BY_DEFAULT: tuple[str, ...] = ("TFG207", "TFG590")
# Every rule's `TRIGGERS` (`engine.slicing.rule_needs(None)`), spelled out for the same reason:
# the plugin slices a file before it loads the rules; tests/test_flake8_plugin.py checks them.
EVERY_RULE_TRIGGERS: tuple[str, ...] = (
    r"g(?<!\wg)lobal\b|n(?<!\wn)onlocal\b",
    r"run_functions_eagerly\b",
)

# The options that make sense under flake8 (selection is flake8's own job), as (key, attribute,
# list or not, help) of their `config.OPTIONS` entries. Spelled out for the same reason: loading
# the plugin does not import `tfgraphlint.config` (its dataclasses cost more than the rest of
# the plugin); tests/test_flake8_plugin.py checks the copy against `config.OPTIONS`.
FLAKE8_OPTIONS: tuple[tuple[str, str, bool, str], ...] = (
    (
        "extra-function-decorators",
        "extra_function_decorators",
        True,
        "Qualified names (globs allowed) of project decorators that wrap `tf.function`.",
    ),
    (
        "keras-call",
        "keras_call",
        False,
        "Keras `Layer.call`/`Model.call`: unset, checked for what fails there; true, every rule;"
        " false, not checked.",
    ),
    (
        "follow-calls",
        "follow_calls",
        False,
        "Check same-module helpers called from compiled bodies (AutoGraph converts them).",
    ),
    (
        "large-loop-threshold",
        "large_loop_threshold",
        False,
        "large-python-loop: smallest literal `range(N)` that is reported.",
    ),
)


class _Early:
    """One file sent to the server before flake8 checks it (`Flake8Plugin._ask_early`): its
    text, the process that sent it, and where the answer comes (`server.ask_analysis`)."""

    def __init__(self, source: str, pid: int, asked: tuple[socket.socket | None, Path]) -> None:
        self.source = source
        self.pid = pid
        self.sock, self.path = asked
        self.answered = False
        self.answer: Any = None

    def ready(self) -> bool:
        """Whether the answer can be read without waiting."""
        from tfgraphlint.frontends.server import answer_ready

        return self.answered or self.sock is None or answer_ready(self.sock)

    def discard(self) -> None:
        """Close the socket without reading the answer."""
        if self.sock is not None:
            self.sock.close()

    def wait(self) -> Any:
        """The server's answer (`server.analysis_answer`: None when none came, and a server is
        then started), read once."""
        if not self.answered:
            from tfgraphlint.frontends.server import analysis_answer

            self.answer = analysis_answer(self.sock, self.path)
            self.answered = True
        return self.answer


def _read_as_flake8(name: str) -> str | None:
    """The text flake8 hands a plugin for command-line argument `name` (`-`: standard
    input), read as its `FileProcessor` reads it; None for a folder or an unreadable file."""
    import os
    import tokenize

    if name == "-":
        from flake8.utils import stdin_get_value  # cached: flake8 reads the same text

        text: str = stdin_get_value()
    elif os.path.isfile(name):
        try:
            with tokenize.open(name) as handle:
                text = handle.read()
        except (SyntaxError, UnicodeError, OSError):
            return None  # flake8 falls back to latin-1 there: let `run` ask
    else:
        return None
    return text[1:] if text.startswith("\ufeff") else text


class _PluginConfig:
    """`Flake8Plugin.config`, built on first use: a run over files that never name TensorFlow
    does not build it. `Config()` until flake8 calls `parse_options`, then every rule with the
    `tfg-*` options."""

    def __get__(self, instance: object, owner: type[Flake8Plugin]) -> Config:
        if owner._config is None:
            owner._config = plugin_config(owner._changes, owner._named)
        return owner._config


def plugin_config(changes: Mapping[str, Any] | None, named: Iterable[str]) -> Config:
    """The plugin's config: `Config()` until flake8 has parsed the options (`changes` None),
    then every rule but the off-by-default ones not `named` in `--select`, with the `tfg-*`
    options' `changes` (lists, as JSON gives them to the server, become tuples)."""
    from tfgraphlint.config import Config

    if changes is None:
        return Config()
    # Every rule runs (but the info rules nobody named); flake8's --select/--ignore/
    # --extend-select decide what is shown.
    unnamed = tuple(c for c in OFF_BY_DEFAULT if c not in set(named))
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
    return Config(select=("ALL",), ignore=unnamed).with_overrides(**values)


class Flake8Plugin:
    name = "tfgraphlint"
    version = __version__
    config = _PluginConfig()
    _changes: ClassVar[dict[str, Any] | None] = None  # the tfg-* options, once parsed
    _config: ClassVar[Config | None] = None
    _named: ClassVar[frozenset[str]] = frozenset()  # OFF_BY_DEFAULT codes named in --select
    _selected: ClassVar[bool] = True  # False when flake8's selection shows no TFG code
    _server: ClassVar[bool] = False  # `tfg-server = true`: ask the resident server first
    # What `engine.prefilter` looks for, from `config.extra_function_decorators` (default: none).
    _needles: ClassVar[tuple[str, ...]] = package_needles()
    _early: ClassVar[dict[str, _Early]] = {}  # per absolute path: what `_ask_early` sent

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        # `tree` makes flake8 classify this as a tree plugin; the engine parses with libCST
        # (the tree tells `run` where the last statement is).
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, manager: Any) -> None:
        manager.extend_default_ignore(list(OFF_BY_DEFAULT))
        for key, attr, is_list, help_text in FLAKE8_OPTIONS:
            manager.add_option(
                f"--tfg-{key}",
                dest=f"tfg_{attr}",
                default=None,
                parse_from_config=True,
                comma_separated_list=is_list,
                help=f"tfgraphlint: {help_text}",
            )
        manager.add_option(
            "--tfg-server",
            dest="tfg_server",
            default=None,
            parse_from_config=True,
            help="tfgraphlint: analyse in a resident process that keeps libCST and the rules"
            " loaded (started in the background on first use; for editors; POSIX only).",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        changes: dict[str, Any] = {}
        for key, attr, _, _ in FLAKE8_OPTIONS:
            value = getattr(options, f"tfg_{attr}", None)
            if value is not None:
                from tfgraphlint.config import OPTIONS, ConfigError

                option = next(o for o in OPTIONS if o.key == key)
                try:
                    changes[attr] = _flake8_value(option, value)
                except ConfigError as exc:
                    from flake8.exceptions import ExecutionError

                    raise ExecutionError(f"tfgraphlint: {exc}") from exc
        cls._changes = changes
        server = getattr(options, "tfg_server", None)
        if isinstance(server, str):
            word = server.strip().lower()
            if word not in _TRUE + _FALSE:
                from flake8.exceptions import ExecutionError

                raise ExecutionError(
                    f"tfgraphlint: `tfg-server` must be true or false, got {server!r}"
                )
            server = word in _TRUE
        cls._server = bool(server)
        cls._config = None
        named = [
            *(getattr(options, "select", None) or ()),
            *(getattr(options, "extend_select", None) or ()),
        ]
        cls._named = frozenset(c.strip().upper() for c in named) & set(OFF_BY_DEFAULT)
        cls._selected = tfg_selected(
            getattr(options, "select", None),
            getattr(options, "extend_select", None),
            [
                *(getattr(options, "ignore", None) or ()),
                *(getattr(options, "extend_ignore", None) or ()),
            ],
        )
        # With tfg-* options the config module is loaded anyway (to validate them): build the
        # config now. Without, it keeps its default (no extra decorators) until a file needs it.
        cls._needles = package_needles(cls.config.extra_function_decorators if changes else ())
        cls._early = {}
        if cls._server and cls._selected:
            cls._ask_early(options)

    @classmethod
    def _ask_early(cls, options: argparse.Namespace) -> None:
        """With the server, send the file named on the command line now (an editor's
        `flake8 path` or `flake8 -`): the server analyses it while flake8 goes on (its
        checks, pyflakes), and `run` (or `Flake8Deferred`) reads the answer when flake8 then
        hands over the same text (the file is read as flake8 reads it). Only for one file:
        with more, flake8 checks them in worker processes. Nothing waits here: the request
        is sent, the answer stays in the socket until it is read."""
        import os

        filenames = list(getattr(options, "filenames", None) or ())
        if len(filenames) != 1:
            return
        name = filenames[0]
        source = _read_as_flake8(name)
        if source is None:
            return
        if not names_a_package(source, cls._needles) and not may_import_reexport(source):
            return  # `run` does not ask either
        shown = name if name != "-" else getattr(options, "stdin_display_name", "stdin")
        from tfgraphlint.frontends.server import ask_analysis

        asked = ask_analysis(source, shown, cls._spec())
        if asked is not None:
            cls._early[os.path.abspath(shown)] = _Early(source, os.getpid(), asked)

    @classmethod
    def _spec(cls) -> dict[str, Any]:
        """What the server needs of the options to build the plugin's config."""
        return {"changes": cls._changes, "named": sorted(cls._named)}

    def _early_request(self, source: str) -> _Early | None:
        """What `_ask_early` sent for this file, when it sent this `source` from this process;
        else None (another text, or a worker process flake8 forked)."""
        import os

        early = self._early.pop(os.path.abspath(self.filename), None)
        if early is None or early.pid != os.getpid():
            return None
        if early.source != source:
            early.discard()
            return None
        return early

    def run(self) -> Iterator[tuple[int, int, str, type[Flake8Plugin]]]:
        if not self._selected:
            return  # an editor's `flake8 --select E` on every save: nothing of ours to show
        source = "".join(self.lines)
        # `engine.prefilter.may_contain_compiled_code`, with the needles computed once.
        if not names_a_package(source, self._needles) and not may_import_reexport(source):
            return  # the engine (libCST and every rule) and the config are not even imported
        # `tfg-server`: the resident process screens and analyses (`_ask_early` sent it).
        early = self._early_request(source) if self._server else None
        if early is not None and not early.ready():
            # (flake8 stops checking at its own last line, should it count fewer.)
            last = min(_last_statement_line(self.tree), len(self.lines))
            if last and Flake8Deferred.loaded:
                # flake8 goes on with its other checks (pycodestyle's token pass) while the
                # server works; `Flake8Deferred` reports at the last statement.
                _DEFERRED[self.filename] = _Pending(self, source, early, last)
                return
        yield from self.findings(source, early)

    def findings(
        self, source: str, early: _Early | None
    ) -> Iterator[tuple[int, int, str, type[Flake8Plugin]]]:
        """The findings of this file's `source`, as flake8 takes them: from the server's
        answer (`early`'s, when `_ask_early` sent it) with `tfg-server`, else (or when no
        server answered) from the engine in this process."""
        if self._server:
            if early is not None:
                answer = early.wait()
            else:
                from tfgraphlint.frontends.server import analyse_remotely

                answer = analyse_remotely(source, self.filename, self._spec())
            if answer is not None:
                findings, errors = answer
                for line, column, code, message in findings:
                    yield line, column - 1, f"{code} {message}", type(self)
                for error_line, error_message in errors:
                    yield error_line or 1, 0, f"TFG999 {error_message}", type(self)
                return
        # Most files that name TensorFlow hold no compiled code (models, pipelines without
        # `tf.function`), or only Keras `call`s in which nothing can fail (most layers). The
        # engine's text screen (`engine.prefilter.screen`), then its slicer
        # (`engine.slicing.slice_module`: the `ast` screen, then the slicing, with every
        # rule's needs spelled out) tell without libCST, whose import alone costs more than
        # the rest of such a run; the engine then finds nothing either. A file that passes
        # is sliced again inside `analyse`, for the rules flake8 selects (a few ms).
        from tfgraphlint.engine.lines import lone_cr_to_lf
        from tfgraphlint.engine.prefilter import screen

        text = source[1:] if source.startswith("\ufeff") else source  # as `analyse` does
        text = lone_cr_to_lf(text)  # as `analyse` does
        aliases = reexports_in_text(self.filename, text)
        if not screen(text, self.config, aliases):
            return
        from tfgraphlint.engine.slicing import RuleNeeds, slice_module

        needs = RuleNeeds(EVERY_RULE_TRIGGERS, call_sites=True, state_changes=True)
        if slice_module(text, self.config, aliases=aliases, needs=needs) is None:
            return
        from tfgraphlint.engine.collector import batch_gc

        with batch_gc():  # the engine's import (libCST) and the analysis make many objects
            from tfgraphlint.engine.runner import analyse

            result = analyse(source, self.filename, self.config, noqa=False).result
        for f in result.findings:
            yield f.line, f.column - 1, f"{f.code} {f.message}", type(self)
        for e in result.errors:
            if e.kind == "internal":
                yield e.line or 1, 0, f"TFG999 {e.message}", type(self)


def _last_statement_line(tree: ast.AST) -> int:
    """The line where the module's last statement ends (0 for a module without one): flake8
    checks the logical line that ends there, whatever follows (comments, blank lines)."""
    body = getattr(tree, "body", None)
    return int(getattr(body[-1], "end_lineno", 0) or 0) if body else 0


class _Pending(NamedTuple):
    """A file whose findings `Flake8Plugin.run` left to `Flake8Deferred`."""

    plugin: Flake8Plugin
    source: str
    early: _Early
    last_line: int


_DEFERRED: dict[str, _Pending] = {}  # per flake8 file name


class Flake8Deferred:
    """flake8 logical-line plugin (entry point `TFG0`): reports the findings that
    `Flake8Plugin.run` deferred. With `tfg-server`, the server analyses the file that
    flake8 was named while flake8 runs its own checks; when the answer is not there yet as
    flake8 asks the tree plugins, waiting for it would leave flake8's token pass
    (pycodestyle) for after. `run` then hands the file over, and this plugin yields its
    findings, at their own positions (flake8 takes a `(line, column)` offset from a
    logical-line plugin), on the first logical line checked after the answer arrived, or at
    the logical line where the module's last statement ends, where it waits for it (or, when
    no server answered, analyses in this process). flake8 calls it on every logical line of
    every file: with nothing deferred, it does nothing. `run` defers only when flake8 loaded
    this plugin (its `parse_options` ran)."""

    name = "tfgraphlint"
    version = __version__
    loaded: ClassVar[bool] = False

    def __init__(self, logical_line: str, tokens: Sequence[Any], filename: str) -> None:
        self.found: list[tuple[tuple[int, int], str]] = []
        if not _DEFERRED:
            return
        pending = _DEFERRED.get(filename)
        if pending is None:
            return
        line = tokens[-1][2][0] if tokens else 0  # where this logical line ends
        if line < pending.last_line and not pending.early.ready():
            return
        del _DEFERRED[filename]
        self.found = [
            ((line, column), text)
            for line, column, text, _ in pending.plugin.findings(pending.source, pending.early)
        ]

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls.loaded = True

    def __iter__(self) -> Iterator[tuple[tuple[int, int], str]]:
        return iter(self.found)


def tfg_selected(
    select: Sequence[str] | None, extend_select: Sequence[str] | None, ignore: Sequence[str]
) -> bool:
    """Whether flake8's selection can show a TFG code, from its options: `--select` absent
    (flake8's default selects every plugin's codes) and no `--ignore` of all TFG codes, or a
    `--select`/`--extend-select` entry that is a prefix of the TFG codes (`T`, `TFG`) or of
    some of them (`TFG1`, `TFG101`)."""

    def covers_some(entry: str) -> bool:
        entry = entry.strip().upper()
        return bool(entry) and ("TFG".startswith(entry) or entry.startswith("TFG"))

    def covers_all(entry: str) -> bool:
        entry = entry.strip().upper()
        return bool(entry) and "TFG".startswith(entry)

    if any(covers_some(e) for e in extend_select or ()):
        return True
    if select is not None:
        return any(covers_some(e) for e in select)
    return not any(covers_all(e) for e in ignore)
