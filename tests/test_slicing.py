"""Speed without lost findings: the prefilter and the slicing of `engine.slicing` give exactly
the findings of a full parse, on a sample of the real-world corpus (issue 4), and the cache
gives back exactly what a cold run found."""

from __future__ import annotations

import ast
import importlib.util
import io
import os
import re
import sys
import textwrap
import tokenize
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from tfgraphlint._types import Invalid, Severity, Valid
from tfgraphlint.config import Config
from tfgraphlint.engine.registry import find_rule
from tfgraphlint.engine.rule import Rule
from tfgraphlint.engine.runner import lint_source
from tfgraphlint.engine.slicing import slice_module

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_STEP = 40  # every 40th corpus file: about 120 files, 30 k lines


def _sliced_text(*args: Any, **kwargs: Any) -> str | None:
    """The slicer's text (`slicing.slice_module`), None when it drops the file."""
    sliced = slice_module(*args, **kwargs)
    return None if sliced is None else sliced.text


def _corpus() -> Path:
    spec = importlib.util.spec_from_file_location("corpus", ROOT / "benchmarks" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus"] = module
    spec.loader.exec_module(module)
    dest = Path(os.environ.get("TFGRAPHLINT_CORPUS", ROOT / "benchmarks" / ".corpus"))
    try:
        built: Path = module.build_corpus(dest)
    except Exception as exc:  # no PyPI (an opt-in tier: `--corpus`): say so, loudly
        pytest.skip(f"could not build the corpus (needs PyPI): {exc}")
    return built


def _both(
    path: str,
) -> tuple[str, list[tuple[int, int, str, str]], list[tuple[int, int, str, str]]]:
    data = Path(path).read_bytes()
    config = Config(select=("ALL",))
    fast = lint_source(data, path, config, prefilter=True)
    full = lint_source(data, path, config, prefilter=False)

    def key(findings: list) -> list[tuple[int, int, str, str]]:  # type: ignore[type-arg]
        return sorted((f.line, f.column, f.code, f.message) for f in findings)

    assert not [e for e in full.errors if e.kind == "internal"], full.errors
    return path, key(fast.findings), key(full.findings)


@pytest.mark.slow
@pytest.mark.corpus
def test_prefilter_and_slicing_lose_no_finding_on_real_code() -> None:
    files = sorted(str(p) for p in _corpus().rglob("*.py"))[::SAMPLE_STEP]
    assert len(files) > 100
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_both, files, chunksize=4))
    differ = [(p, fast, full) for p, fast, full in results if fast != full]
    assert not differ, differ[:3]
    assert sum(len(full) for _, _, full in results) > 0, "the sample should hold findings"


def test_slicing_keeps_lines_and_columns(tmp_path: Path) -> None:
    source = (ROOT / "fixtures" / "side_effects.py").read_text(encoding="utf-8")
    sliced = _sliced_text(source, Config())
    assert sliced is not None
    assert sliced.count("\n") == source.count("\n")
    for kept, original in zip(sliced.splitlines(), source.splitlines(), strict=True):
        assert kept in ("", original) or kept.strip() == "pass"


def test_slicing_skips_files_without_compiled_code() -> None:
    assert _sliced_text("import tensorflow as tf\nx = tf.constant(1)\n", Config()) is None
    assert _sliced_text("def f():\n    print(1)\n", Config()) is None


def test_cache_gives_back_the_cold_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tfgraphlint.frontends.cli import main

    monkeypatch.chdir(tmp_path)
    for fixture in (ROOT / "fixtures").glob("*.py"):
        (tmp_path / fixture.name).write_bytes(fixture.read_bytes())
    args = ["check", "--isolated", "--format", "json", "-j", "1", "."]
    cold = main([*args, "--no-cache"]), capsys.readouterr().out
    assert not (tmp_path / ".tfgraphlint_cache").exists()
    first = main(args), capsys.readouterr().out
    assert (tmp_path / ".tfgraphlint_cache" / ".gitignore").is_file()
    warm = main(args), capsys.readouterr().out
    assert cold == first == warm
    assert '"findings": []' not in warm
    # An edit misses the cache: the new finding shows up.
    edited = tmp_path / "basic_training.py"
    edited.write_text(edited.read_text() + "\n@tf.function\ndef g(x):\n    print(x)\n")
    after = main(args), capsys.readouterr().out
    assert after[1].count("TFG101") == warm[1].count("TFG101") + 1


def _kept_defs(source: str) -> set[str]:
    """Names of the `def`s whose line survives slicing."""

    sliced = _sliced_text(textwrap.dedent(source), Config())
    assert sliced is not None
    return {
        line.split("def ", 1)[1].split("(")[0]
        for line in sliced.splitlines()
        if line.lstrip().startswith("def ")
    }


def test_slicing_traces_only_what_eager_code_hands_to_tf_function() -> None:
    # `main` runs eagerly: what it calls itself (`load`, `report`) cannot be traced, only
    # what it hands to tf.function (`step`) and what that calls (`loss`).
    kept = _kept_defs(
        """
        import tensorflow as tf

        def loss(x):
            return x * 2

        def step(x):
            return loss(x)

        def load():
            return [1.0, 2.0]

        def report(values):
            print(values)

        def main():
            compiled = tf.function(step)
            values = [compiled(x) for x in load()]
            report(values)
        """
    )
    assert kept == {"loss", "step", "main"}


