"""A cheap, sound pre-check of discovery on CPython's `ast`: can this module hold a compiled body?

`CompiledContextProvider` needs libCST's scope and qualified-name metadata, which cost about
twenty times CPython's parse. Most files that mention TensorFlow never reference
`tf.function`, a `tf.data` dataset or a Keras model class, and for those discovery finds no
compiled context and the engine reports nothing. `may_have_compiled_context` answers the same
question from `ast` with an import-alias table, over-approximating every way discovery finds a
root:

- a reference to `tf.function` (decorator, `tf.function(f)`, `tf.function(...)(f)`): any name
  or attribute chain whose qualified name is in `names.TF_FUNCTION`;
- a `Dataset.map`-style callback: a call of a `DATASET_CALLBACK_METHODS` method in a module
  that names something under `tf.data.`;
- a Keras `train_step`/`test_step`/`predict_step` (or `call`, with `keras-call`) override in a
  class with a base resolving to a Keras class.

Qualified names come from the imports of the whole module (every scope, unioned), which gives
a superset of what libCST's `QualifiedNameProvider` resolves: libCST also derives names only
from imports. A configured `extra-function-decorators` pattern or a star import from a
TensorFlow or Keras module turns the check off (answers True). `tests/test_slicing.py` checks
on real code that findings are identical with and without it.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping

from tfgraphlint.discovery import names
from tfgraphlint.discovery.ast_nodes import ast_nodes
from tfgraphlint.discovery.reexports import rewrite

_TF_DATA_PREFIXES = tuple(f"{root}.data." for root in names.TF_ROOTS)
_KERAS_CLASSES = names.KERAS_MODEL_CLASSES | names.KERAS_LAYER_CLASSES
_LOSS_CLASSES = names.KERAS_LOSS_CLASSES | names.KERAS_METRIC_CLASSES
_COMPILE_CALL = re.compile(r"(?<!\bre)\.\s*compile\s*\(")  # not `re.compile(`


_FUNCTION_WORD = re.compile(r"\bfunction\b")
_DATASET_CALL = re.compile(
    r"\.[\s\\]*(?:" + "|".join(names.DATASET_CALLBACK_METHODS) + r")[\s\\]*\("
)
_DATA_WORD = re.compile(r"\bdata\b")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CHAIN_TAIL = re.compile(rf"{_IDENT}(?:[ \t]*\.[ \t]*{_IDENT})*[ \t]*\.[ \t]*$")


def _statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement, at any depth, without visiting expressions (imports and classes are
    statements; a walk over every node costs ten times more)."""
    stack: list[ast.stmt] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        yield node
        blocks: list[list[ast.stmt]] = [
            getattr(node, attr) for attr in ("body", "orelse", "finalbody") if hasattr(node, attr)
        ]
        blocks += [h.body for h in getattr(node, "handlers", ())]
        blocks += [c.body for c in getattr(node, "cases", ())]
        for block in reversed(blocks):
            stack.extend(reversed(block))


def _bindings(statements: list[ast.stmt]) -> tuple[dict[str, set[str]], bool]:
    """Local name -> qualified names it may be bound to by an import; and whether a star import
    from a TensorFlow or Keras module hides names."""
    table: dict[str, set[str]] = defaultdict(set)
    star = False
    for node in statements:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    table[alias.asname].add(alias.name)
                else:
                    root = alias.name.split(".", 1)[0]
                    table[root].add(root)
        elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
            # A relative import is spelled as libCST does (`..pkg.name`): only a re-export
            # (`discovery.reexports`) can make it a TensorFlow name.
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    star = star or "tensorflow" in module or "keras" in module
                    continue
                sep = "" if module.endswith(".") else "."
                table[alias.asname or alias.name].add(f"{module}{sep}{alias.name}")
    return table, star


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


def _walk_finds_root(tree: ast.Module, table: dict[str, set[str]]) -> bool:
    """The exact test, on every name and attribute of the tree: a chain resolving to
    `tf.function`, or a `Dataset.map`-style call in a module naming something under
    `tf.data.`."""
    dataset_call = names_tf_data = False
    for node in ast_nodes(tree):
        if isinstance(node, ast.Attribute | ast.Name):
            qns = _qualnames(node, table)
            if qns & names.TF_FUNCTION:
                return True
            if not names_tf_data and any(q.startswith(_TF_DATA_PREFIXES) for q in qns):
                names_tf_data = True
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in names.DATASET_CALLBACK_METHODS:
                dataset_call = True
        if dataset_call and names_tf_data:
            return True
    return False


def may_have_compiled_context(
    text: str,
    tree: ast.Module,
    *,
    keras_call: bool | None = None,
    extra_function_decorators: tuple[str, ...] = (),
    aliases: Mapping[str, str] | None = None,
) -> bool:
    """False only when libCST discovery certainly finds no compiled context and no reference to
    `tf.function` in this module (`tree` is `ast.parse(text)`).

    Cheap tests first (statements only, then the text); the walk over every expression runs
    only on the files the text cannot clear."""
    if extra_function_decorators:
        return True
    statements = list(_statements(tree))
    table, star = _bindings(statements)
    if aliases:  # `from mypkg import tf`: `mypkg.tf` is `tensorflow` (`discovery.reexports`)
        for local, qualnames in table.items():
            table[local] = {rewrite(q, aliases) for q in qualnames}
    if star:
        return True
    if not table:
        return False
    if any(q in names.TF_FUNCTION for qs in table.values() for q in qs):
        return True  # `from tensorflow import function`
    keras_methods = names.KERAS_STEP_METHODS | ({"call"} if keras_call is not False else set())
    loss_methods = names.KERAS_LOSS_METHODS | names.KERAS_METRIC_METHODS
    for node in statements:
        if not isinstance(node, ast.ClassDef) or not node.bases:
            continue
        defined = {
            s.name for s in node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if not defined & (keras_methods | loss_methods):
            continue
        bases = set().union(*(_qualnames(b, table) for b in node.bases))
        if defined & keras_methods and bases & _KERAS_CLASSES:
            return True
        if defined & loss_methods and bases & _LOSS_CLASSES:
            return True
    if _COMPILE_CALL.search(text):
        return True  # `model.compile(loss=f)`: discovery decides
    tf_rooted = any(
        q == root or q.startswith(root + ".")
        for qs in table.values()
        for q in qs
        for root in names.TF_ROOTS
    )
    maybe_dataset = tf_rooted and bool(_DATASET_CALL.search(text) and _DATA_WORD.search(text))
    if not maybe_dataset and not _may_name_tf_function(text, table):
        return False
    return _walk_finds_root(tree, table)
