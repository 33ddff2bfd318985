"""The screen: can this file hold compiled code? One module, three costs, each a sound
over-approximation of what discovery finds (a file it drops holds no compiled context and no
`tf.function` reference, and every rule runs only on files with one):

1. `may_contain_compiled_code`: the file names `tensorflow`, `keras` or a configured
   decorator's package (`str` search; what the flake8 plugin asks before loading the engine).
2. `is_candidate`: the file has a token without which discovery finds nothing (`x.function`,
   `function` imported, `.map(`-style calls with the word `data`, a Keras step `def`...).
3. `may_have_compiled_context`: on CPython's `ast`, with an import-alias table, a name or
   attribute chain can resolve to `tf.function`, a `Dataset.map`-style call meets `tf.data`,
   or a class with a Keras base overrides a step. It runs first on an outline of the file
   (`outline_clears`: the import lines and the class headers), which clears a third of the
   files that reach it without parsing them whole.

What the slicer keeps of a file that passes is `engine.slicing`'s business, built from the
rules' declared reach. Importing this module loads neither libCST nor the rules nor (at run
time) `tfgraphlint.config`, so that the flake8 plugin can answer step 1 for a file with no
TensorFlow in it without loading the engine (an editor runs it on every save).
`tests/test_slicing.py` and `tests/test_quick_gate.py` check on real code and against libCST
discovery that nothing is lost.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from tfgraphlint.discovery import names
from tfgraphlint.discovery.ast_nodes import all_statements, ast_nodes
from tfgraphlint.discovery.graphs import parents_first
from tfgraphlint.discovery.reexports import import_bindings, rewrite

if TYPE_CHECKING:
    from tfgraphlint.config import Config


# ---------------------------------------------------------------- 1. needles
def package_needles(extra_function_decorators: Iterable[str] = ()) -> tuple[str, ...]:
    """The names to look for: `tensorflow`, `keras` and the top-level package of each
    configured decorator (option `extra-function-decorators`)."""
    roots = {d.split(".")[0].strip("*") for d in extra_function_decorators}
    return ("tensorflow", "keras", *sorted(r for r in roots if r))


def names_a_package(text: str, needles: tuple[str, ...]) -> bool:
    """`text` contains one of `needles` (from `package_needles`)."""
    return any(needle in text for needle in needles)


def may_contain_compiled_code(text: str, config: Config) -> bool:
    """The file names `tensorflow`, `keras` or a configured decorator's package: without one
    of them it cannot reference `tf.function`, a `tf.data` dataset or a Keras model."""
    return names_a_package(text, package_needles(config.extra_function_decorators))


# ---------------------------------------------------------------- 2. tokens
# Every pattern here starts with a literal character: `re` then scans for that character (or
# the set of first characters of an alternation) in C, where a pattern starting with `\b` or a
# lookbehind is tried at every position of the file (ten times slower on the corpus).
def word(name: str) -> str:
    """A regex for `name` as a whole word (`\bname\b`), starting with its first character,
    so that it is searched quickly: the word boundary before it is a lookbehind after it."""
    first = re.escape(name[0])
    return rf"{first}(?<!\w{first}){re.escape(name[1:])}\b"


def words(*names: str) -> str:
    """`(?:\ba\b|\bb\b)` as alternatives that each start with a literal (`word`)."""
    return "|".join(word(n) for n in names)


DATASET_METHODS = "map|filter|flat_map|interleave|parallel_interleave|reduce|scan"
_KERAS_CALL = re.compile(r"def\s+call\b")  # a compiled body unless `keras-call = false`
# Keras loss/metric methods, and `model.compile(loss=f, metrics=[g])`: traced by `fit`.
_LOSS_METHODS = "|".join(sorted(names.KERAS_LOSS_METHODS | names.KERAS_METRIC_METHODS))
# Whitespace, line continuations and comments between tokens; a comment runs to its line's
# end, so that each text matches one way only (`#[^\n]*` alone matches `###` three ways).
GAP = r"(?:[\s\\]|#[^\n]*\n)*"
_COMPILE = rf"\.(?<!\bre\.){GAP}compile{GAP}\("  # not `re.compile(`
KERAS_LOSS = rf"def\s+(?:{_LOSS_METHODS})\b|{_COMPILE}"  # the pattern, for the slicer
_LOSS_DEF = re.compile(rf"def\s+(?:{_LOSS_METHODS})\b")
_COMPILE_CALL = re.compile(_COMPILE)


def names_keras_loss(text: str) -> bool:
    """`KERAS_LOSS` in `text`: a loss or metric method `def`, or a `.compile(` call (two
    searches: one alternation starting with `d` or `.` is five times slower)."""
    return bool(_LOSS_DEF.search(text)) or calls_compile(text)


# `compile` then a `(`: what every `_COMPILE` match holds. Searched first, from its first
# letter (fast), it spares the `_COMPILE` search, which tries every dot, to the few files that
# have one (442 of 6,290 corpus and user files that name TensorFlow).
_COMPILE_WORD = re.compile(rf"compile\b(?={GAP}\()")


def calls_compile(text: str) -> bool:
    """`_COMPILE` in `text`: a `.compile(` call, not `re.compile(`."""
    return bool(_COMPILE_WORD.search(text)) and bool(_COMPILE_CALL.search(text))


_LOSS_CLASSES = names.KERAS_LOSS_CLASSES | names.KERAS_METRIC_CLASSES
# A match inside a longer word only makes a file a candidate that need not be (never the reverse).
STEP_NAMES = "|".join(sorted(names.KERAS_STEP_METHODS))
KERAS_STEP = re.compile(rf"def\s+(?:{STEP_NAMES})\b")
_IMPORT_WORD = re.compile(word("import"))
_DATASET_METHOD_NAMES = tuple(DATASET_METHODS.split("|"))
_IMPORT_PAREN = re.compile(r"import\s*\(((?:[^()#]|#[^\n]*)*)\)")
_IMPORT_CONTINUED = re.compile(r"import\b[^\n#]*\\\r?\n(?:[^\n#]*\\\r?\n)*[^\n#]*\bfunction\b")
_FUNCTION_WORD = re.compile(word("function"))
_DATA_WORD = re.compile(r"data\b")  # a literal first (fast); a longer word only over-approximates


def extra_names(config: Config) -> list[str]:
    return [d.rsplit(".", 1)[-1] for d in config.extra_function_decorators if "*" not in d]


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_SPACE = frozenset(" \t\r\n\f\\")  # a backslash continues a line


def _word_at(text: str, start: int, end: int) -> bool:
    return (start == 0 or text[start - 1] not in _WORD_CHARS) and (
        end >= len(text) or text[end] not in _WORD_CHARS
    )


def _after_dot(text: str, start: int) -> bool:
    """`text[start:]` follows a `.`, across whitespace, line continuations and comments
    (`(tf.  # note` then `function)(f)` on the next line). A `#` inside a string on the line
    above counts as a comment: at worst a file passes that need not."""
    j = start - 1
    while j >= 0:
        char = text[j]
        if char not in _SPACE:
            return char == "."
        if char == "\n":
            comment = text.find("#", text.rfind("\n", 0, j) + 1, j)
            if comment >= 0:
                j = comment
        j -= 1
    return False


def _skip_space(text: str, k: int) -> int:
    """The index of the first character at or after `k` that is not whitespace, a line
    continuation or a comment."""
    while k < len(text):
        if text[k] == "#":
            end = text.find("\n", k)
            k = len(text) if end < 0 else end
        elif text[k] in _SPACE:
            k += 1
        else:
            break
    return k


def _names_function(text: str) -> bool:
    """`x.function` anywhere, or `function` on a line with `import`, found with `str.find`
    (a regex starting with `\\.` tries every `.` of the file, and code is full of them)."""
    i = text.find("function")
    while i >= 0:
        end = i + 8
        if _word_at(text, i, end) and (
            _after_dot(text, i) or _IMPORT_WORD.search(text, text.rfind("\n", 0, i) + 1, i)
        ):
            return True
        i = text.find("function", end)
    return False


def _calls_dataset_method(text: str) -> bool:
    """`.map(`, `.filter(`, ... (`DATASET_METHODS`), found with `str.find`."""
    for name in _DATASET_METHOD_NAMES:
        i = text.find(name)
        while i >= 0:
            end = i + len(name)
            if _word_at(text, i, end) and _after_dot(text, i):
                k = _skip_space(text, end)
                if k < len(text) and text[k] == "(":
                    return True
            i = text.find(name, end)
    return False


# A comment, or a string literal (its prefix letters stay outside the match): what `tokenize`
# would make a COMMENT or STRING token, found by one C-level scan (each alternative starts
# with a literal character, and its loop is unrolled: `[^"\\]*` runs over the text in C).
# Python 3.12's f-strings may nest the quotes they are written with (`f"{d["k"]}"`); each
# quote then still closes and opens a string, so what comes after on the line is read right,
# but for a line with an odd number of such quotes: the view may then hide code of that line.
_STRING_OR_COMMENT = re.compile(
    r"#[^\r\n]*"
    r'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    r"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    r'|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"'
    r"|'[^'\\\r\n]*(?:\\.[^'\\\r\n]*)*'",
    re.DOTALL,
)


def _emptied(match: re.Match[str]) -> str:
    found = match.group()
    if found[0] == "#":
        return ""
    newlines = found.count("\n")
    # The space keeps two emptied strings side by side (`"a" "b"`) from making `""""`.
    return '"" ' if not newlines else '"""' + "\n" * newlines + '""" '