def test_slicing_keeps_the_call_sites_of_a_wrapped_function() -> None:
    # `g = tf.function(f)` at module level: a function calling `g` is a call site (TFG202).
    source = """
        import tensorflow as tf

        def f(x, step):
            return x

        g = tf.function(f)

        def unrelated():
            return 1

        def fit(x):
            for step in range(10):
                g(x, step)
        """
    assert _kept_defs(source) == {"f", "fit"}
    findings = lint_source(textwrap.dedent(source), "m.py", Config(select=("ALL",))).findings
    assert [f.code for f in findings] == ["TFG202"]


def _same_findings_with_and_without_slicing(
    source: str, keras_call: bool | None = None
) -> list[tuple[int, str]]:
    code = textwrap.dedent(source)
    config = Config(select=("ALL",), keras_call=keras_call)
    sliced = sorted((f.line, f.code) for f in lint_source(code, "m.py", config).findings)
    full = lint_source(code, "m.py", config, prefilter=False).findings
    assert sliced == sorted((f.line, f.code) for f in full)
    return sliced


def test_slicing_keeps_experimental_run_functions_eagerly() -> None:
    # TFG403 reports outside compiled bodies; the `experimental_` spelling did not make the
    # function that holds it relevant, so it was blanked and the finding lost.
    found = _same_findings_with_and_without_slicing(
        """
        import tensorflow as tf

        @tf.function
        def f(x):
            return x

        def setup():
            tf.config.experimental_run_functions_eagerly(True)
        """
    )
    assert found == [(9, "TFG403")]


@pytest.mark.parametrize(
    "source, expected",
    [
        pytest.param(
            """
            import tensorflow as tf

            class EagerModel(tf.keras.Model):
                def __init__(self):
                    super().__init__()
                    self.run_eagerly = True

                def train_step(self, data):
                    print(data)
                    return {}
            """,
            [],
            id="run_eagerly-attribute",
        ),
        pytest.param(
            """
            import tensorflow as tf

            class Net(tf.keras.Model):
                def train_step(self, data):
                    print(data)
                    return {}

            def main(data):
                model = Net()
                model.compile(optimizer="adam", run_eagerly=True)
                model.fit(data)
            """,
            [],
            id="compile-run_eagerly",
        ),
        pytest.param(
            """
            import tensorflow as tf

            class Net(tf.keras.Model):
                def train_step(self, data):
                    print(data)
                    return {}

            def main(data):
                model = Net()
                for batch in data:
                    model.train_step(batch)
            """,
            [],
            id="step-called-directly",
        ),
        pytest.param(
            """
            import tensorflow as tf

            class Net(tf.keras.Model):
                def train_step(self, data):
                    print(data)
                    return {}

            def main(data, first):
                model = Net()
                model.train_step(first)
                model.fit(data)
            """,
            [(6, "TFG101")],
            id="step-called-directly-and-fit",
        ),
    ],
)
def test_slicing_keeps_the_keras_opt_outs(source: str, expected: list[tuple[int, str]]) -> None:
    # Discovery reads `run_eagerly=True`, direct step calls and `fit` calls in eager code: the
    # slicer blanked them, and the steps stayed traced.
    assert _same_findings_with_and_without_slicing(source) == expected


EAGER_TEST = """
    import tensorflow as tf

    class StepTest(tf.test.TestCase):
        def test_scaling(self):
            data = load_fixture("big.csv")
            self.assertLen(data, 3)
            scale = 2.0
            n = 5
            expected = [x * 2 for x in data]
            self.assertAllClose(expected, [2.0, 4.0, 6.0])

            @tf.function
            def step(x, k):
                print(x)
                return x * scale

            for i in range(n):
                step(tf.constant(1.0), i)
            scale = 3.0
            self.assertEqual(len(expected), 3)
"""


def test_slicing_blanks_what_an_eager_function_does_not_hand_to_tracing() -> None:
    """In an eager function kept for a nested `@tf.function`, statements that neither bind
    what the kept ones read nor call what they bind are blanked; the findings are those of
    the whole file (TFG101 print, TFG105 `scale` rebound after the trace, TFG202 `i`)."""

    sliced = _sliced_text(textwrap.dedent(EAGER_TEST), Config())
    assert sliced is not None
    kept = [line.strip() for line in sliced.splitlines() if line.strip()]
    assert "self.assertLen(data, 3)" not in kept
    assert "expected = [x * 2 for x in data]" not in kept
    assert 'data = load_fixture("big.csv")' not in kept
    assert "scale = 2.0" in kept and "scale = 3.0" in kept and "n = 5" in kept
    assert "step(tf.constant(1.0), i)" in kept
    codes = {code for _, code in _same_findings_with_and_without_slicing(EAGER_TEST)}
    assert codes == {"TFG101", "TFG105", "TFG202"}


CONTEXT_METHODS = """
    import tensorflow as tf

    class Trainer:
        def __init__(self, scale):
            self.log_dir = make_log_dir()
            self.writer = open_writer(self.log_dir)
            self.scale = scale
            self.history = []
            self.steps = 0

        @tf.function
        def step(self, x):
            self.history.append(x)
            return x * self.scale + len(self.history)

        def record(self, x):
            report(x)
            self.history.append(x)

        def fit(self, xs):
            self.writer.write("start")
            for x in xs:
                self.step(x)
    """


