from __future__ import annotations

import tensorflow as tf

raise ValueError("cannot find the dataset")


@tf.function
def never(x):
    return x
