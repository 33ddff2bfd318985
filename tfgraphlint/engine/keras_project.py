"""Keras classes that the project only uses eagerly: the project phase of Keras tracing.

A layer's `call`, a metric's `update_state`/`result` and a loss's `call` are reported
because Keras traces them when a model holding the object is fitted, compiled, saved or built
from a Keras `Input`. Discovery sees one module, where a layer of `layers.py` may end up in
any model. The files of a run can show more: if every use of the class in them is eager, the
class's code runs eagerly and its findings are dropped, as discovery does for a script's own
classes (`discovery.provider`, `_keras_calls_run_eagerly_only`).

A finding depends on a class when `engine.runner` tagged it with `data["keras_class"]`: it is
in the body of a module-level class's Keras method, or of a helper of it when every compiled
body of the module is a method of that class, and discovery found that body by default, not
through a tf.function of its module. The class counts as used eagerly only when, in the files
read (below):

- its own module never names it again (no instance, subclass or `isinstance` there);
- at least one other module imports it and makes an instance, and every reference to it, in
  every module, is such an instance made by top-level code (the module's own statements,
  under `if __name__ == "__main__":` too) or by a plain function that only top-level code of
  its module calls and that no other file imports;
- each instance is called at once (`Layer()(x)`), thrown away, or bound to a name that the
  same code only calls or asks for weights or metric results (`layer(x)`,
  `layer.trainable_variables`, `metric.update_state(...)`, `metric.result()`), a global
  that no other file imports;
- the modules that use it hold no Keras `Input` (a functional model calls layers on symbolic
  tensors) and no TF1 graph or session, and no file turns eager execution off.

Anything else (a reference the import map cannot resolve, a star import, a notebook that
names the class, a file that does not parse, an instance passed on or stored) keeps the
findings. The files read are those of the run and, with a pyproject.toml, every file of its
folder that the config does not exclude: `check layers.py` and a pre-commit batch see the
same uses as `check .`. Without one (or with `--isolated`), only the files of the run; the
flake8 plugin sees one file and keeps the findings.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from tfgraphlint._types import KERAS_CLASS, LintResult
from tfgraphlint.discovery.ast_nodes import ast_nodes, dotted_name
from tfgraphlint.discovery.names import KERAS_WEIGHT_QUERIES
from tfgraphlint.engine.cache import ResultCache
from tfgraphlint.engine.project import ModuleIndex, top_level_of

CACHE_KEY = "\x00keras-project"  # its entry in `ResultCache.entries` (no file has this path)

# What eager code may do with an instance without tracing it: ask for its weights
# (`KERAS_WEIGHT_QUERIES`, as discovery's own script test), or call a metric's own methods,
# which run eagerly when eager code calls them.
EAGER_USES = KERAS_WEIGHT_QUERIES | {"update_state", "result", "reset_state", "reset_states"}

# Names after which a top-level call may not be eager: a Keras `Input` (a functional model
# calls its layers on symbolic tensors) and TF1 graphs, sessions and placeholders.
_SYMBOLIC = frozenset(
    {
        "Input",
        "InputLayer",
        "Graph",
        "Session",
        "InteractiveSession",
        "placeholder",
        "disable_eager_execution",
        "disable_v2_behavior",
    }
)

_STAR_IMPORT = re.compile(rb"\bimport\s*\*")

# Turned off anywhere, eager execution is off for every module imported after.
_GRAPH_MODE = (b"disable_eager_execution", b"disable_v2_behavior")

_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)

Target = tuple[str, str]  # (path of the defining module, class name)


def forget_eager_only_keras_classes(
    results: Sequence[LintResult],
    files: Sequence[str],
    cache: ResultCache | None = None,
    digests: Mapping[str, str] | None = None,
    project: Callable[[], Sequence[str]] | None = None,
) -> int:
    """Drop, from `results` (updated in place), the findings tagged with a class that the
    checked `files`, and the files `project()` lists (the project's, when a check covers
    only some of them), only use eagerly. Returns how many were dropped. With a `cache`, the
    classes found are stored under every file's content digest (`digests`, for the checked
    files) or size and modification time (the others), and an unchanged tree is not read
    again."""
    targets: dict[str, set[str]] = {}
    for result in results:
        if not result.path.endswith(".py"):
            continue
        for finding in result.findings:
            name = (finding.data or {}).get(KERAS_CLASS)
            if isinstance(name, str) and name.isidentifier():
                targets.setdefault(name, set()).add(os.path.abspath(result.path))
    if not targets:
        return 0
    universe = {os.path.abspath(f): f for f in [*files, *(project() if project else ())]}
    key = _census_key(universe, targets, digests or {}) if cache is not None else None
    if cache is not None and key is not None:
        stored = cache.entries.get(CACHE_KEY)
        if stored is not None and stored.get("key") == key:
            try:
                eager = {(str(path), str(name)) for path, name in stored["eager"]}
            except (KeyError, TypeError, ValueError):  # damaged: find them again
                pass
            else:
                return _drop(results, eager)
    eager = _Census(list(universe), targets).eager_only()
    if cache is not None and key is not None:
        cache.entries[CACHE_KEY] = {"key": key, "eager": sorted(eager)}
        cache.dirty = True
    return _drop(results, eager)


def _census_key(
    universe: Mapping[str, str], targets: Mapping[str, set[str]], digests: Mapping[str, str]
) -> str | None:
    """What the census depends on: every file (its digest, or else its size and modification
    time) and the tagged classes. None if a file cannot be stat'ed."""
    state: list[tuple[str, str]] = []
    for real, shown in sorted(universe.items()):
        if shown in digests:
            state.append((real, digests[shown]))
            continue
        try:
            info = os.stat(real)
        except OSError:
            return None
        state.append((real, f"{info.st_size}:{info.st_mtime_ns}"))
    tags = sorted((name, sorted(paths)) for name, paths in targets.items())
    return hashlib.sha256(json.dumps([state, tags]).encode()).hexdigest()