def test_slicing_blanks_what_a_context_method_holds_for_no_body() -> None:
    """A method kept for what a traced body reads (`__init__` binds `self.scale`), or for a
    call of a compiled method (`fit`), keeps those statements, and the in-place change of
    what the body reads (`self.history.append`, for python-state-frozen), and loses the
    others; the findings are those of the whole file."""
    sliced = _sliced_text(textwrap.dedent(CONTEXT_METHODS), Config(select=("ALL",)))
    assert sliced is not None
    kept = [line.strip() for line in sliced.splitlines() if line.strip()]
    assert "self.scale = scale" in kept and "self.history = []" in kept
    assert "self.log_dir = make_log_dir()" not in kept
    assert "self.steps = 0" not in kept
    assert "for x in xs:" in kept
    assert 'self.writer.write("start")' not in kept
    assert "report(x)" not in kept
    assert kept.count("self.history.append(x)") == 2  # in `step`, and in `record`
    found = _same_findings_with_and_without_slicing(CONTEXT_METHODS)
    assert found == [(14, "TFG102")]  # the list the traced step appends to


def test_slicing_keeps_a_statement_on_the_header_line() -> None:
    source = """
        import tensorflow as tf

        def make(): x = 1; return tf.function(lambda y: print(y) or y)
        """
    assert _same_findings_with_and_without_slicing(source) == [(4, "TFG101")]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from tensorflow import (\n    function,\n)\n", True),
        ("from tensorflow import (  # a (note)\n    function,\n)\n", True),
        ("from tensorflow import \\\n    a, \\\n    function\n", True),
        ("from tensorflow import function as tf_function\n", True),
        ("from tensorflow import (a, b)\n# a function, in a comment\n", False),
        ("import tensorflow as tf\nx = 1  # the function, in a comment\n", False),
    ],
)
def test_candidate_files_import_function_on_any_line(source: str, expected: bool) -> None:
    from tfgraphlint.engine.prefilter import is_candidate

    assert is_candidate(source, Config()) is expected


# What `is_candidate` must accept, as plain regexes (the engine finds the same with
# `str.find`, ten times faster): `x.function`, `function` on an import line, a Keras step
# `def`; a dataset-callback method call in a text with the word `data` (discovery's datasets
# are rooted in `tf.data`: an import or an attribute chain spells the word).
_CANDIDATE_SPEC = re.compile(
    r"\.\s*function\b"
    r"|\bimport\b[^\n]*\bfunction\b"
    r"|\bdef\s+(?:train_step|test_step|predict_step)\b"
)
_DATASET_CALL_SPEC = re.compile(
    r"\.\s*(?:map|filter|flat_map|interleave|parallel_interleave|reduce|scan)\s*\("
)


def _in_spec(text: str) -> bool:
    return bool(
        _CANDIDATE_SPEC.search(text)
        or (_DATASET_CALL_SPEC.search(text) and re.search(r"\bdata\b", text))
    )


@pytest.mark.parametrize(
    "source",
    [
        "y = tf . function(f)",
        "y = tf.\\\n    function(f)",
        "from tensorflow import function as F",
        "ds = tf.data.Dataset.range(3)\nds = ds.map (parse)",
        "from tensorflow import data\nds = ds.\n  flat_map(parse)",
        "def  train_step(self, data):",
        "import tensorflow.data as tfd\nstrategy.reduce(op, v)",
    ],
)
def test_candidate_files_cover_the_spec(source: str) -> None:
    from tfgraphlint.engine.prefilter import is_candidate

    assert is_candidate(source, Config())


def test_dataset_calls_without_tf_data_are_no_candidates() -> None:
    from tfgraphlint.engine.prefilter import is_candidate

    assert not is_candidate("import tensorflow as tf\nout = pool.map(f, xs)\n", Config())
    assert not _in_spec("import tensorflow as tf\nout = pool.map(f, xs)\n")


@pytest.mark.slow
@pytest.mark.corpus
def test_candidate_files_cover_the_spec_on_real_code() -> None:
    from tfgraphlint.engine.prefilter import is_candidate

    texts = [p.read_text("utf-8") for p in sorted(_corpus().rglob("*.py"))[::7]]
    assert len(texts) > 600
    spec = [_in_spec(t) for t in texts]
    assert sum(spec) > 50
    assert all(is_candidate(t, Config()) for t, s in zip(texts, spec, strict=True) if s)


def _large_module(n: int) -> str:
    """`n` small top-level functions, `n` small classes and a class of `n` methods, with a
    compiled function and a compiled method that name some of them (issue 12, item 10)."""
    parts = ["import tensorflow as tf\n\n"]
    for i in range(n):
        parts.append(f"def f{i}(x):\n    return f{max(i - 1, 0)}(x) + {i}\n\n")
        parts.append(f"class C{i}:\n    y = {i}\n\n    def m(self):\n        return f{i}(1)\n\n")
    parts.append("class Big:\n")
    for i in range(n):
        parts.append(f"    def m{i}(self):\n        self.a{i} = {i}\n        return self.m{i}\n\n")
    parts.append(
        "    @tf.function\n    def step(self, x):\n        return self.m1() + self.a2 + x\n\n\n"
        "@tf.function\ndef step(x):\n    return f3(x) + C2().m()\n"
    )
    return "".join(parts)


def _slicer_steps(source: str) -> tuple[int, str | None]:
    """Lines of `engine/slicing.py` executed to slice `source` (a count of the work done,
    deterministic, unlike a timing), and the sliced text."""
    from tfgraphlint.engine import slicing

    steps = 0

    def count(frame: object, event: str, arg: object) -> object:
        nonlocal steps
        steps += event == "line"
        return count

    def enter(frame: types.FrameType, event: str, arg: object) -> object:
        return count if frame.f_code.co_filename == slicing.__file__ else None

    previous = sys.gettrace()
    sys.settrace(enter)  # type: ignore[arg-type]
    try:
        sliced = _sliced_text(source, Config())
    finally:
        sys.settrace(previous)
    return steps, sliced


