"""Forks, and the child goes on running the import (and would run the worker's loop)."""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf


@tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
def traced_once(x):
    return x - 1.0


if os.fork() == 0:
    Path(__file__).with_suffix(".child").write_text(str(os.getpid()))
