"""A resident analysis process for editors: `tfgraphlint server`, used by the flake8 plugin
when flake8's config says `tfg-server = true`.

An editor runs flake8 on every save, each time in a new process, and importing libCST and
the rules costs more than analysing a file (`benchmarks/README.md`). With the server on, the
plugin sends each file to a process that has all of that imported, and gets the findings
back. When none is running, the plugin starts one in the background and analyses the file
itself, as without the option: a run never waits for the server, and a server that cannot
start, or fails, costs nothing but its own attempt.

Each request is answered by a child forked from the warm server, so requests run in parallel
(flake8 `-j`), a crash or a hang (killed after `REQUEST_TIMEOUT` seconds) loses one answer,
which the plugin then computes itself, and nothing a request reads from disk (the package that
re-exports `tf`) outlives it. The server exits after `--idle-timeout` seconds without a
request (default 15 minutes).

The socket lives in a folder only the user can open (`$TFGRAPHLINT_SERVER_DIR`, else
`$XDG_RUNTIME_DIR/tfgraphlint`, else `tfgraphlint-<uid>` in the temporary folder), and its name
is a stamp of the interpreter, of tfgraphlint's files and of libCST's: after an upgrade or an
edit of tfgraphlint, the plugin starts a new server and the old one idles out. POSIX only
(`fork`, Unix sockets); elsewhere the option does nothing.

The protocol: one request per connection, each message a 4-byte big-endian length and that
many bytes of JSON. `{"op": "analyse", "path", "source", "config"}` answers `{"findings":
[[line, column, code, message], ...], "errors": [[line, message], ...]}` (internal errors
only, as the plugin reports them); `{"op": "ping"}` answers the server's pid and how many
requests it has taken; `{"op": "stop"}` stops it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import importlib.util
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from tfgraphlint import __version__

IDLE_TIMEOUT = 900.0  # seconds without a request before the server exits
REQUEST_TIMEOUT = 120  # seconds a forked child may take to answer before it is killed
CLIENT_TIMEOUT = 60.0  # seconds the plugin waits for an answer before analysing itself
_MAX_MESSAGE = 256 * 1024 * 1024
_HEADER = struct.Struct(">I")


def supported() -> bool:
    """Whether this platform can run the server (fork and Unix sockets)."""
    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX")


@functools.cache
def code_stamp() -> str:
    """A stamp of what computes the findings, from file sizes and times (no file is read):
    the interpreter, tfgraphlint's Python files, and libCST's location and version file.
    Once per process (a flake8 run asks for every file that names TensorFlow)."""
    package = Path(__file__).resolve().parent.parent
    executable = os.path.realpath(sys.executable)
    digest = hashlib.sha256(f"{__version__}\0{executable}\0{sys.version}".encode())
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                with contextlib.suppress(OSError):
                    st = os.stat(os.path.join(folder, name))
                    digest.update(f"{folder}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    spec = importlib.util.find_spec("libcst")
    if spec is not None and spec.origin:
        for name in ("__init__.py", "_version.py"):
            with contextlib.suppress(OSError):
                st = os.stat(Path(spec.origin).parent / name)
                digest.update(f"{spec.origin}\0{name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def socket_dir() -> Path | None:
    """The folder of the server's socket, created private (mode 0700); None when it exists
    but another user owns it or others can open it (then the server is not used)."""
    base = os.environ.get("TFGRAPHLINT_SERVER_DIR")
    if base:
        folder = Path(base)
    elif os.environ.get("XDG_RUNTIME_DIR"):
        folder = Path(os.environ["XDG_RUNTIME_DIR"], "tfgraphlint")
    else:
        import tempfile

        folder = Path(tempfile.gettempdir(), f"tfgraphlint-{os.getuid()}")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return folder


def socket_path() -> Path | None:
    """Where this code's server listens (None: no private folder for it)."""
    folder = socket_dir()
    return None if folder is None else folder / f"{code_stamp()}.sock"


# ---------------------------------------------------------------------------- messages
def _send(sock: socket.socket, message: Mapping[str, Any]) -> None:
    data = json.dumps(message).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed in the middle of a message")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket) -> Any:
    (size,) = _HEADER.unpack(_receive_exactly(sock, _HEADER.size))
    if size > _MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes")
    return json.loads(_receive_exactly(sock, size))


