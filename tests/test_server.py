"""The resident server of the flake8 plugin (`tfg-server = true`): real processes, a real
Unix socket, the real flake8; each test stops what it started."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfgraphlint.engine.runner import analyse
from tfgraphlint.frontends import server
from tfgraphlint.frontends.flake8_plugin import plugin_config

pytestmark = pytest.mark.skipif(not server.supported(), reason="POSIX only")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WAIT = 60.0  # seconds for a server to come up (it imports libCST and runs every example)


@pytest.fixture
def folder() -> Iterator[Path]:
    """A short private folder for sockets (a Unix socket path must stay under 108 bytes),
    and every server answering in it stopped afterwards."""
    path = Path(tempfile.mkdtemp(prefix="tfgs"))
    try:
        yield path
    finally:
        for sock in path.glob("*.sock"):
            answer = server.request({"op": "ping"}, sock, timeout=5.0)
            if isinstance(answer, dict) and isinstance(answer.get("pid"), int):
                os.kill(answer["pid"], signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)


def _serve(path: Path, *extra: str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "tfgraphlint", "server", "--socket", str(path), *extra]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.contextmanager
def _serving(path: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """A server at `path`, killed on the way out if it is still running."""
    process = _serve(path, *extra)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for(path: Path) -> dict[str, object]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        answer = server.request({"op": "ping"}, path, timeout=5.0)
        if isinstance(answer, dict):
            return answer
        time.sleep(0.2)
    raise AssertionError(f"no server answered at {path} within {WAIT} s")


def _in_process(path: Path) -> list[list[object]]:
    config = plugin_config({}, ())
    result = analyse(path.read_text(), str(path), config, noqa=False).result
    return [[f.line, f.column, f.code, f.message] for f in result.findings]


def test_answers_as_the_engine_does_then_stops(folder: Path) -> None:
    sock = folder / "s.sock"
    with _serving(sock) as process:
        ping = _wait_for(sock)
        assert ping["pid"] == process.pid
        assert oct(sock.stat().st_mode & 0o777) == oct(0o600)
        checked = 0
        for path in sorted(FIXTURES.glob("*.py")):
            message = {
                "op": "analyse",
                "path": str(path),
                "source": path.read_text(),
                "config": {"changes": {}, "named": []},
            }
            answer = server.request(message, sock)
            assert isinstance(answer, dict)
            assert answer["findings"] == _in_process(path), path.name
            assert answer["errors"] == []
            checked += len(answer["findings"])
        assert checked > 20  # the fixtures hold findings: the comparison is not empty
        stopped = subprocess.run(
            [sys.executable, "-m", "tfgraphlint", "server", "--socket", str(sock), "--stop"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert stopped.returncode == 0, stopped.stderr
        assert process.wait(timeout=30) == 0
        assert not sock.exists()


def test_a_bad_request_loses_only_itself(folder: Path) -> None:
    sock = folder / "s.sock"
    with _serving(sock):
        first = _wait_for(sock)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(str(sock))
            raw.sendall(b"\x00\x00\x00\x05nope!")  # a length, then bytes that are no JSON
            assert raw.recv(10) == b""  # the child dies; the connection closes
        unknown = server.request({"op": "dance"}, sock)
        assert unknown == {"error": "unknown request 'dance'"}
        later = _wait_for(sock)
        assert later["pid"] == first["pid"]
        assert later["served"] == first["served"] + 3  # noqa: PLR2004 (the three above)


def test_a_second_server_leaves_the_first(folder: Path) -> None:
    sock = folder / "s.sock"
    with _serving(sock) as process:
        first = _wait_for(sock)
        second = _serve(sock)
        assert second.wait(timeout=WAIT) == 0  # the lock is held: it exits at once
        assert process.poll() is None
        assert _wait_for(sock)["pid"] == first["pid"]


def test_idles_out(folder: Path) -> None:
    sock = folder / "s.sock"
    with _serving(sock, "--idle-timeout", "3") as process:
        _wait_for(sock)
        assert process.wait(timeout=WAIT) == 0  # about 3 s after the last ping
        assert not sock.exists()


def test_status_without_a_server(folder: Path) -> None:
    sock = folder / "none.sock"
    status = subprocess.run(
        [sys.executable, "-m", "tfgraphlint", "server", "--socket", str(sock), "--status"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 1
    assert f"no server at {sock}" in status.stdout


def test_socket_folder_must_be_private(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private = folder / "private"
    monkeypatch.setenv("TFGRAPHLINT_SERVER_DIR", str(private))
    assert server.socket_dir() == private
    assert private.stat().st_mode & 0o777 == 0o700
    path = server.socket_path()
    assert path is not None and path.parent == private and path.suffix == ".sock"
    shared = folder / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    monkeypatch.setenv("TFGRAPHLINT_SERVER_DIR", str(shared))
    assert server.socket_dir() is None
    assert server.socket_path() is None


def _flake8(cwd: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """flake8's report of `args` under `--select F,TFG` (exit 0 or 1)."""
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "F,TFG", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        input=stdin,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def test_flake8_starts_then_uses_the_server(folder: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES, project, ignore=shutil.ignore_patterns("*.ipynb"))
    (project / "setup.cfg").write_text("[flake8]\ntfg-server = true\n")
    env = {**os.environ, "TFGRAPHLINT_SERVER_DIR": str(folder)}

    def flake8(*args: str) -> str:
        return _flake8(project, env, *args, ".")

    without = flake8("--tfg-server=false")
    assert "TFG101" in without
    assert list(folder.glob("*.sock")) == []  # the option off starts nothing
    first = flake8()  # no server yet: it is started, and flake8 analyses itself
    assert first == without
    sockets = []
    deadline = time.monotonic() + WAIT
    while not sockets and time.monotonic() < deadline:
        sockets = list(folder.glob("*.sock"))
        time.sleep(0.2)
    assert len(sockets) == 1, "flake8 started no server"
    before = _wait_for(sockets[0])
    second = flake8()
    assert second == without
    after = _wait_for(sockets[0])
    assert after["pid"] == before["pid"]
    # one request per file that names TensorFlow, and the ping
    assert isinstance(after["served"], int) and isinstance(before["served"], int)
    assert after["served"] - before["served"] >= 4  # noqa: PLR2004
    # A server killed outright leaves its socket behind: the next run starts another.
    assert isinstance(after["pid"], int)
    os.kill(after["pid"], signal.SIGKILL)
    deadline = time.monotonic() + WAIT
    while server.request({"op": "ping"}, sockets[0], timeout=5.0) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert sockets[0].exists()
    assert flake8() == without
    assert _wait_for(sockets[0])["pid"] != after["pid"]


