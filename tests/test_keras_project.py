"""The project phase of Keras tracing (`engine.keras_project`): a Keras class whose only uses,
in the files of the run, are instances that eager code makes and calls loses its findings;
any other use keeps them. `tests/dynamic/test_keras_project_eager.py` runs the same projects with
TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_project import write

from tfgraphlint.frontends.cli import main

DATA = Path(__file__).parent / "data" / "keras_project"
LAYERS = (DATA / "layers.py").read_text(encoding="utf-8")
EAGER_SCRIPT = (DATA / "train.py").read_text(encoding="utf-8")

GATE_LINE = 12  # `if tf.reduce_sum(x) > 0:`
NUMPY_LINE = 23  # `x.numpy()` in `Recent.update_state`


def check(root: Path, capsys: pytest.CaptureFixture[str], *paths: str) -> list[tuple[str, int]]:
    code = main(["check", "--isolated", "--no-cache", "-j", "1", "--format", "json", *paths])
    assert code in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    return sorted((Path(f["path"]).name, f["line"]) for f in doc["findings"])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


REPORTED = [("layers.py", GATE_LINE), ("layers.py", NUMPY_LINE)]


def test_the_layer_alone_is_reported_and_tagged(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, {"layers.py": LAYERS})
    main(["check", "--isolated", "--no-cache", "--format", "json", "layers.py"])
    doc = json.loads(capsys.readouterr().out)
    assert [(f["line"], f["code"], f["data"]) for f in doc["findings"]] == [
        (GATE_LINE, "TFG510", {"keras_class": "Gate"}),
        (NUMPY_LINE, "TFG401", {"keras_class": "Recent"}),
    ]


def test_a_script_that_only_calls_them_eagerly_drops_their_findings(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, {"layers.py": LAYERS, "train.py": EAGER_SCRIPT})
    assert check(project, capsys, ".") == []
    # The project is the files of the run: the layer's module alone keeps them.
    assert check(project, capsys, "layers.py") == REPORTED


def test_a_check_of_some_files_reads_the_rest_of_the_project(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a pyproject.toml, the project is its folder: `check layers.py` (an editor, a
    pre-commit batch of changed files) sees how `train.py` uses the classes; `--isolated`
    has no project, only the files of the run."""
    write(project, {"layers.py": LAYERS, "train.py": EAGER_SCRIPT})
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    code = main(["check", "--no-cache", "--format", "json", "layers.py"])
    assert code == 0 and json.loads(capsys.readouterr().out)["findings"] == []
    assert check(project, capsys, "layers.py") == REPORTED  # --isolated
    # A file the project excludes is not read.
    (project / "pyproject.toml").write_text(
        "[tool.tfgraphlint]\nextend-exclude = ['train.py']\n", encoding="utf-8"
    )
    main(["check", "--no-cache", "--format", "json", "layers.py"])
    assert len(json.loads(capsys.readouterr().out)["findings"]) == 2


def test_the_option_turns_the_phase_off(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, {"layers.py": LAYERS, "train.py": EAGER_SCRIPT})
    (project / "tfg.toml").write_text("[tool.tfgraphlint]\nkeras-project = false\n")
    code = main(["check", "--config", "tfg.toml", "--no-cache", "-j", "1", "-q", "."])
    out = capsys.readouterr().out
    assert code == 1
    assert f"layers.py:{GATE_LINE}:" in out and f"layers.py:{NUMPY_LINE}:" in out


@pytest.mark.parametrize(
    ("train", "kept"),
    [
        # A Keras `Input`: a functional model calls the layer on symbolic tensors.
        (
            "import keras\nfrom layers import Gate\n"
            "x = keras.Input((3,))\nmodel = keras.Model(x, Gate()(x))\n",
            [GATE_LINE],
        ),
        # Handed to a model.
        (
            "import keras\nfrom layers import Gate\nmodel = keras.Sequential([Gate()])\n",
            [GATE_LINE],
        ),
        # Called by a tf.function.
        (
            "import tensorflow as tf\nfrom layers import Gate\ngate = Gate()\n\n"
            "@tf.function\ndef step(x):\n    return gate(x)\n",
            [GATE_LINE],
        ),
        # Made inside a method: the class's own code may run anywhere.
        (
            "from layers import Gate\n\nclass Net:\n    def __init__(self):\n"
            "        self.gate = Gate()\n",
            [GATE_LINE],
        ),
        # Subclassed.
        ("from layers import Gate\n\nclass Louder(Gate):\n    pass\n", [GATE_LINE]),
        # A star import: the index cannot tell what `Gate` is.
        ("import tensorflow as tf\nfrom layers import *\nGate()(tf.ones(3))\n", [GATE_LINE]),
        # Rebound.
        (
            "import tensorflow as tf\nfrom layers import Gate\ngate = Gate()\n"
            "gate = tf.function(gate)\ngate(tf.ones(3))\n",
            [GATE_LINE],
        ),
        # Imported only: nothing shows how it is used.
        ("from layers import Gate\n", [GATE_LINE]),
        # A module import, a call thrown away, `Gate()(x)`: all eager.
        (
            "import tensorflow as tf\nimport layers\nlayers.Gate()\nlayers.Gate()(tf.ones(3))\n",
            [],
        ),
        # The main guard runs eagerly too.
        (
            "import tensorflow as tf\nfrom layers import Gate\n\n"
            "if __name__ == '__main__':\n    gate = Gate()\n    gate(tf.ones(3))\n",
            [],
        ),
    ],
)
def test_other_uses_keep_the_findings(
    project: Path, capsys: pytest.CaptureFixture[str], train: str, kept: list[int]
) -> None:
    layers = LAYERS.split("\n\nclass Recent")[0] + "\n"
    write(project, {"layers.py": layers, "train.py": train})
    assert check(project, capsys, ".") == [("layers.py", line) for line in kept]


