"""TFG201 python-loop-on-argument."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.scopes import find_names
from tfgraphlint.discovery.tensors import FunctionFacts, Kind, call_site_arguments, tf_call_kind
from tfgraphlint.engine.rule import Confirmation, FuncNode, Rule


class PythonLoopOnArgument(Rule):
    """
    ## What it does
    Flags `for ... in range(n)` in a `tf.function` whose bound `n` is one of the function's
    own parameters, when nothing in the function treats `n` as a tensor and no
    `input_signature` covers it.

    ## Why is this bad?
    If the caller passes a Python int, the loop runs in Python while TensorFlow traces: the
    body is copied `n` times into the graph (trace time and graph size grow with `n`), and
    `n` is part of the trace cache key, so every new value traces a new graph. TensorFlow
    only warns about unrolled loops past 50,000 iterations.

    If the caller passes a tensor (`train(tf.constant(100))`), AutoGraph turns the loop into
    a `tf.while_loop` and there is no problem: the finding says "if `n` is a Python int".

    ## Example
    ```python
    @tf.function
    def train(dataset_iter, num_steps):
        for _ in range(num_steps):
            train_step(next(dataset_iter))

    train(it, 1000)
    ```

    ## Use instead
    ```python
    @tf.function
    def train(dataset_iter, num_steps):
        for _ in tf.range(num_steps):
            train_step(next(dataset_iter))

    train(it, tf.constant(1000))
    ```
    or declare the bound in an `input_signature` (`tf.TensorSpec([], tf.int32)`), which
    converts Python ints to tensors at the call.

    ## Known problems
    A bound that takes only a few values and is meant to shape the graph (`num_layers`) is
    reported too; silence it with `# noqa: TFG201`. Only the compiled function's own
    parameters are checked, not helpers it calls. When every call of the function in the
    same module passes the bound a tensor (`train(it, tf.constant(100))`, or a name the
    caller binds only to tensors), nothing is reported; callers in other modules are not
    seen.

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Looping over Python data"
      and "Rules of tracing"
    - AutoGraph reference, "Control flow"
    """

    CODE = "TFG201"
    NAME = "python-loop-on-argument"
    REACH = "call-sites"
    SEVERITY = Severity.WARNING
    SUMMARY = "Python `range` loop bounded by a `tf.function` parameter (unrolled, retraced)"

    CONFIRMED_BY = Confirmation.RETRACE
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
            def train(num_steps):
                for _ in range(num_steps):  # a tensor: AutoGraph makes a tf.while_loop
                    step()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def train(num_steps):
                for _ in tf.range(num_steps):
                    step()
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def forward(x, training):
                if training:  # a Python flag: two traces, on purpose
                    x = tf.nn.dropout(x, 0.1)
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def cumulative(x, n):
                total = tf.zeros_like(x)
                for i in range(n):  # `n` is also compared with a tensor: likely a tensor
                    total += x
                return tf.where(tf.size(x) > n, total, x)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def unroll(cell, x, steps):
                for _ in range(steps):  # a helper: its callers decide
                    x = cell(x)
                return x

            @tf.function
            def run(cell, x):
                return unroll(cell, x, 4)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def repeat(x, n):
                n = int(n)  # rebound: not the caller's value any more
                for _ in range(n):
                    x = x * 2
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Dreamer(tf.Module):
                @tf.function
                def ascend(self, image, steps):
                    for _ in range(steps):  # its only caller passes a tensor: a tf.while_loop
                        image = image + 0.01 * tf.sin(image)
                    return image

                def dream(self, image, total):
                    while total > 0:
                        run = tf.constant(min(total, 100))
                        image = self.ascend(image, run)
                        total -= 100
                    return image
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train(iterator, num_steps):
                for _ in range(num_steps):  # error: TFG201
                    train_step(next(iterator))
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            class Sampler(tf.Module):
                @tf.function
                def sample(self, x, num_draws=10):
                    draws = []
                    for i in range(1, num_draws + 1):  # error: TFG201
                        draws.append(tf.random.normal(tf.shape(x)) * i)
                    return tf.stack(draws)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def refine(x, iterations):
                for _ in range(iterations):  # error: TFG201
                    x = x - 0.1 * tf.sin(x)
                return x

            refine = tf.function(refine, jit_compile=True)
            """
        ),
    )

    def visit_For(self, node: cst.For) -> None:
        func = self.enclosing_function(node)
        if func is None or not isinstance(node.iter, cst.Call):
            return
        ctx = self.context_of_function(func)
        if ctx is None or not ctx.is_root or ctx.has_input_signature:
            return
        facts = self.facts_of_function(func)
        if not facts.is_range_call(node.iter) or facts.iteration_kind(node.iter) is Kind.TENSOR:
            return
        for arg in node.iter.args:
            param = _bound_param(arg.value, facts)
            if param is None or facts.name_kind(param) is Kind.TENSOR:
                continue
            if self._used_as_tensor(func, param, facts) or self._passed_tensors(func, param):
                continue
            self.report(
                node.iter,
                f"`{self.code(node.iter)}` in {ctx.describe()}: if `{param}` is a Python int, "
                "the loop is unrolled and each new value retraces",
                context=ctx,
            )
            return

    def _used_as_tensor(self, func: FuncNode, param: str, facts: FunctionFacts) -> bool:
        """Whether the function treats `param` as a tensor anywhere: passes it to a TF API,
        reads an attribute or an item of it, or combines it with a tensor."""
        for use in find_names(func.body, param):
            parent = self.get_metadata(ParentProvider, use, None)
            if isinstance(parent, cst.Attribute | cst.Subscript) and parent.value is use:
                return True
            if self._in_tf_call(use):
                return True
            if (
                isinstance(parent, cst.BinaryOperation | cst.ComparisonTarget | cst.Comparison)
                and facts.kind(_operation(parent, self)) is Kind.TENSOR
            ):
                return True
        return False

    def _passed_tensors(self, func: FuncNode, param: str) -> bool:
        """Whether the calls of `func` in this module all pass `param` a tensor (at least
        one does): `train(it, tf.constant(100))`, or a name the caller binds only to
        tensors. AutoGraph then makes the loop a `tf.while_loop`."""
        if not isinstance(func, cst.FunctionDef):
            return False
        values = [
            (call, value)
            for call, target, value in call_site_arguments(func, self.state.module)
            if target == param
        ]
        for call, value in values:
            caller = self.enclosing_function(call)
            if caller is None:  # module level: a TensorFlow call written in place
                if not isinstance(value, cst.Call) or not any(
                    tf_call_kind(q) is Kind.TENSOR for q in self.qualnames(value.func)
                ):
                    return False
            elif self.facts_of_function(caller).kind(value) is not Kind.TENSOR:
                return False
        return bool(values)

    def _in_tf_call(self, node: cst.CSTNode) -> bool:
        """Whether `node` is (inside) an argument of a TensorFlow API call."""
        parent = self.get_metadata(ParentProvider, node, None)
        while isinstance(parent, cst.BaseExpression | cst.Arg | cst.BaseElement):
            if isinstance(parent, cst.Call) and any(
                names.strip_tf_root(q) is not None for q in self.qualnames(parent.func)
            ):
                return True
            parent = self.get_metadata(ParentProvider, parent, None)
        return False


def _operation(node: cst.CSTNode, rule: Rule) -> cst.BaseExpression:
    """The whole comparison or arithmetic expression a use of a name belongs to."""
    if isinstance(node, cst.ComparisonTarget):
        parent = rule.get_metadata(ParentProvider, node)
        assert isinstance(parent, cst.Comparison)
        return parent
    assert isinstance(node, cst.BaseExpression)
    return node


def _bound_param(expr: cst.BaseExpression, facts: FunctionFacts) -> str | None:
    """The parameter a `range` argument is made of: `n`, `n + 1`, `2 * n`, `n // 2`."""
    if isinstance(expr, cst.Name):
        return expr.value if facts.is_param(expr.value) else None
    if isinstance(expr, cst.BinaryOperation):
        if isinstance(expr.right, cst.Integer):
            return _bound_param(expr.left, facts)
        if isinstance(expr.left, cst.Integer):
            return _bound_param(expr.right, facts)
    return None
