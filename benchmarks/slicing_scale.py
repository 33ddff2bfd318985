"""Time the slicer on generated modules of growing size: it must scale linearly.

Usage::

    python benchmarks/slicing_scale.py [--sizes 5000,10000,20000,40000]

Each module holds N small top-level functions and one ``@tf.function`` that calls the first
(the shape of issue 12, item 10: 40,000 small definitions took 149 s when the slicer compared
every definition with every other). Prints, per size, the seconds of ``slice_module`` (best of
``--rounds``) and the seconds per 1,000 definitions, which stays flat when the work is linear.
Part of the time is ``ast.parse``, which is linear too.
"""

from __future__ import annotations

import argparse
import time

from tfgraphlint.config import Config
from tfgraphlint.engine.slicing import slice_module


def module(n: int) -> str:
    parts = ["import tensorflow as tf\n\n"]
    parts += [f"def f{i}(x):\n    return x + {i}\n\n" for i in range(n)]
    parts.append("@tf.function\ndef step(x):\n    print(x)\n    return f0(x)\n")
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,10000,20000,40000")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = Config()
    print("| definitions | seconds | seconds per 1,000 |")
    print("| ---: | ---: | ---: |")
    for n in (int(s) for s in args.sizes.split(",")):
        text = module(n)
        best = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            slice_module(text, config)
            best = min(best, time.perf_counter() - start)
        print(f"| {n:,} | {best:.2f} | {best / n * 1000:.3f} |")


if __name__ == "__main__":
    main()
