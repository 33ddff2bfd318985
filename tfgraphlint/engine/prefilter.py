"""The first, cheapest screen: does a file name a package through which compiled code can be
reached? Kept free of libCST and of the rules, so that the flake8 plugin can answer for a file
with no TensorFlow in it without loading the engine (an editor runs it on every save)."""

from __future__ import annotations

from tfgraphlint.config import Config


def _needles(config: Config) -> tuple[str, ...]:
    roots = {d.split(".")[0].strip("*") for d in config.extra_function_decorators}
    return ("tensorflow", "keras", *sorted(r for r in roots if r))


def may_contain_compiled_code(text: str, config: Config) -> bool:
    """The file names `tensorflow`, `keras` or a configured decorator's package: without one
    of them it cannot reference `tf.function`, a `tf.data` dataset or a Keras model."""
    return any(needle in text for needle in _needles(config))
