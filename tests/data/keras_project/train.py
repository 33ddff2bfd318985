"""A script that only calls the layer and the metric eagerly: both work."""

import tensorflow as tf

from layers import Gate, Recent

gate = Gate()
print(gate(tf.ones(3)).numpy())
print(len(gate.trainable_variables))
recent = Recent()
recent.update_state(tf.constant(2.0))
print(float(recent.result()))