# ---------------------------------------------------------------------------- client
def request(message: Mapping[str, Any], path: Path, timeout: float = CLIENT_TIMEOUT) -> Any:
    """Send one request to the server at `path` and return its answer; None when no server
    answers (none running, a dead socket, a timeout, a malformed answer)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            _send(sock, message)
            return _receive(sock)
    except (OSError, ValueError):
        return None


_started: set[Path] = set()  # the servers this process has started


def _lock(path: Path) -> IO[str] | None:
    """The server lock of the socket `path`, taken (held until the file is closed); None
    when a server holds it."""
    import fcntl

    lock = open(f"{path}.lock", "a+")  # noqa: SIM115 (the caller closes it)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    return lock


def start(path: Path) -> None:
    """Start a server for `path` in the background, detached from the caller (its own
    session, no inherited streams), unless this process already did or a server holds the
    socket's lock (it is starting up); returns at once."""
    import subprocess

    if path in _started:
        return
    _started.add(path)
    try:
        lock = _lock(path)
    except OSError:
        return  # no lock file: no server could start there
    if lock is None:
        return  # held: a server is running or starting
    lock.close()
    with contextlib.suppress(OSError):
        subprocess.Popen(
            [sys.executable, "-m", "tfgraphlint", "server", "--socket", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )


def analyse_remotely(
    source: str, filename: str, config: Mapping[str, Any]
) -> tuple[list[list[Any]], list[list[Any]]] | None:
    """The findings and internal errors of `source` from the server, as the plugin reports
    them; None when no server answered (one is then started for the next run)."""
    if not supported():
        return None
    path = socket_path()
    if path is None:
        return None
    message = {
        "op": "analyse",
        "path": os.path.abspath(filename),
        "source": source,
        "config": dict(config),
    }
    answer = request(message, path)
    if isinstance(answer, dict) and "findings" in answer and "errors" in answer:
        return answer["findings"], answer["errors"]
    if answer is None:
        start(path)
    return None


# ---------------------------------------------------------------------------- server
def _answer(message: Any, served: int) -> Any:
    """The answer to one request (in a forked child)."""
    op = message.get("op") if isinstance(message, dict) else None
    if op == "ping":
        return {"pid": os.getppid(), "served": served, "version": __version__}
    if op == "analyse":
        from tfgraphlint.engine.runner import analyse
        from tfgraphlint.frontends.flake8_plugin import plugin_config

        spec = message["config"]
        config = plugin_config(spec.get("changes"), spec.get("named", ()))
        result = analyse(message["source"], message["path"], config, noqa=False).result
        return {
            "findings": [[f.line, f.column, f.code, f.message] for f in result.findings],
            "errors": [[e.line, e.message] for e in result.errors if e.kind == "internal"],
        }
    return {"error": f"unknown request {op!r}"}


def _handle(conn: socket.socket, served: int) -> None:
    """Answer one connection (in a forked child)."""
    conn.settimeout(REQUEST_TIMEOUT)
    message = _receive(conn)
    if isinstance(message, dict) and message.get("op") == "stop":
        _send(conn, {"stopping": os.getppid()})
        os.kill(os.getppid(), signal.SIGTERM)
        return
    _send(conn, _answer(message, served))


def _warm_up() -> None:
    """Import the engine and every rule, and analyse every rule's examples, so that each
    forked child starts with all of it loaded and every path of the code run once."""
    from tfgraphlint.engine.registry import all_rules
    from tfgraphlint.engine.runner import analyse
    from tfgraphlint.frontends.flake8_plugin import plugin_config

    config = plugin_config({}, ())
    for rule in all_rules():
        for example in (*rule.VALID, *rule.INVALID):
            analyse(example.code, "<warm-up>.py", config, noqa=False)


def serve(path: Path, idle_timeout: float = IDLE_TIMEOUT) -> int:
    """Serve at `path` until `idle_timeout` seconds pass without a request (or SIGTERM, or
    a `stop` request). Returns 0, also when another server already holds `path`."""
    lock = _lock(path)  # held for the server's lifetime
    if lock is None:
        return 0  # another server has it
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    _warm_up()
    gc.collect()
    gc.freeze()  # the warm objects are never collected: a child's collections skip them
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a socket left by a server that died
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(64)
        served = 0
        last = time.monotonic()
        while not stopping:
            remaining = idle_timeout - (time.monotonic() - last)
            if remaining <= 0:
                break
            try:
                ready, _, _ = select.select([listener], [], [], min(remaining, 1.0))
            except InterruptedError:
                continue
            if not ready:
                continue
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            served += 1
            last = time.monotonic()
            if os.fork() == 0:  # the child answers; the server goes on listening
                code = 0
                try:
                    listener.close()
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    signal.alarm(REQUEST_TIMEOUT)
                    gc.disable()  # one short request: no collection to copy pages for
                    _handle(conn, served)
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            conn.close()
    finally:
        with contextlib.suppress(OSError):
            if path.exists() and path.is_socket():
                path.unlink()
        listener.close()
        lock.close()
    return 0
