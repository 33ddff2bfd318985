"""What discovery knows about one compiled body: why it is traced, and how."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from tfgraphlint._types import ExternalCall


class ContextKind(str, enum.Enum):
    DECORATED = "decorated"  # @tf.function / @tf.function(...) / configured wrapper
    WRAPPED = "wrapped"  # g = tf.function(f), tf.function(...)(f), tf.function(lambda ...)
    HELPER = "helper"  # a function called from a compiled body (same module, or imported)
    NESTED = "nested"  # a def or lambda nested inside a compiled body
    DATASET_CALLBACK = "dataset-callback"  # Dataset.map/filter/... callback
    GRAPH_BODY = "graph-body"  # tf.map_fn / tf.while_loop / tf.cond body in a compiled body
    KERAS_STEP = "keras-step"  # Model.train_step / test_step / predict_step override
    KERAS_CALL = "keras-call"  # Layer/Model.call
    KERAS_LOSS = "keras-loss"  # a loss passed to `compile`, or `Loss.call` in a subclass
    KERAS_METRIC = "keras-metric"  # a metric passed to `compile`, `Metric.update_state`/`result`


@dataclass(frozen=True, slots=True)
class CompiledContext:
    """Why a function body is traced into a graph.

    `root` is the compiled function the body is reached from (itself for a root).
    `converted` says whether AutoGraph rewrites its control flow: False under
    `autograph=False`, `do_not_convert`, and Keras `train_step`/`call`.
    `signature_params` are the parameters an `input_signature` covers (they are tensors).
    """

    kind: ContextKind
    qualname: str
    line: int
    root_qualname: str
    root_line: int
    converted: bool = True
    has_input_signature: bool = False
    signature_params: frozenset[str] = frozenset()
    # How the body is reached: the API of a callback or graph body ("Dataset.map",
    # "tf.while_loop", ...); for a helper passed to a compiled function, the parameter it is
    # passed as ("loss_fn"); for a Keras `call` a compiled body runs, the instance ("net").
    via: str | None = None
    # Where a helper is called from its caller (for a passed helper, where it is passed; for a
    # Keras `call`, where the compiled body calls the instance).
    call_line: int | None = None
    caller_qualname: str | None = None
    options: tuple[tuple[str, str], ...] = field(default=())
    root_label: str = "tf.function"  # what the root is: "tf.function", "`Dataset.map` callback"
    # follow-imports: the files of the root and of the caller when they are not this file.
    root_path: str | None = None
    caller_path: str | None = None
    # Why AutoGraph does not convert this body when no root option says so (a phrase).
    unconverted_reason: str | None = None
    # Only code that fails or misbehaves when traced without conversion is reported here
    # (a Keras `call` found by default, without `keras-call = true`): `engine.rule`.
    breaking_only: bool = False

    @property
    def is_root(self) -> bool:
        return self.kind in (ContextKind.DECORATED, ContextKind.WRAPPED)

    def describe(self) -> str:
        """A phrase for messages: where the finding is and why that code is traced."""
        name = f"`{self.qualname}`"
        root = f"{self.root_label} `{self.root_qualname}`"
        if self.root_path is not None:
            root += f" in {self.root_path}"
        if self.kind in (ContextKind.DECORATED, ContextKind.WRAPPED):
            return f"tf.function {name}"
        if self.kind is ContextKind.HELPER and self.via is not None:
            # A function passed to a compiled function that calls that parameter.
            at = f" at line {self.call_line}" if self.caller_path is None else ""
            if self.caller_qualname == self.root_qualname and self.root_path == self.caller_path:
                to = f"{self.root_label} `{self.root_qualname}`"
            else:
                to = f"`{self.caller_qualname}` (reached from {root})"
            return f"{name} (passed as `{self.via}`{at} to {to}, which calls it while tracing)"
        if self.kind is ContextKind.HELPER:
            where = (
                f", line {self.call_line}"
                if self.caller_path is None
                else f" at {self.caller_path}:{self.call_line}"
            )
            if self.caller_qualname == self.root_qualname and self.root_path == self.caller_path:
                return f"{name} (called from {self.root_label} `{self.root_qualname}`{where})"
            return f"{name} (called from `{self.caller_qualname}`{where}, reached from {root})"
        if self.kind is ContextKind.NESTED:
            return f"{name} (nested in {root})"
        if self.kind is ContextKind.DATASET_CALLBACK:
            return f"{name} (a `{self.via}` callback, traced once into the dataset graph)"
        if self.kind is ContextKind.GRAPH_BODY:
            return f"{name} (a `{self.via}` function inside {root})"
        if self.kind is ContextKind.KERAS_STEP:
            return f"{name} (traced by `Model.fit` unless the model runs eagerly)"
        if self.kind is ContextKind.KERAS_LOSS:
            return f"{name} (a Keras loss, traced by `Model.fit` unless the model runs eagerly)"
        if self.kind is ContextKind.KERAS_METRIC:
            return f"{name} (a Keras metric, traced by `Model.fit` unless the model runs eagerly)"
        if self.caller_qualname is not None and self.via is not None:
            return (
                f"{name} (a Keras `call`, traced where `{self.caller_qualname}` calls "
                f"`{self.via}(...)` at line {self.call_line})"
            )
        return f"{name} (a Keras 3 `call`, traced by Keras unless the model runs eagerly)"


@dataclass(frozen=True, slots=True)
class ModuleDiscovery:
    """Module-level summary: every compiled body, and whether TF's `function` is referenced."""

    contexts: tuple[CompiledContext, ...]
    references_tf_function: bool
    # follow-imports: calls from compiled bodies to functions imported from other modules.
    external_calls: tuple[ExternalCall, ...] = ()
    # `tf.function(...)` is called (on anything: `tf.function(model)` makes no context here).
    calls_tf_function: bool = False
    # A top-level statement turns `tf.config.run_functions_eagerly(True)` on and nothing in
    # the module turns it off: once the module is imported, every tf.function (and what
    # Keras traces) runs eagerly (`provider.runs_functions_eagerly`).
    runs_functions_eagerly: bool = False

    @property
    def only_default_keras_calls(self) -> bool:
        """Every compiled context is a Keras `call` found by default
        (`CompiledContext.breaking_only`), and nothing calls `tf.function`: nothing in the
        module is known to trace but what Keras may."""
        return (
            bool(self.contexts)
            and not self.calls_tf_function
            and all(c.breaking_only for c in self.contexts)
        )


def root_context(ctx: CompiledContext, discovery: object) -> CompiledContext:
    """The context of the tf.function `ctx` is reached from, when it is in this module (it
    holds the root's options); else `ctx` itself."""
    if ctx.is_root or ctx.root_path is not None or not isinstance(discovery, ModuleDiscovery):
        return ctx
    return next(
        (
            c
            for c in discovery.contexts
            if c.is_root and c.qualname == ctx.root_qualname and c.line == ctx.root_line
        ),
        ctx,
    )


def autograph_feature_on(ctx: CompiledContext, discovery: object, feature: str) -> bool:
    """Whether the root tf.function turns on an optional AutoGraph feature
    (`experimental_autograph_options=tf.autograph.experimental.Feature.<feature>`, or `ALL`);
    the option applies to the helpers AutoGraph converts from it (checked on TF 2.21)."""
    return any(
        key == "experimental_autograph_options"
        and (f"Feature.{feature}" in value or "Feature.ALL" in value)
        for key, value in root_context(ctx, discovery).options
    )