def _drop(results: Sequence[LintResult], eager: set[Target]) -> int:
    dropped = 0
    for result in results:
        real = os.path.abspath(result.path)
        kept = [f for f in result.findings if (real, (f.data or {}).get(KERAS_CLASS)) not in eager]
        dropped += len(result.findings) - len(kept)
        result.findings = kept
    return dropped


def _tokens(names: Iterable[str]) -> re.Pattern[bytes]:
    """The names as whole identifiers (`Layer`, `.Layer`; not `MyLayer`)."""
    alternatives = b"|".join(re.escape(n.encode()) for n in sorted(names))
    return re.compile(rb"(?<!\w)(?:" + alternatives + rb")(?!\w)")


def _parse(path: str, data: bytes) -> ast.Module | None:
    if not path.endswith(".py"):
        return None  # a notebook: not read here, so a notebook naming the class keeps it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


class _Census:
    """Every reference to the tagged classes in the files of the run, sorted into eager uses
    and other uses."""

    def __init__(self, files: Sequence[str], targets: dict[str, set[str]]) -> None:
        self.files = files
        self.targets = targets
        self.index: ModuleIndex  # built when some other file names a class
        self.eager: set[Target] = set()
        self.other: set[Target] = set()
        # (path, name): a plain function, or a global bound to an instance, whose eager uses
        # stand only if no other file imports it; the targets that depend on it.
        self.claims: dict[tuple[str, str], set[Target]] = {}

    def eager_only(self) -> set[Target]:
        pattern = _tokens(self.targets)
        needles = [(name, name.encode()) for name in self.targets]
        named: list[tuple[str, bytes, set[str]]] = []
        for path in self.files:
            try:
                data = Path(path).read_bytes()
            except OSError:
                self._all_other(self.targets)  # cannot tell what it does
                continue
            if any(switch in data for switch in _GRAPH_MODE):
                return set()  # a module of the run may turn eager execution off for all
            if any(needle in data for _, needle in needles):  # a quick screen, then the regex
                found = {m.group().decode() for m in pattern.finditer(data)}
                if found:
                    named.append((path, data, found))
        if not any(path not in self.targets[n] for path, _, found in named for n in found):
            return set()  # no other file names them: no eager use
        self.index = ModuleIndex(self.files)
        defining = {path for paths in self.targets.values() for path in paths}
        named.sort(key=lambda item: item[0] not in defining)  # what marks "other" most, first
        for path, data, found in named:
            found = {n for n in found if any((p, n) not in self.other for p in self.targets[n])}
            if not found:
                continue  # every class it names is known to be used otherwise already
            tree = _parse(path, data)
            try:
                if tree is None:
                    raise ValueError("not parsed")
                _ModuleUses(self, path, tree, found).run()
            except Exception:  # unreadable, or a bug here: what it does with them is unknown
                self._all_other(found)
        self._check_claims()
        return self.eager - self.other

    def _all_other(self, names: Iterable[str]) -> None:
        for name in names:
            self.other.update((path, name) for path in self.targets.get(name, ()))

    def _check_claims(self) -> None:
        """A function claimed by `_ModuleUses._script_function`, or a global bound to an
        instance, stands only if no other file imports it (or star-imports its module): else
        compiled code there may call it. Each file is parsed once."""
        if not self.claims:
            return
        names = {name for _, name in self.claims}
        pattern = _tokens(names)
        for path in self.files:
            try:
                data = Path(path).read_bytes()
            except OSError:
                data = b""
            star = _STAR_IMPORT.search(data) is not None
            if not star and not any(name.encode() in data for name in names):
                continue
            found = {m.group().decode() for m in pattern.finditer(data)}
            claims = [
                (claim, targets)
                for claim, targets in self.claims.items()
                if (claim[1] in found or star) and claim[0] != path
            ]
            if not claims:
                continue
            try:
                imported = self._imported(path, data, found)
            except Exception:  # a bug here: assume it imports all of them
                imported = None
            for (where, name), targets in claims:
                if imported is None or self._may_import(imported, path, where, name):
                    self.other.update(targets)

    def _imported(
        self, path: str, data: bytes, names: set[str]
    ) -> tuple[list[str], dict[str, list[str]]] | None:
        """What `path` imports that may be one of `names`: the modules it star-imports, and
        per name the dotted names it reaches it by (`from m import name`, `m.name`). None
        if it cannot be parsed."""
        tree = _parse(path, data)
        if tree is None:
            return None
        imports = top_level_of(tree).imports
        stars: list[str] = []
        by_name: dict[str, list[str]] = {}
        for node in ast_nodes(tree):
            if isinstance(node, ast.ImportFrom):
                dotted = "." * node.level + (node.module or "")
                for alias in node.names:
                    if alias.name == "*":
                        stars.append(dotted)
                    elif alias.name in names:
                        by_name.setdefault(alias.name, []).append(f"{dotted}.{alias.name}")
            elif isinstance(node, ast.Attribute) and node.attr in names:
                chain = dotted_name(node) or ""
                root = chain.split(".")[0]
                if root in imports:
                    qualified = imports[root] + chain[len(root) :]
                    by_name.setdefault(node.attr, []).append(qualified)
        return stars, by_name

    def _may_import(
        self, imported: tuple[list[str], dict[str, list[str]]], path: str, where: str, name: str
    ) -> bool:
        stars, by_name = imported
        return any(self._names_module(m, path, where) for m in stars) or any(
            self._names(dotted, path, where) for dotted in by_name.get(name, ())
        )

    def _names(self, dotted: str, from_path: str, where: str) -> bool:
        """`dotted` (as imported in `from_path`) may name a function or global of `where`: it
        names a function there, or something of a checked module that the index cannot
        resolve (a global is not a function: any import of a checked module's name counts)."""
        found = self.index.locate(dotted, from_path)
        if found is not None:
            return found[0] == where
        return any(
            self.index.files_of(".".join(parts[:cut]))
            for name in self.index.absolute(dotted, from_path)
            for parts in [name.split(".")]
            for cut in range(1, len(parts))
        )

    def _names_module(self, dotted: str, from_path: str, where: str) -> bool:
        return any(
            where in self.index.files_of(name) for name in self.index.absolute(dotted, from_path)
        )

    def resolve(self, dotted: str, from_path: str) -> Target | None:
        """The tagged class that `dotted` (as imported in `from_path`) names, or None."""
        found = self.index.locate(dotted, from_path, want="class")
        if found is None:
            return None
        path, name = found
        return found if path in self.targets.get(name, ()) else None


