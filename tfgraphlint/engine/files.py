"""Which files a run checks: folders recursively, minus the default and configured excludes."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tfgraphlint.config import Config


class _Excludes:
    """Exclude patterns, each matched (as `fnmatch`) against a path's name and against its
    path relative to the config root; a pattern with a `/` also excludes everything under it.
    Compiled into one regex per kind, since a walk asks for every file and folder."""

    def __init__(self, patterns: Iterable[str], root: Path | None) -> None:
        cleaned = [p.rstrip("/") for p in patterns]
        self.glob = re.compile("|".join(fnmatch.translate(p) for p in cleaned)) if cleaned else None
        self.prefixes = tuple(p for p in cleaned if "/" in p)
        self.root = root

    def relative(self, path: Path) -> str:
        if self.root is not None:
            # RuntimeError: a symlink loop (Python < 3.13); reading the file reports it.
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                return path.resolve().relative_to(self.root).as_posix()
        return path.as_posix()

    def match(self, name: str, rel: str) -> bool:
        if self.glob is not None and (self.glob.match(name) or self.glob.match(rel)):
            return True
        return any(rel == p or rel.startswith(p + "/") for p in self.prefixes)

    def excluded(self, path: Path) -> bool:
        return self.match(path.name, self.relative(path))


# What a folder walk checks, as ruff's default `include`; `extend-include` adds to it.
DEFAULT_INCLUDE: tuple[str, ...] = ("*.py", "*.pyi", "*.ipynb")


def is_virtualenv(folder: Path) -> bool:
    """A virtual environment under any name: venv and virtualenv both write `pyvenv.cfg`.
    False for a folder that cannot be searched: the walk then reports it as unreadable."""
    try:
        return (folder / "pyvenv.cfg").is_file()
    except OSError:
        return False


# `on_error(path, message)`: a path that is not checked, and why (an unreadable folder, a FIFO).
OnError = Callable[[str, str], None]


def _not_a_file(path: str) -> str | None:
    """Why `path` is not read although it exists (a FIFO would block the run forever), or None.
    A path that cannot be stat'ed is left for the reader to report."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"not a regular file ({kind}), skipped"


def iter_python_files(
    paths: Iterable[str], config: Config, on_error: OnError | None = None
) -> Iterator[Path]:
    """`iter_python_paths` as `Path` objects."""
    return (Path(p) for p in iter_python_paths(paths, config, on_error))


def iter_python_paths(
    paths: Iterable[str], config: Config, on_error: OnError | None = None
) -> Iterator[str]:
    """Files to check, sorted within each folder, spelled as given (`./src/a.py` stays so).

    Folders are walked recursively, skipping excluded folders and virtual environments. A
    file named explicitly is checked whatever its extension, as in flake8, unless its own
    name or path matches an exclude pattern; a folder named explicitly is walked even if it
    would be skipped inside a walk.

    A folder that cannot be listed and a path that is not a regular file (a FIFO, a socket,
    a device) are passed to `on_error` and skipped; the walk goes on. A file named twice
    (`a.py ./a.py`, or a file inside a folder also named) is checked once, under its first
    spelling.
    """
    seen: set[str] = set()

    def first(path: str) -> bool:
        key = os.path.normpath(os.path.abspath(path))
        if key in seen:
            return False
        seen.add(key)
        return True

    excludes = _Excludes((*config.exclude, *config.extend_exclude), config.root)
    extra = _Excludes(config.extend_include, config.root)  # the same matching, to include

    def walk_error(exc: OSError) -> None:
        if on_error is not None:
            on_error(str(exc.filename), f"cannot read folder: {exc.strerror}")

    def regular(path: str) -> bool:
        why = _not_a_file(path)
        if why is not None and on_error is not None:
            on_error(path, why)
        return why is None

    for raw in paths:
        if not raw:
            if on_error is not None:
                on_error(raw, "empty path argument, skipped")
            continue
        if not os.path.isdir(raw):
            if not excludes.excluded(Path(raw)) and regular(raw) and first(raw):
                yield raw
            continue
        for folder, dirs, files in os.walk(raw, onerror=walk_error):
            base = Path(folder)
            rel_base = excludes.relative(base)  # one resolve per folder, not per file
            kept = []
            for d in sorted(dirs):
                rel = f"{rel_base}/{d}" if rel_base not in ("", ".") else d
                if not excludes.match(d, rel) and not is_virtualenv(base / d):
                    kept.append(d)
            dirs[:] = kept
            for name in sorted(files):
                rel = f"{rel_base}/{name}" if rel_base not in ("", ".") else name
                if not name.endswith((".py", ".pyi", ".ipynb")) and not extra.match(name, rel):
                    continue
                path = os.path.join(folder, name)
                if not excludes.match(name, rel) and regular(path) and first(path):
                    yield path
