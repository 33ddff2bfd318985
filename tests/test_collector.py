"""The garbage collector's settings while files are analysed (`engine.collector`)."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

from tfgraphlint.engine.collector import (
    AFTER_FILE_MIN_YOUNG,
    BATCH_THRESHOLDS,
    batch_gc,
    collect_after_file,
)
from tfgraphlint.engine.runner import map_jobs


def _thresholds_during(_: int) -> tuple[int, int, int]:
    return gc.get_threshold()


def test_batch_gc_restores_the_callers_settings() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with batch_gc():
        assert gc.get_threshold() == BATCH_THRESHOLDS
        assert gc.get_freeze_count() > frozen  # what was alive is out of reach
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_batch_gc_restores_after_an_exception() -> None:
    before = gc.get_threshold()
    try:
        with batch_gc():
            raise ValueError("a job failed")
    except ValueError:
        pass
    assert gc.get_threshold() == before


def test_serial_jobs_run_tuned_and_the_caller_keeps_its_settings() -> None:
    before = gc.get_threshold()
    assert map_jobs(_thresholds_during, [1, 2], workers=1) == [BATCH_THRESHOLDS] * 2
    assert gc.get_threshold() == before


class _Node:
    """An object in a reference cycle, as libCST's scopes and the rules' state are."""

    def __init__(self) -> None:
        self.others: list[object] = []


_LEFT: list[weakref.ref[_Node]] = []


def _leave_a_cycle(index: int) -> bool:
    """A job that leaves a cycle of more objects than `AFTER_FILE_MIN_YOUNG` behind; whether
    the one the previous job left is gone (collected after that job, under `batch_gc`'s
    thresholds, which alone would not have run a collection yet)."""
    previous_gone = index == 0 or _LEFT[-1]() is None
    head = _Node()
    head.others = [_Node() for _ in range(2 * AFTER_FILE_MIN_YOUNG)]
    head.others.append(head)
    _LEFT.append(weakref.ref(head))
    return previous_gone


def test_each_job_is_followed_by_a_collection() -> None:
    _LEFT.clear()
    assert map_jobs(_leave_a_cycle, [0, 1, 2], workers=1) == [True, True, True]
    assert _LEFT[-1]() is None


def test_collect_after_file_leaves_a_disabled_collector_alone() -> None:
    _LEFT.clear()
    gc.disable()
    try:
        _leave_a_cycle(0)
        collect_after_file()
        assert _LEFT[-1]() is not None
    finally:
        gc.enable()
    gc.collect()
    assert _LEFT[-1]() is None


def test_pool_workers_run_tuned(tmp_path: Path) -> None:
    # A fresh interpreter: a process pool forked from pytest's would inherit its state.
    script = textwrap.dedent(
        """
        import gc
        from tfgraphlint.engine.runner import map_jobs

        def during(_):
            return gc.get_threshold()

        if __name__ == "__main__":
            before = gc.get_threshold()
            print(set(map_jobs(during, list(range(20)), workers=2)), gc.get_threshold() == before)
        """
    )
    path = tmp_path / "pool.py"
    path.write_text(script, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == f"{ {BATCH_THRESHOLDS} } True"
