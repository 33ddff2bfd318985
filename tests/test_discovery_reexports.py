"""TensorFlow re-exported by the user's own package (`from mypkg import tf`), found on disk."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tfgraphlint.discovery import reexports
from tfgraphlint.engine.runner import lint_source

_USER = """
    from {module} import {name}

    @{name}.function
    def step(x):
        print("tracing", x)
        return x * 2
"""


_GUARDED = """
    try:
        import tensorflow.compat.v2 as tf
    except ImportError:
        tf = None
"""


def _package(root: Path, init: str, files: dict[str, str] | None = None) -> Path:
    pkg = root / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(init))
    for name, text in (files or {}).items():
        (pkg / name).write_text(textwrap.dedent(text))
    return pkg


def _codes(path: Path) -> list[str]:
    result = lint_source(path.read_text(), str(path))
    assert not result.errors, result.errors
    return [f.code for f in result.findings]


def test_tf_reexported_by_the_package_init(tmp_path: Path) -> None:
    pkg = _package(tmp_path, "import os\nimport tensorflow as tf  # for reference\n")
    user = pkg / "train.py"
    user.write_text(textwrap.dedent(_USER.format(module="mypkg", name="tf")))
    assert _codes(user) == ["TFG101"]


def test_reexport_from_a_submodule_relative_import_and_test_folder(tmp_path: Path) -> None:
    pkg = _package(
        tmp_path,
        "from mypkg.utils import tf\n",
        {"utils.py": _GUARDED},
    )
    sub = pkg / "models"
    sub.mkdir()
    (sub / "__init__.py").write_text("")
    relative = sub / "net.py"
    relative.write_text(textwrap.dedent(_USER.format(module="..", name="tf")))
    tests = tmp_path / "tests"
    tests.mkdir()
    outside = tests / "test_net.py"  # not a package: found from the folder above
    outside.write_text(textwrap.dedent(_USER.format(module="mypkg", name="tf")))
    chained = pkg / "chained.py"
    chained.write_text(textwrap.dedent(_USER.format(module="mypkg.utils", name="tf")))
    assert _codes(relative) == ["TFG101"]
    assert _codes(outside) == ["TFG101"]
    assert _codes(chained) == ["TFG101"]


def test_assignment_and_keras_reexport(tmp_path: Path) -> None:
    pkg = _package(tmp_path, "import tensorflow\nimport keras\ntf = tensorflow\n")
    user = pkg / "model.py"
    user.write_text(
        textwrap.dedent(
            """
            from mypkg import keras, tf

            class Net(keras.Model):
                def train_step(self, data):
                    if tf.reduce_sum(data) > 0:
                        data = data * 2
                    return {"loss": data}
            """
        )
    )
    assert _codes(user) == ["TFG510"]


def test_no_reexport_no_finding_and_bad_files_do_not_crash(tmp_path: Path) -> None:
    pkg = _package(tmp_path, "def tf(x):\n    return x\n")  # `tf` is not TensorFlow here
    user = pkg / "train.py"
    user.write_text(textwrap.dedent(_USER.format(module="mypkg", name="tf")))
    assert _codes(user) == []
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "__init__.py").write_bytes(b"import tensorflow as tf\ndef (:\n\xff\xfe")
    user2 = broken / "train.py"
    user2.write_text(textwrap.dedent(_USER.format(module="broken", name="tf")))
    assert _codes(user2) == []
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "__init__.py").mkdir()  # a folder where a file should be: not readable
    user3 = tmp_path / "user3.py"
    user3.write_text(textwrap.dedent(_USER.format(module="unreadable", name="tf")))
    assert _codes(user3) == []


def test_each_module_file_is_parsed_once_until_it_changes(tmp_path: Path) -> None:
    pkg = _package(tmp_path, "import tensorflow as tf\n")
    init = str(pkg / "__init__.py")
    for i in range(3):
        user = pkg / f"m{i}.py"
        user.write_text(textwrap.dedent(_USER.format(module="mypkg", name="tf")))
        assert _codes(user) == ["TFG101"]
    assert reexports._module_cache[init][1] == {"tf": "tensorflow"}
    (pkg / "__init__.py").write_text("tf = None  # no longer TensorFlow\n")
    assert reexports.reexports_in_text(str(pkg / "m0.py"), "from mypkg import tf\n") == {}


def test_import_statements_in_any_form_are_read(tmp_path: Path) -> None:
    """Only the screened import lines are parsed; a parenthesised import over several lines,
    one in a function, and one that does not parse alone (`;`: the whole file is parsed then)
    are all read."""
    pkg = _package(tmp_path, "import tensorflow as tf\nimport keras\n")
    path = str(pkg / "user.py")
    forms = {
        "from mypkg import (\n    os,\n    tf,\n)\n": {"mypkg.tf": "tensorflow"},
        "def f():\n    from mypkg import keras as k, tf\n": {"mypkg.tf": "tensorflow"},
        "import os; from mypkg import tf\n": {},  # not at a line start: not screened
        "from mypkg import tf; x = 1\n": {"mypkg.tf": "tensorflow"},
        "from . import tf  # relative\n": {".tf": "tensorflow"},
        "from mypkg import keras\nfrom mypkg import tf\n": {
            "mypkg.keras": "keras",
            "mypkg.tf": "tensorflow",
        },
        "s = '''\nfrom mypkg import (\n'''\nfrom mypkg import tf\n": {"mypkg.tf": "tensorflow"},
    }
    for text, expected in forms.items():
        assert reexports.reexports_in_text(path, text) == expected, text


# ---------------------------------------------------------------- Keras classes of the project
_BASE = """
    import tensorflow as tf
    from tensorflow.keras import layers

    class BaseLayer(layers.Layer):
        def get_config(self):
            return {}

    class BaseLoss(tf.keras.losses.Loss):
        pass

    class Helper:
        pass

    class Preprocessor(layers.Layer):  # calls `call` itself, on Python inputs
        def __call__(self, *args):
            return self.call(*args)

    class Hooked(layers.Layer):  # runs Keras's own `__call__`
        def __call__(self, *args):
            return super().__call__(*args)
