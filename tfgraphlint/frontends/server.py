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
re-exports `tf`) outlives it. The children are forked ahead (`SPARES` of them), and each
analyses a sample module before it waits: a forked child copies every page of the server's
memory that it writes to, and an analysis writes to most of what it reads (reference counts),
so that copying happens before the request, not during it. The server hands a connection to a
warm spare (its file descriptor, over the spare's channel), or forks a child for it when none
is warm yet; a used spare's replacement is forked once it has answered (its channel ends), so
that warming it does not take a core from the request. The server exits after
`--idle-timeout` seconds without a request (default 15 minutes).

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
import importlib.util
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, NoReturn

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
    Once per process (a flake8 run asks for every file that names TensorFlow). A CRC-32 and
    an Adler-32 of that description, 64 bits: it names a socket, it guards against no one
    (`zlib` is loaded in a flake8 process already; `hashlib` would cost 3 ms per run)."""
    package = Path(__file__).resolve().parent.parent
    executable = os.path.realpath(sys.executable)
    parts = [f"{__version__}\0{executable}\0{sys.version}"]
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                with contextlib.suppress(OSError):
                    st = os.stat(os.path.join(folder, name))
                    parts.append(f"{folder}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0")
    spec = importlib.util.find_spec("libcst")
    if spec is not None and spec.origin:
        for name in ("__init__.py", "_version.py"):
            with contextlib.suppress(OSError):
                st = os.stat(Path(spec.origin).parent / name)
                parts.append(f"{spec.origin}\0{name}\0{st.st_size}\0{st.st_mtime_ns}")
    data = "".join(parts).encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


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
    sock = send_request(message, path, timeout)
    return None if sock is None else read_answer(sock)


def send_request(
    message: Mapping[str, Any], path: Path, timeout: float = CLIENT_TIMEOUT
) -> socket.socket | None:
    """Send one request to the server at `path`; the connected socket, on which
    `read_answer` reads the answer later, or None when no server takes it. `timeout`
    bounds each step, the reading included."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(str(path))
        _send(sock, message)
    except (OSError, ValueError):
        sock.close()
        return None
    return sock


def answer_ready(sock: socket.socket) -> bool:
    """Whether the answer (or the end of the connection) has arrived on `sock`."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True  # `read_answer` says what went wrong


def read_answer(sock: socket.socket) -> Any:
    """The answer on a socket `send_request` gave (closed after); None when none comes (a
    dead server, a timeout, a malformed answer)."""
    try:
        with sock:
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
    asked = ask_analysis(source, filename, config)
    return None if asked is None else analysis_answer(*asked)


def ask_analysis(
    source: str, filename: str, config: Mapping[str, Any]
) -> tuple[socket.socket | None, Path] | None:
    """Send `source` to the server for analysis: the socket to read the answer on (None
    when no server took it) and the server's socket path, for `analysis_answer`; None when
    there can be no server here (no fork or Unix sockets, no private folder)."""
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
    return send_request(message, path), path


def analysis_answer(
    sock: socket.socket | None, path: Path
) -> tuple[list[list[Any]], list[list[Any]]] | None:
    """`analyse_remotely`'s answer to what `ask_analysis` sent on `sock`; None (and a server
    started at `path` for the next run) when none came."""
    answer = None if sock is None else read_answer(sock)
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


_WARM_TEXT = ""  # what a spare analyses before it takes a request (`_warm_up` sets it)
SPARES = 2  # warm children waiting for a request (flake8 `-j 2` sends two files at once)


def _warm_up() -> None:
    """Import the engine and every rule, and analyse every rule's examples, so that each
    forked child starts with all of it loaded and every path of the code run once. Keeps,
    for the spares, one module made of an invalid example of each rule."""
    global _WARM_TEXT
    import ast
    import textwrap

    from tfgraphlint.engine.registry import all_rules
    from tfgraphlint.engine.runner import analyse
    from tfgraphlint.frontends.flake8_plugin import plugin_config

    config = plugin_config({}, ())
    parts: list[str] = []
    for rule in all_rules():
        for example in (*rule.VALID, *rule.INVALID):
            analyse(example.code, "<warm-up>.py", config, noqa=False)
        for example in rule.INVALID[:1]:
            code = textwrap.dedent(example.code)
            with contextlib.suppress(SyntaxError, ValueError):
                ast.parse(code)
                if "__future__" not in code:
                    parts.append(code)
    _WARM_TEXT = "\n\n".join(parts)


def _warm_spare() -> None:
    """In a spare: analyse the warm-up module once. A forked child shares the server's
    memory until it writes to it, and the analysis writes to every object it reads (reference
    counts): done here, before a request arrives, that copying is off the request's path."""
    from tfgraphlint.engine.runner import analyse
    from tfgraphlint.frontends.flake8_plugin import plugin_config

    analyse(_WARM_TEXT, "<warm-up>.py", plugin_config({}, ()), noqa=False)
    gc.collect()  # the warm-up's own garbage (the server's objects are frozen: not scanned)