class _ModuleUses:
    """`_Census` for one module."""

    def __init__(self, census: _Census, path: str, tree: ast.Module, found: set[str]) -> None:
        self.census = census
        self.path = path
        self.tree = tree
        self.found = found
        self.parent: dict[int, ast.AST] = {}
        self.rebound: dict[str, bool] = {}
        self.symbolic = False
        self.nodes = list(ast_nodes(tree))
        # Per name: its `Name` nodes, and whether anything else binds it (a parameter, a
        # def, `global`): looked up once per module, not once per instance.
        self.names: dict[str, list[ast.Name]] = {}
        self.other_bindings: set[str] = set()
        for node in self.nodes:
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
            if isinstance(node, ast.Name):
                self.names.setdefault(node.id, []).append(node)
            else:
                self.other_bindings.update(_bindings(node))

    def run(self) -> None:
        self.symbolic = any(
            (isinstance(n, ast.Name) and n.id in _SYMBOLIC)
            or (isinstance(n, ast.Attribute) and n.attr in _SYMBOLIC)
            for n in self.nodes
        )
        imports = top_level_of(self.tree).imports
        for node in self.nodes:
            if isinstance(node, ast.Name) and node.id in self.found:
                self._name(node, imports)
            elif isinstance(node, ast.Attribute) and node.attr in self.found:
                self._attribute(node, imports)
            elif isinstance(node, ast.alias) and (node.asname or node.name) in self.found:
                stmt = self.parent.get(id(node))
                if stmt is None or not isinstance(self._region(stmt), ast.Module):
                    self.census._all_other([node.asname or node.name])  # imported in a function

    def _name(self, node: ast.Name, imports: dict[str, str]) -> None:
        name = node.id
        if self._own_super(node):
            return  # `super(Layer, self)` in the class's own module
        if not isinstance(node.ctx, ast.Load) or name not in imports or self._rebound(name):
            # The class's own module naming it, a star import, a local class of that name...
            self.census._all_other([name])
            return
        self._reference(node, imports[name], name)

    def _attribute(self, node: ast.Attribute, imports: dict[str, str]) -> None:
        dotted = dotted_name(node)
        root = dotted.split(".")[0] if dotted is not None else None
        if dotted is None or root not in imports or not isinstance(node.ctx, ast.Load):
            self.census._all_other([node.attr])
            return
        self._reference(node, imports[root] + dotted[len(root) :], node.attr)

    def _own_super(self, node: ast.Name) -> bool:
        """`node` is the class argument of `super(Cls, self)` in the module defining `Cls`."""
        up = self.parent.get(id(node))
        return (
            self.path in self.census.targets.get(node.id, ())
            and isinstance(up, ast.Call)
            and isinstance(up.func, ast.Name)
            and up.func.id == "super"
            and bool(up.args)
            and up.args[0] is node
        )

    def _reference(self, node: ast.expr, qualified: str, name: str) -> None:
        target = self.census.resolve(qualified, self.path)
        if target is None:
            # Not a tagged class of a checked file: a library's class of the same name, or an
            # import that the index cannot resolve (two files of one name), which may be it.
            self.census._all_other([name])
            return
        if not self.symbolic and self._eager_instance(node, target):
            self.census.eager.add(target)
        else:
            self.census.other.add(target)

    def _rebound(self, name: str) -> bool:
        """`name` is bound in the module other than by a top-level import: a class, a
        function, an assignment, a parameter."""
        if name not in self.rebound:
            self.rebound[name] = self._binds(name)
        return self.rebound[name]

    def _binds(self, name: str) -> bool:
        return name in self.other_bindings or any(
            not isinstance(node.ctx, ast.Load) for node in self.names.get(name, ())
        )

    # ------------------------------------------------------------------ eager uses
    def _region(self, node: ast.AST) -> ast.AST | None:
        """The module, for top-level code; the function, for code of a plain module-level
        function (not a method, not nested, not decorated); None for anything else."""
        while True:
            up = self.parent.get(id(node))
            if up is None:
                return node if isinstance(node, ast.Module) else None
            if isinstance(up, ast.FunctionDef):
                if up.decorator_list or not isinstance(self.parent.get(id(up)), ast.Module):
                    return None
                return up if any(node is stmt for stmt in up.body) else None
            if isinstance(up, _SCOPES):
                return None
            node = up

    def _eager_instance(self, ref: ast.expr, target: Target) -> bool:
        call = self.parent.get(id(ref))
        if not isinstance(call, ast.Call) or call.func is not ref:
            return False  # a base class, an argument, `isinstance`...
        region = self._region(call)
        if region is None:
            return False
        if isinstance(region, ast.FunctionDef) and not self._script_function(region, target):
            return False
        used = self.parent.get(id(call))
        if isinstance(used, ast.Expr) or (isinstance(used, ast.Call) and used.func is call):
            return True  # thrown away, or `Layer()(x)` there and then
        if not (
            isinstance(used, ast.Assign)
            and len(used.targets) == 1
            and isinstance(used.targets[0], ast.Name)
        ):
            return False
        name = used.targets[0].id
        if not self._only_called(name, region):
            return False
        if isinstance(region, ast.Module):  # a global: another module may import it
            self.census.claims.setdefault((self.path, name), set()).add(target)
        return True

    def _only_called(self, name: str, region: ast.AST) -> bool:
        """`name`, bound once in `region`, is only called or asked for weights there."""
        if name in self.other_bindings:
            return False  # a parameter, `global`, a def of that name...
        stores = 0
        for node in self.names.get(name, ()):
            if not isinstance(node.ctx, ast.Load):
                stores += 1
                continue
            if self._region(node) is not region:
                return False  # read by a function, a lambda, a comprehension...
            up = self.parent.get(id(node))
            if isinstance(up, ast.Call) and up.func is node:
                continue
            if isinstance(up, ast.Attribute) and up.value is node and up.attr in EAGER_USES:
                continue
            return False
        return stores == 1

    def _script_function(self, func: ast.FunctionDef, target: Target) -> bool:
        """`func` is only called by the module's top-level code (and no other file names it:
        checked at the end, `_Census.claims`)."""
        calls = 0
        for node in self.names.get(func.name, ()):
            up = self.parent.get(id(node))
            if not (
                isinstance(node.ctx, ast.Load)
                and isinstance(up, ast.Call)
                and up.func is node
                and isinstance(self._region(up), ast.Module)
            ):
                return False
            calls += 1
        if calls == 0:
            return False
        self.census.claims.setdefault((self.path, func.name), set()).add(target)
        return True


def _bindings(node: ast.AST) -> tuple[str, ...]:
    """The names `node` binds: a class, a function, a store, a parameter, `global`."""
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return (node.name,)
    if isinstance(node, ast.Name):
        return () if isinstance(node.ctx, ast.Load) else (node.id,)
    if isinstance(node, ast.arg):
        return (node.arg,)
    if isinstance(node, ast.Global | ast.Nonlocal):
        return tuple(node.names)
    return ()
