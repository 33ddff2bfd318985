"""Whole-corpus check that the speed-ups lose no finding.

    python benchmarks/equivalence.py findings.json          # lint every corpus file, save
    python benchmarks/equivalence.py --compare a.json b.json  # per-file comparison

Every file is linted with every rule (`select = ["ALL"]`, conversion map included; `--ignore
TFG110,...` leaves some out, which changes what the slicer keeps) and `keras-call = true`
(`--keras-call default`: unset, Keras `call` checked for the breakage rules only, as by
default; `--keras-call off`: `false`), through `lint_source` in two processes. Run it on
two builds (e.g. before and after a change to `engine/slicing.py` or
`engine/prefilter.py`, from two git worktrees on `PYTHONPATH`), or with `--no-prefilter` for
the full libCST path on every file (about 5 minutes on two cores), and compare.
`tests/test_slicing.py` does the same on every 40th file in the default suite.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402

from tfgraphlint.config import Config  # noqa: E402
from tfgraphlint.engine.runner import lint_source  # noqa: E402

Row = tuple[str, list[tuple[int, int, str, str]], list[str]]


def _one(job: tuple[str, bool, bool | None, tuple[str, ...]]) -> Row:
    path, prefilter, keras_call, ignore = job
    config = Config(select=("ALL",), ignore=ignore, keras_call=keras_call)
    result = lint_source(Path(path).read_bytes(), path, config, prefilter=prefilter)
    findings = sorted((f.line, f.column, f.code, f.message) for f in result.findings)
    return path, findings, [e.message for e in result.errors]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", help="JSON file to write")
    parser.add_argument("--compare", nargs=2, metavar="JSON", help="compare two runs")
    parser.add_argument("--no-prefilter", action="store_true", help="parse every file fully")
    parser.add_argument(
        "--keras-call",
        choices=("on", "off", "default"),
        default="on",
        help="`keras-call = true` (on, the most findings), `false` (off), or unset (default)",
    )
    parser.add_argument(
        "--ignore",
        default="",
        help="rule codes to leave out, comma-separated (what the slicer keeps depends on them)",
    )
    parser.add_argument("--corpus", type=Path, default=Path(__file__).parent / ".corpus")
    args = parser.parse_args()
    if args.compare:
        a, b = (json.loads(Path(p).read_text()) for p in args.compare)
        differ = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
        total = sum(len(v[0]) for v in a.values())
        print(f"{len(a)} and {len(b)} files, {total} findings in the first; differ: {len(differ)}")
        for path in differ[:20]:
            print(" ", path)
        return 1 if differ else 0
    if not args.output:
        parser.error("give an output file, or --compare A B")
    root = corpus.build_corpus(args.corpus)
    keras_call = {"on": True, "off": False, "default": None}[args.keras_call]
    ignore = tuple(c for c in args.ignore.split(",") if c)
    jobs = [(str(p), not args.no_prefilter, keras_call, ignore) for p in corpus.iter_py_files(root)]
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(_one, jobs, chunksize=8))
    # Paths relative to the corpus, so that runs from two worktrees (two corpora) compare.
    by_path = {Path(p).relative_to(root).as_posix(): [f, e] for p, f, e in rows}
    Path(args.output).write_text(json.dumps(by_path))
    findings = sum(len(f) for _, f, _ in rows)
    errors = sum(len(e) for _, _, e in rows)
    print(f"{len(rows)} files, {findings} findings, {errors} errors -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
