"""`tfgraphlint` command line: check, rules, explain, trace. A thin adapter over the engine."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tfgraphlint import __version__
from tfgraphlint._types import FileError, Finding, LintResult, Severity
from tfgraphlint.config import Config, ConfigError, load_config
from tfgraphlint.engine.cache import (
    ReexportKey,
    ResultCache,
    config_digest,
    content_digest,
    reexports_key,
)

# As ruff's: 0 clean; 1 findings, a file that does not parse or cannot be read included (they
# are the user's to fix, like a finding); 2 a usage or configuration error, or the tool failed
# (a crash, a rule that raised, a fix refused because it would break the code).
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

# `FileError.kind`s that are the tool's failure (exit 2); the others ("parse", "io") are the
# file's problem and count as findings (exit 1).
_TOOL_ERRORS = frozenset({"internal", "fix"})


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _jobs(value: str) -> int:
    """`-j`: a number of processes, 0 for all cores."""
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (all cores) or more, got {jobs}")
    return jobs


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tfgraphlint", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tfgraphlint {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser("check", help="check files for tf.function hazards (static)")
    check.add_argument("paths", nargs="*", default=["."], help="files or folders; - for stdin")
    check.add_argument("--stdin-filename", help="path to report for source read from stdin")
    check.add_argument("--select", type=_csv, help="codes, prefixes or names to enable")
    check.add_argument("--extend-select", type=_csv, help="enable these as well")
    check.add_argument("--ignore", type=_csv, help="codes, prefixes or names to disable")
    check.add_argument("--extend-exclude", type=_csv, help="more paths or globs to skip")
    check.add_argument(
        "--format",
        "--output-format",
        dest="format",
        choices=["text", "json", "github", "sarif"],
        default="text",
    )
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    check.add_argument("--statistics", action="store_true", help="print counts per rule")
    check.add_argument(
        "--show-conversions",
        action="store_true",
        help="report how AutoGraph converts each if/for/while (info findings)",
    )
    check.add_argument(
        "--follow-imports",
        action="store_true",
        help="also check functions of other checked files that compiled code calls",
    )
    check.add_argument("--config", type=Path, help="pyproject.toml to read instead of searching")
    check.add_argument("--isolated", action="store_true", help="ignore configuration files")
    check.add_argument("--disable-noqa", action="store_true", help="report noqa'd findings")
    check.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    check.add_argument(
        "--fix", action="store_true", help="apply fixes (safe ones only, unless --unsafe-fixes)"
    )
    check.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix or --diff, apply unsafe fixes too; otherwise, show them as fixable",
    )
    check.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff and write nothing (exit 1 if there are any)",
    )
    check.add_argument("-j", "--jobs", type=_jobs, default=0, help="processes (default: all cores)")
    check.add_argument(
        "-q", "--quiet", action="store_true", help="print findings and errors only (no summary)"
    )

    sub.add_parser("rules", help="list every rule")
    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", help="code (TFG101) or name (print-in-tf-function)")
    explain.add_argument(
        "--format",
        choices=["text", "markdown"],
        default="text",
        help="text for a terminal (default), or the Markdown page of docs/rules/",
    )

    server = sub.add_parser(
        "server", help="run the resident process the flake8 plugin uses with tfg-server = true"
    )
    server.add_argument(
        "--socket", help="socket path (default: this code's, as the plugin finds it)"
    )
    server.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        help="seconds without a request before the server exits (default 900)",
    )
    action = server.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="say whether a server answers")
    action.add_argument("--stop", action="store_true", help="stop the running server")

    from tfgraphlint.dynamic.cli import add_trace_arguments  # never imports TensorFlow

    trace = sub.add_parser("trace", help="import and trace compiled functions (dynamic mode)")
    add_trace_arguments(trace)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "rules":
            return _rules()
        if args.command == "explain":
            return _explain(args.rule, args.format)
        if args.command == "server":
            return _server(args)
        if args.command == "trace":
            from tfgraphlint.dynamic.cli import run_trace

            return run_trace(args)
    except ConfigError as exc:
        print(f"tfgraphlint: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug of ours: exit 2 (not 1, "findings"), with the traceback
        import traceback

        traceback.print_exc(file=sys.stderr)
        print(
            f"tfgraphlint: internal error: {type(exc).__name__}: {exc} "
            "(a bug in tfgraphlint: please report it with the traceback above)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    raise AssertionError(args.command)


def _server(args: argparse.Namespace) -> int:
    """`tfgraphlint server`: serve in the foreground, or ask the running server its status
    or to stop (exit 1 when none answers)."""
    from tfgraphlint.frontends import server

    if not server.supported():
        print("tfgraphlint: the server needs fork and Unix sockets (POSIX)", file=sys.stderr)
        return EXIT_ERROR
    path = Path(args.socket) if args.socket else server.socket_path()
    if path is None:
        print("tfgraphlint: no private folder for the server's socket", file=sys.stderr)
        return EXIT_ERROR
    if args.status or args.stop:
        answer = server.request({"op": "stop" if args.stop else "ping"}, path, timeout=10.0)
        if not isinstance(answer, dict):
            print(f"no server at {path}")
            return 1
        if args.stop:
            print(f"stopped the server at {path} (pid {answer.get('stopping')})")
        else:
            print(f"server at {path}: pid {answer.get('pid')}, {answer.get('served')} requests")
        return 0
    idle = server.IDLE_TIMEOUT if args.idle_timeout is None else args.idle_timeout
    if idle <= 0:
        print("tfgraphlint: --idle-timeout must be positive", file=sys.stderr)
        return EXIT_ERROR
    try:
        return server.serve(path, idle)
    except OSError as exc:  # no such folder, a path too long for a socket, ...
        print(f"tfgraphlint: cannot serve at {path}: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _config(args: argparse.Namespace) -> Config:
    """The configuration file's settings, overridden by the flags."""
    config = Config() if args.isolated else load_config(args.config)
    config = _apply_selection_flags(config, args.select, args.extend_select, args.ignore)
    config = config.with_overrides(
        extend_exclude=(*config.extend_exclude, *(args.extend_exclude or ()))
    )
    if args.show_conversions:
        config = config.with_overrides(show_conversions=True)
    if args.follow_imports:
        config = config.with_overrides(follow_imports=True)
    return config


