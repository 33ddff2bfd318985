"""Benchmark tfgraphlint against ruff, flake8 and parse-only floors on the pinned corpus.

Usage::

    python benchmarks/run.py [--repeat N] [--corpus DIR] [--rows KEY,...] [--markdown]
    python benchmarks/run.py --latency [--latency-runs N] [--markdown]

Corpus mode (the default) builds the corpus if needed (see ``corpus.py``), reads
it once to warm the page cache, then runs N rounds; each round runs every row
once, the starting row rotating from round to round. Each run is a fresh
``measure.py`` process that times the command and reads its CPU time and memory
peaks (that file explains how). Reported per row: median wall seconds, median CPU
seconds, the largest peak RSS of any single process, the largest sampled sum of
RSS over the process tree, and median wall time as a multiple of ruff's and of
flake8's; and above the table, each row's wall time over ruff's round by round (the
machine's speed moves between rounds: a ratio within a round is steadier than a ratio of
medians). Commands run in a scratch working directory with stdout to /dev/null.

flake8 runs every installed plugin whatever ``--select`` says, so the flake8 row
hides tfgraphlint's plugin (``flake8_hiding.py``) to stay a pure flake8 baseline;
the opt-in row ``flake8-tfg`` runs flake8 with the plugin.

``--latency`` instead times flake8 on the generated files (``latency_files.py``:
``latency_plain.py``, ``latency_tf.py``, ``latency_layers.py``, 500 lines each, and
``latency_train.py``, a 350-line training script with five ``tf.function``s): with the
tfgraphlint plugin
hidden (``--select F``) and, if it is installed, loaded (``--select F,TFG``), and the
training file also under ``--select E`` both ways (the plugin must then cost nothing) and
with the resident server (``--tfg-server=true``, a server started before the runs: its work
is in the server's process, so compare the wall times, not the CPU times, on that row).
The difference is the plugin's cost per file as an editor sees it.

Child Python processes run without ``PYTHONDONTWRITEBYTECODE`` and with
``PYTHONPYCACHEPREFIX=benchmarks/.pycache``, so byte-code is cached as on a normal
install (this sandbox sets the former) without writing into the source tree.
Progress goes to stderr; the report (machine, corpus, table) to stdout.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from corpus import CorpusError, build_corpus, count_lines, default_dest, iter_py_files
from latency_files import write_latency_files

HERE = Path(__file__).resolve().parent
MEASURE = HERE / "measure.py"
PARSE_FLOOR = HERE / "parse_floor.py"
FLAKE8_HIDING = HERE / "flake8_hiding.py"
PYCACHE = HERE / ".pycache"
PLUGIN_DIST = "tfgraphlint"
RUN_TIMEOUT_S = 1800.0
LATENCY_RUNS = 15
TFG_UNAVAILABLE_EXIT = 2


@dataclass(frozen=True)
class Row:
    """One command of the corpus benchmark."""

    key: str
    label: str
    argv: tuple[str, ...] | None
    missing: str = ""
    warm_up: bool = False
    unavailable_exit: int | None = None
    default: bool = True


@dataclass
class Result:
    """The measurements of one row, or why there are none."""

    row: Row
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    max_proc_mb: list[float] = field(default_factory=list)
    tree_mb: list[float] = field(default_factory=list)
    status: str = ""


@dataclass(frozen=True)
class Measurement:
    """What ``measure.py`` reports for one run."""

    wall_s: float
    cpu_s: float
    max_proc_mb: float
    tree_mb: float
    returncode: int
    timed_out: bool
    stderr_tail: str


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tool(name: str) -> str | None:
    """Path of a console script, preferring this interpreter's own bin directory.

    That skips wrappers such as pyenv shims, which add ~0.1 s to every start.
    """
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def python_script(script: Path, *args: str) -> tuple[str, ...]:
    return (sys.executable, str(script), *args)


def plugin_installed() -> bool:
    """True if tfgraphlint registers a flake8 plugin in this interpreter."""
    return any(
        ep.dist is not None and ep.dist.name == PLUGIN_DIST
        for ep in metadata.entry_points(group="flake8.extension")
    )


def flake8_argv(*args: str, hide_plugin: bool) -> tuple[str, ...]:
    """flake8 through ``flake8_hiding.py``, with or without tfgraphlint's plugin."""
    hide = ("--hide", PLUGIN_DIST) if hide_plugin else ()
    return python_script(FLAKE8_HIDING, *hide, "--", *args)


