"""Where one process spends its CPU on the corpus: each stage of `engine.runner.analyse`.

Usage::

    python benchmarks/stages.py [CORPUS]   # default: benchmarks/.corpus (run.py builds it)

Runs `lint_source` on every `.py` file (all rules, as the `tfg-cold` row, one process, no
cache) with `time.process_time()` around each stage function of `engine.runner` and the
slicer's screen, and prints the total, the findings, and the seconds and calls of each stage.
The stages nest: `slice_module` includes `screened`, which includes the screen's `ast.parse`.
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


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / ".corpus"
    files = sorted(root.rglob("*.py"))
    if not files:
        sys.exit(f"no .py files under {root} (build the corpus: python benchmarks/corpus.py)")
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
    start = time.process_time()
    findings = sum(len(runner.lint_source(p.read_bytes(), str(p), config).findings) for p in files)
    total = time.process_time() - start
    print(f"{len(files)} files, {findings} findings, {total:.2f} s CPU")
    for key, seconds in SECONDS.most_common():
        print(f"{key:34s} {seconds:7.2f} s  {CALLS[key]:6d} calls")


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main()
