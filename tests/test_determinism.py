"""Findings do not depend on Python's string hashing (`PYTHONHASHSEED`): a name bound to two
things has two qualified names, held in a set whose order changes from one process to the
next; every answer built from them must not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# `tf` is bound to NumPy, then to TensorFlow: `tf.one_hot` and `tf.reduce_sum` each have a
# NumPy and a TensorFlow qualified name (a real notebook did this).
_SOURCE = """
    import numpy as tf
    import tensorflow as tf

    class BagOfWords(tf.keras.layers.Layer):
        def call(self, inputs):
            one_hot = tf.one_hot(inputs, 4)
            return tf.reduce_sum(one_hot, axis=1)

    @tf.function
    def count(x):
        total = tf.reduce_sum(tf.one_hot(x, 3))
        return tf.cast(total, tf.int32)
"""


def test_findings_are_the_same_under_every_hash_seed(tmp_path: Path) -> None:
    (tmp_path / "bag.py").write_text(textwrap.dedent(_SOURCE), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tfgraphlint]\nselect = ["ALL"]\nkeras-call = true\n', encoding="utf-8"
    )
    outputs = set()
    for seed in range(8):
        proc = subprocess.run(
            [sys.executable, "-m", "tfgraphlint", "check", "--no-cache", "--exit-zero", "bag.py"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1, outputs


def test_a_name_bound_to_numpy_and_to_tensorflow_is_no_numpy_call() -> None:
    from tfgraphlint.config import Config
    from tfgraphlint.engine.runner import lint_source

    result = lint_source(
        textwrap.dedent(_SOURCE), "bag.py", Config(select=("ALL",), keras_call=True)
    )
    assert [f.code for f in result.findings if f.code == "TFG402"] == []
