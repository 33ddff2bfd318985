"""TensorFlow re-exported by the user's own package: `from mypkg import tf`.

A project may import TensorFlow once, in `mypkg/__init__.py` (`import tensorflow as tf`), and
everywhere else `from mypkg import tf`. libCST then names `tf.function` `mypkg.tf.function`,
and nothing matches. `reexported_modules` finds, without importing anything, the module file
each `from X import name` of a file refers to (on disk, relative to the file's package root),
reads which of its top-level names are TensorFlow or Keras modules, and returns a map from the
qualified name libCST gives (`mypkg.tf`) to the module it is (`tensorflow`).
`rewrite` applies it to a qualified name. Works with `follow-imports` off: only the imported
module's own top-level imports, assignments and class statements are read.

The same lookup finds the project's own Keras classes: for `from .base import BaseLayer`,
where a class of the file derives from `BaseLayer` and `base.py` has `class
BaseLayer(tf.keras.layers.Layer)` (or derives it from another such class, defined there or
imported), `.base.BaseLayer` maps to `tensorflow.keras.layers.Layer`, and discovery takes
the file's subclasses for Keras layers (models, losses, metrics alike).

Cheap: each module file is read and parsed once per process (a cache per path, checked
against the size and modification time of the file and of those it was read from), each
directory's package root is found once, and only `from ... import` statements naming `tf`,
`keras` or `tensorflow`-like names in their alias are looked up, and, in a file that defines
a method Keras traces (`def call(`...), those naming a capitalised name a `class` statement
of the file derives from. Safe: an unreadable or
unparsable file counts as re-exporting nothing.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence

from tfgraphlint.discovery import names
from tfgraphlint.discovery.ast_nodes import dotted_name

# Modules whose re-export is followed: what discovery's names are rooted in.
_TARGET_ROOTS = ("tensorflow", "keras", "tf_keras")
# Local names worth a lookup (`from mypkg import tf, keras`): others never reach discovery.
_WANTED = re.compile(r"^(?:tf|tf2|keras|K|tensorflow|tfk|tf_keras)$")
# The screen before any parse: a line `from X import ...` (at the start of a line, after spaces
# or tabs) naming `tf` or `keras` as a word on that line, or, when a parenthesis opens right
# after `import`, anywhere before the first `)`. Found from the literal `from`: a regular
# expression anchored at `^` under MULTILINE tries every position of the text, three times
# slower over the corpus's 60 MB.
_FROM_IMPORT = re.compile(r"from[ \t]+[.\w]+[ \t]+import\b")
_OPEN_PAREN = re.compile(r"[ \t]*\(")
_WANTED_WORD = re.compile(r"\b(?:tf|keras)\b")
# The bases of a `class` statement (`class Gate(BaseLayer):`), from the literal `class`: a
# name imported from the project may be a Keras class (`from .base import BaseLayer`).
_CLASS_HEAD = re.compile(r"class[ \t]+\w+[ \t]*\(")
# Only a file that defines a method Keras traces has a class worth it.
_KERAS_METHOD = re.compile(
    r"def[ \t]+(?:" + "|".join(sorted(names.KERAS_TRACED_METHODS)) + r")[ \t]*\("
)
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_MAX_DEPTH = 3

# A module file -> the stamps (path, modification time, size) of it and of every module file
# its exports were read from (`from .base import BaseLayer`, `from .utils import tf`), and its
# exports: an edit of any of them reads the file again.
_Stamp = tuple[str, int, int]
_module_cache: dict[str, tuple[tuple[_Stamp, ...], dict[str, str]]] = {}
_root_cache: dict[str, str] = {}
# (package root, module) -> its file, for absolute imports found: the files of one package
# import the same modules (like `_root_cache`, for the life of the process).
_find_cache: dict[tuple[str, str], str] = {}
# An import statement's text -> the statement, or None if it is not one `from` import alone.
_statement_cache: dict[str, ast.ImportFrom | None] = {}


def _is_target(module: str) -> bool:
    return any(module == r or module.startswith(r + ".") for r in _TARGET_ROOTS)


def _replaces_dunder_call(stmt: ast.stmt) -> bool:
    """A `__call__` that does not call Keras's own (`super().__call__(...)`): discovery's
    `_replaces_dunder_call`."""
    return (
        isinstance(stmt, ast.FunctionDef)
        and stmt.name == "__call__"
        and not any(isinstance(n, ast.Attribute) and n.attr == "__call__" for n in ast.walk(stmt))
    )


def _may_name_class(name: str) -> bool:
    """An imported name worth a lookup as a class (`BaseLayer`): capitalised, as classes are."""
    return name[:1].isupper()


def _package_root(directory: str) -> str:
    """The directory from which the package holding `directory` is imported: the parent of
    the topmost directory with an `__init__.py` (`directory` itself outside a package)."""
    found = _root_cache.get(directory)
    if found is None:
        cur = directory
        for _ in range(32):
            if not os.path.isfile(os.path.join(cur, "__init__.py")):
                break
            parent = os.path.dirname(cur)
            if parent == cur:
                break
            cur = parent
        found = _root_cache[directory] = cur
    return found


def _search_roots(path: str) -> Iterator[str]:
    """Where an absolute import of `path`'s file may be found: its package root and up to two
    ancestors (a `tests/` folder next to the package), each also with `src/`."""
    cur = _package_root(os.path.dirname(os.path.abspath(path)))
    for _ in range(3):
        yield cur
        yield os.path.join(cur, "src")
        parent = os.path.dirname(cur)
        if parent == cur:
            return
        cur = parent


def _module_file(root: str, module: str) -> str | None:
    base = os.path.join(root, *module.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def _find_module(path: str, module: str, level: int) -> str | None:
    """The file of `module` as imported from `path` (`level` dots for a relative import)."""
    if level:
        base = os.path.dirname(os.path.abspath(path))
        for _ in range(level - 1):
            base = os.path.dirname(base)
        if not module:
            init = os.path.join(base, "__init__.py")
            return init if os.path.isfile(init) else None
        return _module_file(base, module)
    key = (_package_root(os.path.dirname(os.path.abspath(path))), module)
    found = _find_cache.get(key)
    if found is not None:
        return found
    for root in _search_roots(path):
        found = _module_file(root, module)
        if found is not None:
            _find_cache[key] = found  # not a miss: the module may be written later
            break
    return found


def top_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, including those under `if`/`try`/`with` blocks."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If | ast.Try | ast.With):
            yield from top_statements(stmt.body)
            yield from top_statements(getattr(stmt, "orelse", []))
            for handler in getattr(stmt, "handlers", []):
                yield from top_statements(handler.body)


def import_bindings(statements: Iterable[ast.stmt]) -> tuple[dict[str, set[str]], bool]:
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


def _dotted(expr: ast.expr) -> list[str] | None:
    name = dotted_name(expr)
    return None if name is None else name.split(".")


def _stamp(file: str) -> _Stamp | None:
    try:
        stat = os.stat(file)
    except OSError:
        return None
    return (file, stat.st_mtime_ns, stat.st_size)


def _exports(file: str, depth: int) -> tuple[tuple[_Stamp, ...], dict[str, str]]:
    """Top-level names of a module file that are TensorFlow or Keras modules, or Keras
    classes (name -> qualified name), with the stamps of the files they were read from."""
    stamp = _stamp(file)
    if stamp is None:
        return (), {}
    cached = _module_cache.get(file)
    if cached is not None and all(_stamp(s[0]) == s for s in cached[0]):
        return cached
    stamps: list[_Stamp] = [stamp]
    _module_cache[file] = ((stamp,), {})  # a cycle of re-exports ends here
    try:
        with open(file, "rb") as handle:
            data = handle.read(2_000_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(data)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return (stamp,), {}
    found: dict[str, str] = {}
    for stmt in top_statements(tree.body):
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    root = alias.name.split(".", 1)[0]
                    found[root] = root
        elif isinstance(stmt, ast.ImportFrom):
            for alias in stmt.names:
                local = alias.asname or alias.name
                if stmt.module and not stmt.level and _is_target(stmt.module):
                    found[local] = f"{stmt.module}.{alias.name}"
                elif depth < _MAX_DEPTH and (_WANTED.match(local) or _may_name_class(local)):
                    read, target = _lookup(
                        file, stmt.module or "", stmt.level, alias.name, depth + 1
                    )
                    stamps.extend(read)
                    if target is not None:
                        found[local] = target
        elif isinstance(stmt, ast.ClassDef):
            # A Keras class of the project (`class BaseLayer(tf.keras.layers.Layer)`, or
            # through one imported or defined above): its name stands for the Keras class
            # it derives from, so that its subclasses elsewhere are Keras classes too.
            found.pop(stmt.name, None)
            if any(_replaces_dunder_call(d) for d in stmt.body):
                continue  # its instances are not called through Keras's `__call__`
            for base in stmt.bases:
                chain = _dotted(base)
                if chain and chain[0] in found:
                    qualname = ".".join([found[chain[0]], *chain[1:]])
                    if names.is_keras_class(qualname):
                        found[stmt.name] = qualname
                        break
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target_node = stmt.targets[0]
            chain = _dotted(stmt.value)
            if isinstance(target_node, ast.Name) and chain and chain[0] in found:
                found[target_node.id] = ".".join([found[chain[0]], *chain[1:]])
    result = tuple(dict.fromkeys(stamps)), {k: v for k, v in found.items() if _is_target(v)}
    _module_cache[file] = result
    return result


def _lookup(
    path: str, module: str, level: int, name: str, depth: int
) -> tuple[tuple[_Stamp, ...], str | None]:
    """What `name` imported from `module` is (None: nothing followed), and the stamps of the
    files read to know it."""
    if not level and (not module or _is_target(module)):
        return (), None
    file = _find_module(path, module, level)
    if file is None:
        return (), None
    stamps, exports = _exports(file, depth)
    return stamps, exports.get(name)


def reexported_modules(path: str, tree: ast.AST) -> dict[str, str]:
    """For the file at `path` (parsed as `tree`): libCST's qualified name of each imported
    TensorFlow or Keras module re-exported by the user's own code -> that module."""
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    return _reexported_by(path, imports)


