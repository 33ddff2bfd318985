"""TFG107 file-io-in-tf-function."""

from __future__ import annotations

import libcst as cst

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.discovery import names
from tfgraphlint.engine.rule import Confirmation, Rule
from tfgraphlint.rules.python_side_effect import imported_qualnames

# Python file I/O: opening a file, and the modules that read or write one in a call.
_OPEN = frozenset({"builtins.open", "io.open", *names.under_tf("io.gfile.GFile", "gfile.GFile")})
_READS = frozenset({"json.load", "pickle.load", "yaml.safe_load", "yaml.load"})
_WRITES = frozenset({"json.dump", "pickle.dump", "yaml.dump", "yaml.safe_dump"})
_PATH_CLASSES = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})
_PATH_METHODS = {
    "read_text": "reads",
    "read_bytes": "reads",
    "write_text": "writes",
    "write_bytes": "writes",
    "open": "opens",
}


class FileIoInTfFunction(Rule):
    """
    ## What it does
    Flags Python file I/O in a compiled body: `open()` (and `io.open`,
    `tf.io.gfile.GFile`), `json.load`/`json.dump`, `pickle.load`/`pickle.dump`, and
    `pathlib.Path(...).read_text()`/`write_text()`/... called on a path built in place.

    ## Why is this bad?
    Python code runs only while TensorFlow traces the function. A file is written once, at
    trace time, and never again on the calls that run the graph; a file is read once, and
    the graph keeps what was read as a constant, so later changes to the file are never
    seen. On TensorFlow 2.21, a `tf.function` that appends a line to a log file with
    `open()` and with `tf.io.gfile.GFile` on each call, called three times, leaves one line
    of each; one that reads a scale from a JSON file keeps the first value after the file
    changes. Written tensors are symbolic: `str(x)` is `Tensor("x:0", ...)`, not a value.

    ## Example
    ```python
    @tf.function
    def train_step(x):
        loss = model_loss(x)
        with open("log.txt", "a") as f:
            f.write(f"{loss}\\n")
        return loss
    ```

    ## Use instead
    Do the I/O in eager code around the call (return the values to write), read
    configuration once before the function is traced and pass it in, or use graph ops
    (`tf.io.read_file`, `tf.io.write_file`, `tf.summary`, `tf.data.TextLineDataset`).

    ## References
    - TensorFlow guide, "Better performance with tf.function", "Executing Python side effects"
    """

    CODE = "TFG107"
    NAME = "file-io-in-tf-function"
    SEVERITY = Severity.WARNING
    SUMMARY = "Python file I/O (`open`, `json`/`pickle` load and dump) in a compiled body (once)"

    CONFIRMED_BY = Confirmation.TRACE_EFFECT
    VALID = (
        Valid(
            """
            import tensorflow as tf

            @tf.function
            def save(x, path):
                tf.io.write_file(path, tf.strings.as_string(x))  # a graph op: every call
                return tf.io.read_file(path)
            """
        ),
        Valid(
            """
            import json

            import tensorflow as tf

            with open("config.json") as f:
                SCALE = json.load(f)["scale"]  # read once, in eager code

            @tf.function
            def step(x):
                return x * SCALE

            def train(batches):
                for x in batches:
                    loss = step(x)
                    with open("log.txt", "a") as f:  # eager: every call
                        f.write(f"{float(loss)}\\n")
            """
        ),
        Valid(
            """
            import tensorflow as tf

            def read(path):
                with open(path.numpy(), "rb") as f:  # a tf.py_function callback: eager
                    return f.read()

            @tf.function
            def load(path):
                return tf.py_function(read, [path], tf.string)
            """
        ),
        Valid(
            """
            import tensorflow as tf

            class Store:
                def open(self, name):
                    return name

            @tf.function
            def step(store, x):
                store.open("x")  # not a file
                return x
            """
        ),
    )
    INVALID = (
        Invalid(
            """
            import tensorflow as tf

            @tf.function
            def train_step(x):
                loss = tf.reduce_sum(x)
                with open("log.txt", "a") as f:  # error: TFG107
                    f.write("step\\n")
                return loss
            """
        ),
        Invalid(
            """
            import json

            import tensorflow as tf

            def scale_of(path):
                with tf.io.gfile.GFile(path) as f:  # error: TFG107
                    return json.load(f)["scale"]  # error: TFG107

            @tf.function
            def step(x):
                return x * scale_of("config.json")
            """
        ),
        Invalid(
            """
            from pathlib import Path

            import tensorflow as tf

            def parse(record):
                Path("seen.txt").write_text("seen")  # error: TFG107
                return record

            ds = tf.data.Dataset.range(4).map(parse)
            """
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        what = self._io(node)
        if what is None:
            return
        ctx = self.compiled_context(node)
        if ctx is None or self.under_eager_check(node):
            return
        if what == "reads":
            effect = "reads the file once, while tracing; the graph keeps what it read"
        elif what == "writes":
            effect = "writes once, while tracing, not on every call"
        else:
            effect = "opens the file once, while tracing: reads and writes are not repeated"
        self.report(node, f"`{self.code(node)}` in {ctx.describe()} {effect}", context=ctx)

    def _io(self, node: cst.Call) -> str | None:
        """What `node` does to a file: "reads", "writes" or "opens"; None for no file I/O."""
        qns = imported_qualnames(self, node.func)
        if qns & _READS:
            return "reads"
        if qns & _WRITES:
            return "writes"
        if qns & _OPEN or "builtins.open" in self.qualnames(node.func):
            return "opens"
        func = node.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in _PATH_METHODS
            and isinstance(func.value, cst.Call)
            and imported_qualnames(self, func.value.func) & _PATH_CLASSES
        ):
            return _PATH_METHODS[func.attr.value]
        return None
