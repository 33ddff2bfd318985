"""Forges a frame of the worker's protocol (token and all) around bytes that are not JSON,
as only code that reads the worker's own arguments can: the parent must call that this
module's failure, not lose the run."""

from __future__ import annotations

import os
import sys

import tensorflow as tf

_reply = int(sys.argv[sys.argv.index("--out") + 1])
_token = sys.argv[sys.argv.index("--token") + 1].encode()
os.write(_reply, b"\n\x00tfgraphlint:" + _token + b":6\n{oops}")


@tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
def never_reached(x):
    return x