def _apply_selection_flags(
    config: Config,
    select: Sequence[str] | None,
    extend_select: Sequence[str] | None,
    ignore: Sequence[str] | None,
) -> Config:
    """Flags are a layer over the file's selection, as in ruff: `--select` starts afresh (the
    file's `select`, `extend-select` and `ignore` no longer apply); otherwise the rules the file
    selects are the starting set, and `--extend-select`/`--ignore` add to and remove from it
    (between the two flags, the more specific selector wins)."""
    from tfgraphlint.engine.registry import matching, selected_rules

    extend, ignored = tuple(extend_select or ()), tuple(ignore or ())
    if select is not None:
        return config.with_overrides(select=tuple(select), extend_select=extend, ignore=ignored)
    if not extend and not ignored:
        return config
    selected_rules(Config(extend_select=extend, ignore=ignored))  # unknown selectors fail
    start = set(selected_rules(config))
    added = set(selected_rules(Config(select=extend, ignore=ignored)))
    removed = {rule for sel in ignored for rule in matching(sel)} - added
    final = sorted(rule.CODE for rule in (start | added) - removed)
    return config.with_overrides(select=tuple(final), extend_select=(), ignore=())


def _validate_selection(config: Config) -> None:
    """Unknown selectors fail before any file is read (exit 2), wherever they come from."""
    from tfgraphlint.engine.registry import matching, selected_rules, unknown_selector

    selected_rules(config)
    for glob, selectors in config.per_file_ignores:
        for selector in selectors:
            if not matching(selector):
                raise unknown_selector("per-file-ignores", selector, f" (for `{glob}`)")