def test_slicing_is_linear_in_the_number_of_definitions() -> None:
    """4x the definitions, about 4x the work (it was quadratic: 40 k small definitions took
    149 s). Timed on big modules in `benchmarks/slicing_scale.py`."""
    small_steps, small = _slicer_steps(_large_module(100))
    large_steps, large = _slicer_steps(_large_module(400))
    assert small is not None and large is not None
    kept = [line for line in large.splitlines() if line.strip()]
    assert "def f3(x):" in kept and "def f2(x):" in kept  # a body's helpers, to a fixpoint
    assert "    def m1(self):" in kept and "    def m2(self):" in kept  # called, binds `a2`
    assert "def f4(x):" not in kept and "    def m3(self):" not in kept
    assert large_steps < 5 * small_steps, (small_steps, large_steps)  # quadratic: 14x


def _throwaway_module_level_rule() -> type[Rule]:
    """A rule defined here only (never registered): it reports a call anywhere in a file,
    and declares what the slicer must keep for it, as a new rule would."""

    class OpDeterminismCall(Rule):
        """
        ## What it does
        Flags `tf.config.experimental.enable_op_determinism()` anywhere.

        ## Why is this bad?
        A test rule.

        ## Example
        ```python
        tf.config.experimental.enable_op_determinism()
        ```

        ## Use instead
        Nothing.
        """

        CODE = "TFG998"
        NAME = "op-determinism-call"
        REACH, TRIGGERS = "module-level", (r"enable_op_determinism\b",)
        SEVERITY = Severity.WARNING
        SUMMARY = "a test rule"
        VALID = (Valid("import tensorflow as tf\n"),)
        INVALID = (Invalid("tf.config.experimental.enable_op_determinism()  # error: TFG998"),)

        def visit_Call(self, node: cst.Call) -> None:
            if self.is_tf(node.func, "config.experimental.enable_op_determinism"):
                self.report(node, "op determinism enabled")

    return OpDeterminismCall


MODULE_LEVEL_SOURCE = """\
import tensorflow as tf


def configure():
    tf.config.experimental.enable_op_determinism()


@tf.function
def step(x):
    return x + 1
"""


def test_a_new_module_level_rule_finds_the_same_with_and_without_the_prefilter() -> None:
    rule = _throwaway_module_level_rule()
    found = [
        [
            (f.line, f.code)
            for f in lint_source(MODULE_LEVEL_SOURCE, rules=[rule], prefilter=p).findings
        ]
        for p in (False, True)
    ]
    assert found == [[(5, "TFG998")], [(5, "TFG998")]]


def test_the_slicer_keeps_only_what_the_selected_rules_declare() -> None:
    """Call sites of compiled functions are kept for a `call-sites` rule, not for a rule that
    reads compiled bodies only."""

    source = textwrap.dedent(
        """\
        import tensorflow as tf


        @tf.function
        def step(x):
            return x + 1


        def train():
            for i in range(10):
                step(i)
        """
    )
    scalar = find_rule("TFG202")
    printing = find_rule("TFG101")
    assert scalar is not None and printing is not None
    assert scalar.REACH == "call-sites" and printing.REACH == "compiled-bodies"
    assert "step(i)" in (_sliced_text(source, Config(), rules=[scalar]) or "")
    assert "step(i)" not in (_sliced_text(source, Config(), rules=[printing]) or "")
    config = Config(select=("TFG202",))
    assert [f.code for f in lint_source(source, "train.py", config).findings] == ["TFG202"]


def test_only_a_state_changes_rule_keeps_the_eager_code_that_changes_state() -> None:
    """TFG110 (reach `state-changes`) needs the eager method that appends to `self.memory`
    and the module-level function that changes `CONFIG` in place: they are kept when it is
    selected, and blanked for a rule that reads compiled bodies only."""

    source = textwrap.dedent(
        """\
        import tensorflow as tf

        CONFIG = {"scale": 1.0}


        def set_scale(value):
            CONFIG["scale"] = value


        class Replay(tf.Module):
            def __init__(self):
                self.memory = []

            def add(self, item):
                self.memory.append(item)

            @tf.function
            def size(self, x):
                return x * CONFIG["scale"] + len(self.memory)
        """
    )
    frozen = find_rule("TFG110")
    printing = find_rule("TFG101")
    assert frozen is not None and printing is not None
    assert frozen.REACH == "state-changes"
    kept = _sliced_text(source, Config(), rules=[frozen]) or ""
    assert "self.memory.append(item)" in kept and 'CONFIG["scale"] = value' in kept
    kept = _sliced_text(source, Config(), rules=[printing]) or ""
    assert "self.memory.append(item)" not in kept and 'CONFIG["scale"] = value' not in kept
    found = lint_source(source, "replay.py", Config(select=("TFG110",))).findings
    assert [(f.line, f.code) for f in found] == [(19, "TFG110"), (19, "TFG110")]


def test_slicing_keeps_what_makes_a_call_sites_argument() -> None:
    # TFG205 reads the factory a call site's argument comes from (two deep) and the class it
    # instantiates, with the method that decides how its instances trace: all eager code that
    # names no compiled function, kept for the call site's sake.
    source = """
        import tensorflow as tf

        def build_model(width):
            model = tf.keras.Sequential([tf.keras.layers.Dense(width)])
            return model

        def make():
            return build_model(3)

        class Settings:
            def __init__(self, k):
                self.k = k

        class Hooked:
            def helper(self):
                return 1

            def __tf_tracing_type__(self, context):
                return None

        def unrelated():
            return 1

        @tf.function
        def step(model, settings, x):
            return model(x) * settings.k

        def main(x):
            for fold in range(3):
                step(make(), Settings(2.0), x)
                step(make(), Hooked(), x)
        """
    assert _kept_defs(source) == {"build_model", "make", "__tf_tracing_type__", "step", "main"}
    found = _same_findings_with_and_without_slicing(source)
    assert found == [(31, "TFG205"), (32, "TFG205")]


