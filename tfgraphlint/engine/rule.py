"""The `Rule` base class: metadata, examples, and the questions rules ask about a node."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, cast, get_args

import libcst as cst
from libcst.metadata import (
    CodeRange,
    ProviderT,
    QualifiedName,
)

from tfgraphlint._types import Applicability, Edit, Example, Finding, Fix, Severity
from tfgraphlint.config import Config
from tfgraphlint.discovery import names
from tfgraphlint.discovery.control import under_eager_check
from tfgraphlint.discovery.model import CompiledContext, ModuleDiscovery
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.positions import LazyPositionProvider
from tfgraphlint.discovery.provider import CompiledContextProvider
from tfgraphlint.discovery.qualnames import qualified_names
from tfgraphlint.discovery.scope_metadata import FastScopeProvider
from tfgraphlint.discovery.stock import STOCK_LIBCST
from tfgraphlint.discovery.tensors import FunctionFacts
from tfgraphlint.discovery.walk import visitor_hook_names

FuncNode = cst.FunctionDef | cst.Lambda

_CODE_RE = re.compile(r"^TFG[0-9]{3}$")
_NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
REQUIRED_DOC_SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


# What of a file a rule reads, declared by the rule (`Rule.REACH`). The screen and the slicer
# (`engine.prefilter`, `engine.slicing`) keep what the selected rules declare, on top of what
# discovery needs (the compiled bodies, their helpers, what they read on `self`, the imports
# and module-level assignments):
# - "compiled-bodies": reports inside compiled bodies only; what discovery keeps is enough.
# - "call-sites": also reads the eager code that calls a compiled function (`step(0.5)`, a
#   rebinding after the call): the statements naming a compiled function are kept, and the
#   module-level functions and classes those name, two deep (what makes an argument).
# - "state-changes": reports inside compiled bodies only, but also reads the eager code that
#   changes in place the Python state those bodies read: the methods that do so to a `self`
#   attribute (`self.memory.append(x)`, `self.table[k] = v`) and the module-level functions
#   that do so to a module-level container (`CONFIG["scale"] = v`) are kept.
# - "module-level": reports outside compiled bodies too: the statements matching one of the
#   rule's `TRIGGERS` are kept wherever they are (declaring some is required).
# Whatever its reach, a rule runs only on a file where discovery finds a compiled context or
# a `tf.function` reference: the screen drops every other file before any parse.
Reach = Literal["compiled-bodies", "call-sites", "module-level", "state-changes"]
# The reaches of rules that report inside compiled bodies only.
BODY_REACHES = frozenset({"compiled-bodies", "state-changes"})

# The rules that report code which fails when traced without AutoGraph (a tensor `if`, an
# `assert` or a comprehension over a tensor, `.numpy()`): the only ones that run in a Keras
# `Layer.call` found by default (`keras-call` unset; `keras-call = true` runs every rule).
UNCONVERTED_BREAKAGE_RULES = frozenset({"TFG401", "TFG405", "TFG502", "TFG509", "TFG510"})


def _constant_truth(test: cst.BaseExpression) -> bool | None:
    """The truth of a test spelled as a constant (`False`, `None`, `0`, `True`, `1`), else
    None."""
    if isinstance(test, cst.Name) and test.value in ("True", "False", "None"):
        return test.value == "True"
    if isinstance(test, cst.Integer):
        return test.evaluated_value != 0
    return None


@dataclass(slots=True)
class FileState:
    """Per-file state shared by every rule of one run: config, caches, and the sink."""

    path: str
    config: Config
    module: cst.Module
    findings: list[Finding] = field(default_factory=list)
    rule_errors: list[tuple[str, BaseException]] = field(default_factory=list)
    facts: dict[cst.CSTNode, FunctionFacts] = field(default_factory=dict)
    module_constants: frozenset[str] | None = None
    qualname_memo: dict[cst.CSTNode, Collection[QualifiedName]] = field(default_factory=dict)
    # TensorFlow re-exported by the project's own modules (`discovery.reexports`).
    reexports: Mapping[str, str] = field(default_factory=dict)
    # `Rule.enclosing_function`, by node id (nodes live as long as the state; libCST's
    # `__hash__` is a Python call): most rules ask about the same calls and statements.
    enclosing_memo: dict[int, FuncNode | None] = field(default_factory=dict)
    # Nodes under `if FLAG:` where `FLAG` is a module-level name bound once, to `False`,
    # `None` or `0` (`DEBUG = False`): code that never runs (`Rule.compiled_context`).
    dead: set[int] = field(default_factory=set)
    off_flags: frozenset[str] | None = None
    # The file's whole text (the module may be a slice of it): where `_off_flags` looks for
    # other bindings of a flag (`global DEBUG` in a function the slicer blanked).
    text: str = ""


class Confirmation(enum.Enum):
    """How `tfgraphlint trace` can confirm a rule's finding (`Rule.CONFIRMED_BY`). A trace error
    at a finding's line confirms a finding of any rule."""

    TRACE_EFFECT = "trace-effect"  # output, or a state change, while tracing only
    FROZEN_VALUE = "frozen-value"  # graph calls repeat a value that eager calls change
    RETRACE = "retrace"  # a retrace on the argument the finding names
    TRACE_ERROR = "trace-error"  # tracing raises at the line (no error: not observed)
    CONVERSION = "conversion"  # graph control flow, or none, at the line, as predicted
    NONE = "none"  # tracing does not measure the hazard


