"""Docs that cannot drift: every setting and every CLI command is documented."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from api.cli import main
from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_every_setting_is_documented(name: str) -> None:
    flag = "--" + name.replace("_", "-")
    assert name in DOCS + README or flag in DOCS + README, f"{name} is not in docs/ or README"


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"digistrat {command}" in README


def test_the_readme_names_the_test_command_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and "`make test`" in README
