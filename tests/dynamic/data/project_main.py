"""The project's entry module: importing it imports project_cases, whose import traces
`warm_up`; `tfgraphlint trace` meets project_cases already imported."""

from __future__ import annotations

import project_cases  # noqa: F401
import tensorflow as tf

import tfgraphlint


@tfgraphlint.examples((tf.ones([3]),))
@tf.function
def evaluate(x):
    return tf.reduce_sum(x)
