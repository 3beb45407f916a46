"""POST /validate and GET /validate through the real app: formats, languages, forms,
context, templates and the time limit."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.namespace import SH
from validate_helpers import big_submission

from kg.store import Store

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE_TTL = ROOT / "templates" / "strategy.ttl"
TEMPLATE_JSONLD = ROOT / "templates" / "strategy.jsonld"
CORPUS = ROOT / "tests" / "validation_corpus"
TURTLE = {"Content-Type": "text/turtle"}


def post(client: TestClient, body: bytes, path: str = "/validate",
         **headers: str) -> object:
    return client.post(path, content=body, headers={**TURTLE, **headers})


# --- the templates ---------------------------------------------------------------------


@pytest.mark.parametrize("path,media_type", [(TEMPLATE_TTL, "text/turtle"),
                                             (TEMPLATE_JSONLD, "application/ld+json")])
def test_template_conforms_in_the_context_of_the_graph(client: TestClient, path: Path,
                                                       media_type: str) -> None:
    response = client.post("/validate", content=path.read_bytes(),
                           headers={"Content-Type": media_type})
    assert response.status_code == 200
    body = response.json()
    violations = [r for r in body["results"] if r["severity"] == "Violation"]
    assert violations == [], violations
    assert body["conforms"] is True
    assert body["triples"] > 30


def test_templates_say_the_same_in_both_syntaxes() -> None:
    turtle = Graph().parse(TEMPLATE_TTL, format="turtle")
    jsonld = Graph().parse(TEMPLATE_JSONLD, format="json-ld")
    assert isomorphic(turtle, jsonld)


def test_template_needs_the_graph(store: Store) -> None:
    """Without the graph, the municipality and body the template points to are unknown."""
    from kg.submission import validate_submission

    graph = Graph().parse(TEMPLATE_TTL, format="turtle")
    alone = validate_submission(store, graph, with_data=False)
    assert not alone.conforms
    assert any(r.path and r.path.endswith("#ownedBy") for r in alone.results)


@pytest.mark.parametrize("name,media_type", [("strategy.ttl", "text/turtle"),
                                             ("strategy.jsonld", "application/ld+json")])
def test_templates_are_downloadable(client: TestClient, name: str, media_type: str) -> None:
    response = client.get(f"/validate/templates/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.content == (ROOT / "templates" / name).read_bytes()
    assert client.get("/validate/templates/other.ttl").status_code == 404


# --- in context --------------------------------------------------------------------------


def test_references_into_the_graph_resolve(client: TestClient) -> None:
    """ownedBy a municipality in the graph: it is a ds:Municipality there, not dangling."""
    body = TEMPLATE_TTL.read_bytes()
    results = post(client, body).json()["results"]  # type: ignore[attr-defined]
    assert not any(r["path"] and r["path"].endswith("#ownedBy") for r in results)


def test_only_the_submissions_own_resources_are_reported(client: TestClient) -> None:
    results = post(client, TEMPLATE_TTL.read_bytes()).json()["results"]  # type: ignore[attr-defined]
    own = {str(s) for s in Graph().parse(TEMPLATE_TTL).subjects()}
    assert {r["focus_node"] for r in results} <= own


def test_blank_node_resources_are_validated(client: TestClient) -> None:
    body = b"""@prefix ds: <https://w3id.org/digistrat/ontology#> .
        [] a ds:Strategy ."""
    data = post(client, body).json()  # type: ignore[attr-defined]
    assert data["conforms"] is False
    assert all(r["focus_node"].startswith("_:") for r in data["results"])
    assert any(r["path"] == "http://purl.org/dc/terms/title" for r in data["results"])


def test_a_wrong_concept_in_a_nested_shape_is_found(client: TestClient) -> None:
    """sh:node value shapes run on vocabulary concepts of the context."""
    body = TEMPLATE_TTL.read_bytes().replace(
        b"dct:type stype:digital-strategy", b"dct:type lifecycle:adopted")
    results = post(client, body).json()["results"]  # type: ignore[attr-defined]
    assert any(r["path"] == "http://purl.org/dc/terms/type" and r["severity"] == "Violation"
               for r in results)


# --- output formats and languages ------------------------------------------------------------


def test_report_as_turtle_and_jsonld(client: TestClient) -> None:
    bad = (CORPUS / "missing-required.ttl").read_bytes()
    for how, fmt in (({"Accept": "text/turtle"}, "turtle"),
                     ({"Accept": "application/ld+json"}, "json-ld")):
        response = post(client, bad, **how)
        assert response.status_code == 200  # type: ignore[attr-defined]
        graph = Graph().parse(data=response.content, format=fmt)  # type: ignore[attr-defined]
        assert (None, SH.conforms, None) in graph
        assert len(list(graph.subjects(SH.focusNode, None))) >= 3
    response = post(client, bad, path="/validate?format=turtle", Accept="application/json")
    assert response.headers["content-type"].startswith("text/turtle")  # type: ignore[attr-defined]


def test_report_as_html_is_grouped_and_links_shapes(client: TestClient) -> None:
    response = post(client, (CORPUS / "dangling.ttl").read_bytes(), Accept="text/html")
    assert response.status_code == 200  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    # one resource with violations (placeholders and plausibility may warn about others)
    assert html.count('class="resource has-violation"') == 1
    assert 'href="/shapes#Strategy-lifecycleStatus"' in html
    assert 'href="/validate#dangling-references"' in html
    assert 'id="dangling-references"' in html  # the explanation the link leads to
    shapes = client.get("/shapes", headers={"Accept": "text/html"}).text
    assert 'id="Strategy-lifecycleStatus"' in shapes  # where the shape link leads


def test_not_acceptable(client: TestClient) -> None:
    response = post(client, TEMPLATE_TTL.read_bytes(), Accept="image/png")
    assert response.status_code == 406  # type: ignore[attr-defined]


@pytest.mark.parametrize("how,lang", [({"path": "/validate?lang=de"}, "de"),
                                      ({"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"}, "de"),
                                      ({"Accept-Language": "fr, en;q=0.8"}, "en"),
                                      ({}, "en")])
def test_messages_in_the_readers_language(client: TestClient, how: dict[str, str],
                                          lang: str) -> None:
    how = dict(how)
    path = how.pop("path", "/validate")
    data = post(client, (CORPUS / "missing-required.ttl").read_bytes(), path=path,
                **how).json()  # type: ignore[attr-defined]
    assert data["lang"] == lang
    title = next(r for r in data["results"] if r["source_shape"].endswith("#Strategy-title"))
    german = "braucht einen Titel" in title["message"]
    assert german == (lang == "de")


# --- forms ---------------------------------------------------------------------------------


def test_multipart_upload(client: TestClient) -> None:
    response = client.post("/validate", files={"file": ("x.rdf", (
        CORPUS / "syntax-rdfxml.rdf").read_bytes(), "application/octet-stream")},
        headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["line"] == 5


def test_multipart_upload_with_chosen_format(client: TestClient) -> None:
    response = client.post("/validate", files={"file": ("data.txt", TEMPLATE_JSONLD.read_bytes(),
                                                        "text/plain")},
                           data={"syntax": "jsonld"}, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.json()["conforms"] is True


def test_pasted_form_answers_html_without_javascript(client: TestClient) -> None:
    response = client.post("/validate", data={"data": (CORPUS / "bfs-letters.ttl").read_text(),
                                              "syntax": "turtle", "lang": "de"},
                           headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert 'data-conforms="false"' in response.text
    assert "BFS-Gemeindenummer" in response.text
    assert 'lang="de"' in response.text


def test_form_syntax_error_is_shown_on_the_page(client: TestClient) -> None:
    response = client.post("/validate", data={"data": "<a> <b> .", "syntax": "turtle"},
                           headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert 'role="alert"' in response.text


def test_empty_form_is_400(client: TestClient) -> None:
    response = client.post("/validate", data={"data": "  "},
                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["type"] == "empty"


def test_page_offers_form_and_templates(client: TestClient) -> None:
    html = client.get("/validate", headers={"Accept-Language": "de"}).text
    assert '<form id="validate-form"' in html and 'method="post"' in html
    assert 'name="file"' in html and 'name="data"' in html and 'name="syntax"' in html
    assert "/validate/templates/strategy.ttl" in html
    assert "/validate/templates/strategy.jsonld" in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # no CDN


# --- the time limit -----------------------------------------------------------------------


def test_a_validation_past_its_deadline_is_killed(client: TestClient, store: Store,
                                                  make_client: Callable[..., TestClient]
                                                  ) -> None:
    quick = make_client(validation_timeout_ms=150)
    pool = quick.app.state.validation_pool  # type: ignore[attr-defined]
    before = pool.worker_pids
    response = post(quick, big_submission(200))
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    assert response.json()["type"] == "validation-timeout"  # type: ignore[attr-defined]
    for pid in before:  # the worker that ran it is gone, not left running
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert pool.worker_pids and pool.worker_pids != before
    again = post(client, TEMPLATE_TTL.read_bytes())
    assert again.status_code == 200  # type: ignore[attr-defined]
    assert json.loads(again.content)["conforms"] is True  # type: ignore[attr-defined]


def test_a_run_leaves_nothing_behind_for_the_next(store: Store) -> None:
    """The ontology layer is kept in one graph across runs; each run's submission and
    context are taken away again, so a second submission is judged on its own."""
    from kg.submission import PreparedShapes, validate_submission

    prepared = PreparedShapes.of_store(store)
    before = len(prepared._base)
    template = Graph().parse(TEMPLATE_TTL, format="turtle")
    first = validate_submission(store, template)
    assert len(prepared._base) == before
    lone = Graph().parse(data=b"""@prefix ds: <https://w3id.org/digistrat/ontology#> .
        <https://w3id.org/digistrat/id/element/stadt-vorlage-2030-9> a ds:ActionField ;
            ds:isElementOf <https://w3id.org/digistrat/id/strategy/stadt-vorlage-2030> .""",
                         format="turtle")
    alone = validate_submission(store, lone)
    assert any(r.source_shape.endswith("#DanglingReference") for r in alone.results)
    assert len(prepared._base) == before
    again = validate_submission(store, template)
    assert {(r.focus_node, r.path, r.message) for r in again.results} == {
        (r.focus_node, r.path, r.message) for r in first.results}