def tool_row(
    key: str,
    label: str,
    name: str,
    args: Sequence[str],
    *,
    warm_up: bool = False,
    unavailable_exit: int | None = None,
) -> Row:
    """A row running console script ``name``; "not available" if it is not installed."""
    exe = tool(name)
    if exe is None:
        return Row(key, label, None, missing=f"not available ({name} not found)")
    return Row(key, label, (exe, *args), warm_up=warm_up, unavailable_exit=unavailable_exit)


def flake8_rows(target: str) -> list[Row]:
    """flake8 without tfgraphlint's plugin, and (opt-in) with it."""
    plain = Row(
        "flake8",
        "flake8 --select F (tfgraphlint plugin hidden)",
        flake8_argv("--isolated", "--select", "F", "--exit-zero", target, hide_plugin=True),
    )
    with_plugin = Row(
        "flake8-tfg",
        "flake8 --select F,TFG (tfgraphlint plugin)",
        flake8_argv("--isolated", "--select", "F,TFG", "--exit-zero", target, hide_plugin=False),
        default=False,
    )
    if importlib.util.find_spec("flake8") is None:
        return [
            replace(row, argv=None, missing="not available (flake8 not installed)")
            for row in (plain, with_plugin)
        ]
    if not plugin_installed():
        with_plugin = replace(
            with_plugin, argv=None, missing="not available (plugin not installed)"
        )
    return [plain, with_plugin]


def corpus_rows(corpus: Path) -> list[Row]:
    """Every row of the corpus benchmark, in table order."""
    target = str(corpus)
    return [
        tool_row(
            "tfg-cold",
            "tfgraphlint cold (--no-cache), all rules, -j 2",
            "tfgraphlint",
            ["check", "--select", "ALL", "--no-cache", "--exit-zero", "-j", "2", target],
            unavailable_exit=TFG_UNAVAILABLE_EXIT,
        ),
        tool_row(
            "tfg-cold-1p",
            "tfgraphlint cold (--no-cache), all rules, -j 1",
            "tfgraphlint",
            ["check", "--select", "ALL", "--no-cache", "--exit-zero", "-j", "1", target],
            unavailable_exit=TFG_UNAVAILABLE_EXIT,
        ),
        tool_row(
            "tfg-warm",
            "tfgraphlint warm (cache filled), all rules",
            "tfgraphlint",
            ["check", "--select", "ALL", "--exit-zero", target],
            warm_up=True,
            unavailable_exit=TFG_UNAVAILABLE_EXIT,
        ),
        tool_row(
            "ruff",
            "ruff --select ALL",
            "ruff",
            ["check", "--isolated", "--select", "ALL", "--no-cache", "--exit-zero", target],
        ),
        *flake8_rows(target),
        Row(
            "libcst",
            "libcst.parse_module, 1 process",
            python_script(PARSE_FLOOR, "libcst", "--jobs", "1", target),
        ),
        Row(
            "libcst-2p",
            "libcst.parse_module, 2 processes",
            python_script(PARSE_FLOOR, "libcst", "--jobs", "2", target),
        ),
        Row(
            "ast", "ast.parse, 1 process", python_script(PARSE_FLOOR, "ast", "--jobs", "1", target)
        ),
    ]


