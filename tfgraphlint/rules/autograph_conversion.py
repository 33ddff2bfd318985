"""TFG590 autograph-conversion: the AutoGraph conversion map (`--show-conversions`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.discovery.tensors import FunctionFacts, Kind
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.large_python_loop import literal_range_length

ControlFlow = cst.If | cst.While | cst.For | cst.IfExp
_PAIRING = frozenset({"builtins.enumerate", "builtins.zip"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What happens to one `if`/`for`/`while` while tracing.

    `kind`: TENSOR (a graph op), PYTHON (Python runs it at trace time) or UNKNOWN (depends on
    values we cannot see). `fails`: tracing raises. `text`: the explanation, one clause."""

    kind: Kind
    text: str
    fails: bool = False
    converted: bool = True  # False: AutoGraph does not convert the body, Python runs it

    @property
    def predicts(self) -> str:
        """What a trace should show (`tfgraphlint trace` compares): "graph" control flow,
        "python" (no graph op), or "either"."""
        if self.fails or not self.converted or self.kind is Kind.PYTHON:
            return "python"
        return "graph" if self.kind is Kind.TENSOR else "either"


def header(node: ControlFlow, code: Rule) -> str:
    """`if x > 0`, `for i in range(3)`, `while n > 0`, `a if t else b`: as written."""
    if isinstance(node, cst.If):
        return f"if {code.code(node.test)}"
    if isinstance(node, cst.While):
        return f"while {code.code(node.test)}"
    if isinstance(node, cst.For):
        return f"for {code.code(node.target)} in {code.code(node.iter)}"
    return code.code(node)


def witness_note(witness: str, shown: str) -> str:
    """` (witness)` for a message, or nothing when the witness only says that an op or a
    tensor written in `shown` (the condition the message quotes) is one: kept when it adds a
    fact the message does not show (`s` comes from `tf.reduce_sum(x)`)."""
    m = _PLAIN_WITNESS.match(witness)
    if m is not None and m.group(1) in shown:
        return ""
    return f" ({witness})"


_PLAIN_WITNESS = re.compile(r"^`([^`]*)` is a (?:TensorFlow op|tensor)$")


