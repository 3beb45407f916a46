"""One engine: ``digistrat validate --format json`` and ``POST /validate`` give the same
results on the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from validate_helpers import CORPUS, MEDIA_TYPES, result_set

from api.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
FILES = [CORPUS / name for name in ("missing-required.ttl", "wrong-datatypes.ttl",
                                    "ags-seven-digits.ttl", "bfs-letters.ttl",
                                    "end-before-start.ttl", "dangling.ttl")]
FILES += [ROOT / "templates" / "strategy.ttl", ROOT / "templates" / "strategy.jsonld"]


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_cli_and_endpoint_agree(client: TestClient, path: Path, lang: str) -> None:
    outcome = CliRunner().invoke(main, ["validate", str(path), "--root", str(ROOT),
                                        "--format", "json", "--lang", lang])
    cli = json.loads(outcome.output)
    response = client.post(f"/validate?lang={lang}", content=path.read_bytes(), headers={
        "Content-Type": MEDIA_TYPES[path.suffix.lstrip(".")], "Accept": "application/json"})
    assert response.status_code == 200
    api = response.json()
    assert outcome.exit_code == (0 if cli["conforms"] else 1)
    assert cli["conforms"] == api["conforms"]
    assert cli["counts"] == api["counts"]
    assert result_set(cli["results"]) == result_set(api["results"])
    assert cli["results"] or path.parent.name == "templates"


def test_cli_reports_a_syntax_error_with_exit_2() -> None:
    outcome = CliRunner().invoke(main, ["validate", str(CORPUS / "syntax-turtle.ttl"),
                                        "--root", str(ROOT)])
    assert outcome.exit_code == 2
    assert "line 5" in outcome.output
