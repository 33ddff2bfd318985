"""Follow compiled code into other modules (option `follow-imports`): the project phase.

AutoGraph converts, and tracing runs, every Python function that a compiled body calls,
wherever it is defined. It skips only the modules on its allowlist
(`tensorflow/python/autograph/core/config.py`, `CONVERSION_RULES`). It calls those
unconverted, but still while tracing. Same-module helpers are part of discovery. This module
adds helpers imported from other checked files:

1. Phase 1 is the ordinary check of each file. With the option on, discovery also records in
   `LintResult.calls` the imported functions that compiled code calls, passes to
   `tf.while_loop`/`tf.cond`/..., or hands to `Dataset.map`/... (`ExternalCall`). They are
   cached with the result.
2. `follow_imports` resolves each target to a module-level function of another checked file.
   It reads the file's own imports to follow re-exports such as `from .ops import helper` in
   an `__init__.py`. It then re-checks that file with the function injected as a compiled
   context (`lint_source(external_roots=...)`), whose message names the chain. New findings
   are added to the file's result, once. A helper of B that calls one of C is found in the
   next round, up to `MAX_ROUNDS`.

Not followed: library code outside the run, methods (`obj.method`, `Class.method`), functions
stored in containers or passed around, and imports that resolve to several checked files.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tfgraphlint._types import ExternalCall, FileError, LintResult
from tfgraphlint.config import Config
from tfgraphlint.discovery.ast_nodes import dotted_name
from tfgraphlint.discovery.model import CompiledContext, ContextKind
from tfgraphlint.engine.cache import (
    ReexportKey,
    ResultCache,
    content_digest,
    reexports_key,
    roots_digest,
)

MAX_ROUNDS = 8  # a helper of a helper of ... eight modules deep
_MAX_REEXPORT_HOPS = 4
_NAMESPACE_LEVELS = 3  # folders without `__init__.py` that may still prefix a module name

# AutoGraph's module allowlist, as in TF 2.21 (`autograph/core/config.py`): the first rule
# that matches a module (the name or a dotted prefix of it) decides. Functions of these modules
# are called unconverted (but still run while tracing).
AUTOGRAPH_CONVERT: tuple[str, ...] = ("tensorflow.python.training.experimental",)
AUTOGRAPH_DO_NOT_CONVERT: tuple[str, ...] = (
    "collections",
    "copy",
    "cProfile",
    "inspect",
    "ipdb",
    "linecache",
    "mock",
    "pathlib",
    "pdb",
    "posixpath",
    "pstats",
    "re",
    "threading",
    "urllib",
    "matplotlib",
    "numpy",
    "pandas",
    "tensorflow",
    "PIL",
    "absl.logging",
    "tensorflow_probability",
    "tensorflow_datasets.core",
    "keras",
    "tf_keras",
)


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def autograph_allowlisted(module: str) -> str | None:
    """The allowlist entry under which AutoGraph leaves `module` unconverted, or None."""
    for prefix in AUTOGRAPH_CONVERT:
        if _under(module, prefix):
            return None
    return next((p for p in AUTOGRAPH_DO_NOT_CONVERT if _under(module, p)), None)


def module_names(path: str, memo: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """The dotted names a file can be imported under. The first is its name in its package:
    walk up while the folder holds an `__init__.py`. The others add up to three enclosing
    folders without one (namespace packages, `src.pkg` imports), as long as they are
    identifiers. A file outside any package is a top-level module named after its stem.
    `memo` keeps what was found per folder (for many files of one tree, read at one time)."""
    folder, name = os.path.split(os.path.abspath(path))
    stem, suffix = os.path.splitext(name)
    if suffix != ".py" or not stem.isidentifier():
        return ()
    if memo is None or folder not in memo:
        prefixes = _folder_prefixes(folder)
        if memo is not None:
            memo[folder] = prefixes
    else:
        prefixes = memo[folder]
    if stem == "__init__":
        return prefixes if prefixes[0] else ()
    return tuple(f"{p}.{stem}" if p else stem for p in prefixes)


def _folder_prefixes(folder: str) -> tuple[str, ...]:
    """`module_names` of the modules of `folder`, less their own name: the package path
    (empty outside a package), then up to three enclosing folders more."""
    parts: list[str] = []
    here = Path(folder)
    while (here / "__init__.py").is_file() and here.name.isidentifier():
        parts.insert(0, here.name)
        here = here.parent
    names = [".".join(parts)]
    for _ in range(_NAMESPACE_LEVELS):
        if not here.name.isidentifier() or here.parent == here:
            break
        parts.insert(0, here.name)
        here = here.parent
        names.append(".".join(parts))
    return tuple(names)


def resolve_relative(target: str, module: str, is_package: bool) -> str | None:
    """`..pkg.b.helper` seen in `module` as an absolute name, as Python resolves it (the
    package of a module is its parent; of an `__init__.py`, itself). None when the dots climb
    above the top-level package."""
    dots = len(target) - len(target.lstrip("."))
    if dots == 0:
        return target
    base = module.split(".") if is_package else module.split(".")[:-1]
    climb = dots - 1
    if climb > len(base):
        return None
    base = base[: len(base) - climb]
    rest = target[dots:]
    name = ".".join([*base, rest] if rest else base)
    return name or None


@dataclass(slots=True)
class _TopLevel:
    """What a module binds at top level that a target can name: functions, and names bound
    to something of another module, as a qualified name: `from .ops import helper`,
    `import pkg.ops as ops`, `helper = ops.helper` (re-exports in an `__init__.py`)."""

    functions: frozenset[str] = frozenset()
    imports: dict[str, str] = field(default_factory=dict)
    classes: frozenset[str] = frozenset()


def _top_level(path: str) -> _TopLevel:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return _TopLevel()
    return top_level_of(tree)


def top_level_of(tree: ast.Module) -> _TopLevel:
    """What `tree` binds at its top level (`_TopLevel`)."""
    functions: set[str] = set()
    classes: set[str] = set()
    imports: dict[str, str] = {}
    aliases: list[tuple[str, str]] = []
    stack = list(reversed(tree.body))
    while stack:  # module level, including `if`/`try`/`with` blocks (not defs or classes)
        stmt = stack.pop()
        if isinstance(stmt, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody"):
                stack.extend(reversed(getattr(stmt, block, [])))
            for handler in getattr(stmt, "handlers", []):
                stack.extend(reversed(handler.body))
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.add(stmt.name)
        elif isinstance(stmt, ast.ClassDef):
            classes.add(stmt.name)
        elif isinstance(stmt, ast.ImportFrom):
            source = "." * stmt.level + (f"{stmt.module}." if stmt.module else "")
            for alias in stmt.names:
                if alias.name != "*":
                    imports.setdefault(alias.asname or alias.name, source + alias.name)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    imports.setdefault(alias.asname, alias.name)
                else:
                    top = alias.name.split(".")[0]
                    imports.setdefault(top, top)
        elif (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            dotted = dotted_name(stmt.value)
            if dotted is not None and "." in dotted:
                aliases.append((stmt.targets[0].id, dotted))
    for name, dotted in aliases:  # `helper = ops.helper`, with `ops` imported
        root, _, rest = dotted.partition(".")
        if root in imports and name not in functions:
            imports.setdefault(name, f"{imports[root]}.{rest}")
    return _TopLevel(frozenset(functions), imports, frozenset(classes))


class ModuleIndex:
    """The checked files by module name, to resolve what an import names."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._by_name: dict[str, list[str]] = {}
        self._names: dict[str, tuple[str, ...]] = {}
        self._top: dict[str, _TopLevel] = {}
        self._folders: dict[str, tuple[str, ...]] = {}
        for path in paths:
            for name in self.names_of(path):
                self._by_name.setdefault(name, []).append(path)

    def names_of(self, path: str) -> tuple[str, ...]:
        if path not in self._names:
            self._names[path] = module_names(path, self._folders)
        return self._names[path]

    def module_of(self, path: str) -> str:
        names = self.names_of(path)
        return names[0] if names else ""

    def files_of(self, module: str) -> list[str]:
        """The checked files that can be imported as `module`."""
        return self._by_name.get(module, [])

    def absolute(self, target: str, from_path: str) -> list[str]:
        """`target` as imported in `from_path`, as absolute names (one per name of the file
        for a relative import)."""
        return self._absolute(target, from_path)

    def _absolute(self, target: str, from_path: str) -> list[str]:
        if not target.startswith("."):
            return [target]
        is_package = Path(from_path).name == "__init__.py"
        out = []
        for module in self.names_of(from_path):
            name = resolve_relative(target, module, is_package)
            if name is not None:
                out.append(name)
        return out

    def _file(self, module: str, from_path: str) -> str | None:
        files = self._by_name.get(module, [])
        if len(files) == 1:
            return files[0]
        here = os.path.dirname(os.path.abspath(from_path))
        near = [f for f in files if os.path.dirname(os.path.abspath(f)) == here]
        return near[0] if len(near) == 1 else None  # ambiguous: do not guess

    def locate(
        self,
        target: str,
        from_path: str,
        hops: int = 0,
        *,
        want: Literal["function", "class"] = "function",
    ) -> tuple[str, str] | None:
        """(file, name) of the module-level function (`want="class"`: class) of a checked
        file that `target` (a qualified name as imported in `from_path`) names, or None."""
        for name in self._absolute(target, from_path):
            parts = name.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                path = self._file(".".join(parts[:cut]), from_path)
                if path is None:
                    continue
                rest = parts[cut:]
                top = self._top.get(path)
                if top is None:
                    top = self._top[path] = _top_level(path)
                defined = top.classes if want == "class" else top.functions
                if len(rest) == 1 and rest[0] in defined:
                    return path, rest[0]
                # Bound there to something of another module: `from .ops import helper`, or
                # `mod.ops.helper` with `ops` imported into `mod`. A class defined there is
                # neither: `Class.method` is not followed.
                source = top.imports.get(rest[0])
                if source is not None and hops < _MAX_REEXPORT_HOPS:
                    joined = ".".join([source, *rest[1:]])
                    return self.locate(joined, path, hops + 1, want=want)
                return None
        return None


