"""`discovery.qualnames.qualified_names` gives libCST's `QualifiedNameProvider` answer for every
node, asked in any order (the memo by dotted name on each scope must not leak an answer from
one node to another: an import's own alias name, a name bound twice, a local class)."""

from __future__ import annotations

import random
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, QualifiedName, QualifiedNameProvider
from samples import FIXTURES, UNUSUAL, rule_examples

from tfgraphlint.discovery.parents import parent_map
from tfgraphlint.discovery.qualnames import qualified_names
from tfgraphlint.discovery.scope_metadata import FastScopeProvider

SHADOWED = """
import tensorflow as tf
import tensorflow.keras.layers
from tensorflow import function as compiled
import numpy as np

tf.function(len)
tensorflow.keras.layers.Dense(3)


def f(tf):
    return tf.function(len)


class np:
    def mean(self):
        return np.mean


np = __import__("numpy")
np.mean(compiled)
[tf.cast(x) for x in range(3)]
"""


class _Asker(cst.MetadataDependent):
    METADATA_DEPENDENCIES = (FastScopeProvider,)


def _same(code: str) -> int:
    module = cst.parse_module(code)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    asker = _Asker()
    memo: dict[cst.CSTNode, object] = {}
    nodes = [module, *parent_map(module)]
    random.Random(0).shuffle(nodes)
    with asker.resolve(wrapper):
        for node in nodes:
            got = qualified_names(asker, node, memo, {})  # type: ignore[arg-type]
            want: set[QualifiedName] = set(_value(expected.get(node, set())))
            assert set(got) == want, (node, got, want)
    return sum(1 for node in nodes if _value(expected.get(node, set())))


def _value(found: object) -> set[QualifiedName]:
    """A provider's value; libCST gives some lazily (`LazyValue`, called for its value)."""
    return set(found() if callable(found) else found)  # type: ignore[call-overload]


def test_qualified_names_of_shadowed_and_imported_names() -> None:
    assert _same(SHADOWED) > 20  # noqa: PLR2004


@pytest.mark.parametrize("path", FIXTURES, ids=str)
def test_qualified_names_match_libcst_on_fixtures(path: Path) -> None:
    _same(path.read_text(encoding="utf-8"))


def test_qualified_names_match_libcst_on_unusual_syntax_and_rule_examples() -> None:
    _same(UNUSUAL)
    for code in rule_examples():
        _same(code)
