"""Rule lookup and selection: by code, code prefix, or kebab-case name."""

from __future__ import annotations

import difflib
import functools
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


def suggestions(key: str) -> list[str]:
    """Codes and names close to a misspelled `key`, best first: `difflib`'s ratio (as in
    `get_close_matches`) of at least 0.6 for a name and 0.8 for a code (digits matter:
    `TFG999` is not a typo of `TFG590`), and within 0.1 of the best, so that one clear
    match is not drowned by rules that merely share `-in-tf-function`."""
    spellings: dict[str, str] = {}
    for rule in all_rules():
        spellings[rule.CODE.lower()] = rule.CODE
        spellings[rule.NAME] = rule.NAME
    wanted = key.strip().lower()
    cutoff = 0.8 if wanted.startswith("tfg") else 0.6
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(wanted)
    scored: list[tuple[float, str]] = []
    for spelling in spellings:
        matcher.set_seq1(spelling)
        ratio = matcher.ratio()
        if ratio >= cutoff:
            scored.append((ratio, spelling))
    scored.sort(key=lambda item: (-item[0], item[1]))
    best = scored[0][0] if scored else 0.0
    return [spellings[s] for ratio, s in scored[:3] if ratio >= best - 0.1]


def did_you_mean(key: str) -> str:
    """`; did you mean `x`?` for an unknown rule, or `` when nothing is close."""
    close = [f"`{c}`" for c in suggestions(key)]
    if not close:
        return ""
    listed = close[0] if len(close) == 1 else ", ".join(close[:-1]) + " or " + close[-1]
    return f"; did you mean {listed}?"


def unknown_selector(what: str, selector: str, where: str = "") -> ConfigError:
    """The error for a selector that matches no rule, with close matches: `what` is the
    setting (`select`), `where` an optional detail after the selector (` (for `tests/*`)`)."""
    return ConfigError(
        f"{what}: `{selector}`{where} matches no rule{did_you_mean(selector)} "
        "(see `tfgraphlint rules`)"
    )


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
            raise unknown_selector(what, sel)
        out.update(found)
    return out


def selected_rules(config: Config, *, extra_ignore: Sequence[str] = ()) -> list[type[Rule]]:
    """Rules enabled by `select`/`extend-select`/`ignore`, sorted by code.

    As in ruff, the default set is every rule that is on by default; `select` replaces it,
    `extend-select` adds to it, and `ignore` wins over both unless a selector is more specific
    (an exact code or name selects a rule that a prefix ignores).
    """
    return list(
        _selected(
            all_rules(),  # a test may register a rule
            config.select,
            config.extend_select,
            (*config.ignore, *extra_ignore),
            config.show_conversions,
        )
    )


@functools.lru_cache(maxsize=64)
def _selected(
    rules: tuple[type[Rule], ...],
    select: tuple[str, ...] | None,
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    show_conversions: bool,
) -> tuple[type[Rule], ...]:
    """`selected_rules`, once per selection (every file of a run asks for the same one)."""
    if select is None:
        base = {r for r in rules if r.DEFAULT_ENABLED}
    else:
        base = _resolve(select, "select")
    extend = list(extend_select)
    if show_conversions:
        extend.append("TFG590")
    base |= _resolve(extend, "extend-select")
    chosen: set[type[Rule]] = set()
    for rule in base:
        best_select = _specificity(rule, [*(select or ()), *extend])
        best_ignore = _specificity(rule, ignore)
        if best_ignore is None or (best_select is not None and best_select > best_ignore):
            chosen.add(rule)
    _resolve(ignore, "ignore")  # unknown selectors in ignore are errors too
    return tuple(sorted(chosen, key=lambda r: r.CODE))


def _specificity(rule: type[Rule], selectors: Iterable[str]) -> int | None:
    best: int | None = None
    for sel in selectors:
        if rule in matching(sel):
            score = 100 if sel.lower() == rule.NAME else (0 if sel.upper() == "ALL" else len(sel))
            best = score if best is None else max(best, score)
    return best
