"""`[tool.tfgraphlint]` in pyproject.toml: every key, bad keys and values, flags over config."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tfgraphlint.config import DEFAULT_EXCLUDE, Config, ConfigError, load_config
from tfgraphlint.frontends.cli import main

BAD = """\
import tensorflow as tf

@tf.function
def step(x):
    print("step", x)
    return x
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def configure(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(f"[tool.tfgraphlint]\n{body}\n", encoding="utf-8")


def write(root: Path, rel: str, text: str = BAD) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(["check", "--quiet", *argv])
    out, err = capsys.readouterr()
    return code, [line.split(": ")[0] for line in out.splitlines()], err


def test_every_key_is_read(project: Path) -> None:
    configure(
        project,
        """
select = ["TFG1"]
extend-select = ["print-in-tf-function"]
ignore = ["TFG102"]
exclude = ["legacy"]
extend-exclude = ["generated"]
extra-function-decorators = ["mylib.compiled", "other.*"]
keras-call = true
follow-calls = false
large-loop-threshold = 10
show-conversions = false

[tool.tfgraphlint.per-file-ignores]
"tests/*" = ["TFG101"]
""",
    )
    assert load_config(start=project) == Config(
        select=("TFG1",),
        extend_select=("print-in-tf-function",),
        ignore=("TFG102",),
        exclude=("legacy",),
        extend_exclude=("generated",),
        extra_function_decorators=("mylib.compiled", "other.*"),
        keras_call=True,
        follow_calls=False,
        large_loop_threshold=10,
        per_file_ignores=(("tests/*", ("TFG101",)),),
        root=project.resolve(),
    )


def test_found_from_a_subfolder(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(project, 'ignore = ["TFG101"]')
    (project / "src" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(project / "src" / "pkg")
    assert load_config().ignore == ("TFG101",)


def test_no_config_gives_defaults(project: Path) -> None:
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert load_config(start=project) == Config(root=project.resolve())
    assert Config().exclude == DEFAULT_EXCLUDE


def test_snake_case_keys_are_accepted(project: Path) -> None:
    configure(project, 'extend_select = ["TFG101"]')
    assert load_config(start=project).extend_select == ("TFG101",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('selct = ["TFG101"]', "unknown key `selct` in [tool.tfgraphlint]"),
        ("select = 3", "`select` must be a list of strings, got 3"),
        ("ignore = [1, 2]", "`ignore` must be a list of strings"),
        ("exclude = true", "`exclude` must be a list of strings"),
        ('per-file-ignores = ["x"]', "`per-file-ignores` must be a table of glob = [codes]"),
        ("per-file-ignores = { 'a.py' = 3 }", "`per-file-ignores.a.py` must be a list of strings"),
        ("large-loop-threshold = 0", "`large-loop-threshold` must be a positive integer, got 0"),
        ('large-loop-threshold = "10"', "`large-loop-threshold` must be a positive integer"),
        ("large-loop-threshold = true", "`large-loop-threshold` must be a positive integer"),
        ('keras-call = "yes"', "`keras-call` must be true or false, got 'yes'"),
        ("follow-calls = 1", "`follow-calls` must be true or false"),
        ("select = [", "invalid TOML"),
        ('select = ["TFG9"]', "select: `TFG9` matches no rule"),
        ('extend-select = ["no-such-rule"]', "extend-select: `no-such-rule` matches no rule"),
        ('ignore = ["XYZ1"]', "ignore: `XYZ1` matches no rule"),
        (
            "per-file-ignores = { 'tests/*' = ['TFG9'] }",
            "per-file-ignores: `TFG9` (for `tests/*`) matches no rule",
        ),
        (
            'extend-select = ["large-loop"]',
            "extend-select: `large-loop` matches no rule; did you mean `large-python-loop`?",
        ),
        (
            "per-file-ignores = { 'tests/*' = ['TFG1011'] }",
            "per-file-ignores: `TFG1011` (for `tests/*`) matches no rule; did you mean `TFG101`?",
        ),
        (
            'extra-function-decorators = ["mypkg."]',
            "`extra-function-decorators`: 'mypkg.' is not a qualified name",
        ),
        (
            'extra-function-decorators = ["mypkg.jit", ""]',
            "`extra-function-decorators`: '' is not a qualified name",
        ),
    ],
)
def test_bad_config_is_a_clear_error(
    project: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    configure(project, body)
    write(project, "train.py")
    code, out, err = check(capsys, "train.py")
    assert (code, out) == (2, [])
    assert message in err
    assert err.startswith("tfgraphlint: ")
    assert "Traceback" not in err


def test_table_must_be_a_table(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool]\ntfgraphlint = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[tool.tfgraphlint\] must be a table"):
        load_config(start=project)


@pytest.mark.parametrize("tool", ['"x"', "5", "[1]"])
def test_tool_must_be_a_table(project: Path, capsys: pytest.CaptureFixture[str], tool: str) -> None:
    (project / "pyproject.toml").write_text(f"tool = {tool}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"`tool` must be a table"):
        load_config(start=project)
    write(project, "train.py")
    code, out, err = check(capsys, "train.py")
    assert (code, out) == (2, [])
    assert "`tool` must be a table" in err and "Traceback" not in err


def test_select_and_ignore(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "train.py")
    configure(project, 'ignore = ["print-in-tf-function"]')
    assert check(capsys, "train.py")[0] == 0
    configure(project, 'ignore = ["TFG1"]\nextend-select = ["TFG101"]')
    assert check(capsys, "train.py")[0] == 1


def test_flags_override_the_config(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "train.py")
    configure(project, 'ignore = ["TFG101"]')
    assert check(capsys, "train.py")[0] == 0
    assert check(capsys, "--select", "TFG101", "train.py")[0] == 1  # a new selection
    assert check(capsys, "--isolated", "train.py")[0] == 1
    configure(project, 'select = ["TFG101"]')
    assert check(capsys, "--ignore", "TFG1", "train.py")[0] == 0
    assert check(capsys, "--extend-exclude", "train.py", "train.py")[0] == 0


def test_explicit_config_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, "train.py")
    (project / "other.toml").write_text('[tool.tfgraphlint]\nignore = ["TFG101"]\n', "utf-8")
    assert check(capsys, "--config", "other.toml", "train.py")[0] == 0
    code, _, err = check(capsys, "--config", "missing.toml", "train.py")
    assert code == 2 and "config file not found: missing.toml" in err


def test_per_file_ignores(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(
        project,
        '[tool.tfgraphlint.per-file-ignores]\n"tests/*" = ["TFG1"]\n"scratch.py" = ["TFG101"]',
    )
    for rel in ("tests/test_model.py", "src/model.py", "src/scratch.py"):
        write(project, rel)
    assert check(capsys, ".")[1] == ["./src/model.py:5:5"]
    monkeypatch.chdir(project / "tests")  # globs are relative to the config's folder
    assert check(capsys, ".")[1] == []


def test_exclude_replaces_the_defaults(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for rel in ("build/gen.py", "legacy/old.py", "src/new.py", "src/generated/g.py"):
        write(project, rel)
    assert check(capsys, ".")[1] == [
        "./legacy/old.py:5:5",
        "./src/new.py:5:5",
        "./src/generated/g.py:5:5",
    ]
    configure(project, 'exclude = ["legacy"]')
    assert check(capsys, ".")[1] == [
        "./build/gen.py:5:5",
        "./src/new.py:5:5",
        "./src/generated/g.py:5:5",
    ]
    configure(project, 'extend-exclude = ["legacy", "src/generated"]')
    assert check(capsys, ".")[1] == ["./src/new.py:5:5"]


def test_extra_function_decorators(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        project,
        "steps.py",
        "import tensorflow as tf\nfrom mylib import compiled\n\n"
        "@compiled\ndef step(x):\n    print(x)\n    return x\n",
    )
    assert check(capsys, "steps.py")[0] == 0
    configure(project, 'extra-function-decorators = ["mylib.*"]')
    assert check(capsys, "steps.py")[1] == ["steps.py:6:5"]


def test_per_file_ignores_apply_to_the_stdin_filename(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(project, '[tool.tfgraphlint.per-file-ignores]\n"tests/*" = ["TFG101"]')
    for name, expected in (("tests/test_x.py", 0), ("src/x.py", 1)):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BAD.encode())))
        assert check(capsys, "-", "--stdin-filename", name)[0] == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[tool.tfgraphlint.trace]\ntimout = 5",
            "unknown key `timout` in [tool.tfgraphlint.trace]",
        ),
        ("[tool.tfgraphlint.trace]\ntimeout = 0", "`trace.timeout` must be a positive number"),
        ('[tool.tfgraphlint.trace]\nrepeat = "3"', "`trace.repeat` must be a positive integer"),
        ("[tool.tfgraphlint.trace]\nexamples = 3", "`trace.examples` must be a string"),
        (
            "[tool.tfgraphlint.trace]\nfactories = { a = 1 }",
            "`trace.factories` must be a table of strings",
        ),
        ("trace = 3", "`trace` must be a table"),
    ],
)
@pytest.mark.parametrize("command", ["check", "trace"])
def test_bad_trace_settings_are_config_errors_naming_file_and_key(
    project: Path, capsys: pytest.CaptureFixture[str], body: str, message: str, command: str
) -> None:
    configure(project, body)
    write(project, "train.py")
    code = main([command, "train.py"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    pyproject = project / "pyproject.toml"
    assert err.startswith("tfgraphlint: "), err
    assert f"{pyproject}: " in err or f"{pyproject.resolve()}: " in err, err
    assert message in err


def test_good_trace_settings_pass_check(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure(
        project,
        '[tool.tfgraphlint.trace]\nexamples = "ex.py"\nrecorded = "calls.json"\n'
        'factories = { "a:B" = "c:d" }\ntimeout = 60\nrepeat = 5\nmax-traces = 1\n'
        "slow-trace = 2.0",
    )
    assert load_config(start=project).trace["slow-trace"] == 2.0
    write(project, "train.py")
    code, out, _ = check(capsys, "train.py")
    assert (code, out) == (1, ["train.py:5:5"])


def test_unknown_selector_in_the_file_names_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(project, 'ignore = ["XYZ1"]')
    write(project, "train.py")
    code, _, err = check(capsys, "train.py")
    assert code == 2
    assert f"{project.resolve() / 'pyproject.toml'}: ignore: `XYZ1` matches no rule" in err
