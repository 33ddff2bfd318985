"""False alarms found triaging user repositories, each fixed with its limit tested: the
finding stays where the code shows the hazard is live."""

from __future__ import annotations

import textwrap

from tfgraphlint.config import Config
from tfgraphlint.engine.runner import lint_source

ALL = Config(select=("ALL",), ignore=("TFG590",))


def codes(source: str, config: Config = ALL) -> list[tuple[int, str]]:
    result = lint_source(textwrap.dedent(source).encode(), "user.py", config, noqa=False)
    assert not result.errors, result.errors
    return [(f.line, f.code) for f in result.findings]


DEBUG_FLAG = """\
    import tensorflow as tf

    DEBUG = False
    {rebinding}

    @tf.function
    def step(x):
        if DEBUG:
            print(x.numpy())
        if DEBUG and x.shape[0] > 2:
            print(x)
        return x
    """


def test_code_under_an_off_module_flag_never_runs() -> None:
    assert codes(DEBUG_FLAG.format(rebinding="")) == []


def test_a_flag_bound_again_anywhere_is_live() -> None:
    rebindings = [
        "def debug_on():\n        global DEBUG\n        DEBUG = True",
        "if __name__ == '__main__':\n        DEBUG = True",
        "DEBUG |= True",
        "for DEBUG in (False, True):\n        pass",
        "def run(DEBUG=True):\n        return DEBUG",
        "from settings import DEBUG",
    ]
    for rebinding in rebindings:
        found = codes(DEBUG_FLAG.format(rebinding=rebinding))
        assert {code for _, code in found} >= {"TFG101", "TFG401"}, rebinding


OWN_FIT = """\
    import tensorflow as tf

    class Net(tf.keras.Model):
        def fit(self, data, epochs=1):
            {body}

        def train_step(self, data):
            print("step")
            return {{}}
    """


def test_a_model_with_its_own_fit_is_not_traced_by_keras() -> None:
    assert (
        codes(OWN_FIT.format(body="for batch in data:\n                self.train_step(batch)"))
        == []
    )
    assert codes(OWN_FIT.format(body="return super().fit(data, epochs=epochs)")) == [(8, "TFG101")]
    assert codes(OWN_FIT.format(body="return tf.keras.Model.fit(self, data)")) == [(8, "TFG101")]


METRIC = """\
    import tensorflow as tf

    class Positive(tf.keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="positive")
            self.count = self.add_weight(name="count", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            if tf.reduce_sum(y_pred) > 0:
                self.count.assign_add(1.0)

        def result(self):
            return self.count

    metric = Positive()

    @tf.function
    def step(x):
        metric.update_state(x, x)
        return metric.result()
    {extra}
    """


def test_a_metric_only_updated_from_a_tf_function_is_converted() -> None:
    assert codes(METRIC.format(extra="")) == []
    compiled = "\n    model = tf.keras.Sequential()\n    model.compile(metrics=[Positive()])\n"
    assert codes(METRIC.format(extra=compiled)) == [(9, "TFG510")]
    # Updated from eager code too: still not a Keras metric (no model is compiled here),
    # and an eager call runs the tensor `if` eagerly, where it works.
    eager = "\n    metric.update_state(tf.ones([2]), tf.ones([2]))\n"
    assert codes(METRIC.format(extra=eager)) == []


def test_int_of_a_tensor_in_unconverted_code_is_python_valued() -> None:
    """`int(t)` raises in a Keras 3 `call` (TFG405 says so); the `assert` never sees a tensor."""
    source = """\
        import tensorflow as tf

        class GroupCheck(tf.keras.layers.Layer):
            def call(self, x):
                b = tf.shape(x)[0]
                assert int(b) % 2 == 0
                return x
        """
    assert codes(source) == [(6, "TFG405")]


def test_a_parameter_read_by_the_statement_that_rebinds_it() -> None:
    source = """\
        import tensorflow as tf

        @tf.function
        def top(scores, max_boxes=50):
            max_boxes = tf.constant(max_boxes, dtype=tf.int32)
            again = tf.constant(max_boxes)
            return tf.minimum(tf.size(scores), max_boxes), again
        """
    assert codes(source) == [(6, "TFG405")]


def test_code_under_a_constant_false_test_never_runs() -> None:
    # Seen in a physics-informed network's `preprocess`: an `if False:` block kept around.
    source = """
        import time
        import tensorflow as tf

        class Scaler:
            def preprocess(self, x):
                if False:
                    self.low = 0.0
                    print("debug", x)
                    t = time.time()
                while 0:
                    print("never")
                if True:
                    pass
                else:
                    print("never either")
                if True:
                    self.low = -5.0
                return x - self.low

            @tf.function
            def step(self, x):
                return self.preprocess(x)
        """
    assert codes(source) == [(18, "TFG102")]