class Explainer:
    """Turns the kind of a condition or iterable into words: why it is a tensor, a Python
    value, or unknown."""

    def __init__(self, rule: Rule, facts: FunctionFacts) -> None:
        self.rule = rule
        self.facts = facts

    # -------------------------------------------------------------- witnesses
    def tensor_witness(self, expr: cst.BaseExpression) -> str:
        """Why `expr` is a tensor: the sub-expression that makes it one."""
        for node in _leaves(expr):
            if self.facts.kind(node) is not Kind.TENSOR:
                continue
            if isinstance(node, cst.Name):
                return self._tensor_name(node.value)
            if isinstance(node, cst.Call) and self._is_tf_call(node):
                return f"`{self.rule.code(node)}` is a TensorFlow op"
            return f"`{self.rule.code(node)}` is a tensor"
        return f"`{self.rule.code(expr)}` is a tensor"

    def _tensor_name(self, name: str) -> str:
        facts = self.facts
        if facts.ctx is not None and name in facts.ctx.signature_params and facts.is_param(name):
            return f"`{name}` is covered by the `input_signature`"
        if facts.is_param(name):
            return f"`{name}` is annotated as a tensor"
        values = [v for v in facts.bindings_of(name) if v is not None]
        tensor_values = [v for v in values if facts.kind(v) is Kind.TENSOR]
        if tensor_values:
            return f"`{name}` comes from `{self.rule.code(tensor_values[0])}`"
        if values:
            return f"`{name}` comes from `{self.rule.code(values[0])}`, a tensor"
        return f"`{name}` is a tensor"

    def python_witness(self, expr: cst.BaseExpression) -> str:
        """Why `expr` is a Python value, in a few words."""
        if isinstance(expr, cst.Comparison) and any(
            isinstance(t.operator, cst.Is | cst.IsNot | cst.In | cst.NotIn)
            for t in expr.comparisons
        ):
            return f"`{self.rule.code(expr)}` is a Python `is`/`in` test"
        text = self.rule.code(expr)
        if ".shape" in text or ".dtype" in text or ".rank" in text or ".ndim" in text:
            return f"`{text}` reads static shape or dtype information, a Python value"
        return f"`{text}` is a Python value"

    def unknown_parts(self, expr: cst.BaseExpression) -> list[str]:
        """The sub-expressions whose kind is unknown (at most three), as written."""
        out: list[str] = []
        for node in _leaves(expr):
            if self.facts.kind(node) is Kind.UNKNOWN:
                text = self.rule.code(node)
                if text not in out:
                    out.append(text)
        return out[:3] or [self.rule.code(expr)]

    def unknown_reason(self, parts: list[str]) -> str:
        """Why the parts are unknown, when it is simple to say (parameters)."""
        params = [p for p in parts if self.facts.is_param(p)]
        if params and len(params) == len(parts):
            what = "a parameter" if len(params) == 1 else "parameters"
            return f" ({_join(params)}: {what} with no `input_signature` or annotation)"
        return ""

    def _is_tf_call(self, call: cst.Call) -> bool:
        return any(names.strip_tf_root(q) is not None for q in self.rule.qualnames(call.func))

    # -------------------------------------------------------------- verdicts
    def verdict(self, node: ControlFlow) -> Verdict:
        if isinstance(node, cst.For):
            return self._for(node)
        kind = self.facts.kind(node.test)
        graph, python = _IF_WORDS if not isinstance(node, cst.While) else _WHILE_WORDS
        if isinstance(node, cst.IfExp):
            graph = "a `tf.cond` (both values are traced)"
        if kind is Kind.TENSOR:
            return Verdict(kind, f"becomes {graph}: {self.tensor_witness(node.test)}")
        if kind is Kind.PYTHON:
            witness = self.python_witness(node.test)
            return Verdict(kind, f"runs in Python while tracing ({python}): {witness}")
        parts = self.unknown_parts(node.test)
        is_tensor, is_python = _predicates(parts, "a Python value", "Python values")
        short = "a `tf.cond`" if not isinstance(node, cst.While) else "a `tf.while_loop`"
        return Verdict(
            kind,
            f"becomes {short} if {is_tensor}, or runs in Python while tracing if {is_python}"
            + self.unknown_reason(parts),
        )

    def _for(self, node: cst.For) -> Verdict:
        facts, iterable = self.facts, node.iter
        if isinstance(iterable, cst.Call) and self.rule.qualnames(iterable.func) & _PAIRING:
            tensor = next(
                (a.value for a in iterable.args if facts.kind(a.value) is Kind.TENSOR), None
            )
            if tensor is not None:
                return Verdict(
                    Kind.TENSOR,
                    "fails while tracing: AutoGraph does not convert "
                    f"`{self.rule.code(iterable.func)}` over tensors and "
                    f"`{self.rule.code(tensor)}` is a tensor (`OperatorNotAllowedInGraphError`)",
                    fails=True,
                )
        kind = facts.iteration_kind(iterable)
        if kind is Kind.TENSOR:
            return Verdict(kind, self._graph_for(iterable))
        if kind is Kind.PYTHON:
            return Verdict(kind, self._python_for(iterable))
        return Verdict(kind, self._unknown_for(iterable))

    def _graph_for(self, iterable: cst.BaseExpression) -> str:
        facts, code = self.facts, self.rule.code
        once = "the body is traced once"
        if facts.is_range_call(iterable):
            assert isinstance(iterable, cst.Call)
            tensor = next(a.value for a in iterable.args if facts.kind(a.value) is Kind.TENSOR)
            return (
                f"becomes a `tf.while_loop` ({once}): AutoGraph turns `range` into `tf.range` "
                f"because {self.tensor_witness(tensor)}"
            )
        if isinstance(iterable, cst.Call) and self.rule.qualnames(iterable.func) & names.TF_RANGE:
            return f"becomes a `tf.while_loop` ({once}): `{code(iterable)}` is a tensor"
        if facts.is_dataset_iterator(iterable):
            return (
                f"becomes a `tf.while_loop` over `get_next_as_optional()` ({once}): "
                f"`{code(iterable)}` is a `tf.data` iterator"
            )
        if facts.kind(iterable) is not Kind.TENSOR:
            return (
                f"becomes a dataset loop in the graph (`Dataset.reduce`, {once}): "
                f"`{code(iterable)}` is a `tf.data.Dataset`"
            )
        return (
            f"becomes a `tf.while_loop` over the first dimension ({once}): "
            + self.tensor_witness(iterable)
        )

    def _python_for(self, iterable: cst.BaseExpression) -> str:
        facts, code = self.facts, self.rule.code
        if facts.is_range_call(iterable):
            assert isinstance(iterable, cst.Call)
            count = literal_range_length(iterable)
            times = f"{count} times" if count is not None else "once per value"
            return (
                f"is unrolled while tracing (the body is traced {times}): `{code(iterable)}` "
                "iterates Python ints"
            )
        if isinstance(iterable, cst.List | cst.Tuple | cst.Set | cst.Dict):
            n = len(iterable.elements)
            return (
                f"is unrolled while tracing (the body is traced {n} times): it iterates a "
                "Python collection"
            )
        if facts.kind(iterable) is Kind.PYTHON and _is_tensor_list_call(iterable, self.rule):
            return (
                "is unrolled while tracing (the body is traced once per item): "
                f"`{code(iterable)}` is a Python list of tensors"
            )
        return (
            "is unrolled while tracing (the body is traced once per item): "
            f"`{code(iterable)}` iterates Python values"
        )

    def _unknown_for(self, iterable: cst.BaseExpression) -> str:
        facts = self.facts
        if facts.is_range_call(iterable):
            assert isinstance(iterable, cst.Call)
            parts = [
                self.rule.code(a.value)
                for a in iterable.args
                if facts.kind(a.value) is not Kind.PYTHON
            ]
            is_tensor, is_python = _predicates(parts, "a Python int", "Python ints")
            return (
                f"becomes a `tf.while_loop` if {is_tensor}, or is unrolled while tracing if "
                f"{is_python}" + self.unknown_reason(parts)
            )
        subject = f"`{self.rule.code(iterable)}`"
        return (
            f"becomes a graph loop if {subject} is a tensor or a `tf.data.Dataset`, or is "
            "unrolled while tracing if it is a Python collection"
            + self.unknown_reason([self.rule.code(iterable)])
        )