def _context(call: ExternalCall, caller_path: str, name: str, module: str) -> CompiledContext:
    """The context a function of `module` gets from a call recorded in `caller_path`."""
    kind = ContextKind(call.kind)
    allowlisted = autograph_allowlisted(module)
    reason = (
        f"AutoGraph does not convert functions of `{allowlisted}` (on its module allowlist)"
        if allowlisted is not None
        else None
    )
    if kind is ContextKind.DATASET_CALLBACK:
        return CompiledContext(
            kind=kind,
            qualname=name,
            line=0,
            root_qualname=name,
            root_line=0,
            converted=allowlisted is None,
            via=call.via,
            root_label=call.root_label,
            unconverted_reason=reason,
        )
    return CompiledContext(
        kind=kind,
        qualname=name,
        line=0,
        root_qualname=call.root,
        root_line=call.root_line,
        converted=call.converted and allowlisted is None,
        via=call.via,
        call_line=call.line,
        caller_qualname=call.caller,
        root_label=call.root_label,
        root_path=call.root_path or caller_path,
        caller_path=caller_path,
        unconverted_reason=reason if call.converted else None,
    )


RelintJob = tuple[str, Config, bool, dict[str, CompiledContext]]


def relint_file(job: RelintJob) -> tuple[LintResult, str | None, ReexportKey | None]:
    """Check one file again with contexts injected from other modules (picklable job). Also
    returns the digest of the bytes linted, for the cache (None if the file was unreadable),
    and their `reexports_key`."""
    from tfgraphlint.engine.runner import lint_source

    path, config, noqa, roots = job
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        error = FileError(path, f"cannot read: {exc.strerror}", kind="io")
        return LintResult(path, errors=[error]), None, None
    sha, reexports = content_digest(data), reexports_key(path, data)
    return lint_source(data, path, config, noqa=noqa, external_roots=roots), sha, reexports


