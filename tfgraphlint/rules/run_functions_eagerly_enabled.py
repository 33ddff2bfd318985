"""TFG403 run-functions-eagerly-enabled."""

from __future__ import annotations

import re

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import CompiledContextProvider, ModuleDiscovery, names
from tfgraphlint.discovery.parents import ParentProvider
from tfgraphlint.discovery.positions import LazyPositionProvider
from tfgraphlint.discovery.scopes import SameScopeVisitor
from tfgraphlint.discovery.walk import walk
from tfgraphlint.engine.rule import Confirmation, Rule

_RUN_EAGERLY = names.RUN_FUNCTIONS_EAGERLY
# Test files and folders, where running functions eagerly is a legitimate debugging aid.
_TEST_PATH = re.compile(
    r"(^|[\\/])(tests?|testing)[\\/]"  # a test folder
    r"|(^|[\\/])(test_[^\\/]*|[^\\/]*_test|conftest)\.py$"  # a test module
)


class RunFunctionsEagerlyEnabled(Rule):
    """
    ## What it does
    Flags `tf.config.run_functions_eagerly(True)` (and the older
    `tf.config.experimental_run_functions_eagerly(True)`) called unconditionally outside test
    files.

    ## Why is this bad?
    The switch turns every `tf.function` in the process into plain Python: no graph, no
    AutoGraph, no XLA. It is meant for debugging. Left on, it makes training and serving much
    slower (measured 11-18x per call for a function of 50 small ops, TF 2.3 to 2.21), and it
    hides the hazards of graph code (`.numpy()` works, `print` runs on every call), so code
    that "works" with it fails once it is turned off.

    ## Example
    ```python
    tf.config.run_functions_eagerly(True)
    model.fit(dataset, epochs=10)
    ```

    ## Use instead
    Turn it on only for debugging, behind a flag or an environment variable, or in tests:
    ```python
    if os.environ.get("TF_DEBUG_EAGER") == "1":
        tf.config.run_functions_eagerly(True)
    ```

    ## Known problems
    Calls under any `if`, with a non-literal argument (`run_functions_eagerly(args.debug)`),
    and in test files (`test_*.py`, `*_test.py`, `conftest.py`, `tests/`) are not reported.
    Like every rule, it only looks at files that use `tf.function` or another compiled
    context (a `Dataset.map` callback, a Keras `train_step`).

    ## References
    - `tf.config.run_functions_eagerly` API documentation
    - TensorFlow guide, "Introduction to graphs and tf.function"
    """

    CODE = "TFG403"
    NAME = "run-functions-eagerly-enabled"
    REACH, TRIGGERS = "module-level", (r"run_functions_eagerly\b",)
    SEVERITY = Severity.WARNING
    SUMMARY = "`tf.config.run_functions_eagerly(True)` left on outside tests"

    CONFIRMED_BY = Confirmation.NONE
    VALID = (
        Valid(
            """
            import os
            import tensorflow as tf

            if os.environ.get("TF_DEBUG_EAGER") == "1":
                tf.config.run_functions_eagerly(True)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def main(args):
                tf.config.run_functions_eagerly(args.debug)  # decided at run time
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def restore_graph_mode():
                tf.config.run_functions_eagerly(False)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def run_functions_eagerly(flag):  # a project's own function
                return flag

            run_functions_eagerly(True)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def step(batch):
                return batch

            def debug_step(batch):
                tf.config.run_functions_eagerly(True)
                try:
                    return step(batch)
                finally:
                    tf.config.run_functions_eagerly(False)  # switched off again
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x):
                return model(x)

            tf.config.run_functions_eagerly(True)  # error: TFG403
            for batch in dataset:
                train_step(batch)
            """
        ),
        Invalid(
            """
            import tensorflow as tf

            def train(model, dataset):
                tf.config.experimental_run_functions_eagerly(True)  # error: TFG403
                step = tf.function(model.train_step)
                for batch in dataset:
                    step(batch)
            """
        ),
        Invalid(
            """
            from tensorflow import config, function

            @function
            def predict(model, x):
                return model(x)

            def setup():
                config.run_functions_eagerly(run_eagerly=True)  # error: TFG403
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not names.any_in(self.qualnames(node.func), _RUN_EAGERLY):
            return
        if not node.args or not _is_true(node.args[0].value):
            return
        if _TEST_PATH.search(self.state.path) or self._under_if(node):
            return
        if self._switched_off_later(node):
            return
        discovery = self.get_metadata(CompiledContextProvider, self.state.module, None)
        held = (
            " (nothing else in this module is reported while it is on)"
            if isinstance(discovery, ModuleDiscovery) and discovery.runs_functions_eagerly
            else ""
        )
        self.report(
            node,
            f"`{self.code(node)}` makes every tf.function run eagerly (much slower, hides "
            f"graph-only failures); enable it only for debugging{held}",
        )

    def _switched_off_later(self, node: cst.Call) -> bool:
        """Whether `run_functions_eagerly(False)` follows in the same function (or module)."""
        scope: cst.CSTNode = node
        parent = self.get_metadata(ParentProvider, node, None)
        while parent is not None and not isinstance(parent, cst.FunctionDef | cst.Lambda):
            scope = parent
            parent = self.get_metadata(ParentProvider, parent, None)
        if parent is not None:
            scope = parent.body
        finder = _Calls()
        walk(scope, finder)
        start = self.get_metadata(LazyPositionProvider, node).start
        for call in finder.calls:
            if (
                call.args
                and isinstance(call.args[0].value, cst.Name)
                and call.args[0].value.value == "False"
                and names.any_in(self.qualnames(call.func), _RUN_EAGERLY)
            ):
                pos = self.get_metadata(LazyPositionProvider, call).start
                if (pos.line, pos.column) > (start.line, start.column):
                    return True
        return False

    def _under_if(self, node: cst.CSTNode) -> bool:
        parent = self.get_metadata(ParentProvider, node, None)
        while parent is not None:
            if isinstance(parent, cst.If | cst.IfExp):
                return True
            parent = self.get_metadata(ParentProvider, parent, None)
        return False


class _Calls(SameScopeVisitor):
    """Calls in one body, not in nested functions or classes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)


def _is_true(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"
