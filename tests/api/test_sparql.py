"""/sparql: the protocol, formats, content negotiation, service description, query page,
truncation and the error shape."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.query import Result

from kg.store import Store

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")

COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
LABELS = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
          "SELECT ?s ?label WHERE { ?s rdfs:label ?label } ORDER BY ?s ?label LIMIT 25")
CONSTRUCT_LABELS = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
                    "CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s rdfs:label ?l } ")
RESULT_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
RDF_TYPES = {
    "turtle": ("text/turtle", "turtle"),
    "ntriples": ("application/n-triples", "nt"),
    "jsonld": ("application/ld+json", "json-ld"),
    "rdfxml": ("application/rdf+xml", "xml"),
    "trig": ("application/trig", "trig"),
    "nquads": ("application/n-quads", "nquads"),
}


# Every test here runs on both backends: the embedded store (worker processes) and a real
# ``oxigraph serve`` on loopback filled by ``digistrat load --to`` (the remote backend).
BACKENDS = ["embedded", "remote"]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "embedded":
        return {}
    return {"sparql_endpoint": request.getfixturevalue("loaded") + "/query"}


@pytest.fixture(scope="module")
def client(make_client: Callable[..., TestClient], backend: dict[str, str]) -> TestClient:
    return make_client(**backend)


@pytest.fixture(scope="module")
def make_backend_client(make_client: Callable[..., TestClient],
                        backend: dict[str, str]) -> Callable[..., TestClient]:
    return lambda **overrides: make_client(**backend, **overrides)


def media(response) -> str:  # type: ignore[no-untyped-def]
    return response.headers["content-type"].split(";")[0].strip()


def assert_error_shape(response, status: int | None = None, type_: str | None = None
                       ) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert 400 <= response.status_code < 600, response.text
    if status is not None:
        assert response.status_code == status, response.text
    assert media(response) == "application/json"
    body = response.json()
    assert body["ok"] is False
    assert body["status"] == response.status_code
    assert isinstance(body["error"], str) and body["error"]
    assert body["errors"] and all(isinstance(e, str) for e in body["errors"])
    assert "Traceback" not in response.text
    if type_ is not None:
        assert body["type"] == type_, body
    return body  # type: ignore[no-any-return]


def expected_rows(store: Store, query: str) -> list[tuple[str | None, ...]]:
    result = store.ox.query(query, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    rows = []
    for solution in result:
        rows.append(tuple(None if solution[n] is None else solution[n].value for n in names))
    return rows


def rdflib_rows(result: Result) -> list[tuple[str | None, ...]]:
    return [tuple(None if t is None else str(t) for t in row) for row in result]


# --- the three ways to send a query --------------------------------------------------------


def test_get_form_post_and_direct_post_give_the_same_answer(client: TestClient,
                                                            store: Store) -> None:
    total = len(store)
    answers = [
        client.get("/sparql", params={"query": COUNT_ALL}),
        client.post("/sparql", data={"query": COUNT_ALL}),
        client.post("/sparql", content=COUNT_ALL.encode(),
                    headers={"Content-Type": "application/sparql-query"}),
        client.post("/sparql", content=COUNT_ALL.encode(),
                    headers={"Content-Type": "application/sparql-query; charset=UTF-8"}),
    ]
    for response in answers:
        assert response.status_code == 200, response.text
        assert media(response) == "application/sparql-results+json"
        count = int(response.json()["results"]["bindings"][0]["n"]["value"])
        assert count == total  # the default graph is the union of every named graph


def test_form_post_decodes_percent_signs_once(client: TestClient) -> None:
    response = client.post("/sparql", data={"query": 'SELECT ("100%41" AS ?x) {}'})
    assert response.json()["results"]["bindings"][0]["x"]["value"] == "100%41"


def test_non_ascii_query_text(client: TestClient) -> None:
    query = 'SELECT ("Zürich – Straße" AS ?x) {}'
    for response in (client.get("/sparql", params={"query": query}),
                     client.post("/sparql", content=query.encode(),
                                 headers={"Content-Type": "application/sparql-query"})):
        assert response.json()["results"]["bindings"][0]["x"]["value"] == "Zürich – Straße"


def test_head_request(client: TestClient) -> None:
    response = client.head("/sparql", params={"query": "ASK {}"})
    assert response.status_code == 200
    assert media(response) == "application/sparql-results+json"


# --- formats and content negotiation -------------------------------------------------------


@pytest.mark.parametrize("name", list(RESULT_TYPES))
def test_select_results_parse_back_in_every_format(client: TestClient, store: Store,
                                                   name: str) -> None:
    expected = expected_rows(store, LABELS)
    assert expected
    response = client.get("/sparql", params={"query": LABELS},
                          headers={"Accept": RESULT_TYPES[name]})
    assert response.status_code == 200
    assert media(response) == RESULT_TYPES[name]
    if name == "json":
        data = json.loads(response.content)
        names = data["head"]["vars"]
        got = [tuple(b.get(n, {}).get("value") for n in names)
               for b in data["results"]["bindings"]]
    else:
        parsed = Result.parse(io.BytesIO(response.content), format=name)
        got = rdflib_rows(parsed)
    assert got == expected


@pytest.mark.parametrize("name", ["json", "xml"])
def test_ask_results(client: TestClient, name: str) -> None:
    for query, value in (("ASK { ?s ?p ?o }", True), ("ASK { <urn:x:nothing> ?p ?o }", False)):
        response = client.get("/sparql", params={"query": query, "format": name})
        assert media(response) == RESULT_TYPES[name]
        parsed = Result.parse(io.BytesIO(response.content), format=name)
        assert parsed.askAnswer is value


def expected_graph(store: Store, query: str) -> Graph:
    graph = Graph()
    for triple in store.ox.query(query, use_default_graph_as_union=True):
        graph.parse(data=f"{triple.subject} {triple.predicate} {triple.object} .", format="nt")
    return graph


@pytest.mark.parametrize("name", list(RDF_TYPES))
def test_construct_in_every_rdf_syntax_is_isomorphic(client: TestClient, store: Store,
                                                     name: str) -> None:
    expected = expected_graph(store, CONSTRUCT_LABELS)
    assert len(expected) > 10
    media_type, rdflib_format = RDF_TYPES[name]
    response = client.get("/sparql", params={"query": CONSTRUCT_LABELS},
                          headers={"Accept": media_type})
    assert response.status_code == 200, response.text
    assert media(response) == media_type
    assert response.headers["x-digistrat-truncated"] == "false"
    got = Graph()
    if rdflib_format in ("trig", "nquads"):
        from rdflib import Dataset

        dataset = Dataset()
        dataset.parse(data=response.content, format=rdflib_format)
        for s, p, o, _ in dataset.quads():
            got.add((s, p, o))
    else:
        got.parse(data=response.content, format=rdflib_format)
    assert isomorphic(got, expected)


def test_describe(client: TestClient, store: Store) -> None:
    subject = next(iter(store.ox.query(
        "SELECT ?s { ?s a ?t } LIMIT 1", use_default_graph_as_union=True)))["s"].value
    response = client.get("/sparql", params={"query": f"DESCRIBE <{subject}>"},
                          headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format="nt")
    assert len(graph) > 0
    assert all(s == URIRef(subject) for s in graph.subjects())


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
    ("application/sparql-results+json;q=0.1, text/tab-separated-values;q=0.9",
     "text/tab-separated-values"),
    ("text/*", "text/csv"),
    ("*/*", "application/sparql-results+json"),
    ("", "application/sparql-results+json"),
    ("text/html, application/xhtml+xml, */*;q=0.8", "application/sparql-results+json"),
    ("application/json", "application/sparql-results+json"),
    ("text/csv;q=0, */*;q=0.1", "application/sparql-results+json"),
])
def test_negotiation_for_select(client: TestClient, accept: str, expected: str) -> None:
    response = client.get("/sparql", params={"query": "SELECT * { ?s ?p ?o } LIMIT 1"},
                          headers={"Accept": accept})
    assert response.status_code == 200
    assert media(response) == expected
    assert "Accept" in response.headers["vary"]


@pytest.mark.parametrize(("accept", "expected"), [
    ("application/rdf+xml;q=0.9, application/n-triples", "application/n-triples"),
    ("application/*", "application/n-triples"),
    ("*/*", "text/turtle"),
    ("application/ld+json", "application/ld+json"),
])
def test_negotiation_for_construct(client: TestClient, accept: str, expected: str) -> None:
    response = client.get("/sparql", params={"query": CONSTRUCT_LABELS + "LIMIT 2"},
                          headers={"Accept": accept})
    assert response.status_code == 200
    assert media(response) == expected


def test_406_when_nothing_fits(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT * {}"},
                          headers={"Accept": "image/png"})
    body = assert_error_shape(response, 406, "not-acceptable")
    assert "application/sparql-results+json" in body["offers"]
    response = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                          headers={"Accept": "application/sparql-results+json"})
    assert_error_shape(response, 406, "not-acceptable")


def test_format_parameter_overrides_accept(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT * {}", "format": "tsv"},
                          headers={"Accept": "application/sparql-results+xml"})
    assert media(response) == "text/tab-separated-values"
    response = client.get("/sparql", params={"query": CONSTRUCT_LABELS + "LIMIT 1",
                                              "format": "application/rdf+xml"})
    assert media(response) == "application/rdf+xml"
    response = client.get("/sparql", params={"query": CONSTRUCT_LABELS + "LIMIT 1",
                                              "format": "ttl"})
    assert media(response) == "text/turtle"
    # a results format for a CONSTRUCT query: 406, naming the parameter
    response = client.get("/sparql", params={"query": CONSTRUCT_LABELS, "format": "csv"})
    body = assert_error_shape(response, 406, "not-acceptable")
    assert "format parameter" in body["error"]


# --- protocol dataset ----------------------------------------------------------------------


def test_default_graph_uri_selects_graphs(client: TestClient, store: Store) -> None:
    first, second = store.graphs[0], store.graphs[1]
    response = client.get("/sparql", params=[("query", COUNT_ALL),
                                             ("default-graph-uri", first.iri)])
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == first.triples
    response = client.get("/sparql", params=[("query", COUNT_ALL),
                                             ("default-graph-uri", first.iri),
                                             ("default-graph-uri", second.iri)])
    n = int(response.json()["results"]["bindings"][0]["n"]["value"])
    assert max(first.triples, second.triples) <= n <= first.triples + second.triples


def test_named_graph_uri_and_from(client: TestClient, store: Store) -> None:
    first = store.graphs[0]
    query = "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }"
    response = client.get("/sparql", params=[("query", query), ("named-graph-uri", first.iri)])
    graphs = [b["g"]["value"] for b in response.json()["results"]["bindings"]]
    assert graphs == [first.iri]
    # FROM selects one graph (it is not fetched, and not widened to the union)
    response = client.get("/sparql", params={
        "query": f"SELECT (COUNT(*) AS ?n) FROM <{first.iri}> {{ ?s ?p ?o }}"})
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == first.triples


def test_an_answer_says_where_its_time_went(client: TestClient, backend: dict[str, str]
                                            ) -> None:
    """Server-Timing: the worker's run inside its round trip (embedded), or the store's
    answer (remote), inside the request's own time in the service."""
    response = client.get("/sparql", params={"query": COUNT_ALL})
    steps = {}
    for part in response.headers["server-timing"].split(", "):
        name, *params = part.split(";")
        steps[name] = float(dict(p.split("=", 1) for p in params)["dur"])
    if backend:
        assert set(steps) == {"store", "app"}
        assert 0 < steps["store"] <= steps["app"]
    else:
        assert set(steps) == {"run", "worker", "app"}
        assert 0 < steps["run"] <= steps["worker"] <= steps["app"]
    assert "Server-Timing" in response.headers["access-control-expose-headers"]


