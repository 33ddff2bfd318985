"""The slicer: what libCST must parse of a file that passed the screen.

libCST parses many times slower than CPython's `ast`, and its scope and qualified-name
metadata cost more again (`benchmarks/README.md` has the figures). `engine.prefilter`
screens out the files that cannot hold compiled code (a text screen, then an `ast` one); for
the others, `slice_module` keeps what discovery and the selected rules need and blanks the
rest:

CPython's `ast` finds the module's top-level statements; a statement is kept when its text
could matter to discovery (it mentions a compile decorator or dataset method, defines a Keras
step, holds `global`/`nonlocal`, imports, assigns at module level, is named by code that may be
traced; see `_close_over_names`) or to a selected rule, as the rule declares (`Rule.REACH`,
`Rule.TRIGGERS`: a `call-sites` rule keeps the calls of compiled functions, a `module-level`
rule the statements matching its triggers, a `state-changes` rule the eager code that changes
in place what compiled bodies read). The others become blank lines, so line and column
numbers are unchanged and libCST parses only what matters. Inside a function that is kept but
not traced whole (an eager function kept for what it holds, a call site, a method that binds
what a traced body reads, a factory), the statements that cannot matter are blanked too
(`_eager_statements_to_blank`).

Each step over-approximates what discovery and the rules need; `tests/test_slicing.py` checks
on real code that findings are identical with and without it.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from tfgraphlint.config import Config
from tfgraphlint.discovery import names
from tfgraphlint.discovery.ast_nodes import WALKED_FIELDS, all_statements, ast_nodes
from tfgraphlint.engine.keras_gate import KerasGate
from tfgraphlint.engine.lines import split_lines
from tfgraphlint.engine.prefilter import (
    DATASET_METHODS,
    GAP,
    KERAS_LOSS,
    KERAS_STEP,
    STEP_NAMES,
    defines_loss_call,
    extra_names,
    function_binding,
    names_keras_loss,
    screened,
    word,
    words,
)

if TYPE_CHECKING:  # not at run time: the flake8 plugin slices without loading libCST
    from tfgraphlint.engine.rule import Rule

_KERAS_DRIVERS = "|".join(sorted(names.KERAS_DRIVER_METHODS))
_FUNCTION_ALIAS = re.compile(word("function") + r"\s+as\s+([^\W\d]\w*)")
# `from tensorflow.config import run_functions_eagerly as eager`: `eager(False)` is read too.
_EAGER_ALIAS = re.compile(r"run_functions_eagerly\s+as\s+([^\W\d]\w*)")
_SELF_BINDING = re.compile(word("self") + r"\s*\.\s*([^\W\d]\w*)\s*(?:=[^=]|[-+*/%@&|^]=|:)")
# In-place changes of a container (python-state-frozen): `x.append(`, `x[k] = v`, `x[k] += v`.
_MUTATORS = (
    "append|extend|insert|pop|popleft|appendleft|remove|clear|update|setdefault|popitem|add|discard"
)
_MUTATION = rf"\s*(?:\.\s*(?:{_MUTATORS})\s*\(|\[[^\]\n]*\]\s*[-+*/%@&|^]?=[^=])"
_SELF_MUTATION = re.compile(word("self") + rf"\s*\.\s*([^\W\d]\w*){_MUTATION}")
_NAME_MUTATION = re.compile(rf"(?<![.\w])([^\W\d]\w*){_MUTATION}")
_IDENT = re.compile(r"[^\W\d]\w*")
# `Dense(3)`, `tf.Variable(0.0)`: an object made, perhaps state that a tf.function made in
# the same function wraps (TFG203 is silent on such factories).
_MAKES_OBJECT = re.compile(r"[A-Z](?<![\w][A-Z])\w*\s*\(")
_KERAS_CALL_DEF = re.compile(word("def") + r"\s+call\b")
_FACTORY_DEPTH = 4  # `_Discovery._instances_of` reads returns 3 calls deep
_CALLED = re.compile(r"(?<![.\w])([^\W\d]\w*)\s*\(")  # `name(`, not `x.name(`
_IMPORTS_FUNCTION = re.compile(
    rf"{word('import')}[^\n]*\bfunction\b|{word('import')}\s*\([^)]*\bfunction\b"
)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)
_FUNCTION_TYPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})
_METRIC_METHODS = "|".join(sorted(names.KERAS_METRIC_METHODS))
# The last name of the calls whose callable arguments discovery follows in a compiled body.
_CALLABLE_TAKERS = names.STRATEGY_RUN_METHODS | {
    n.rpartition(".")[2] for n in names.GRAPH_BODY_CALLS
}


@dataclass(eq=False, slots=True)
class _Unit:
    """A top-level statement, or a method of a top-level class."""

    start: int
    end: int
    name: str | None
    # A method's class header, by its position in the list of units (not the unit: a unit
    # that refers to its header, whose `methods` refer back, is a cycle, which would keep the
    # file's whole `ast` tree alive until the collector finds it).
    cls: int | None
    stmt: ast.stmt
    index: int  # its position in the list of units
    methods: list[_Unit] = field(default_factory=list)  # a class header's method units
    # What `_contained_idents` and `_calls_a_parameter` found, kept for the next closure
    # over the same units (the Keras gate closes over each `call` apart).
    contained: set[str] | None = None
    calls_a_parameter: bool | None = None


def _spans(tree: ast.Module, lines: Sequence[str]) -> list[_Unit]:
    """Top-level statements, with each class split into its header part and its methods."""
    units: list[_Unit] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef):
            methods = [m for m in stmt.body if isinstance(m, _DEFS)]
            at = len(units)
            header = _Unit(
                _start(stmt, lines), stmt.end_lineno or stmt.lineno, stmt.name, None, stmt, at
            )
            units.append(header)
            for m in methods:
                assert isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)
                end = m.end_lineno or m.lineno
                method = _Unit(_start(m, lines), end, m.name, at, m, len(units))
                units.append(method)
                header.methods.append(method)
        else:
            name = stmt.name if isinstance(stmt, _DEFS) else None
            end = stmt.end_lineno or stmt.lineno
            units.append(_Unit(_start(stmt, lines), end, name, None, stmt, len(units)))
    return units


def _without_docstrings(tree: ast.Module, lines: list[str]) -> list[str]:
    """`lines` with the lines of each string statement (a docstring, or a string standing
    alone in a body) blank, when the string has its lines to itself: nothing before it on its
    first line, nothing but spaces and a comment after it on its last. The slicer's text
    tests read these lines; what it renders is the original."""
    out: list[str] | None = None
    for stmt in all_statements(tree):
        value = stmt.value if isinstance(stmt, ast.Expr) else None
        if not isinstance(value, ast.Constant) or not isinstance(value.value, str):
            continue
        first, last = value.lineno, value.end_lineno
        end_col = value.end_col_offset
        if last is None or end_col is None:
            continue
        if lines[first - 1].encode()[: value.col_offset].strip():
            continue  # `x = 1; "doc"`, `def f(): "doc"`
        rest = lines[last - 1].encode()[end_col:].strip()
        if rest and not rest.startswith(b"#"):
            continue  # `"doc"; x = 1`
        if out is None:
            out = list(lines)
        for ln in range(first - 1, last):
            out[ln] = "\n"
    return lines if out is None else out


def _start(stmt: ast.stmt, lines: Sequence[str]) -> int:
    """The statement's first line: its first decorator's `@`, which may stand lines above the
    decorator's expression (`@(` or `@\\` on a line of its own: `ast` gives the expression's
    line)."""
    decorators: list[ast.expr] = getattr(stmt, "decorator_list", [])
    if not decorators:
        return stmt.lineno
    first = decorators[0]
    line, text = first.lineno, lines[first.lineno - 1][: first.col_offset]
    while True:
        # Between the `@` and the expression: whitespace, `(`, line continuations, comments.
        before = text.rstrip(" \t\f\r\n\\(")
        if before.endswith("@"):
            return line
        if before or line == 1:
            return min(stmt.lineno, first.lineno)  # not found: the expression's line
        line -= 1
        text = lines[line - 1]
        comment = text.find("#")
        text = text[:comment] if comment >= 0 else text


class RuleNeeds(NamedTuple):
    """What the selected rules need kept beyond discovery's needs (`Rule.REACH`)."""

    triggers: tuple[str, ...]  # their `TRIGGERS`
    call_sites: bool  # one reads the call sites of compiled functions
    state_changes: bool  # one reads the eager code that changes what bodies read


