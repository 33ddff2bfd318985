"""Where one process spends its CPU on the corpus: each stage of `engine.runner.analyse`.

Usage::

    python benchmarks/stages.py [CORPUS]   # default: benchmarks/.corpus (run.py builds it)
    python benchmarks/stages.py --by-kind [CORPUS]

Runs `lint_source` on every `.py` file (all rules, as the `tfg-cold` row, one process, no
cache, the collector tuned and run after each file as in `check`'s workers) with
`time.process_time()` around each stage function of `engine.runner` and the slicer's
screen, and prints the total, the findings, and the seconds and calls of each stage.
The stages nest: `slice_module` includes `screened`, which includes the screen's `ast.parse`.

With `--by-kind`, it times `analyse` per file instead and adds the seconds up by what the
engine made of the file: dropped unread (it names no TF package), dropped by the screen
(its text, its `ast`) or the slicer, kept but nothing compiled found, only Keras `call`s
found by default, or other compiled code (with and without findings).
"""

from __future__ import annotations

import ast
import collections
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tfgraphlint.config import Config
from tfgraphlint.engine import runner, slicing
from tfgraphlint.engine.collector import collect_after_file, tune_for_batch

HERE = Path(__file__).resolve().parent
SECONDS: collections.Counter[str] = collections.Counter()
CALLS: collections.Counter[str] = collections.Counter()


def timed(owner: Any, name: str, label: str | None = None) -> None:
    """Replace `owner.name` with a wrapper adding its CPU time to `SECONDS[label]`."""
    inner: Callable[..., Any] = getattr(owner, name)
    key = label or name

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            SECONDS[key] += time.process_time() - start
            CALLS[key] += 1

    setattr(owner, name, wrapper)


def by_kind(files: list[Path]) -> None:
    """Seconds of `analyse` per kind of file (module docstring)."""
    sliced: list[object] = []
    inner = runner.slice_module

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = inner(*args, **kwargs)
        sliced.append(found)
        return found

    runner.slice_module = spy  # type: ignore[assignment]
    config = Config(select=("ALL",))
    tune_for_batch()  # as in `check`'s workers
    files_of: collections.Counter[str] = collections.Counter()
    found_in: collections.Counter[str] = collections.Counter()
    start = time.process_time()
    for path in files:
        sliced.clear()
        began = time.process_time()
        analysis = runner.analyse(path.read_bytes(), str(path), config)
        collect_after_file()  # counted with the file, as in `check`'s workers
        seconds = time.process_time() - began
        discovery = analysis.discovery
        if not sliced:
            kind = "dropped unread (names no TF package)"
        elif sliced[0] is None:
            kind = "dropped by the screen or the slicer"
        elif discovery is None:
            kind = "kept, not parsed or analysed (an error)"
        elif not discovery.contexts and not discovery.references_tf_function:
            kind = "kept, nothing compiled found"
        elif discovery.only_default_keras_calls:
            kind = "only Keras `call`s found by default"
        else:
            kind = "other compiled code"
        if analysis.result.findings:
            kind += ", with findings"
        SECONDS[kind] += seconds
        files_of[kind] += 1
        found_in[kind] += len(analysis.result.findings)
    print(f"{len(files)} files, {time.process_time() - start:.2f} s CPU")
    for key, seconds in SECONDS.most_common():
        print(f"{key:45s} {seconds:7.2f} s  {files_of[key]:5d} files  {found_in[key]:4d} findings")


def main() -> None:
    args = sys.argv[1:]
    kinds = "--by-kind" in args
    args = [a for a in args if a != "--by-kind"]
    root = Path(args[0]) if args else HERE / ".corpus"
    files = sorted(root.rglob("*.py"))
    if not files:
        sys.exit(f"no .py files under {root} (build the corpus: python benchmarks/corpus.py)")
    if kinds:
        by_kind(files)
        return
    for stage in (
        "_decode_stage",
        "slice_module",
        "_precheck_stage",
        "_parse_stage",
        "_discover_stage",
        "_rules_run_stage",
        "_post_process_stage",
    ):
        timed(runner, stage)
    timed(slicing, "screened")
    timed(ast, "parse", "ast.parse (screen; precheck without a tree)")
    config = Config(select=("ALL",))
    tune_for_batch()  # as in `check`'s workers
    start = time.process_time()
    findings = 0
    for path in files:
        findings += len(runner.lint_source(path.read_bytes(), str(path), config).findings)
        collected = time.process_time()
        collect_after_file()
        SECONDS["collect_after_file"] += time.process_time() - collected
        CALLS["collect_after_file"] += 1
    total = time.process_time() - start
    print(f"{len(files)} files, {findings} findings, {total:.2f} s CPU")
    for key, seconds in SECONDS.most_common():
        print(f"{key:34s} {seconds:7.2f} s  {CALLS[key]:6d} calls")


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
