"""Parse every ``.py`` file of a corpus and do nothing else: the floor under any linter.

Usage::

    python benchmarks/parse_floor.py {ast,libcst} [--jobs N] CORPUS

``ast`` uses ``ast.parse`` (CPython's own parser, what pyflakes/flake8 start from);
``libcst`` uses ``libcst.parse_module`` (what tfgraphlint starts from). With
``--jobs 1`` files are parsed one after another in this process; with more, by a
``multiprocessing.Pool`` of that many processes. Files that fail to parse are
counted and named on stderr; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import ast
import multiprocessing
import sys
from collections.abc import Callable
from pathlib import Path

import libcst
from corpus import iter_py_files

CHUNKSIZE = 8


def parse_ast(path: Path) -> str | None:
    """Parse ``path`` with ``ast``; return an error message or None."""
    try:
        ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError) as exc:
        return f"{path}: {type(exc).__name__}: {exc}"
    return None


def parse_libcst(path: Path) -> str | None:
    """Parse ``path`` with libCST; return an error message or None."""
    try:
        libcst.parse_module(path.read_bytes())
    except libcst.ParserSyntaxError as exc:
        return f"{path}: ParserSyntaxError: {exc.message}"
    return None


PARSERS: dict[str, Callable[[Path], str | None]] = {
    "ast": parse_ast,
    "libcst": parse_libcst,
}


def parse_all(parse: Callable[[Path], str | None], files: list[Path], jobs: int) -> list[str]:
    """Parse ``files`` with ``jobs`` processes; return the error messages."""
    if jobs == 1:
        results = [parse(path) for path in files]
    else:
        with multiprocessing.Pool(jobs) as pool:
            results = pool.map(parse, files, chunksize=CHUNKSIZE)
    return [error for error in results if error is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Parse-only floor for a corpus.")
    parser.add_argument("parser", choices=sorted(PARSERS))
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--jobs", type=int, default=1, help="processes (default: 1)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    files = list(iter_py_files(args.corpus))
    if not files:
        print(f"parse_floor: no .py files under {args.corpus}", file=sys.stderr)
        return 1
    errors = parse_all(PARSERS[args.parser], files, args.jobs)
    for error in errors:
        print(error, file=sys.stderr)
    print(f"{args.parser}: parsed {len(files) - len(errors)}/{len(files)} files")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
