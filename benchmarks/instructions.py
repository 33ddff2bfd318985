"""Count the instructions one process spends checking the corpus, for one or two checkouts.

Usage::

    python benchmarks/instructions.py [--quarters 0,1,2,3] CHECKOUT [CHECKOUT]
    python benchmarks/instructions.py --lint STEP OFFSET CORPUS   # the child, under cachegrind

Wall and CPU time move by 15 % on a shared machine from one minute to the next, more than
most single changes; an instruction count does not. For each quarter of the corpus (every
fourth file, from `OFFSET`), a child process lints those files with `lint_source` (all
rules, no cache, the collector tuned and libCST's nodes hashed as in `check`'s workers) under
`valgrind --tool=cachegrind`, with `PYTHONHASHSEED=0` and the checkout first on
`PYTHONPATH`; the two checkouts of a quarter run side by side, one per core. Each child runs
twice and the second count is kept: the first writes the checkout's byte-code, which costs
instructions (a fresh copy's first quarter counted 1 % more). The same code twice gives the
same count to about 0.03 %.

What it cannot see: time lost to cache misses (the garbage collector's, for one: see
`README.md`, session 28), and what `check`'s parent and pool do. Needs `valgrind` and the
corpus (`python benchmarks/corpus.py`).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def lint(step: int, offset: int, corpus: Path) -> None:
    """The child: lint every `step`-th file from `offset`, print the findings' count."""
    from tfgraphlint.config import Config
    from tfgraphlint.engine.collector import tune_for_batch
    from tfgraphlint.engine.runner import lint_source

    config = Config(select=("ALL",))
    files = sorted(corpus.rglob("*.py"))[offset::step]
    data = [(str(p), p.read_bytes()) for p in files]
    tune_for_batch()
    try:  # libCST's nodes hashed in C, as in `check`'s workers (not in older checkouts)
        from tfgraphlint.discovery.parsing import hash_nodes_in_c
    except ImportError:
        pass
    else:
        hash_nodes_in_c()
    found = sum(len(lint_source(source, path, config).findings) for path, source in data)
    print(f"findings={found} files={len(data)}")


def count(checkout: Path, quarter: int, corpus: Path) -> tuple[int, str]:
    """Instructions of one child (its second run) and what it printed."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(checkout)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    argv = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--lint",
        "4",
        str(quarter),
        str(corpus),
    ]
    out = ""
    for _ in range(2):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, cwd="/")
        out = done.stdout.strip()
        refs = _REFS.search(done.stderr)
        if refs is None:
            sys.exit(f"no instruction count from valgrind:\n{done.stderr[-2000:]}")
    return int(refs.group(1).replace(",", "")), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lint", nargs=3, metavar=("STEP", "OFFSET", "CORPUS"))
    parser.add_argument("--quarters", default="0,1,2,3")
    parser.add_argument("--corpus", type=Path, default=HERE / ".corpus")
    parser.add_argument("checkouts", nargs="*", type=Path)
    args = parser.parse_args()
    if args.lint:
        step, offset, corpus = args.lint
        lint(int(step), int(offset), Path(corpus))
        return
    if not 1 <= len(args.checkouts) <= 2:
        parser.error("name one or two checkouts (folders holding `tfgraphlint/`)")
    quarters = [int(q) for q in args.quarters.split(",")]
    totals = [0] * len(args.checkouts)
    with ThreadPoolExecutor(len(args.checkouts)) as pool:
        for quarter in quarters:
            jobs = [
                pool.submit(count, c.resolve(), quarter, args.corpus.resolve())
                for c in args.checkouts
            ]
            results = [job.result() for job in jobs]
            cells = []
            for i, (refs, out) in enumerate(results):
                totals[i] += refs
                cells.append(f"{refs / 1e9:.2f} G ({out})")
            line = f"quarter {quarter}: " + "  |  ".join(cells)
            if len(results) == 2:
                line += f"  {100 * (results[1][0] / results[0][0] - 1):+.2f} %"
            print(line, flush=True)
    summary = "total: " + "  |  ".join(f"{t / 1e9:.2f} G" for t in totals)
    if len(totals) == 2:
        summary += f"  {100 * (totals[1] / totals[0] - 1):+.2f} %"
    print(summary)


if __name__ == "__main__":
    main()
