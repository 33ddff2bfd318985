"""A results cache keyed on file content, configuration and code (like ruff's).

One JSON file per configuration under `.tfgraphlint_cache/<version>/`, mapping each checked
path to the SHA-256 of its bytes (the bytes that were linted, not those of an earlier read) and
its findings, errors and (with `follow-imports`) the calls it makes into other modules. A file
whose bytes are unchanged is not read by libCST again; anything else (an edit, another config,
a new cache format, a change to tfgraphlint's own source files even under the same version, a
new libCST or Python) misses. An entry that cannot be read (a cache file of the wrong shape)
is a miss too. A file
re-checked with contexts injected from other modules (`engine.project`) is stored under its
path and a digest of those contexts: other callers, another entry. A file that imports `tf`
or `keras` from the project's own package (`from mypkg import tf`) is also keyed on what that
package re-exports (`discovery.reexports`), which lives in another file: adding or removing
`import tensorflow as tf` in `mypkg/__init__.py` changes the file's findings, not its bytes.
The folder holds a `.gitignore` of `*`, as ruff's does, so it never shows up in `git status`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from tfgraphlint._types import ExternalCall, FileError, Finding, LintResult
from tfgraphlint.config import Config

if TYPE_CHECKING:  # importing discovery loads libcst: not needed to read a cache
    from tfgraphlint.discovery.model import CompiledContext

CACHE_DIR = ".tfgraphlint_cache"
# The layout of an entry; bump it when its shape or meaning changes, so that a cache written
# by an older build of the same version is not misread. 2: each finding's fix; 3: `calls`,
# and entries keyed by injected roots (follow-imports); 4: `reexports`.
CACHE_FORMAT = 4


def config_digest(config: Config, extra: str = "") -> str:
    """A digest of every setting that can change results (and the rule set's identity)."""
    from tfgraphlint import __version__
    from tfgraphlint.rules import ALL_RULES

    fields = {
        f.name: repr(getattr(config, f.name))
        for f in dataclasses.fields(config)
        if f.name not in ("root", "trace", "exclude", "extend_exclude")
    }
    payload = json.dumps(
        [__version__, CACHE_FORMAT, code_digest(), [r.CODE for r in ALL_RULES], fields, extra],
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@functools.cache
def code_digest() -> str:
    """A digest of the code that computes results: tfgraphlint's own files, the libCST
    version and the Python version. Once per process: hashing the package's files (under 1 MB)
    takes milliseconds."""
    package = Path(__file__).resolve().parent.parent
    versions = [sys.version, sys.implementation.cache_tag, _version_of("libcst")]
    return package_digest(package, versions)


def package_digest(package: Path, extra: list[str]) -> str:
    """SHA-256 of every file under `package` (path and bytes; caches excluded) and `extra`."""
    digest = hashlib.sha256(json.dumps(extra).encode())
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = Path(folder, name)
            with contextlib.suppress(OSError):
                data = path.read_bytes()
                digest.update(f"{path.relative_to(package).as_posix()}\0{len(data)}\0".encode())
                digest.update(data)
    return digest.hexdigest()


def _version_of(distribution: str) -> str:
    from importlib import metadata  # here: 10 to 25 ms to import, and only the cache needs it

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


def content_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ReexportKey(NamedTuple):
    """What a file's cache entry must match of the TensorFlow names its own package
    re-exports to it (`discovery.reexports`, read from other files): a digest of the map,
    and the import statements it was read from (None when one does not parse alone), which
    a warm run reads again instead of the file."""

    digest: str
    statements: tuple[str, ...] | None


def reexports_key(path: str, data: bytes) -> ReexportKey | None:
    """The file's `ReexportKey`; None when no line of it may import `tf` or `keras` from a
    package (a fact of its bytes: the entry then holds nothing to match, and a warm run
    computes nothing)."""
    from tfgraphlint.discovery.reexports import screened_reexports, screened_statements

    text = data.decode("utf-8", "replace")
    if path.endswith(".ipynb"):
        text = _notebook_code(text)
    statements = screened_statements(text)
    if not statements or not path or path.startswith("<"):
        return None
    found = _reexports_of(path, statements)
    if found is not None:
        return ReexportKey(_map_digest(found), tuple(statements))
    return ReexportKey(_map_digest(screened_reexports(path, text) or {}), None)


def _reexports_of(path: str, statements: Sequence[str]) -> dict[str, str] | None:
    from tfgraphlint.discovery.reexports import reexports_of_statements

    return reexports_of_statements(path, statements)


def _map_digest(found: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(found.items())).encode()).hexdigest()[:16]


def _notebook_code(text: str) -> str:
    """The code cells of a notebook's JSON, one after another (the raw text if it is not a
    notebook's JSON): only their import lines matter to `reexports_key`."""
    try:
        cells = json.loads(text).get("cells", [])
        sources = [c.get("source", "") for c in cells if c.get("cell_type") == "code"]
        return "\n".join("".join(s) if isinstance(s, list) else str(s) for s in sources)
    except (ValueError, AttributeError, TypeError):
        return text


def roots_digest(roots: Mapping[str, CompiledContext]) -> str:
    """A digest of the contexts injected into a file (follow-imports): part of its cache key."""
    payload = json.dumps(sorted((name, repr(ctx)) for name, ctx in roots.items()))
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _key(path: str, roots: str) -> str:
    return f"{path}#roots={roots}" if roots else path


class ResultCache:
    """Load once, look up per file, save once at the end of a run."""

    def __init__(self, root: Path, digest: str) -> None:
        from tfgraphlint import __version__

        self.folder = root / CACHE_DIR / __version__
        self.path = self.folder / f"{digest}.json"
        self.entries: dict[str, dict[str, Any]] = {}
        self.dirty = False
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self.entries = {k: v for k, v in loaded.items() if isinstance(v, dict)}

    def get(
        self,
        path: str,
        sha: str,
        roots: str = "",
        reexports: Callable[[], ReexportKey | None] | None = None,
    ) -> LintResult | None:
        """The stored result of `path` with these bytes (and this `roots_digest`, if any);
        None on a miss, which an entry of the wrong shape is too (it is dropped). An entry
        stored with a `reexports_key` also needs the re-export map now to match it: read
        from the import statements it stored, or else from `reexports()`."""
        key = _key(path, roots)
        entry = self.entries.get(key)
        if entry is None or entry.get("sha") != sha:
            return None
        stored = entry.get("reexports")
        if stored is not None and self._reexports_now(path, entry, reexports) != stored:
            return None
        try:
            return LintResult(
                path,
                findings=[Finding.from_json(f) for f in entry["findings"]],
                errors=[FileError.from_json(e) for e in entry["errors"]],
                calls=[ExternalCall.from_json(c) for c in entry.get("calls", ())],
            )
        except Exception:  # valid JSON, wrong shape: written by something else, or damaged
            del self.entries[key]
            self.dirty = True
            return None

    @staticmethod
    def _reexports_now(
        path: str,
        entry: Mapping[str, Any],
        reexports: Callable[[], ReexportKey | None] | None,
    ) -> str | None:
        statements = entry.get("imports")
        if isinstance(statements, list) and all(isinstance(s, str) for s in statements):
            found = _reexports_of(path, statements)
            if found is not None:  # the bytes are those of the entry: the same statements
                return _map_digest(found)
        now = reexports() if reexports is not None else None
        return now.digest if now is not None else None

    def put(
        self,
        path: str,
        sha: str,
        result: LintResult,
        roots: str = "",
        reexports: ReexportKey | None = None,
    ) -> None:
        """Store `result` for these bytes (`sha`), contexts (`roots`) and `reexports_key`."""
        if any(e.kind == "internal" for e in result.errors):
            return  # never cache a crash: the next run should try again
        entry: dict[str, Any] = {
            "sha": sha,
            "findings": [f.to_json() for f in result.findings],
            "errors": [e.to_json() for e in result.errors],
        }
        if reexports is not None:
            entry["reexports"] = reexports.digest
            if reexports.statements is not None:
                entry["imports"] = list(reexports.statements)
        if result.calls:
            entry["calls"] = [c.to_json() for c in result.calls]
        self.entries[_key(path, roots)] = entry
        self.dirty = True

    def retain_roots(self, paths: set[str], used: set[tuple[str, str]]) -> None:
        """Drop the entries of `paths` under injected roots that this run did not use (their
        callers changed), so that the cache does not grow with every edit."""
        keep = {_key(path, roots) for path, roots in used}
        stale = [
            key
            for key in self.entries
            if "#roots=" in key and key.split("#roots=")[0] in paths and key not in keep
        ]
        for key in stale:
            del self.entries[key]
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Automatically created by tfgraphlint.\n*\n")
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.entries, handle)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only checkout still gets its results, just not cached
