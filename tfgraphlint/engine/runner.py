"""The engine: one parse, one batched traversal per file, every rule isolated."""

from __future__ import annotations

import ast
import contextlib
import ctypes
import dataclasses
import fnmatch
import functools
import io
import os
import signal
import sys
import threading
import time
import tokenize
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import NamedTuple, TypeVar

import libcst as cst
from libcst.metadata import MetadataWrapper, QualifiedName

from tfgraphlint._types import KERAS_CLASS, Edit, FileError, Finding, LintResult
from tfgraphlint.config import Config
from tfgraphlint.discovery.ast_nodes import WALKED_FIELDS
from tfgraphlint.discovery.legacy import uses_tf1_api
from tfgraphlint.discovery.model import CompiledContext, ContextKind, ModuleDiscovery
from tfgraphlint.discovery.parsing import hash_nodes_in_c, parse_module
from tfgraphlint.discovery.provider import (
    CompiledContextProvider,
    DiscoveryOptions,
    discovery_wrapper,
)
from tfgraphlint.discovery.reexports import reexports_in_text
from tfgraphlint.discovery.scope_metadata import resolve_directly
from tfgraphlint.discovery.walk import forget_children, walk_batched
from tfgraphlint.engine import noqa as noqa_mod
from tfgraphlint.engine.collector import batch_gc, collect_after_file, tune_for_batch
from tfgraphlint.engine.lines import lone_cr_to_lf, split_lines
from tfgraphlint.engine.prefilter import may_contain_compiled_code
from tfgraphlint.engine.registry import matching, selected_rules
from tfgraphlint.engine.rule import BODY_REACHES, UNCONVERTED_BREAKAGE_RULES, FileState, Rule
from tfgraphlint.engine.slicing import slice_module

_Positioned = TypeVar("_Positioned", Finding, Edit)
J = TypeVar("J")
R = TypeVar("R")


