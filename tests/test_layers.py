"""The layers of the code (docs/architecture.md): ``kg`` knows nothing of the web.

Read from the source, not from a running interpreter: every import statement of every
module under ``kg/`` (also those inside functions) is checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ("api", "fastapi", "starlette", "uvicorn", "jinja2", "httptools", "multipart")


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def test_kg_imports_nothing_of_the_web() -> None:
    modules = sorted((ROOT / "kg").rglob("*.py"))
    assert len(modules) >= 15
    offending = [(m.relative_to(ROOT).as_posix(), name) for m in modules
                 for name in imports(m) if name.split(".")[0] in WEB]
    assert offending == []


def test_the_console_command_is_the_web_side_extending_kg() -> None:
    from api.cli import main

    assert "serve" in main.commands and {"check", "validate", "query", "load"} <= set(
        main.commands)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'digistrat = "api.cli:main"' in pyproject
