"""Is this module TensorFlow 1 code? It uses API that TensorFlow 2 removed from `tf`.

Keras `Layer.call`s are found by default because Keras 3 (TF 2.16 and later) traces them
without AutoGraph (`CompiledContext.breaking_only`). A module written for TensorFlow 1 (say
`tf.enable_eager_execution()` at the top, `tf.nn.rnn_cell` cells, `tf.contrib`) cannot run on
those versions at all, and typically calls its models eagerly: what Keras 3 would do to its
`call`s says nothing about it (seen on user code: every such finding was false).

The names below are absent from `tf` on TF 2.21 (all but `contrib` are still in
`tf.compat.v1`). Through `tf.compat.v1` (or a name bound to it) only the ones that build a
TF 1 program count (`enable_eager_execution`, placeholders, variable scopes, the RNN cells):
TF 2 code often keeps `tf.compat.v1.logging` or a `tf.compat.v1.Session` for GPU memory
growth. The test is made on the whole text, not on the sliced one (`engine.slicing` may
blank the function that uses them), through the names the module's own top-level imports
bind to `tensorflow` or `tensorflow.compat.v1` (or that a project package re-exports).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping

from tfgraphlint.discovery.reexports import import_bindings, rewrite, top_statements

# `tf.<name>` that TensorFlow 2 removed (checked with `hasattr` on TF 2.21).
TF1_ONLY = (
    "enable_eager_execution",
    "Session",
    "InteractiveSession",
    "placeholder",
    "contrib",
    "logging",
    "layers",
    "get_variable",
    "variable_scope",
    "global_variables_initializer",
    "local_variables_initializer",
    "to_float",
    "to_int32",
    "sparse_tensor_to_dense",
    "random_normal",
    "truncated_normal",
    "py_func",
    "ConfigProto",
    "set_random_seed",
    "reset_default_graph",
    "get_default_graph",
    "arg_max",
    r"nn\s*\.\s*rnn_cell",
    r"nn\s*\.\s*dynamic_rnn",
    r"nn\s*\.\s*bidirectional_dynamic_rnn",
    r"train\s*\.\s*AdamOptimizer",
    r"train\s*\.\s*GradientDescentOptimizer",
    r"train\s*\.\s*Saver",
)
# Of those, what marks TF 1 code through `tf.compat.v1` too.
TF1_PROGRAM = (
    "enable_eager_execution",
    "placeholder",
    "get_variable",
    "variable_scope",
    r"nn\s*\.\s*rnn_cell",
    r"nn\s*\.\s*dynamic_rnn",
    r"nn\s*\.\s*bidirectional_dynamic_rnn",
)
_MODULES = ("tensorflow", "tensorflow.compat.v1")


def _module_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The imports of the module's own scope (`discovery.reexports.top_statements`)."""
    return [s for s in top_statements(tree.body) if isinstance(s, ast.Import | ast.ImportFrom)]


def tensorflow_names(
    tree: ast.Module, reexports: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The names the module's top-level imports bind to `tensorflow` or
    `tensorflow.compat.v1` (`import tensorflow as tf`, `import tensorflow.compat.v1 as tf`,
    `from tensorflow.compat import v1`, or a package's re-export that `reexports` maps, as
    `discovery.reexports` gives it: `mypkg.tf` -> `tensorflow`): name -> module."""
    table, _ = import_bindings(_module_imports(tree))
    found: dict[str, str] = {}
    for name, qualnames in table.items():
        modules = {rewrite(q, reexports or {}) for q in qualnames}.intersection(_MODULES)
        if modules:
            found[name] = min(modules)  # `tensorflow` before `tensorflow.compat.v1`
    return found


def _roots(names: list[str]) -> str:
    r"""`(?<![\w.])(?:tf|...)` as alternatives that each start with the name, so that the
    search looks for the literal instead of trying the lookbehind at every position of the
    file: the lookbehind (not a word character or a dot before the name) comes after it."""
    return "|".join(rf"{re.escape(n)}(?<![\w.]{re.escape(n)})" for n in sorted(names))


def uses_tf1_api(
    text: str, tree: ast.Module | None, reexports: Mapping[str, str] | None = None
) -> bool:
    """Whether `text` (a module's whole text; `tree`, its `ast` or that of a slice of it that
    keeps the top-level imports) uses an API TensorFlow 2 removed from `tf`, through a name
    its imports bind to TensorFlow, or imports `tensorflow.contrib`."""
    if tree is None:
        return False
    for node in _module_imports(tree):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        if any(m is not None and m.startswith("tensorflow.contrib") for m in modules):
            return True
    roots = tensorflow_names(tree, reexports)
    if not roots:
        return False
    full = [name for name, module in roots.items() if module == "tensorflow"]
    program = "|".join(TF1_PROGRAM)
    parts = [rf"(?:{_roots(list(roots))})\s*\.\s*compat\s*\.\s*v1\s*\.\s*(?:{program})"]
    if full:  # `tf.Session`: removed from TF 2
        parts.append(rf"(?:{_roots(full)})\s*\.\s*(?:{'|'.join(TF1_ONLY)})")
    compat = [name for name, module in roots.items() if module != "tensorflow"]
    if compat:  # `tf = tensorflow.compat.v1`: `tf.placeholder`
        parts.append(rf"(?:{_roots(compat)})\s*\.\s*(?:{program})")
    pattern = rf"(?:{'|'.join(parts)})\b"
    return re.search(pattern, text) is not None