def _lint_file(
    job: tuple[str, Config, bool, bool],
) -> tuple[LintResult, str | None, ReexportKey | None]:
    """The file's result, the digest of the bytes linted, and their `reexports_key`: both for
    the cache, None when the file cannot be read or the job says there is no cache (the key
    reads the package folders for `tf` re-exports: work for nothing under `--no-cache`)."""
    path, config, noqa, cached = job
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        error = FileError(path, f"cannot read: {exc.strerror}", kind="io")
        return LintResult(path, errors=[error]), None, None
    result = _lint_bytes(data, path, config, noqa)
    if not cached:
        return result, None, None
    return result, content_digest(data), reexports_key(path, data)


def _lint_bytes(data: bytes, path: str, config: Config, noqa: bool) -> LintResult:
    """A module's or a notebook's result."""
    from tfgraphlint.engine.notebook import is_notebook, lint_notebook
    from tfgraphlint.engine.runner import lint_source

    if is_notebook(path):
        return lint_notebook(data, path, config, noqa=noqa)
    return lint_source(data, path, config, noqa=noqa)


def _lint_all(args: argparse.Namespace, config: Config) -> list[LintResult]:
    noqa = not args.disable_noqa
    results: list[LintResult] = []
    if "-" in args.paths:
        data = sys.stdin.buffer.read()
        results.append(_lint_bytes(data, args.stdin_filename or "<stdin>", config, noqa))
    files, skipped = discover(args.paths, config)
    cache = None if args.no_cache else _open_cache(config, noqa)
    cached: dict[str, LintResult] = {}
    digests: dict[str, str] = {}  # of the bytes each result is of
    if cache is not None:
        for path in files:
            with contextlib.suppress(OSError):
                data = Path(path).read_bytes()
                later = functools.partial(reexports_key, path, data)
                digest = content_digest(data)
                hit = cache.get(path, digest, "", later)
                if hit is not None:
                    cached[path] = hit
                    digests[path] = digest
    jobs = [(path, config, noqa, cache is not None) for path in files if path not in cached]
    from tfgraphlint.engine.runner import map_jobs

    workers = args.jobs or os.cpu_count() or 1
    fresh = map_jobs(_lint_file, jobs, workers)
    by_path = {r.path: r for r, _, _ in fresh}
    if cache is not None:
        for result, sha, reexports in fresh:  # what was linted: the file may have changed
            if sha is not None:
                cache.put(result.path, sha, result, reexports=reexports)
                digests[result.path] = sha
    results.extend(cached.get(path) or by_path[path] for path in files)
    results.extend(skipped)
    if config.follow_imports:
        from tfgraphlint.engine.project import follow_imports

        follow_imports(results, files, config, noqa=noqa, cache=cache, workers=workers)
    if config.keras_project:
        from tfgraphlint.engine.keras_project import forget_eager_only_keras_classes

        forget_eager_only_keras_classes(results, files, cache, digests, project_files(config))
    if cache is not None:
        cache.save()
    return results


def project_files(config: Config) -> Callable[[], Sequence[str]] | None:
    """The files of the project (under the folder of its pyproject.toml, with its excludes),
    listed when asked; None without a project (`--isolated`, no pyproject.toml)."""
    root = config.root
    if root is None:
        return None
    return lambda: discover([str(root)], config)[0]


def discover(paths: Sequence[str], config: Config) -> tuple[list[str], list[LintResult]]:
    """The files to check (`-` left out), and a result with an error for each path that
    cannot be (an unreadable folder, a FIFO)."""
    from tfgraphlint.engine.files import iter_python_paths

    skipped: list[LintResult] = []

    def on_error(path: str, message: str) -> None:
        skipped.append(LintResult(path, errors=[FileError(path, message, kind="io")]))

    files = list(iter_python_paths([p for p in paths if p != "-"], config, on_error))
    return files, skipped


def _open_cache(config: Config, noqa: bool) -> ResultCache:
    """The cache of this configuration, under the project root (or the current folder)."""
    root = config.root or Path.cwd()
    return ResultCache(root, config_digest(config, f"noqa={noqa}"))


