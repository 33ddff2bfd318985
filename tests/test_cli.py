"""`tfgraphlint check`, `rules`, `explain`: paths, excludes, selection, formats, exit codes."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tfgraphlint import __version__
from tfgraphlint.frontends.cli import main

BAD = """\
import tensorflow as tf

@tf.function
def step(x):
    print("step", x)
    return x * 2
"""
GOOD = BAD.replace('print("step", x)', 'tf.print("step", x)')
MESSAGE = "`print()` in tf.function `step` runs only while tracing"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder as the working directory, with no configuration file above it."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(root: Path, rel: str, text: str = BAD) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def reported_paths(out: str) -> list[str]:
    return [line.split(":")[0] for line in out.splitlines()]


def test_text_format_and_exit_code(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "src/train.py")
    write(tree, "src/clean.py", GOOD)
    code, out, err = check(capsys, "src")
    assert code == 1
    assert out.startswith(f"src/train.py:5:5: TFG101 {MESSAGE}")
    assert out.count("\n") == 1
    assert err == (
        "tfgraphlint: 1 finding in 1 file (2 files checked); "
        "1 fixable with `--fix --unsafe-fixes`\n"
    )


def test_clean_exit_zero_and_quiet(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "clean.py", GOOD)
    assert check(capsys, "-q", "clean.py") == (0, "", "")
    write(tree, "train.py")
    code, out, err = check(capsys, "--exit-zero", "--quiet", "train.py")
    assert (code, err) == (0, "")
    assert out.startswith("train.py:5:5: TFG101 ")


def test_no_paths_checks_the_current_folder(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "pkg/model.py")
    code, out, _ = check(capsys)
    assert code == 1
    assert reported_paths(out) == ["./pkg/model.py"]


def test_paths_printed_as_given(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "pkg/model.py")
    for given in ("pkg/model.py", "./pkg/model.py", "pkg/../pkg/model.py"):
        assert reported_paths(check(capsys, given)[1]) == [given]
    assert reported_paths(check(capsys, "./pkg")[1]) == ["./pkg/model.py"]


def test_folders_are_walked_recursively_in_order(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for rel in ("b/z.py", "a/deep/er/y.py", "a/x.py", "a/stub.pyi", "a/notes.txt", "a/x.pyc"):
        write(tree, rel)
    assert reported_paths(check(capsys, "a", "b")[1]) == [
        "a/stub.pyi",
        "a/x.py",
        "a/deep/er/y.py",
        "b/z.py",
    ]


def test_default_excludes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "src/ok.py")
    for folder in (".git", ".venv", "venv", "build", "dist", "__pycache__", ".tox", "x.egg-info"):
        write(tree, f"{folder}/hidden.py")
        write(tree, f"src/{folder}/hidden.py")
    write(tree, "my-env/hidden.py")
    (tree / "my-env" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    assert reported_paths(check(capsys, ".")[1]) == ["./src/ok.py"]


def test_explicit_files_are_checked_unless_excluded_by_name(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tree, "build/gen.py")
    write(tree, "script")  # no .py extension: checked because it is named, as in flake8
    assert reported_paths(check(capsys, "build/gen.py", "script")[1]) == ["build/gen.py", "script"]
    assert check(capsys, "--extend-exclude", "gen.py", "build/gen.py")[0] == 0


def test_extend_exclude_flag(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "src/keep.py")
    write(tree, "src/generated/out.py")
    write(tree, "src/legacy_model.py")
    code, out, _ = check(capsys, "--extend-exclude", "generated,legacy_*.py", "src")
    assert reported_paths(out) == ["src/keep.py"]


@pytest.mark.parametrize("selector", ["TFG101", "TFG1", "TFG", "print-in-tf-function", "ALL"])
def test_select_by_code_prefix_or_name(
    tree: Path, capsys: pytest.CaptureFixture[str], selector: str
) -> None:
    write(tree, "train.py")
    code, out, _ = check(capsys, "--select", selector, "train.py")
    assert code == 1 and " TFG101 " in out


@pytest.mark.parametrize("selector", ["TFG101", "TFG1", "print-in-tf-function"])
def test_ignore_by_code_prefix_or_name(
    tree: Path, capsys: pytest.CaptureFixture[str], selector: str
) -> None:
    write(tree, "train.py")
    assert check(capsys, "--ignore", selector, "train.py")[:2] == (0, "")


def test_more_specific_selector_wins(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "train.py")
    assert check(capsys, "--ignore", "TFG1", "--extend-select", "TFG101", "train.py")[0] == 1
    assert check(capsys, "--select", "TFG1", "--ignore", "TFG101", "train.py")[0] == 0


@pytest.mark.parametrize("flag", ["--select", "--ignore", "--extend-select"])
def test_unknown_selector_is_a_usage_error(
    tree: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    write(tree, "train.py")
    code, out, err = check(capsys, flag, "TFG999,no-such-rule", "train.py")
    assert (code, out) == (2, "")
    assert "matches no rule" in err


@pytest.mark.parametrize(("flag", "what"), [("--select", "select"), ("--ignore", "ignore")])
def test_misspelled_selector_gets_did_you_mean(
    tree: Path, capsys: pytest.CaptureFixture[str], flag: str, what: str
) -> None:
    write(tree, "train.py")
    code, out, err = check(capsys, flag, "TFG101,python-sid-effect", "train.py")
    assert (code, out) == (2, "")
    assert err == (
        f"tfgraphlint: {what}: `python-sid-effect` matches no rule; did you mean "
        "`python-side-effect`? (see `tfgraphlint rules`)\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--format", "xml"],
        ["check", "--no-such-flag"],
        ["check", "--jobs", "many"],
        ["frobnicate"],
        [],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage: tfgraphlint" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"tfgraphlint {__version__}\n"


def test_stdin_with_filename(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BAD.encode())))
    code, out, _ = check(capsys, "-", "--stdin-filename", "models/train.py")
    assert code == 1
    assert out.startswith(f"models/train.py:5:5: TFG101 {MESSAGE}")


def test_stdin_without_filename(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BAD.encode())))
    assert check(capsys, "-")[1].startswith("<stdin>:5:5: TFG101 ")


def test_stdin_and_files_together(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tree, "on_disk.py")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BAD.encode())))
    out = check(capsys, "-", "on_disk.py", "--stdin-filename", "piped.py")[1]
    assert reported_paths(out) == ["piped.py", "on_disk.py"]


def test_errors_go_to_stderr(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "train.py")
    write(tree, "broken.py", "import tensorflow as tf\n\n@tf.function\ndef f(:\n    pass\n")
    code, out, err = check(capsys, "--quiet", "broken.py", "missing.py", "train.py")
    assert code == 1
    assert reported_paths(out) == ["train.py"]
    assert err.splitlines() == [
        "broken.py:4: error: syntax error: invalid syntax",
        "missing.py: error: cannot read: No such file or directory",
    ]


def test_no_syntax_check_where_nothing_can_be_compiled(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file whose text holds no compiled-code token (`.function`, an imported `function`,
    `.map(`-style calls, a Keras step `def`) is never parsed, as a file that never names
    TensorFlow is not: no finding can hide behind its syntax error, and other tools report
    it. A broken file that could hold compiled code is reported (above)."""
    write(tree, "no_compiled.py", "import tensorflow as tf\n\ndef f(:\n    pass\n")
    write(tree, "no_tf.py", "def f(:\n    pass\n")
    assert check(capsys, "--quiet", "no_compiled.py", "no_tf.py") == (0, "", "")


