"""Runs the worker process: one persistent worker (TensorFlow imported once) that handles
module after module, restarted only after it crashed or hung.

No TensorFlow here. A module that hangs is killed at its deadline; one that kills its process
(a segfault, `os._exit`) ends the worker, seen at once even if a process it forked keeps the
pipe open; one that garbles a message loses its own results only: each is reported with what
happened, the worker's process group is killed, the worker restarted, and the run goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

STARTUP_TIMEOUT_S = 300.0  # importing TensorFlow the first time on a cold disk can be slow


@dataclass(frozen=True, slots=True)
class Outcome:
    """A worker's answer for one module, or what went wrong with the worker."""

    imported: Mapping[str, Any] | None  # {"ok": bool, "error"?, "time_s"?, "output"?}
    functions: list[dict[str, Any]]  # one report per function, as the worker sent them
    failure: str | None = None  # "timed out ...", "crashed ..."
    status: str = "ok"  # "ok", "timed out", "crashed"
    during: str | None = None  # qualname of the function being traced when it failed


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class _Garbled(Exception):
    """A framed message that does not decode to what the protocol sends."""


FRAME = b"\x00tfgraphlint:"  # + token + b":" + length + b"\n" + payload (see the worker)


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are not the user's: the stdlib, installed packages, ourselves."""
    import site

    paths = sysconfig.get_paths()
    dirs = [paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    dirs += getattr(site, "getsitepackages", list)()
    dirs += [site.getusersitepackages(), str(Path(__file__).resolve().parent.parent)]
    return tuple(sorted({os.path.realpath(d) + os.sep for d in dirs}))


_LIBRARY_DIRS = _library_dirs()


def is_library_frame(filename: str) -> bool:
    """A frame of the stdlib, an installed package or tfgraphlint itself: compared by folder,
    so a user file under a folder *named* `tfgraphlint` or `site-packages` is still the
    user's."""
    return filename.startswith("<") or os.path.realpath(filename).startswith(_LIBRARY_DIRS)


def _is_import_status(imported: Any) -> bool:
    """`{"ok": true, "time_s": ...}` or `{"ok": false, "error": {"message": ...}}`."""
    if not isinstance(imported, dict) or not isinstance(imported.get("ok"), bool):
        return False
    if imported["ok"]:
        return isinstance(imported.get("time_s"), int | float)
    error = imported.get("error")
    return isinstance(error, dict) and isinstance(error.get("message"), str)


def worker_env(device: str) -> dict[str, str]:
    env = dict(os.environ)
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


class Worker:
    """A persistent worker subprocess: requests go as JSON lines over one private pipe,
    answers come back as frames over another (`_parse`: `FRAME token:length`, a newline, the
    JSON), so bytes a module writes to the pipe are skipped. The worker leads its own
    process group, killed whenever the worker ends."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        self.env = dict(env)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.tensorflow: str | None = None
        self._to: IO[str] | None = None
        self._from_fd = -1
        self._buffer = b""
        self._stderr: IO[bytes] | None = None
        self._pidfd = -1  # readable once the worker exits (Linux), else polled
        self._marker = b""
        self.restarts = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        token = secrets.token_hex(8)
        self._marker = FRAME + token.encode() + b":"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tfgraphlint.dynamic.worker",
                "--in",
                str(request_r),
                "--out",
                str(reply_w),
                "--token",
                token,
            ],
            pass_fds=(request_r, reply_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,  # a user module's signals stay in its own group
        )
        os.close(request_r)
        os.close(reply_w)
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                self._pidfd = os.pidfd_open(self.proc.pid)
        self._to = os.fdopen(request_w, "w", encoding="utf-8")
        self._from_fd = reply_r
        self._buffer = b""
        try:
            ready = self._read(time.monotonic() + STARTUP_TIMEOUT_S)
        except (_Timeout, _Died, _Garbled) as exc:
            detail = self._stderr_tail()
            self.stop()
            raise RuntimeError(f"the trace worker did not start: {exc} {detail}".strip()) from None
        self.tensorflow = ready.get("tensorflow")

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.returncode is None:  # else reaped, and its group killed before
                self._kill_group()
            self.proc.wait()
        for closer in (self._to, self._stderr):
            if closer is not None:
                with contextlib.suppress(OSError):
                    closer.close()
        for fd in (self._from_fd, self._pidfd):
            if fd >= 0:
                os.close(fd)
        self.proc, self._to, self._stderr, self._from_fd, self._pidfd = None, None, None, -1, -1

    def _kill_group(self) -> None:
        """End the worker's process group: the worker and whatever its modules started and
        left behind (it leads its own session). Called before the worker is reaped, while its
        id still names the group, and at every end: normal, timeout, crash."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def _restart(self) -> None:
        self.stop()
        self.restarts += 1

    # ------------------------------------------------------------ protocol
    def _read(self, deadline: float) -> dict[str, Any]:
        """The next framed message. Bytes outside frames (what a module wrote to the pipe)
        are skipped; a frame that does not decode raises `_Garbled`."""
        while True:
            message = self._parse()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            watched = [self._from_fd] + ([self._pidfd] if self._pidfd >= 0 else [])
            wait = remaining if self._pidfd >= 0 else min(remaining, 0.5)
            ready, _, _ = select.select(watched, [], [], wait)
            if self._from_fd in ready:
                chunk = os.read(self._from_fd, 1 << 16)
                if chunk:
                    self._buffer += chunk
                    continue
                raise _Died(self._ended(orphans=False))
            exited = self._pidfd in ready if self._pidfd >= 0 else self._exited()
            if exited:
                # The worker is gone but the pipe is still open: a process it started holds
                # it. Read what the worker sent before it ended, then report the exit.
                self._drain()
                message = self._parse()
                if message is not None:
                    return message
                raise _Died(self._ended(orphans=True))

    def _exited(self) -> bool:
        """Without a pidfd: has the worker exited? Not reaped, so its id stays its group's."""
        assert self.proc is not None
        if not hasattr(os, "waitid"):
            return self.proc.poll() is not None
        try:
            flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
            return os.waitid(os.P_PID, self.proc.pid, flags) is not None
        except ChildProcessError:
            return True

    def _drain(self) -> None:
        while select.select([self._from_fd], [], [], 0)[0]:
            chunk = os.read(self._from_fd, 1 << 16)
            if not chunk:
                return
            self._buffer += chunk

    def _ended(self, orphans: bool) -> str:
        assert self.proc is not None
        self._kill_group()  # before the wait: the worker's id still names its group
        what = describe_exit(self.proc.wait())
        return what + ("; processes it started were still running and were killed" * orphans)

    def _parse(self) -> dict[str, Any] | None:
        """The first whole frame of the buffer, decoded; None until one has arrived."""
        while True:
            start = self._buffer.find(self._marker)
            if start < 0:
                # Keep a tail that may be the start of a marker; the rest is not ours.
                self._buffer = self._buffer[-len(self._marker) :]
                return None
            header_end = self._buffer.find(b"\n", start)
            if header_end < 0:
                self._buffer = self._buffer[start:]
                return None
            length = self._buffer[start + len(self._marker) : header_end]
            if length.isdigit():
                break
            self._buffer = self._buffer[start + 1 :]  # not a frame after all: look further
        end = header_end + 1 + int(length)
        if len(self._buffer) < end:
            self._buffer = self._buffer[start:]
            return None
        payload, self._buffer = self._buffer[header_end + 1 : end], self._buffer[end:]
        try:
            message = json.loads(payload)
        except ValueError as exc:
            raise _Garbled(f"not JSON ({exc})") from None
        if not isinstance(message, dict) or not isinstance(message.get("event"), str):
            raise _Garbled("no event")
        return message

    def _stderr_tail(self) -> str:
        """The first crash report line and the innermost user frame faulthandler printed."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        fatal = re.search(r"Fatal Python error: ([^\n]+)", text)
        frames = re.findall(r'File "([^"]+)", line (\d+) in (\S+)', text)
        user = [f for f in frames if not is_library_frame(f[0])]
        parts = []
        if fatal:
            parts.append(fatal.group(1).strip())
        if user:
            path, line, name = user[0]  # faulthandler lists the innermost frame first
            parts.append(f"at {Path(path).name}:{line} in {name}")
        return f"({'; '.join(parts)})" if parts else ""

    def run(self, request: Mapping[str, Any], timeout: float) -> Outcome:
        """Send one module's request; wait for its result at most `timeout` seconds."""
        if self.proc is None:
            self.start()
        assert self._to is not None
        phase = f"importing `{request['module'] or request['path']}`"
        functions: list[dict[str, Any]] = []
        during: str | None = None
        try:
            self._to.write(json.dumps(request) + "\n")
            self._to.flush()
            deadline = time.monotonic() + timeout
            while True:
                message = self._read(deadline)
                event = message["event"]
                if event == "result":
                    imported = message.get("import")
                    if not _is_import_status(imported):
                        raise _Garbled("a result without an import status")
                    return Outcome(imported, functions)
                if event == "function":
                    if not isinstance(message.get("qualname"), str):
                        raise _Garbled("a function report without a name")
                    functions.append({k: v for k, v in message.items() if k != "event"})
                elif message.get("phase") == "trace":
                    during = str(message.get("function"))
                    phase = f"tracing `{during}`"
        except _Timeout:
            self._restart()
            failure = f"timed out after {timeout:g} s while {phase}"
            return Outcome(None, functions, failure, "timed out", during)
        except _Garbled as exc:
            # Not JSON where a message should be: the module broke the channel (or the
            # worker). Lose this module's rest, not the run: a new worker takes the next one.
            self._restart()
            failure = f"sent an unreadable message while {phase}: {exc}"
            return Outcome(None, functions, failure, "crashed", during)
        except (_Died, BrokenPipeError) as exc:
            detail = self._stderr_tail()
            self._restart()
            what = str(exc) if isinstance(exc, _Died) else "the worker was gone"
            failure = f"crashed while {phase}: {what} {detail}".strip()
            return Outcome(None, functions, failure, "crashed", during)
