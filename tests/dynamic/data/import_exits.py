from __future__ import annotations

import sys

import tensorflow as tf

sys.exit(3)


@tf.function
def never(x):
    return x
