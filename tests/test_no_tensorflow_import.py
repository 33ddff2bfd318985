"""The static path never imports TensorFlow: `import tfgraphlint`, `tfgraphlint check` and the
flake8 plugin run in a subprocess that reports whether `tensorflow` got into `sys.modules`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SOURCE = """\
import tensorflow as tf
import keras
from tensorflow.keras import layers

@tf.function
def step(x):
    print(x)
    return layers.Dense(1)(x)
"""


def run_python(code: str, cwd: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_import_and_lint_source(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(SOURCE, encoding="utf-8")
    verdict = run_python(
        """
        import sys
        import tfgraphlint
        assert "libcst" not in sys.modules  # the engine loads on first use
        result = tfgraphlint.lint_source(open("train.py").read(), "train.py")
        assert result.findings, result
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
        """,
        tmp_path,
    )
    assert verdict == "[]"


def test_import_is_lazy_and_every_public_name_loads(tmp_path: Path) -> None:
    verdict = run_python(
        """
        import sys
        import tfgraphlint
        loaded = ("tfgraphlint._types", "tfgraphlint.config", "tfgraphlint.engine.runner")
        assert not [m for m in loaded if m in sys.modules]  # they load on first use
        from tfgraphlint import Config, Finding, LintResult, lint_source, load_config
        from tfgraphlint._types import Finding as DefinedFinding
        from tfgraphlint.config import Config as DefinedConfig
        assert (Config, Finding) == (DefinedConfig, DefinedFinding)
        namespace = {}
        exec("from tfgraphlint import *", namespace)
        assert all(namespace[name] is getattr(tfgraphlint, name) for name in tfgraphlint.__all__)
        assert set(tfgraphlint.__all__) <= set(dir(tfgraphlint))
        try:
            tfgraphlint.no_such_name
        except AttributeError:
            pass
        else:
            raise AssertionError("no AttributeError")
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
        """,
        tmp_path,
    )
    assert verdict == "[]"


def test_check_command(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(SOURCE, encoding="utf-8")
    verdict = run_python(
        """
        import sys
        from tfgraphlint.frontends.cli import main
        for fmt in ("text", "json", "github", "sarif"):
            assert main(["check", "--isolated", "-q", "--format", fmt, "train.py"]) == 1
        assert main(["rules"]) == 0 and main(["explain", "TFG101"]) == 0
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
        """,
        tmp_path,
    )
    assert verdict == "[]"


def test_flake8_plugin(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(SOURCE, encoding="utf-8")
    verdict = run_python(
        """
        import sys
        from flake8.main.cli import main
        try:
            main(["--isolated", "--select", "TFG", "--jobs", "1", "train.py"])
        except SystemExit as exc:
            assert exc.code == 1, exc.code
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
        """,
        tmp_path,
    )
    assert verdict == "[]"