def _run_child(closing: list[Any], work: Callable[[], None]) -> NoReturn:
    """In a forked child: close `closing` (the server's listener, its lock...), take the
    default SIGTERM and no collection (one short request), run `work`, and exit (1 if it
    raised); never returns into the server's loop."""
    code = 0
    try:
        for item in closing:
            item.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        gc.disable()
        work()
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _answer_connection(conn: socket.socket, served: int) -> None:
    """In a child: answer one connection, killed after `REQUEST_TIMEOUT` seconds."""
    signal.alarm(REQUEST_TIMEOUT)
    _handle(conn, served)


class _Spare:
    """A child forked ahead of a request, warmed (`_warm_spare`), waiting on its channel for
    one connection (passed as a file descriptor, with its request number)."""

    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel  # the server's end
        self.ready = False  # the spare has said it is warm
        self.busy_since: float | None = None  # when it was handed a request

    def close(self) -> None:
        """Dismiss the spare: its channel closes, and it exits (waiting, it reads the end of
        the channel; warming, it fails to say it is ready). No signal: the kernel reaps the
        children, so a spare that already died may have left its pid to another process."""
        self.channel.close()


def _fork_spare(closing: list[Any]) -> _Spare | None:
    """Fork a spare; None when the fork fails. `closing`: what the child closes first (the
    listener, the lock)."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    server = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        mine.close()
        theirs.close()
        return None
    if pid == 0:

        def spare() -> None:
            # Killed when the server dies (it also exits when the server's end of its
            # channel closes, once it waits on it).
            from tfgraphlint.engine.runner import die_with_parent

            die_with_parent(server)
            _warm_spare()
            theirs.sendall(b"r")
            message, fds, _, _ = socket.recv_fds(theirs, 32, 1)
            if fds:  # none: the server dismissed this spare (or died)
                _answer_connection(socket.socket(fileno=fds[0]), int(message))

        _run_child([mine, *closing], spare)
    theirs.close()
    return _Spare(mine)


def _fork_answer(conn: socket.socket, served: int, closing: list[Any]) -> None:
    """Answer `conn` in a child forked now (when no spare is warm)."""
    if os.fork() == 0:
        _run_child(closing, lambda: _answer_connection(conn, served))


def _hand_over(spare: _Spare, conn: socket.socket, served: int) -> bool:
    """Pass `conn` to a warm spare, which is then busy (its channel ends when it exits);
    False when the spare is gone."""
    try:
        socket.send_fds(spare.channel, [str(served).encode()], [conn.fileno()])
    except OSError:
        spare.channel.close()
        return False
    spare.busy_since = time.monotonic()
    return True


REPLACE_AFTER = 1.0  # seconds a busy spare delays its replacement, at most


def serve(path: Path, idle_timeout: float = IDLE_TIMEOUT, spares: int = SPARES) -> int:
    """Serve at `path` until `idle_timeout` seconds pass without a request (or SIGTERM, or
    a `stop` request). Returns 0, also when another server already holds `path`.

    Each request is answered by a child: one of `spares` children forked and warmed ahead
    (`_Spare`), or, when none is warm yet, one forked for it. A spare that dies before it is
    warm is not replaced (the server then forks per request, as without spares). A spare
    that answers a request is replaced once it has answered (or after `REPLACE_AFTER`
    seconds): warming its replacement at once took a core from the request (on two cores,
    flake8 and the answering child use both)."""
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
    waiting: list[_Spare] = []
    busy: list[_Spare] = []  # answering a request: replaced when done
    try:
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(64)
        served = 0
        last = time.monotonic()
        while not stopping:
            now = time.monotonic()
            for late in [s for s in busy if now - (s.busy_since or now) >= REPLACE_AFTER]:
                busy.remove(late)
                late.close()
            while len(waiting) + len(busy) < spares:
                spare = _fork_spare([listener, lock])
                if spare is None:
                    spares = len(waiting) + len(busy)  # cannot fork: go on with these
                    break
                waiting.append(spare)
            remaining = idle_timeout - (now - last)
            if remaining <= 0:
                break
            timeout = min(
                remaining, 1.0, *(REPLACE_AFTER - (now - (s.busy_since or now)) for s in busy)
            )
            warming = [s.channel for s in waiting if not s.ready]
            answering = [s.channel for s in busy]
            try:
                ready, _, _ = select.select(
                    [listener, *warming, *answering], [], [], max(timeout, 0.0)
                )
            except InterruptedError:
                continue
            for done in [s for s in busy if s.channel in ready]:
                busy.remove(done)  # it has answered: its channel ended with it
                done.close()
            for spare in [s for s in waiting if s.channel in ready]:
                try:
                    said = spare.channel.recv(1)
                except OSError:
                    said = b""
                if said == b"r":
                    spare.ready = True
                else:  # it died warming up: no more spares (no fork loop on a broken one)
                    waiting.remove(spare)
                    spare.close()
                    spares -= 1
            if listener not in ready:
                continue
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            served += 1
            last = time.monotonic()
            warm = next((s for s in waiting if s.ready), None)
            if warm is not None:
                waiting.remove(warm)
            if warm is not None and _hand_over(warm, conn, served):
                busy.append(warm)
            else:
                _fork_answer(conn, served, [listener, lock])
            conn.close()
    finally:
        for spare in waiting + busy:
            spare.close()
        with contextlib.suppress(OSError):
            if path.exists() and path.is_socket():
                path.unlink()
        listener.close()
        lock.close()
    return 0
