"""Trace inputs for tests/dynamic: AutoGraph conversion, trace errors, trace-time effects."""

from __future__ import annotations

import tensorflow as tf

import tfgraphlint

calls = []


def first_positive(values):
    for v in values:
        if v > 0:
            break
    else:
        v = -1
    return v


@tfgraphlint.examples((tf.constant([1.0, -2.0]),))
@tf.function
def uses_for_else(x):
    return first_positive([1, 2]) + tf.reduce_sum(x)


@tfgraphlint.examples((tf.constant([1.0, 2.0]),))
@tf.function
def mixed_control_flow(x):
    if tf.reduce_sum(x) > 0:
        x = x * 2
    for _ in range(2):
        x = x + 1
    for i in tf.range(3):
        x = x + tf.cast(i, tf.float32)
    return x


@tfgraphlint.examples((tf.constant([1.0, 2.0]),), (tf.constant([3.0, 4.0]),))
@tf.function
def noisy(x):
    print("tracing noisy")
    calls.append(1)
    return x + 1


@tfgraphlint.examples((tf.constant([1.0, 2.0]),))
@tf.function
def asserts_on_tensor(x):
    y = x * 2
    assert tf.reduce_sum(y) > 0
    return y


class Scaler:
    def __init__(self, factor):
        self.factor = factor

    @tf.function
    def scale(self, x):
        return x * self.factor


class Counter:
    def __init__(self):
        self.count = tf.Variable(0)

    @tfgraphlint.examples((tf.constant(1),), (tf.constant(2),))
    @tf.function
    def add(self, x):
        self.count.assign_add(x)
        return self.count


def make_scaler():
    return Scaler(3.0)


@tf.function
def no_inputs_given(x):
    return x