def decode_source(data: bytes) -> str:
    """Decode as Python does: a PEP 263 cookie or BOM, else UTF-8. Raises UnicodeDecodeError
    or SyntaxError (bad cookie)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def _decode_error(path: str, data: bytes, exc: Exception) -> FileError:
    if isinstance(exc, UnicodeDecodeError):
        line = data[: exc.start].count(b"\n") + 1
        return FileError(path, f"cannot decode file: {exc.reason} ({exc.encoding})", line, "io")
    return FileError(path, f"cannot decode file: {exc}", None, "io")


# Deeper than this, libcst's recursive visitors overflow Python's stack and its parser slows
# down quadratically with the nesting; real code stays under 20 levels (the
# deepest file of the 13-library benchmark corpus has 19). CPython's own limit for nested
# brackets is 200 as well.
MAX_NESTING_DEPTH = 200

# SyntaxErrors that are CPython limits rather than grammar: libcst would accept the file only
# to choke on it later, slowly. Any other SyntaxError may be newer grammar than the running
# Python, so libcst (which knows every version's grammar) gets the last word.
_CPYTHON_LIMITS = ("too many nested parentheses", "too many levels of indentation")


def _max_depth(tree: ast.AST) -> tuple[int, int | None]:
    """Depth of the deepest node (iteratively: no recursion on deep trees) and its line.

    A node's `ctx` (`Load()`...) is a leaf one level down, always visited right after the
    node (the last field, last pushed), and has no line: it is counted without being walked.
    An operator (`op`, `ops`) is a leaf beside an operand at the same depth, visited after
    that operand: it never makes a new deepest level, and is not walked either
    (`WALKED_FIELDS`)."""
    best, line = 0, None
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    node_class = ast.AST
    fields_of = WALKED_FIELDS
    while stack:
        node, depth = stack.pop()
        if depth > best:
            best, line = depth, getattr(node, "lineno", line)
        if depth + 1 > best and isinstance(getattr(node, "ctx", None), node_class):
            best = depth + 1  # the `ctx` leaf: no line of its own, `line` stays
        depth += 1
        for name in fields_of[type(node)]:  # `ast.iter_child_nodes`, without its generators
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend([(item, depth) for item in value if isinstance(item, node_class)])
            elif isinstance(value, node_class):
                stack.append((value, depth))
    return best, line


def _null_byte_line(text: str) -> int | None:
    index = text.find("\0")
    return None if index < 0 else text.count("\n", 0, index) + 1


class Precheck(NamedTuple):
    """What CPython's parser said: an error (None if it parsed), whether the error ends the
    file, and the tree (None unless it parsed)."""

    error: FileError | None
    conclusive: bool
    tree: ast.Module | None


def python_precheck(path: str, text: str, known: ast.Module | None = None) -> Precheck:
    """Check the source with CPython's parser first: it is written in C, linear, and about ten
    times faster than libcst's, so it screens out what libcst cannot analyse before libcst
    spends seconds on it. A conclusive error ends the file; a non-conclusive one is CPython's
    syntax error, reported only if libcst fails too. The tree, when there is one, tells
    `discovery.positions` where each top-level statement starts. `known` is that tree when
    the caller has it (the slicer's, from its parse of the whole text): no parse then."""
    try:
        if known is not None:
            tree = known
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escape sequences and the like
                tree = ast.parse(text)
    except (RecursionError, MemoryError):
        error = FileError(path, "too deeply nested to parse (Python's parser gives up too)")
        return Precheck(error, True, None)
    except SyntaxError as exc:
        line = exc.lineno or _null_byte_line(text)
        conclusive = "null bytes" in exc.msg or exc.msg.startswith(_CPYTHON_LIMITS)
        return Precheck(FileError(path, f"syntax error: {exc.msg}", line), conclusive, None)
    except ValueError as exc:  # null bytes, on Python versions that raise ValueError for them
        error = FileError(path, f"syntax error: {exc}", _null_byte_line(text))
        return Precheck(error, True, None)
    depth, line = _max_depth(tree)
    if depth > MAX_NESTING_DEPTH:
        message = (
            f"too deeply nested to analyse: {depth} levels of nested syntax "
            f"(the limit is {MAX_NESTING_DEPTH})"
        )
        return Precheck(FileError(path, message, line), True, None)
    return Precheck(None, False, tree)


def compile_check(path: str, text: str, tree: ast.Module | None = None) -> FileError | None:
    """The error CPython's compiler raises on a text its parser accepts (`nonlocal` at module
    level, `return` or `yield` outside a function, `break` outside a loop, `await` outside an
    async function, a duplicate argument...): the file cannot run, so it is a syntax error,
    as `python` reports it. The whole text, not the sliced one: slicing must not change which
    files have errors. `tree`: `ast.parse(text)` when the caller has it (the slicer's screen
    parsed the whole text): compiled instead of parsing the text again."""
    # IPython runs a notebook's cells with top-level `await` allowed.
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if path.endswith(".ipynb") else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            compile(text if tree is None else tree, path, "exec", flags=flags, dont_inherit=True)
    except SyntaxError as exc:
        return FileError(path, f"syntax error: {exc.msg}", exc.lineno)
    except (ValueError, RecursionError, MemoryError):
        pass  # the parsers have the last word on these
    return None


@dataclass(slots=True)
class Analysis:
    """What `analyse` made of one file: the lint result and, when discovery ran, the module
    it parsed (the sliced text), the metadata wrapper and what discovery found."""

    result: LintResult
    module: cst.Module | None = None
    wrapper: MetadataWrapper | None = None
    discovery: ModuleDiscovery | None = None
    # The qualified names discovery resolved, for the rules (`FileState.qualname_memo`).
    qualname_memo: dict[cst.CSTNode, Collection[QualifiedName]] = dataclasses.field(
        default_factory=dict
    )

    @property
    def contexts(self) -> tuple[CompiledContext, ...]:
        """The compiled contexts discovery found (none when the file was screened out)."""
        return self.discovery.contexts if self.discovery is not None else ()


def discovery_options(
    config: Config,
    external_roots: Mapping[str, CompiledContext] | None = None,
    reexports: Mapping[str, str] | None = None,
) -> DiscoveryOptions:
    """What discovery needs from the config (and from `engine.project`'s follow-imports, and
    the file's re-exported TensorFlow names, `discovery.reexports`)."""
    return DiscoveryOptions(
        extra_function_decorators=config.extra_function_decorators,
        keras_call=config.keras_call,
        follow_calls=config.follow_calls,
        follow_imports=config.follow_imports,
        external_roots=tuple(sorted((external_roots or {}).items(), key=lambda item: item[0])),
        reexports=tuple(sorted((reexports or {}).items())),
    )


def analyse(
    source: str | bytes,
    path: str = "<stdin>",
    config: Config | None = None,
    *,
    noqa: bool = True,
    rules: Sequence[type[Rule]] | None = None,
    prefilter: bool = True,
    external_roots: Mapping[str, CompiledContext] | None = None,
    keep_discovery: bool = False,
) -> Analysis:
    """Check one file's source: the one entry point of `check`, `trace` and the flake8
    plugin. Never raises on bad input: problems become `result.errors`.

    The stages, each a function below: decode, screen, slice, precheck, parse, discover, run
    the rules, post-process. With `prefilter` (the default), the screen skips files that
    cannot hold compiled code and the slicer blanks the top-level statements and methods no
    selected rule can need (`engine.prefilter`, `engine.slicing`); `prefilter=False` parses
    everything (the equivalence tests compare both). `external_roots` (follow-imports, from
    `engine.project`) maps module-level function names to the compiled contexts other modules
    give them: such a file is analysed even if it never mentions TensorFlow.
    `keep_discovery` (for `trace`) runs discovery even when no rule is left to run and the
    file says `skip-file`, and keeps the wrapper in the answer."""
    try:
        return _analyse(
            source, path, config, noqa, rules, prefilter, external_roots, keep_discovery
        )
    finally:
        forget_children()  # the walks' map of the file's nodes (`discovery.walk`)


def _analyse(
    source: str | bytes,
    path: str,
    config: Config | None,
    noqa: bool,
    rules: Sequence[type[Rule]] | None,
    prefilter: bool,
    external_roots: Mapping[str, CompiledContext] | None,
    keep_discovery: bool,
) -> Analysis:
    config = config or Config()
    roots = dict(external_roots or {})
    analysis = Analysis(LintResult(path))
    result = analysis.result
    text = _decode_stage(source, path, result)
    if text is None:
        return analysis
    text = lone_cr_to_lf(text)
    # `from mypkg import tf`, where `mypkg` does `import tensorflow as tf` (read from disk).
    aliases = reexports_in_text(path, text)
    if not roots and not aliases and not may_contain_compiled_code(text, config):
        return analysis
    chosen = _rules_stage(path, config, rules)
    if not chosen and not keep_discovery:
        return analysis
    analysed, known, whole = text, None, None
    if prefilter:
        sliced = slice_module(
            text, config, frozenset(roots), chosen, aliases, keras_gate=not keep_discovery
        )
        if sliced is None:
            return analysis  # nothing can be compiled (a syntax error here hides no finding)
        analysed, known, whole = sliced
    if noqa and not keep_discovery and noqa_mod.file_is_skipped(text):
        return analysis  # only where there is something to skip
    tree = _precheck_stage(path, text, analysed, result, known, whole)
    if result.errors:
        return analysis
    module = _parse_stage(path, analysed, tree, result)
    if module is None:
        return analysis
    analysis.module = module
    options = discovery_options(config, roots, aliases)
    if config.keras_call is None and uses_tf1_api(text, tree.tree, aliases):
        options = dataclasses.replace(options, tf1_code=True)
    try:
        discovery = _discover_stage(analysis, options, tree.tree)
        if discovery is None or not chosen:
            return analysis
        state = _rules_run_stage(
            analysis, path, config, _can_report(chosen, discovery), aliases, text
        )
    except RecursionError:
        result.errors.append(FileError(path, "too deeply nested to analyse", None, "internal"))
        return analysis
    except Exception as exc:  # a bug in discovery or metadata: lose this file, not the run
        message = f"internal error while analysing: {type(exc).__name__}: {exc}"
        result.errors.append(FileError(path, message, None, "internal"))
        return analysis
    _post_process_stage(result, state, chosen, analysed, module, text if noqa else None)
    if path.endswith(".py"):
        result.findings = _tag_keras_classes(result.findings, discovery)
    return analysis


def lint_source(
    source: str | bytes,
    path: str = "<stdin>",
    config: Config | None = None,
    *,
    noqa: bool = True,
    rules: Sequence[type[Rule]] | None = None,
    prefilter: bool = True,
    external_roots: Mapping[str, CompiledContext] | None = None,
) -> LintResult:
    """`analyse(...).result`: the findings and errors of one file's source."""
    analysis = analyse(
        source,
        path,
        config,
        noqa=noqa,
        rules=rules,
        prefilter=prefilter,
        external_roots=external_roots,
    )
    return analysis.result


def _decode_stage(source: str | bytes, path: str, result: LintResult) -> str | None:
    """Decode: bytes as Python reads them; a leading BOM dropped. None (and an error) when
    the file cannot be decoded."""
    if isinstance(source, bytes):
        try:
            return decode_source(source)
        except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
            result.errors.append(_decode_error(path, source, exc))
            return None
    return source[1:] if source.startswith("\ufeff") else source


def _rules_stage(path: str, config: Config, rules: Sequence[type[Rule]] | None) -> list[type[Rule]]:
    """The rules to run on this file: the given ones or the config's selection, without the
    file's `per-file-ignores`."""
    chosen = list(rules) if rules is not None else selected_rules(config)
    ignored = per_file_ignored(path, config)
    return [r for r in chosen if r not in ignored] if ignored else chosen


class _Tree(NamedTuple):
    """CPython's tree of the analysed text (None unless it parsed), and its syntax error
    when libCST should have the last word on it."""

    tree: ast.Module | None
    error: FileError | None


def _precheck_stage(
    path: str,
    text: str,
    analysed: str,
    result: LintResult,
    known: ast.Module | None = None,
    whole: ast.Module | None = None,
) -> _Tree:
    """Precheck: CPython's parser on the analysed text (`known`: its tree, which the slicer
    gives), its compiler on the whole text (`whole`: its tree, which the slicer gives too).
    A conclusive error goes into `result` (and ends the file)."""
    python_error, conclusive, tree = python_precheck(path, analysed, known)
    if python_error is not None and conclusive:
        result.errors.append(python_error)
    elif python_error is None:
        compile_error = compile_check(path, text, whole)
        if compile_error is not None:
            result.errors.append(compile_error)
    return _Tree(tree, python_error)


def _parse_stage(path: str, analysed: str, tree: _Tree, result: LintResult) -> cst.Module | None:
    """Parse with libCST; None (and an error) when it cannot."""
    try:
        return parse_module(analysed)
    except Exception as exc:  # ParserSyntaxError, RecursionError, and odd input
        result.errors.append(tree.error or _libcst_error(path, exc, tree.tree is not None))
        return None


def _discover_stage(
    analysis: Analysis, options: DiscoveryOptions, tree: ast.Module | None
) -> ModuleDiscovery | None:
    """Discover: the metadata every rule needs, and what is compiled. None when the module
    references no `tf.function` and holds no compiled context (no rule can report)."""
    assert analysis.module is not None
    wrapper = discovery_wrapper(analysis.module, options, tree, analysis.qualname_memo)
    resolve_directly(wrapper, Rule.METADATA_DEPENDENCIES)
    discovery = wrapper.resolve(CompiledContextProvider).get(analysis.module)
    analysis.wrapper = wrapper
    if not isinstance(discovery, ModuleDiscovery):
        return None
    analysis.discovery = discovery
    analysis.result.calls = list(discovery.external_calls)
    return discovery if discovery.references_tf_function else None


def _can_report(chosen: Sequence[type[Rule]], discovery: ModuleDiscovery) -> list[type[Rule]]:
    """The chosen rules that can report in this module. In a module that runs every function
    eagerly (`ModuleDiscovery.runs_functions_eagerly`), only the module-level rules. When
    every compiled context is a
    Keras `call` found by default (`CompiledContext.breaking_only`) and nothing calls
    `tf.function` (whose arguments some rules of reach "compiled-bodies" read, in eager code:
    `tf.function(model, experimental_relax_shapes=True)`), a rule that reports in compiled
    bodies only (`BODY_REACHES`) can report only if it is one of `UNCONVERTED_BREAKAGE_RULES`
    (`Rule.context_of_function` hides the Keras `call`s from the others), and the others are
    not run at all."""
    if discovery.runs_functions_eagerly:
        # Nothing is traced: only what the module-level rules read (TFG403's switch) stands.
        return [rule for rule in chosen if rule.REACH == "module-level"]
    if not discovery.only_default_keras_calls:
        return list(chosen)
    return [
        rule
        for rule in chosen
        if rule.REACH not in BODY_REACHES or rule.CODE in UNCONVERTED_BREAKAGE_RULES
    ]


def _rules_run_stage(
    analysis: Analysis,
    path: str,
    config: Config,
    chosen: Sequence[type[Rule]],
    reexports: Mapping[str, str],
    text: str,
) -> FileState:
    """Run the rules in one batched traversal (`text`: the file's whole text)."""
    module, wrapper = analysis.module, analysis.wrapper
    assert module is not None and wrapper is not None
    state = FileState(
        path=path,
        config=config,
        module=module,
        reexports=reexports,
        text=text,
        qualname_memo=analysis.qualname_memo,  # what discovery resolved on the same scopes
    )
    visitors = [rule(state) for rule in chosen]
    with contextlib.ExitStack() as stack:
        for visitor in visitors:
            stack.enter_context(visitor.resolve(wrapper))
        walk_batched(module, visitors)
    return state


def _post_process_stage(
    result: LintResult,
    state: FileState,
    chosen: Sequence[type[Rule]],
    analysed: str,
    module: cst.Module,
    noqa_text: str | None,
) -> None:
    """Post-process: rule crashes become errors; findings sorted, their columns mapped back
    over form feeds, and `# noqa` comments of `noqa_text` (the whole text) applied."""
    names = {rule.CODE: rule.NAME for rule in chosen}
    for code, err in state.rule_errors:
        message = f"internal error in rule {code} ({names.get(code, '?')}): "
        result.errors.append(
            FileError(result.path, message + f"{type(err).__name__}: {err}", None, "internal")
        )
    findings = sorted(state.findings, key=lambda f: (f.line, f.column, f.code))
    if "\x0c" in analysed:
        findings = _undo_form_feed_shifts(analysed, module, findings)
    if noqa_text is not None:
        findings = noqa_mod.apply_noqa(noqa_text, findings)
    result.findings = findings


_KERAS_ROOTS = (ContextKind.KERAS_CALL, ContextKind.KERAS_LOSS, ContextKind.KERAS_METRIC)
_DERIVED = (ContextKind.HELPER, ContextKind.NESTED)


def _tag_keras_classes(findings: list[Finding], discovery: ModuleDiscovery) -> list[Finding]:
    """Tag each finding that is reported only because Keras traces a class of this module
    with `data["keras_class"]`, the class's name, for the project phase
    (`engine.keras_project`): a finding in the body of a module-level class's `call`,
    `update_state`, `result` or loss `call` that discovery found by default (not run by a
    tf.function of the module), or in a helper of one when every other compiled body of the
    module is such a method of the same class (a helper's context names only its first
    root)."""
    if not findings:
        return findings
    by_name: dict[str, list[CompiledContext]] = {}
    for ctx in discovery.contexts:
        by_name.setdefault(ctx.qualname, []).append(ctx)
    roots = [c for c in discovery.contexts if c.kind not in _DERIVED]
    only_keras = len({c.qualname.split(".")[0] for c in roots}) == 1 and all(
        c.kind in _KERAS_ROOTS for c in roots
    )
    tagged: list[Finding] = []
    for finding in findings:
        cls = _keras_class(by_name.get(finding.function or "", []), by_name, only_keras)
        if cls is not None:
            data = {**(finding.data or {}), KERAS_CLASS: cls}
            finding = dataclasses.replace(finding, data=data)
        tagged.append(finding)
    return tagged


def _keras_class(
    contexts: list[CompiledContext], by_name: Mapping[str, list[CompiledContext]], helpers: bool
) -> str | None:
    if len(contexts) != 1 or contexts[0].root_path is not None:
        return None
    (ctx,) = contexts
    roots = [c for c in by_name.get(ctx.root_qualname, []) if c.line == ctx.root_line]
    if len(roots) != 1:
        return None
    (root,) = roots
    if (
        root.kind not in _KERAS_ROOTS
        or root.caller_qualname is not None
        or root.root_path is not None
        or root.qualname != root.root_qualname
        or (ctx is not root and not helpers)
    ):
        return None
    parts = root.qualname.split(".")
    return parts[0] if len(parts) == 2 and parts[0].isidentifier() else None


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t\x0c"))


def _column_shifts(text: str, module: cst.Module) -> dict[int, int]:
    """Line -> what to add to libCST's columns on it to get the text's.

    libCST does not keep a form feed in a statement's indentation where the text has it: it
    drops `\x0c` and what precedes it at the start of a statement line (`\x0c@tf.function`
    is generated as `@tf.function`), and it repeats a block's first indentation (`\x0c    `)
    on every line of the block. Its columns count the generated code, so on those lines they
    are off by the difference in indentation."""
    shifts: dict[int, int] = {}
    ours, theirs = split_lines(text), split_lines(module.code)
    if len(ours) != len(theirs):
        return shifts
    for number, (mine, generated) in enumerate(zip(ours, theirs, strict=True), start=1):
        if mine == generated:
            continue
        width, generated_width = _indent_width(mine), _indent_width(generated)
        if mine[width:] == generated[generated_width:] and width != generated_width:
            shifts[number] = width - generated_width
    return shifts


def _undo_form_feed_shifts(text: str, module: cst.Module, findings: list[Finding]) -> list[Finding]:
    """The findings with their columns (and their fixes') counted in `text` (see
    `_column_shifts`)."""
    shifts = _column_shifts(text, module)
    if not shifts:
        return findings

    def moved(item: _Positioned) -> _Positioned:
        return dataclasses.replace(
            item,
            column=item.column + shifts.get(item.line, 0),
            end_column=item.end_column + shifts.get(item.end_line, 0),
        )

    out = []
    for finding in findings:
        fix = finding.fix
        if fix is not None:
            fix = dataclasses.replace(fix, edits=tuple(moved(e) for e in fix.edits))
        out.append(dataclasses.replace(moved(finding), fix=fix))
    return out


def map_jobs(fn: Callable[[J], R], jobs: list[J], workers: int, chunksize: int = 8) -> list[R]:
    """`fn` over `jobs`, in order: in a process pool of `workers` when there is enough work
    for one (`start_worker` starts each), else here (under `batch_gc`); each job followed by
    `collect_after_file`. `check`, `--fix` and the follow-imports pass run their files
    through it."""
    each = functools.partial(_then_collect, fn)
    if workers > 1 and len(jobs) > 8:
        pool = ProcessPoolExecutor(workers, initializer=start_worker, initargs=(os.getpid(),))
        with pool:
            return list(pool.map(each, jobs, chunksize=chunksize))
    with batch_gc():
        return [each(job) for job in jobs]


def _then_collect(fn: Callable[[J], R], job: J) -> R:
    """`fn(job)`, then `collect_after_file`."""
    try:
        return fn(job)
    finally:
        collect_after_file()


def start_worker(parent: int) -> None:
    """Process-pool initializer of `check`'s workers: `die_with_parent`, the collector
    tuned for the worker's life (`engine.collector`), and libCST's nodes hashed in C
    (`discovery.parsing.hash_nodes_in_c`)."""
    die_with_parent(parent)
    hash_nodes_in_c()
    tune_for_batch()


def die_with_parent(parent: int) -> None:
    """Process-pool initializer: the worker dies when the process that started it does.

    A `kill -9` of `tfgraphlint check --fix -j N` must not leave workers fixing files after
    the run is gone. On Linux the kernel sends SIGKILL on the parent's death
    (`prctl(PR_SET_PDEATHSIG)`); elsewhere, or if that fails, a thread polls the parent id."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # it died before the signal was armed
                    os._exit(1)
                return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)


def _libcst_error(path: str, exc: Exception, python_parsed: bool = False) -> FileError:
    if isinstance(exc, cst.ParserSyntaxError) and python_parsed:
        # Python's own parser accepted the text: no syntax error, a limit of libCST's parser
        # (a module-level tuple of 5,000 implicitly joined strings).
        message = f"cannot analyse: libCST's parser fails on code Python accepts ({exc.message})"
        return FileError(path, message, exc.raw_line)
    if isinstance(exc, cst.ParserSyntaxError):
        return FileError(path, f"syntax error: {exc.message}", exc.raw_line)
    if isinstance(exc, RecursionError):
        return FileError(path, "too deeply nested to parse")
    return FileError(path, f"cannot parse: {type(exc).__name__}: {exc}")


def per_file_ignored(path: str, config: Config) -> set[type[Rule]]:
    if not config.per_file_ignores:
        return set()
    rel = PurePath(path).as_posix()
    if config.root is not None:
        with contextlib.suppress(ValueError, OSError):
            rel = Path(path).resolve().relative_to(config.root).as_posix()
    out: set[type[Rule]] = set()
    for glob, selectors in config.per_file_ignores:
        if fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(PurePath(rel).name, glob):
            for sel in selectors:
                out.update(matching(sel))
    return out
