"""Which files a run checks: folders recursively, minus the default and configured excludes."""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
from collections.abc import Iterable, Iterator
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
            with contextlib.suppress(ValueError, OSError):
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
    """A virtual environment under any name: venv and virtualenv both write `pyvenv.cfg`."""
    return (folder / "pyvenv.cfg").is_file()


def iter_python_files(paths: Iterable[str], config: Config) -> Iterator[Path]:
    """`iter_python_paths` as `Path` objects."""
    return (Path(p) for p in iter_python_paths(paths, config))


def iter_python_paths(paths: Iterable[str], config: Config) -> Iterator[str]:
    """Files to check, sorted within each folder, spelled as given (`./src/a.py` stays so).

    Folders are walked recursively, skipping excluded folders and virtual environments. A
    file named explicitly is checked whatever its extension, as in flake8, unless its own
    name or path matches an exclude pattern; a folder named explicitly is walked even if it
    would be skipped inside a walk.
    """
    excludes = _Excludes((*config.exclude, *config.extend_exclude), config.root)
    extra = _Excludes(config.extend_include, config.root)  # the same matching, to include
    for raw in paths:
        if not os.path.isdir(raw):
            if not excludes.excluded(Path(raw)):
                yield raw
            continue
        for folder, dirs, files in os.walk(raw):
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
                if not excludes.match(name, rel):
                    yield os.path.join(folder, name)
