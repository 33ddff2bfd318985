"""The pytest plugin in a real pytest subprocess: a failing traced function's traceback ends
in the user's code, and Keras `fit`/`evaluate` functions are named after the model."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.dynamic

TESTS = """
import numpy as np
import keras
import tensorflow as tf


@tf.function(autograph=False)
def reshape_plain(x):
    return tf.reshape(x, [7])


@tf.function
def reshape_converted(x):
    return tf.reshape(x, [7])


class TinyRegressor(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x)

    def test_step(self, data):
        return super().test_step(data)


def test_plain():
    reshape_plain(tf.ones([2]))


def test_converted():
    reshape_converted(tf.ones([2]))


def test_fit():
    model = TinyRegressor()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=1, batch_size=4, verbose=0)
    model.evaluate(np.ones((8, 3)), np.ones((8, 1)), verbose=0)
"""


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "test_user.py").write_text(textwrap.dedent(TESTS))
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p"]
        + ["tfgraphlint.pytest_plugin", "--tfgraphlint-traces", "--tb=short", "-q"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "2 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    return proc.stdout


def failure(output: str, test: str) -> str:
    """The short traceback of one failed test."""
    start = output.index(f"_ {test} _")
    end = min(output.find("\n___", start + 1) % len(output), output.index("\n====", start))
    return output[start:end]


# The package's own files (a frame of the trace hook), not any path that spells the name (a
# checkout or a venv named after the project).
_OWN_FRAME = re.compile(r"tfgraphlint[/\\](?:dynamic|pytest_plugin|testing)")


def line_of(text: str) -> int:
    return 1 + [s.strip() for s in TESTS.splitlines()].index(text)  # as written


def test_traceback_ends_in_the_users_function(session: str) -> None:
    plain = failure(session, "test_plain")
    assert not _OWN_FRAME.search(plain)  # the trace hook's frame is hidden
    locations = re.findall(r"^(\S+):(\d+): in (\w+)$", plain, re.M)
    assert locations[-1] == (
        "test_user.py",
        str(line_of("return tf.reshape(x, [7])")),
        "reshape_plain",
    )
    # AutoGraph runs its converted copy of the function, and names the user's line.
    converted = failure(session, "test_converted")
    assert not _OWN_FRAME.search(converted)
    assert re.findall(r"^(\S+):\d+: in (\w+)$", converted, re.M)[-1][1] == "tf__reshape_converted"


def test_keras_functions_named_after_the_model(session: str) -> None:
    report = session[session.index("tfgraphlint: tf.function traces") :]
    # The function Keras traces: Keras 3 `one_step_on_data` for both, Keras 2 (TensorFlow
    # 2.15) `train_function` and `test_function`.
    keras2 = importlib.metadata.version("keras").startswith("2.")
    fit, evaluate = ("train_function", "test_function") if keras2 else ("one_step_on_data",) * 2
    # Located at the model's class, or at the step when the model overrides it.
    model = f"(test_user.py:{line_of('class TinyRegressor(keras.Model):')})"
    assert f"  TinyRegressor.train_step [Keras fit: {fit}] {model}: 1 trace" in report
    step = f"(test_user.py:{line_of('def test_step(self, data):')})"
    assert f"  TinyRegressor.test_step [Keras evaluate: {evaluate}] {step}: 1 trace" in report
    assert "TensorFlowTrainer" not in report
