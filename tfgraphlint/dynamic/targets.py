"""What `tfgraphlint trace` traces in a file: the compiled functions static discovery finds.

No TensorFlow here: this runs in the parent process, before any user code is imported.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst

from tfgraphlint.config import Config
from tfgraphlint.discovery.model import CompiledContext, ContextKind
from tfgraphlint.discovery.positions import LazyPositionProvider
from tfgraphlint.discovery.provider import CompiledContextProvider
from tfgraphlint.discovery.walk import forget_children, walk

if TYPE_CHECKING:
    from tfgraphlint.engine.runner import Analysis


class NotAnalysable(Exception):
    """A file whose compiled functions cannot be found: the message says why (it does not
    parse, or is nested too deeply for the parsers)."""


@dataclass(frozen=True, slots=True)
class Statement:
    """An `if`/`elif`/`for`/`while` whose conversion the trace checks."""

    line: int
    keyword: str
    function: str  # qualname of the function whose body holds it


@dataclass(frozen=True, slots=True)
class Target:
    """A compiled function of a file, with the control flow of every body its trace covers."""

    context: CompiledContext
    statements: tuple[Statement, ...]
    helpers: tuple[CompiledContext, ...]  # bodies traced as part of this one (same file)

    @property
    def traceable(self) -> bool:
        """Roots can be called; helpers, nested bodies and callbacks run inside something."""
        return self.context.is_root

    def to_json(self) -> dict[str, Any]:
        ctx = self.context
        return {
            "qualname": ctx.qualname,
            "line": ctx.line,
            "kind": ctx.kind.value,
            "converted": ctx.converted,
            "has_input_signature": ctx.has_input_signature,
            "statements": [
                {"line": s.line, "statement": s.keyword, "function": s.function}
                for s in self.statements
            ],
            "functions": {c.qualname: c.line for c in (ctx, *self.helpers)},
        }


class _StatementCollector(cst.CSTVisitor):
    """Control-flow statements of one body, not entering nested functions (they have their
    own contexts) but entering `elif` chains."""

    def __init__(self, wrapper_positions: Any, function: str) -> None:
        self.positions = wrapper_positions
        self.function = function
        self.found: list[Statement] = []
        self.elifs: set[cst.If] = set()

    def _add(self, node: cst.CSTNode, keyword: str) -> None:
        line = self.positions[node].start.line
        self.found.append(Statement(line, keyword, self.function))

    def visit_If(self, node: cst.If) -> None:
        self._add(node, "elif" if node in self.elifs else "if")
        if isinstance(node.orelse, cst.If):
            self.elifs.add(node.orelse)

    def visit_For(self, node: cst.For) -> None:
        self._add(node, "for")

    def visit_While(self, node: cst.While) -> None:
        self._add(node, "while")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


def _statements(
    func: cst.FunctionDef | cst.Lambda, positions: Any, qualname: str
) -> list[Statement]:
    if not isinstance(func, cst.FunctionDef):
        return []
    collector = _StatementCollector(positions, qualname)
    walk(func.body, collector)
    return collector.found


def targets_of(analysis: Analysis) -> list[Target]:
    """The compiled functions of an analysed module (`engine.runner.analyse`, run with
    `keep_discovery`), roots first, in source order: what `check` found compiled, from the
    same discovery run."""
    wrapper = analysis.wrapper
    if wrapper is None:
        return []
    resolved = wrapper.resolve(CompiledContextProvider)
    contexts = {
        node: ctx
        for node, ctx in resolved.items()
        if isinstance(ctx, CompiledContext) and isinstance(node, cst.FunctionDef | cst.Lambda)
    }
    positions = wrapper.resolve(LazyPositionProvider)
    by_root: dict[str, list[tuple[cst.FunctionDef | cst.Lambda, CompiledContext]]] = {}
    for node, ctx in contexts.items():
        by_root.setdefault(ctx.root_qualname, []).append((node, ctx))
    targets = []
    for node, ctx in contexts.items():
        if ctx.is_root:
            members = by_root.get(ctx.qualname, [])
            statements = [s for n, c in members for s in _statements(n, positions, c.qualname)]
            helpers = tuple(c for _, c in members if c is not ctx)
        elif ctx.kind in (ContextKind.DATASET_CALLBACK, ContextKind.KERAS_STEP):
            statements, helpers = _statements(node, positions, ctx.qualname), ()
        else:
            continue  # helpers and nested bodies are covered by their root's trace
        targets.append(Target(ctx, tuple(sorted(statements, key=lambda s: s.line)), helpers))
    return sorted(targets, key=lambda t: (not t.traceable, t.context.line))


def analyse_for_trace(
    source: str | bytes, path: str = "<trace>", config: Config | None = None
) -> tuple[list[Target], Analysis]:
    """`engine.runner.analyse` with every rule (the findings the trace report joins) and
    discovery kept: the targets and the analysis they come from.

    Raises `NotAnalysable` with the message of the error that kept discovery from running
    (the file does not decode or parse, or is nested too deeply)."""
    from tfgraphlint.engine.runner import analyse

    config = dataclasses.replace(config or Config(), select=("ALL",))
    analysis = analyse(source, path, config, keep_discovery=True)
    errors = analysis.result.errors
    if errors and analysis.discovery is None:  # a rule's crash does not hide the targets
        raise NotAnalysable(errors[0].message)
    try:
        return targets_of(analysis), analysis
    finally:
        forget_children()  # what the walks over its functions kept (`discovery.walk`)


def targets_of_source(source: str, config: Config | None = None) -> list[Target]:
    """The compiled functions of a module under `config` (default: the default config).
    Raises `NotAnalysable` on code that cannot be analysed."""
    return analyse_for_trace(source, "<trace>", config)[0]


def targets_of_file(path: Path, config: Config | None = None) -> list[Target]:
    """`targets_of_source` on a file (read as Python reads it)."""
    return analyse_for_trace(path.read_bytes(), str(path), config)[0]


def module_name(path: Path) -> tuple[str, Path]:
    """The dotted name to import `path` under, and the folder to put on `sys.path`: walk up
    while folders are packages (hold an `__init__.py`), as pytest's default import mode does."""
    path = path.resolve()
    parts = [path.stem] if path.stem != "__init__" else []
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), folder
