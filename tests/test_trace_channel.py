"""The supervisor's side of the worker protocol, on bytes as they come from the pipe: frames
are found among whatever else a module wrote there, and a frame that does not decode, or a
result without an import status, is an error of that module (no TensorFlow here; the
end-to-end cases are in tests/dynamic/test_worker_isolation.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tfgraphlint.dynamic.supervisor import FRAME, Worker, _Garbled, _is_import_status


def frame(token: bytes, message: Any) -> bytes:
    payload = json.dumps(message).encode()
    return b"\n" + FRAME + token + b":" + str(len(payload)).encode() + b"\n" + payload


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    worker = Worker({}, tmp_path)  # not started: only its parser runs
    worker._marker = FRAME + b"abc:"
    return worker


def test_frames_among_garbage_in_pieces(worker: Worker) -> None:
    ready = {"event": "ready", "tensorflow": "2.21.0"}
    phase = {"event": "phase", "phase": "import"}
    stream = (
        b'{"event": "result", "import": {"ok": false}}\n'  # a module's fake message
        + frame(b"abc", ready)
        + b"garbage"
        + FRAME
        + b"abc:not a length\n"  # a marker with no length
        + frame(b"other", phase)  # another worker's token
        + frame(b"abc", phase)
    )
    got = []
    for i in range(0, len(stream), 7):  # as the pipe may cut it
        worker._buffer += stream[i : i + 7]
        while (message := worker._parse()) is not None:
            got.append(message)
    assert got == [ready, phase]
    assert len(worker._buffer) <= len(worker._marker)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"{oops}", "not JSON"),
        (b"[1, 2]", "no event"),
        (b'{"phase": "import"}', "no event"),
    ],
)
def test_a_frame_that_does_not_decode(worker: Worker, payload: bytes, error: str) -> None:
    worker._buffer = b"\n" + worker._marker + str(len(payload)).encode() + b"\n" + payload
    with pytest.raises(_Garbled, match=error):
        worker._parse()


@pytest.mark.parametrize(
    ("imported", "valid"),
    [
        ({"ok": True, "time_s": 0.5, "output": ""}, True),
        ({"ok": False, "error": {"type": "ValueError", "message": "no", "line": 3}}, True),
        ({"ok": False}, False),  # what a module's fake line held: assembling it raised
        ({"ok": True}, False),
        ({"ok": 1, "time_s": 0.5}, False),
        ("ok", False),
        (None, False),
    ],
)
def test_import_status(imported: Any, valid: bool) -> None:
    assert _is_import_status(imported) is valid
