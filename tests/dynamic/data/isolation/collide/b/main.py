"""Also `main`, with its own `helpers`: tracing `a`'s `scale` here raises a TypeError."""

from __future__ import annotations

import tensorflow as tf
from helpers import scale


@tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
def run_b(x):
    return scale(x, 3.0)
