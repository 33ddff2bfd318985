from __future__ import annotations

import time

import tensorflow as tf

while True:
    time.sleep(0.1)


@tf.function
def never(x):
    return x