def code_view(text: str) -> str:
    """`text` without its comments and with its string literals emptied (`""`; a string
    over several lines keeps its line breaks, so every line keeps its number): the screen's
    and the slicer's token tests read it, so that `tf.function` in a docstring or a comment
    does not make a file or a statement relevant. What is analysed is the text itself."""
    return _STRING_OR_COMMENT.sub(_emptied, text)


def is_candidate(text: str, config: Config) -> bool:
    """Step 2: the file has a token without which discovery finds nothing: `x.function`,
    `function` imported, `.map(`-style calls with the word `data` somewhere (discovery's
    datasets are rooted in `tf.data`, a name only an import or an attribute chain can give, and
    either spells the word), a Keras step `def` (or `def call`, with `keras-call`), a
    configured decorator's name."""
    if (
        _names_function(text)
        or (_DATA_WORD.search(text) and _calls_dataset_method(text))  # the cheaper one first
        or KERAS_STEP.search(text)
        or (config.keras_call is not False and _KERAS_CALL.search(text))
        or names_keras_loss(text)
    ):
        return True
    if any(pat.endswith("*") for pat in config.extra_function_decorators):
        return True  # a wildcard decorator can be spelled any way
    if _imports_function_across_lines(text):
        return True  # `from tensorflow import (\n    function,\n)`
    return any(re.search(word(n), text) for n in extra_names(config))


