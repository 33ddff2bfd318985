"""Runs the worker process: one persistent worker (TensorFlow imported once) that handles
module after module, restarted only after it crashed or hung.

No TensorFlow here. A module that hangs is killed at its deadline; one that kills its process
(a segfault, `os._exit`) ends the worker: both are reported with what happened, the worker is
restarted, and the run goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
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
    """A persistent worker subprocess speaking JSON lines over two private pipes."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        self.env = dict(env)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.tensorflow: str | None = None
        self._to: IO[str] | None = None
        self._from_fd = -1
        self._buffer = b""
        self._stderr: IO[bytes] | None = None
        self.restarts = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tfgraphlint.dynamic.worker",
                "--in",
                str(request_r),
                "--out",
                str(reply_w),
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
        self._to = os.fdopen(request_w, "w", encoding="utf-8")
        self._from_fd = reply_r
        self._buffer = b""
        try:
            ready = self._read(time.monotonic() + STARTUP_TIMEOUT_S)
        except (_Timeout, _Died) as exc:
            detail = self._stderr_tail()
            self.stop()
            raise RuntimeError(f"the trace worker did not start: {exc} {detail}".strip()) from None
        self.tensorflow = ready.get("tensorflow")

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                # The worker leads its own process group: end it and whatever it started.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for closer in (self._to, self._stderr):
            if closer is not None:
                with contextlib.suppress(OSError):
                    closer.close()
        if self._from_fd >= 0:
            os.close(self._from_fd)
        self.proc, self._to, self._stderr, self._from_fd = None, None, None, -1

    def _restart(self) -> None:
        self.stop()
        self.restarts += 1

    # ------------------------------------------------------------ protocol
    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Timeout()
            ready, _, _ = select.select([self._from_fd], [], [], remaining)
            if not ready:
                raise _Timeout()
            chunk = os.read(self._from_fd, 1 << 16)
            if not chunk:
                assert self.proc is not None
                raise _Died(describe_exit(self.proc.wait()))
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def _stderr_tail(self) -> str:
        """The first crash report line and the innermost user frame faulthandler printed."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        fatal = re.search(r"Fatal Python error: ([^\n]+)", text)
        frames = re.findall(r'File "([^"]+)", line (\d+) in (\S+)', text)
        user = [f for f in frames if "site-packages" not in f[0] and "tfgraphlint" not in f[0]]
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
                if message["event"] == "result":
                    return Outcome(message["import"], functions)
                if message["event"] == "function":
                    functions.append({k: v for k, v in message.items() if k != "event"})
                elif message.get("phase") == "trace":
                    during = message["function"]
                    phase = f"tracing `{during}`"
        except _Timeout:
            self._restart()
            failure = f"timed out after {timeout:g} s while {phase}"
            return Outcome(None, functions, failure, "timed out", during)
        except (_Died, BrokenPipeError) as exc:
            detail = self._stderr_tail()
            self._restart()
            what = str(exc) if isinstance(exc, _Died) else "the worker was gone"
            failure = f"crashed while {phase}: {what} {detail}".strip()
            return Outcome(None, functions, failure, "crashed", during)
