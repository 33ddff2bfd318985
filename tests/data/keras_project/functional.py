"""A functional model: Keras calls the layer on a symbolic `Input` (Keras 3 fails)."""

import keras

from layers import Gate

x = keras.Input((3,))
model = keras.Model(x, Gate()(x))