def _imports_function_across_lines(text: str) -> bool:
    """A name `function` imported on another line than `import`: inside the parentheses of
    `import (...)` (comments skipped: they may hold a parenthesis), or after a backslash."""
    if _IMPORT_CONTINUED.search(text):
        return True
    return any(_FUNCTION_WORD.search(m.group(1)) for m in _IMPORT_PAREN.finditer(text))


# ---------------------------------------------------------------- 3. the ast gate
_TF_DATA_PREFIXES = tuple(f"{root}.data." for root in names.TF_ROOTS)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


_DATASET_CALL = re.compile(rf"\.{GAP}(?:" + "|".join(names.DATASET_CALLBACK_METHODS) + rf"){GAP}\(")
_DATA_WORD_EXACT = re.compile(word("data"))
_IDENT = r"[^\W\d]\w*"  # Python identifiers, Unicode ones included
_CHAIN_TAIL = re.compile(rf"{_IDENT}(?:[ \t]*\.[ \t]*{_IDENT})*[ \t]*\.[ \t]*$")


def _qualnames(expr: ast.expr, table: dict[str, set[str]]) -> set[str]:
    """Qualified names an attribute chain `a.b.c` may denote, from the import table."""
    attrs: list[str] = []
    while isinstance(expr, ast.Attribute):
        attrs.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return set()
    suffix = "".join(f".{a}" for a in reversed(attrs))
    return {q + suffix for q in table.get(expr.id, ())}


