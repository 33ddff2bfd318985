"""The flake8 plugin, through the real flake8 in a subprocess: same findings as the CLI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tfgraphlint import __version__
from tfgraphlint.engine import runner
from tfgraphlint.frontends.flake8_plugin import OFF_BY_DEFAULT, Flake8Plugin
from tfgraphlint.rules import ALL_RULES

TRAINING = """\
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
optimizer = tf.keras.optimizers.SGD()


@tf.function
def train_step(x, y):
    print("tracing train_step")
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    print("loss", loss)  # noqa: TFG101
    return loss


def evaluate(x):
    print("eager code is fine", x)


@tf.function(jit_compile=True)
def predict(x):
    print(
        "multi-line call", x
    )
    return model(x)
"""


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False)


def flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "flake8", *args], cwd)


def tfgraphlint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "tfgraphlint", "check", *args], cwd)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(TRAINING, encoding="utf-8")
    return tmp_path


def test_same_findings_as_the_cli(project: Path) -> None:
    under_flake8 = flake8(project, "--select", "TFG", "train.py")
    standalone = tfgraphlint(project, "--quiet", "train.py")
    assert under_flake8.returncode == standalone.returncode == 1, under_flake8.stderr
    assert under_flake8.stdout.splitlines() == standalone.stdout.splitlines()
    tfg101 = [line for line in standalone.stdout.splitlines() if " TFG101 " in line]
    assert [line.split(":")[1] for line in tfg101] == ["9", "24"]


def test_flake8_noqa_and_disable_noqa(project: Path) -> None:
    both = flake8(project, "--select", "TFG101", "--disable-noqa", "train.py")
    assert [line.split(":")[1] for line in both.stdout.splitlines()] == ["9", "14", "24"]
    standalone = tfgraphlint(project, "--select", "TFG101", "--disable-noqa", "-q", "train.py")
    assert both.stdout == standalone.stdout


def test_flake8_selection_applies(project: Path) -> None:
    assert flake8(project, "--select", "TFG", "--ignore", "TFG1", "train.py").stdout == ""
    assert flake8(project, "--select", "TFG", "--extend-ignore", "TFG101", "train.py").stdout == ""
    assert flake8(project, "--select", "E9", "train.py").stdout == ""


def test_version_lists_the_plugin(tmp_path: Path) -> None:
    proc = flake8(tmp_path, "--version")
    assert f"tfgraphlint: {__version__}" in " ".join(proc.stdout.split())


def test_options_from_flake8_config(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(
        textwrap.dedent(
            """\
            import tensorflow as tf
            from mylib import compiled

            @compiled
            def step(x):
                print(x)
                return x
            """
        ),
        encoding="utf-8",
    )
    assert flake8(tmp_path, "--select", "TFG", "steps.py").stdout == ""
    for name in ("setup.cfg", ".flake8", "tox.ini"):
        config = tmp_path / name
        config.write_text(
            "[flake8]\nselect = TFG\ntfg-extra-function-decorators = mylib.compiled\n",
            encoding="utf-8",
        )
        proc = flake8(tmp_path, "steps.py")
        assert proc.stdout.startswith("steps.py:6:5: TFG101 "), (name, proc.stdout, proc.stderr)
        config.unlink()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "tfg-large-loop-threshold = many",
            "`tfg-large-loop-threshold` must be a positive integer",
        ),
        ("tfg-large-loop-threshold = 0", "`tfg-large-loop-threshold` must be a positive integer"),
        ("tfg-keras-call = maybe", "`tfg-keras-call` must be true or false"),
    ],
)
def test_bad_flake8_option_is_a_clear_error(project: Path, line: str, message: str) -> None:
    (project / "setup.cfg").write_text(f"[flake8]\n{line}\n", encoding="utf-8")
    proc = flake8(project, "--select", "TFG", "train.py")
    assert proc.returncode != 0
    assert message in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_bool_and_int_options_parse(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text(
        "[flake8]\ntfg-keras-call = yes\ntfg-follow-calls = off\ntfg-large-loop-threshold = 7\n",
        encoding="utf-8",
    )
    (tmp_path / "empty.py").write_text("", encoding="utf-8")
    proc = flake8(tmp_path, "--select", "TFG", "empty.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_parse_errors_are_left_to_flake8(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import tensorflow as tf\ndef f(:\n", encoding="utf-8")
    proc = flake8(tmp_path, "--select", "TFG,E999", "broken.py")
    assert [line.split(" ")[1] for line in proc.stdout.splitlines()] == ["E999"]


def test_files_without_tensorflow_are_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed a file that never mentions tensorflow or keras")

    monkeypatch.setattr(runner.cst, "parse_module", no_parsing)
    monkeypatch.setattr(runner.ast, "parse", no_parsing)
    lines = ["import numpy as np\n", "def f(x):\n", "    print(x)\n"] * 2000
    plugin = Flake8Plugin(None, lines, "plain.py")  # type: ignore[arg-type]
    assert list(plugin.run()) == []


def test_off_by_default_list_matches_the_rules() -> None:
    assert tuple(r.CODE for r in ALL_RULES if not r.DEFAULT_ENABLED) == OFF_BY_DEFAULT


def test_off_by_default_rules_need_selecting(tmp_path: Path) -> None:
    (tmp_path / "loop.py").write_text(
        "import tensorflow as tf\n\n@tf.function\ndef f(x):\n"
        "    for i in tf.range(3):\n        x += i\n    return x\n",
        encoding="utf-8",
    )
    for code in OFF_BY_DEFAULT:
        assert code not in flake8(tmp_path, "loop.py").stdout
        explicit = flake8(tmp_path, "--select", code, "loop.py").stdout
        assert explicit == tfgraphlint(tmp_path, "--select", code, "-q", "loop.py").stdout
