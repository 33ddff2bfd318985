"""Canonical qualified names of the TensorFlow API that discovery and rules match against.

Every name here is what libCST's `QualifiedNameProvider` yields for a reference, whatever the
file's spelling (`tf.function`, `from tensorflow import function as f`, `tensorflow.compat.v2`).
"""

from __future__ import annotations

from collections.abc import Iterable

# Public roots under which the 2.x API is re-exported. `tensorflow.compat.v1.function` is the
# same object as `tensorflow.function` on TF 2 (checked on 2.21), so it is listed too.
TF_ROOTS: tuple[str, ...] = (
    "tensorflow",
    "tensorflow.compat.v2",
    "tensorflow.compat.v1",
)


def under_tf(*suffixes: str) -> frozenset[str]:
    """All qualified spellings of `suffixes` under every TF root."""
    return frozenset(f"{root}.{suffix}" for root in TF_ROOTS for suffix in suffixes)


def strip_tf_root(qualname: str) -> str | None:
    """`tensorflow.compat.v2.math.add` -> `math.add`; None when not a TF name."""
    for root in sorted(TF_ROOTS, key=len, reverse=True):
        if qualname.startswith(root + "."):
            return qualname[len(root) + 1 :]
    return None


def any_in(names: Iterable[str], table: frozenset[str]) -> bool:
    return any(name in table for name in names)


TF_FUNCTION = under_tf("function")
DO_NOT_CONVERT = under_tf("autograph.experimental.do_not_convert")
PY_FUNCTION = under_tf("py_function", "numpy_function", "compat.v1.py_func", "py_func")
INIT_SCOPE = under_tf("init_scope")
TO_GRAPH = under_tf("autograph.to_graph")
RUN_FUNCTIONS_EAGERLY = under_tf(
    "config.run_functions_eagerly", "config.experimental_run_functions_eagerly"
)
# Strategy methods that call `fn` inside the caller's trace (`experimental_run_v2` is the
# pre-2.2 name; TF 2.21 has only `run`). AutoGraph converts `fn` when the caller is converted.
STRATEGY_RUN_METHODS = frozenset({"run", "experimental_run_v2"})
# Decorators that leave a function as it is for discovery's purposes.
TRANSPARENT_DECORATORS = frozenset({"builtins.staticmethod", "builtins.classmethod"})

# Functions whose callable arguments are traced into the caller's graph when the call itself
# runs in a compiled body. Value: positions of the callable arguments, and keyword names.
GRAPH_BODY_CALLS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
for _suffix, _spec in {
    "map_fn": ((0,), ("fn",)),
    "vectorized_map": ((0,), ("fn",)),
    "scan": ((0,), ("fn",)),
    "foldl": ((0,), ("fn",)),
    "foldr": ((0,), ("fn",)),
    "while_loop": ((0, 1), ("cond", "body")),
    "cond": ((1, 2), ("true_fn", "false_fn")),
    "switch_case": ((1,), ("branch_fns", "default")),
    "case": ((0,), ("pred_fn_pairs", "default")),
}.items():
    for _name in under_tf(_suffix):
        GRAPH_BODY_CALLS[_name] = _spec

# `tf.data.Dataset` methods whose function argument is traced into a dataset graph.
DATASET_CALLBACK_METHODS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "map": ((0,), ("map_func",)),
    "filter": ((0,), ("predicate",)),
    "flat_map": ((0,), ("map_func",)),
    "interleave": ((0,), ("map_func",)),
    "parallel_interleave": ((0,), ("map_func",)),
    "reduce": ((1,), ("reduce_func",)),
    "scan": ((1,), ("scan_func",)),
}

# Keras classes whose `train_step`/`test_step`/`predict_step` overrides `fit` traces.
KERAS_MODEL_CLASSES = frozenset(
    {
        *under_tf("keras.Model", "keras.models.Model", "keras.Sequential"),
        "keras.Model",
        "keras.models.Model",
        "keras.Sequential",
        "tf_keras.Model",
        "keras.src.models.model.Model",
    }
)
KERAS_LAYER_CLASSES = frozenset(
    {
        *under_tf("keras.layers.Layer", "keras.Layer", "Module"),
        "keras.layers.Layer",
        "keras.Layer",
        "tf_keras.layers.Layer",
    }
)
# Keras's own layers (`Dense`, `BatchNormalization`, `AbstractRNNCell`, `Wrapper`, ...) are
# layers too: a subclass that overrides `call` is traced as any layer is. `InputSpec` is the
# one class directly under `keras.layers` that is not a layer, `Input` the one function
# spelled like a class (both checked on TF 2.21).
_KERAS_LAYER_MODULES = tuple(
    f"{keras}.layers." for keras in (*under_tf("keras"), "keras", "tf_keras")
)
_NOT_LAYERS = frozenset({"InputSpec", "Input"})


def is_keras_layer_class(qualname: str) -> bool:
    """Whether `qualname` is a Keras layer class: `Layer` itself (`KERAS_LAYER_CLASSES`) or a
    class directly under `keras.layers` (`tf.keras.layers.Dense`), not a deeper module's."""
    if qualname in KERAS_LAYER_CLASSES:
        return True
    if not qualname.startswith(_KERAS_LAYER_MODULES):
        return False
    name = qualname.rsplit(".", 1)[1]
    return (
        name[:1].isupper()
        and name not in _NOT_LAYERS
        and any(qualname == prefix + name for prefix in _KERAS_LAYER_MODULES)
    )


