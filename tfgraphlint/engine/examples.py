"""Run a rule's embedded examples: the same cases the test suite and the docs use.

An invalid example marks each expected finding with `# error: CODE` (or the rule's name) on
the line where it starts; `# error: CODE col=8` also pins the 1-based column. Several markers
on one line are separated by commas: `# error: TFG101, TFG102`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tfgraphlint._types import Example, Finding
from tfgraphlint.config import Config
from tfgraphlint.engine.lines import split_lines
from tfgraphlint.engine.rule import Rule

_MARKER = re.compile(r"#\s*error:\s*(?P<items>[^#]+)")


@dataclass(frozen=True, slots=True)
class Expected:
    line: int
    code: str
    column: int | None = None


def parse_markers(source: str, rules: tuple[type[Rule], ...]) -> list[Expected]:
    by_key = {r.CODE: r.CODE for r in rules} | {r.NAME: r.CODE for r in rules}
    out: list[Expected] = []
    for lineno, line in enumerate(split_lines(source), start=1):
        m = _MARKER.search(line)
        if not m:
            continue
        for item in m.group("items").split(","):
            parts = item.split()
            if not parts:
                continue
            key = parts[0]
            code = by_key.get(key) or by_key.get(key.upper())
            if code is None:
                raise ValueError(f"line {lineno}: marker `{key}` names no known rule")
            col = None
            for extra in parts[1:]:
                if extra.startswith("col="):
                    col = int(extra[4:])
            out.append(Expected(lineno, code, col))
    return out


def strip_markers(source: str) -> str:
    """The example as the docs show it: markers removed."""
    lines = []
    for line in split_lines(source):
        m = _MARKER.search(line)
        lines.append(line[: m.start()].rstrip() if m else line)
    return "\n".join(lines) + "\n"


def example_config(example: Example) -> Config:
    return Config().with_overrides(**{k.replace("-", "_"): v for k, v in example.options.items()})


def run_example(rule: type[Rule], example: Example) -> list[Finding]:
    """Findings of `rule` alone on the example (noqa applies, as in the CLI)."""
    from tfgraphlint.engine.runner import lint_source

    result = lint_source(example.source, "example.py", example_config(example), rules=[rule])
    if result.errors:
        raise AssertionError(f"{rule.CODE} example raised errors: {result.errors}")
    return result.findings


def fix_example(rule: type[Rule], example: Example) -> tuple[str, list[Finding]]:
    """The example once every fix of `rule` is applied (unsafe ones too), and the findings
    left."""
    from tfgraphlint.engine.fixes import fix_text

    outcome = fix_text(
        example.source, "example.py", example_config(example), unsafe=True, rules=[rule]
    )
    if outcome.result.errors:
        raise AssertionError(f"{rule.CODE} example fix gave errors: {outcome.result.errors}")
    return outcome.text, outcome.result.findings


def iter_examples(
    rules: tuple[type[Rule], ...],
) -> Iterator[tuple[type[Rule], str, int, Example]]:
    for rule in rules:
        for i, ex in enumerate(rule.VALID):
            yield rule, "valid", i, ex
        for i, ex in enumerate(rule.INVALID):
            yield rule, "invalid", i, ex