def test_a_bad_server_option_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import tensorflow as tf\n")
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--tfg-server=maybe", "a.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode != 0
    assert "`tfg-server` must be true or false, got 'maybe'" in done.stdout + done.stderr


@pytest.mark.parametrize("where", ["missing/s.sock", "x" * 120 + ".sock"])
def test_a_socket_it_cannot_serve_at_is_a_clear_error(folder: Path, where: str) -> None:
    sock = folder / where
    done = subprocess.run(
        [sys.executable, "-m", "tfgraphlint", "server", "--socket", str(sock)],
        capture_output=True,
        text=True,
        check=False,
        timeout=WAIT,
    )
    assert done.returncode == 2  # noqa: PLR2004
    assert f"tfgraphlint: cannot serve at {sock}: " in done.stderr
    assert "Traceback" not in done.stderr


def test_the_code_stamp_is_computed_once_per_process() -> None:
    server.code_stamp.cache_clear()
    first = server.code_stamp()
    assert server.code_stamp() == first and len(first) == 16  # noqa: PLR2004
    assert server.code_stamp.cache_info().misses == 1


def _children(pid: int) -> set[int]:
    """The processes `pid` has forked and that still run (Linux's /proc)."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _gone(pids: set[int]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        alive = {p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in _state(p)}
        if not alive:
            return True
        time.sleep(0.1)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def _spares(pid: int) -> set[int]:
    """The server's warm spares, once it has forked them (they wait for a request)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = _children(pid)
        if len(found) >= server.SPARES:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the server forked no spares within {WAIT} s")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc")
