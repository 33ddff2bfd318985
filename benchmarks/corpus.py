"""Build the pinned real-world TensorFlow corpus that tfgraphlint is benchmarked on.

Usage::

    python benchmarks/corpus.py [--dest DIR]

The corpus is the ``.py`` files of 13 pinned PyPI wheels (the pins of
``shared/corpus.txt``, copied into ``PINS`` below), one sub-directory per wheel.
Wheels are fetched with ``pip download --no-deps --only-binary=:all:`` into
``benchmarks/.wheels/`` (pip skips files it already has). Symbolic links stored in
a wheel are kept only when they point at a file inside the same wheel.

Destination: ``--dest``, else ``$TFGRAPHLINT_CORPUS``, else ``benchmarks/.corpus/``.
Building is idempotent: a finished corpus holds a stamp file listing the pins, and
a corpus whose stamp matches ``PINS`` is not rebuilt.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

PINS: tuple[str, ...] = (
    "tf-models-official==2.20.0",
    "tf-agents==0.19.0",
    "tensorflow-probability==0.25.0",
    "tensorflow-addons==0.23.0",
    "dm-sonnet==2.0.2",
    "tensorflow-recommenders==0.7.7",
    "tensorflow-gan==2.1.0",
    "keras-cv==0.9.0",
    "tensorflow-similarity==0.17.1",
    "tensorflow-privacy==0.9.0",
    "spektral==1.3.1",
    "larq==0.14.0",
    "tensorflow-gnn==1.0.3",
)

HERE = Path(__file__).resolve().parent
DEFAULT_DEST = HERE / ".corpus"
WHEEL_CACHE = HERE / ".wheels"
ENV_VAR = "TFGRAPHLINT_CORPUS"
STAMP_NAME = ".corpus-stamp"


class CorpusError(RuntimeError):
    """The corpus could not be built."""


def default_dest() -> Path:
    """Where the corpus lives unless told otherwise: ``$TFGRAPHLINT_CORPUS`` or ``.corpus/``."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_DEST


def stamp_text() -> str:
    """Contents of the stamp file of a corpus built from ``PINS``."""
    return "".join(f"{pin}\n" for pin in PINS)


def is_built(dest: Path) -> bool:
    """True if ``dest`` holds a finished corpus of exactly ``PINS``."""
    stamp = dest / STAMP_NAME
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == stamp_text()


def iter_py_files(root: Path) -> Iterator[Path]:
    """Yield the corpus's ``.py`` files under ``root`` in a stable (sorted) order."""
    for path in sorted(root.rglob("*.py")):
        if path.is_file():
            yield path


def count_lines(files: Iterable[Path]) -> int:
    """Total newline count of ``files`` (what ``wc -l`` reports)."""
    return sum(path.read_bytes().count(b"\n") for path in files)


def download_wheel(pin: str, cache: Path) -> Path:
    """Fetch the wheel of ``pin`` into ``cache`` (a no-op if pip already has it there)."""
    name = pin.split("==", 1)[0]
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(cache),
        pin,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CorpusError(f"pip download {pin} failed:\n{result.stderr.strip()}")
    version = pin.split("==", 1)[1]
    prefix = f"{name.replace('-', '_')}-{version}-".lower()
    wheels = [p for p in cache.glob("*.whl") if p.name.lower().startswith(prefix)]
    if len(wheels) != 1:
        raise CorpusError(f"expected one wheel for {pin} in {cache}, found {wheels}")
    return wheels[0]


def safe_member_path(name: str) -> PurePosixPath:
    """Relative path of a zip member, refusing absolute paths and ``..``."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise CorpusError(f"unsafe path in wheel: {name!r}")
    return path


def unpack_py_files(wheel: Path, target: Path) -> None:
    """Extract the ``.py`` members of ``wheel`` into ``target``; keep only live symlinks."""
    links: list[Path] = []
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(".py"):
                continue
            out = target / safe_member_path(info.filename)
            out.parent.mkdir(parents=True, exist_ok=True)
            data = archive.read(info)
            if stat.S_ISLNK(info.external_attr >> 16):
                out.symlink_to(data.decode("utf-8"))
                links.append(out)
            else:
                out.write_bytes(data)
    for link in links:
        if not link.resolve().is_relative_to(target.resolve()) or not link.is_file():
            link.unlink()


def check_replaceable(path: Path) -> None:
    """Refuse to delete a non-empty directory this script did not make."""
    if (
        path.is_dir()
        and any(path.iterdir())
        and not (path / STAMP_NAME).exists()
        and not path.name.endswith(".partial")
    ):
        raise CorpusError(f"refusing to overwrite non-corpus directory {path}")


def remove_dir(path: Path) -> None:
    """Delete ``path`` if it exists, after ``check_replaceable``."""
    check_replaceable(path)
    if path.exists():
        shutil.rmtree(path)


def build_corpus(dest: Path) -> Path:
    """Build the corpus at ``dest`` unless it is already built; return ``dest``.

    Processes that build the same corpus at once (pytest-xdist workers) take turns through a
    lock file beside it: the first builds, the others find it built."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.with_name(dest.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _build_locked(dest)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_locked(dest: Path) -> Path:
    if is_built(dest):
        return dest
    check_replaceable(dest)
    partial = dest.with_name(dest.name + ".partial")
    remove_dir(partial)
    partial.mkdir(parents=True)
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    for pin in PINS:
        wheel = download_wheel(pin, WHEEL_CACHE)
        unpack_py_files(wheel, partial / pin.replace("==", "-"))
    (partial / STAMP_NAME).write_text(stamp_text(), encoding="utf-8")
    remove_dir(dest)
    partial.rename(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the pinned TensorFlow benchmark corpus.")
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        help=f"corpus directory (default: ${ENV_VAR} or {DEFAULT_DEST})",
    )
    args = parser.parse_args(argv)
    dest: Path = args.dest or default_dest()
    try:
        build_corpus(dest)
    except CorpusError as exc:
        print(f"corpus: error: {exc}", file=sys.stderr)
        return 1
    files = list(iter_py_files(dest))
    print(f"corpus: {dest.resolve()}: {len(files)} files, {count_lines(files)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
