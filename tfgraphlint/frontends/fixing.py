"""`tfgraphlint check --fix` / `--diff`: fix files (or stdin) and report what is left.

The engine (`engine.fixes`) turns a file's text into its fixed text; this module reads the
bytes, keeps the encoding, BOM and line endings, writes the file in place after a verified
backup copy (keeping its owner, mode and hard links; read-only files are refused), and works
with the results cache and the process pool.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tfgraphlint._types import FileError, LintResult
from tfgraphlint.config import Config
from tfgraphlint.engine.cache import ReexportKey, content_digest, reexports_key
from tfgraphlint.engine.notebook import fix_notebook, is_notebook


@dataclass(slots=True)
class FileFix:
    """One file's outcome: its findings after fixing, and what changed."""

    result: LintResult
    fixed: list[str] = field(default_factory=list)  # one code per fix applied
    diff: str = ""
    output: bytes | None = None  # the fixed source (for stdin)
    sha: str | None = None  # digest of the bytes the result describes, None if not on disk
    reexports: ReexportKey | None = None  # their `reexports_key`, for the cache


@dataclass(frozen=True, slots=True)
class FixJob:
    path: str
    config: Config
    noqa: bool
    unsafe: bool
    write: bool
    first: LintResult | None = None  # the cached result of the bytes whose digest is `sha`
    sha: str | None = None


def fix_bytes(data: bytes, job: FixJob) -> FileFix:
    """Fix one file's bytes in memory: the fixed bytes are in `output`."""
    from tfgraphlint.engine.fixes import applicable, decode_for_fix, fix_text, unified_diff
    from tfgraphlint.engine.runner import lint_source

    if is_notebook(job.path):  # the cells' code is fixed, then written back into the JSON
        done = fix_notebook(data, job.path, job.config, unsafe=job.unsafe, noqa=job.noqa)
        return FileFix(done.result, done.fixed, done.diff, done.output or data)
    try:
        decoded = decode_for_fix(data)
    except (UnicodeError, SyntaxError, LookupError):
        return FileFix(lint_source(data, job.path, job.config, noqa=job.noqa), output=data)
    except ValueError as exc:  # decodes, but would not be written back byte for byte
        result = lint_source(data, job.path, job.config, noqa=job.noqa)
        if any(applicable(f, job.unsafe) for f in result.findings):
            message = f"cannot fix: {exc}; the file is left unchanged"
            result.errors.append(FileError(job.path, message, None, "fix"))
        return FileFix(result, output=data)
    outcome = fix_text(
        decoded.text, job.path, job.config, unsafe=job.unsafe, noqa=job.noqa, first=job.first
    )
    if not outcome.changed:
        return FileFix(outcome.result, output=data)
    try:
        output = decoded.encode(outcome.text)
    except UnicodeError as exc:
        result = LintResult(
            job.path, list(outcome.original.findings), list(outcome.original.errors)
        )
        message = f"cannot fix: the fixed text is not encodable in {decoded.encoding}: {exc}"
        result.errors.append(FileError(job.path, message, None, "fix"))
        return FileFix(result, output=data)
    diff = unified_diff(job.path, decoded.text, outcome.text)
    return FileFix(outcome.result, outcome.fixed, diff, output)


def fix_file(job: FixJob) -> FileFix:
    """Fix one file on disk (or only compute its diff when `job.write` is false)."""
    try:
        data = Path(job.path).read_bytes()
    except OSError as exc:
        error = FileError(job.path, f"cannot read: {exc.strerror}", kind="io")
        return FileFix(LintResult(job.path, errors=[error]))
    if job.first is not None and content_digest(data) != job.sha:
        job = dataclasses.replace(job, first=None, sha=None)  # changed since the cache lookup
    outcome = fix_bytes(data, job)
    output = outcome.output
    outcome.output = None  # the bytes go to disk, not back through the process pool
    if not outcome.fixed or output is None:
        outcome.sha, outcome.reexports = content_digest(data), reexports_key(job.path, data)
        return outcome
    if not job.write:
        return outcome  # --diff: the result is the fixed text's, not the file's
    try:
        _write_in_place(Path(job.path), data, output)
    except (OSError, _ChangedError) as exc:
        from tfgraphlint.engine.runner import lint_source

        result = lint_source(data, job.path, job.config, noqa=job.noqa)
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        message = f"cannot write the fixes: {reason}; the file is left unchanged"
        result.errors.append(FileError(job.path, message, None, "fix"))
        return FileFix(result, sha=None)
    outcome.sha, outcome.reexports = content_digest(output), reexports_key(job.path, output)
    return outcome