def test_syntax_errors_are_findings(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As in ruff: a file that does not parse exits 1, and `--exit-zero` turns it into 0."""
    write(tree, "broken.py", "import tensorflow as tf\nx = tf.function(\n")
    code, _, err = check(capsys, "broken.py")
    assert code == 1 and "broken.py:2: error: syntax error: " in err
    assert check(capsys, "--exit-zero", "broken.py")[0] == 0


def test_statistics(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "a.py")
    write(tree, "b.py", BAD + BAD.replace("def step", "def step2"))
    code, out, _ = check(capsys, "--statistics", "-q", "a.py", "b.py")
    assert code == 1
    assert out.splitlines()[-1] == "     3  TFG101  print-in-tf-function"


def test_statistics_keep_json_parseable(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tree, "a.py")
    code, out, err = check(capsys, "--statistics", "--format", "json", "a.py")
    assert len(json.loads(out)["findings"]) == 1
    assert "TFG101  print-in-tf-function" in err


def test_rules_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from tfgraphlint.rules import ALL_RULES

    assert main(["rules"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == [r.CODE for r in ALL_RULES]
    assert out[0].split()[1] == ALL_RULES[0].NAME


@pytest.mark.parametrize("key", ["TFG101", "tfg101", "print-in-tf-function"])
def test_explain(capsys: pytest.CaptureFixture[str], key: str) -> None:
    assert main(["explain", key]) == 0
    lines = capsys.readouterr().out.splitlines()
    title = "print-in-tf-function (TFG101)"
    assert lines[:4] == [title, "=" * len(title), "", "Severity: warning. Status: on by default."]
    why = lines.index("Why is this bad?")
    assert lines[why - 1 : why + 2] == ["", "Why is this bad?", "----------------"]
    # The docstring's example, its fence gone and its code indented, then a blank line.
    example = lines.index("Example")
    assert lines[example + 1 : example + 6] == [
        "-------",
        "    @tf.function",
        "    def train_step(x):",
        '        print("loss", loss(x))',
        "",
    ]


def test_explain_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    from tfgraphlint.rules import ALL_RULES

    for rule in ALL_RULES:
        assert main(["explain", rule.CODE]) == 0
        page = capsys.readouterr().out
        assert not [
            line
            for line in page.splitlines()
            if line.startswith(("<!--", "```", "#"))
            or ("**" in re.sub(r"`[^`]*`", "", line) and line[:1] != " ")  # bold, not code
        ], rule.CODE
        assert "\n\n\n" not in page and page.endswith("\n") and not page.endswith("\n\n")


def test_explain_markdown_is_the_docs_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "TFG204", "--format", "markdown"]) == 0
    page = capsys.readouterr().out
    assert page == (Path(__file__).parent.parent / "docs" / "rules" / "TFG204.md").read_text(
        encoding="utf-8"
    )


def test_explain_unknown_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "TFG000"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", "tfgraphlint: no rule named `TFG000` (see `tfgraphlint rules`)\n")


@pytest.mark.parametrize(
    ("key", "suggested"),
    [
        ("prnt-in-tf-functon", "`print-in-tf-function`"),
        ("undefined-in-branches", "`undefined-in-branch`"),
        ("TFG1010", "`TFG101` or `TFG110`"),
        ("tfg1o1", "`TFG101`, `TFG110` or `TFG511`"),
    ],
)
def test_explain_did_you_mean(capsys: pytest.CaptureFixture[str], key: str, suggested: str) -> None:
    assert main(["explain", key]) == 2
    assert capsys.readouterr().err == (
        f"tfgraphlint: no rule named `{key}`; did you mean {suggested}? (see `tfgraphlint rules`)\n"
    )


def test_many_files_in_a_process_pool(tmp_path: Path) -> None:
    for i in range(12):
        write(tmp_path, f"pkg/m{i:02}.py", BAD if i % 3 == 0 else GOOD)
    proc = subprocess.run(
        [sys.executable, "-m", "tfgraphlint", "check", "-j", "2", "pkg"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert reported_paths(proc.stdout) == [f"pkg/m{i:02}.py" for i in (0, 3, 6, 9)]
    assert proc.stderr == (
        "tfgraphlint: 4 findings in 4 files (12 files checked); "
        "4 fixable with `--fix --unsafe-fixes`\n"
    )


LOOP = """\
import tensorflow as tf

@tf.function
def step(x):
    for i in tf.range(3):
        x += i
    return x
"""


@pytest.mark.parametrize(
    "argv",
    [["--show-conversions"], ["--select", "TFG590"], ["--extend-select", "TFG590"]],
)
def test_info_findings_never_change_the_exit_code(
    tree: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    write(tree, "loop.py", LOOP)
    code, out, _ = check(capsys, *argv, "loop.py")
    assert "loop.py:5:5: TFG590 " in out
    assert code == 0
    write(tree, "train.py")
    code, out, _ = check(capsys, "--show-conversions", "loop.py", "train.py")
    assert "TFG590" in out and "TFG101" in out
    assert code == 1  # the warning fails the run