def rule_needs(rules: Sequence[type[Rule]] | None) -> RuleNeeds:
    """What `rules` (default: every rule) need kept beyond discovery's needs."""
    if rules is None:
        from tfgraphlint.engine.registry import all_rules  # imports every rule, and libCST

        rules = all_rules()
    chosen = rules
    triggers = tuple(dict.fromkeys(t for rule in chosen for t in rule.TRIGGERS))
    return RuleNeeds(
        triggers,
        any(rule.REACH == "call-sites" for rule in chosen),
        any(rule.REACH == "state-changes" for rule in chosen),
    )


def _relevance(text: str, config: Config, triggers: tuple[str, ...] = ()) -> re.Pattern[str]:
    """What makes a statement relevant: discovery's tokens, and the rules' `TRIGGERS`."""
    # `GAP`: a backslash continues a line (`tf.\` then `function(f)` on the next one), and
    # a comment can end one inside brackets (`(tf.  # note` then `function)(f)`).
    parts = [rf"\.{GAP}function\b", rf"\.{GAP}(?:{DATASET_METHODS}){GAP}\("]
    parts.append(words("global", "nonlocal"))
    parts.append(r"run_functions_eagerly\b")  # a module that runs every function eagerly
    parts.append(word("def") + rf"\s+(?:{STEP_NAMES})\b")
    parts += triggers  # top-level alternatives: no group (a group is searched more slowly)
    if KERAS_STEP.search(text):
        # Discovery's Keras opt-outs: `run_eagerly=True`, steps called directly, and the
        # `fit`/`evaluate`/`predict` calls that make a directly called step traced after all.
        parts.append(word("run_eagerly"))
        parts.append(rf"\.{GAP}(?:{STEP_NAMES}|{_KERAS_DRIVERS}){GAP}\(")
    if config.keras_call is not False:
        parts.append(_KERAS_CALL_DEF.pattern)
    parts.append(KERAS_LOSS)
    if names_keras_loss(text):
        parts.append(word("run_eagerly"))  # losses and metrics of a model that runs eagerly
        # Direct calls of a metric's methods: discovery reads them all (a metric that only
        # the module's own code updates is not a Keras metric).
        parts.append(rf"\.{GAP}(?:{_METRIC_METHODS}){GAP}\(")
    extras = extra_names(config)
    names = extras + _FUNCTION_ALIAS.findall(text) + _EAGER_ALIAS.findall(text)
    for extra in extras:  # `from mypkg import compiled as c`, then `@c`
        names += re.findall(word(extra) + r"\s+as\s+([^\W\d]\w*)", text)
    if _IMPORTS_FUNCTION.search(text):
        names.append("function")
    if any("*" in pat for pat in config.extra_function_decorators):
        parts.append("@")  # a wildcard decorator can be spelled any way (and `@` is rare)
    parts += [word(n) for n in names]
    return re.compile("|".join(parts), re.MULTILINE)


class Sliced(NamedTuple):
    """What `slice_module` keeps of a file: the text for libCST, and what `ast.parse` makes of
    it, taken from the screen's tree of the whole text (`_sliced_tree`; None: parse `text`),
    and that tree of the whole text (None when `ast` could not parse it; not to be changed:
    the engine's compile check compiles it)."""

    text: str
    tree: ast.Module | None
    whole: ast.Module | None = None