def test_slicing_follows_a_kept_factory_to_what_it_names() -> None:
    # `make` is kept for its own sake (it maps a dataset), and it returns what `build_model`
    # makes: the slicer must still keep `build_model` for TFG205.
    source = """
        import tensorflow as tf

        def build_model(width):
            return tf.keras.Sequential([tf.keras.layers.Dense(width)])

        def make(dataset):
            dataset.map(lambda x: x * 2)
            return build_model(3)

        @tf.function
        def step(model, x):
            return model(x)

        def main(dataset, x):
            for fold in range(3):
                step(make(dataset), x)
        """
    assert "build_model" in _kept_defs(source)
    assert _same_findings_with_and_without_slicing(source) == [(17, "TFG205")]


def test_slicing_keeps_eager_metric_updates_and_keras_inputs() -> None:
    # Discovery reads every direct call of a metric's methods (a metric only the module's
    # own eager code updates is no Keras metric), and TFG404 the `keras.Input(...)` calls
    # that fix a batch size. Both sit in eager functions the slicer may blank: the findings
    # must not change.
    metric = _same_findings_with_and_without_slicing(
        """
        import tensorflow as tf

        class Recent(tf.keras.metrics.Metric):
            def __init__(self):
                super().__init__()
                self.values = []

            def update_state(self, value):
                self.values.append(float(value))

            def result(self):
                return tf.reduce_mean(self.values)

        @tf.function
        def step(x):
            return x * 2

        recent = Recent()

        def log(value):
            print("logged")
            recent.update_state(value)
        """
    )
    assert metric == []
    inputs = _same_findings_with_and_without_slicing(
        """
        import keras
        import tensorflow as tf

        class Cell(keras.layers.Layer):
            def call(self, inputs):
                return inputs + tf.zeros([inputs.shape[0], 5])

        @tf.function
        def unrelated(x):
            return x

        def build():
            print("building")
            fixed = keras.Input(batch_shape=(16, 5))
            return keras.Model(fixed, Cell()(fixed))
        """,
        keras_call=True,
    )
    # An input made in a function does not count (the slicer may blank such code): the
    # finding stays, with the slicer and without.
    assert inputs == [(7, "TFG404")]


@pytest.mark.parametrize("select", [("ALL",), ("TFG101",)])
def test_slicing_keeps_the_functions_passed_to_a_compiled_function(
    select: tuple[str, ...],
) -> None:
    # The call sites are kept whatever the rules' reach: discovery needs them to know that
    # `loss_w` is traced (through `step`, bound to `tf.function(run_step)`).
    source = textwrap.dedent(
        """
        import tensorflow as tf

        def loss_k(x):
            print("k")
            return x

        def loss_w(x):
            print("w")
            return x

        def run_step(fn, x):
            return fn(x)

        step = tf.function(run_step)

        @tf.function
        def direct(fn, x):
            return fn(x)

        class Trainer:
            def loss(self, x):
                print("method")
                return x

            @tf.function
            def train(self, fn, x):
                return tf.distribute.get_strategy().run(fn, args=(x,))

            def fit(self, x):
                return self.train(self.loss, x)

        def main():
            direct(fn=loss_k, x=tf.ones(3))
            step(loss_w, tf.ones(3))
        """
    )
    config = Config(select=select)
    sliced = lint_source(source, "m.py", config).findings
    full = lint_source(source, "m.py", config, prefilter=False).findings
    assert [(f.line, f.code) for f in sliced] == [(f.line, f.code) for f in full]
    assert [(f.line, f.code) for f in full] == [(5, "TFG101"), (9, "TFG101"), (23, "TFG101")]


@pytest.mark.parametrize("select", [("ALL",), ("TFG101", "TFG401")])
def test_a_module_that_runs_functions_eagerly_reports_only_the_switch(
    select: tuple[str, ...],
) -> None:
    # The switch is read by discovery, whether or not TFG403 (which reports it) is selected.
    source = textwrap.dedent(
        """
        import tensorflow as tf

        @tf.function
        def step(x):
            print("x", x)
            return x.numpy()

        tf.config.run_functions_eagerly(True)
        """
    )
    config = Config(select=select)
    sliced = lint_source(source, "m.py", config).findings
    full = lint_source(source, "m.py", config, prefilter=False).findings
    assert [(f.line, f.code) for f in sliced] == [(f.line, f.code) for f in full]
    assert [(f.line, f.code) for f in full] == ([(9, "TFG403")] if "ALL" in select else [])
    if full:
        assert full[0].message.endswith("(nothing else in this module is reported while it is on)")


@pytest.mark.parametrize(
    "compiles",
    [
        "fast = tf.\\\n    function(step)",
        "ds = tf.data.Dataset.range(3).\\\n    map(step)",
        "ds = tf.data.Dataset.range(3) \\\n    .map(step)",
        "fast = (tf.  # the graph version\n    function)(step)",
        "ds = (tf.data.Dataset.range(3).  # a callback\n    map(step))",
        "ds = tf.data.Dataset.range(3).map(  # a callback\n    step)",
        "ds = (tf.data.Dataset.range(3).map  # a callback\n    (step))",
    ],
)
def test_slicing_reads_through_backslash_continuations(compiles: str) -> None:
    source = "import tensorflow as tf\n\ndef step(x):\n    print(x)\n    return x\n\n"
    assert _same_findings_with_and_without_slicing(source + compiles + "\n") == [(4, "TFG101")]


