"""Example calls for `tfgraphlint trace` (named by trace_config.toml)."""

from __future__ import annotations

import tensorflow as tf

EXAMPLES = {
    "conversion_cases:no_inputs_given": [(tf.ones([2]),), {"x": tf.ones([2])}],
    "conversion_cases:Scaler.scale": [(tf.ones([2]),)],
}