# --- row cap -------------------------------------------------------------------------------


def test_truncation_is_signalled_in_headers_and_body(make_backend_client: Callable[..., TestClient]
                                                     ) -> None:
    client = make_backend_client(max_result_rows=3)
    query = "SELECT ?s ?p ?o { ?s ?p ?o } ORDER BY ?s ?p ?o"
    response = client.get("/sparql", params={"query": query})
    assert response.headers["x-digistrat-truncated"] == "true"
    assert response.headers["x-digistrat-max-result-rows"] == "3"
    assert response.headers["x-digistrat-result-rows"] == "3"
    data = response.json()
    assert len(data["results"]["bindings"]) == 3
    assert data["digistrat"]["truncated"] is True
    assert data["digistrat"]["max_result_rows"] == 3

    xml = client.get("/sparql", params={"query": query, "format": "xml"})
    assert b"<!-- digistrat: result truncated" in xml.content
    assert len(rdflib_rows(Result.parse(io.BytesIO(xml.content), format="xml"))) == 3

    for name in ("csv", "tsv"):  # header only: the body stays a plain table
        table = client.get("/sparql", params={"query": query, "format": name})
        assert table.headers["x-digistrat-truncated"] == "true"
        assert len(rdflib_rows(Result.parse(io.BytesIO(table.content), format=name))) == 3

    construct = "CONSTRUCT WHERE { ?s ?p ?o }"
    turtle = client.get("/sparql", params={"query": construct, "format": "turtle"})
    assert turtle.headers["x-digistrat-truncated"] == "true"
    assert turtle.text.rstrip().splitlines()[-1].startswith("# digistrat: result truncated")
    assert len(Graph().parse(data=turtle.content, format="turtle")) == 3

    # exactly at the cap: not truncated
    response = client.get("/sparql", params={"query": query + " LIMIT 3"})
    assert response.headers["x-digistrat-truncated"] == "false"
    assert "digistrat" not in response.json()


