"""What the value of a TensorFlow or Keras API call is (`tf_call_kind`): the tables of the
tensor inference (`discovery.tensors`) that need no libCST, so that the slicer's `ast` gate
(`engine.keras_gate`) reads the same ones before libCST is imported."""

from __future__ import annotations

import enum

from tfgraphlint.discovery import names


class Kind(enum.Enum):
    TENSOR = "tensor"
    PYTHON = "python"
    UNKNOWN = "unknown"


# TF API names (without the `tensorflow.` root) that do not return a tensor.
NON_TENSOR_PREFIXES = (
    "function",
    "keras.",
    "data.",
    "config.",
    "distribute.",
    "nest.",
    "TensorShape",
    "TensorSpec",
    "RaggedTensorSpec",
    "SparseTensorSpec",
    "DType",
    "dtypes.as_dtype",
    "dtypes.DType",
    "as_dtype",
    "executing_eagerly",
    "is_tensor",
    "is_symbolic_tensor",
    "get_static_value",
    "print",
    "debugging.",
    "summary.",
    "io.gfile",
    "saved_model.",
    "train.",
    "autograph.",
    "compat.",
    "Module",
    "name_scope",
    "device",
    "control_dependencies",
    "init_scope",
    "GradientTape",
    "TensorArray",
    "random.Generator",
    "random.set_seed",
    "random.get_global_generator",
    "group",
    "no_op",
    "get_logger",
    "sysconfig.",
    "test.",
    "errors.",
    "estimator.",
    "lite.",
    "types.",
    "while_loop",
    "cond",
    "case",
    "switch_case",
    "tuple",
    "make_ndarray",
    "make_tensor_proto",
    "CriticalSection",
    "Graph",
    "experimental.",
    "xla.",
    "tpu.",
    "feature_column.",
    "queue.",
    "lookup.",
    "quantization.",
    "mlir.",
    "profiler.",
    "version.",
    "register_tensor_conversion_function",
    "custom_gradient",
    "recompute_grad",
    "function",
    "numpy_function",  # may return a list
    "py_function",  # may return a list
    "vectorized_map",
    "map_fn",
    "scan",
    # TF 1's RNN drivers and CTC decoders return tuples (of tuples, lists or state tuples):
    # `outs, states = tf.compat.v1.nn.bidirectional_dynamic_rnn(...)` makes two tuples.
    "nn.bidirectional_dynamic_rnn",
    "nn.dynamic_rnn",
    "nn.static_rnn",
    "nn.static_bidirectional_rnn",
    "nn.static_state_saving_rnn",
    "nn.raw_rnn",
    "nn.ctc_beam_search_decoder",
    "nn.ctc_greedy_decoder",
)
# Ops that return a Python list of tensors.
PYTHON_LIST_OPS = frozenset(
    {"unstack", "split", "meshgrid", "gradients", "dynamic_partition", "py_func"}
)
# ... and of those, the ones whose items are always tensors (`gradients` may hold None).
TENSOR_LIST_OPS = frozenset({"unstack", "split", "meshgrid", "dynamic_partition"})
# Lower-case top-level TF (mostly TF1) functions that return Python values, lists, graphs,
# context managers or functions, not tensors.
PYTHON_VALUED = frozenset(
    {
        "executing_eagerly_outside_functions",
        "inside_function",
        "get_current_name_scope",
        "variable_scope",
        "variable_op_scope",
        "variable_creator_scope",
        "get_variable_scope",
        "get_default_graph",
        "get_default_session",
        "reset_default_graph",
        "make_template",
        "trainable_variables",
        "global_variables",
        "local_variables",
        "model_variables",
        "moving_average_variables",
        "all_variables",
        "get_collection",
        "get_collection_ref",
        "add_to_collection",
        "add_to_collections",
        "load_op_library",
        "load_library",
        "import_graph_def",
        "set_random_seed",
        "get_seed",
        "enable_eager_execution",
        "disable_eager_execution",
        "enable_v2_behavior",
        "disable_v2_behavior",
        "colocate_with",
        "container",
        "no_gradient",
        "shape_n",
        "identity_n",
        "hessians",
    }
)
TENSOR_NAMESPACES = (
    "math.",
    "linalg.",
    "nn.",
    "random.",
    "image.",
    "strings.",
    "signal.",
    "sparse.",
    "ragged.",
    "bitwise.",
    "dtypes.cast",
    "audio.",
    "raw_ops.",
)
TENSOR_CLASSES = frozenset({"Variable", "RaggedTensor", "SparseTensor", "constant"})


def tf_call_kind(qualname: str) -> Kind | None:
    """Kind of the value a TF API call returns; None when `qualname` is not TF."""
    if qualname.startswith("keras.ops.") or qualname.startswith("keras.src.ops."):
        return keras_ops_kind(qualname)
    rest = names.strip_tf_root(qualname)
    if rest is None:
        return None
    if rest.startswith("keras.ops."):
        return keras_ops_kind(rest)
    if rest in TENSOR_CLASSES:
        return Kind.TENSOR
    last = rest.split(".")[-1]
    if last in PYTHON_LIST_OPS or rest in PYTHON_VALUED:
        return Kind.PYTHON
    if rest.startswith(NON_TENSOR_PREFIXES) or last[:1].isupper():
        return Kind.UNKNOWN  # classes: layers, linear operators, specs, RNN cells...
    if rest.startswith(TENSOR_NAMESPACES):
        return Kind.TENSOR
    if "." not in rest and rest[:1].islower():
        return Kind.TENSOR
    return Kind.UNKNOWN


# `keras.ops` functions whose result is no tensor: `shape(x)` is a Python tuple (of ints and,
# for unknown dims, tensors), `convert_to_numpy(x)` a NumPy array (it raises on a symbolic
# tensor), `dtype(x)` a string, `is_tensor(x)` a bool.
KERAS_OPS_PYTHON = frozenset({"shape", "ndim", "convert_to_numpy", "dtype", "is_tensor"})


# `keras.ops` functions that return a Python list of tensors, as `tf.split` does (checked on
# Keras 3.15: `split`, `array_split`, `unstack`, `meshgrid`): `len(ops.split(x, 2))` is an int.
KERAS_OPS_LISTS = frozenset({"split", "array_split", "unstack", "meshgrid"})


def keras_ops_kind(qualname: str) -> Kind:
    last = qualname.rsplit(".", 1)[-1]
    return Kind.PYTHON if last in KERAS_OPS_PYTHON or last in KERAS_OPS_LISTS else Kind.TENSOR


def keras_ops_list(qualname: str) -> bool:
    """`keras.ops.split` and the like (also under `tf.`): a list whose items are tensors."""
    rest = names.strip_tf_root(qualname) or qualname
    if rest.startswith("keras.src.ops."):
        rest = "keras.ops." + rest.rsplit(".", 1)[-1]
    return rest.startswith("keras.ops.") and rest.rsplit(".", 1)[-1] in KERAS_OPS_LISTS