def test_a_function_only_the_script_calls_is_eager_unless_another_file_imports_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = (
        "import tensorflow as tf\nfrom layers import Gate\n\n\n"
        "def main():\n    gate = Gate()\n    return gate(tf.ones(3))\n\n\nmain()\n"
    )
    layers = LAYERS.split("\n\nclass Recent")[0] + "\n"
    write(project, {"layers.py": layers, "train.py": script})
    assert check(project, capsys, ".") == []
    write(project, {"serve.py": "from train import main\n"})
    assert check(project, capsys, ".") == [("layers.py", GATE_LINE)]


@pytest.mark.parametrize(
    "other",
    [
        "import tensorflow as tf\nfrom train import gate\n\n"
        "@tf.function\ndef f(x):\n    return gate(x)\n",
        "import train\n\ndef f(x):\n    return train.gate(x)\n",
        "from train import *\n",
        "import tensorflow as tf\ntf.compat.v1.disable_eager_execution()\n",
    ],
)
def test_an_instance_another_module_may_use_keeps_them(
    project: Path, capsys: pytest.CaptureFixture[str], other: str
) -> None:
    write(project, {"layers.py": LAYERS, "train.py": EAGER_SCRIPT, "serve.py": other})
    assert ("layers.py", GATE_LINE) in check(project, capsys, ".")


def test_a_file_naming_the_class_that_cannot_be_read_keeps_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, {"layers.py": LAYERS, "train.py": EAGER_SCRIPT})
    (project / "broken.py").write_text("from layers import Gate\nGate(\n", encoding="utf-8")
    found = check(project, capsys, ".")
    assert ("layers.py", GATE_LINE) in found
    assert ("layers.py", NUMPY_LINE) not in found  # `Recent` is not named there


def test_its_own_module_using_the_class_keeps_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layers = (
        LAYERS
        + "\n\nclass Twice(keras.layers.Layer):\n    def __init__(self):\n"
        + (
            "        super().__init__()\n        self.gate = Gate()\n\n"
            "    def call(self, x):\n        return self.gate(self.gate(x))\n"
        )
    )
    write(project, {"layers.py": layers, "train.py": EAGER_SCRIPT})
    assert check(project, capsys, ".") == [("layers.py", GATE_LINE)]


def test_fix_reports_what_check_reports(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, {"layers.py": LAYERS, "train.py": EAGER_SCRIPT})
    code = main(["check", "--isolated", "--no-cache", "-j", "1", "--fix", "--format", "json", "."])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_the_cache_keeps_the_census_until_a_file_changes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tfgraphlint.engine.cache import CACHE_DIR
    from tfgraphlint.engine.keras_project import CACHE_KEY

    write(project, {"layers.py": LAYERS, "train.py": EAGER_SCRIPT})
    argv = ["check", "--isolated", "-j", "1", "--format", "json", "."]

    def run() -> list[int]:
        main(argv)
        return [f["line"] for f in json.loads(capsys.readouterr().out)["findings"]]

    assert run() == []
    (stored,) = list((project / CACHE_DIR).rglob("*.json"))
    entry = json.loads(stored.read_text(encoding="utf-8"))[CACHE_KEY]
    layers = str(project / "layers.py")
    assert entry["eager"] == [[layers, "Gate"], [layers, "Recent"]]
    assert run() == []  # warm: from the stored census
    # A damaged entry is found again.
    doc = json.loads(stored.read_text(encoding="utf-8"))
    doc[CACHE_KEY]["eager"] = 7
    stored.write_text(json.dumps(doc), encoding="utf-8")
    assert run() == []
    # A changed file changes the key: `Gate` is now handed to `tf.function`.
    write(project, {"train.py": EAGER_SCRIPT + "step = tf.function(gate)\n"})
    assert run() == [GATE_LINE]


def test_a_hostile_file_naming_the_class_keeps_them_and_the_run_goes_on(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 2,000-link attribute chain ending in the class's name (walked in a loop, not by
    recursion), and a file with a NUL byte that names it: the census reads both as uses it
    cannot judge."""
    chain = "import layers\nx = layers" + ".a" * 2000 + ".Gate\n"
    write(project, {"layers.py": LAYERS, "train.py": EAGER_SCRIPT, "deep.py": chain})
    (project / "nul.py").write_bytes(b"from layers import Recent\x00\n")
    assert check(project, capsys, ".") == REPORTED


def test_many_instances_in_one_script(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A script that binds 500 instances and calls each: every one is an eager use (the
    census looks each name up once per module); another module importing one of those
    globals keeps the findings."""
    layers = LAYERS.split("\n\nclass Recent")[0] + "\n"
    script = "import tensorflow as tf\nfrom layers import Gate\n" + "".join(
        f"g{i} = Gate()\ng{i}(tf.ones(3))\n" for i in range(500)
    )
    write(project, {"layers.py": layers, "train.py": script})
    assert check(project, capsys, ".") == []
    write(project, {"serve.py": "import train\n\ndef f(x):\n    return train.g250(x)\n"})
    assert check(project, capsys, ".") == [("layers.py", GATE_LINE)]
