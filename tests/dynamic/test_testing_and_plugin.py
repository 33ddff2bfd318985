"""`tfgraphlint.testing.assert_max_traces` (in process) and the pytest plugin (in a pytest
subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tfgraphlint.testing import assert_max_traces

pytestmark = pytest.mark.dynamic

tf = pytest.importorskip("tensorflow")


def test_assert_max_traces_passes_and_counts() -> None:
    @tf.function
    def double(x):
        return x * 2

    with assert_max_traces(double, 1) as log:
        double(tf.constant([1.0]))
        double(tf.constant([2.0]))
    assert log.count == 1


def test_assert_max_traces_fails_with_the_reasons() -> None:
    @tf.function
    def step(x, lr):
        return x * lr

    with pytest.raises(AssertionError) as info, assert_max_traces(step, 1):
        for lr in (0.1, 0.2):
            step(tf.constant(1.0), lr)
    assert "traced 2 times (at most 1 allowed)" in str(info.value)
    assert "trace 2: lr: Python float 0.1 → 0.2" in str(info.value)


def test_assert_max_traces_ignores_the_variable_creation_pass() -> None:
    class Model(tf.Module):
        def __init__(self) -> None:
            self.w = None

        @tf.function
        def __call__(self, x):
            if self.w is None:
                self.w = tf.Variable(tf.ones([3]))
            return self.w * x

    model = Model()
    with assert_max_traces(Model.__call__, 1) as log:
        model(tf.ones([3]))
        model(tf.zeros([3]))
    assert log.count == 1
    assert len(log.reasons) == 2  # TensorFlow built two graphs for the first call


def test_recreated_tf_function_is_caught() -> None:
    def body(x):
        return x + 1

    with pytest.raises(AssertionError, match="traced 3 times"), assert_max_traces(body, 1):
        for _ in range(3):
            tf.function(body)(tf.constant(1.0))


TESTS = """
import tensorflow as tf

@tf.function
def step(x, lr):
    return x * lr

@tf.function
def stable(x):
    return x + 1

def test_python_float_learning_rate():
    for lr in (0.1, 0.2, 0.3):
        step(tf.ones([2]), lr)

def test_stable():
    for n in (1.0, 2.0):
        stable(tf.ones([2]) * n)
"""


def _pytest(
    tmp_path: Path, *options: str, tests: str = TESTS, autoload: bool = False
) -> subprocess.CompletedProcess[str]:
    """pytest on `tests`; without autoload, only our plugin is loaded (by `-p`)."""
    (tmp_path / "test_steps.py").write_text(textwrap.dedent(tests))
    env = dict(os.environ)
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        options = ("-p", "tfgraphlint.pytest_plugin", *options)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_plugin_fails_the_session_and_reports(tmp_path: Path) -> None:
    record = tmp_path / "calls.json"
    proc = _pytest(
        tmp_path,
        "--tfgraphlint-max-traces",
        "2",
        "--tfgraphlint-record",
        str(record),
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "2 passed" in out
    assert "tfgraphlint: tf.function traces" in out
    assert "step (test_steps.py:5): 3 traces" in out
    assert "retrace 2: lr: Python float 0.1 → 0.2" in out
    assert "retrace 3: lr: Python float 0.2 → 0.3" in out
    assert "stable (test_steps.py:9): 1 trace," in out
    assert "FAILED: 1 tf.function object traced more than 2 times" in out
    assert '"test_steps:step"' in record.read_text()


def test_plugin_is_inert_without_options(tmp_path: Path) -> None:
    no_tensorflow = "import sys\n\ndef test_x():\n    assert 'tensorflow' not in sys.modules\n"
    proc = _pytest(tmp_path, tests=no_tensorflow, autoload=True)  # through its entry point
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tfgraphlint" not in proc.stdout


def test_nothing_imports_tensorflow_until_asked() -> None:
    code = (
        "import sys, tfgraphlint.pytest_plugin, tfgraphlint.testing, tfgraphlint.dynamic.cli, "
        "tfgraphlint.dynamic.join, tfgraphlint.dynamic.supervisor, tfgraphlint.dynamic.targets\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
