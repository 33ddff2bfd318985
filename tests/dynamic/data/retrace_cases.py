"""Trace inputs for tests/dynamic: each function retraces for one kind of reason."""

from __future__ import annotations

import tensorflow as tf

import tfgraphlint


class Config:
    def __init__(self, scale):
        self.scale = scale


@tfgraphlint.examples((tf.ones([2]), 3), (tf.ones([2]), 4))
@tf.function
def scaled(x, step):
    return x * step


@tfgraphlint.examples((tf.ones([2, 3]),), (tf.ones([4, 3]),))
@tf.function
def by_shape(x):
    return tf.reduce_sum(x)


@tfgraphlint.examples((tf.ones([2], tf.float32),), (tf.ones([2], tf.float64),))
@tf.function
def by_dtype(x):
    return x + 1


@tfgraphlint.examples((tf.ones([2]), Config(2.0)), (tf.ones([2]), Config(2.0)))
@tf.function
def by_object(x, config):
    return x * config.scale


@tfgraphlint.examples((tf.ones([2]),), (tf.zeros([2]),))
@tf.function
def stable(x):
    return x * 2


@tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
def signed(x):
    return tf.reduce_mean(x, axis=0)


@tf.function
def no_examples(x):
    return x


class NeedsArguments:
    def __init__(self, units):
        self.units = units

    @tf.function
    def call(self, x):
        return x * self.units
