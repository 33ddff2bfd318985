"""The flake8 plugin, through the real flake8 in a subprocess: same findings as the CLI."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tfgraphlint import __version__
from tfgraphlint.config import OPTIONS, Config
from tfgraphlint.engine import runner
from tfgraphlint.engine.prefilter import package_needles
from tfgraphlint.engine.slicing import rule_needs
from tfgraphlint.frontends.flake8_plugin import (
    EVERY_RULE_TRIGGERS,
    FLAKE8_OPTIONS,
    OFF_BY_DEFAULT,
    Flake8Plugin,
)
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
        (
            "tfg-extra-function-decorators = mylib.jit, mypkg.",
            "`tfg-extra-function-decorators`: 'mypkg.' is not a qualified name",
        ),
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


def test_plain_files_load_neither_the_engine_nor_the_config(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("import numpy as np\n\nx = np.ones(3)\n", encoding="utf-8")
    (tmp_path / "train.py").write_text(TRAINING, encoding="utf-8")
    code = """
        import sys
        from flake8.main.cli import main
        try:
            main(["--isolated", "--select", "F,TFG", "--jobs", "1", *sys.argv[1:]])
        except SystemExit:
            pass
        heavy = ("libcst", "tfgraphlint.engine.runner", "tfgraphlint.config", "tfgraphlint._types")
        assert "tfgraphlint.frontends.flake8_plugin" in sys.modules
        print(sorted(m for m in heavy if m in sys.modules))
    """
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    plain = run([*argv, "plain.py"], tmp_path)
    assert plain.stdout.splitlines()[-1:] == ["[]"], plain.stdout + plain.stderr
    both = run([*argv, "plain.py", "train.py"], tmp_path)
    heavy = "['libcst', 'tfgraphlint._types', 'tfgraphlint.config', 'tfgraphlint.engine.runner']"
    assert both.stdout.splitlines()[-1:] == [heavy], both.stdout + both.stderr


def test_tensorflow_files_without_compiled_code_do_not_load_libcst(tmp_path: Path) -> None:
    """A file that names TensorFlow but holds no compiled code is screened without libCST
    (its import alone costs more than the rest of an editor's run); one that holds some is
    analysed, with the same findings as the CLI."""
    eager = "import tensorflow as tf\n\n\ndef scale(x):\n    print(x)\n    return tf.abs(x)\n"
    # A layer whose `call` can fail in nothing (`engine.keras_gate`): no libCST either.
    eager += textwrap.dedent(
        """

        class Scale(tf.keras.layers.Layer):
            def call(self, inputs, training=None):
                if training and self.trainable:
                    return tf.nn.dropout(inputs, 0.1)
                return inputs
        """
    )
    (tmp_path / "eager.py").write_text(eager, encoding="utf-8")
    (tmp_path / "train.py").write_text(TRAINING, encoding="utf-8")
    code = """
        import sys
        from flake8.main.cli import main
        try:
            main(["--isolated", "--select", "F,TFG", "--jobs", "1", *sys.argv[1:]])
        except SystemExit:
            pass
        print(sorted(m for m in ("libcst", "tfgraphlint.engine.runner") if m in sys.modules))
    """
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    eager_run = run([*argv, "eager.py"], tmp_path)
    assert eager_run.stdout.splitlines() == ["[]"], eager_run.stdout + eager_run.stderr
    both = run([*argv, "eager.py", "train.py"], tmp_path)
    *found, loaded = both.stdout.splitlines()
    assert loaded == "['libcst', 'tfgraphlint.engine.runner']", both.stdout + both.stderr
    cli = tfgraphlint(tmp_path, "--quiet", "eager.py", "train.py")
    assert found and found == cli.stdout.splitlines()


def test_flake8_options_match_the_config() -> None:
    by_key = {o.key: o for o in OPTIONS}
    for key, attr, is_list, help_text in FLAKE8_OPTIONS:
        option = by_key[key]
        assert (attr, is_list, help_text) == (
            option.attr,
            option.is_list,
            option.help,
        )
    assert [key for key, *_ in FLAKE8_OPTIONS] == [
        "extra-function-decorators",
        "keras-call",
        "follow-calls",
        "large-loop-threshold",
    ]


def test_config_built_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("_changes", "_config", "_needles", "_named"):  # restored after the test
        monkeypatch.setattr(Flake8Plugin, name, getattr(Flake8Plugin, name))
    assert Flake8Plugin.config == Config()  # before flake8 parses its options
    assert Flake8Plugin._needles == package_needles(Config().extra_function_decorators)
    nothing = argparse.Namespace(**{f"tfg_{attr}": None for _, attr, _, _ in FLAKE8_OPTIONS})
    Flake8Plugin.parse_options(nothing)
    assert Flake8Plugin._config is None
    assert Flake8Plugin.config == Config(select=("ALL",), ignore=OFF_BY_DEFAULT)
    assert Flake8Plugin._needles == package_needles(Config().extra_function_decorators)
    given = argparse.Namespace(
        tfg_extra_function_decorators=["mylib.compiled", "*.jit"],
        tfg_keras_call="yes",
        tfg_follow_calls=None,
        tfg_large_loop_threshold="7",
    )
    Flake8Plugin.parse_options(given)
    expected = Config(
        select=("ALL",),
        ignore=OFF_BY_DEFAULT,
        extra_function_decorators=("mylib.compiled", "*.jit"),
        keras_call=True,
        large_loop_threshold=7,
    )
    assert Flake8Plugin.config == expected
    assert Flake8Plugin._needles == ("tensorflow", "keras", "mylib")
    lines = ["from mylib import compiled\n", "@compiled\n", "def f(x):\n", "    print(x)\n"]
    found = [m for _, _, m, _ in Flake8Plugin(None, lines, "m.py").run()]  # type: ignore[arg-type]
    assert [m.split()[0] for m in found] == ["TFG101"]


def test_off_by_default_list_matches_the_rules() -> None:
    assert tuple(r.CODE for r in ALL_RULES if not r.DEFAULT_ENABLED) == OFF_BY_DEFAULT


def test_every_rule_triggers_match_the_rules() -> None:
    """The plugin slices with every rule's needs before loading the rules: the copy is
    theirs."""
    needs = rule_needs(None)
    assert set(EVERY_RULE_TRIGGERS) == set(needs.triggers)
    assert needs.call_sites and needs.state_changes


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


def test_a_prefix_does_not_pull_in_info_rules(tmp_path: Path) -> None:
    (tmp_path / "loop.py").write_text(
        "import tensorflow as tf\n\n\n@tf.function\ndef f(x):\n"
        "    for i in tf.range(3):\n        x += i\n    print(x)\n    return x\n",
        encoding="utf-8",
    )
    for select in (["--select", "TFG"], ["--select", "TFG5,TFG1"], ["--extend-select", "TFG"]):
        proc = flake8(tmp_path, *select, "loop.py")
        assert proc.stdout.startswith("loop.py:8:5: TFG101 "), proc.stdout + proc.stderr
        assert "TFG590" not in proc.stdout
    for select in (
        ["--select", "TFG590"],
        ["--select", "TFG1,TFG590"],
        ["--extend-select", "TFG590"],
    ):
        proc = flake8(tmp_path, *select, "loop.py")
        assert "loop.py:6:5: TFG590 " in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("args", "runs"),
    [
        ((), True),
        (("--select", "E"), False),  # an editor's usual selection: the plugin does nothing
        (("--select", "E,W", "--extend-select", "TFG1"), True),
        (("--select", "T"), True),
        (("--ignore", "TFG"), False),
        (("--extend-ignore", "TF"), False),
        (("--ignore", "TFG1"), True),  # other TFG codes are still shown
    ],
)
def test_does_nothing_when_no_tfg_code_is_selected(
    tmp_path: Path, args: tuple[str, ...], runs: bool
) -> None:
    (tmp_path / "train.py").write_text(TRAINING, encoding="utf-8")
    code = """
        import sys
        from flake8.main.cli import main
        try:
            main(["--isolated", "--jobs", "1", *sys.argv[1:], "train.py"])
        except SystemExit:
            pass
        print("tfgraphlint.engine.runner" in sys.modules)
    """
    proc = run([sys.executable, "-c", textwrap.dedent(code), *args], tmp_path)
    assert proc.stdout.splitlines()[-1:] == [str(runs)], proc.stdout + proc.stderr
    if not args:  # the same file does have findings
        assert " TFG1" in proc.stdout, proc.stdout