_IF_WORDS = ("a `tf.cond` (both branches are traced)", "only the taken branch is traced")
_WHILE_WORDS = ("a `tf.while_loop` (the body is traced once)", "the loop is unrolled")


def _predicates(parts: list[str], one_python: str, many_python: str) -> tuple[str, str]:
    """("`n` is a tensor", "it is a Python int") or the plural forms."""
    if len(parts) == 1:
        return f"`{parts[0]}` is a tensor", f"it is {one_python}"
    return f"{_join(parts)} are tensors", f"they are {many_python}"


def _join(parts: list[str]) -> str:
    quoted = [f"`{p}`" for p in parts]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _leaves(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The operands of a condition: names, calls, attributes, subscripts, literals."""
    if isinstance(expr, cst.BinaryOperation | cst.BooleanOperation):
        yield from _leaves(expr.left)
        yield from _leaves(expr.right)
    elif isinstance(expr, cst.UnaryOperation):
        yield from _leaves(expr.expression)
    elif isinstance(expr, cst.Comparison):
        yield from _leaves(expr.left)
        for target in expr.comparisons:
            yield from _leaves(target.comparator)
    elif isinstance(expr, cst.IfExp):
        yield from _leaves(expr.test)
        yield from _leaves(expr.body)
        yield from _leaves(expr.orelse)
    else:
        yield expr


def _is_tensor_list_call(expr: cst.BaseExpression, rule: Rule) -> bool:
    return isinstance(expr, cst.Call) and any(
        (names.strip_tf_root(q) or "").split(".")[-1] in ("unstack", "split")
        for q in rule.qualnames(expr.func)
    )


def unconverted_verdict(node: ControlFlow, facts: FunctionFacts, reason: str) -> Verdict:
    """What happens to `node` in a body AutoGraph does not convert: Python runs it."""
    if isinstance(node, cst.For):
        kind = facts.iteration_kind(node.iter)
        tensor_used = kind is Kind.TENSOR and not (
            facts.is_dataset(node.iter) or facts.is_dataset_iterator(node.iter)
        )
        subject = "it iterates a tensor"
        what = "iterating a tensor"
    else:
        kind = facts.kind(node.test)
        tensor_used = kind is Kind.TENSOR
        subject = "its condition is a tensor"
        what = "a tensor condition"
    base = f"runs in Python because {reason}"
    if tensor_used and isinstance(node, cst.For) and facts.is_range_call(node.iter):
        # Python's `range` wants an int: checked on TF 2.21 with AutoGraph off.
        return Verdict(
            Kind.TENSOR,
            f"{base}, and Python's `range` gets a tensor, so tracing raises `TypeError`",
            fails=True,
            converted=False,
        )
    if tensor_used:
        return Verdict(
            Kind.TENSOR,
            f"{base}, and {subject}, so tracing raises `OperatorNotAllowedInGraphError`",
            fails=True,
            converted=False,
        )
    return Verdict(
        kind,
        f"{base}; {what} here would raise `OperatorNotAllowedInGraphError`",
        converted=False,
    )


class AutographConversion(Rule):
    """
    ## What it does
    The AutoGraph conversion map, shown with `tfgraphlint check --show-conversions`: for every
    `if`, `for` and `while` (and every conditional expression whose condition is not a plain
    Python value) in a compiled body, one info finding saying what tracing does with it and
    why:

    - it becomes graph control flow (`tf.cond`, `tf.while_loop`, a dataset loop), because its
      condition or iterable is a tensor (and which part of it is);
    - Python runs it while tracing (only the taken branch is traced, or the loop is
      unrolled N times), because it depends only on Python values;
    - either, depending on a value whose kind cannot be seen ("a `tf.while_loop` if `n` is a
      tensor, unrolled while tracing if it is a Python int");
    - in bodies AutoGraph does not convert (`autograph=False`, `do_not_convert`, Keras
      `train_step`, or a function with `for`/`else` or `yield`), Python always runs it, and a
      tensor condition fails.

    ## Why is this bad?
    It is not: this is an explanation, off by default. AutoGraph rewrites every `if`, `for` and
    `while` of a converted function, but decides *while tracing* whether each one becomes a
    graph op or stays Python, from the runtime type of its condition. The source does not say
    which; `tf.autograph.to_code` shows the same rewrite for both. The map makes that decision
    visible, before anything runs.

    ## Example
    ```python
    @tf.function
    def f(x, n):
        for i in range(n):
            if tf.reduce_sum(x) > 0:
                x = x - 1
        return x
    ```

    ## Use instead
    Read the map; when a loop you meant as a graph loop is unrolled, iterate `tf.range(n)`;
    when a condition you meant as Python is a tensor, compute it from static shapes or pass
    a Python value.

    ## References
    - AutoGraph reference, "Control flow" (dispatch rules)
    """

    CODE = "TFG590"
    NAME = "autograph-conversion"
    SEVERITY = Severity.INFO
    SUMMARY = "AutoGraph conversion map: what becomes graph control flow (`--show-conversions`)"
    DEFAULT_ENABLED = False

    CONFIRMED_BY = Confirmation.CONVERSION
    VALID = (
        Valid(
            """
            import tensorflow as tf

            def eager(x):
                if tf.reduce_sum(x) > 0:  # not compiled: no entry
                    x = x - 1
                return x
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def f(x, scale=None):
                y = x if scale is None else x * scale  # a Python conditional: no entry
                return y
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def f(x, n):
                for i in range(n):  # error: TFG590
                    if tf.reduce_sum(x) > 0:  # error: TFG590
                        x = x - 1
                for step in range(3):  # error: TFG590
                    x = x * 2
                return x
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 4])])
            def g(batch):
                total = tf.constant(0.0)
                for row in batch:  # error: TFG590
                    total += tf.reduce_sum(row)
                i = tf.constant(0)
                while i < tf.shape(batch)[0]:  # error: TFG590
                    i += 1
                if batch.shape[0] is None:  # error: TFG590
                    total = total * 2
                return total
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.function(autograph=False)
            def h(x, flag):
                if flag:  # error: TFG590
                    x = x + 1
                return x
            """
        ),
    )

    def _visit(self, node: ControlFlow) -> None:
        ctx = self.compiled_context(node)
        facts = self.facts(node)
        if ctx is None or facts is None:
            return
        verdict = self.verdict_of(node, facts)
        if isinstance(node, cst.IfExp) and verdict.kind is Kind.PYTHON:
            return
        self.report(
            node,
            f"`{header(node, self)}` in {ctx.describe()} {verdict.text}",
            context=ctx,
            data={"predicts": verdict.predicts},
        )

    def verdict_of(self, node: ControlFlow, facts: FunctionFacts) -> Verdict:
        reason = facts.autograph_off_reason()
        if reason is not None:
            return unconverted_verdict(node, facts, reason)
        return Explainer(self, facts).verdict(node)

    def visit_If(self, node: cst.If) -> None:
        self._visit(node)

    def visit_While(self, node: cst.While) -> None:
        self._visit(node)

    def visit_For(self, node: cst.For) -> None:
        self._visit(node)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._visit(node)
