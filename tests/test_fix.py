"""`tfgraphlint check --fix` / `--diff` / `--unsafe-fixes`, and the engine that applies fixes."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import libcst as cst
import pytest

from tfgraphlint._types import Edit, FileError, Finding, Fix, LintResult, Severity
from tfgraphlint.config import Config
from tfgraphlint.engine.cache import ResultCache
from tfgraphlint.engine.fixes import apply_fixes, fix_text
from tfgraphlint.frontends.cli import main
from tfgraphlint.rules.deprecated_tf_function_argument import DeprecatedTfFunctionArgument

OLD = """\
import tensorflow as tf


@tf.function(experimental_relax_shapes=True)
def step(x):
    print("x", x)
    return x * 2
"""
SAFE_FIXED = OLD.replace("experimental_relax_shapes", "reduce_retracing")
ALL_FIXED = SAFE_FIXED.replace('print("x"', 'tf.print("x"')


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def parses(text: str) -> bool:
    ast.parse(text)
    cst.parse_module(text)
    return True


# ---------------------------------------------------------------------- --fix
def test_fix_applies_safe_fixes_only(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "step.py"
    path.write_text(OLD, encoding="utf-8")
    code, out, err = check(capsys, "--no-cache", "--fix", "step.py")
    assert path.read_text(encoding="utf-8") == SAFE_FIXED and parses(SAFE_FIXED)
    assert code == 1  # the print is left: its fix is unsafe
    assert out.splitlines() == [
        "step.py:6:5: TFG101 `print()` in tf.function `step` runs only while tracing, "
        "not on every call; use `tf.print()`"
    ]
    assert err == (
        "tfgraphlint: 1 finding in 1 file (1 file checked); 1 fixed; "
        "1 hidden fix can be enabled with the `--unsafe-fixes` option\n"
    )


def test_unsafe_fixes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "step.py"
    path.write_text(OLD, encoding="utf-8")
    code, out, err = check(capsys, "--no-cache", "--fix", "--unsafe-fixes", "step.py")
    assert (code, out) == (0, "")
    assert path.read_text(encoding="utf-8") == ALL_FIXED
    assert err == "tfgraphlint: 0 findings in 0 files (1 file checked); 2 fixed\n"


def test_text_output_marks_fixable_findings(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "step.py").write_text(OLD, encoding="utf-8")
    code, out, err = check(capsys, "--no-cache", "step.py")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("step.py:4:14: TFG204 [*] `tf.function` argument")
    assert lines[1].startswith("step.py:6:5: TFG101 `print()`")  # unsafe: not shown as fixable
    assert err.endswith("; 1 fixable with `--fix` (1 more with `--unsafe-fixes`)\n")
    _, out, _ = check(capsys, "--no-cache", "--unsafe-fixes", "step.py")
    assert out.splitlines()[1].startswith("step.py:6:5: TFG101 [*] `print()`")
    assert (tree / "step.py").read_text(encoding="utf-8") == OLD  # --unsafe-fixes alone: shown


def test_json_carries_the_fix(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / "step.py").write_text(OLD, encoding="utf-8")
    _, out, _ = check(capsys, "--no-cache", "--format", "json", "step.py")
    tfg204, tfg101 = json.loads(out)["findings"]
    assert tfg204["fix"] == {
        "applicability": "safe",
        "title": "Rename `experimental_relax_shapes` to `reduce_retracing`",
        "edits": [
            {
                "line": 4,
                "column": 14,
                "end_line": 4,
                "end_column": 39,
                "content": "reduce_retracing",
            }
        ],
    }
    assert tfg101["fix"]["applicability"] == "unsafe"
    assert Finding.from_json(tfg204).fix == Fix.from_json(tfg204["fix"])


def test_nothing_to_fix(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "clean.py"
    path.write_text(ALL_FIXED, encoding="utf-8")
    before = path.stat().st_mtime_ns
    assert check(capsys, "--no-cache", "--fix", "clean.py")[0] == 0
    assert path.stat().st_mtime_ns == before  # not rewritten


def test_fix_and_diff_count_the_hidden_unsafe_fixes(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    note = "can be enabled with the `--unsafe-fixes` option"
    path = tree / "step.py"
    path.write_text(SAFE_FIXED + SAFE_FIXED.replace("def step", "def step2"), encoding="utf-8")
    code, _, err = check(capsys, "--no-cache", "--diff", "step.py")
    assert (code, err) == (0, f"tfgraphlint: nothing to fix; 2 hidden fixes {note}\n")
    code, out, err = check(capsys, "--no-cache", "--fix", "step.py")
    assert (code, out.count("TFG101")) == (1, 2)
    assert err == (
        f"tfgraphlint: 2 findings in 1 file (1 file checked); 0 fixed; 2 hidden fixes {note}\n"
    )
    path.write_text(SAFE_FIXED, encoding="utf-8")
    _, _, err = check(capsys, "--no-cache", "--diff", "step.py")
    assert err == f"tfgraphlint: nothing to fix; 1 hidden fix {note}\n"
    _, _, err = check(capsys, "--no-cache", "--diff", "--unsafe-fixes", "step.py")
    assert err == "tfgraphlint: would fix 1 finding in 1 file\n"
    _, _, err = check(capsys, "--no-cache", "--fix", "--unsafe-fixes", "step.py")
    assert err == "tfgraphlint: 0 findings in 0 files (1 file checked); 1 fixed\n"


# ---------------------------------------------------------------------- --diff
def test_diff_writes_nothing(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "step.py"
    path.write_text(OLD, encoding="utf-8")
    code, out, err = check(capsys, "--no-cache", "--diff", "step.py")
    assert code == 1
    assert path.read_text(encoding="utf-8") == OLD
    assert out == (
        "--- step.py\n"
        "+++ step.py\n"
        "@@ -1,7 +1,7 @@\n"
        " import tensorflow as tf\n"
        " \n"
        " \n"
        "-@tf.function(experimental_relax_shapes=True)\n"
        "+@tf.function(reduce_retracing=True)\n"
        " def step(x):\n"
        '     print("x", x)\n'
        "     return x * 2\n"
    )
    assert err == (
        "tfgraphlint: would fix 1 finding in 1 file; "
        "1 hidden fix can be enabled with the `--unsafe-fixes` option\n"
    )
    code, out, _ = check(capsys, "--no-cache", "--diff", "--unsafe-fixes", "step.py")
    assert code == 1 and '+    tf.print("x", x)\n' in out
    assert path.read_text(encoding="utf-8") == OLD
    path.write_text(ALL_FIXED, encoding="utf-8")
    assert check(capsys, "--no-cache", "--diff", "step.py") == (
        0,
        "",
        "tfgraphlint: nothing to fix\n",
    )


# ---------------------------------------------------------------------- bytes kept
@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("crlf", lambda text: text.replace("\n", "\r\n").encode()),
        ("bom", lambda text: b"\xef\xbb\xbf" + text.encode()),
        (
            "latin-1",
            lambda text: ("# -*- coding: latin-1 -*-\n# café\n" + text).encode("latin-1"),
        ),
        ("bom-crlf-no-final-newline", lambda text: ("\ufeff" + text.rstrip("\n")).encode()),
        ("mixed-endings", lambda text: text.replace("\n", "\r\n", 2).encode()),
    ],
)
def test_encoding_bom_and_line_endings_kept(
    tree: Path, capsys: pytest.CaptureFixture[str], name: str, encode: object
) -> None:
    assert callable(encode)
    path = tree / f"{name.replace('-', '_')}.py"
    path.write_bytes(encode(OLD))
    check(capsys, "--no-cache", "--fix", "--unsafe-fixes", path.name)
    assert path.read_bytes() == encode(ALL_FIXED)


def test_file_mode_kept(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "script.py"
    path.write_text(OLD, encoding="utf-8")
    path.chmod(0o751)
    check(capsys, "--no-cache", "--fix", "script.py")
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert path.read_text(encoding="utf-8") == SAFE_FIXED
    assert [p.name for p in tree.iterdir() if p.name.endswith(".tfgfix")] == []


def test_read_only_file_is_refused(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Decided from the mode bits: as root, `os.access` calls every file writable."""
    path = tree / "frozen.py"
    path.write_text(OLD, encoding="utf-8")
    path.chmod(0o444)
    other = tree / "other.py"
    other.write_text(OLD, encoding="utf-8")
    code, _, err = check(capsys, "--no-cache", "-q", "--fix", "frozen.py", "other.py")
    assert path.read_text(encoding="utf-8") == OLD
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert other.read_text(encoding="utf-8") == SAFE_FIXED  # the run goes on
    assert err == (
        "frozen.py: error: cannot write the fixes: the file is read-only (no write bit in its "
        "mode); the file is left unchanged\n"
    )
    assert code == 2
    assert [p.name for p in tree.iterdir() if p.name.endswith(".tfgfix")] == []


