"""Which files a run checks: folders recursively, minus the default and configured excludes."""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from tfgraphlint.config import Config


def _excluded(path: Path, patterns: Iterable[str], root: Path | None) -> bool:
    name = path.name
    rel = path.as_posix()
    if root is not None:
        with contextlib.suppress(ValueError, OSError):
            rel = path.resolve().relative_to(root).as_posix()
    for pat in patterns:
        pat = pat.rstrip("/")
        if fnmatch.fnmatchcase(name, pat) or fnmatch.fnmatchcase(rel, pat):
            return True
        if "/" in pat and (rel == pat or rel.startswith(pat + "/")):
            return True
    return False


def iter_python_files(paths: Iterable[str], config: Config) -> Iterator[Path]:
    """Files to check, sorted within each folder. A path named explicitly is always checked,
    as in flake8 and ruff, unless it matches an exclude pattern itself."""
    patterns = (*config.exclude, *config.extend_exclude)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                base = Path(folder)
                dirs[:] = sorted(d for d in dirs if not _excluded(base / d, patterns, config.root))
                for f in sorted(files):
                    candidate = base / f
                    if f.endswith((".py", ".pyi")) and not _excluded(
                        candidate, patterns, config.root
                    ):
                        yield candidate
        else:
            yield path
