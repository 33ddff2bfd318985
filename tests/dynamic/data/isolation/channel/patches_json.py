"""Monkeypatches `json`: its functions and its encoder's string escaping."""

from __future__ import annotations

import json
import json.encoder

import tensorflow as tf

json.dumps = lambda *args, **kwargs: "not json"
json.loads = lambda *args, **kwargs: {"event": "result"}
json.encoder.encode_basestring_ascii = lambda text: '"broken'
json.encoder.c_make_encoder = None


@tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
def traced_despite_json(x):
    return x * 2.0
