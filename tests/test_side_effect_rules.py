"""TFG1xx side-effect rules: message wording and cases the embedded examples do not show."""

from __future__ import annotations

import textwrap

import pytest

from tfgraphlint._types import Finding
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.rules.python_clock_in_tf_function import PythonClockInTfFunction
from tfgraphlint.rules.python_global_frozen import PythonGlobalFrozen
from tfgraphlint.rules.python_random_in_tf_function import PythonRandomInTfFunction
from tfgraphlint.rules.python_side_effect import PythonSideEffect

RULES = [PythonSideEffect, PythonRandomInTfFunction, PythonClockInTfFunction, PythonGlobalFrozen]


def findings(code: str) -> list[Finding]:
    return lint_source(textwrap.dedent(code), "example.py", rules=RULES).findings


def test_storing_a_tensor_says_it_leaks() -> None:
    (f,) = findings(
        """
        import tensorflow as tf

        class Step(tf.Module):
            @tf.function
            def __call__(self, x):
                self.last = tf.reduce_sum(x)
                return x
        """
    )
    assert (f.line, f.code) == (7, "TFG102")
    assert "`self.last`" in f.message and "cannot be used outside that trace" in f.message


def test_storing_a_variable_is_not_called_a_leak() -> None:
    (f,) = findings(
        """
        import tensorflow as tf

        class Step(tf.Module):
            @tf.function
            def __call__(self, x):
                v = tf.Variable(1.0)
                self.v = v
                return x * self.v
        """
    )
    assert f.code == "TFG102" and "not on every call" in f.message


@pytest.mark.parametrize(
    "code",
    [
        # A sonnet-style once-only initialiser.
        """
        import sonnet as snt
        import tensorflow as tf

        class Linear(snt.Module):
            @snt.once
            def _initialize(self, x):
                self.w = tf.Variable(tf.ones([x.shape[-1], 2]))

            @tf.function
            def __call__(self, x):
                self._initialize(x)
                return x @ self.w
        """,
        # A guard on an item of the outer container.
        """
        import tensorflow as tf

        def run():
            made = [None]

            @tf.function
            def f(x):
                if made[0] is None:
                    made[0] = tf.Variable(x)
                return made[0] * x

            return f(tf.constant(1.0))
        """,
        # A local `random` shadows the module: not the stdlib.
        """
        import tensorflow as tf

        class Jitter:
            def uniform(self, a, b):
                return a

        random = Jitter()

        @tf.function
        def f(x):
            return x * random.uniform(0.9, 1.1)
        """,
        # A module-level value set before the first call, at start-up.
        """
        import tensorflow as tf

        scale = 1.0

        @tf.function
        def f(x):
            return x * scale

        if __name__ == "__main__":
            scale = 2.0
            f(tf.constant(1.0))
        """,
    ],
)
def test_no_finding(code: str) -> None:
    assert findings(code) == []


def test_global_frozen_reports_each_function_once_with_the_rebinding_line() -> None:
    found = findings(
        """
        import tensorflow as tf

        threshold = 0.5

        @tf.function
        def f(x):
            return tf.where(x > threshold, x, threshold)

        @tf.function
        def g(x):
            return x * threshold

        for t in (0.1, 0.2):
            f(tf.constant([1.0]))
            threshold = t
        """
    )
    assert [(f.line, f.code) for f in found] == [(8, "TFG105"), (12, "TFG105")]
    assert all("reassigned at line 16" in f.message for f in found)


def test_seed_and_sleep_messages() -> None:
    found = findings(
        """
        import random
        import time

        import tensorflow as tf

        @tf.function
        def f(x):
            random.seed(1)
            time.sleep(1)
            return x
        """
    )
    assert [(f.line, f.code) for f in found] == [(9, "TFG103"), (10, "TFG104")]
    assert "sets the state of Python's global generator" in found[0].message
    assert "sleeps once, while tracing" in found[1].message
