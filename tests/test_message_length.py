"""Messages stay short: one sentence that says what is wrong, where, and in which compiled
context; the long explanation is the rule's page (`tfgraphlint explain CODE`).

Every message produced over all rule examples (each rule alone, and every rule together with
the example's options) and over `fixtures/` (every rule, `--follow-imports`) is bounded. The
whole message includes what the user wrote (quoted code, shortened to 60 characters by
`Rule.code`) and the compiled-context phrase of `CompiledContext.describe()`, which can be
long for a helper in another module; the *wording*, with every quoted span collapsed to `x`
and the context phrase removed, is what the rules control.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tfgraphlint.engine.examples import example_config, iter_examples, run_example
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.frontends.cli import main
from tfgraphlint.rules import ALL_RULES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MAX_MESSAGE = 280  # measured max 277: TFG510/TFG590 quote code and a long reason
MAX_WORDING = 185  # measured max 181 (the same); most rules stay under 140
_QUOTED = re.compile(r"`[^`]*`")
# The phrases `CompiledContext.describe()` adds after the function's name (quotes collapsed).
_CONTEXT = re.compile(
    r" \((?:called from|nested in|a `x` callback|a `x` function inside|traced by|"
    r"Keras `x`, traced)[^()]*\)"
)


def wording(message: str) -> str:
    """The message without what the user wrote: quoted spans are `x`, the context phrase
    goes."""
    return _CONTEXT.sub("", _QUOTED.sub("`x`", message))


def _example_messages() -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for rule, _kind, _index, example in iter_examples(ALL_RULES):
        out.update((f.code, f.message) for f in run_example(rule, example))
        config = example_config(example)
        result = lint_source(example.source, "example.py", config, rules=ALL_RULES)
        out.update((f.code, f.message) for f in result.findings)
    return out


@pytest.fixture(scope="module")
def messages() -> set[tuple[str, str]]:
    return _example_messages()


def test_wording_helper() -> None:
    message = "`x.numpy()` in `helper` (called from tf.function `step`, line 8) fails while tracing"
    assert wording(message) == "`x` in `x` fails while tracing"


def test_every_rule_produces_messages(messages: set[tuple[str, str]]) -> None:
    assert {code for code, _ in messages} == {r.CODE for r in ALL_RULES}


def test_example_messages_are_short(messages: set[tuple[str, str]]) -> None:
    too_long = sorted((len(m), c, m) for c, m in messages if len(m) > MAX_MESSAGE)
    assert not too_long
    wordy = sorted((len(wording(m)), c, m) for c, m in messages if len(wording(m)) > MAX_WORDING)
    assert not wordy


def test_fixture_messages_are_short(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", "--isolated", "--no-cache", "--select", "ALL", "--follow-imports"]
    assert main([*argv, "--format", "json", "--exit-zero", str(FIXTURES)]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert len(findings) > 50  # the fixtures are full of hazards: the bound is exercised
    assert not [f for f in findings if len(f["message"]) > MAX_MESSAGE]
    assert not [f for f in findings if len(wording(f["message"])) > MAX_WORDING]