def slice_module(
    text: str,
    config: Config,
    roots: frozenset[str] = frozenset(),
    rules: Sequence[type[Rule]] | None = None,
    aliases: Mapping[str, str] | None = None,
    *,
    keras_gate: bool = True,
    needs: RuleNeeds | None = None,
) -> Sliced | None:
    """The source libCST needs to see, with irrelevant statements and methods blanked, and its
    `ast` when it can be had without parsing again (`Sliced`); None
    when nothing in the file can be compiled, whether or not it parses (a syntax error there
    cannot hide a finding: the text screen needs no parse). The original text comes back when
    `ast` cannot parse a candidate (libCST then reports the syntax error). `roots` names
    module-level functions that another module's compiled code reaches (follow-imports): they
    are kept, whatever the file mentions. What is kept beyond discovery's needs comes from
    the declarations of `rules` (default: every rule): their `TRIGGERS`, and the call sites
    of compiled functions when one has the reach `call-sites`. `aliases` maps re-exported
    TensorFlow names (`discovery.reexports`): `from mypkg import tf` names no package.
    `keras_gate` (off for `trace`, which lists every compiled body) drops a module whose only
    compiled code is Keras `call`s found by default that can report nothing
    (`engine.keras_gate`). `needs` replaces `rule_needs(rules)` (the flake8 plugin gives
    every rule's, spelled out, to slice without importing the rules and libCST)."""
    triggers, call_sites, state_changes = needs or rule_needs(rules)
    passes, tree, view = screened(text, config, keep=bool(roots), aliases=aliases)
    if not passes:
        return None
    if tree is None:
        return Sliced(text, None)
    lines = split_lines(text, keepends=True)
    units = _spans(tree, lines)
    relevant = _relevance(text, config, triggers)
    # What the statements say, read without their docstrings (a word in a docstring is
    # no statement: `global` in prose, `def call(...)` in an example).
    code_lines = _without_docstrings(tree, lines)
    segments = [_segment(code_lines, u) for u in units]
    # Which statements are relevant, read on the code view (no comment, every string
    # empty: `# not in a tf.function` is no reason to keep one), when it has the lines of
    # the text (it does, unless a string's quotes fooled its scan).
    view_lines = split_lines(view, keepends=True) if view is not text else code_lines
    if len(view_lines) != len(lines):
        view_lines = code_lines
    direct = [
        bool(relevant.search(_segment(view_lines, u)))
        or (u.cls is None and isinstance(u.stmt, _DEFS) and u.name in roots)
        for u in units
    ]
    if not any(direct):
        return None
    keep = _kept_at_first(direct, units)
    traced = [
        d and _is_root(u, lines, relevant, config, roots)
        for d, u in zip(direct, units, strict=True)
    ]
    idents = [set(_IDENT.findall(s)) for s in segments]
    memo: dict[bool, _Graph] = {}  # what `_close_over_names` reads of the module
    gated = (
        keras_gate
        and config.keras_call is None
        and not roots
        and _only_keras_calls("".join(view_lines), relevant)
        and not defines_loss_call(tree, aliases)
    )
    if gated:
        # Only Keras `call`s found by default: keep those whose traced code may report.
        needed = _keras_calls_that_may_report(
            KerasGate(tree, text, aliases), units, segments, idents, direct, traced, memo
        )
        if not any(needed):
            return None
        direct = needed
        keep = _kept_at_first(direct, units)
        traced = [t and d for t, d in zip(traced, direct, strict=True)]
        # Only the rules of what breaks there run (`runner._can_report`): they read the
        # traced bodies alone, no call site, no attribute that `__init__` binds, no state
        # that eager code changes (the call-site rules find no compiled function whose
        # call sites they read: a Keras `call` found by default is hidden from them).
        call_sites = state_changes = False
    body, compiled_names, body_idents = _close_over_names(
        units,
        segments,
        idents,
        direct,
        traced,
        keep,
        call_sites,
        state_changes,
        attribute_binders=not gated,
        memo=memo,
    )
    for i, unit in enumerate(units):
        if state_changes and not keep[i] and unit.cls is None and isinstance(unit.stmt, _DEFS):
            # A function that changes in place a module-level container a body reads.
            keep[i] = not body_idents.isdisjoint(_NAME_MUTATION.findall(segments[i]))
    keras_calls = config.keras_call is not False and bool(_KERAS_CALL_DEF.search(text))
    if KERAS_STEP.search(text) or (
        keras_calls
        # something compiled besides the Keras `call`s (which run no other model's `call`
        # as traced code): a tf.function, a dataset callback, a loss, a step
        and any(d and u.name != "call" for d, u in zip(direct, units, strict=True))
    ):
        # Discovery reads what a kept `model = get_model()` returns: for its Keras opt-out (a
        # model the module fits is not the one whose step it drives by hand), and for the
        # Keras `call`s a compiled body runs (`net = build()`, then `net(x)`). Keep such
        # factories, and those they call, as deep as discovery follows them.
        for _ in range(_FACTORY_DEPTH):
            called = {
                name
                for i, unit in enumerate(units)
                if keep[i] and not isinstance(unit.stmt, ast.ClassDef)
                for name in _CALLED.findall(segments[i])
            }
            more = [
                i
                for i, unit in enumerate(units)
                if not keep[i]
                and unit.cls is None
                and isinstance(unit.stmt, _DEFS)
                and unit.stmt.name in called
            ]
            if not more:
                break
            for i in more:
                keep[i] = True
    if keras_calls:
        _keep_uses_of_scripted_models(units, idents, keep)
    _keep_base_classes(units, keep)
    blank: list[tuple[int, int]] = []
    cut: dict[ast.stmt, list[tuple[int, int]]] = {}  # the functions blank holds statements of
    for i, unit in enumerate(units):
        if keep[i] and not body[i] and isinstance(unit.stmt, _DEFS):
            ranges = _eager_statements_to_blank(
                unit.stmt, lines, relevant, compiled_names, body_idents
            )
            blank += ranges
            if ranges:
                cut[unit.stmt] = ranges
    out = _render(lines, units, keep, blank)
    return Sliced("".join(out), _sliced_tree(tree, units, keep, cut, lines, out), tree)


_DEF_CALL = re.compile(r"def\s+call")
_MAX_SEPARATE_CALLS = 32  # Keras `call`s of a module whose closures are taken one by one