KERAS_STEP_METHODS = frozenset({"train_step", "test_step", "predict_step"})
# Keras loss and metric base classes whose methods `fit`/`evaluate` trace (Keras 3 without
# AutoGraph: checked on TF 2.21 / Keras 3 by tests/dynamic/test_keras_contexts.py).
KERAS_LOSS_CLASSES = frozenset(
    {
        *under_tf("keras.losses.Loss", "keras.Loss"),
        "keras.losses.Loss",
        "keras.Loss",
        "tf_keras.losses.Loss",
        "keras.src.losses.loss.Loss",
    }
)
KERAS_METRIC_CLASSES = frozenset(
    {
        *under_tf(
            "keras.metrics.Metric", "keras.Metric", "keras.metrics.Mean", "keras.metrics.Sum"
        ),
        "keras.metrics.Metric",
        "keras.Metric",
        "keras.metrics.Mean",
        "keras.metrics.Sum",
        "tf_keras.metrics.Metric",
        "tf_keras.metrics.Mean",
        "keras.src.metrics.metric.Metric",
    }
)
KERAS_LOSS_METHODS = frozenset({"call"})
KERAS_METRIC_METHODS = frozenset({"update_state", "result"})
# Every method of a Keras class that Keras may trace (`call` of a layer or a loss included).
KERAS_TRACED_METHODS = KERAS_STEP_METHODS | KERAS_LOSS_METHODS | KERAS_METRIC_METHODS


def is_keras_class(qualname: str) -> bool:
    """A Keras class whose subclasses discovery checks: a layer, a model, a loss, a metric."""
    return (
        is_keras_layer_class(qualname)
        or qualname in KERAS_MODEL_CLASSES
        or qualname in KERAS_LOSS_CLASSES
        or qualname in KERAS_METRIC_CLASSES
    )


# Keras loss and metric arguments (`loss(y_true, y_pred)`, `update_state(y_true, y_pred)`).
LOSS_PARAMS = frozenset({"y_true", "y_pred"})
# Flags by name: Python values by convention (Keras passes `training` as a Python bool).
FLAG_PARAMS = frozenset({"training", "is_training", "mask", "mode"})
# Builtins whose result is a Python value whatever their argument (`len` of a tensor is a
# static dimension, or fails), and those that cast theirs (`int(t)` may be a tensor where
# AutoGraph converts it).
PY_BUILTINS = frozenset(
    {
        "len",
        "isinstance",
        "issubclass",
        "hasattr",
        "callable",
        "str",
        "repr",
        "type",
        "id",
        "list",
        "tuple",
        "dict",
        "set",
        "sorted",
    }
)
CASTING_BUILTINS = frozenset({"int", "float", "bool", "abs"})
# Methods that return a static `TensorShape` or its Python parts, whatever the receiver.
SHAPE_METHODS = frozenset({"get_shape", "as_list", "num_elements", "is_fully_defined"})
# `tf.TensorArray` methods that return a tensor.
TENSOR_ARRAY_READS = frozenset({"read", "stack", "gather", "concat", "size"})
# Builtins whose first argument is checked as a Python object (a parameter given to one is
# not presumed a tensor).
PYTHON_CHECKS = frozenset(
    {
        "isinstance",
        "hasattr",
        "getattr",
        "setattr",
        "callable",
        "type",
        "iter",
        "next",
        "dict",
        "vars",
    }
)
# Builtins that iterate their arguments: a parameter given to them is a sequence (a list of
# tensors, of layers, of weights) far more often than a tensor.
ITERATING_BUILTINS = frozenset(
    {
        "range",
        "zip",
        "enumerate",
        "reversed",
        "sorted",
        "map",
        "filter",
        "list",
        "tuple",
        "set",
        "sum",
        "any",
        "all",
        "min",
        "max",
    }
)
# TF functions (under `tf.`) that return one tensor (not a tuple or list of them, as
# `tf.nn.moments`, `tf.math.top_k`, `tf.cond` or `tf.while_loop` may): unpacking their result
# iterates it.
ONE_TENSOR_OPS = (
    "shape",
    "reshape",
    "stack",
    "concat",
    "cast",
    "range",
    "constant",
    "convert_to_tensor",
    "transpose",
    "squeeze",
    "expand_dims",
    "gather",
    "gather_nd",
    "tile",
    "where",
    "identity",
    "zeros",
    "ones",
    "fill",
    "linspace",
    "unravel_index",
    "argmax",
    "argmin",
    "sort",
    "argsort",
    "random.normal",
    "random.uniform",
)
# `Model.compile` arguments that take losses and metrics: keywords, and positions after
# `optimizer` (Keras 3: loss, loss_weights, metrics, weighted_metrics; Keras 2: loss, metrics,
# loss_weights, weighted_metrics; a position that holds weights never names a function).
KERAS_COMPILE_LOSS = ((1,), ("loss",))
KERAS_COMPILE_METRICS = ((2, 3, 4), ("metrics", "weighted_metrics"))
# Model methods that run the steps through Keras' own (traced) functions.
KERAS_DRIVER_METHODS = frozenset({"fit", "evaluate", "predict", "make_train_function"})

TF_VARIABLE = under_tf("Variable")
TF_TENSORARRAY = under_tf("TensorArray")
TF_RANGE = under_tf("range")
TF_PRINT = under_tf("print")


# What eager code may ask a model it only calls, without tracing it.
KERAS_WEIGHT_QUERIES = frozenset(
    {
        "summary",
        "weights",
        "variables",
        "trainable_variables",
        "trainable_weights",
        "non_trainable_variables",
        "non_trainable_weights",
        "layers",
        "count_params",
        "get_weights",
        "set_weights",
        "save_weights",
        "load_weights",
        "name",
    }
)