def test_slicing_reads_a_decorator_split_by_a_backslash() -> None:
    source = "import tensorflow as tf\n\n@tf.\\\nfunction\ndef step(x):\n    print(x)\n"
    assert _same_findings_with_and_without_slicing(source) == [(6, "TFG101")]


@pytest.mark.parametrize(
    "decorator",
    [
        "@(\n    functools.lru_cache\n)",
        "@(  # cached\n    functools.lru_cache\n)",
        "@\\\nfunctools.lru_cache",
        "@functools.lru_cache\n@(\n    functools.wraps(len)\n)",
    ],
)
@pytest.mark.parametrize("in_class", [False, True])
def test_slicing_blanks_a_decorator_from_its_at_sign(decorator: str, in_class: bool) -> None:
    # `ast` gives a decorator's expression line, which may be below its `@` line: blanking
    # from there left `@(` behind, a syntax error in a valid file.
    unrelated = f"{decorator}\ndef unrelated(n):\n    return n\n"
    if in_class:
        unrelated = "class Tools:\n" + textwrap.indent(unrelated, "    ")
    source = (
        "import functools\nimport tensorflow as tf\n\n"
        + unrelated
        + "\n@tf.function\ndef step(x):\n    print(x)\n    return x\n"
    )
    line = source.splitlines().index("    print(x)") + 1
    config = Config(select=("ALL",))
    result = lint_source(source, "m.py", config)
    assert result.errors == []
    assert _same_findings_with_and_without_slicing(source) == [(line, "TFG101")]


def test_slicing_reads_unicode_names() -> None:
    # The slicer's name patterns were ASCII: `hélper` was not seen as called, `hístory` as
    # state a traced body reads.
    source = """
        import tensorflow as tf

        hístory = []

        def hélper(x):
            print(x)
            return x

        def record(v):
            hístory.append(v)

        @tf.function
        def step(x):
            return hélper(x) + len(hístory)
        """
    assert _same_findings_with_and_without_slicing(source) == [(7, "TFG101"), (15, "TFG110")]


def test_slicing_keeps_the_switch_called_through_an_import_alias() -> None:
    # `eager(False)` in a function switches the module's functions back to graphs: blanked,
    # the module looked eager throughout and only TFG403 was reported.
    source = """
        import tensorflow as tf
        from tensorflow.config import run_functions_eagerly as eager

        eager(True)

        def disable():
            eager(False)

        @tf.function
        def step(x):
            print(x)
            return x
        """
    assert _same_findings_with_and_without_slicing(source) == [(5, "TFG403"), (12, "TFG101")]


def test_slicing_reads_a_configured_decorator_under_an_alias() -> None:
    source = textwrap.dedent(
        """
        import tensorflow as tf
        from mypkg import compiled as c

        @c
        def step(x):
            print(x)
            return x
        """
    )
    config = Config(select=("ALL",), extra_function_decorators=("mypkg.compiled",))
    sliced = [(f.line, f.code) for f in lint_source(source, "m.py", config).findings]
    full = lint_source(source, "m.py", config, prefilter=False).findings
    assert sliced == [(f.line, f.code) for f in full] == [(7, "TFG101")]


_FACTORY_MADE_LAYER = """
    import tensorflow as tf

    class Net(tf.keras.layers.Layer):
        def call(self, x):
            print("trace", x)
            return x

    def make():
        return Net()

    def build():
        return make()
    """


@pytest.mark.parametrize(
    "use",
    [
        "net = build()\n\n@tf.function\ndef step(x):\n    return net(x)\n",
        "def main():\n    net = build()\n\n    @tf.function\n    def step(x):\n"
        "        return net(x)\n    return step\n",
    ],
)
def test_slicing_keeps_the_factories_of_a_model_a_compiled_body_runs(use: str) -> None:
    # Discovery reads what `build()` returns to know that `net(x)` runs `Net.call`.
    source = textwrap.dedent(_FACTORY_MADE_LAYER) + use
    assert _same_findings_with_and_without_slicing(source) == [(6, "TFG101")]


def test_slicing_keeps_the_factory_of_a_model_whose_step_is_driven_by_hand() -> None:
    source = """
        import tensorflow as tf

        class A(tf.keras.Model):
            def train_step(self, data):
                print(data)
                return {}

        def build_a():
            return A()

        def main(ds):
            a = build_a()
            for batch in ds:
                a.train_step(batch)
        """
    assert _same_findings_with_and_without_slicing(source) == []


def test_slicing_keeps_the_state_a_tf_function_factory_makes() -> None:
    # TFG203 is silent on a factory that makes a layer each call: slicing it away reported it.
    source = """
        import tensorflow as tf

        REGISTRY = []

        def make():
            layer = tf.keras.layers.Dense(3)
            REGISTRY.append(layer)
            return tf.function(lambda x: x * 2)

        def loop():
            for i in range(3):
                f = make()
                f(i)
        """
    assert _same_findings_with_and_without_slicing(source) == []


@pytest.mark.parametrize(
    "made",
    [
        "class A:\n    pass\n\nclass B(A):\n    pass\n\nclass C(B):\n    pass\n\n"
        "def made():\n    return C()\n",
        "class Cfg:\n    pass\n\ndef make2():\n    return Cfg()\n\n"
        "def made():\n    return make2()\n",
    ],
)
def test_slicing_keeps_argument_makers_to_any_depth(made: str) -> None:
    source = (
        "import tensorflow as tf\n\n" + made + "\n@tf.function\ndef step(cfg, x):\n    return x\n\n"
        "def main():\n    for i in range(10):\n        step(made(), i)\n"
    )
    line = source.splitlines().index("        step(made(), i)") + 1
    assert _same_findings_with_and_without_slicing(source) == [(line, "TFG202"), (line, "TFG205")]


