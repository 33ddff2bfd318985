"""Every rule, one per module, named after the rule (`print_in_tf_function.py` holds
`PrintInTfFunction`, TFG101 `print-in-tf-function`). `ALL_RULES` is sorted by code."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from tfgraphlint.engine.rule import Rule


def _collect() -> tuple[type[Rule], ...]:
    found: list[type[Rule]] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Rule) and obj is not Rule and obj.__module__ == module.__name__:
                found.append(obj)
    return tuple(sorted(found, key=lambda r: r.CODE))


ALL_RULES: tuple[type[Rule], ...] = _collect()