def _only_keras_calls(text: str, relevant: re.Pattern[str]) -> bool:
    """Whether every relevant token of the whole text is a `def call`: the module holds no
    `tf.function`, dataset callback, Keras step, loss or metric method, `compile` call,
    `global`, `run_functions_eagerly` or configured decorator, only (perhaps) Keras `call`s."""
    return all(_DEF_CALL.fullmatch(m.group()) for m in relevant.finditer(text))


def _keras_calls_that_may_report(
    gate: KerasGate,
    units: list[_Unit],
    segments: list[str],
    idents: list[set[str]],
    direct: list[bool],
    traced: list[bool],
    memo: dict[bool, _Graph],
) -> list[bool]:
    """Of the directly relevant units of a module whose only compiled code is Keras `call`s
    found by default (each of them one), those whose traced code (the unit, and what the
    slicer takes as traced from it alone) holds a node a breakage rule may report at
    (`engine.keras_gate`). `memo`: `_close_over_names`'s."""
    sites: dict[int, bool] = {}

    def has_site(i: int) -> bool:
        if i not in sites:
            sites[i] = gate.any_site(_traced_parts(units[i]))
        return sites[i]

    if sum(direct) > _MAX_SEPARATE_CALLS:
        # One closure per `call` is linear in the module each: with many `call`s, only the
        # whole module is dropped or kept (what every `call` traces, from all of them).
        keep = _kept_at_first(direct, units)
        body, _, _ = _close_over_names(
            units, segments, idents, direct, traced, keep, False, False, memo=memo
        )
        return (
            list(direct)
            if any(has_site(j) for j, b in enumerate(body) if b)
            else [False] * len(units)
        )
    needed = [False] * len(units)
    for i, d in enumerate(direct):
        if not d:
            continue
        alone = [j == i for j in range(len(units))]
        keep = _kept_at_first(alone, units)
        # What it traces (the bodies) does not depend on the rules' reach (what is kept
        # for context does).
        body, _, _ = _close_over_names(
            units,
            segments,
            idents,
            alone,
            [a and traced[i] for a in alone],
            keep,
            False,
            False,
            memo=memo,
        )
        needed[i] = any(has_site(j) for j, b in enumerate(body) if b)
    return needed


def _traced_parts(unit: _Unit) -> list[ast.AST]:
    """What of a unit the slicer takes as traced: a class header without its methods (units
    of their own), any other statement whole."""
    stmt = unit.stmt
    if isinstance(stmt, ast.ClassDef):
        return [*stmt.decorator_list, *stmt.bases, *stmt.keywords] + [
            s for s in stmt.body if not isinstance(s, _DEFS)
        ]
    return [stmt]


def _keep_uses_of_scripted_models(
    units: list[_Unit], idents: list[set[str]], keep: list[bool]
) -> None:
    """Discovery takes a Keras `call` for eager when the module is a script that makes the
    model at its top level and only calls it (`_Discovery._keras_calls_run_eagerly_only`):
    it must see every use of such a class and of the names bound to its instances. When a
    top-level statement names a class with a `call`, keep every function and method that
    names the class or a top-level name whose statement names it."""
    classes = {
        unit.name
        for unit in units
        if isinstance(unit.stmt, ast.ClassDef) and any(m.name == "call" for m in unit.methods)
    }
    top = [
        i
        for i, unit in enumerate(units)
        if unit.cls is None and not isinstance(unit.stmt, _DEFS + (ast.ClassDef,))
    ]
    if not classes or not any(classes & idents[i] for i in top):
        return
    watched = set(classes)
    for i in top:
        if classes & idents[i]:  # `net = Net()`, also inside a top-level `if` or `for`
            watched |= {
                target.id
                for node in ast.walk(units[i].stmt)
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
    for i, unit in enumerate(units):
        if keep[i] or not isinstance(unit.stmt, _DEFS + (ast.ClassDef,)):
            continue
        if not watched.isdisjoint(idents[i]):  # a class header's: without its methods
            keep[i] = True
            if unit.cls is not None:
                keep[unit.cls] = True


def _keep_base_classes(units: list[_Unit], keep: list[bool]) -> None:
    """Keep the module's classes that a kept class derives from (`class Block(Base)`), as
    deep as they go: discovery reads their bases (`Base(keras.layers.Layer)` makes `Block` a
    layer), and the `__call__` of each of these classes (one that does not run Keras's
    means Keras does not trace `call`). Their other methods are not kept for that."""
    classes = {u.stmt.name: u for u in units if u.cls is None and isinstance(u.stmt, ast.ClassDef)}
    todo = [u for u in classes.values() if keep[u.index]]
    while todo:
        unit = todo.pop()
        assert isinstance(unit.stmt, ast.ClassDef)
        for method in unit.methods:
            if method.name == "__call__":
                keep[method.index] = True
        for base in unit.stmt.bases:
            parent = classes.get(base.id) if isinstance(base, ast.Name) else None
            if parent is not None and not keep[parent.index]:
                keep[parent.index] = True
                todo.append(parent)


def _kept_at_first(direct: list[bool], units: list[_Unit]) -> list[bool]:
    """Before any closure: the directly relevant units, and every statement that is not a
    definition or a class (imports, assignments, top-level code)."""
    return [
        d or not isinstance(u.stmt, _DEFS + (ast.ClassDef,))
        for d, u in zip(direct, units, strict=True)
    ]


def _segment(lines: list[str], unit: _Unit) -> str:
    """A unit's own text: a class header without its methods' lines."""
    text_lines = lines[unit.start - 1 : unit.end]
    if unit.methods:
        method_lines = {ln for m in unit.methods for ln in range(m.start, m.end + 1)}
        text_lines = [
            line for ln, line in enumerate(text_lines, start=unit.start) if ln not in method_lines
        ]
    return "".join(text_lines)


def _is_root(
    unit: _Unit, lines: list[str], relevant: re.Pattern[str], config: Config, roots: frozenset[str]
) -> bool:
    """Whether a directly relevant unit may be traced as a whole: a definition whose own
    decorators are relevant (`@tf.function`), a Keras step (or `call`, with `keras-call`), or
    a function another module's compiled code reaches. Any other relevant unit only
    *contains* what may be traced (a nested `@tf.function`, the `f` of `tf.function(f)` or
    `ds.map(f)`) and runs eagerly itself."""
    stmt = unit.stmt
    if not isinstance(stmt, _DEFS):
        return False
    if stmt.name in names.KERAS_STEP_METHODS or (
        config.keras_call is not False and stmt.name == "call"
    ):
        return True
    if stmt.name in names.KERAS_LOSS_METHODS | names.KERAS_METRIC_METHODS:
        return True
    if unit.cls is None and stmt.name in roots:
        return True
    return bool(relevant.search("".join(lines[unit.start - 1 : stmt.lineno])))


def _contained_idents(unit: _Unit) -> set[str]:
    """What an eager unit can hand to tracing: the names under its nested functions and
    lambdas (which may be compiled, and then trace what they call), and under the arguments
    of its calls (`tf.function(f)`, `ds.map(self._parse)`, `functools.partial(g, ...)`).
    Discovery resolves nothing else: a name the eager code merely calls runs eagerly. Names
    and attribute names, found in one walk that marks what is under such a function or
    argument; kept on the unit."""
    if unit.contained is not None:
        return unit.contained
    stmt = unit.stmt
    tops: list[ast.AST] = [stmt]
    if isinstance(stmt, ast.ClassDef):  # the header: methods are units of their own
        tops = [*stmt.decorator_list, *stmt.bases, *stmt.keywords]
        tops += [s for s in stmt.body if not isinstance(s, _DEFS)]
    found: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(top, False) for top in tops]
    node_class = ast.AST
    fields_of = WALKED_FIELDS
    while stack:
        node, inside = stack.pop()
        kind = type(node)
        if inside:
            if kind is ast.Name:
                found.add(node.id)  # type: ignore[attr-defined]
                continue
            if kind is ast.Attribute:
                found.add(node.attr)  # type: ignore[attr-defined]
        elif kind in _FUNCTION_TYPES and node is not stmt:
            inside = True
        elif kind is ast.Call:
            call: ast.Call = node  # type: ignore[assignment]
            stack.append((call.func, False))
            stack += [(arg, True) for arg in call.args]
            stack += [(k.value, True) for k in call.keywords]
            continue
        for name in fields_of[kind]:
            value = getattr(node, name, None)
            if type(value) is list:
                stack += [(item, inside) for item in value if isinstance(item, node_class)]
            elif isinstance(value, node_class):
                stack.append((value, inside))
    unit.contained = found
    return found