_VISITOR_NAMES: dict[type[cst.BatchableCSTVisitor], tuple[str, ...]] = {}


def _visitor_names(cls: type[cst.BatchableCSTVisitor]) -> tuple[str, ...]:
    """The `visit_*`/`leave_*` methods a visitor class defines, without libCST's no-op stubs
    (what `BatchableCSTVisitor.get_visitors` selects), computed once per class."""
    found = _VISITOR_NAMES.get(cls)
    if found is None:
        found = tuple(
            name
            for name in visitor_hook_names(cls)
            if callable(getattr(cls, name)) and not getattr(getattr(cls, name), "_is_no_op", False)
        )
        _VISITOR_NAMES[cls] = found
    return found


class Rule(cst.BatchableCSTVisitor):
    """Base of every rule. Subclasses set the class attributes and visit nodes.

    A rule reports with `self.report(node, message)`, and attaches a repair with
    `fix=Fix.safe(title, self.edit(node, replacement))` when one is unambiguous; it asks
    `self.compiled_context(node)` whether a node is in a compiled body and why, and
    `self.facts(node).kind(expr)` whether a value is a tensor.
    """

    CODE: ClassVar[str]
    NAME: ClassVar[str]
    SEVERITY: ClassVar[Severity]
    SUMMARY: ClassVar[str]  # one line for tables: what is flagged
    # What the rule reads (`Reach`), and regular expressions of the text it needs kept: a
    # statement matching one is never blanked by the slicer (`MODULE_LEVEL` rules need some).
    REACH: ClassVar[Reach] = "compiled-bodies"
    TRIGGERS: ClassVar[tuple[str, ...]] = ()
    DEFAULT_ENABLED: ClassVar[bool] = True
    OPTIONS: ClassVar[tuple[str, ...]] = ()  # config keys that affect the rule
    VALID: ClassVar[Sequence[Example]] = ()
    INVALID: ClassVar[Sequence[Example]] = ()
    # The most trusted fix the rule can offer (for the docs), or None when it never fixes.
    FIX: ClassVar[Applicability | None] = None
    # How a trace confirms a finding (`tfgraphlint trace`, `dynamic.join`).
    CONFIRMED_BY: ClassVar[Confirmation] = Confirmation.NONE

    METADATA_DEPENDENCIES: ClassVar[tuple[ProviderT, ...]] = (
        LazyPositionProvider,
        ParentProvider,
        FastScopeProvider,
        CompiledContextProvider,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not _CODE_RE.match(cls.CODE):
            raise TypeError(f"{cls.__name__}: CODE {cls.CODE!r} is not TFG + 3 digits")
        if not _NAME_RE.match(cls.NAME):
            raise TypeError(f"{cls.__name__}: NAME {cls.NAME!r} is not kebab-case")
        doc = cls.__doc__ or ""
        missing = [s for s in REQUIRED_DOC_SECTIONS if s not in doc]
        if missing:
            raise TypeError(f"{cls.__name__}: docstring lacks {', '.join(missing)}")
        if not cls.VALID or not cls.INVALID:
            raise TypeError(f"{cls.__name__}: needs VALID and INVALID examples")
        if cls.REACH not in get_args(Reach):
            raise TypeError(f"{cls.__name__}: REACH {cls.REACH!r} is not one of {get_args(Reach)}")
        if cls.REACH == "module-level" and not cls.TRIGGERS:
            raise TypeError(f"{cls.__name__}: a MODULE_LEVEL rule declares its TRIGGERS")
        for trigger in cls.TRIGGERS:
            re.compile(trigger)  # a bad pattern fails at import, naming the rule's module
        has_fixed = any(ex.fixed is not None for ex in cls.INVALID)
        if has_fixed != (cls.FIX is not None):
            raise TypeError(f"{cls.__name__}: FIX is set iff an INVALID example has `fixed=`")

    def __init__(self, state: FileState) -> None:
        super().__init__()
        self.state = state
        self.config = state.config
        self._failed = False

    # ------------------------------------------------------------------ error isolation
    def get_visitors(self) -> dict[str, Callable[[cst.CSTNode], None]]:
        # libCST's own `get_visitors` runs `inspect.getmembers` on every instance, i.e. once
        # per rule per file; the set of methods depends on the class only.
        if STOCK_LIBCST:
            return {name: self._guard(m) for name, m in super().get_visitors().items()}
        return {name: self._guard(getattr(self, name)) for name in _visitor_names(type(self))}

    def _guard(self, fn: Callable[[cst.CSTNode], None]) -> Callable[[cst.CSTNode], None]:
        def guarded(node: cst.CSTNode) -> None:
            if self._failed:
                return
            try:
                fn(node)
            except Exception as exc:  # a rule bug must not cost the other rules' findings
                self._failed = True
                self.state.rule_errors.append((self.CODE, exc))

        return guarded

    # ------------------------------------------------------------------ reporting
    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        severity: Severity | None = None,
        context: CompiledContext | None = None,
        fix: Fix | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        if self._never_runs(node):
            return  # `if False:` kept around: nothing under it runs, traced or not
        pos: CodeRange = self.get_metadata(LazyPositionProvider, node)
        ctx = context if context is not None else self.compiled_context(node)
        self.state.findings.append(
            Finding(
                path=self.state.path,
                line=pos.start.line,
                column=pos.start.column + 1,
                end_line=pos.end.line,
                end_column=pos.end.column + 1,
                code=self.CODE,
                name=self.NAME,
                severity=severity or self.SEVERITY,
                message=message,
                function=ctx.qualname if ctx is not None else None,
                fix=fix,
                data=data,
            )
        )

    def _never_runs(self, node: cst.CSTNode) -> bool:
        """`node` is in the body of `if False:`/`if 0:`/`while False:` (or the `else` of
        `if True:`) at any depth: Python never runs it, and AutoGraph leaves a test that
        is a Python constant to Python."""
        child, parent = node, self.get_metadata(ParentProvider, node, None)
        while parent is not None:
            if isinstance(parent, cst.If | cst.While):
                value = _constant_truth(parent.test)
                if value is False and child is parent.body:
                    return True
                if value is True and child is parent.orelse:
                    return True
            child, parent = parent, self.get_metadata(ParentProvider, parent, None)
        return False

    # ------------------------------------------------------------------ fixes
    def edit(self, node: cst.CSTNode, replacement: cst.CSTNode | str) -> Edit:
        """An edit replacing `node`'s source with a node (rendered) or text. Edits are text
        positions, not a re-rendered tree: the engine may analyse a sliced copy of the file,
        and the fix must apply to the original."""
        pos: CodeRange = self.get_metadata(LazyPositionProvider, node)
        text = (
            replacement
            if isinstance(replacement, str)
            else self.state.module.code_for_node(replacement)
        )
        return Edit(pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1, text)

    def insert_before(self, node: cst.CSTNode, text: str) -> Edit:
        """An edit inserting `text` where `node` starts."""
        pos: CodeRange = self.get_metadata(LazyPositionProvider, node)
        line, column = pos.start.line, pos.start.column + 1
        return Edit(line, column, line, column, text)

    # ------------------------------------------------------------------ questions
    def qualnames(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.qualified_names(node)}

    def qualified_names(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        """What libCST's `QualifiedNameProvider` would give `node`, on demand."""
        return qualified_names(self, node, self.state.qualname_memo, self.state.reexports)

    def is_tf(self, node: cst.CSTNode, *suffixes: str) -> bool:
        return names.any_in(self.qualnames(node), names.under_tf(*suffixes))

    def line_of(self, node: cst.CSTNode) -> int:
        return int(self.get_metadata(LazyPositionProvider, node).start.line)

    def holds_compiled_code(self, node: cst.ClassDef) -> bool:
        """Whether a compiled body that admits this rule is defined inside class `node`: when
        not, nothing in it is traced for this rule, and a rule can skip it whole. Decided on
        qualified names (`Outer.Layer.call`, `make.<locals>.Layer.call`): positions would
        render the whole class."""
        discovery = self.get_metadata(CompiledContextProvider, self.state.module, None)
        if not isinstance(discovery, ModuleDiscovery):
            return False
        parts = [node.name.value]
        parent = self.parent(node)
        while parent is not None:
            if isinstance(parent, cst.ClassDef):
                parts.append(parent.name.value)
            elif isinstance(parent, cst.FunctionDef):
                parts.append(f"{parent.name.value}.<locals>")
            parent = self.parent(parent)
        prefix = ".".join(reversed(parts)) + "."
        return any(
            ctx.qualname.startswith(prefix) and self._admits(ctx) for ctx in discovery.contexts
        )

    def code(self, node: cst.CSTNode) -> str:
        """Source text of a node, shortened for messages."""
        text = " ".join(self.state.module.code_for_node(node).split())
        return text if len(text) <= 60 else text[:57] + "..."

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """`node`'s parent in the tree; None for the module."""
        return self.parent_map().get(node)  # the map holds nodes only (`ParentProvider`)

    def parent_map(self) -> Mapping[cst.CSTNode, cst.CSTNode]:
        """Each node's parent, the map itself: `get_metadata` checks the provider on every
        call, and the walks up the tree ask once per ancestor."""
        return cast("Mapping[cst.CSTNode, cst.CSTNode]", self.metadata[ParentProvider])

    def under_eager_check(self, node: cst.CSTNode) -> bool:
        """Whether an enclosing `if` of the same function tests `executing_eagerly()`: such
        code is often eager-only (`discovery.control.under_eager_check`)."""
        return under_eager_check(node, self.parent, self.code)

    def enclosing_function(self, node: cst.CSTNode) -> FuncNode | None:
        """The innermost function whose *body* holds `node` (decorators and defaults run in
        the enclosing scope), or None at module or class level, or in `with tf.init_scope()`."""
        memo = self.state.enclosing_memo
        key = id(node)
        if key in memo:
            return memo[key]
        found = memo[key] = self._enclosing_function(node)
        return found

    def _enclosing_function(self, node: cst.CSTNode) -> FuncNode | None:
        child: cst.CSTNode = node
        parents = self.parent_map()
        parent = parents.get(child)
        while parent is not None:
            # `type(...) is`, not isinstance: libCST's node classes are ABCs (slow checks).
            if type(parent) is cst.FunctionDef or type(parent) is cst.Lambda:
                if child is parent.body:
                    return parent
            elif type(parent) is cst.If and child is parent.body and self._is_off(parent.test):
                self.state.dead.add(id(node))
            elif (
                type(parent) is cst.ClassDef
                and child is parent.body
                or type(parent) is cst.With
                and child is parent.body
                and self._is_init_scope(parent)
            ):
                return None
            child = parent
            parent = parents.get(child)
        return None

    def _is_init_scope(self, node: cst.With) -> bool:
        return any(
            isinstance(item.item, cst.Call) and self.is_tf(item.item.func, "init_scope")
            for item in node.items
        )

    def context_of_function(self, func: cst.CSTNode) -> CompiledContext | None:
        ctx = self._traced_context(func)
        return ctx if ctx is not None and self._admits(ctx) else None

    def _admits(self, ctx: CompiledContext) -> bool:
        """Whether this rule reports in `ctx`: in a Keras `call` found by default, only the
        rules of what fails there (`UNCONVERTED_BREAKAGE_RULES`) do."""
        return not ctx.breaking_only or self.CODE in UNCONVERTED_BREAKAGE_RULES

    def _traced_context(self, func: cst.CSTNode) -> CompiledContext | None:
        meta = self.metadata[CompiledContextProvider].get(func)
        return meta if isinstance(meta, CompiledContext) else None

    def compiled_context(self, node: cst.CSTNode) -> CompiledContext | None:
        """Why `node` is traced into a graph, or None when it runs eagerly (or never: under
        `if DEBUG:` with `DEBUG = False` at module level)."""
        func = self.enclosing_function(node)
        if func is None or id(node) in self.state.dead:
            return None
        return self.context_of_function(func)

    def _is_off(self, test: cst.BaseExpression) -> bool:
        """Whether an `if` test is surely false: `False`, `None` or `0`, or a module flag
        bound once to one of them and never declared `global` (`off_flags`), alone or in an
        `and`."""
        if type(test) is cst.BooleanOperation and type(test.operator) is cst.And:
            return self._is_off(test.left) or self._is_off(test.right)
        if _constant_truth(test) is False:
            return True  # `if False:`, `if 0:`
        if type(test) is not cst.Name:
            return False
        flags = self.state.off_flags
        if flags is None:
            flags = self.state.off_flags = _off_flags(self.state.module, self.state.text)
        return test.value in flags

    def facts(self, node: cst.CSTNode) -> FunctionFacts | None:
        """Tensor/Python facts of the compiled function around `node`; None when `node` runs
        eagerly (every rule that asks needs a compiled context too, and computing the facts
        of eager functions was a third of the rules' time on the benchmark corpus)."""
        func = self.enclosing_function(node)
        if func is None or self.context_of_function(func) is None:
            return None
        return self.facts_of_function(func)

    def facts_of_function(self, func: FuncNode) -> FunctionFacts:
        cached = self.state.facts.get(func)
        if cached is not None:
            return cached
        outer_func = self.enclosing_function(func)
        outer = self.facts_of_function(outer_func) if outer_func is not None else None
        facts = FunctionFacts(
            func,
            self._traced_context(func),
            self.qualnames,
            self.module_constants(),
            outer,
        )
        self.state.facts[func] = facts
        return facts

    def module_constants(self) -> frozenset[str]:
        """Module-level names bound once, to a literal (Python values at trace time)."""
        if self.state.module_constants is None:
            counts: dict[str, int] = {}
            literal: set[str] = set()
            for name, value in _top_level_bindings(self.state.module, annotated=False):
                counts[name] = counts.get(name, 0) + 1
                if isinstance(value, cst.Integer | cst.Float | cst.SimpleString) or (
                    isinstance(value, cst.Name) and value.value in ("True", "False", "None")
                ):
                    literal.add(name)
            self.state.module_constants = frozenset(n for n in literal if counts.get(n) == 1)
        return self.state.module_constants


def option(rule: Rule, key: str) -> Any:
    """A config option's value (key in kebab-case)."""
    return getattr(rule.config, key.replace("-", "_"))


def _off_flags(module: cst.Module, text: str) -> frozenset[str]:
    """Module-level names bound at the top level to `False`, `None` or `0`, and bound nowhere
    else in the file's `text` (no other assignment at any indentation, augmented assignment,
    `global` declaration, loop target or `as` name): `if DEBUG:` never runs."""
    off = {
        name
        for name, value in _top_level_bindings(module, annotated=True)
        if (isinstance(value, cst.Name) and value.value in ("False", "None"))
        or (isinstance(value, cst.Integer) and value.value == "0")
    }
    return frozenset(name for name in off if _bound_once(name, text))


def _top_level_bindings(
    module: cst.Module, *, annotated: bool
) -> Iterator[tuple[str, cst.BaseExpression | None]]:
    """(name, value) of each plain name bound by a module-level assignment statement (and
    annotated assignment, with `annotated`), one per target."""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif annotated and isinstance(small, cst.AnnAssign):
                targets = [small.target]
            else:
                continue
            for target in targets:
                if isinstance(target, cst.Name):
                    yield target.value, small.value


def _bound_once(name: str, text: str) -> bool:
    word = re.escape(name)
    assignments = re.findall(rf"^[ \t]*{word}[ \t]*(?::[^=\n]*)?=(?!=)", text, re.M)
    other = re.search(
        rf"\b(?:global|nonlocal|import|del|lambda)\b[^\n]*\b{word}\b|"  # other bindings
        rf"\b{word}[ \t]*(?:[-+*/%&|^@]|//|\*\*|>>|<<|:)=|"  # augmented, walrus
        rf"\bfor\b[^\n]*\b{word}\b[^\n]*\bin\b|\bas[ \t]+{word}\b|"  # loop, `as` targets
        rf"[(,][ \t]*\**{word}[ \t]*[,=:)]|{word}[ \t]*,[^\n]*=",  # parameters, unpacking
        text,
    )
    return len(assignments) == 1 and other is None