def _reexported_by(path: str, imports: Iterable[ast.ImportFrom]) -> dict[str, str]:
    if not path or path.startswith("<"):
        return {}
    found: dict[str, str] = {}
    for node in imports:
        for alias in node.names:
            local = alias.asname or alias.name
            if not (_WANTED.match(local) or _may_name_class(local)):
                continue
            try:
                target = _lookup(path, node.module or "", node.level, alias.name, 1)[1]
            except (OSError, ValueError):
                target = None
            if target is not None:
                prefix = "." * node.level + (f"{node.module}." if node.module else "")
                found[prefix + alias.name] = target
    return found


def _screen(text: str) -> Iterator[str]:
    """The `from ... import` statements (their text) that may import `tf` or `keras` from
    some package: what the screen matches, up to the end of its line or, for a parenthesised
    import, to its `)`."""
    bases: frozenset[str] | None = None
    for match in _FROM_IMPORT.finditer(text):
        start, end = match.span()
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].strip(" \t"):
            continue  # not at the start of a line (`x = 1; from a import tf` is not either)
        if _OPEN_PAREN.match(text, end):
            close = text.find(")", end)
            stop = len(text) if close < 0 else close + 1
        else:
            stop = text.find("\n", end)
            stop = len(text) if stop < 0 else stop
        if not _WANTED_WORD.search(text, end, stop):
            # Or a name some `class` statement of the file derives from (`BaseLayer`).
            if bases is None:
                bases = _class_base_words(text)
            if not bases or bases.isdisjoint(_IDENTIFIER.findall(text, end, stop)):
                continue
        yield text[start:stop].strip()


