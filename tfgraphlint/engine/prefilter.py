"""The first, cheapest screen: does a file name a package through which compiled code can be
reached? Kept free of libCST, of the rules and (at run time) of `tfgraphlint.config`, so that
the flake8 plugin can answer for a file with no TensorFlow in it without loading the engine or
building the config (an editor runs it on every save)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tfgraphlint.config import Config


def package_needles(extra_function_decorators: Iterable[str] = ()) -> tuple[str, ...]:
    """The names to look for: `tensorflow`, `keras` and the top-level package of each
    configured decorator (option `extra-function-decorators`)."""
    roots = {d.split(".")[0].strip("*") for d in extra_function_decorators}
    return ("tensorflow", "keras", *sorted(r for r in roots if r))


def names_a_package(text: str, needles: tuple[str, ...]) -> bool:
    """`text` contains one of `needles` (from `package_needles`)."""
    return any(needle in text for needle in needles)


def may_contain_compiled_code(text: str, config: Config) -> bool:
    """The file names `tensorflow`, `keras` or a configured decorator's package: without one
    of them it cannot reference `tf.function`, a `tf.data` dataset or a Keras model."""
    return names_a_package(text, package_needles(config.extra_function_decorators))
