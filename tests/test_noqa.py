"""Suppression comments: flake8's semantics, identical in `tfgraphlint check` and under flake8."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tfgraphlint.engine import noqa
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.frontends.cli import main

CASES = Path(__file__).parent / "data" / "noqa_cases.py"

STEP = """\
import tensorflow as tf

@tf.function
def step(x):
    print(x){comment}
    return x
"""


def expected_lines(path: Path) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [i for i, line in enumerate(lines, start=1) if line.endswith("# expect: TFG101")]


def cli_lines(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[int]:
    main(["check", "--isolated", "--no-cache", "--exit-zero", *extra, str(path)])
    out = capsys.readouterr().out
    return [int(m.group(1)) for m in re.finditer(r"^[^:]+:(\d+):\d+: TFG101 ", out, re.M)]


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("", False),
        ("  # noqa", True),
        ("  # NoQA", True),
        ("  # noqa: TFG101", True),
        ("  # noqa:TFG101", True),
        ("  # noqa: TFG1", True),
        ("  # noqa: TFG", True),
        ("  # noqa: E501, TFG101", True),
        ("  # noqa: TFG2", False),
        ("  # noqa: TFG1011", False),
        ("  # noqa: tfg101", False),
        ("  # noqa : TFG2", True),  # not a code list: a blanket noqa, as in flake8
    ],
)
def test_inline_comment(comment: str, suppressed: bool) -> None:
    result = lint_source(STEP.format(comment=comment), "step.py")
    assert [f.line for f in result.findings] == ([] if suppressed else [5])


def test_noqa_can_be_disabled() -> None:
    source = STEP.format(comment="  # noqa")
    assert [f.line for f in lint_source(source, "step.py", noqa=False).findings] == [5]


@pytest.mark.parametrize("header", ["# flake8: noqa", "# FLAKE8= NOQA", "# flake8: noqa: E501"])
def test_file_level_noqa_skips_the_file(header: str) -> None:
    source = header + "\n" + STEP.format(comment="")
    assert lint_source(source, "step.py").findings == []
    assert [f.line for f in lint_source(source, "step.py", noqa=False).findings] == [6]


def test_file_level_noqa_must_start_its_line() -> None:
    source = "x = 1  # flake8: noqa\n" + STEP.format(comment="")
    assert [f.line for f in lint_source(source, "step.py").findings] == [6]


def test_token_ranges_follow_flake8() -> None:
    source = 'x = """a\nb"""  # noqa\ny = (1,\n     2)  # noqa\nz = 1 + \\\n    2  # noqa\n'
    mapping = noqa.noqa_lines(source)
    assert mapping[1] == mapping[2] == 'x = """a\nb"""  # noqa\n'
    assert mapping[3] == "y = (1,\n"
    assert mapping[5] == mapping[6] == "z = 1 + \\\n    2  # noqa\n"


def test_untokenizable_source_uses_physical_lines() -> None:
    assert noqa.noqa_lines('x = """never closed\n') == {}


def test_cases_file_in_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_lines(CASES, capsys) == expected_lines(CASES)
    every_print = cli_lines(CASES, capsys, "--disable-noqa")
    assert len(every_print) == CASES.read_text(encoding="utf-8").count("    print(")


def test_cases_file_identical_under_flake8(capsys: pytest.CaptureFixture[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "TFG", str(CASES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    flake8_lines = [int(m.group(1)) for m in re.finditer(r":(\d+):\d+: TFG101 ", proc.stdout)]
    assert flake8_lines == expected_lines(CASES) == cli_lines(CASES, capsys)


# A compiled body with a TFG101 (`print`) and a TFG102 (a `global` mutated) on one line each.
TWO_RULES = """\
import tensorflow as tf

count = 0


@tf.function
def step(x):
    global count
    print(x){print_comment}
    count += 1{count_comment}
    return x
"""


@pytest.mark.parametrize(
    ("print_comment", "left"),
    [
        ("  # noqa: print-in-tf-function", []),
        ("  # noqa: PRINT-IN-TF-FUNCTION", []),
        ("  # noqa:print-in-tf-function", []),
        ("  # noqa: E501, print-in-tf-function", []),
        ("  # noqa: python-side-effect", [9]),  # another rule's name
        ("  # noqa: python-side-effect,print-in-tf-function", []),
        ("  # noqa: print-in-tf-function TFG102", []),
        # Not a rule's name: a blanket noqa, as flake8 reads it.
        ("  # noqa: print-in-tf-functions", []),
        ("  # noqa: print-in-tf", []),
    ],
)
def test_rule_names_stand_for_their_codes(print_comment: str, left: list[int]) -> None:
    source = TWO_RULES.format(print_comment=print_comment, count_comment="")
    found = [(f.line, f.code) for f in lint_source(source, "step.py").findings]
    assert [line for line, code in found if code == "TFG101"] == left
    assert [line for line, code in found if code == "TFG102"] == [10]


def test_a_name_silences_only_its_rule(tmp_path: Path) -> None:
    """In the CLI `# noqa: python-side-effect` silences TFG102 only; flake8, which does not know
    names, reads it as a blanket `# noqa` and silences both (the README says so)."""
    line = "    print(x); count += 1  # noqa: python-side-effect"
    source = TWO_RULES.format(print_comment="", count_comment="").replace(
        "    print(x)\n    count += 1\n", line + "\n"
    )
    codes = [f.code for f in lint_source(source, "step.py").findings]
    assert codes == ["TFG101"]
    (tmp_path / "step.py").write_text(source, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "TFG", "step.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
    both = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "TFG", "--disable-noqa"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert sorted(re.findall(r"TFG10\d", both.stdout)) == ["TFG101", "TFG102"]


def test_multi_line_statements_as_the_readme_says() -> None:
    """A comment covers the line where a finding starts; lines inside brackets are lines of
    their own; a string or a backslash continuation makes one line of several."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    said = " ".join(readme.split("## Suppression", 1)[1].split("##", 1)[0].split())
    assert "a `# noqa` on the closing line does not cover the first" in said
    assert "only a string or a backslash continuation spanning several lines" in said
    head = "import tensorflow as tf\n\n@tf.function\ndef f(x):\n"
    bracketed = head + "    print(\n        x,\n    )  # noqa\n"
    assert [f.line for f in lint_source(bracketed, "f.py").findings] == [5]
    on_first = head + "    print(  # noqa\n        x,\n    )\n"
    assert lint_source(on_first, "f.py").findings == []
    string = head + '    print("""a\n    b""")  # noqa\n'
    assert lint_source(string, "f.py").findings == []
    continued = head + "    print(x) if x else \\\n        None  # noqa\n"
    assert lint_source(continued, "f.py").findings == []