def _class_base_words(text: str) -> frozenset[str]:
    """The capitalised identifiers in the base lists of the file's `class` statements (to
    the first `)`; any `class` word followed by a name and `(` counts: a screen), when the
    file defines a method Keras traces (`def call(`, `def train_step(`...)."""
    found: set[str] = set()
    if not _KERAS_METHOD.search(text):
        return frozenset()
    for match in _CLASS_HEAD.finditer(text):
        close = text.find(")", match.end())
        stop = len(text) if close < 0 else close
        found.update(w for w in _IDENTIFIER.findall(text, match.end(), stop) if _may_name_class(w))
    return frozenset(found)


def _screened_imports(text: str) -> list[ast.ImportFrom] | None:
    """The `from ... import` statements the screen matches, each parsed alone (the file's
    other lines are never parsed: a large module pays for its few import lines only); None
    when one does not parse alone (a `from` inside a string, say): then the whole file is
    parsed."""
    return _parsed(_screen(text))


def screened_statements(text: str) -> list[str]:
    """The text of the `from ... import` statements the screen matches (a fact of the text:
    the results cache keeps them, `reexports_of_statements` reads them again)."""
    return list(_screen(text))


def reexports_of_statements(path: str, statements: Sequence[str]) -> dict[str, str] | None:
    """`screened_reexports` from the statements the screen found in the file (none: None);
    None too when one does not parse alone (the whole text is needed then)."""
    imports = _parsed(statements)
    if not imports:
        return None
    return _reexported_by(path, imports)


def _parsed(statements: Iterable[str]) -> list[ast.ImportFrom] | None:
    found: list[ast.ImportFrom] = []
    for statement in statements:
        if statement in _statement_cache:
            node = _statement_cache[statement]
        else:
            node = _statement_cache[statement] = _parse_statement(statement)
        if node is None:
            return None
        found.append(node)
    return found


def _parse_statement(statement: str) -> ast.ImportFrom | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = ast.parse(statement).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return body[0] if len(body) == 1 and isinstance(body[0], ast.ImportFrom) else None


def reexports_in_text(path: str, text: str) -> dict[str, str]:
    """`reexported_modules` for a file's text, after a text screen (no parse when no line
    imports `tf` or `keras` from somewhere; else only the matching lines are parsed)."""
    return screened_reexports(path, text) or {}


def screened_reexports(path: str, text: str) -> dict[str, str] | None:
    """`reexports_in_text`, but None when the text screen finds no line that may import
    `tf` or `keras` from a package (a fact of the text alone: the results cache asks for
    the map only when it is not None)."""
    if not path or path.startswith("<"):
        return None
    imports = _screened_imports(text)
    if imports is not None:
        return _reexported_by(path, imports) if imports else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    return reexported_modules(path, tree)


def may_import_reexport(text: str) -> bool:
    """Whether some line of `text` may import `tf` or `keras` from a package (the text
    screen of `reexports_in_text`)."""
    return next(_screen(text), None) is not None


def rewrite(name: str, aliases: Mapping[str, str]) -> str:
    """`mypkg.tf.function` -> `tensorflow.function` when `mypkg.tf` is `tensorflow`."""
    for key, target in aliases.items():
        if name == key:
            return target
        if name.startswith(key) and name[len(key)] == ".":
            return target + name[len(key) :]
    return name
