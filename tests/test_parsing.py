"""`discovery.parsing.parse_module` makes the trees `libcst.parse_module` makes (fixtures, rule
examples, unusual syntax, generated source), sharing the whitespace nodes that are alike, and
leaves libCST as it found it: after a parse, every node class has its own `__init__` back and
validates the nodes made by hand, and `libcst`'s names are its classes again."""

from __future__ import annotations

import dataclasses
import inspect
import threading
from pathlib import Path

import libcst as cst
import pytest
from samples import FIXTURES, UNUSUAL, on_generated_source, rule_examples

from tfgraphlint.discovery import parsing
from tfgraphlint.discovery.stock import STOCK_LIBCST
from tfgraphlint.discovery.walk import TRIVIA

fast_only = pytest.mark.skipif(STOCK_LIBCST, reason="the stock mode is libCST's own parse")


def _same_tree(source: str) -> None:
    made = parsing.parse_module(source)
    stock = cst.parse_module(source)
    assert made.deep_equals(stock)
    assert made.code == stock.code


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_parse_to_the_same_tree(path: Path) -> None:
    _same_tree(path.read_text(encoding="utf-8"))


def test_rule_examples_and_unusual_syntax_parse_to_the_same_tree() -> None:
    for source in [*rule_examples(), UNUSUAL]:
        _same_tree(source)


test_generated_source_parses_to_the_same_tree = on_generated_source(_same_tree)


@fast_only
def test_the_fast_inits_cover_the_node_classes_with_their_parameters() -> None:
    inits = parsing._inits()
    covered = {kind for kind, _, _ in inits}
    for kind in (cst.Name, cst.Call, cst.FunctionDef, cst.SimpleWhitespace, cst.Module):
        assert kind in covered
    for kind, own, fast in inits:
        assert vars(kind)["__init__"] is own  # outside a parse: the class's own
        mine, theirs = inspect.signature(fast), inspect.signature(own)
        assert list(mine.parameters) == list(theirs.parameters)
        for field in dataclasses.fields(kind):
            if field.default is not dataclasses.MISSING:
                assert mine.parameters[field.name].default is field.default


@fast_only
def test_a_fast_init_makes_the_node_the_class_makes() -> None:
    by_class = {kind: fast for kind, _, fast in parsing._inits()}
    for kind, kwargs in [
        (cst.Name, {"value": "x"}),
        (cst.Call, {"func": cst.Name("f"), "args": [cst.Arg(cst.Integer("1"))]}),
        (cst.SimpleStatementLine, {"body": [cst.Pass()]}),  # default factories
    ]:
        node = object.__new__(kind)
        by_class[kind](node, **kwargs)
        assert node.deep_equals(kind(**kwargs))
    # Positionally too, as the generated `__init__` of the dataclass takes them.
    node = object.__new__(cst.Name)
    by_class[cst.Name](node, "y")
    assert node.deep_equals(cst.Name("y"))


@fast_only
def test_a_node_class_of_another_package_keeps_its_own_init() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Marked(cst.CSTNode):
        note: str = ""

        def __post_init__(self) -> None:
            object.__setattr__(self, "note", "made")

        def _visit_and_replace_children(self, visitor: cst.CSTVisitorT) -> Marked:
            return self

        def _codegen_impl(self, state: object) -> None:
            return None

    assert parsing._fast_init(Marked) is None  # defined here, not in libCST
    Marked.__module__ = "libcst._nodes.marked"  # the same class, as if libCST's own
    try:
        assert parsing._fast_init(Marked) is not None
    finally:
        Marked.__module__ = __name__


