"""One engine: ``digistrat validate --format json``, ``POST /validate`` and the page give the
same results on the same files, with the same lines and columns: the corpus, the templates,
every RDF syntax, the spreadsheet template, and files that are no RDF."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from validate_helpers import CORPUS, MEDIA_TYPES, result_set

from api.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
FILES = [CORPUS / name for name in ("missing-required.ttl", "wrong-datatypes.ttl",
                                    "ags-seven-digits.ttl", "bfs-letters.ttl",
                                    "end-before-start.ttl", "dangling.ttl")]
FILES += [ROOT / "templates" / "strategy.ttl", ROOT / "templates" / "strategy.jsonld",
          ROOT / "templates" / "strategy-elements-de.csv",
          ROOT / "templates" / "strategy-elements-en.csv"]
MEDIA_TYPES = {**MEDIA_TYPES, "csv": "text/csv"}


@pytest.fixture(scope="module")
def more_syntaxes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """missing-required.ttl in N-Triples, RDF/XML and JSON-LD (written by rdflib), so that
    positions are compared in every syntax."""
    from rdflib import Graph

    folder = tmp_path_factory.mktemp("syntaxes")
    graph = Graph().parse(CORPUS / "missing-required.ttl", format="turtle")
    paths = []
    for suffix, fmt in (("nt", "nt"), ("rdf", "xml"), ("jsonld", "json-ld")):
        path = folder / f"missing-required.{suffix}"
        path.write_text(graph.serialize(format=fmt), encoding="utf-8")
        paths.append(path)
    return paths


def positioned(results: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """Each result's resource with where it is stated (blank node labels blanked out)."""
    return {(re.sub(r"_:[A-Za-z0-9]+", "_:b", r["focus_node"]), r["line"], r["column"])
            for r in results}


def page_results(text: str) -> set[tuple[Any, ...]]:
    """The (resource, line) pairs and messages the report page shows."""
    found = set()
    for section in re.findall(r'<section class="resource[^"]*" data-line="(\d*)">(.*?)</section>',
                              text, flags=re.S):
        line, body = section
        focus = html_lib.unescape(re.search(r"<h3>[^<]*<code>([^<]*)</code>", body).group(1))
        for message in re.findall(r'class="message"[^>]*>([^<]*)<', body):
            found.add((re.sub(r"_:[A-Za-z0-9]+", "_:b", focus), int(line) if line else None,
                       html_lib.unescape(message)))
    return found


def compare(client: TestClient, path: Path, lang: str) -> None:
    outcome = CliRunner().invoke(main, ["validate", str(path), "--root", str(ROOT),
                                        "--format", "json", "--lang", lang])
    cli = json.loads(outcome.output)
    media_type = MEDIA_TYPES[path.suffix.lstrip(".")]
    response = client.post(f"/validate?lang={lang}", content=path.read_bytes(), headers={
        "Content-Type": media_type, "Accept": "application/json"})
    assert response.status_code == 200
    api = response.json()
    assert outcome.exit_code == (0 if cli["conforms"] else 1)
    assert cli["conforms"] == api["conforms"]
    assert cli["counts"] == api["counts"]
    assert result_set(cli["results"]) == result_set(api["results"])
    assert positioned(cli["results"]) == positioned(api["results"])
    assert all(r["line"] for r in api["results"])  # every resource was found in the text
    assert cli["results"] or path.parent.name == "templates"
    page = client.post("/validate", files={"file": (path.name, path.read_bytes(),
                                                    "application/octet-stream")},
                       data={"lang": lang}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    shown = page_results(page.text)
    assert shown == {(re.sub(r"_:[A-Za-z0-9]+", "_:b", r["focus_node"]), r["line"],
                      r["message"]) for r in api["results"]}
    verdict = 'data-conforms="true"' if api["conforms"] else 'data-conforms="false"'
    assert verdict in page.text


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_cli_endpoint_and_page_agree(client: TestClient, path: Path, lang: str) -> None:
    compare(client, path, lang)


def test_they_agree_in_every_rdf_syntax(client: TestClient, more_syntaxes: list[Path]) -> None:
    assert len(more_syntaxes) == 3
    for path in more_syntaxes:
        compare(client, path, "en")


def test_cli_reports_a_syntax_error_with_exit_2() -> None:
    outcome = CliRunner().invoke(main, ["validate", str(CORPUS / "syntax-turtle.ttl"),
                                        "--root", str(ROOT)])
    assert outcome.exit_code == 2
    assert "line 5" in outcome.output


def test_cli_text_report_names_the_line(client: TestClient) -> None:
    path = CORPUS / "dangling.ttl"
    outcome = CliRunner().invoke(main, ["validate", str(path), "--root", str(ROOT)])
    api = client.post("/validate", content=path.read_bytes(), headers={
        "Content-Type": "text/turtle", "Accept": "application/json"}).json()
    lines = {r["line"] for r in api["results"]}
    assert lines
    for line in lines:
        assert f"(line {line}, column 1)" in outcome.output


@pytest.mark.parametrize("name,data", [("x.pdf", b"%PDF-1.5\n"), ("x.png", b"\x89PNG\r\n\x1a\n")])
def test_files_that_are_no_rdf_are_named_alike(client: TestClient, tmp_path: Path, name: str,
                                               data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    outcome = CliRunner().invoke(main, ["validate", str(path), "--root", str(ROOT)])
    api = client.post("/validate", files={"file": (name, data, "application/octet-stream")},
                      headers={"Accept": "application/json"}).json()
    page = client.post("/validate", files={"file": (name, data, "application/octet-stream")},
                       data={"lang": "en"}, headers={"Accept": "text/html"}).text
    assert outcome.exit_code == 2
    assert api["error"] in outcome.output and api["advice"] in outcome.output
    assert html_lib.escape(api["error"], quote=False) in page
    assert html_lib.escape(api["advice"], quote=False).replace("'", "&#39;") in page
