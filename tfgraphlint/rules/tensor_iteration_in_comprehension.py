"""TFG502 tensor-iteration-in-comprehension."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.engine.rule import Confirmation, Rule

Comprehension = cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp
_PAIRING = frozenset({"builtins.enumerate", "builtins.zip"})


def _for_clauses(comp: Comprehension) -> Iterator[cst.CompFor]:
    clause: cst.CompFor | None = comp.for_in
    while clause is not None:
        yield clause
        clause = clause.inner_for_in


def _target_names(target: cst.BaseExpression) -> Iterator[str]:
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, cst.Tuple | cst.List):
        for element in target.elements:
            yield from _target_names(element.value)


class TensorIterationInComprehension(Rule):
    """
    ## What it does
    Flags, in a compiled body, a list/set/dict comprehension or generator expression that
    iterates over a tensor (including `range(<tensor>)`) or filters on a tensor condition, and
    a `for` loop over `enumerate(t)` or `zip(t, ...)` with a tensor `t`.

    ## Why is this bad?
    AutoGraph converts `for` statements, not comprehensions, and it overloads `range` but not
    `enumerate` or `zip` for tensors. Python then iterates the symbolic tensor (or asks for
    its truth value) while tracing, and tracing fails with `OperatorNotAllowedInGraphError:
    Iterating over a symbolic tf.Tensor is not allowed` (or `Using a symbolic tf.Tensor as a
    Python bool is not allowed`). Verified on TensorFlow 2.21 for list comprehensions,
    generator expressions, `range(tf.shape(x)[0])`, `enumerate(t)` and `zip(list, t)`.

    ## Example
    ```python
    @tf.function
    def double(x):
        return tf.stack([v * 2 for v in x])
    ```

    ## Use instead
    Vectorized ops (`x * 2`), `tf.map_fn`, or a `for` statement over the tensor (a graph
    loop) writing into a `tf.TensorArray`; index with `for i in tf.range(n)` instead of
    `enumerate`. Iterating `tf.unstack(x)` (a Python list of tensors) or `x.shape` is fine.

    ## Known problems
    A tf.function parameter counts as a tensor (a NumPy array passed in becomes one), but a
    parameter the body iterates directly (`[l(x) for l in layers]`, `zip(weights, ...)`,
    `range(n)`) is taken as a list or a count, as it usually is, and not reported; nor is
    one that a call in the same module passes a list (`f([[1.0, 2.0]])`).

    ## References
    - AutoGraph reference, "Limitations" and "Common errors"
    """

    CODE = "TFG502"
    NAME = "tensor-iteration-in-comprehension"
    SEVERITY = Severity.ERROR
    SUMMARY = "comprehension or `enumerate`/`zip` iterating a tensor in a compiled body"

    CONFIRMED_BY = Confirmation.TRACE_ERROR
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def firsts(x):
                return tf.stack([v * 2 for v in x[0]])  # the caller passes a list of lists

            firsts([[1.0, 2.0], [3.0, 4.0]])
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def double(x):
                return tf.stack([v * 2 for v in tf.unstack(x)])  # a Python list of tensors
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def rows(x):
                return tf.stack([x[i] for i in range(x.shape[0])])  # static shape: Python ints
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def total(x):
                s = tf.constant(0.0)
                for i, v in enumerate(tf.data.Dataset.from_tensor_slices(x)):
                    s += v  # enumerate over a dataset is converted
                return s
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def eager(x):
                return [v * 2 for v in x]  # eager tensors are iterable
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def apply(x, layers, weights):
                outs = [layer(x) for layer in layers if layer.trainable]
                for w, out in zip(weights, outs):
                    x = x + w * out
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def expand(t, dim, ndims):
                # `range` needs counts: `dim` and `ndims` are Python ints, not tensors
                shape = [1 for _ in range(dim)] + [-1] + [1 for _ in range(ndims - dim - 1)]
                return tf.reshape(t, shape)

            expanded = expand(tf.ones([3]), 1, 3)
            """
        ),
        Valid(
            """
            import keras

            class Heads(keras.layers.Layer):
                def build(self, input_shape):
                    self.ups = [keras.layers.UpSampling2D((s, s)) for s in (2, 4)]
                    self.cat = keras.layers.Concatenate(axis=3)

                def call(self, inputs):  # a list of feature maps: a slice of it is iterated
                    scaled = [up(x) for up, x in zip(self.ups, inputs[1:])]
                    return self.cat([inputs[0]] + scaled)
            """
        ),
        Valid(
            """
            import keras

            class Heads(keras.layers.Layer):
                def build(self, input_shape):
                    self.ups = [keras.layers.UpSampling2D((s, s)) for s in (2, 4)]
                    self.cat = keras.layers.Concatenate(axis=3)

                def call(self, inputs):
                    rest = inputs[1:]  # a slice of a list of feature maps is a list
                    scaled = [up(x) for up, x in zip(self.ups, rest)]
                    return self.cat([inputs[0]] + scaled)
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def firsts(x):
                return tf.stack([v * 2 for v in x[0]])  # error: TFG502
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def double(x):
                x = tf.convert_to_tensor(x)
                return tf.stack([v * 2 for v in x])  # error: TFG502
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 4])])
            def norms(x):
                n = tf.shape(x)[0]
                return [tf.norm(x[i]) for i in range(n)]  # error: TFG502
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def positives(x):
                vals = tf.unstack(tf.abs(x) - 1.0)
                return sum(v for v in vals if v > 0)  # error: TFG502
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([3])])
            def weighted(x):
                s = 0.0
                for w, v in zip([0.2, 0.3, 0.5], x):  # error: TFG502
                    s += w * v
                return s
            """
        ),
    )

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._check(node)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._check(node)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._check(node)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._check(node)

    def visit_For(self, node: cst.For) -> None:
        if not isinstance(node.iter, cst.Call) or not self.qualnames(node.iter.func) & _PAIRING:
            return
        ctx = self.compiled_context(node)
        facts = self._facts(node)
        if ctx is None or facts is None:
            return
        tensor = next((a.value for a in node.iter.args if facts.kind(a.value) is Kind.TENSOR), None)
        if tensor is None:
            return
        pairing = self.code(node.iter.func)
        self.report(
            node.iter,
            f"`{self.code(node.iter)}` in {ctx.describe()} iterates the tensor "
            f"`{self.code(tensor)}` in Python (AutoGraph does not convert `{pairing}`), so "
            "tracing raises `OperatorNotAllowedInGraphError`",
            context=ctx,
        )

    def _facts(self, node: cst.CSTNode) -> FunctionFacts | None:
        """The facts with tf.function parameters presumed tensors (`FunctionFacts.presumed`)."""
        facts = self.facts(node)
        return None if facts is None else facts.presumed(self.state.module)

    def _check(self, node: Comprehension) -> None:
        ctx = self.compiled_context(node)
        facts = self._facts(node)
        if ctx is None or facts is None:
            return
        local = self._enclosing_locals(node, facts)
        for clause in _for_clauses(node):
            problem = self._iteration_problem(clause.iter, facts, local)
            if problem is not None:
                self.report(
                    clause,
                    f"comprehension in {ctx.describe()} {problem}: comprehensions are never "
                    "converted, so tracing raises `OperatorNotAllowedInGraphError`",
                    context=ctx,
                )
                return
            element = facts.element_kind(clause.iter, local)
            local = {**local, **dict.fromkeys(_target_names(clause.target), element)}
            for cond in clause.ifs:
                if facts.kind(cond.test, local) is Kind.TENSOR:
                    self.report(
                        cond,
                        f"comprehension in {ctx.describe()} filters on the tensor condition "
                        f"`{self.code(cond.test)}` in Python, so tracing raises "
                        "`OperatorNotAllowedInGraphError`",
                        context=ctx,
                    )
                    return

    def _iteration_problem(
        self, iterable: cst.BaseExpression, facts: FunctionFacts, local: dict[str, Kind]
    ) -> str | None:
        if facts.kind(iterable, local) is Kind.TENSOR:
            base = self.facts(iterable)
            if base is not None and base.kind(iterable, local) is not Kind.TENSOR:
                return f"iterates `{self.code(iterable)}`, a tensor for tensor arguments"
            return f"iterates the tensor `{self.code(iterable)}`"
        if isinstance(iterable, cst.Call) and (
            facts.is_range_call(iterable) or self.qualnames(iterable.func) & _PAIRING
        ):
            for arg in iterable.args:
                if facts.kind(arg.value, local) is Kind.TENSOR:
                    return (
                        f"iterates `{self.code(iterable)}` where `{self.code(arg.value)}` is a "
                        "tensor"
                    )
        return None

    def _enclosing_locals(self, node: cst.CSTNode, facts: FunctionFacts) -> dict[str, Kind]:
        """Kinds of the names bound by comprehensions around `node` (outermost first)."""
        outer: list[Comprehension] = []
        parent = self.get_metadata(ParentProvider, node, None)
        while parent is not None and parent is not facts.func:
            if isinstance(parent, Comprehension):
                outer.append(parent)
            parent = self.get_metadata(ParentProvider, parent, None)
        local: dict[str, Kind] = {}
        for comp in reversed(outer):
            for clause in _for_clauses(comp):
                element = facts.element_kind(clause.iter, local)
                local.update(dict.fromkeys(_target_names(clause.target), element))
        return local
