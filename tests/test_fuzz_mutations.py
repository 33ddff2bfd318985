"""Mutation fuzzing: real-shaped files, damaged the ways editors and hostile input damage them,
never crash the engine or a rule.

The seeds are the bundled `fixtures/`, the unusual-syntax samples of `tests/data/`, and every
rule's VALID and INVALID examples: TensorFlow code that reaches discovery, tensor inference and
every rule. Each mutation deletes, repeats, swaps, re-indents or cuts lines, or inserts a token
that has broken the engine before (a form feed, U+2028, a CR, module-level `nonlocal`, a stray
decorator, deep nesting). The result must be either analysed or reported as a syntax error:
never an internal error. Both paths run, with and without the prefilter and slicer.

`test_mutated_corpus_files` does the same on a sample of the mature-library corpus (built from
PyPI by `benchmarks/corpus.py`, as the slicing tests do), in the opt-in corpus tier (`--corpus`).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfgraphlint.config import Config
from tfgraphlint.engine.lines import split_lines
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.rules import ALL_RULES

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::SyntaxWarning")]

ROOT = Path(__file__).resolve().parent.parent
EVERY_RULE = Config(select=("ALL",), keras_call=True)
INSERTS = (
    "\x0c",
    "\u2028",
    "\r",
    "\t",
    "nonlocal x\n",
    "@tf.function\n",
    "    yield x\n",
    "return\n",
    "if x > 0:\n",
    "else:\n",
    "for i in tf.range(3):\n",
    "print(x)\n",
    "((((((((((",
    "-" * 200 + "x\n",
    "lambda: ",
    "# noqa: TFG1\n",
    "# fmt: off\n",
    "\\\n",
    '"""',
    "async def f():\n    await x\n",
)


def _seeds() -> list[str]:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "fixtures").rglob("*.py"))]
    seeds += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "data").glob("*.py"))]
    for rule in ALL_RULES:
        seeds += [example.source for example in (*rule.VALID, *rule.INVALID)]
    return seeds


SEEDS = _seeds()


def mutate(source: str, rng: random.Random, steps: int) -> str:
    lines = split_lines(source, keepends=True) or ["\n"]
    for _ in range(steps):
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        kind = rng.randrange(7)
        if kind == 0 and len(lines) > 1:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[j])
        elif kind == 2:
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 3:
            lines[i] = "    " + lines[i]
        elif kind == 4:
            lines[i] = lines[i].lstrip(" ")
        elif kind == 5:
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(INSERTS) + lines[i][at:]
        else:
            text = "".join(lines)
            lines = split_lines(text[: rng.randrange(len(text) + 1)], keepends=True) or ["\n"]
    return "".join(lines)


def assert_no_crash(source: str) -> None:
    for prefilter in (True, False):
        result = lint_source(source, "mutated.py", EVERY_RULE, prefilter=prefilter)
        internal = [e.message for e in result.errors if e.kind == "internal"]
        assert internal == [], (prefilter, source)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    rng_seed=st.integers(0, 2**32 - 1),
    steps=st.integers(1, 6),
)
def test_mutated_real_shaped_files(seed: int, rng_seed: int, steps: int) -> None:
    assert_no_crash(mutate(SEEDS[seed], random.Random(rng_seed), steps))


def test_mutate_changes_the_source() -> None:
    """The mutator is not a no-op: most mutations of a fixture change it."""
    rng = random.Random(0)
    changed = sum(mutate(SEEDS[0], rng, 3) != SEEDS[0] for _ in range(50))
    assert changed >= 40


@pytest.mark.corpus
def test_mutated_corpus_files() -> None:
    from test_slicing import _corpus  # the same corpus build (PyPI), or a skip

    files = sorted(_corpus().rglob("*.py"))[::97]
    rng = random.Random(12)
    checked = 0
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if "tensorflow" not in source and "keras" not in source:
            continue
        for _ in range(3):
            assert_no_crash(mutate(source, rng, rng.randint(1, 4)))
        checked += 1
    assert checked >= 10
