"""follow-imports: module names, import resolution, the project phase, the CLI and the cache."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tfgraphlint.config import Config
from tfgraphlint.discovery.model import CompiledContext, ContextKind
from tfgraphlint.engine.project import (
    MAX_ROUNDS,
    ModuleIndex,
    autograph_allowlisted,
    follow_imports,
    module_names,
    resolve_relative,
)
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.frontends.cli import main

TRAIN = """\
import tensorflow as tf

from pkg.ops import jitter


@tf.function
def train_step(x):
    return jitter(x)
"""
OPS = """\
import numpy as np


def jitter(x):
    return x + np.random.uniform()


def other(x):
    print(x)
    return x
"""


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    write(tmp_path, {"pkg/__init__.py": "", "pkg/train.py": TRAIN, "pkg/ops.py": OPS})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["check", "--isolated", "-j", "1", *argv])
    return code, capsys.readouterr().out


def lint_project(root: Path, **options: object) -> dict[str, list[tuple[int, str, str]]]:
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
    config = Config(follow_imports=True, **options)  # type: ignore[arg-type]
    results = [lint_source(Path(f).read_bytes(), f, config) for f in files]
    follow_imports(results, files, config)
    return {r.path: [(f.line, f.code, f.message) for f in r.findings] for r in results}


# ---------------------------------------------------------------- module names and imports
def test_module_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "src/pkg/__init__.py": "",
            "src/pkg/sub/__init__.py": "",
            "src/pkg/sub/mod.py": "",
            "src/pkg/a.py": "",
            "scripts/run.py": "",
            "my-tool/x.py": "",
        },
    )
    base = tmp_path / "src"
    assert module_names(str(base / "pkg/sub/mod.py"))[:2] == ("pkg.sub.mod", "src.pkg.sub.mod")
    assert module_names(str(base / "pkg/sub/__init__.py"))[0] == "pkg.sub"
    assert module_names(str(tmp_path / "scripts/run.py"))[:2] == ("run", "scripts.run")
    assert module_names(str(tmp_path / "my-tool/x.py")) == ("x",)  # not an identifier: stop
    assert module_names(str(tmp_path / "my-tool/not-a-module.py")) == ()


@pytest.mark.parametrize(
    ("target", "module", "is_package", "expected"),
    [
        ("pkg.b.h", "pkg.a", False, "pkg.b.h"),
        (".b.h", "pkg.sub.a", False, "pkg.sub.b.h"),
        ("..b.h", "pkg.sub.a", False, "pkg.b.h"),
        (".b.h", "pkg.sub", True, "pkg.sub.b.h"),
        ("..pkg.b.g", "top.sub.a", False, "top.pkg.b.g"),
        ("...b.h", "pkg.a", False, None),  # climbs above the top-level package
    ],
)
def test_resolve_relative(target: str, module: str, is_package: bool, expected: str) -> None:
    assert resolve_relative(target, module, is_package) == expected


def test_locate_import_forms(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pkg/__init__.py": (
                "from .ops import helper as exported\n"
                "from pkg import ops as _ops\n"
                "import pkg.ops\n"
                "aliased = _ops.helper\n"
            ),
            "pkg/ops.py": (
                "def helper(x):\n    return x\n\nclass K:\n    def m(self): ...\n\n"
                "try:\n    from fast import g\nexcept ImportError:\n    def g(x): ...\n"
            ),
            "pkg/train.py": "",
            "one/util.py": "def f(): ...\n",
            "two/util.py": "def f(): ...\n",
            "one/main.py": "",
        },
    )
    files = [str(p) for p in sorted(tmp_path.rglob("*.py"))]
    index = ModuleIndex(files)
    train = str(tmp_path / "pkg/train.py")
    ops = str(tmp_path / "pkg/ops.py")
    assert index.locate("pkg.ops.helper", train) == (ops, "helper")
    assert index.locate(".ops.helper", train) == (ops, "helper")
    assert index.locate("pkg.exported", train) == (ops, "helper")  # re-exported
    assert index.locate("pkg.ops.g", train) == (ops, "g")  # a def in a top-level `try`
    assert index.locate("pkg.aliased", train) == (ops, "helper")  # `aliased = _ops.helper`
    assert index.locate("pkg._ops.helper", train) == (ops, "helper")  # through a module import
    assert index.locate("pkg.ops.K", train) is None  # a class, not a function
    assert index.locate("pkg.ops.K.m", train) is None  # methods are not followed
    assert index.locate("tensorflow.reduce_sum", train) is None  # not a checked file
    # `util` names two top-level modules: the one next to the importer, else none.
    assert index.locate("util.f", str(tmp_path / "one/main.py")) == (
        str(tmp_path / "one/util.py"),
        "f",
    )
    assert index.locate("util.f", train) is None


def test_autograph_allowlist() -> None:
    assert autograph_allowlisted("tensorflow_probability.python.internal.x") == (
        "tensorflow_probability"
    )
    assert autograph_allowlisted("keras.src.ops") == "keras"
    assert autograph_allowlisted("keras_cv.layers") is None
    assert autograph_allowlisted("tensorflow.python.training.experimental.loss_scale") is None
    assert autograph_allowlisted("pkg.ops") is None


# ---------------------------------------------------------------- phase 1 and lint_source
def test_calls_are_recorded_only_with_the_option() -> None:
    result = lint_source(TRAIN, "pkg/train.py", Config(follow_imports=True))
    assert [(c.target, c.kind, c.caller, c.root, c.line) for c in result.calls] == [
        ("pkg.ops.jitter", "helper", "train_step", "train_step", 8)
    ]
    assert lint_source(TRAIN, "pkg/train.py", Config()).calls == []


def test_injected_roots_are_analysed_without_tensorflow_in_the_file() -> None:
    ctx = CompiledContext(
        kind=ContextKind.HELPER,
        qualname="jitter",
        line=0,
        root_qualname="train_step",
        root_line=7,
        call_line=8,
        caller_qualname="train_step",
        root_path="pkg/train.py",
        caller_path="pkg/train.py",
    )
    assert lint_source(OPS, "pkg/ops.py", Config()).findings == []
    for prefilter in (True, False):
        result = lint_source(
            OPS, "pkg/ops.py", Config(), prefilter=prefilter, external_roots={"jitter": ctx}
        )
        assert [(f.line, f.code, f.function) for f in result.findings] == [(5, "TFG103", "jitter")]
        assert "in `jitter` (called from tf.function `train_step` at pkg/train.py:8)" in (
            result.findings[0].message
        )


# ---------------------------------------------------------------- the project phase
def test_chain_across_three_modules_and_cycles_end(project: Path) -> None:
    write(
        project,
        {
            "pkg/ops.py": """\
                from pkg import deep


                def jitter(x):
                    return deep.stamp(x)
                """,
            "pkg/deep.py": """\
                import time

                from pkg import ops


                def stamp(x):
                    ops.jitter(x)  # a cycle back: ends, the first context wins
                    return x + time.time()
                """,
        },
    )
    found = lint_project(project)
    assert found["pkg/ops.py"] == []
    [(line, code, message)] = found["pkg/deep.py"]
    assert (line, code) == (8, "TFG104")
    assert (
        "in `stamp` (called from `jitter` at pkg/ops.py:5, reached from tf.function "
        "`train_step` in pkg/train.py)"
    ) in message


def test_fixpoint_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    n = MAX_ROUNDS + 3
    files = {"chain/__init__.py": ""}
    files["chain/m0.py"] = (
        "import tensorflow as tf\nfrom chain import m1\n\n\n"
        "@tf.function\ndef step(x):\n    return m1.f(x)\n"
    )
    for i in range(1, n):
        files[f"chain/m{i}.py"] = (
            f"from chain import m{i + 1}\n\n\ndef f(x):\n    print(x)\n    return m{i + 1}.f(x)\n"
        )
    files[f"chain/m{n}.py"] = "def f(x):\n    print(x)\n    return x\n"
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    found = lint_project(tmp_path)
    reached = [i for i in range(1, n + 1) if found[f"chain/m{i}.py"]]
    assert reached == list(range(1, MAX_ROUNDS + 1))


def test_local_contexts_win_and_findings_are_reported_once(project: Path) -> None:
    write(
        project,
        {
            "pkg/ops.py": """\
                import tensorflow as tf


                @tf.function
                def jitter(x):
                    print(x)
                    return x
                """
        },
    )
    found = lint_project(project)
    [(line, code, message)] = found["pkg/ops.py"]
    assert (line, code) == (6, "TFG101")
    assert "in tf.function `jitter` runs" in message


def test_allowlisted_module_is_traced_but_not_converted(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tensorflow_probability/__init__.py": "",
            "tensorflow_probability/util.py": """\
                import tensorflow as tf


                def pick(x):
                    print(x)
                    if tf.reduce_sum(x) > 0:
                        return x
                    return -x
                """,
            "app/train.py": """\
                import tensorflow as tf
                from tensorflow_probability import util


                @tf.function(input_signature=[tf.TensorSpec([])])
                def step(x):
                    return util.pick(x)
                """,
        },
    )
    files = sorted(str(p) for p in tmp_path.rglob("*.py"))
    config = Config(follow_imports=True)
    results = [lint_source(Path(f).read_bytes(), f, config) for f in files]
    follow_imports(results, files, config)
    util = next(r for r in results if r.path.endswith("util.py"))
    codes = {f.code: f.message for f in util.findings}
    assert "TFG101" in codes  # still runs while tracing
    assert "TFG510" in codes  # a tensor `if` that AutoGraph leaves to Python
    assert "on its module allowlist" in codes["TFG510"]


# ---------------------------------------------------------------- CLI and cache
def test_cli_without_the_option_nothing_changes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "--no-cache", ".") == (0, "")


def test_cli_text_and_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "--no-cache", "--follow-imports", "pkg")
    assert code == 1
    assert out == (
        "pkg/ops.py:5:16: TFG103 `np.random.uniform()` in `jitter` (called from tf.function "
        "`train_step` at pkg/train.py:8) draws from NumPy's global generator once, at trace "
        "time: every call reuses that value\n"
    )
    code, out = run(capsys, "--no-cache", "--follow-imports", "--format", "json", "pkg")
    [finding] = json.loads(out)["findings"]
    assert (finding["path"], finding["line"], finding["function"]) == ("pkg/ops.py", 5, "jitter")


def test_config_file_option(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.tfgraphlint]\nfollow-imports = true\n", encoding="utf-8"
    )
    code = main(["check", "--no-cache", "-j", "1", "pkg"])
    assert code == 1
    assert "pkg/ops.py:5:16: TFG103" in capsys.readouterr().out


def test_cache_keys_include_the_injected_roots(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--follow-imports", "--format", "json", "pkg")
    cold = run(capsys, "--no-cache", *args)
    first = run(capsys, *args)
    warm = run(capsys, *args)
    assert cold == first == warm
    [cache_file] = (project / ".tfgraphlint_cache").glob("*/*.json")
    entries = json.loads(cache_file.read_text())
    assert any(key.startswith("pkg/ops.py#roots=") for key in entries)
    assert entries["pkg/train.py"]["calls"][0]["target"] == "pkg.ops.jitter"
    # ops.py is unchanged, but its caller now reaches `other`: its roots (and key) change.
    (project / "pkg/train.py").write_text(TRAIN.replace("jitter", "other"), encoding="utf-8")
    code, out = run(capsys, *args)
    messages = [f["message"] for f in json.loads(out)["findings"]]
    assert len(messages) == 1 and "`print()` in `other`" in messages[0]
    # The entry of the roots no caller gives any more is dropped; going back recomputes it.
    entries = json.loads(cache_file.read_text())
    assert len([key for key in entries if key.startswith("pkg/ops.py#roots=")]) == 1
    (project / "pkg/train.py").write_text(TRAIN, encoding="utf-8")
    assert run(capsys, *args) == warm


def test_a_long_attribute_chain_in_a_followed_module_does_not_end_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`x = os.a.a...` (2,000 links, which Python parses) at the top of a module whose
    function a tf.function calls: reading its top level for `follow-imports` used to recurse
    once per link and end the whole run with an internal error."""
    write(
        tmp_path,
        {
            "deep.py": "import os\nx = os" + ".a" * 2000 + "\n\ndef helper(v):\n    return v\n",
            "train.py": "import tensorflow as tf\nimport deep\n\n@tf.function\n"
            "def step(v):\n    return deep.helper(v)\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    code = main(["check", "--isolated", "--no-cache", "-j", "1", "--follow-imports", "."])
    err = capsys.readouterr().err
    assert code == 1  # the module is too deeply nested to analyse: an error, not a crash
    assert "too deeply nested" in err and "internal error" not in err
