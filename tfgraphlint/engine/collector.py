"""`batch_gc`: the garbage collector's settings while a process analyses files.

libCST's trees and the scope metadata make millions of small objects per large file, and
CPython collects the young ones every 700 allocations: each collection walks them again.
`check` (its serial run, and each worker for its whole life) and the flake8 plugin (around
its import of the engine and its analysis of one file) analyse under `batch_gc`, and `check`
collects after each file (`collect_after_file`).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# A young collection every 200,000 allocations instead of 700, the older generations after 30
# of those each (mypy's settings). The cycles a file leaves behind (scopes and their
# assignments, metadata maps) are still collected: one process over the whole corpus peaks at
# 138 MB (115 MB with CPython's settings), for about 1 % less CPU in `check` and 25 ms less
# in the flake8 plugin on the training file (`benchmarks/README.md`).
BATCH_THRESHOLDS = (200_000, 30, 30)


# `collect_after_file` collects when at least this many objects were made and kept since the
# last collection: a file that was screened out leaves none.
AFTER_FILE_MIN_YOUNG = 1_000


def collect_after_file() -> None:
    """Collect the cycles the file just analysed left behind, now.

    Most of what a file's analysis makes is freed by reference counting, but some of it is
    in cycles (libCST's scopes and accesses, the rules' state and the methods it holds, and
    with them the trees they refer to): under `BATCH_THRESHOLDS` alone a young collection
    found them a few hundred files later, when they no longer were in the CPU's caches, and
    each such collection took about 0.1 s for some 200,000 objects (cache misses, not work:
    10 % of a worker's time on the corpus). Collected here, just after the file, the same
    objects cost half as much, and the process holds fewer of them. The two young
    generations: an automatic collection during a large file moves that file's trees to the
    second, where they turn into garbage when the file is done. Nothing when the collector is
    disabled."""
    if gc.isenabled() and gc.get_count()[0] > AFTER_FILE_MIN_YOUNG:
        gc.collect(1)


def tune_for_batch() -> tuple[int, int, int]:
    """Move what is alive now (the imported modules, the rules) out of the collector's reach
    (`gc.freeze`) and make young collections rarer (`BATCH_THRESHOLDS`); return the
    thresholds it replaced. For a process that only analyses files: `check`'s workers."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*BATCH_THRESHOLDS)
    return thresholds


@contextlib.contextmanager
def batch_gc() -> Iterator[None]:
    """`tune_for_batch` for a block (`check`'s serial run, the flake8 plugin's analysis of a
    file); on exit the thresholds are as they were and the frozen objects are collectable
    again, so a program that calls the CLI's `main` keeps its own settings. Not reentrant:
    an inner block's exit unfreezes what the outer froze."""
    thresholds = tune_for_batch()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