"""

_MIDDLE = """
    from .base import BaseLayer

    class MidLayer(BaseLayer):
        pass
"""

_USERS = """
    from .base import BaseLayer, BaseLoss, Helper, Hooked, Preprocessor
    from mypkg.middle import MidLayer

    class Gate(BaseLayer):
        def call(self, x):
            if x > 0:  # error: TFG510
                x = -x
            return x

    class Deep(MidLayer):  # through two modules
        def call(self, x):
            while x > 0:  # error: TFG510
                x = x - 1
            return x

    class Focal(BaseLoss):
        def call(self, y_true, y_pred):
            if y_pred > 0.5:  # error: TFG510
                return y_pred
            return y_true

    class Plain(Helper):  # not a Keras class
        def call(self, x):
            if x > 0:
                x = -x
            return x

    class Traced(Hooked):
        def call(self, x):
            if x > 0:  # error: TFG510
                x = -x
            return x

    class Tokens(Preprocessor):  # its `call` runs on what it is given, untraced
        def call(self, text):
            if text:
                text = text.lower()
            return text
"""


def test_keras_base_classes_of_the_project(tmp_path: Path) -> None:
    pkg = _package(tmp_path, "", {"base.py": _BASE, "middle.py": _MIDDLE, "layers.py": _USERS})
    user = pkg / "layers.py"
    text = user.read_text()
    assert reexports.reexports_in_text(str(user), text) == {
        ".base.BaseLayer": "tensorflow.keras.layers.Layer",
        ".base.BaseLoss": "tensorflow.keras.losses.Loss",
        "mypkg.middle.MidLayer": "tensorflow.keras.layers.Layer",
        ".base.Hooked": "tensorflow.keras.layers.Layer",
    }
    expected = [i for i, line in enumerate(text.splitlines(), 1) if "# error: TFG510" in line]
    for prefilter in (True, False):
        result = lint_source(text, str(user), prefilter=prefilter)
        assert not result.errors, result.errors
        assert [(f.line, f.code) for f in result.findings] == [(n, "TFG510") for n in expected]
    # The base no longer a layer: its subclasses are not either (the file is read again).
    base = pkg / "base.py"
    base.write_text(base.read_text().replace("BaseLayer(layers.Layer)", "BaseLayer(object)"))
    assert [f.line for f in lint_source(text, str(user)).findings] == expected[2:]