def test_small_answers_are_not_marked(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": LABELS})
    assert response.headers["x-digistrat-truncated"] == "false"
    assert "digistrat" not in response.json()


# --- service description and query page ----------------------------------------------------


@pytest.mark.parametrize(("accept", "fmt"), [
    ("text/turtle", "turtle"), ("application/rdf+xml", "xml"),
    ("application/ld+json", "json-ld"), ("application/n-triples", "nt"), ("*/*", "turtle")])
def test_service_description(client: TestClient, store: Store, accept: str, fmt: str) -> None:
    response = client.get("/sparql", headers={"Accept": accept})
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format=fmt)
    site = client.app.state.settings.site  # type: ignore[attr-defined]
    # the configured public address (setting public_url), never the request's Host header
    service = graph.value(predicate=SD.endpoint, object=URIRef(site + "/sparql"))
    assert service is not None
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    names = {str(n): graph.value(graph.value(n2, SD.graph), VOID.triples)
             for n2 in graph.subjects(SD.name, None) for n in [graph.value(n2, SD.name)]}
    assert {g.iri: Literal(g.triples) for g in store.graphs} == names
    assert (None, SD.feature, SD.BasicFederatedQuery) not in graph


def test_query_page_for_browsers(client: TestClient) -> None:
    response = client.get("/sparql", headers={
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert response.status_code == 200
    assert media(response) == "text/html"
    page = response.text
    assert '<textarea id="query" name="query"' in page
    assert "/-/static/query.js" in page
    # no script or style sheet from another host: the page works offline
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', page)
    for asset in ("/-/static/query.js", "/-/static/query.css"):
        assert client.get(asset).status_code == 200


def test_query_page_lists_the_example_queries(client: TestClient, store: Store) -> None:
    from kg.queries import load_queries

    examples = load_queries(store.project.queries_dir)
    page = html.unescape(client.get("/sparql", headers={"Accept": "text/html"}).text)
    assert examples
    for query in examples:
        assert query.title in page
    # the first example fills the editor
    assert examples[0].text.strip() in page


# --- malformed requests ----------------------------------------------------------------------


MALFORMED: list[tuple[str, dict, int, str]] = [  # type: ignore[type-arg]
    ("two queries", {"method": "GET", "url": "/sparql?query=ASK%7B%7D&query=ASK%7B%7D"}, 400,
     "bad-request"),
    ("empty query", {"method": "GET", "url": "/sparql?query="}, 400, "bad-request"),
    ("bad syntax", {"method": "GET", "url": "/sparql?query=SELECT%20*%20%7B"}, 400,
     "query-syntax"),
    ("query in URL and body", {"method": "POST", "url": "/sparql?query=ASK%7B%7D",
                               "content": b"ASK {}",
                               "headers": {"Content-Type": "application/sparql-query"}}, 400,
     "bad-request"),
    ("no content type", {"method": "POST", "url": "/sparql", "content": b"query=ASK%7B%7D"},
     415, "unsupported-media-type"),
    ("text/plain body", {"method": "POST", "url": "/sparql", "content": b"ASK {}",
                         "headers": {"Content-Type": "text/plain"}}, 415,
     "unsupported-media-type"),
    ("UTF-16 body", {"method": "POST", "url": "/sparql", "content": "ASK {}".encode("utf-16"),
                     "headers": {"Content-Type": "application/sparql-query; charset=UTF-16"}},
     415, "unsupported-media-type"),
    ("invalid UTF-8 body", {"method": "POST", "url": "/sparql", "content": b"ASK {\xff}",
                            "headers": {"Content-Type": "application/sparql-query"}}, 400,
     "bad-request"),
    ("invalid UTF-8 escape", {"method": "GET", "url": "/sparql?query=ASK%20%7B%FF%7D"}, 400,
     "bad-request"),
    ("form without query", {"method": "POST", "url": "/sparql", "data": {"other": "1"}}, 400,
     "bad-request"),
    ("update parameter", {"method": "GET", "url": "/sparql?update=CLEAR%20ALL"}, 403,
     "update-refused"),
    ("update as form", {"method": "POST", "url": "/sparql", "data": {"update": "CLEAR ALL"}},
     403, "update-refused"),
    ("update media type", {"method": "POST", "url": "/sparql", "content": b"CLEAR ALL",
                           "headers": {"Content-Type": "application/sparql-update"}}, 403,
     "update-refused"),
    ("update as query", {"method": "GET", "url": "/sparql",
                         "params": {"query": "INSERT DATA { <a:> <a:> <a:> }"}},
     403, "update-refused"),
    ("LOAD as query", {"method": "POST", "url": "/sparql",
                       "content": b"LOAD <http://127.0.0.1:9/x.ttl>",
                       "headers": {"Content-Type": "application/sparql-query"}}, 403,
     "update-refused"),
    ("PUT", {"method": "PUT", "url": "/sparql?query=ASK%7B%7D"}, 405, "method-not-allowed"),
    ("DELETE", {"method": "DELETE", "url": "/sparql"}, 405, "method-not-allowed"),
    ("bad timeout", {"method": "GET", "url": "/sparql?query=ASK%7B%7D&timeout=soon"}, 400,
     "bad-request"),
    ("relative default graph", {"method": "GET", "url": "/sparql", "params": {
        "query": "ASK {}", "default-graph-uri": "not an iri"}}, 400, "bad-request"),
    ("relative named graph", {"method": "GET", "url": "/sparql", "params": {
        "query": "ASK {}", "named-graph-uri": "g"}}, 400, "bad-request"),
    ("zero timeout", {"method": "GET", "url": "/sparql?query=ASK%7B%7D&timeout=0"}, 400,
     "bad-request"),
    ("unknown format", {"method": "GET", "url": "/sparql?query=ASK%7B%7D&format=pdf"}, 400,
     "bad-request"),
    ("two formats", {"method": "GET", "url": "/sparql?query=ASK%7B%7D&format=json&format=xml"},
     400, "bad-request"),
    ("SERVICE", {"method": "GET", "url": "/sparql", "params": {
        "query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"}},
     403, "service-refused"),
]


@pytest.mark.parametrize(("label", "request_args", "status", "type_"), MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_requests_get_4xx_in_the_error_shape(
        client: TestClient, label: str, request_args: dict, status: int,  # type: ignore[type-arg]
        type_: str) -> None:
    response = client.request(**request_args)
    assert_error_shape(response, status, type_)


def test_request_body_cap(make_backend_client: Callable[..., TestClient]) -> None:
    client = make_backend_client(max_request_bytes=200)
    big = "ASK {}" + " " * 300
    response = client.post("/sparql", content=big.encode(),
                           headers={"Content-Type": "application/sparql-query"})
    body = assert_error_shape(response, 413, "too-large")
    assert body["max_request_bytes"] == 200
    response = client.post("/sparql", data={"query": big})
    assert_error_shape(response, 413, "too-large")
    assert client.post("/sparql", content=b"ASK {}", headers={
        "Content-Type": "application/sparql-query"}).status_code == 200


def test_syntax_error_says_where(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT * WHERE {\n  ?s ?p \n}"})
    body = assert_error_shape(response, 400, "query-syntax")
    assert body["line"] == 3


def test_on_disk_store_is_served_by_workers_that_reopen_it(tmp_path, project) -> None:  # type: ignore[no-untyped-def]
    from api.app import create_app
    from api.settings import Settings

    disk = Store.load(project, tmp_path / "store")
    app = create_app(Settings(query_workers=1), disk)
    app.state.store_path = str(tmp_path / "store")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/sparql", params={"query": COUNT_ALL})
        assert response.status_code == 200
        assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == len(disk)
        assert app.state.query_backend.worker_pids


def test_n3_is_offered_for_graph_results(client: TestClient) -> None:
    """N3, added by one entry in kg/formats.py (docs/architecture.md, "where to add")."""
    query = "CONSTRUCT { ?s a ?c } WHERE { ?s a ?c } LIMIT 3"
    response = client.get("/sparql", params={"query": query}, headers={"Accept": "text/n3"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/n3")
    assert len(Graph().parse(data=response.content, format="n3")) == 3
    described = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert b"http://www.w3.org/ns/formats/N3" in described.content
