"""Helpers for the dynamic tests that prove a rule's claims on its own examples: write the
examples to files, run a script with real TensorFlow in a fresh interpreter, read its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tfgraphlint.engine.examples import strip_markers
from tfgraphlint.engine.registry import find_rule

# The start of a worker script run in the folder `write_rule_examples` filled: TensorFlow
# imported once, and `load("invalid_0")` imports one example module from its file.
WORKER_PRELUDE = r"""
import importlib.util, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf

def load(name):
    spec = importlib.util.spec_from_file_location(name, name + ".py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
"""


def write_rule_examples(code: str, folder: Path) -> dict[str, str]:
    """Every example of rule `code`, markers stripped, as `invalid_0.py`, ..., `valid_0.py`,
    ... in `folder`: module name -> "invalid" or "valid"."""
    rule = find_rule(code)
    assert rule is not None, code
    kinds = {}
    for kind, examples in (("invalid", rule.INVALID), ("valid", rule.VALID)):
        for index, example in enumerate(examples):
            name = f"{kind}_{index}"
            (folder / f"{name}.py").write_text(strip_markers(example.source), encoding="utf-8")
            kinds[name] = kind
    return kinds


def run_tensorflow_script(script: str, *args: str, cwd: Path | None = None) -> Any:
    """Runs `script` (which imports TensorFlow) in a fresh interpreter and returns the JSON
    document its last line of output holds."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])