class _Graph:
    """What `_close_over_names` reads of a module, whatever is relevant: each unit's class,
    the top-level and member definitions by name, the methods that bind each `self`
    attribute (or change it in place, with `state_changes`), and the definitions each unit
    names."""

    def __init__(
        self, units: list[_Unit], segments: list[str], idents: list[set[str]], state_changes: bool
    ) -> None:
        binds = [set(_SELF_BINDING.findall(s)) for s in segments]
        if state_changes:  # methods that change a `self` attribute in place (`Rule.REACH`)
            binds = [
                b | set(_SELF_MUTATION.findall(s)) for b, s in zip(binds, segments, strict=True)
            ]
        self.units = units
        self.idents = idents
        self.owner = [u.cls for u in units]
        self.top: dict[str, int] = {}
        self.members: dict[int, dict[str, int]] = {}  # class unit -> method name -> unit
        self.binders: dict[int, dict[str, list[int]]] = {}  # class unit -> `self.x` -> methods
        aliases: list[tuple[str, int]] = []
        for i, u in enumerate(units):
            if u.cls is not None:
                if u.name is not None:
                    self.members.setdefault(u.cls, {})[u.name] = i
            elif u.name is not None:
                self.top[u.name] = i
            elif (binding := function_binding(u.stmt)) is not None:
                # `parse = decode` or `parse = lambda x: ...` at top level: discovery
                # resolves `parse` to that function, so a unit that names `parse` names this
                # statement, and through it `decode` (a definition of the name comes first).
                aliases += [(alias, i) for alias in binding[0]]
        for alias, i in aliases:
            self.top.setdefault(alias, i)
        for class_index, methods in self.members.items():
            for j in methods.values():
                for attribute in binds[j]:
                    self.binders.setdefault(class_index, {}).setdefault(attribute, []).append(j)
        self.named = [self.names_of(i) for i in range(len(units))]

    def names_of(self, i: int, used: set[str] | None = None) -> list[int]:
        """The definitions unit `i` names (or `used` names, from unit `i`): top-level ones,
        and members of its class."""
        used = self.idents[i] if used is None else used
        top = self.top
        found = [top[n] for n in _common(used, top)]
        owner = self.owner[i]
        cls = owner if owner is not None else (i if self.units[i].name in top else None)
        if cls is not None:
            methods = self.members.get(cls, {})
            found += [methods[n] for n in _common(used, methods)]
        return found


