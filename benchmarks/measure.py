"""Run one command once and report its wall time and peak memory as one JSON line.

Usage::

    python benchmarks/measure.py -- COMMAND [ARG...]

``benchmarks/run.py`` starts this script in a fresh interpreter for every single
measurement. The command's stdout goes to /dev/null; the last lines of its stderr
are reported. Output keys: ``wall_s``, ``max_proc_mb``, ``tree_mb``, ``returncode``,
``stderr_tail``.

Memory, and why it is measured this way:

* ``max_proc_mb`` is exact. ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the largest
  peak RSS of any single descendant that has been waited for (the kernel folds a
  reaped child's own children into it), *not* a sum and *not* reset between
  children. Because this wrapper is a fresh process that waits for exactly one
  command, its RUSAGE_CHILDREN covers that one command's process tree and nothing
  else, so no delta arithmetic is needed. For a multi-process tool (flake8 -j,
  a multiprocessing pool) this is the biggest single process, which understates
  what the tree holds at once.
* ``tree_mb`` covers that case: a background thread samples, every
  ``SAMPLE_INTERVAL_S``, the RSS of the command and all its live descendants
  (found through ``/proc/*/stat`` parent ids) and keeps the largest sum. It is an
  upper bound in one way (pages shared between forked workers are counted once
  per process) and a lower bound in another (a spike shorter than the sampling
  interval can be missed). It is 0 where ``/proc`` is unavailable.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SAMPLE_INTERVAL_S = 0.05
STDERR_TAIL_LINES = 5
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def parent_map() -> dict[int, int]:
    """Map every live pid to its parent pid, read from ``/proc/PID/stat``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may contain spaces; fields after it are safe.
        fields = stat[stat.rfind(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    """``root`` and every pid below it in ``parents``."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (0 if it has already gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


class TreeSampler(threading.Thread):
    """Sample the summed RSS of a process tree until ``stop`` is set."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_bytes = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                tree = descendants(self.root, parent_map())
            except OSError:
                return
            self.peak_bytes = max(self.peak_bytes, sum(rss_bytes(pid) for pid in tree))
            self.stop.wait(SAMPLE_INTERVAL_S)


def measure(argv: list[str]) -> dict[str, object]:
    """Run ``argv`` once; return wall time, memory peaks, return code, stderr tail."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        returncode = proc.wait()
        wall = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace").splitlines()
    # ru_maxrss is in KiB on Linux.
    max_rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "wall_s": wall,
        "max_proc_mb": max_rss_kib * 1024 / MB,
        "tree_mb": sampler.peak_bytes / MB,
        "returncode": returncode,
        "stderr_tail": "\n".join(stderr[-STDERR_TAIL_LINES:]),
    }


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "--":
        print("usage: measure.py -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    try:
        result = measure(argv[1:])
    except OSError as exc:
        print(f"measure: cannot run {argv[1]!r}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