def child_env() -> dict[str, str]:
    """This environment, with byte-code cached under ``PYCACHE`` (see the module doc)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def run_measured(argv: Sequence[str], cwd: Path) -> Measurement:
    """Run ``argv`` once under ``measure.py`` in a fresh interpreter."""
    cmd = [*python_script(MEASURE, "--timeout", str(RUN_TIMEOUT_S), "--"), *argv]
    done = subprocess.run(
        cmd, cwd=cwd, env=child_env(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"measure.py exited {done.returncode}")
    return Measurement(**json.loads(done.stdout))


def failure(run: Measurement, unavailable_exit: int | None = None) -> str:
    """Why ``run`` does not count, or "" if it does."""
    last = run.stderr_tail.splitlines()[-1] if run.stderr_tail else "no stderr"
    if run.timed_out:
        return f"error: timed out after {RUN_TIMEOUT_S:.0f} s"
    if run.returncode == unavailable_exit:
        return f"not available (exit {run.returncode}: {last})"
    if run.returncode != 0:
        return f"error: exit {run.returncode}: {last}"
    return ""


def measure_row(result: Result, cwd: Path, record: bool) -> None:
    """Run ``result.row`` once; record the run, or set ``result.status`` if it failed."""
    argv = result.row.argv
    if result.status or argv is None:
        return
    try:
        run = run_measured(argv, cwd)
    except (RuntimeError, ValueError, TypeError) as exc:
        result.status = f"error: {exc}"
        return
    result.status = failure(run, result.row.unavailable_exit)
    if record and not result.status:
        result.walls.append(run.wall_s)
        result.cpus.append(run.cpu_s)
        result.max_proc_mb.append(run.max_proc_mb)
        result.tree_mb.append(run.tree_mb)
        progress(
            f"  {result.row.key}: {run.wall_s:.2f} s wall, {run.cpu_s:.2f} s cpu, "
            f"{run.max_proc_mb:.0f} MB"
        )


def run_rounds(rows: list[Row], repeat: int, cwd: Path) -> list[Result]:
    """Warm up the rows that need it, then ``repeat`` rotating rounds over all rows."""
    results = [Result(row, status=row.missing) for row in rows]
    for result in results:
        if result.row.warm_up:
            progress(f"warm-up: {result.row.key}")
            measure_row(result, cwd, record=False)
    for round_index in range(repeat):
        progress(f"round {round_index + 1}/{repeat}")
        shift = round_index % len(results)
        for result in results[shift:] + results[:shift]:
            measure_row(result, cwd, record=True)
    return results


def median_wall(results: list[Result], key: str) -> float | None:
    for result in results:
        if result.row.key == key and result.walls:
            return statistics.median(result.walls)
    return None


def ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}x" if reference else "-"


CORPUS_HEADER = [
    "command",
    "median wall s",
    "median CPU s",
    "peak RSS MB (largest process)",
    "peak RSS MB (tree, sampled)",
    "wall vs ruff",
    "wall vs flake8",
    "runs",
]


def result_cells(result: Result, ruff: float | None, flake8: float | None) -> list[str]:
    """One table row: label, medians, memory peaks, ratios, number of runs."""
    if result.status or not result.walls:
        return [result.row.label, result.status or "no runs", *[""] * 6]
    wall = statistics.median(result.walls)
    return [
        result.row.label,
        f"{wall:.2f}",
        f"{statistics.median(result.cpus):.2f}",
        f"{max(result.max_proc_mb):.0f}",
        f"{max(result.tree_mb):.0f}",
        ratio(wall, ruff),
        ratio(wall, flake8),
        str(len(result.walls)),
    ]


def corpus_table(results: list[Result]) -> list[list[str]]:
    ruff, flake8 = median_wall(results, "ruff"), median_wall(results, "flake8")
    return [CORPUS_HEADER] + [result_cells(r, ruff, flake8) for r in results]


def paired_ratios(results: list[Result]) -> list[tuple[str, str]]:
    """Each row's wall time over ruff's in the same round, round by round, and their median:
    on a shared machine both move from one minute to the next, and a round runs every row
    within a minute (a row with a failed run is left out: its rounds no longer pair up)."""
    ruff = next((r for r in results if r.row.key == "ruff" and not r.status), None)
    if ruff is None or not ruff.walls:
        return []
    found = []
    for result in results:
        if result is ruff or result.status or len(result.walls) != len(ruff.walls):
            continue
        ratios = [mine / theirs for mine, theirs in zip(result.walls, ruff.walls, strict=True)]
        each = ", ".join(f"{r:.2f}x" for r in ratios)
        found.append(
            (
                f"{result.row.key} vs ruff, the same round",
                f"{each} (median {statistics.median(ratios):.2f}x)",
            )
        )
    return found


def format_table(table: list[list[str]], markdown: bool) -> str:
    """Render rows of cells (the first is the header) as Markdown or aligned text."""
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in table]
        lines.insert(1, "|" + "|".join(" --- " for _ in table[0]) + "|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


def tool_version(name: str) -> str:
    """First line of ``NAME --version``, or "not installed"."""
    exe = tool(name)
    if exe is None:
        return "not installed"
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else "unknown"


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def proc_field(path: str, key: str) -> str:
    """Value of the first ``key: value`` line of a /proc file, or "unknown"."""
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    return " / ".join(f"{load:.2f}" for load in os.getloadavg())


def machine_info() -> list[tuple[str, str]]:
    return [
        ("date", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("cpus (nproc)", str(len(os.sched_getaffinity(0)))),
        ("cpu model", proc_field("/proc/cpuinfo", "model name")),
        ("memory", proc_field("/proc/meminfo", "MemTotal")),
        ("os", platform.platform()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("tfgraphlint", package_version("tfgraphlint")),
        ("ruff", tool_version("ruff")),
        ("flake8", package_version("flake8")),
        ("pyflakes", package_version("pyflakes")),
        ("libcst", package_version("libcst")),
        ("load average 1/5/15 min, at start", load_average()),
    ]


def format_info(items: list[tuple[str, str]], markdown: bool) -> str:
    if markdown:
        return "\n".join(f"- {key}: {value}" for key, value in items)
    width = max(len(key) for key, _ in items)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in items)


def corpus_benchmark(args: argparse.Namespace) -> list[str]:
    """Run corpus mode; return the report sections."""
    corpus: Path = build_corpus(args.corpus).resolve()
    files = list(iter_py_files(corpus))
    lines = count_lines(files)  # also reads every file once: a warm page cache
    rows = [
        row
        for row in corpus_rows(corpus)
        if row.key in args.rows or (not args.rows and row.default)
    ]
    with tempfile.TemporaryDirectory(prefix="tfgraphlint-bench-") as scratch:
        results = run_rounds(rows, args.repeat, Path(scratch))
    about = [
        ("corpus", str(corpus)),
        ("files", str(len(files))),
        ("lines", str(lines)),
        ("rounds", str(args.repeat)),
        ("load average at end", load_average()),
        *paired_ratios(results),
    ]
    return [format_info(about, args.markdown), format_table(corpus_table(results), args.markdown)]


def latency_medians(
    commands: dict[str, tuple[str, ...]], cwd: Path, runs_per_command: int
) -> dict[str, tuple[float, float]]:
    """Median (wall ms, CPU ms) of each command over ``runs_per_command`` interleaved runs."""
    for argv in commands.values():
        run_measured(argv, cwd)  # unmeasured: warms the page and byte-code caches
    runs: dict[str, list[Measurement]] = {key: [] for key in commands}
    for index in range(runs_per_command):
        progress(f"latency run {index + 1}/{runs_per_command}")
        for key, argv in commands.items():
            run = run_measured(argv, cwd)
            if failure(run):
                raise RuntimeError(f"{' '.join(argv)}: {failure(run)}")
            runs[key].append(run)
    return {
        key: (
            statistics.median(r.wall_s for r in done) * 1000,
            statistics.median(r.cpu_s for r in done) * 1000,
        )
        for key, done in runs.items()
    }


SERVER = "--tfg-server=true"


def latency_cases(files: Sequence[Path]) -> list[tuple[Path, str, str, tuple[str, ...]]]:
    """(file, ``--select`` with the plugin hidden, with it loaded, more flake8 arguments with
    it loaded) of each latency row: every file under ``--select F`` against ``F,TFG``; the
    training file (the goal's case) under ``--select E`` both ways too, an editor's selection
    without TFG codes, and with the resident server (``tfg-server``, started before the runs)."""
    cases: list[tuple[Path, str, str, tuple[str, ...]]] = [
        (path, "F", "F,TFG", ()) for path in files
    ]
    train = [path for path in files if path.name == "latency_train.py"]
    cases += [(path, "E", "E", ()) for path in train]
    cases += [(path, "F", "F,TFG", (SERVER,)) for path in train]
    return cases


def start_server(folder: Path) -> subprocess.Popen[bytes]:
    """tfgraphlint's resident server for the ``tfg-server`` rows, its socket in ``folder``
    (``TFGRAPHLINT_SERVER_DIR``, set for every child); returns once it answers."""
    os.environ["TFGRAPHLINT_SERVER_DIR"] = str(folder)
    from tfgraphlint.frontends import server

    path = server.socket_path()
    if path is None:
        raise RuntimeError(f"no private socket folder at {folder}")
    process = subprocess.Popen(
        [sys.executable, "-m", "tfgraphlint", "server", "--socket", str(path)],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if server.request({"op": "ping"}, path, timeout=5.0) is not None:
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("tfgraphlint server did not start")


def latency_benchmark(args: argparse.Namespace) -> list[str]:
    """Run latency mode; return the report sections."""
    if importlib.util.find_spec("flake8") is None:
        raise RuntimeError("flake8 is not installed")
    plugin = plugin_installed()
    commands: dict[str, tuple[str, ...]] = {}
    cases = latency_cases(write_latency_files())
    for path, hidden, loaded, extra in cases:
        commands[f"{path}:{hidden}:hidden"] = flake8_argv(
            "--isolated", "--exit-zero", "--select", hidden, str(path), hide_plugin=True
        )
        if plugin:
            commands[f"{path}:{loaded}:plugin{''.join(extra)}"] = flake8_argv(
                "--isolated",
                "--exit-zero",
                "--select",
                loaded,
                *extra,
                str(path),
                hide_plugin=False,
            )
    with tempfile.TemporaryDirectory(prefix="tfgraphlint-latency-") as scratch:
        process = start_server(Path(scratch, "sockets")) if plugin else None
        try:
            medians = latency_medians(commands, Path(scratch), args.latency_runs)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    table = [
        [
            "file (lines)",
            "plugin hidden: wall ms (CPU ms)",
            "plugin loaded: wall ms (CPU ms)",
            "plugin cost: wall ms (CPU ms)",
        ]
    ]
    for path, hidden, loaded, extra in cases:
        lines = count_lines([path])
        wall, cpu = medians[f"{path}:{hidden}:hidden"]
        hidden_cell = f"--select {hidden}: {wall:.0f} ({cpu:.0f})"
        if not plugin:
            table.append([f"{path.name} ({lines})", hidden_cell, "plugin not installed", "-"])
            continue
        tfg_wall, tfg_cpu = medians[f"{path}:{loaded}:plugin{''.join(extra)}"]
        table.append(
            [
                f"{path.name} ({lines})",
                hidden_cell,
                f"--select {loaded} {' '.join(extra)}".rstrip()
                + f": {tfg_wall:.0f} ({tfg_cpu:.0f})",
                f"{tfg_wall - wall:+.0f} ({tfg_cpu - cpu:+.0f})",
            ]
        )
    about = [
        ("runs per cell (median)", str(args.latency_runs)),
        ("load average at end", load_average()),
    ]
    return [format_info(about, args.markdown), format_table(table, args.markdown)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark tfgraphlint, ruff, flake8 and parse floors on the corpus."
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of the corpus benchmark (default: 3)"
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=default_dest(),
        help="corpus directory, built if missing "
        "(default: $TFGRAPHLINT_CORPUS or benchmarks/.corpus)",
    )
    rows = corpus_rows(Path("."))
    parser.add_argument(
        "--rows",
        type=lambda text: text.split(","),
        default=[],
        help="comma-separated rows to run instead of the default ones: "
        + ", ".join(r.key + ("" if r.default else " (opt-in)") for r in rows),
    )
    parser.add_argument(
        "--latency", action="store_true", help="run the per-file flake8 latency benchmark instead"
    )
    parser.add_argument(
        "--latency-runs",
        type=int,
        default=LATENCY_RUNS,
        help=f"measured runs of each latency command (default: {LATENCY_RUNS})",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.latency_runs < 1:
        parser.error("--latency-runs must be at least 1")
    unknown = set(args.rows) - {row.key for row in rows}
    if unknown:
        parser.error(f"unknown --rows: {','.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info()
    mode: Callable[[argparse.Namespace], list[str]] = (
        latency_benchmark if args.latency else corpus_benchmark
    )
    try:
        sections = mode(args)
    except (CorpusError, RuntimeError) as exc:
        print(f"run.py: error: {exc}", file=sys.stderr)
        return 1
    print("\n\n".join([format_info(info, args.markdown), *sections]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
