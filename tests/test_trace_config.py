"""`trace` and `check` agree on what is compiled under the project's config: both go through
`engine.runner.analyse`, with the same `DiscoveryOptions` (no TensorFlow needed here)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tfgraphlint.config import load_config
from tfgraphlint.dynamic.cli import Plan, plan_file
from tfgraphlint.dynamic.targets import targets_of_file
from tfgraphlint.engine.runner import analyse

SOURCE = """
import mylib
import tensorflow as tf


@mylib.compiled
def step(x):
    print("tracing")
    return x + 1


@tf.function
def plain(x):
    return x * 2


def eager(x):
    return step(x)
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tfgraphlint]\nextra-function-decorators = ["mylib.compiled"]\n'
    )
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(SOURCE))
    return path


def test_trace_targets_follow_the_project_config_as_check_does(tmp_path: Path) -> None:
    path = _project(tmp_path)
    config = load_config(start=tmp_path)
    checked = analyse(path.read_bytes(), str(path), config)
    compiled = {c.qualname for c in checked.contexts}
    assert compiled == {"step", "plain"}
    assert [f.code for f in checked.result.findings] == ["TFG101"]  # `print` in `step`
    traced = {t.context.qualname for t in targets_of_file(path, config)}
    assert traced == compiled
    # What `tfgraphlint trace` plans for the file: the same functions, and check's finding.
    plan = plan_file(path, tmp_path, config)
    assert isinstance(plan, Plan)
    assert {t.context.qualname for t in plan.targets} == compiled
    assert [f.code for f in plan.findings] == ["TFG101"]


def test_trace_without_the_decorator_option_finds_only_tf_function(tmp_path: Path) -> None:
    path = _project(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.tfgraphlint]\n")
    config = load_config(start=tmp_path)
    assert [t.context.qualname for t in targets_of_file(path, config)] == ["plain"]