def _check(args: argparse.Namespace) -> int:
    from tfgraphlint.frontends.output import (
        FORMATTERS,
        format_statistics,
        format_summary,
        format_text,
        format_text_errors,
    )

    config = _config(args)
    _validate_selection(config)
    fixed = None
    out = sys.stdout
    if args.fix or args.diff:
        from tfgraphlint.frontends.fixing import fix_all, total_fixed

        results, outcomes, stdin_output = fix_all(args, config)
        fixed = total_fixed(outcomes)
        if args.diff:
            diffs = [o.diff for o in outcomes if o.diff]
            return _report_diff(args, results, diffs, fixed)
        if stdin_output is not None:
            # As `ruff check --fix -`: the fixed source on stdout, the report on stderr.
            sys.stdout.buffer.write(stdin_output)
            sys.stdout.flush()
            out = sys.stderr
    else:
        results = _lint_all(args, config)

    if args.format == "text":
        out.write(format_text(results, unsafe_fixes=args.unsafe_fixes))
        out.flush()
        sys.stderr.write(format_text_errors(results))
    else:
        out.write(FORMATTERS[args.format](results))
    if args.statistics:
        # Keep machine-readable formats parseable: their statistics go to stderr.
        (out if args.format == "text" else sys.stderr).write(format_statistics(results))
    if args.format == "text" and not args.quiet:
        sys.stderr.write(format_summary(results, fixed=fixed, unsafe_fixes=args.unsafe_fixes))
    failed = any(_fails(f) for r in results for f in r.findings)
    return exit_code(results, failed=failed, exit_zero=args.exit_zero)


def _fails(finding: Finding) -> bool:
    """Info findings (the conversion map) explain; they never fail a run."""
    return finding.severity is not Severity.INFO


def exit_code(results: Sequence[LintResult], *, failed: bool, exit_zero: bool) -> int:
    """2 if the tool failed on a file, else 1 if `failed` (findings) or a file does not parse
    or cannot be read (unless `exit_zero`), else 0."""
    errors = [e for r in results for e in r.errors]
    if any(e.kind in _TOOL_ERRORS for e in errors):
        return EXIT_ERROR
    if (failed or errors) and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _report_diff(
    args: argparse.Namespace, results: list[LintResult], diffs: list[str], fixed: int
) -> int:
    """`--diff`, as ruff's: the diffs on stdout, nothing written; exit 1 when there are any."""
    from tfgraphlint.frontends.output import format_text_errors, hidden_fixes, hidden_fixes_note

    sys.stdout.write("".join(diffs))
    sys.stdout.flush()
    sys.stderr.write(format_text_errors(results))
    if not args.quiet:
        files = "1 file" if len(diffs) == 1 else f"{len(diffs)} files"
        what = f"would fix {fixed} finding{'s' if fixed != 1 else ''} in {files}"
        hidden = hidden_fixes(results, unsafe_fixes=args.unsafe_fixes)
        note = f"; {hidden_fixes_note(hidden)}" if hidden else ""
        sys.stderr.write(f"tfgraphlint: {what if diffs else 'nothing to fix'}{note}\n")
    return exit_code(results, failed=bool(diffs), exit_zero=False)


def _rules() -> int:
    from tfgraphlint.engine.registry import all_rules

    for rule in all_rules():
        default = "" if rule.DEFAULT_ENABLED else "  (off by default)"
        print(f"{rule.CODE}  {rule.NAME:<38} {rule.SEVERITY.value:<8} {rule.SUMMARY}{default}")
    return EXIT_CLEAN


def _explain(key: str, fmt: str = "text") -> int:
    from tfgraphlint.docs import rule_page, terminal_page
    from tfgraphlint.engine.registry import did_you_mean, find_rule

    rule = find_rule(key)
    if rule is None:
        print(
            f"tfgraphlint: no rule named `{key}`{did_you_mean(key)} (see `tfgraphlint rules`)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    page = rule_page(rule)
    sys.stdout.write(page if fmt == "markdown" else terminal_page(page))
    return EXIT_CLEAN
