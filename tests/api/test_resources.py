"""Dereferencing the dataset's IRIs: formats, negotiation, isomorphism with the store."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from rdflib import BNode, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF
from support import cbd

from kg.formats import syntax_named
from kg.namespaces import BASE, PREFIXES
from kg.store import Store

ACCEPT = {
    "html": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
}
RDFLIB_FORMAT = {"ttl": "turtle", "nt": "nt", "rdf": "xml", "jsonld": "json-ld"}


@pytest.fixture(scope="module")
def union(store: Store) -> Graph:
    """Every named graph of the store as one rdflib graph (computed apart from the views)."""
    return store.rdflib_graph(store.graph_iris())


def subjects(store: Store) -> list[str]:
    rows = store.ox.query(
        f'SELECT DISTINCT ?s {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{BASE}")) }}',
        use_default_graph_as_union=True)
    return sorted(row["s"].value for row in rows)


def path_of(iri: str) -> str:
    return "/" + iri[len(BASE):].split("#", 1)[0]


def parse(body: bytes, fmt: str) -> Graph:
    graph = Graph()
    if fmt == "jsonld":
        expanded = jsonld.expand(json.loads(body))  # inline context: nothing is fetched
        nquads = jsonld.to_rdf(expanded, {"format": "application/n-quads"})
        graph.parse(data=nquads, format="nquads")
        return graph
    graph.parse(data=body, format=RDFLIB_FORMAT[fmt])
    return graph


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.h1 = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.h1 += tag == "h1"


def test_every_subject_iri_dereferences_in_every_format(client: TestClient, store: Store,
                                                        union: Graph) -> None:
    iris = subjects(store)
    assert len(iris) > 50
    by_path: dict[str, list[str]] = {}
    for iri in iris:
        by_path.setdefault(path_of(iri), []).append(iri)
    assert {"/ontology", "/shapes"} <= set(by_path)
    failures = []
    for path, members in by_path.items():
        for fmt, accept in ACCEPT.items():
            response = client.get(path, headers={"Accept": accept})
            if response.status_code != 200:
                failures.append(f"{path} {fmt}: {response.status_code}")
                continue
            if fmt == "html":
                checker = _Checker()
                checker.feed(response.text)
                if not response.headers["content-type"].startswith("text/html") or not checker.h1:
                    failures.append(f"{path} html: no page")
                continue
            graph = parse(response.content, fmt)
            for iri in members:
                own = {(s, p, o) for s, p, o in cbd(union, iri) if not isinstance(o, BNode)
                       and not isinstance(s, BNode)}
                missing = own - set(graph)
                if not own or missing:
                    failures.append(f"{iri} {fmt}: {len(missing)} of {len(own)} triples missing")
    assert not failures, failures[:20]


SAMPLES = ["id/strategy/zuerich-digitalisierungsstrategie-2024", "id/municipality/ch-261",
           "id/element/zuerich-digitalisierungsstrategie-2024-1-2",
           "id/source/netzwoche-2024-03-25-zuerich", "vocab/theme/open-data"]


@pytest.mark.parametrize("fmt", ["ttl", "jsonld", "nt", "rdf"])
@pytest.mark.parametrize("local", SAMPLES)
def test_description_is_isomorphic_with_the_store(client: TestClient, union: Graph,
                                                  local: str, fmt: str) -> None:
    iri = BASE + local
    if (URIRef(iri), None, None) not in union:
        pytest.skip(f"{local} is not in the bundled data")
    response = client.get("/" + local, headers={"Accept": ACCEPT[fmt]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(syntax_named(fmt).media_type)
    assert isomorphic(parse(response.content, fmt), cbd(union, iri))


def test_blank_node_closure_is_included(client: TestClient, union: Graph) -> None:
    with_bnodes = [s for s, o in union.subject_objects()
                   if isinstance(o, BNode) and isinstance(s, URIRef)
                   and str(s).startswith(BASE + "id/")]
    assert with_bnodes, "the data holds no resource with a blank node (time horizons)"
    iri = str(sorted(with_bnodes)[0])
    graph = parse(client.get(path_of(iri), headers={"Accept": "text/turtle"}).content, "ttl")
    assert isomorphic(graph, cbd(union, iri))
    assert any(isinstance(s, BNode) for s in graph.subjects())


def test_scheme_document_holds_its_concepts(client: TestClient, union: Graph) -> None:
    scheme = URIRef(BASE + "vocab/theme")
    concepts = set(union.subjects(URIRef("http://www.w3.org/2004/02/skos/core#inScheme"), scheme))
    assert concepts
    graph = parse(client.get("/vocab/theme?format=ttl").content, "ttl")
    expected = cbd(union, str(scheme))
    for concept in concepts:
        expected += cbd(union, str(concept))
    assert isomorphic(graph, expected)


def test_ontology_document_is_the_ontology_file(client: TestClient, store: Store) -> None:
    expected = store.rdflib_graph([store.project.graph_iri(
        store.project.root / "ontology" / "digistrat.ttl")])
    graph = parse(client.get("/ontology", headers={"Accept": "text/turtle"}).content, "ttl")
    assert isomorphic(graph, expected)
    version = next(expected.objects(URIRef(BASE + "ontology"),
                                    URIRef("http://www.w3.org/2002/07/owl#versionIRI")))
    again = client.get(path_of(str(version)), headers={"Accept": "text/turtle"})
    assert again.status_code == 200 and isomorphic(parse(again.content, "ttl"), expected)
    assert client.get("/ontology/0.0.0-none", headers={"Accept": "text/turtle"}).status_code == 404


def test_shapes_document_is_the_union_of_the_shapes_files(client: TestClient,
                                                          store: Store) -> None:
    expected = store.rdflib_graph(store.graph_iris("shapes"))
    assert len(expected) > 100
    graph = parse(client.get("/shapes?format=nt").content, "nt")
    assert isomorphic(graph, expected)


def test_named_graph_iri_serves_the_graph(client: TestClient, store: Store) -> None:
    info = store.graphs[-1]
    expected = store.rdflib_graph([info.iri])
    graph = parse(client.get(path_of(info.iri) + "?format=ttl").content, "ttl")
    assert isomorphic(graph, expected)


def test_format_parameter_overrides_accept(client: TestClient) -> None:
    path = "/id/municipality/ch-261"
    for fmt, media in [("ttl", "text/turtle"), ("jsonld", "application/ld+json"),
                       ("nt", "application/n-triples"), ("rdf", "application/rdf+xml"),
                       ("html", "text/html")]:
        response = client.get(f"{path}?format={fmt}", headers={"Accept": "image/png"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
    bad = client.get(f"{path}?format=docx")
    assert bad.status_code == 400 and bad.json()["type"] == "bad-request"


def test_negotiation_headers(client: TestClient) -> None:
    response = client.get("/id/municipality/ch-261", headers={"Accept": "text/turtle"})
    assert "Accept" in response.headers["vary"]
    link = response.headers["link"]
    for media in ("text/turtle", "application/ld+json", "application/n-triples",
                  "application/rdf+xml", "text/html"):
        assert f'rel="alternate"; type="{media}"' in link
    assert f"<{BASE}id/municipality/ch-261>; rel=\"canonical\"" in link
    # a bare */* (curl) gets Turtle, a browser gets HTML, q-values are honoured
    assert client.get("/id/municipality/ch-261", headers={"Accept": "*/*"}).headers[
        "content-type"].startswith("text/turtle")
    assert client.get("/id/municipality/ch-261", headers={"Accept": ACCEPT["html"]}).headers[
        "content-type"].startswith("text/html")
    picked = client.get("/id/municipality/ch-261",
                        headers={"Accept": "text/turtle;q=0.5, application/rdf+xml"})
    assert picked.headers["content-type"].startswith("application/rdf+xml")


def test_not_acceptable(client: TestClient) -> None:
    response = client.get("/id/municipality/ch-261", headers={"Accept": "image/png"})
    assert response.status_code == 406
    body = response.json()
    assert body["ok"] is False and body["type"] == "not-acceptable"


def test_unknown_iri(client: TestClient) -> None:
    as_data = client.get("/id/strategy/no-such-strategy", headers={"Accept": "text/turtle"})
    assert as_data.status_code == 404
    assert as_data.json()["type"] == "not-found"
    assert as_data.json()["iri"] == BASE + "id/strategy/no-such-strategy"
    as_page = client.get("/id/strategy/no-such-strategy", headers={"Accept": ACCEPT["html"]})
    assert as_page.status_code == 404
    assert as_page.headers["content-type"].startswith("text/html")
    assert "404" in as_page.text
    assert client.get("/vocab/theme/no-such-theme?format=ttl").status_code == 404
    assert client.get("/graph/data/no-such-file?format=ttl").status_code == 404


def test_jsonld_uses_the_published_context(client: TestClient, union: Graph) -> None:
    published = client.get("/-/context.jsonld").json()["@context"]
    assert published == PREFIXES
    response = client.get("/id/strategy/zuerich-digitalisierungsstrategie-2024",
                          headers={"Accept": "application/ld+json"})
    doc = response.json()
    assert doc["@context"] == published
    node = next(n for n in doc["@graph"]
                if n["@id"] == "dsid:strategy/zuerich-digitalisierungsstrategie-2024")
    assert node["@type"] == "ds:Strategy"
    assert "dct:title" in node and "ds:ownedBy" in node
    expanded = jsonld.expand(doc)
    ids = {n["@id"] for n in expanded}
    assert BASE + "id/strategy/zuerich-digitalisierungsstrategie-2024" in ids


def test_base_iri_maps_onto_the_serving_host(make_client) -> None:  # type: ignore[no-untyped-def]
    other = make_client(base_iri="https://example.org/elsewhere/")
    # the same path now names an IRI under another base, which the data does not describe
    assert other.get("/id/municipality/ch-261?format=ttl").status_code == 404
    page = other.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200


def test_html_links_point_to_the_serving_host(client: TestClient) -> None:
    html = client.get("/id/strategy/zuerich-digitalisierungsstrategie-2024?format=html").text
    assert 'href="/id/municipality/ch-261"' in html
    assert f'href="{BASE}id/' not in html


def test_head_request(client: TestClient) -> None:
    response = client.head("/id/municipality/ch-261", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")


def test_type_triples_survive_every_format(client: TestClient, union: Graph) -> None:
    iri = URIRef(BASE + "id/municipality/ch-261")
    for fmt in ("ttl", "jsonld", "nt", "rdf"):
        graph = parse(client.get(f"/id/municipality/ch-261?format={fmt}").content, fmt)
        assert set(graph.objects(iri, RDF.type)) == set(union.objects(iri, RDF.type))