def _may_name_tf_function(text: str, table: dict[str, set[str]]) -> bool:
    """A text screen: False only when no name or attribute chain can resolve to `tf.function`.

    Each word `function` preceded by `chain.` on the same line is resolved from the chain's
    first name (a hit in a comment or string is possible: the tree walk decides). An
    occurrence the text cannot resolve (`(tf).function`, a chain broken over lines) counts as
    a possible hit."""
    for match in _FUNCTION_WORD.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        before = text[line_start : match.start()]
        tail = _CHAIN_TAIL.search(before)
        if tail is None:
            stripped = before.rstrip(" \t")
            if stripped.endswith(".") or not stripped or stripped.endswith(("(", "\\")):
                return True  # `(tf).function`, or a chain broken over lines
            continue
        start = line_start + tail.start()
        if start > 0 and text[start - 1] == ".":
            return True  # `f().x.function`: the chain does not start with a name
        parts = [p.strip() for p in tail.group(0).split(".")][:-1]
        suffix = "".join(f".{p}" for p in parts[1:]) + ".function"
        if any(q + suffix in names.TF_FUNCTION for q in table.get(parts[0], ())):
            return True
    return False


_ROOT_TYPES = frozenset({ast.Attribute, ast.Name, ast.Call})  # what `_walk_finds_root` reads


def _walk_finds_root(
    tree: ast.Module, table: dict[str, set[str]], defined: set[str] | None = None
) -> bool:
    """The exact test, on every name and attribute of the tree: a chain resolving to
    `tf.function`, or a `Dataset.map`-style call in a module naming something under
    `tf.data.`. With `defined` (`_local_callables`: `def`s, names bound to them or to lambdas),
    only a call that may hand over a callback of this module counts
    (`_may_pass_local_callable`)."""
    # Every spelling of `tf.function` ends in `.function`: only a chain whose last attribute
    # is `function`, or a name imported as one, can resolve to it.
    function_names = {name for name, qns in table.items() if qns & names.TF_FUNCTION}
    dataset_call = False
    for node in ast_nodes(tree):
        if type(node) not in _ROOT_TYPES:  # `ast.parse` makes no subclass of a node class
            continue
        if isinstance(node, ast.Attribute):
            if node.attr == "function" and _qualnames(node, table) & names.TF_FUNCTION:
                return True
        elif isinstance(node, ast.Name):
            if node.id in function_names:
                return True
        elif isinstance(node, ast.Call) and not dataset_call:
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in names.DATASET_CALLBACK_METHODS:
                dataset_call = defined is None or _may_pass_local_callable(node, defined)
    # A dataset call counts in a module naming something under `tf.data.`.
    return dataset_call and any(
        q.startswith(_TF_DATA_PREFIXES)
        for node in ast_nodes(tree)
        if isinstance(node, ast.Attribute | ast.Name)
        for q in _qualnames(node, table)
    )


