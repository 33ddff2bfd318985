"""A training script as `tfgraphlint trace` meets it in real projects: a function traced while
the module imports, a `tf.Module` that creates its variable on the first call, functions with
no example inputs, a Keras model's step."""

from __future__ import annotations

import tensorflow as tf

import tfgraphlint

history = []


@tfgraphlint.examples((tf.ones([3]),))
@tf.function
def warm_up(x):
    print("tracing warm_up")
    history.append(x)
    return x * 2


warm_up(tf.ones([3]))  # traced while the module imports


class Dense(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = None

    @tfgraphlint.examples((tf.ones([2, 3]),), (tf.ones([4, 3]),))
    @tf.function
    def __call__(self, x):
        if self.w is None:
            self.w = tf.Variable(tf.ones([3, 2]))
        return x @ self.w


class Counting(tf.Module):
    def __init__(self):
        super().__init__()
        self.traced = 0

    @tfgraphlint.examples((tf.ones([2]),), (tf.zeros([2]),))
    @tf.function
    def __call__(self, x):
        self.traced += 1
        return x + 1


@tf.function
def train_step(features, labels):
    return tf.reduce_mean(features) - tf.reduce_mean(labels)


@tf.function
def eval_step(features):
    return tf.reduce_mean(features)


class Classifier(tf.keras.Model):
    def train_step(self, data):
        return {"loss": tf.constant(0.0)}