def _close_over_names(
    units: list[_Unit],
    segments: list[str],
    idents: list[set[str]],
    direct: list[bool],
    traced: list[bool],
    keep: list[bool],
    call_sites: bool = True,
    state_changes: bool = True,
    *,
    attribute_binders: bool = True,
    memo: dict[bool, _Graph] | None = None,
) -> tuple[list[bool], set[str], set[str]]:
    """Extend `keep` to a fixpoint, in two tiers.

    *Bodies* are the units that may be traced: the relevant units that may be traced whole
    (`traced`: decorated definitions, Keras steps), what the other relevant units hand to
    tracing (`_contained_idents`), and every definition a body names (a helper it calls, a
    function it passes to `tf.function` or `Dataset.map`, a method it calls on `self`). Only
    bodies propagate: an ordinary statement that names a helper does not make the helper
    traced, so a large module with one `tf.function` keeps that function and its helpers, not
    the whole call graph. One exception: a body that calls a parameter (`fn(x)`, or hands it to
    `strategy.run`, `tf.map_fn`...) traces what its callers pass there, so the units that name
    it (or a name bound by a relevant statement) are kept, and what they pass becomes a body.

    Kept for context, without propagating: units that name a directly relevant definition
    (call sites of compiled functions, when a rule has the reach `call-sites`), methods that
    bind an attribute a body reads on `self` (`self.history = []` in `__init__`; with a rule
    of reach `state-changes`, also those that change it in place: `self.history.append(x)`;
    none with `attribute_binders` off), and the class of a kept method.

    Returns which units are bodies, the names of compiled functions (those traced whole or
    handed to tracing with a rule of reach `call-sites`; always the names relevant statements
    bind and the bodies that call a parameter, whose call sites decide what is traced), and
    the identifiers the bodies name (for the call sites and attribute bindings inside eager
    functions, `_eager_statements_to_blank`). `memo` keeps what depends on the module alone
    (`_Graph`) for the next call on the same units (the Keras gate closes over each `call`
    apart)."""
    # Every step below is linear in the size of the module: each unit looks up the names it
    # uses in dictionaries, never scans the other units (quadratic when it did;
    # `tests/test_slicing.py` counts the work).
    graph = memo.get(state_changes) if memo is not None else None
    if graph is None:
        graph = _Graph(units, segments, idents, state_changes)
        if memo is not None:
            memo[state_changes] = graph
    owner, top, members, binders, named = (
        graph.owner,
        graph.top,
        graph.members,
        graph.binders,
        graph.named,
    )
    names_of = graph.names_of
    handed = {  # what the eager relevant units hand to tracing
        j
        for i, unit in enumerate(units)
        if direct[i] and not traced[i]
        for j in names_of(i, _contained_idents(unit))
    }
    # The module-level names bound by relevant statements (the `g` of `g = tf.function(f)`).
    bound = {
        target.id
        for d, u in zip(direct, units, strict=True)
        if d and u.cls is None and isinstance(u.stmt, ast.Assign | ast.AnnAssign)
        for node in ([u.stmt.target] if isinstance(u.stmt, ast.AnnAssign) else u.stmt.targets)
        for target in ast_nodes(node)
        if isinstance(target, ast.Name)
    }
    body = [t or i in handed for i, t in enumerate(traced)]
    pending = [i for i, b in enumerate(body) if b]
    passers: set[int] = set()  # bodies that call a parameter: what their callers pass is traced
    while pending:
        while pending:
            i = pending.pop()
            keep[i] = True
            stmt = units[i].stmt
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and _calls_a_parameter(
                units[i]
            ):
                passers.add(i)
            for j in named[i]:
                if not body[j]:
                    body[j] = True
                    pending.append(j)
        for i in range(len(units)) if passers else ():
            if passers.isdisjoint(named[i]) and bound.isdisjoint(idents[i]):
                continue
            keep[i] = True  # a call site that may pass a function to be traced
            for j in names_of(i, _contained_idents(units[i])):
                if not body[j]:
                    body[j] = True
                    pending.append(j)
    # Compiled functions: the definitions traced whole, what eager code hands to tracing (the
    # `f` of `tf.function(f)` or `ds.map(f)`), and `bound`.
    roots = {i for i, t in enumerate(traced) if t and units[i].name is not None} | handed
    sites: list[int] = []
    for i in range(len(units)):
        if call_sites and (roots.intersection(named[i]) or not bound.isdisjoint(idents[i])):
            keep[i] = True  # a call site of a compiled function
            sites.append(i)
        cls = owner[i]
        if attribute_binders and cls is not None and body[i] and cls in binders:
            bound_by = binders[cls]
            for attribute in _common(idents[i], bound_by):
                for j in bound_by[attribute]:
                    keep[j] = True
    if call_sites:
        compiled = {name for i in roots if (name := units[i].name) is not None} | bound
        _keep_argument_makers(units, named, members, keep, sites, top, compiled)
        # Callers of a module-level definition that creates a `tf.function` (TFG203 follows a
        # factory into the loops that call it), and their callers: kept for context.
        factories = {
            i
            for i, u in enumerate(units)
            if direct[i] and u.cls is None and isinstance(u.stmt, _DEFS)
        }
        for _ in range(2):
            callers = {
                i for i in range(len(units)) if i not in factories and factories & set(named[i])
            }
            for i in callers:
                keep[i] = True
            factories = {
                i for i in callers if units[i].cls is None and isinstance(units[i].stmt, _DEFS)
            }
    for i in range(len(units)):
        parent = owner[i]
        if keep[i] and parent is not None:
            keep[parent] = True
    names = {name for i in roots if (name := units[i].name) is not None}
    body_idents = set().union(*(ids for ids, b in zip(idents, body, strict=True) if b))
    passing = {name for i in passers if (name := units[i].name) is not None}
    return body, (names if call_sites else set()) | bound | passing, body_idents


def _calls_a_parameter(unit: _Unit) -> bool:
    """Whether a function unit calls one of its parameters, or hands one to `strategy.run`
    or a graph-body call (`tf.map_fn(fn, ...)`, `tf.cond(p, f, g)`): discovery then traces
    the functions its callers pass there. Kept on the unit."""
    if unit.calls_a_parameter is None:
        assert isinstance(unit.stmt, ast.FunctionDef | ast.AsyncFunctionDef)
        unit.calls_a_parameter = _function_calls_a_parameter(unit.stmt)
    return unit.calls_a_parameter


