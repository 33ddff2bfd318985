"""Rule lookup and selection: by code, code prefix, or kebab-case name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tfgraphlint.config import Config, ConfigError
from tfgraphlint.engine.rule import Rule


def all_rules() -> tuple[type[Rule], ...]:
    from tfgraphlint.rules import ALL_RULES

    return ALL_RULES


def find_rule(key: str) -> type[Rule] | None:
    """A rule by exact code (case-insensitive) or name."""
    for rule in all_rules():
        if key.upper() == rule.CODE or key.lower() == rule.NAME:
            return rule
    return None


def matching(selector: str, rules: Iterable[type[Rule]] | None = None) -> list[type[Rule]]:
    """Rules a selector names: `ALL`, a code, a code prefix (`TFG1`), or a name."""
    pool = list(rules if rules is not None else all_rules())
    sel = selector.strip()
    if sel.upper() == "ALL":
        return pool
    if sel.upper().startswith("TFG"):
        return [r for r in pool if r.CODE.startswith(sel.upper())]
    return [r for r in pool if sel.lower() == r.NAME]


def _resolve(selectors: Sequence[str], what: str) -> set[type[Rule]]:
    out: set[type[Rule]] = set()
    for sel in selectors:
        found = matching(sel)
        if not found:
            raise ConfigError(f"{what}: `{sel}` matches no rule (see `tfgraphlint rules`)")
        out.update(found)
    return out


def selected_rules(config: Config, *, extra_ignore: Sequence[str] = ()) -> list[type[Rule]]:
    """Rules enabled by `select`/`extend-select`/`ignore`, sorted by code.

    As in ruff, the default set is every rule that is on by default; `select` replaces it,
    `extend-select` adds to it, and `ignore` wins over both unless a selector is more specific
    (an exact code or name selects a rule that a prefix ignores).
    """
    if config.select is None:
        base = {r for r in all_rules() if r.DEFAULT_ENABLED}
    else:
        base = _resolve(config.select, "select")
    extend = list(config.extend_select)
    if config.show_conversions:
        extend.append("TFG590")
    base |= _resolve(extend, "extend-select")
    ignored = list(config.ignore) + list(extra_ignore)
    chosen: set[type[Rule]] = set()
    for rule in base:
        best_select = _specificity(rule, [*(config.select or ()), *extend])
        best_ignore = _specificity(rule, ignored)
        if best_ignore is None or (best_select is not None and best_select > best_ignore):
            chosen.add(rule)
    _resolve(ignored, "ignore")  # unknown selectors in ignore are errors too
    return sorted(chosen, key=lambda r: r.CODE)


def _specificity(rule: type[Rule], selectors: Iterable[str]) -> int | None:
    best: int | None = None
    for sel in selectors:
        if rule in matching(sel):
            score = 100 if sel.lower() == rule.NAME else (0 if sel.upper() == "ALL" else len(sel))
            best = score if best is None else max(best, score)
    return best
