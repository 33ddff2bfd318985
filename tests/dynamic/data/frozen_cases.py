"""Trace inputs for tests/dynamic: values frozen while tracing (TFG103-TFG105), and look-alikes
whose output does not freeze."""

from __future__ import annotations

import random
import time

import tensorflow as tf

import tfgraphlint

learning_rate = 0.1


@tfgraphlint.examples((tf.ones([2]),))
@tf.function
def draws(x):
    return x + random.random()


@tfgraphlint.examples((tf.ones([2]),))
@tf.function
def stamps(x):
    return tf.cast(x, tf.float64) + time.time()


@tfgraphlint.examples((tf.ones([2]),))
@tf.function
def seeded(x):
    random.seed(0)
    return x + random.random()


@tfgraphlint.examples((tf.ones([2]),))
@tf.function
def unused_draw(x):
    _ = random.random()
    return x * 2


@tfgraphlint.examples((tf.ones([2]),))
@tf.function
def train_step(x):
    return x * learning_rate


def decay():
    global learning_rate
    learning_rate *= 0.5