def _function_calls_a_parameter(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = func.args
    params = {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if a is not None
    }
    for node in ast_nodes(func):
        if type(node) is not ast.Call:  # `ast.parse` makes no subclass of a node class
            continue
        callee = node.func
        if isinstance(callee, ast.Name) and callee.id in params:
            return True
        last = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", None)
        if last in _CALLABLE_TAKERS and not params.isdisjoint(
            sub.id
            for arg in (*node.args, *(k.value for k in node.keywords))
            for sub in ast_nodes(arg)
            if isinstance(sub, ast.Name)
        ):
            return True
    return False


# Methods that decide how instances of a class trace (`new-object-per-call` reads them).
_TRACING_HOOKS = ("__new__", "__tf_tracing_type__")


def _keep_argument_makers(
    units: list[_Unit],
    named: list[list[int]],
    members: Mapping[int, Mapping[str, int]],
    keep: list[bool],
    sites: list[int],
    top: Mapping[str, int],
    compiled: set[str],
) -> None:
    """Keep, for context, the module-level functions and classes that make the arguments of
    calls to compiled functions (`step(build_model())`, or `model = build_model()` then
    `step(model)` in the same unit), and those these name, to any depth (`new-object-per-call`
    follows factories and base classes): the rule reads them. A class keeps its header and
    the methods that decide how its instances trace, not the others."""
    makers = {
        j for i in sites for n in _makers(units[i].stmt, compiled) if (j := top.get(n)) is not None
    }
    level = makers
    seen: set[int] = set()
    while level:
        # A definition kept for another reason still leads to what it names.
        level = {j for j in level if isinstance(units[j].stmt, _DEFS + (ast.ClassDef,))} - seen
        seen |= level
        for j in level:
            keep[j] = True
            for hook in _TRACING_HOOKS:
                method = members.get(j, {}).get(hook)
                if method is not None:
                    keep[method] = True
        level = {k for j in level for k in named[j] if units[k].cls is None}


def _makers(stmt: ast.AST, compiled: set[str]) -> set[str]:
    """The names of the callables whose results a statement passes to a compiled function:
    `f` of `step(f(...))`, and of `x = f(...)` when it passes `x`."""
    passed: set[str] = set()
    makers: set[str] = set()
    assigned: dict[str, set[str]] = {}
    for node in ast_nodes(stmt):
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else None
            if isinstance(callee, ast.Attribute):
                name = callee.attr
            if name not in compiled:
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Starred):
                    arg = arg.value
                if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name):
                    makers.add(arg.func.id)
                elif isinstance(arg, ast.Name):
                    passed.add(arg.id)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, set()).add(node.value.func.id)
    for name in passed:
        makers |= assigned.get(name, set())
    return makers


def _common(names: set[str], table: Mapping[str, object]) -> list[str]:
    """The names in both, found in time linear in the smaller, in a stable order."""
    if len(names) <= len(table):
        return sorted(n for n in names if n in table)
    return [n for n in table if n in names]


class _Flow(NamedTuple):
    """What a statement reads and binds: plain names, attribute names (`self.fn`: `fn`), and
    the names and attributes it calls."""

    reads: frozenset[str]
    binds: frozenset[str]
    attr_reads: frozenset[str]
    attr_binds: frozenset[str]
    calls: frozenset[str]