def _merge(base: LintResult, extra: LintResult) -> None:
    """Add what a re-check found and the first check did not (a finding is reported once)."""
    seen = {(f.line, f.column, f.code) for f in base.findings}
    new = [f for f in extra.findings if (f.line, f.column, f.code) not in seen]
    if new:
        base.findings = sorted([*base.findings, *new], key=lambda f: (f.line, f.column, f.code))
    known = {(e.message, e.line) for e in base.errors}
    base.errors.extend(e for e in extra.errors if (e.message, e.line) not in known)


def _run(
    jobs: Sequence[RelintJob],
    cache: ResultCache | None,
    workers: int,
    used: set[tuple[str, str]],
) -> list[LintResult]:
    results: dict[str, LintResult] = {}
    todo: list[RelintJob] = []
    for job in jobs:
        path, _, _, roots = job
        if cache is not None:
            with contextlib.suppress(OSError):
                data = Path(path).read_bytes()
                sha, injected = content_digest(data), roots_digest(roots)
                used.add((path, injected))
                hit = cache.get(path, sha, injected, functools.partial(reexports_key, path, data))
                if hit is not None:
                    results[path] = hit
                    continue
        todo.append(job)
    from tfgraphlint.engine.runner import map_jobs

    fresh = map_jobs(relint_file, todo, workers, chunksize=4)
    for job, (result, linted, reexports) in zip(todo, fresh, strict=True):
        results[result.path] = result
        if cache is not None and linted is not None:  # the digest of what was linted
            cache.put(result.path, linted, result, roots_digest(job[3]), reexports)
    return [results[job[0]] for job in jobs]


def follow_imports(
    results: Sequence[LintResult],
    files: Sequence[str],
    config: Config,
    *,
    noqa: bool = True,
    cache: ResultCache | None = None,
    workers: int = 1,
) -> list[LintResult]:
    """Phase 2 of `follow-imports`: re-check the checked `files` whose functions compiled code
    of other files reaches, and add their new findings to `results` (updated in place, and
    returned). Only files that receive contexts are read again."""
    index = ModuleIndex(files)
    by_path = {r.path: r for r in results}
    injected: dict[str, dict[str, CompiledContext]] = {}
    pending = [(r.path, call) for r in results for call in r.calls]
    used: set[tuple[str, str]] = set()
    for _ in range(MAX_ROUNDS):
        grown: set[str] = set()
        for caller_path, call in pending:
            found = index.locate(call.target, caller_path)
            if found is None or found[0] not in by_path:
                continue
            path, name = found
            roots = injected.setdefault(path, {})
            if name in roots:
                continue  # the first caller wins, as in discovery
            roots[name] = _context(call, caller_path, name, index.module_of(path))
            grown.add(path)
        if not grown:
            break
        jobs = [(path, config, noqa, dict(injected[path])) for path in sorted(grown)]
        pending = []
        for fresh in _run(jobs, cache, workers, used):
            _merge(by_path[fresh.path], fresh)
            pending.extend((fresh.path, call) for call in fresh.calls)
    if cache is not None:
        cache.retain_roots(set(files), used)
    return list(results)
