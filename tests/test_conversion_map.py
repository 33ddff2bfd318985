"""The AutoGraph conversion map: `tfgraphlint check --show-conversions --format json`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tfgraphlint.frontends.cli import main

SOURCE = """
import tensorflow as tf


@tf.function
def train(x, n):
    for step in range(n):
        if tf.reduce_sum(x) > 0:
            x = x - 1
    for k in range(3):
        x = x * 2
    return x


@tf.function(input_signature=[tf.TensorSpec([None, 4])])
def reduce_rows(batch):
    total = tf.constant(0.0)
    for row in batch:
        total += tf.reduce_sum(row)
    count = tf.shape(batch)[0]
    for i in range(count):
        total += 1.0
    while total > 100.0:
        total = total / 2
    if batch.shape[0] is None:
        total = total * 2
    return total if tf.reduce_sum(total) > 0 else -total


@tf.function
def over_dataset(x):
    ds = tf.data.Dataset.from_tensor_slices(x).batch(2)
    s = tf.constant(0.0)
    for b in ds:
        s += tf.reduce_sum(b)
    return s


@tf.function(autograph=False)
def manual(x, flag):
    if flag:
        x = x + 1
    if tf.reduce_max(x) > 1.0:
        x = x / 2
    return x


@tf.function
def refused(x):
    for i in range(2):
        x = x + 1
    else:
        x = x * 2
    return x


def eager(x):
    if tf.reduce_sum(x) > 0:
        return x
    return -x
"""


def _map(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[int, Any]:
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(SOURCE), encoding="utf-8")
    code = main(
        ["check", str(path), "--isolated", "--no-cache", "--format", "json", "--exit-zero"]
        + list(extra)
    )
    assert code == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    return {f["line"]: f for f in findings if f["code"] == "TFG590"}


@pytest.fixture
def conversions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[int, Any]:
    return _map(tmp_path, capsys, "--show-conversions")


def _line(text: str) -> int:
    lines = textwrap.dedent(SOURCE).splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.strip().startswith(text))


def test_off_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _map(tmp_path, capsys) == {}


def test_every_compiled_if_for_while_has_one_entry(conversions: dict[int, Any]) -> None:
    compiled_lines = [
        _line(s)
        for s in (
            "for step in range(n)",
            "if tf.reduce_sum(x) > 0",
            "for k in range(3)",
            "for row in batch",
            "for i in range(count)",
            "while total > 100.0",
            "if batch.shape[0] is None",
            "return total if",
            "for b in ds",
            "if flag",
            "if tf.reduce_max(x) > 1.0",
            "for i in range(2)",
        )
    ]
    assert sorted(conversions) == sorted(compiled_lines)
    assert all(f["severity"] == "info" for f in conversions.values())
    assert all(f["name"] == "autograph-conversion" for f in conversions.values())


@pytest.mark.parametrize(
    ("statement", "phrases"),
    [
        (
            "if tf.reduce_sum(x) > 0",
            ["becomes a `tf.cond`", "`tf.reduce_sum(x)` is a TensorFlow op"],
        ),
        ("for k in range(3)", ["unrolled while tracing", "traced 3 times", "Python ints"]),
        (
            "for step in range(n)",
            ["`tf.while_loop` if `n` is a tensor", "unrolled while tracing", "Python int"],
        ),
        ("for row in batch", ["`tf.while_loop` over the first dimension", "`input_signature`"]),
        ("for i in range(count)", ["`range` into `tf.range`", "`count` comes from"]),
        ("while total > 100.0", ["becomes a `tf.while_loop`"]),
        ("if batch.shape[0] is None", ["runs in Python while tracing", "taken branch"]),
        ("return total if", ["a `tf.cond` (both values are traced)"]),
        ("for b in ds", ["dataset loop", "`tf.data.Dataset`"]),
        ("if flag", ["`autograph=False`", "would raise `OperatorNotAllowedInGraphError`"]),
        ("if tf.reduce_max(x) > 1.0", ["`autograph=False`", "so tracing raises"]),
        ("for i in range(2)", ["AutoGraph refuses to convert it", "`for`/`else`"]),
    ],
)
def test_entry_explains_the_decision(
    conversions: dict[int, Any], statement: str, phrases: list[str]
) -> None:
    message = conversions[_line(statement)]["message"]
    for phrase in phrases:
        assert phrase in message, message
    assert "tf.function `" in message  # names where the statement is


def test_select_alone_also_shows_the_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(_map(tmp_path, capsys, "--select", "TFG590")) == 12