@pytest.mark.parametrize("how", ["stop", "SIGKILL"])
def test_spares_do_not_outlive_the_server(folder: Path, how: str) -> None:
    """Spares wait for requests; they answer them (`served` counts each once), and they
    end with the server, whether it stops or is killed outright."""
    sock = folder / "s.sock"
    with _serving(sock) as process:
        first = _wait_for(sock)
        spares = _spares(process.pid)
        path = FIXTURES / "side_effects.py"
        message = {
            "op": "analyse",
            "path": str(path),
            "source": path.read_text(),
            "config": {"changes": {}, "named": []},
        }
        for _ in range(3):  # more requests than spares: each is answered, as in process
            answer = server.request(message, sock)
            assert isinstance(answer, dict) and answer["findings"] == _in_process(path)
        later = _wait_for(sock)
        assert later["served"] == first["served"] + 4  # noqa: PLR2004 (three and the ping)
        spares |= _spares(process.pid)  # the ones forked since, to replace those used
        if how == "stop":
            assert server.request({"op": "stop"}, sock) == {"stopping": process.pid}
            assert process.wait(timeout=30) == 0
        else:
            process.kill()
            process.wait()
        assert _gone(spares), "a spare outlived the server"


def _started(folder: Path, cwd: Path, env: dict[str, str], *args: str) -> Path:
    """Run flake8 with the server option once (it starts the server); its socket."""
    _flake8(cwd, env, "--isolated", "--tfg-server=true", *args)
    deadline = time.monotonic() + WAIT
    while not (sockets := list(folder.glob("*.sock"))):
        assert time.monotonic() < deadline, "flake8 started no server"
        time.sleep(0.2)
    _wait_for(sockets[0])
    return sockets[0]


def test_flake8_sends_a_named_file_early_and_asks_once(folder: Path, tmp_path: Path) -> None:
    # The plugin sends a file named on the command line (an editor's `flake8 path`) when
    # flake8 parses the options, and `run` takes that answer: one request per file, the
    # findings of the in-process engine. From standard input (`flake8 -`) the same.
    shutil.copy(FIXTURES / "side_effects.py", tmp_path / "side_effects.py")
    env = {**os.environ, "TFGRAPHLINT_SERVER_DIR": str(folder)}
    alone = _flake8(tmp_path, env, "--isolated", "--tfg-server=false", "side_effects.py")
    assert "TFG102" in alone
    sock = _started(folder, tmp_path, env, "side_effects.py")
    text = (tmp_path / "side_effects.py").read_text()
    for args, stdin in [
        (("side_effects.py",), None),
        (("--stdin-display-name", "side_effects.py", "-"), text),
    ]:
        before = _wait_for(sock)["served"]
        found = _flake8(tmp_path, env, "--isolated", "--tfg-server=true", *args, stdin=stdin)
        assert found == alone
        after = _wait_for(sock)["served"]
        assert isinstance(before, int) and isinstance(after, int)
        assert after - before == 2  # noqa: PLR2004 (one analysis, and this ping)


def _keep_plugin_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flake8 plugin's class state (what `parse_options` sets), restored after the test."""
    from tfgraphlint.frontends.flake8_plugin import Flake8Deferred, Flake8Plugin

    names = ("_changes", "_config", "_needles", "_named", "_selected", "_server", "_early")
    for name in names:
        monkeypatch.setattr(Flake8Plugin, name, getattr(Flake8Plugin, name))
    monkeypatch.setattr(Flake8Deferred, "loaded", Flake8Deferred.loaded)