def _flow(stmt: ast.stmt) -> _Flow:
    reads: set[str] = set()
    binds: set[str] = set()
    attr_reads: set[str] = set()
    attr_binds: set[str] = set()
    calls: set[str] = set()
    nodes = list(ast_nodes(stmt))
    # A comprehension's variables are its own (Python 3): they bind nothing in the function.
    local = {
        id(target)
        for node in nodes
        if isinstance(node, ast.comprehension)
        for target in ast_nodes(node.target)
    }
    for node in nodes:
        kind = type(node)  # `ast.parse` makes no subclass of a node class
        if kind is ast.Name:
            if type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
                reads.add(node.id)  # type: ignore[attr-defined]
            elif id(node) not in local:
                binds.add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            load = type(node.ctx) is ast.Load  # type: ignore[attr-defined]
            (attr_reads if load else attr_binds).add(node.attr)  # type: ignore[attr-defined]
        elif kind is ast.Constant:
            continue  # the next most common
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                calls.add(func.id)
            elif isinstance(func, ast.Attribute):
                calls.add(func.attr)
        elif isinstance(node, _DEFS + (ast.ClassDef,)):
            binds.add(node.name)
        elif isinstance(node, ast.alias):
            binds.add(node.asname or node.name.split(".", 1)[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            binds.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            binds.update(node.names)
            reads.update(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            binds.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            binds.add(node.rest)
    return _Flow(
        frozenset(reads),
        frozenset(binds),
        frozenset(attr_reads),
        frozenset(attr_binds),
        frozenset(calls),
    )


def _on_own_line(stmt: ast.stmt, lines: list[str]) -> bool:
    """Whether nothing but indentation (and its decorator's `@`) precedes the statement on
    the line where it starts."""
    decorators: list[ast.expr] = getattr(stmt, "decorator_list", [])
    first: ast.AST = decorators[0] if decorators else stmt
    prefix = lines[first.lineno - 1][: first.col_offset]  # type: ignore[attr-defined]
    return not prefix.replace("@", "").strip()


def _eager_statements_to_blank(
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    lines: list[str],
    relevant: re.Pattern[str],
    compiled_names: set[str],
    body_idents: set[str],
) -> list[tuple[int, int]]:
    """Line ranges (1-based, inclusive) of the statements of an eager function that neither
    discovery nor a rule can need, to blank: the function is kept because some statements
    are relevant (a nested `@tf.function`, `tf.function(f)`, `ds.map(f)`, `global`), call a
    compiled function, or bind what a traced body reads (`__init__`), and the others are
    often most of it (a test's set-up and assertions).

    A top-level statement of the body is kept (whole, with everything nested in it) when it
    is relevant; names a compiled function (a call site, for the retracing rules, or a name
    a relevant statement binds: `step = tf.function(run)`); assigns, or changes in place, an
    attribute or a name that a traced body reads (`self.history.append(x)`, for
    python-state-frozen); binds a name or attribute that a kept statement reads
    (its value may reach a compiled function, or a rule's question: is this a Python number?
    a tensor?); or calls a name or attribute that a kept statement binds (the function it
    compiles). The last three to a fixpoint."""
    stmts = func.body
    segments = ["".join(lines[_start(st, lines) - 1 : st.end_lineno or st.lineno]) for st in stmts]
    flows = [_flow(st) for st in stmts]
    kept = [
        bool(relevant.search(seg))
        or not compiled_names.isdisjoint(set(_IDENT.findall(seg)))
        or not body_idents.isdisjoint(set(_SELF_BINDING.findall(seg)))
        or not body_idents.isdisjoint(set(_SELF_MUTATION.findall(seg)))
        or not body_idents.isdisjoint(set(_NAME_MUTATION.findall(seg)))
        or bool(_MAKES_OBJECT.search(seg))
        # `return step`: a factory handing out the tf.function it creates (TFG203), or
        # `return build_model()`: one handing out a new object (TFG205)
        or (isinstance(st, ast.Return) and isinstance(st.value, ast.Name | ast.Call))
        for seg, st in zip(segments, stmts, strict=True)
    ]
    if stmts and not _on_own_line(stmts[0], lines):
        kept[0] = True  # `def f(): return g(x)`: the statement shares the header's line
    # Statements sharing a line (`a = 1; b = 2`) are blanked together or not at all.
    shared = [
        k
        for k in range(1, len(stmts))
        if _start(stmts[k], lines) <= (stmts[k - 1].end_lineno or stmts[k - 1].lineno)
    ]
    changed = True
    while changed:
        changed = False
        for k in shared:
            if kept[k] != kept[k - 1]:
                kept[k] = kept[k - 1] = changed = True
        held = [f for f, k in zip(flows, kept, strict=True) if k]
        reads = set().union(*(f.reads for f in held))
        attr_reads = set().union(*(f.attr_reads for f in held))
        callable_names = set().union(*(f.binds | f.attr_binds for f in held))
        for k, flow in enumerate(flows):
            if not kept[k] and (
                not flow.binds.isdisjoint(reads)
                or not flow.attr_binds.isdisjoint(attr_reads)
                or not flow.calls.isdisjoint(callable_names)
            ):
                kept[k] = changed = True
    if not any(kept):
        return []  # what is relevant is in the header (`def f(fn=tf.function(g))`)
    return [
        (_start(st, lines), st.end_lineno or st.lineno)
        for st, k in zip(stmts, kept, strict=True)
        if not k
    ]


def _render(
    lines: list[str], units: list[_Unit], keep: list[bool], blank: list[tuple[int, int]]
) -> list[str]:
    """`lines` with the units not kept and the `blank` ranges blanked (and `pass` in a class
    whose methods are all blanked)."""
    out = list(lines)
    for start, end in blank:
        for ln in range(start - 1, end):
            out[ln] = "\n"
    for unit, kept in zip(units, keep, strict=True):
        if kept:
            continue
        if unit.cls is not None and not keep[unit.cls]:
            continue  # blanked with its class
        for ln in range(unit.start - 1, unit.end):
            out[ln] = "\n"
    for ci, unit in enumerate(units):
        if not isinstance(unit.stmt, ast.ClassDef) or not keep[ci]:
            continue
        methods = [m.index for m in unit.methods]
        others = [s for s in unit.stmt.body if not isinstance(s, _DEFS)]
        if methods and not others and not any(keep[i] for i in methods):
            first = units[methods[0]]
            indent = len(lines[first.start - 1]) - len(lines[first.start - 1].lstrip())
            out[first.start - 1] = " " * indent + "pass\n"
    return out


def _lines_of(stmt: ast.stmt, lines: Sequence[str]) -> range:
    return range(_start(stmt, lines), (stmt.end_lineno or stmt.lineno) + 1)


def _sliced_tree(
    tree: ast.Module,
    units: list[_Unit],
    keep: list[bool],
    cut: Mapping[ast.stmt, list[tuple[int, int]]],
    lines: list[str],
    out: list[str],
) -> ast.Module | None:
    """What `ast.parse` makes of `_render`'s lines `out`, from the screen's tree of the whole
    text (the engine's precheck parsed the rendered text again): the units not kept and the
    statements of `cut`'s functions in the line ranges given are left out, and a class whose
    methods are all left out holds the `pass` `_render` writes. Lines and columns are the
    same (blanking keeps them); the end of a class or function whose last statements are left
    out is not updated (nothing reads ends from this tree). Checked against `out`: every line
    of a statement left out is blank there (or that `pass`), every other line of a statement
    left in is unchanged; else None (`a = 1; b = 2` with one kept), and the engine parses."""
    dropped: list[ast.stmt] = []
    # What is left in where something beside it is left out, with the lines its left-out
    # statements held (and the `pass` line of a class).
    left: list[tuple[ast.stmt, set[int]]] = []
    passes: set[int] = set()

    def without_cut(func: ast.stmt) -> tuple[ast.stmt, set[int]]:
        ranges = set(cut[func])
        body: list[ast.stmt] = []
        gone: set[int] = set()
        for stmt in func.body:  # type: ignore[attr-defined]
            if (_start(stmt, lines), stmt.end_lineno or stmt.lineno) in ranges:
                dropped.append(stmt)
                gone.update(_lines_of(stmt, lines))
            else:
                body.append(stmt)
                left.append((stmt, set()))
        new = copy.copy(func)
        new.body = body  # type: ignore[attr-defined]
        return new, gone

    module_body: list[ast.stmt] = []
    for unit in units:
        if unit.cls is not None:
            continue  # with its class
        stmt = unit.stmt
        if not keep[unit.index]:
            dropped.append(stmt)
            continue
        gone: set[int] = set()
        if stmt in cut:
            stmt, gone = without_cut(stmt)
        elif isinstance(stmt, ast.ClassDef) and unit.methods:
            left_out = {m.stmt for m in unit.methods if not keep[m.index]}
            body: list[ast.stmt] = []
            for member in stmt.body:
                if member in left_out:
                    dropped.append(member)
                    gone.update(_lines_of(member, lines))
                    continue
                if member in cut:
                    member, inner = without_cut(member)
                    left.append((member, inner))
                    gone |= inner
                else:
                    left.append((member, set()))
                body.append(member)
            if not body:
                first = unit.methods[0].start
                indent = len(lines[first - 1]) - len(lines[first - 1].lstrip())
                body = [
                    ast.Pass(
                        lineno=first, col_offset=indent, end_lineno=first, end_col_offset=indent + 4
                    )
                ]
                passes.add(first)
            stmt = copy.copy(stmt)
            stmt.body = body
        module_body.append(stmt)
        left.append((stmt, gone))
    if any(out[line - 1].strip() != "pass" for line in passes):
        return None
    for stmt in dropped:
        if any(out[line - 1] != "\n" and line not in passes for line in _lines_of(stmt, lines)):
            return None
    for stmt, gone in left:
        if any(
            out[line - 1] != lines[line - 1] for line in _lines_of(stmt, lines) if line not in gone
        ):
            return None
    return ast.Module(module_body, tree.type_ignores)
