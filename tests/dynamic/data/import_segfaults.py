from __future__ import annotations

import os
import signal

import tensorflow as tf

os.kill(os.getpid(), signal.SIGSEGV)


@tf.function
def never(x):
    return x
