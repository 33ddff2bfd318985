"""Regenerate docs/rules/*.md, docs/rules/index.md and the README rules and options tables.

Usage: python scripts/gen_docs.py [--check]
With --check, write nothing and exit 1 when a generated file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tfgraphlint.docs import (
    OPTIONS_END,
    OPTIONS_START,
    index_page,
    options_table,
    replace_table,
    rule_page,
    rules_table,
)
from tfgraphlint.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent


def expected_files() -> dict[Path, str]:
    out = {ROOT / "docs" / "rules" / f"{r.CODE}.md": rule_page(r) for r in ALL_RULES}
    out[ROOT / "docs" / "rules" / "index.md"] = index_page(ALL_RULES)
    readme = ROOT / "README.md"
    text = replace_table(readme.read_text(encoding="utf-8"), rules_table(ALL_RULES))
    out[readme] = replace_table(text, options_table(), OPTIONS_START, OPTIONS_END)
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    files = expected_files()
    for path, text in files.items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    folder = ROOT / "docs" / "rules"
    for extra in sorted(folder.glob("*.md")):
        if extra not in files:
            stale.append(extra)
            if not check:
                extra.unlink()
    for path in stale:
        print(f"{'stale' if check else 'wrote'}: {path.relative_to(ROOT)}")
    return 1 if (check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
