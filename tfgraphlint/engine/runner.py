"""The engine: one parse, one batched traversal per file, every rule isolated."""

from __future__ import annotations

import contextlib
import fnmatch
import io
import tokenize
from collections.abc import Sequence
from pathlib import Path, PurePath

import libcst as cst
from libcst.metadata import MetadataWrapper

from tfgraphlint._types import FileError, LintResult
from tfgraphlint.config import Config
from tfgraphlint.discovery.model import ModuleDiscovery
from tfgraphlint.discovery.provider import (
    DISCOVERY_OPTIONS,
    CompiledContextProvider,
    DiscoveryOptions,
)
from tfgraphlint.engine import noqa as noqa_mod
from tfgraphlint.engine.registry import matching, selected_rules
from tfgraphlint.engine.rule import FileState, Rule


def decode_source(data: bytes) -> str:
    """Decode as Python does: a PEP 263 cookie or BOM, else UTF-8. Raises UnicodeDecodeError
    or SyntaxError (bad cookie)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def _decode_error(path: str, data: bytes, exc: Exception) -> FileError:
    if isinstance(exc, UnicodeDecodeError):
        line = data[: exc.start].count(b"\n") + 1
        return FileError(path, f"cannot decode file: {exc.reason} ({exc.encoding})", line, "io")
    return FileError(path, f"cannot decode file: {exc}", None, "io")


def _needles(config: Config) -> tuple[str, ...]:
    roots = {d.split(".")[0].strip("*") for d in config.extra_function_decorators}
    return ("tensorflow", "keras", *sorted(r for r in roots if r))


def may_contain_compiled_code(text: str, config: Config) -> bool:
    """Cheap and sound prefilter: every compiled body is reached through a name that resolves
    into `tensorflow`/`keras` (or a configured decorator), which needs an import naming it."""
    return any(needle in text for needle in _needles(config))


def lint_source(
    source: str | bytes,
    path: str = "<stdin>",
    config: Config | None = None,
    *,
    noqa: bool = True,
    rules: Sequence[type[Rule]] | None = None,
) -> LintResult:
    """Check one file's source. Never raises on bad input: problems become `errors`."""
    config = config or Config()
    result = LintResult(path)
    if isinstance(source, bytes):
        try:
            text = decode_source(source)
        except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
            result.errors.append(_decode_error(path, source, exc))
            return result
    else:
        text = source[1:] if source.startswith("\ufeff") else source
    if not may_contain_compiled_code(text, config):
        return result
    if noqa and noqa_mod.file_is_skipped(text):
        return result
    chosen = list(rules) if rules is not None else selected_rules(config)
    ignored = per_file_ignored(path, config)
    if ignored:
        chosen = [r for r in chosen if r not in ignored]
    if not chosen:
        return result
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        result.errors.append(FileError(path, f"syntax error: {exc.message}", exc.raw_line))
        return result
    except RecursionError:
        result.errors.append(FileError(path, "too deeply nested to parse", None))
        return result
    except Exception as exc:  # libcst raises a few other types on odd input (null bytes)
        result.errors.append(FileError(path, f"cannot parse: {exc}", None))
        return result

    token = DISCOVERY_OPTIONS.set(
        DiscoveryOptions(
            extra_function_decorators=config.extra_function_decorators,
            keras_call=config.keras_call,
            follow_calls=config.follow_calls,
        )
    )
    try:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        discovery = wrapper.resolve(CompiledContextProvider).get(module)
        if isinstance(discovery, ModuleDiscovery) and not discovery.references_tf_function:
            return result
        state = FileState(path=path, config=config, module=module)
        visitors = [rule(state) for rule in chosen]
        wrapper.visit_batched(visitors)
    except RecursionError:
        result.errors.append(FileError(path, "too deeply nested to analyse", None, "internal"))
        return result
    finally:
        DISCOVERY_OPTIONS.reset(token)

    for code, err in state.rule_errors:
        result.errors.append(
            FileError(
                path,
                f"internal error in rule {code}: {type(err).__name__}: {err}",
                None,
                "internal",
            )
        )
    findings = sorted(state.findings, key=lambda f: (f.line, f.column, f.code))
    if noqa:
        findings = noqa_mod.apply_noqa(text, findings)
    result.findings = findings
    return result


def per_file_ignored(path: str, config: Config) -> set[type[Rule]]:
    if not config.per_file_ignores:
        return set()
    rel = PurePath(path).as_posix()
    if config.root is not None:
        with contextlib.suppress(ValueError, OSError):
            rel = Path(path).resolve().relative_to(config.root).as_posix()
    out: set[type[Rule]] = set()
    for glob, selectors in config.per_file_ignores:
        if fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(PurePath(rel).name, glob):
            for sel in selectors:
                out.update(matching(sel))
    return out