@fast_only
def test_after_a_parse_nodes_are_validated_again() -> None:
    parsing.parse_module("x = f(1)\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
    assert cst.CSTNode.__post_init__ is parsing._VALIDATING
    assert all(vars(kind)["__init__"] is own for kind, own, _ in parsing._inits())
    _libcst_as_it_was()


def _libcst_as_it_was() -> None:
    for name, kind, _, _ in parsing._shared():
        assert getattr(cst, name) is kind
    assert isinstance(cst.EmptyLine(), cst.EmptyLine)


@fast_only
def test_a_parse_keeps_no_shared_node_after_it() -> None:
    # One thread: in parses on several threads, a thread that makes a node through a standin
    # read just before the window closed may leave one there, alike, until the next window.
    parsing.parse_module("x = f(1)  # c\n\ny = 2\n")
    assert not any(cache for *_, cache in parsing._shared())


def _nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Every node under `node`, `node` too, once per place it holds in the tree."""
    found = [node]
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        for child in value if isinstance(value, tuple | list) else [value]:
            if isinstance(child, cst.CSTNode):
                found += _nodes(child)
    return found


@fast_only
def test_whitespace_alike_is_one_node_and_a_comment_line_its_own() -> None:
    shared = {kind for _, kind, *_ in parsing._shared()}
    assert {k.__name__ for k in shared} == set(parsing._SHARED_FIELDS)
    assert shared <= TRIVIA  # nodes that no walk of the engine visits, no parent map holds
    source = "x = f(a, b)  # one\n\n\ny = g( c )\n# two\n# two\nz = [1, 2]\n"
    nodes = _nodes(parsing.parse_module(source))
    spaces = [n for n in nodes if isinstance(n, cst.SimpleWhitespace) and n.value == " "]
    empty = [n for n in nodes if isinstance(n, cst.EmptyLine) and n.comment is None]
    commented = [n for n in nodes if isinstance(n, cst.EmptyLine) and n.comment is not None]
    assert len(spaces) > 5 and len({id(n) for n in spaces}) == 1
    assert len(empty) == 2 and empty[0] is empty[1]
    assert len(commented) == 2 and commented[0] is not commented[1]
    lines = [n for n in nodes if isinstance(n, cst.TrailingWhitespace)]
    assert len({id(n) for n in lines}) == 2  # `# one` has its own; the others are alike
    assert len({id(n) for n in nodes}) < 0.6 * len(nodes)  # 44 of 78 places
    # libCST's own parse shares nothing.
    stock = _nodes(cst.parse_module(source))
    assert len({id(n) for n in stock}) == len(stock)


@fast_only
def test_the_standins_take_the_parameters_of_their_classes() -> None:
    for name, kind, standin, _ in parsing._shared():
        mine, theirs = inspect.signature(standin), inspect.signature(kind)
        assert list(mine.parameters) == list(theirs.parameters), name
        for field in dataclasses.fields(kind):
            if field.default is not dataclasses.MISSING:
                assert mine.parameters[field.name].default is field.default
    # Made by hand (defaults, default factories), a standin's node equals the class's.
    standins = {name: standin for name, _, standin, _ in parsing._shared()}
    assert standins["EmptyLine"]().deep_equals(cst.EmptyLine())
    assert standins["Newline"]().deep_equals(cst.Newline())
    ws = standins["SimpleWhitespace"]("  ")
    assert standins["SimpleWhitespace"](value="  ") is ws
    line = standins["TrailingWhitespace"](ws, cst.Comment("# c"), cst.Newline())
    assert line.deep_equals(cst.TrailingWhitespace(ws, cst.Comment("# c"), cst.Newline()))
    for _, _, _, cache in parsing._shared():
        cache.clear()


def test_a_class_with_other_fields_is_not_shared() -> None:
    @dataclasses.dataclass(frozen=True)
    class Newline:  # libCST's name, another release's fields
        value: str | None = None
        kind: str = "real"

    assert parsing._standin(Newline) is None
    assert parsing._standin(cst.Name) is None  # not a whitespace class


@fast_only
def test_parses_in_threads_restore_libcst_when_the_last_ends() -> None:
    source = "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(100))
    errors: list[BaseException] = []

    def parse() -> None:
        try:
            for _ in range(3):
                _same_tree(source)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=parse) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert parsing._ACTIVE == 0
    assert all(vars(kind)["__init__"] is own for kind, own, _ in parsing._inits())
    _libcst_as_it_was()


_HASH_CHECK = """
import json, sys
import libcst as cst
from tfgraphlint.config import Config
from tfgraphlint.discovery import parsing
from tfgraphlint.engine.runner import lint_source

def results():
    out = []
    for path in sys.argv[1:]:
        result = lint_source(open(path, "rb").read(), path, Config(select=("ALL",)))
        out.append(sorted((f.line, f.column, f.code, f.message) for f in result.findings))
    return out

import gc
from tfgraphlint.engine.registry import all_rules
all_rules()  # what `check` has loaded when it starts its workers
keyed_by_nodes = sum(
    1
    for o in gc.get_objects()
    if isinstance(o, (dict, set, frozenset))
    and any(isinstance(k, cst.CSTNode) for k in list(o)[:1000])
)
before = results()
name = cst.Name("x")
python_hash = hash(name) == id(name)
parsing.hash_nodes_in_c()
after = results()
print(json.dumps({
    "same": before == after,
    "keyed_by_nodes": keyed_by_nodes,
    "findings": sum(map(len, after)),
    "python_hash_before": python_hash,
    "c_hash": hash(name) == object.__hash__(name),
    "name_hash": type(vars(cst.Name)["__hash__"]).__name__,
    "in_dict": {name: 1}[name] == 1 and name not in {cst.Name("x")},
}))
"""


@pytest.mark.parametrize("stock", ["", "1"])
def test_nodes_hashed_in_c_give_the_same_results(stock: str) -> None:
    """`hash_nodes_in_c` (in `check`'s workers): libCST's nodes hash by identity in C, and
    the fixtures give the same findings; with the stock switch it changes nothing. In a
    child process: the change lasts for the process."""
    import json
    import os
    import subprocess
    import sys

    fixtures = sorted(str(p) for p in (Path(__file__).parent.parent / "fixtures").glob("*.py"))
    env = {**os.environ, "TFGRAPHLINT_STOCK_LIBCST": stock}
    done = subprocess.run(
        [sys.executable, "-c", _HASH_CHECK, *fixtures],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["same"] and found["findings"] > 0
    assert found["python_hash_before"] and found["in_dict"]
    # No dictionary or set keyed by nodes exists when the hash changes (its keys' hashes
    # would be the old ones): nothing the engine loads at import makes one.
    assert found["keyed_by_nodes"] == 0
    if stock:
        assert not found["c_hash"] and found["name_hash"] == "function"
    else:
        assert found["c_hash"] and found["name_hash"] == "wrapper_descriptor"