def _may_pass_local_callable(call: ast.Call, defined: set[str]) -> bool:
    """Whether a `Dataset.map`-style call may hand over a callback that discovery resolves in
    this module (`_may_name_local`, on what `_callables_in` takes from the callback's
    positions and keywords; `defined`: `_local_callables`). A starred argument
    or `**kwargs` may be anything. An imported callback, or what a call returns
    (`ds.map(make_parser(size))`), discovery does not resolve: it is compiled only in the
    module that defines it, which follow-imports reads from this module's calls."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return True
    assert isinstance(call.func, ast.Attribute)
    positions, keywords = names.DATASET_CALLBACK_METHODS[call.func.attr]
    return any(
        _may_name_local(call.args[p], defined) for p in positions if p < len(call.args)
    ) or any(k.arg in keywords and _may_name_local(k.value, defined) for k in call.keywords)


def function_binding(stmt: ast.stmt) -> tuple[list[str], ast.expr] | None:
    """The names a plain assignment binds to a lambda or to another name, and that value
    (`parse = lambda x: ...`, `parse = decode`, annotated or not): names discovery may
    resolve to a function of the module (`discovery.provider`, `_bound_functions`)."""
    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name | ast.Lambda):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)], stmt.value
    if (
        isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.value, ast.Name | ast.Lambda)
        and isinstance(stmt.target, ast.Name)
    ):
        return [stmt.target.id], stmt.value
    return None


def _local_callables(statements: list[ast.stmt]) -> set[str]:
    """The names discovery may resolve to a function of this module, at any depth: each
    `def`'s, each name an assignment binds a lambda to, and each name bound to one of those
    (`function_binding`)."""
    found = {s.name for s in statements if isinstance(s, _DEFS)}
    aliases: list[tuple[str, str]] = []
    for s in statements:
        binding = function_binding(s)
        if binding is None:
            continue
        targets, value = binding
        if isinstance(value, ast.Lambda):
            found.update(targets)
        elif isinstance(value, ast.Name):
            aliases += [(t, value.id) for t in targets]
    grew = True
    while grew:  # `a = b`, `b = decode`: to any depth
        grew = False
        for name, source in aliases:
            if source in found and name not in found:
                found.add(name)
                grew = True
    return found


def _may_name_local(expr: ast.expr, defined: set[str]) -> bool:
    """Whether an argument may hand over a function that discovery resolves in this module
    (`discovery.provider`, `_resolve`): a lambda, a name spelled like one of `defined` (the
    module's `def`s and names bound to them or to lambdas), an attribute spelled so
    (`self.parse`), any call with such an argument (`functools.partial(parse, k=1)`,
    `tf.autograph.to_graph(parse)`); lists, tuples, sets, dict values and starred items
    opened."""
    if isinstance(expr, ast.List | ast.Tuple | ast.Set):
        return any(_may_name_local(e, defined) for e in expr.elts)
    if isinstance(expr, ast.Dict):
        return any(_may_name_local(v, defined) for v in expr.values)
    if isinstance(expr, ast.Starred):
        return _may_name_local(expr.value, defined)
    if isinstance(expr, ast.Lambda):
        return True
    if isinstance(expr, ast.Name):
        return expr.id in defined
    if isinstance(expr, ast.Attribute):
        return expr.attr in defined
    if isinstance(expr, ast.Call):
        return any(_may_name_local(a, defined) for a in expr.args) or any(
            _may_name_local(k.value, defined) for k in expr.keywords
        )
    return False


_COMPILE_KEYWORDS = frozenset({*names.KERAS_COMPILE_LOSS[1], *names.KERAS_COMPILE_METRICS[1]})


def _compiles_local_function(tree: ast.Module, defined: set[str]) -> bool:
    """A `x.compile(...)` call whose loss or metrics may name a function of this module: what
    discovery resolves there (a lambda, a `def`'s name, `self.method`, `functools.partial(f)`)
    is looked for in every positional argument and in `loss=`/`metrics=`/`weighted_metrics=`,
    with lists, tuples, sets and dict values opened (`_may_name_local`). Over-approximates:
    any name or attribute spelled like a `def` of the file, and any argument of a call,
    count. `defined`: `_local_callables`."""
    for node in ast_nodes(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "compile"
            and (
                any(_may_name_local(a, defined) for a in node.args)
                or any(
                    k.arg in _COMPILE_KEYWORDS and _may_name_local(k.value, defined)
                    for k in node.keywords
                )
            )
        ):
            return True
    return False


def may_have_compiled_context(
    text: str,
    tree: ast.Module,
    *,
    keras_call: bool | None = None,
    extra_function_decorators: tuple[str, ...] = (),
    aliases: Mapping[str, str] | None = None,
    exports: bool = True,
) -> bool:
    """False only when libCST discovery certainly finds no compiled context and no reference to
    `tf.function` in this module (`tree` is `ast.parse` of the file; `text`, the file's text or
    its `code_view`, which the text tests read). Without `exports` (option
    `follow-imports` off), a `Dataset.map`-style call counts only when it may hand over a
    callback of this module; with it, every one counts (follow-imports reads from this
    module the imported functions handed to a dataset, and compiles them in their own).

    Cheap tests first (statements only, then the text); the walk over every expression runs
    only on the files the text cannot clear."""
    if extra_function_decorators:
        return True
    statements = list(all_statements(tree))
    table, star = _import_table(statements, aliases)
    if star:
        return True
    if not table:
        return False
    if _imports_tf_function(table):
        return True  # `from tensorflow import function`
    if _keras_class_overrides(statements, table, keras_call):
        return True
    compiles = calls_compile(text)
    # The names of the module's own functions: what a `compile(...)` call, or (without
    # `exports`) a dataset call, must hand over to count.
    callables = _local_callables(statements) if compiles or not exports else set()
    if compiles and _compiles_local_function(tree, callables):
        return True  # `model.compile(loss=f)` with `f` defined here: discovery decides
    if not _maybe_dataset(text, table) and not _may_name_tf_function(text, table):
        return False
    return _walk_finds_root(tree, table, None if exports else callables)


def _import_table(
    statements: list[ast.stmt], aliases: Mapping[str, str] | None
) -> tuple[dict[str, set[str]], bool]:
    """`import_bindings` of `statements`, with the file's re-exported TensorFlow names
    rewritten (`from mypkg import tf`: `mypkg.tf` is `tensorflow`, `discovery.reexports`)."""
    table, star = import_bindings(statements)
    if aliases:
        for local, qualnames in table.items():
            table[local] = {rewrite(q, aliases) for q in qualnames}
    return table, star


def _imports_tf_function(table: dict[str, set[str]]) -> bool:
    """An import binds a name to `tf.function` (`from tensorflow import function`)."""
    return any(q in names.TF_FUNCTION for qs in table.values() for q in qs)


def _keras_class_overrides(
    statements: list[ast.stmt], table: dict[str, set[str]], keras_call: bool | None
) -> bool:
    """A class whose bases may be a Keras layer or model defines a step (or `call`, unless
    `keras-call = false`), or one whose bases may be a Keras loss or metric defines one of
    their methods: discovery compiles it."""
    keras_methods = names.KERAS_STEP_METHODS | ({"call"} if keras_call is not False else set())
    loss_methods = names.KERAS_LOSS_METHODS | names.KERAS_METRIC_METHODS
    class_bases: dict[str, set[str]] | None = None
    for node in statements:
        if not isinstance(node, ast.ClassDef) or not node.bases:
            continue
        defined = {s.name for s in node.body if isinstance(s, _DEFS)}
        if not defined & (keras_methods | loss_methods):
            continue
        if class_bases is None:
            class_bases = _class_bases(statements, table)
        bases = class_bases[node.name]
        if defined & keras_methods and any(_is_layer_or_model(q) for q in bases):
            return True
        if defined & loss_methods and bases & _LOSS_CLASSES:
            return True
    return False


def _maybe_dataset(text: str, table: dict[str, set[str]]) -> bool:
    """A `Dataset.map`-style call in a module that imports something under TensorFlow."""
    tf_rooted = any(
        q == root or q.startswith(root + ".")
        for qs in table.values()
        for q in qs
        for root in names.TF_ROOTS
    )
    return tf_rooted and bool(_DATASET_CALL.search(text) and _DATA_WORD_EXACT.search(text))


# ---------------------------------------------------------------- 3a. the outline
# Before parsing the whole file, `may_have_compiled_context` runs on an outline of it that
# `ast` parses in a tenth of the time: every logical line holding the word `import`, and every
# class header with a stub for each `def` below it, both read on the code view (no comment, no
# string). Every import statement and every class of the file is in the outline, and a class
# has at least its own methods there (it may get a nested function's name as well), so the
# outline's import table and class bases hold at least what the file's do, and each test of
# the gate asks only for more; when the outline proves the gate False, the file is dropped
# unparsed. Anything the outline cannot say (a `compile(` call, a dataset call, a chain that
# may be `tf.function`, which the gate decides on the whole tree) leaves it to the gate.
_IMPORT_KEYWORD = re.compile(word("import"))
_DEF_OR_CLASS = re.compile(r"d(?<!\wd)ef\b|c(?<!\wc)lass\b")
_BLOCK_LEAD = re.compile(r"[ \t]*(?:async[ \t]+)?")
_STUB_NAME = re.compile(rf"[ \t]+({_IDENT})")
_OPENING = "([{"
_CLOSING = ")]}"


def _logical_line_end(view: str, start: int) -> int:
    """The index of the newline that ends the logical line starting at `start` (brackets
    closed, no backslash continuation), or the view's length. The view has no strings and no
    comments: its brackets are the code's."""
    depth = 0
    i = start
    while True:
        j = view.find("\n", i)
        line = view[i:] if j < 0 else view[i:j]
        depth += sum(map(line.count, _OPENING)) - sum(map(line.count, _CLOSING))
        if j < 0:
            return len(view)
        if depth <= 0 and not line.rstrip(" \t\r").endswith("\\"):
            return j
        i = j + 1


def _import_lines(view: str) -> list[str] | None:
    """Each logical line holding the keyword `import`, its indentation removed; None when one
    starts on a continued line."""
    found: list[str] = []
    end = -1
    for match in _IMPORT_KEYWORD.finditer(view):
        start = view.rfind("\n", 0, match.start()) + 1
        if start <= end:
            continue  # in the logical line already taken
        above = view[max(start - 3, 0) : max(start - 1, 0)]  # the end of the line above
        if above.endswith(("\\", "\\\r")):
            return None  # `from x \` then `import y`: the statement starts a line above
        end = _logical_line_end(view, start)
        found.append(view[start:end].lstrip(" "))
    return found


def _header_colon(view: str, start: int) -> int:
    """The index of the `:` that ends a class header starting at `start`, or -1."""
    depth = 0
    for k in range(start, len(view)):
        char = view[k]
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth -= 1
        elif char == ":" and depth == 0:
            return k
    return -1


def _class_outlines(view: str) -> list[str] | None:
    """Each class header (`class Name(bases):`), with a stub for every `def` after it that is
    indented deeper than the class, up to the first `def` or `class` that is not (which ends
    the class: a line starting with either keyword is a statement); None when a header has no
    colon. A `def` or `class` starts a statement only at the start of a line (after its
    indentation, and `async`)."""
    blocks: list[tuple[int, bool, int]] = []  # indentation, is a class, end of the keyword
    for match in _DEF_OR_CLASS.finditer(view):
        start = view.rfind("\n", 0, match.start()) + 1
        lead = _BLOCK_LEAD.match(view, start)
        if lead is None or lead.end() != match.start():
            continue
        indent = len(lead.group()) - len(lead.group().lstrip(" \t"))
        blocks.append((indent, view[match.start()] == "c", match.end()))
    found: list[str] = []
    for i, (indent, is_class, end) in enumerate(blocks):
        if not is_class:
            continue
        colon = _header_colon(view, end)
        if colon < 0:
            return None
        stubs: list[str] = []
        for inner, inner_is_class, inner_end in blocks[i + 1 :]:
            if inner <= indent:
                break
            if not inner_is_class:
                name = _STUB_NAME.match(view, inner_end)
                if name is None:
                    return None
                stubs.append(f"\n def {name.group(1)}(): pass")
        found.append("class" + view[end : colon + 1] + ("".join(stubs) or "\n pass"))
    return found


def _parse_outline(lines: list[str] | None) -> ast.Module | None:
    if lines is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def outline_clears(
    text: str,
    view: str,
    *,
    keras_call: bool | None = None,
    extra_function_decorators: tuple[str, ...] = (),
    aliases: Mapping[str, str] | None = None,
) -> bool:
    """True when `may_have_compiled_context` is certainly False for the file, read on its
    outline (the section's comment) without parsing it; False when the outline cannot tell.
    `view` is `code_view(text)`. Not for a view that lost lines (its string scan fooled), nor
    for indentation with tabs or form feeds, or lines ended by a lone carriage return: the
    outline reads lines and the width of their indentation."""
    if (
        extra_function_decorators
        or "\t" in view
        or "\f" in view
        or view.count("\n") != text.count("\n")
        or view.count("\r") != view.count("\r\n")
    ):
        return False
    imports = _parse_outline(_import_lines(view))
    if imports is None:
        return False
    table, star = _import_table(list(all_statements(imports)), aliases)
    if star:
        return False
    if not table:
        return True
    if (
        _imports_tf_function(table)
        or calls_compile(view)
        or _maybe_dataset(view, table)
        or _may_name_tf_function(view, table)
    ):
        return False
    classes = _parse_outline(_class_outlines(view))
    return classes is not None and not _keras_class_overrides(
        list(all_statements(classes)), table, keras_call
    )


def defines_loss_call(tree: ast.Module, aliases: Mapping[str, str] | None = None) -> bool:
    """Whether a class with a Keras loss base may define `call` (a loss `call` is a compiled
    body for every rule, not only for what breaks, `engine.keras_gate`); True when a star
    import hides what a base is."""
    statements = list(all_statements(tree))
    table, star = _import_table(statements, aliases)
    if star:
        return True
    class_bases: dict[str, set[str]] | None = None
    for node in statements:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(s, _DEFS) and s.name in names.KERAS_LOSS_METHODS for s in node.body
        ):
            if class_bases is None:
                class_bases = _class_bases(statements, table)
            if class_bases[node.name] & _LOSS_CLASSES:
                return True
    return False


def _is_layer_or_model(qualname: str) -> bool:
    return qualname in names.KERAS_MODEL_CLASSES or names.is_keras_layer_class(qualname)


def _class_bases(statements: list[ast.stmt], table: dict[str, set[str]]) -> dict[str, set[str]]:
    """Per class name of the module, the qualified names its bases may denote, with those of
    the module's own classes it derives from (`class Block(Base)`): discovery's
    `_class_bases`, by spelling (classes of the same name count together: a screen may
    only over-approximate)."""
    direct: dict[str, set[str]] = {}
    parents: dict[str, set[str]] = {}
    for node in statements:
        if isinstance(node, ast.ClassDef):
            direct.setdefault(node.name, set()).update(
                q for b in node.bases for q in _qualnames(b, table)
            )
            parents.setdefault(node.name, set()).update(
                b.id for b in node.bases if isinstance(b, ast.Name)
            )
    # Each class once, after its parents (`discovery.graphs.parents_first`); in a cycle of
    # bases, a class not done yet lends its own bases only.
    found: dict[str, set[str]] = {}

    def local_parents(name: str) -> list[str]:
        return [parent for parent in parents[name] if parent in direct]

    for root in direct:
        for name in parents_first(root, local_parents, found):
            bases = set(direct[name])
            for parent in parents[name]:
                bases |= found.get(parent) or direct.get(parent, set())
            found[name] = bases
    return found


def screened(
    text: str,
    config: Config,
    *,
    keep: bool = False,
    aliases: Mapping[str, str] | None = None,
) -> tuple[bool, ast.Module | None, str]:
    """All three steps: whether the file may hold compiled code, its `ast` tree (None when
    `ast` cannot parse it: such a file passes, and the engine reports its syntax error; None
    too when the outline clears the file, which is then not parsed), and its `code_view`
    (the text itself when the screens are skipped or the text fails them).
    `keep` skips the screens (follow-imports roots) and only parses; `aliases` are the file's
    re-exported TensorFlow names (`discovery.reexports`: `from mypkg import tf` names no
    package in the text)."""
    view = text if keep else _screened_view(text, config, aliases)
    if view is None:
        return False, None, text
    if not keep and outline_clears(
        text,
        view,
        keras_call=config.keras_call,
        extra_function_decorators=config.extra_function_decorators,
        aliases=aliases,
    ):
        return False, None, view
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True, None, view
    if not keep and not may_have_compiled_context(
        view,
        tree,
        keras_call=config.keras_call,
        extra_function_decorators=config.extra_function_decorators,
        aliases=aliases,
        exports=config.follow_imports,
    ):
        return False, tree, view
    return True, tree, view


def _screen_text(text: str, config: Config, aliases: Mapping[str, str] | None) -> bool:
    return bool(aliases or may_contain_compiled_code(text, config)) and is_candidate(text, config)


def _screened_view(text: str, config: Config, aliases: Mapping[str, str] | None) -> str | None:
    """The text steps on `text`, then (when it passes) on its `code_view`: the view when both
    pass, else None. A `tf.function` in a docstring or a comment is no reason to parse."""
    if not _screen_text(text, config, aliases):
        return None
    view = code_view(text)
    return view if _screen_text(view, config, aliases) else None


def screen(text: str, config: Config, aliases: Mapping[str, str] | None = None) -> bool:
    """The text steps (1 and 2) of `screened`: False only when the text certainly holds no
    compiled code. What the flake8 plugin asks before importing the slicer, whose own
    screen then parses the file (once)."""
    return _screened_view(text, config, aliases) is not None