def test_the_early_answer_is_used_only_for_the_text_flake8_checks(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In process: `parse_options` sends the named file; `run` takes its answer when flake8
    # hands over the same text, and asks the server again when the file changed between.

    _keep_plugin_state(monkeypatch)
    path = tmp_path / "side_effects.py"
    shutil.copy(FIXTURES / "side_effects.py", path)
    monkeypatch.setenv("TFGRAPHLINT_SERVER_DIR", str(folder))
    # A server at the socket this process asks (a flake8 subprocess may import tfgraphlint
    # from elsewhere, an installed copy, and name another socket).
    sock = server.socket_path()
    assert sock is not None
    with _serving(sock):
        _wait_for(sock)
        _early_answer_is_used_only_for_the_same_text(path)


def _early_answer_is_used_only_for_the_same_text(path: Path) -> None:
    import argparse

    from tfgraphlint.frontends.flake8_plugin import Flake8Plugin

    options = argparse.Namespace(
        filenames=[str(path)], tfg_server="true", select=["F", "TFG"], extend_select=None
    )
    Flake8Plugin.parse_options(options)
    early = Flake8Plugin._early[str(path)]
    assert early.sock is not None  # sent, not yet read
    lines = path.read_text().splitlines(keepends=True)
    plugin = Flake8Plugin(None, lines, str(path))  # type: ignore[arg-type]
    found = [(line, col + 1, text) for line, col, text, _ in plugin.run()]
    assert str(path) not in Flake8Plugin._early  # taken
    expected = _in_process(path)
    assert [(f[0], f[1], f"{f[2]} {f[3]}") for f in expected] == found
    assert early.answered and early.answer is not None
    # The text changed after the early request: its answer is not used.
    Flake8Plugin.parse_options(options)
    unused = Flake8Plugin._early[str(path)]
    edited = [*lines, "\n\n@tf.function\ndef late(x):\n    print(x)\n    return x\n"]
    again = list(Flake8Plugin(None, edited, str(path)).run())  # type: ignore[arg-type]
    assert len(again) == len(found) + 1
    assert str(path) not in Flake8Plugin._early
    assert not unused.answered and unused.sock is not None and unused.sock.fileno() == -1


_TAILS = {  # what may follow a module's last statement, or how it ends
    "plain": "",
    "comments and blank lines after": "\n# the end\n\n#   really\n\n\n",
    "a compound statement last": "\nif __name__ == '__main__':\n    for k in range(2):\n"
    "        pass  # noqa\n",
    "no final newline": "\nx = (1,\n     2)",
    "a form feed before the last statement": "\n\x0c\ny = 2\n",
    "CRLF line endings": "\r\n",  # the whole file's, see below
}


@pytest.mark.parametrize("tail", sorted(_TAILS))
@pytest.mark.parametrize("answer", ["late", "after run", "none"])
def test_findings_left_to_the_end_of_the_file_are_reported(
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tail: str,
    answer: str,
) -> None:
    # With the server, `run` leaves the findings of a file whose answer has not come to
    # `Flake8Deferred` (flake8 goes on with its token checks meanwhile), which reports them
    # at their own lines: at the module's last statement when the answer comes "late" (it
    # waits there), on the next logical line when it came "after run", and from the engine
    # in process when no server answered ("none"). flake8 in this process, with a real
    # server: the report is the plugin's without the server (noqa comments applied).
    from flake8.main.cli import main

    from tfgraphlint.frontends import flake8_plugin
    from tfgraphlint.frontends.flake8_plugin import _Early

    _keep_plugin_state(monkeypatch)
    text = (
        (FIXTURES / "side_effects.py")
        .read_text()
        .replace("    print(", "    print(  # noqa: TFG102\n        ", 1)
    )
    path = tmp_path / "side_effects.py"
    if tail == "CRLF line endings":
        path.write_bytes(text.replace("\n", "\r\n").encode())
    else:
        path.write_text(text + _TAILS[tail])
    monkeypatch.setenv("TFGRAPHLINT_SERVER_DIR", str(folder))
    args = ["--isolated", "--select", "F,TFG", str(path)]
    assert main([*args, "--tfg-server=false"]) == 1
    alone = capsys.readouterr().out
    assert "TFG102" in alone and alone.count("\n") >= 3  # noqa: PLR2004

    deferred: list[str] = []

    class Recorded(dict[str, object]):
        def __setitem__(self, key: str, value: object) -> None:
            deferred.append(key)
            super().__setitem__(key, value)

    monkeypatch.setattr(flake8_plugin, "_DEFERRED", Recorded())
    asked: list[bool] = []

    def ready(self: _Early) -> bool:
        asked.append(True)
        return answer == "after run" and len(asked) > 1

    monkeypatch.setattr(_Early, "ready", ready)
    if answer == "none":
        monkeypatch.setattr(server, "analysis_answer", lambda sock, path: None)
    sock = server.socket_path()
    assert sock is not None
    with _serving(sock):
        served = _wait_for(sock)["served"]
        assert main([*args, "--tfg-server=true"]) == 1
        assert capsys.readouterr().out == alone
        assert deferred == [str(path)]
        assert not flake8_plugin._DEFERRED  # reported
        if answer == "after run":
            assert len(asked) == 2  # noqa: PLR2004 (`run`, then the first logical line)
        else:
            assert len(asked) > 10  # noqa: PLR2004 (every logical line up to the last)
        after = _wait_for(sock)["served"]
        assert isinstance(served, int) and isinstance(after, int)
        assert after - served == 2  # noqa: PLR2004 (the early request, and this ping)
