"""Run one command once and report its wall time and peak memory as one JSON line.

Usage::

    python benchmarks/measure.py [--timeout SECONDS] -- COMMAND [ARG...]

``benchmarks/run.py`` starts this script in a fresh interpreter for every single
measurement. The command's stdout goes to /dev/null; the last lines of its stderr
are reported. Output keys: ``wall_s``, ``cpu_s``, ``max_proc_mb``, ``tree_mb``,
``returncode``, ``timed_out``, ``stderr_tail``. A command still running after ``--timeout`` seconds
is killed with its whole process group.

``cpu_s`` is user + system CPU time of the command's whole (waited-for) process
tree, from the same ``RUSAGE_CHILDREN``: unlike wall time it barely moves when
other programs compete for the cores.

Memory, and why it is measured this way:

* ``max_proc_mb`` is exact. ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the largest
  peak RSS of any single descendant that has been waited for (the kernel folds a
  reaped child's own children into it), *not* a sum and *not* reset between
  children. Because this wrapper is a fresh process that waits for exactly one
  command, its RUSAGE_CHILDREN covers that one command's process tree and nothing
  else, so no delta arithmetic is needed (start it directly, not through a shim
  such as pyenv's, whose helper processes would already count). For a
  multi-process tool (flake8 -j, a multiprocessing pool) this is the biggest single
  process, which understates what the tree holds at once. Its floor is this
  wrapper's own RSS (~15 MB): the kernel keeps a process's high-water mark across
  exec, and a forked child starts out mapping the wrapper's pages.
* ``tree_mb`` covers that case: a background thread samples, every
  ``SAMPLE_INTERVAL_S``, the RSS of the command and all its live descendants
  (found through ``/proc/*/stat`` parent ids) and keeps the largest sum. It is an
  upper bound in one way (pages shared between forked workers are counted once
  per process) and a lower bound in another (a spike shorter than the sampling
  interval can be missed). It is 0 where ``/proc`` is unavailable.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SAMPLE_INTERVAL_S = 0.2
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
        fields = stat[stat.rfind(")") + 2 :].split()
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


def wait_or_kill(proc: subprocess.Popen[bytes], timeout: float | None) -> bool:
    """Wait for ``proc``; on timeout kill its process group. Return True if it timed out.

    A blocking ``wait()`` with a timer that kills, rather than ``wait(timeout)``: the latter
    polls with sleeps growing to 50 ms, so every wall time came out rounded up to the next
    poll (the flake8 latency medians moved in 50 ms steps)."""
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill) if timeout is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
    return fired.is_set()


def measure(argv: list[str], timeout: float | None) -> dict[str, object]:
    """Run ``argv`` once; return wall time, memory peaks, exit status, stderr tail."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timed_out = wait_or_kill(proc, timeout)
        wall = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace").splitlines()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime,
        "max_proc_mb": usage.ru_maxrss * 1024 / MB,  # ru_maxrss is in KiB on Linux
        "tree_mb": sampler.peak_bytes / MB,
        "returncode": proc.returncode,
        "timed_out": timed_out,
        "stderr_tail": "\n".join(stderr[-STDERR_TAIL_LINES:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure one run of a command.")
    parser.add_argument(
        "--timeout", type=float, default=None, help="kill the command after this many seconds"
    )
    parser.add_argument("command", nargs="+", help="the command, after --")
    args = parser.parse_args(argv)
    try:
        result = measure(args.command, args.timeout)
    except OSError as exc:
        print(f"measure: cannot run {args.command[0]!r}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