class _ChangedError(Exception):
    pass


def _write_in_place(path: Path, before: bytes, after: bytes) -> None:
    """Write `after` into the file itself, as editors do, so that its owner, group, mode,
    hard links and extended attributes stay as they are (a rename would give a new file,
    owned by whoever runs the fix, and break hard links).

    A read-only file (no write bit in its mode: as root, `os.access` says every file is
    writable) is refused. First a copy of the original is written beside the file and read
    back; then the file is overwritten, unless it changed since it was read (an editor saved
    it meanwhile). If the overwrite fails, the original is put back; the copy is removed once
    the file holds either version in full, so a crash mid-write leaves the copy to recover
    from (`.NAME.*.tfgfix`)."""
    real = path.resolve()
    if os.stat(real).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0:
        raise _ChangedError("the file is read-only (no write bit in its mode)")
    fd, backup = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tfgfix")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(before)
            handle.flush()
            os.fsync(handle.fileno())
        if Path(backup).read_bytes() != before:
            raise _ChangedError("the backup copy could not be verified")
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(backup)
        raise
    with open(real, "r+b") as handle:
        if handle.read() != before:
            os.unlink(backup)
            raise _ChangedError("the file changed while it was being fixed")
        try:
            _overwrite(handle, after)
        except BaseException:
            try:
                _overwrite(handle, before)
            except BaseException:
                raise _ChangedError(
                    f"writing failed and the original could not be put back: it is in {backup}"
                ) from None
            os.unlink(backup)
            raise
    os.unlink(backup)


def _overwrite(handle: BinaryIO, data: bytes) -> None:
    handle.seek(0)
    handle.write(data)
    handle.truncate()
    handle.flush()
    os.fsync(handle.fileno())


def fix_all(
    args: argparse.Namespace, config: Config
) -> tuple[list[LintResult], list[FileFix], bytes | None]:
    """Fix every file (and stdin). Returns the results, each file's outcome, and the fixed
    stdin source (None without `-`)."""
    from tfgraphlint.engine.fixes import applicable
    from tfgraphlint.engine.runner import map_jobs
    from tfgraphlint.frontends.cli import _open_cache, discover, project_files

    noqa, unsafe, write = not args.disable_noqa, args.unsafe_fixes, not args.diff
    outcomes: list[FileFix] = []
    stdin_output = None
    if "-" in args.paths:
        data = sys.stdin.buffer.read()
        job = FixJob(args.stdin_filename or "<stdin>", config, noqa, unsafe, write=False)
        stdin_fix = fix_bytes(data, job)
        stdin_output = stdin_fix.output
        outcomes.append(stdin_fix)
    files, skipped = discover(args.paths, config)
    cache = None if args.no_cache else _open_cache(config, noqa)
    done: dict[str, FileFix] = {}
    jobs: list[FixJob] = []
    for path in files:
        hit, sha = None, None
        if cache is not None:
            with contextlib.suppress(OSError):
                data = Path(path).read_bytes()
                sha = content_digest(data)
                hit = cache.get(path, sha, "", functools.partial(reexports_key, path, data))
        if hit is not None and not any(applicable(f, unsafe) for f in hit.findings):
            done[path] = FileFix(hit)  # nothing to fix: no need to read it again
        else:
            jobs.append(FixJob(path, config, noqa, unsafe, write, hit, sha))
    fresh = map_jobs(fix_file, jobs, args.jobs or os.cpu_count() or 1)
    for job, outcome in zip(jobs, fresh, strict=True):
        done[job.path] = outcome
        if cache is not None and outcome.sha is not None and _cacheable(outcome):
            cache.put(job.path, outcome.sha, outcome.result, reexports=outcome.reexports)
    if cache is not None:
        cache.save()
    outcomes.extend(done[path] for path in files)
    outcomes.extend(FileFix(result) for result in skipped)
    results = [o.result for o in outcomes]
    if config.keras_project:
        # What is left to report; fixes were chosen file by file.
        from tfgraphlint.engine.keras_project import forget_eager_only_keras_classes

        forget_eager_only_keras_classes(results, files, project=project_files(config))
    return results, outcomes, stdin_output


def _cacheable(outcome: FileFix) -> bool:
    """A `fix` error belongs to this run (`--fix`), not to the file's lint result."""
    return not any(e.kind == "fix" for e in outcome.result.errors)


def total_fixed(outcomes: Sequence[FileFix]) -> int:
    return sum(len(o.fixed) for o in outcomes)
