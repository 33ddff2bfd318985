"""Imported as `main`, with `helpers` from its own folder."""

from __future__ import annotations

import tensorflow as tf
from helpers import scale


@tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
def run_a(x):
    return scale(x)