def test_slicing_reads_no_statement_in_a_docstring() -> None:
    # `global`, `tf.function` and `def call(...)` in docstrings are prose: `helper` and
    # `notes` stay blank, and the module's only compiled code is the layer's `call` (with an
    # `if` on a tensor: the finding is the same with and without slicing).
    source = '''
        """Module docstring: `global` state, `@tf.function` and `def call(self, x)`."""
        import tensorflow as tf


        def helper(x):
            """Like `tf.function(f)` with a global counter."""
            return x + 1


        def notes():
            "Write `def call(self, inputs):` and use `global` sparingly."
            return None


        class Gate(tf.keras.layers.Layer):
            """A layer: in `def call(self, x)`, `global` is never needed."""

            def __init__(self, units):
                """Set `self.units`; see the tf.function guide."""
                super().__init__()
                self.units = units

            def call(self, x):
                if tf.reduce_sum(x) > 0:
                    return x
                return -x
        '''
    assert _kept_defs(source) == {"call"}
    assert _same_findings_with_and_without_slicing(source) == [(25, "TFG510")]


def test_slicing_reads_a_string_that_shares_its_line_with_code() -> None:
    # A string statement after code on its line (`x = 1; "..."`) is not blanked for the
    # slicer's reading: the statement before it is code.
    source = """
        import tensorflow as tf

        counter = 0

        def bump():
            global counter; "global counter"
            counter += 1

        @tf.function
        def step(x):
            return x + counter
        """
    assert "bump" in _kept_defs(source)
    _same_findings_with_and_without_slicing(source)


def test_a_module_of_keras_calls_keeps_no_attribute_binding_method() -> None:
    # Only Keras `call`s found by default, so only the breakage rules run there, and none of
    # them reads `self.units` or what `__init__` binds: `__init__` and `build` are blanked.
    source = """
        import tensorflow as tf


        class Scale(tf.keras.layers.Layer):
            def __init__(self, units, use_bias=True):
                super().__init__()
                self.units = units
                self.use_bias = use_bias

            def build(self, shape):
                self.w = self.add_weight(shape=(shape[-1], self.units))

            def call(self, x):
                y = tf.matmul(x, self.w)
                if self.use_bias:
                    y = y + 1.0
                for row in y:
                    y = y + row
                return y
        """
    assert _kept_defs(source) == {"call"}
    assert _same_findings_with_and_without_slicing(source) == [(18, "TFG510")]


def _positions(tree: ast.AST) -> list[tuple[str, int | None, int | None]]:
    return [
        (type(n).__name__, getattr(n, "lineno", None), getattr(n, "col_offset", None))
        for n in ast.walk(tree)
    ]


def _assert_tree_of_the_sliced_text(source: str) -> str:
    """The slicer's tree is what `ast.parse` makes of its text: the same nodes, lines and
    columns (the engine uses it instead of parsing the sliced text again)."""
    sliced = slice_module(textwrap.dedent(source), Config(select=("ALL",)))
    assert sliced is not None and sliced.tree is not None
    parsed = ast.parse(sliced.text)
    assert ast.dump(sliced.tree) == ast.dump(parsed)
    assert _positions(sliced.tree) == _positions(parsed)
    return sliced.text


LEFT_OUT = """
    import tensorflow as tf

    def unrelated(n):
        return n

    class Tools:
        @staticmethod
        def first(n):
            return n

        def second(self):
            return 2

    class Model(tf.Module):
        scale = 2.0

        def helper(self):
            return 1

        @tf.function
        def step(self, x):
            print(x)
            return x * self.scale
"""


@pytest.mark.parametrize(
    ("source", "left_out"),
    [
        # statements, a class, and a method of a kept class left out
        (LEFT_OUT, ["def unrelated", "class Tools", "def helper"]),
        # statements of an eager method left out (the method and its class kept)
        (EAGER_TEST, ["self.assertLen(data, 3)", 'data = load_fixture("big.csv")']),
    ],
)
def test_the_slicers_tree_is_that_of_its_text(source: str, left_out: list[str]) -> None:
    text = _assert_tree_of_the_sliced_text(source)
    for gone in left_out:
        assert gone in source and gone not in text
    assert _same_findings_with_and_without_slicing(source)


def test_the_slicers_tree_holds_the_pass_written_for_a_class_without_methods() -> None:
    source = """
        import tensorflow as tf

        class Tools(tf.Module):
            def first(self, n):
                return n

            def second(self):
                return 2

        @tf.function
        def step(x):
            print(x)
            return Tools
    """
    text = _assert_tree_of_the_sliced_text(source)
    assert "class Tools(tf.Module):\n    pass\n" in text


def test_the_slicers_tree_is_left_to_the_parser_when_a_line_is_shared() -> None:
    # `a = 1; b = 2` at module level, one kept and one blanked: the slicer blanks the
    # line; its tree would hold the kept one, so it gives none and the engine parses.
    from tfgraphlint.engine import slicing

    lines = ["import os; import sys\n", "x = 1\n"]
    tree = ast.parse("".join(lines))
    units = slicing._spans(tree, lines)

    def sliced(keep: list[bool]) -> ast.Module | None:
        out = slicing._render(lines, units, keep, [])
        return slicing._sliced_tree(tree, units, keep, {}, lines, out)

    assert sliced([True, False, True]) is None
    assert sliced([True, True, False]) is not None


