"""`TFGRAPHLINT_STOCK_LIBCST=1` (`discovery.stock`) turns off every private libCST fast path,
and the findings stay the same: the rule examples, the samples of unusual syntax and the
fixtures are linted in two fresh interpreters, one with the switch set in its environment (read
at import, as a user sets it) and one without, and the findings must be identical. A profile
hook shows that the stock interpreter never calls a private libCST function from tfgraphlint's
code, and that the fast one does (the probe works)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json, os, sys, textwrap

import libcst

import tfgraphlint
from tfgraphlint.config import Config
from tfgraphlint.discovery import stock
from tfgraphlint.engine.runner import lint_source
from hypothesis.configuration import set_hypothesis_home_dir

# `samples` imports hypothesmith: its caches go where the test session's go, not to ./.hypothesis
set_hypothesis_home_dir(os.environ["TFGRAPHLINT_TEST_HYPOTHESIS_HOME"])
from samples import FIXTURES, UNUSUAL, rule_examples

LIBCST = os.path.dirname(libcst.__file__)
OURS = os.path.dirname(tfgraphlint.__file__)
private = set()


def probe(frame, event, arg):
    # A call into a libCST function named `_x` (not a dunder), made from tfgraphlint's code.
    if event != "call":
        return
    name = frame.f_code.co_name
    if not name.startswith("_") or name.startswith("__"):
        return
    if not frame.f_code.co_filename.startswith(LIBCST):
        return
    caller = frame.f_back
    if caller is not None and caller.f_code.co_filename.startswith(OURS):
        private.add(name)


def lint(source):
    result = lint_source(source, "sample.py", Config(select=("ALL",)))
    return [
        [[f.line, f.column, f.code, f.message] for f in result.findings],
        [[e.message, e.kind] for e in result.errors],
    ]


fixtures = [p.read_text(encoding="utf-8") for p in FIXTURES]
sys.setprofile(probe)
on_fixtures = [lint(text) for text in fixtures]
sys.setprofile(None)
results = on_fixtures + [lint(UNUSUAL)] + [lint(code) for code in rule_examples()]
print(json.dumps({"stock": stock.STOCK_LIBCST, "private": sorted(private), "results": results}))
"""


def _start(stock: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "TFGRAPHLINT_STOCK_LIBCST"}
    if stock:
        env["TFGRAPHLINT_STOCK_LIBCST"] = stock
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=tempfile.gettempdir(),  # nothing of the checkout's is read by relative path
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    found: dict[str, Any] = json.loads(out)
    return found


def test_stock_libcst_gives_the_same_findings_with_public_api_only() -> None:
    fast_proc, stock_proc = _start(""), _start("1")
    fast, stock = _finish(fast_proc), _finish(stock_proc)
    assert (fast["stock"], stock["stock"]) == (False, True)
    assert stock["private"] == [], "stock mode called private libCST functions"
    # The probe sees the fast paths: recording field orders, generating code per statement.
    assert {"_visit_and_replace_children", "_codegen"} <= set(fast["private"])
    assert any(findings for findings, _ in fast["results"]), "the samples should hold findings"
    assert stock["results"] == fast["results"]