def test_owner_and_hard_links_kept(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "shared.py"
    path.write_text(OLD, encoding="utf-8")
    link = tree / "link.py"
    os.link(path, link)
    before = path.stat()
    if os.geteuid() == 0:  # as root, the file of another user must stay theirs
        os.chown(path, 65534, 65534)
    owner = path.stat().st_uid, path.stat().st_gid
    check(capsys, "--no-cache", "--fix", "shared.py")
    after = path.stat()
    assert path.read_text(encoding="utf-8") == SAFE_FIXED
    assert (after.st_ino, after.st_nlink) == (before.st_ino, 2)
    assert link.read_text(encoding="utf-8") == SAFE_FIXED  # the same file, fixed once
    assert (after.st_uid, after.st_gid) == owner
    assert [p.name for p in tree.iterdir() if p.name.endswith(".tfgfix")] == []


def test_fix_through_a_symlink_fixes_its_target(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tree / "real.py"
    target.write_text(OLD, encoding="utf-8")
    (tree / "alias.py").symlink_to(target)
    check(capsys, "--no-cache", "--fix", "alias.py")
    assert (tree / "alias.py").is_symlink()
    assert target.read_text(encoding="utf-8") == SAFE_FIXED


PARENT = """\
import sys

from tfgraphlint.frontends.cli import main

sys.exit(main(["check", "--no-cache", "-q", "--fix", "-j", "2", "src"]))
"""


def _children(pid: int) -> set[int]:
    """Live children of `pid` (zombies are dead: nobody may be left to reap them)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_pool_workers_die_with_the_parent(tmp_path: Path) -> None:
    """`kill -9` of a `--fix -j 2` run, for real: its pool workers must not go on fixing."""
    src = tmp_path / "src"
    src.mkdir()
    body = OLD + "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(300))
    for i in range(400):
        (src / f"m{i:03}.py").write_text(body, encoding="utf-8")
    (tmp_path / "parent.py").write_text(PARENT, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, "parent.py"], cwd=tmp_path)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and parent.poll() is None and time.monotonic() < deadline:
            workers = _children(parent.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "the run ended before its pool started"
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "pool workers outlived their parent"
    finally:
        for worker in workers:  # only if the test failed: they are ours to end
            with contextlib.suppress(OSError):
                os.kill(worker, signal.SIGKILL)
        parent.kill()
        parent.wait()


# ---------------------------------------------------------------------- safety
def _breaking_rename(self: DeprecatedTfFunctionArgument, call: object, keyword: cst.Name) -> Fix:
    return Fix.safe("break it", self.edit(keyword, "reduce_retracing=("))


def test_fix_that_breaks_syntax_is_refused(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(DeprecatedTfFunctionArgument, "_rename", _breaking_rename)
    bad, good = tree / "bad.py", tree / "good.py"
    bad.write_text(OLD, encoding="utf-8")
    good.write_text(OLD.replace("experimental_relax_shapes=True", "jit_compile=True"), "utf-8")
    good.write_text(good.read_text(encoding="utf-8").replace('print("x", x)', "pass"), "utf-8")
    code, out, err = check(capsys, "--fix", "bad.py", "good.py")
    assert code == 2
    assert bad.read_text(encoding="utf-8") == OLD
    assert "bad.py:4:14: TFG204 [*] " in out  # the findings are still reported
    assert "bad.py: error: fix refused: the fixes of TFG204 would give code that does not" in err
    assert "1 file with errors" in err
    # The refusal belongs to this run: a later plain check neither reports nor caches it.
    code, _, err = check(capsys, "bad.py")
    assert code == 1 and "error" not in err


def test_fixes_that_never_converge_are_refused(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def grow(self: DeprecatedTfFunctionArgument, call: object, keyword: cst.Name) -> Fix:
        return Fix.safe("grow", self.insert_before(keyword, " "))

    monkeypatch.setattr(DeprecatedTfFunctionArgument, "_rename", grow)
    (tree / "step.py").write_text(OLD, encoding="utf-8")
    code, _, err = check(capsys, "--no-cache", "--fix", "step.py")
    assert code == 2 and "fixes did not converge after 10 passes" in err
    assert (tree / "step.py").read_text(encoding="utf-8") == OLD


def _finding(line: int, column: int, end_column: int, content: str) -> Finding:
    fix = Fix.safe("edit", Edit(line, column, line, end_column, content))
    return Finding(
        "m.py", line, column, line, end_column, "TFG999", "x", Severity.INFO, "", fix=fix
    )


def test_overlapping_edits_wait_for_the_next_pass() -> None:
    text = "abcdef\nghi\n"
    findings = [
        _finding(1, 1, 4, "X"),  # abc -> X
        _finding(1, 3, 6, "Y"),  # cde: overlaps, left for the next pass
        _finding(2, 1, 1, ">"),  # an insertion
        _finding(2, 1, 1, "<"),  # another at the same point: order unknown, left
        _finding(1, 1, 4, "X"),  # the same fix twice: applied once
        _finding(9, 1, 1, "?"),  # outside the text: never applied
    ]
    new, fixed = apply_fixes(text, findings, unsafe=False)
    assert new == "Xdef\n>ghi\n"
    assert fixed == ["TFG999", "TFG999"]


def test_unsafe_fixes_need_the_flag() -> None:
    unsafe = Finding(
        "m.py", 1, 1, 1, 2, "TFG999", "x", Severity.INFO, "m",
        fix=Fix.unsafe("edit", Edit(1, 1, 1, 2, "b")),
    )  # fmt: skip
    assert apply_fixes("a\n", [unsafe], unsafe=False) == ("a\n", [])
    assert apply_fixes("a\n", [unsafe], unsafe=True) == ("b\n", ["TFG999"])


def test_fix_text_applies_fixes_from_a_sliced_analysis() -> None:
    # The slicer blanks the unrelated statements above; the edits still land in the original.
    source = "import os\n\nprint(os.sep)\n\n\n" + OLD
    outcome = fix_text(source, "m.py", Config(), unsafe=True)
    assert outcome.text == "import os\n\nprint(os.sep)\n\n\n" + ALL_FIXED
    assert outcome.fixed == ["TFG204", "TFG101"] and outcome.result.findings == []


# ---------------------------------------------------------------------- cache
def test_cache_keeps_fixes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / "step.py"
    path.write_text(OLD, encoding="utf-8")
    check(capsys, "step.py")  # fills the cache
    (entries,) = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in (tree / ".tfgraphlint_cache").rglob("*.json")
    ]
    cached = entries["step.py"]["findings"]
    assert cached[0]["fix"]["edits"][0]["content"] == "reduce_retracing"
    _, out, err = check(capsys, "step.py")  # from the cache: still marked fixable
    assert "TFG204 [*]" in out and "1 fixable with `--fix`" in err
    code, _, err = check(capsys, "--fix", "step.py")  # fixes from the cached findings
    assert path.read_text(encoding="utf-8") == SAFE_FIXED and "1 fixed" in err
    code, out, _ = check(capsys, "step.py")  # the cache describes the new content
    assert code == 1 and "TFG204" not in out and "TFG101" in out


def test_cache_round_trip_of_a_fix(tmp_path: Path) -> None:
    fix = Fix.unsafe("t", Edit(1, 2, 3, 4, "x"), Edit(5, 6, 5, 6, "\n"))
    finding = Finding("a.py", 1, 2, 3, 4, "TFG101", "n", Severity.WARNING, "m", "f", fix)
    cache = ResultCache(tmp_path, "d")
    cache.put("a.py", "sha", LintResult("a.py", [finding]))
    cache.save()
    hit = ResultCache(tmp_path, "d").get("a.py", "sha")
    assert hit is not None and hit.findings == [finding]


def test_fix_errors_are_not_cached(tmp_path: Path) -> None:
    from tfgraphlint.frontends.fixing import FileFix, _cacheable

    error = FileError("a.py", "fix refused", None, "fix")
    assert not _cacheable(FileFix(LintResult("a.py", errors=[error])))


# ---------------------------------------------------------------------- stdin
def test_stdin_fix_prints_the_fixed_source(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(OLD.encode())))
    code, out, err = check(capsys, "--fix", "-", "--stdin-filename", "step.py")
    assert out == SAFE_FIXED
    assert code == 1
    assert err.startswith("step.py:6:5: TFG101 `print()`")  # the report goes to stderr
    assert err.endswith("1 fixed; 1 hidden fix can be enabled with the `--unsafe-fixes` option\n")


def test_stdin_diff(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(OLD.encode())))
    code, out, _ = check(capsys, "--diff", "-")
    assert code == 1 and out.startswith("--- <stdin>\n+++ <stdin>\n")


def test_stdin_unchanged_when_nothing_to_fix(
    tree: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"x = 1\r\n")))
    assert check(capsys, "-q", "--fix", "-") == (0, "x = 1\r\n", "")


# ---------------------------------------------------------------------- real CLI, pool
def test_fix_in_a_process_pool(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"m{i:02}.py").write_text(OLD, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "tfgraphlint", "check", "--fix", "-j", "2", "."],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert all(p.read_text(encoding="utf-8") == SAFE_FIXED for p in tmp_path.glob("m*.py"))
    assert "12 findings in 12 files (12 files checked); 12 fixed" in proc.stderr


def test_flake8_plugin_never_fixes(tmp_path: Path) -> None:
    from tfgraphlint.frontends.flake8_plugin import Flake8Plugin

    path = tmp_path / "step.py"
    path.write_text(OLD, encoding="utf-8")
    plugin = Flake8Plugin(ast.parse(OLD), OLD.splitlines(keepends=True), str(path))
    messages = [m for _, _, m, _ in plugin.run()]
    assert messages and not any("[*]" in m for m in messages)
    assert path.read_text(encoding="utf-8") == OLD


def test_a_stale_cached_result_is_not_used(tmp_path: Path) -> None:
    from tfgraphlint.frontends.fixing import FixJob, fix_file

    path = tmp_path / "step.py"
    path.write_text(OLD, encoding="utf-8")
    stale = LintResult(str(path), [_finding(1, 1, 7, "BROKEN")])  # of other bytes
    job = FixJob(str(path), Config(), True, False, True, stale, "digest of other bytes")
    outcome = fix_file(job)
    assert path.read_text(encoding="utf-8") == SAFE_FIXED
    assert outcome.fixed == ["TFG204"]
