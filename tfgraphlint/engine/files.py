"""Which files a run checks: folders recursively, minus the default and configured excludes."""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Iterable, Iterator, Sequence
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


def is_virtualenv(folder: Path) -> bool:
    """A virtual environment under any name: venv and virtualenv both write `pyvenv.cfg`."""
    return (folder / "pyvenv.cfg").is_file()


def _skip_folder(folder: Path, patterns: Sequence[str], root: Path | None) -> bool:
    return _excluded(folder, patterns, root) or is_virtualenv(folder)


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
    patterns = (*config.exclude, *config.extend_exclude)
    for raw in paths:
        if not os.path.isdir(raw):
            if not _excluded(Path(raw), patterns, config.root):
                yield raw
            continue
        for folder, dirs, files in os.walk(raw):
            base = Path(folder)
            dirs[:] = sorted(d for d in dirs if not _skip_folder(base / d, patterns, config.root))
            for name in sorted(files):
                if name.endswith((".py", ".pyi")) and not _excluded(
                    base / name, patterns, config.root
                ):
                    yield os.path.join(folder, name)
