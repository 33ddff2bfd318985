"""Property test: checking valid Python never crashes the engine or a rule.

hypothesmith generates syntactically valid source (from the grammar, and from libcst nodes).
The source is placed both at module level and inside a `@tf.function` body, so discovery, the
tensor inference and every rule run on it.
"""

from __future__ import annotations

import textwrap

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfgraphlint.config import Config
from tfgraphlint.engine.runner import lint_source

pytestmark = [
    pytest.mark.slow,
    # hypothesmith compiles what it generates; CPython warns about e.g. `1()`.
    pytest.mark.filterwarnings("ignore::SyntaxWarning"),
]

FUZZ = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
EVERY_RULE = Config(select=("ALL",))


def in_compiled_function(code: str) -> str:
    body = textwrap.indent(code, "    ", lambda line: True) if code.strip() else ""
    return f"import tensorflow as tf\n\n@tf.function\ndef compiled(x, y=1):\n{body}\n    return x\n"


def at_module_level(code: str) -> str:
    return (
        f"import tensorflow as tf\n{code}\n@tf.function\ndef compiled(x):\n    return helper(x)\n"
    )


def assert_no_crash(source: str) -> None:
    result = lint_source(source, "fuzzed.py", EVERY_RULE)  # must not raise
    internal = [e.message for e in result.errors if e.kind == "internal"]
    assert internal == [], source


@FUZZ
@given(hypothesmith.from_grammar())
def test_from_grammar(code: str) -> None:
    assert_no_crash(at_module_level(code))
    assert_no_crash(in_compiled_function(code))


@FUZZ
@given(hypothesmith.from_node(cst.Module))
def test_from_node(code: str) -> None:
    assert_no_crash(at_module_level(code))
    assert_no_crash(in_compiled_function(code))


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    assert_no_crash(b"import tensorflow as tf\n" + data)
