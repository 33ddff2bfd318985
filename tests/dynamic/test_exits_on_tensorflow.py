"""The exits and opt-outs that discovery and the rules honour (issue 10, section 3), checked
on real TensorFlow: each fact below is what makes a finding there false (or true).

One worker process imports TensorFlow once, runs every case from a file (AutoGraph reads
source) and prints one JSON object: case -> result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.dynamic

_WORKER = r"""
import contextlib, io, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

sys.setrecursionlimit(600)
out = {}


def outcome(fn, *args):
    try:
        fn(*args)
        return "ok"
    except Exception as exc:  # the error's class, and the root cause's last line
        text = [l.strip() for l in str(exc).splitlines() if l.strip()]
        return type(exc).__name__ + ": " + (text[-1] if text else "")


# `@tf.py_function(Tout=...)` as a decorator: the body runs eagerly on every call.
eager_calls = []

@tf.py_function(Tout=tf.float32)
def double(x):
    eager_calls.append(float(x.numpy()))
    return x * 2

@tf.function
def uses_double(x):
    return double(x)

uses_double(tf.constant(1.0))
uses_double(tf.constant(2.0))
out["py_function_decorator"] = eager_calls

# A decorator of one's own whose wrapper calls `tf.numpy_function`.
def eager(fn):
    def wrapper(x):
        return tf.numpy_function(fn, [x], tf.float32)
    return wrapper

seen = []

@eager
def augment(x):
    seen.append(type(x).__name__)
    return x

@tf.function
def uses_augment(x):
    return augment(x)

uses_augment(tf.constant(1.0))
uses_augment(tf.constant(2.0))
out["own_numpy_function_decorator"] = seen

# `Feature.BUILTIN_FUNCTIONS`: `print` runs on every call, in helpers too.
def helper(x):
    print("helper", x)
    return x

@tf.function(
    experimental_autograph_options=tf.autograph.experimental.Feature.BUILTIN_FUNCTIONS
)
def prints(x):
    print("root", x)
    return helper(x)

buffer = io.StringIO()
with contextlib.redirect_stdout(buffer):
    prints(tf.constant(1))
    prints(tf.constant(2))
out["builtin_functions_print"] = buffer.getvalue().split()


# `strategy.run(fn)`: fn is converted as its caller is (a tensor `if` in fn).
def replica_step(x):
    if x > 0:
        return x
    return -x

@tf.function
def run_converted(x):
    return tf.distribute.get_strategy().run(replica_step, args=(x,))

@tf.function(autograph=False)
def run_unconverted(x):
    return tf.distribute.get_strategy().run(replica_step, args=(x,))

out["strategy_run"] = outcome(run_converted, tf.constant(-3))
out["strategy_run_autograph_off"] = outcome(run_unconverted, tf.constant(-3))

# `tf.autograph.to_graph(f)` converts f even under `autograph=False`.
out["to_graph_autograph_off"] = outcome(
    tf.function(tf.autograph.to_graph(replica_step), autograph=False), tf.constant(-3)
)


# `model.compile(run_eagerly=True)`: `fit` runs `train_step` eagerly.
class Net(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = tf.keras.layers.Dense(1)
        self.eager = []

    def call(self, x):
        return self.dense(x)

    def train_step(self, data):
        self.eager.append(tf.executing_eagerly())
        return {"n": tf.constant(0.0)}

for run_eagerly in (True, False):
    net = Net()
    net.compile(optimizer="sgd", run_eagerly=run_eagerly)
    net.fit(tf.zeros([4, 2]), tf.zeros([4, 1]), batch_size=2, epochs=1, verbose=0)
    out[f"run_eagerly_{run_eagerly}"] = sorted(set(net.eager))


# Recursion through a `tf.cond` branch lambda and through an alias never ends tracing.
@tf.function
def fact_cond(n):
    return tf.cond(n <= 1, lambda: tf.constant(1), lambda: n * fact_cond(n - 1))

@tf.function
def fact_alias(n):
    f = fact_alias
    if n <= 1:
        return tf.constant(1)
    return n * f(n - 1)

out["recursion_cond_lambda"] = outcome(fact_cond, tf.constant(4))
out["recursion_alias"] = outcome(fact_alias, tf.constant(4))

print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    worker = tmp_path_factory.mktemp("exits") / "exits_worker.py"
    worker.write_text(_WORKER, encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, str(worker)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=Path(worker).parent,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return doc


def test_py_function_decorator_runs_eagerly_on_every_call(facts: dict[str, Any]) -> None:
    assert facts["py_function_decorator"] == [1.0, 2.0]


def test_own_numpy_function_decorator_runs_eagerly(facts: dict[str, Any]) -> None:
    # numpy values (here `numpy.float32` scalars), on every call
    assert facts["own_numpy_function_decorator"] == ["float32", "float32"]


def test_builtin_functions_feature_prints_on_every_call(facts: dict[str, Any]) -> None:
    assert facts["builtin_functions_print"] == [
        "root",
        "1",
        "helper",
        "1",
        "root",
        "2",
        "helper",
        "2",
    ]


def test_strategy_run_callback_is_converted_like_its_caller(facts: dict[str, Any]) -> None:
    assert facts["strategy_run"] == "ok"
    assert facts["strategy_run_autograph_off"].startswith("OperatorNotAllowedInGraphError")


def test_to_graph_converts_under_autograph_off(facts: dict[str, Any]) -> None:
    assert facts["to_graph_autograph_off"] == "ok"


def test_run_eagerly_model_steps_run_eagerly(facts: dict[str, Any]) -> None:
    assert facts["run_eagerly_True"] == [True]
    assert facts["run_eagerly_False"] == [False]


def test_recursion_through_cond_lambda_and_alias(facts: dict[str, Any]) -> None:
    assert "recursion" in facts["recursion_cond_lambda"].lower()
    assert "recursion" in facts["recursion_alias"].lower()