def test_lint_source_does_not_parse_the_sliced_text_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import tfgraphlint.engine.runner as runner

    parsed: list[str] = []
    real = ast.parse

    def counting(text: str, *args: object, **kwargs: object) -> ast.AST:
        parsed.append(text)
        return real(text, *args, **kwargs)  # type: ignore[arg-type]

    source = textwrap.dedent(LEFT_OUT)
    lint_source(source, "m.py", Config(select=("ALL",)))  # the rules loaded, not counted
    monkeypatch.setattr(runner.ast, "parse", counting)
    result = lint_source(source, "m.py", Config(select=("ALL",)))
    assert [f.code for f in result.findings] == ["TFG101"]
    # The screen's parse of the whole text, once, after at most the two parses of its outline
    # (the import lines, the class headers: `prefilter.outline_clears`), and no other.
    assert parsed[-1] == source
    assert parsed.count(source) == 1
    assert len(parsed) <= 3
    assert all(len(text) < len(source) for text in parsed[:-1])


def _code_tokens(text: str) -> list[tuple[int, str]]:
    """The line and text of every token of `text` but its comments and strings (and line
    ends, indentation), as Python's tokenizer reads them."""
    skipped = {
        tokenize.COMMENT,
        tokenize.STRING,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENDMARKER,
    }
    # Python 3.12 tokenizes an f-string into parts (and the code of its fields): skip them.
    start, end = getattr(tokenize, "FSTRING_START", None), getattr(tokenize, "FSTRING_END", None)
    found: list[tuple[int, str]] = []
    depth = 0
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if start is not None and token.type == start:
            depth += 1
        elif end is not None and token.type == end:
            depth -= 1
        elif not depth and token.type not in skipped:
            found.append((token.start[0], token.string))
    return found


def _python_texts() -> list[tuple[str, str]]:
    """Every rule example, and the Python files of `fixtures/` and `tests/`."""
    from tfgraphlint.engine.registry import all_rules

    texts = [
        (f"{rule.CODE} example", textwrap.dedent(example.code))
        for rule in all_rules()
        for example in (*rule.VALID, *rule.INVALID)
    ]
    for folder in ("fixtures", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            texts.append((str(path), path.read_text(encoding="utf-8")))
    return texts


def test_the_code_view_keeps_every_line_and_every_token_but_comments_and_strings() -> None:
    # `code_view` is a regex scan, not Python's tokenizer: on every text here (rule
    # examples, fixtures, this test suite: strings of every kind, prefixes, escapes,
    # triple quotes, quotes and `#` inside strings and comments) it must keep the lines and
    # every token that is code, in order, and only those.
    from tfgraphlint.engine.prefilter import code_view

    checked = 0
    for name, text in _python_texts():
        try:
            expected = _code_tokens(text)
        except (tokenize.TokenError, SyntaxError, IndentationError):
            continue
        view = code_view(text)
        assert view.count("\n") == text.count("\n"), name
        assert [t for t in _code_tokens(view) if t[1] != '""'] == [
            t for t in expected if t[1] != '""'
        ], name
        checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    "source",
    [
        '"""Wrap it in `@tf.function` (see `tf.data.Dataset.map`)."""\nimport tensorflow as tf\n',
        "import tensorflow as tf\n# TODO: tf.function(step) once it is fast\nx = 1\n",
        "import tensorflow as tf\nHELP = 'call tf.function(f) or ds.map(f) on tf.data'\n",
        "# tensorflow: @tf.function\nimport numpy as np\n",
    ],
)
def test_a_word_in_a_comment_or_a_string_makes_no_candidate(source: str) -> None:
    from tfgraphlint.engine.prefilter import is_candidate, screen

    assert is_candidate(source, Config())  # the raw text has the token...
    assert not screen(source, Config())  # ...its code does not
    assert slice_module(source, Config()) is None


def test_a_comment_makes_no_statement_relevant() -> None:
    # `helper` mentions tf.function and `global` only in comments and a string: it is not
    # kept for itself (it has nothing the compiled `step` reads either).
    source = """
        import tensorflow as tf


        def helper(x):
            # Could be a tf.function; no global state here.
            note = "global tf.function"
            return x + 1


        @tf.function
        def step(x):
            return x * 2
        """
    assert _kept_defs(source) == {"step"}
    _same_findings_with_and_without_slicing(source)


@pytest.mark.parametrize(
    "text",
    [
        "model.compile(loss=f)\n",
        "model . compile (loss=f)\n",
        "model.\\\ncompile(loss=f)\n",
        "model.  # note\n    compile(loss=f)\n",
        "model.compile\\\n(loss=f)\n",
        "pattern = re.compile(r'x')\n",
        "pattern = pre.compile(r'x')\n",
        "import re\nre . compile('x')\n",
        "compile('x', 'f', 'exec')\n",
        "model.compiled(x)\n",
        "model.compile\n",
        "x = 1\n",
    ],
)
def test_calls_compile_is_the_compile_pattern(text: str) -> None:
    # `calls_compile` searches the word first; it must say what the `.compile(` pattern
    # (`prefilter._COMPILE`) says, on these and on every example, fixture and test file.
    from tfgraphlint.engine.prefilter import _COMPILE_CALL, calls_compile

    assert calls_compile(text) is bool(_COMPILE_CALL.search(text))
    if text.startswith("model.compile("):
        assert calls_compile(text)
        assert all(calls_compile(t) is bool(_COMPILE_CALL.search(t)) for _, t in _python_texts())
