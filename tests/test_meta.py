"""Consistency of the rule set, the docs, the changelog and CI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tfgraphlint.engine.rule import REQUIRED_DOC_SECTIONS
from tfgraphlint.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent


def test_codes_and_names_unique() -> None:
    codes = [r.CODE for r in ALL_RULES]
    names = [r.NAME for r in ALL_RULES]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))


def test_rule_module_and_class_follow_the_name() -> None:
    for rule in ALL_RULES:
        assert rule.__module__ == "tfgraphlint.rules." + rule.NAME.replace("-", "_")
        assert rule.__name__.lower() == rule.NAME.replace("-", "")


def test_every_rule_documented_with_examples() -> None:
    for rule in ALL_RULES:
        doc = rule.__doc__ or ""
        for section in REQUIRED_DOC_SECTIONS:
            assert section in doc, (rule.CODE, section)
        assert rule.VALID and rule.INVALID
        assert (ROOT / "docs" / "rules" / f"{rule.CODE}.md").is_file()


def test_every_code_in_changelog() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for rule in ALL_RULES:
        assert rule.CODE in changelog, rule.CODE


def test_generated_docs_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_readme_quick_start() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [c for c in block.group(1).splitlines() if c.strip()]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    ci_commands = [c for c in ci if c.strip() and not c.startswith(("#", "set ", "cd "))]
    assert ci_commands[: len(commands)] == commands  # first and exact
    # Later steps (the libCST range, the oldest supported TensorFlow) are each named in the README.
    assert all(f"`{c}`" in readme for c in ci_commands[len(commands) :])
