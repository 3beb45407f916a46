"""Every claim a reader would doubt shows the source's words beside it, with a link to the
source (issue 11); pages for people show labels, not RDF terms (issue 13)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from markupsafe import escape

from kg.store import Store
from kg.views.common import select

HTML = {"Accept": "text/html"}
BASE = "https://w3id.org/digistrat/"


def local(iri: str) -> str:
    return "/" + iri.removeprefix(BASE)


def test_a_status_is_shown_with_its_quote(client: TestClient, store: Store) -> None:
    rows = select(store, """SELECT ?s ?q WHERE { ?s a ds:Strategy ; ds:evidence ?e .
        ?e ds:supports ds:lifecycleStatus ; ds:quote ?q } LIMIT 25""")
    assert len(rows) >= 10
    for row in rows:
        page = client.get(local(row["s"].value), headers=HTML).text
        assert str(escape(row["q"].value)) in page, row["s"].value
        assert 'class="evidence"' in page


def test_a_decision_is_shown_with_its_quote_on_the_strategy_page(client: TestClient,
                                                                  store: Store) -> None:
    rows = select(store, """SELECT ?s ?q WHERE { ?s a ds:Strategy ; ds:adoptedIn ?d .
        ?d ds:evidence/ds:quote ?q } LIMIT 25""")
    assert len(rows) >= 10
    for row in rows:
        page = client.get(local(row["s"].value), headers=HTML).text
        adoption = page[page.index('class="adoption"'):]
        assert str(escape(row["q"].value)) in adoption, row["s"].value


def test_a_quote_links_its_source(client: TestClient, store: Store) -> None:
    rows = select(store, """SELECT ?s ?url WHERE { ?s a ds:Strategy ; ds:evidence ?e .
        ?e ds:supports ds:lifecycleStatus ; dct:source/schema:url ?url } LIMIT 5""")
    assert rows
    for row in rows:
        page = client.get(local(row["s"].value), headers=HTML).text
        figures = re.findall(r'<figure class="evidence">.*?</figure>', page, flags=re.S)
        assert any(str(escape(row["url"].value)) in f for f in figures)


def test_pages_for_people_show_labels_not_rdf_terms(client: TestClient, store: Store) -> None:
    samples = [r["x"].value for r in select(store, """SELECT ?x WHERE {
        { ?x a ds:Municipality } UNION { ?x a ds:Strategy } UNION { ?x a org:Post }
        UNION { ?x a ds:Decision } UNION { ?x a ds:GoverningBody } } LIMIT 60""")]
    assert len(samples) >= 30
    for iri in samples:
        text = re.sub(r"<[^>]+>", " ", client.get(local(iri), headers=HTML).text)
        raw = re.findall(r"\b(?:org|skos|dct|foaf|prov|owl|rdfs|eli|dcat|ds):[A-Za-z_]+\b",
                         text)
        assert raw == [], (iri, raw[:5])


def test_a_municipality_page_has_one_identifiers_section(client: TestClient) -> None:
    page = client.get("/id/municipality/de-05113000?lang=en", headers=HTML).text
    assert page.count("<h2>Identifiers") == 1
