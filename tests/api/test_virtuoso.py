"""Virtuoso Open Source (Debian's ``virtuoso-opensource``, the engine behind DBpedia) as the
remote backend: a fresh instance on loopback (tests/stores.py), filled by ``digistrat load
--to …/sparql-graph-crud-auth`` as a user whose only right is SPARQL_UPDATE, then served with
``sparql_endpoint`` pointing at its ``/sparql``.

What runs here: the endpoint suite of tests/api/test_sparql.py and the W3C protocol suite of
tests/test_conformance.py (both imported, with this module's ``client``), the dataset and
counting rules, time limit and row cap, and pages of every family compared with the
in-process store. What Virtuoso does differently is written down in docs/deploy.md
("Virtuoso"); tests that fail for a known reason are marked in ``KNOWN`` with that reason
(strict: once fixed they fail until the mark is removed).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import test_conformance
import test_sparql
from click.testing import CliRunner
from fastapi.testclient import TestClient
from stores import Virtuoso, virtuoso
from support import recorded_queries

from api.cli import main
from kg.project import Project
from kg.remote import UNION_GRAPH, BackendError, RemoteEndpoint, RemoteStore, push_dataset
from kg.search import _collect as collect_search_rows
from kg.store import GraphInfo, Store

ROOT = Path(__file__).resolve().parents[2]
DS = "https://w3id.org/digistrat/ontology#"
BASE = "https://w3id.org/digistrat"

#: Virtuoso's own limit of one query ([SPARQL] MaxQueryExecutionTime) in these tests.
STORE_TIMEOUT_S = 8
#: The service's limit in these tests. Virtuoso 7.2 computes a whole answer and writes it as
#: SPARQL JSON slowly (some 7 s for the 22,000 rows of `SELECT * { ?s ?p ?o }` here, before
#: the first byte), so the suite's queries over every triple need more than the default 10 s
#: on a busy machine; docs/deploy.md ("Virtuoso") has the figures.
SERVICE_TIMEOUT_MS = 30_000

# --- why tests fail on Virtuoso today (strict xfail: a fix makes them fail until removed) ---

KNOWN: dict[str, str] = {
    "test_select_results_parse_back_in_every_format": "ORDER BY over language-tagged "
        "literals is left to the implementation: Virtuoso sorts 'action field'@en before "
        "'Handlungsfeld'@de, Oxigraph by code point",
    "test_order_by_puts_iris_before_literals": "Virtuoso sorts a literal before IRIs; SPARQL "
        "1.1 (15.1) orders unbound < blank nodes < IRIs < literals",
    "test_describe": "Virtuoso's DESCRIBE also gives the triples that point at the "
                     "resource (SPARQL leaves DESCRIBE to the implementation)",
}
#: Pages that differ from the in-process store today, and why (none now; kept for the next).
PAGE_DIFFERENCES: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _known_failures(request: pytest.FixtureRequest) -> None:
    reason = KNOWN.get(request.node.originalname)
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


# --- the store --------------------------------------------------------------------------------


def conformance_store() -> Store:
    """The W3C protocol tests' data (data1–3.nt, each in the named graph its manifest
    label gives), as a store to push beside the project's graphs."""
    store = ox.Store()
    graphs = []
    for number in (1, 2, 3):
        iri = f"http://kasei.us/2009/09/sparql/data/data{number}.rdf"
        path = test_conformance.PROTOCOL / f"data{number}.nt"
        store.load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(iri))
        graphs.append(GraphInfo(iri, path.name, sum(1 for _ in store.quads_for_pattern(
            None, None, None, ox.NamedNode(iri)))))
    return Store(store, graphs, Project(ROOT))


def load(server: Virtuoso, target: str | None = None, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["load", "--root", str(ROOT), "-q", "--to",
                                       target or server.graph_store],
                                env={**server.loader_env(), **env})
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def loaded() -> Iterator[Virtuoso]:
    """A fresh Virtuoso holding the project's graphs (and the W3C tests' three graphs)."""
    with virtuoso(timeout_s=STORE_TIMEOUT_S) as server:
        code, output = load(server)
        assert code == 0, output
        assert "Wrote" in output
        if test_conformance.PROTOCOL.is_dir():
            push_dataset(conformance_store(), server.graph_store, user=server.loader_user,
                         password=server.loader_password, union=False)
        yield server


def remote_select(server: Virtuoso, query: str) -> list[dict[str, str]]:
    """A query straight to Virtuoso (no dataset: its own default graph), values only."""
    response = httpx.post(server.sparql, data={"query": query}, trust_env=False, timeout=30,
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.text
    return [{k: v["value"] for k, v in row.items()}
            for row in response.json()["results"]["bindings"]]


# --- the app over it ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def backend(loaded: Virtuoso) -> dict[str, str]:
    """The settings of the remote backend (test_sparql.py's tests ask for them too)."""
    return {"sparql_endpoint": loaded.sparql}


@pytest.fixture(scope="module")
def make_backend_client(make_client: Callable[..., TestClient], backend: dict[str, str]
                        ) -> Callable[..., TestClient]:
    def make(**overrides: object) -> TestClient:
        overrides.setdefault("query_timeout_ms", SERVICE_TIMEOUT_MS)
        return make_client(**backend, **overrides)

    return make


@pytest.fixture(scope="module")
def client(make_backend_client: Callable[..., TestClient]) -> TestClient:
    return make_backend_client()


@pytest.fixture(scope="module")
def dataset_client(client: TestClient) -> TestClient:
    """The W3C suite's dataset tests: its graphs are in the same Virtuoso."""
    return client


@pytest.fixture(scope="module")
def local_client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


# --- the endpoint suites, run on Virtuoso -------------------------------------------------------

#: tests of test_sparql.py that are about the embedded store itself
EMBEDDED_ONLY = {"test_on_disk_store_is_served_by_workers_that_reopen_it"}
IMPORTED = [name for name in dir(test_sparql)
            if name.startswith("test_") and name not in EMBEDDED_ONLY]
for _name in IMPORTED:
    globals()[_name] = getattr(test_sparql, _name)
test_protocol = test_conformance.test_protocol
test_service_description_w3c = test_conformance.test_service_description


def test_the_suites_were_imported() -> None:
    assert len(IMPORTED) > 20
    assert test_conformance.protocol_tests() or not test_conformance.PROTOCOL.is_dir()


# --- loading ------------------------------------------------------------------------------------


def test_the_search_index_reads_in_parts(store: Store, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """A Virtuoso that answers at most 1,000 rows (as it answers at most 2^20 over HTTP,
    whatever ResultSetMaxRows says: at 10M triples the search index's reads are larger): the
    index's reads are asked again in more parts until none is cut, and give the rows read in
    process at once."""
    asked = recorded_queries(monkeypatch)
    with virtuoso(max_rows=1000) as small:
        push_dataset(store, small.graph_store, user=small.loader_user,
                     password=small.loader_password)
        remote = RemoteStore(RemoteEndpoint(small.sparql), store.project)
        try:
            assert collect_search_rows(remote) == collect_search_rows(store)
        finally:
            remote.remote.close()
    assert any("MD5(STR(" in text for text in asked)  # the store did cut, parts were asked


def test_load_fills_every_named_graph(loaded: Virtuoso, store: Store) -> None:
    query = ("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } "
             f'FILTER(STRSTARTS(STR(?g), "{BASE}/graph/")) }} GROUP BY ?g')
    counts = {r["g"]: int(r["n"]) for r in remote_select(loaded, query)}
    assert counts == {g.iri: g.triples for g in store.graphs}
    code, output = load(loaded)  # again: PUT replaces each graph, it does not add
    assert code == 0, output
    assert {r["g"]: int(r["n"]) for r in remote_select(loaded, query)} == counts


def test_the_union_graph_is_sent_once_the_load_is_complete(client: TestClient) -> None:
    """Virtuoso matches the load's closing count (``void:triples``), so the service's reads
    and clients' queries without ``GRAPH`` go to the one union graph."""
    store = client.app.state.store  # type: ignore[attr-defined]
    store.refresh_graphs()
    assert store.remote.union_graph == UNION_GRAPH


def test_only_the_loader_may_write(loaded: Virtuoso) -> None:
    code, output = load(loaded, loaded.graph_store_anonymous)
    assert code == 2 and "HTTP 403" in output and "SPARQL_UPDATE" in output
    code, output = load(loaded, DIGISTRAT_STORE_USER="", DIGISTRAT_STORE_PASSWORD="")
    assert code == 2 and "HTTP 401" in output and "asks for a login" in output
    code, output = load(loaded, DIGISTRAT_STORE_PASSWORD="wrong")
    assert code == 2 and "refused the login" in output
    # Virtuoso's own endpoint refuses updates from the anonymous SPARQL user
    graph = "urn:x-digistrat:test:written"
    response = httpx.post(loaded.sparql, trust_env=False, timeout=30, data={
        "query": f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:a> <urn:b> <urn:c> }} }}"})
    assert response.status_code >= 400
    assert not remote_select(loaded, f"SELECT * {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")


# --- dataset and counting -----------------------------------------------------------------------


def test_default_graph_is_the_union_counted_once(client: TestClient, loaded: Virtuoso,
                                                  store: Store) -> None:
    """digistrat names the project's graphs as the default graph (default-graph-uri): the
    count is the number of distinct triples. Virtuoso's own default graph (no dataset) is
    every graph it holds, its system graphs too."""
    distinct = len({(q.subject, q.predicate, q.object) for q in store.ox})
    for query in ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                  "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }"):
        response = client.get("/sparql", params={"query": query})
        assert response.status_code == 200, response.text
        assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == distinct
    own = int(remote_select(loaded, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")[0]["n"])
    assert own > distinct


def test_from_and_from_named_match_the_embedded_store(client: TestClient,
                                                      local_client: TestClient,
                                                      store: Store) -> None:
    first, second = store.graphs[0].iri, store.graphs[-1].iri
    queries = [
        f"SELECT (COUNT(*) AS ?n) FROM <{first}> FROM <{second}> {{ ?s ?p ?o }}",
        f"SELECT ?g (COUNT(*) AS ?n) FROM NAMED <{first}> FROM NAMED <{second}> "
        "{ GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
        f"SELECT ?g (COUNT(*) AS ?n) FROM <{first}> FROM NAMED <{second}> "
        "{ { ?s ?p ?o BIND(\"default\" AS ?g) } UNION { GRAPH ?g { ?s ?p ?o } } } "
        "GROUP BY ?g ORDER BY STR(?g)",
    ]
    for query in queries:
        for fmt in ("json", "xml", "csv", "tsv"):
            remote = client.get("/sparql", params={"query": query, "format": fmt})
            local = local_client.get("/sparql", params={"query": query, "format": fmt})
            assert remote.status_code == local.status_code == 200, remote.text
            assert remote.content == local.content, (query, fmt)


def test_select_with_blank_nodes(client: TestClient) -> None:
    response = client.get("/sparql", params={
        "query": f"SELECT ?e ?quote {{ ?e <{DS}quote> ?quote }} LIMIT 5"})
    assert response.status_code == 200, response.text
    rows = response.json()["results"]["bindings"]
    assert rows and all(row["e"]["type"] == "bnode" for row in rows)


def test_order_by_puts_iris_before_literals(client: TestClient) -> None:
    response = client.get("/sparql", params={
        "query": 'SELECT ?x { VALUES ?x { "a" <urn:x:b> } } ORDER BY ?x', "format": "json"})
    assert [b["x"]["type"] for b in response.json()["results"]["bindings"]] == ["uri",
                                                                               "literal"]


def test_validation_reads_its_context_from_the_store(client: TestClient,
                                                      local_client: TestClient) -> None:
    """A submission is validated in the context of the graph read from the store: the same
    report as in-process."""
    body = (ROOT / "templates" / "strategy.ttl").read_bytes()
    reports = [c.post("/validate", content=body, headers={"Content-Type": "text/turtle"})
               for c in (local_client, client)]
    assert reports[0].status_code == 200
    assert reports[1].status_code == 200, reports[1].text[:300]
    local, remote = (r.json() for r in reports)
    assert remote["conforms"] == local["conforms"]
    assert sorted(map(str, remote["results"])) == sorted(map(str, local["results"]))


# --- time limit and row cap ---------------------------------------------------------------------

SLOW = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def test_the_services_time_limit(make_backend_client: Callable[..., TestClient]) -> None:
    client = make_backend_client(query_timeout_ms=500)
    started = time.monotonic()
    response = client.get("/sparql", params={"query": SLOW})
    assert response.status_code == 503 and response.json()["type"] == "query-timeout"
    assert time.monotonic() - started < STORE_TIMEOUT_S


def test_the_stores_own_time_limit(make_backend_client: Callable[..., TestClient]) -> None:
    """Virtuoso's MaxQueryExecutionTime shorter than the service's limit."""
    client = make_backend_client(query_timeout_ms=(STORE_TIMEOUT_S + 20) * 1000)
    response = client.get("/sparql", params={"query": SLOW})
    assert response.status_code == 503 and response.json()["type"] == "query-timeout"


def test_a_valid_query_the_store_refuses_is_the_stores_fault(client: TestClient) -> None:
    """Virtuoso 7.2 refuses a codepoint escape in an IRI (SPARQL 1.1, 19.2) with HTTP 400;
    the query is valid, so the answer is the store's failure (502), not a syntax error."""
    query = r"SELECT (<http://example.org/a\u0041> AS ?i) {}"
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["type"] == "backend-error"
    assert "refused the query with HTTP 400" in body["error"] and "SP030" in body["error"]


def test_the_services_row_cap(make_backend_client: Callable[..., TestClient],
                              store: Store) -> None:
    client = make_backend_client(max_result_rows=50)
    response = client.get("/sparql", params={"query": "SELECT ?s ?t { ?s a ?t }"})
    assert response.status_code == 200, response.text
    assert response.headers["x-digistrat-truncated"] == "true"
    assert len(response.json()["results"]["bindings"]) == 50


def test_the_stores_row_limit_is_not_silent(make_client: Callable[..., TestClient]) -> None:
    """A Virtuoso whose ResultSetMaxRows (100) is below the service's row cap (1000): an
    answer it cut must not be served as complete. (Its system graph
    virtrdf: holds some 2,500 triples; no data needs loading.)"""
    with virtuoso(max_rows=100) as small:
        client = make_client(sparql_endpoint=small.sparql, max_result_rows=1000)
        response = client.get("/sparql", params={
            "query": "SELECT * FROM <http://www.openlinksw.com/schemas/virtrdf#> "
                     "{ ?s ?p ?o }"})
        assert response.status_code != 200 or \
            response.headers["x-digistrat-truncated"] == "true"
        # what the pages, tables and search index read must not be cut either: a clear
        # error, not a half index (at 1M triples and ResultSetMaxRows 100,000 it was a 500)
        with pytest.raises(BackendError, match="cut an answer at 100 rows"):
            RemoteEndpoint(small.sparql).run_query(
                "SELECT * FROM <http://www.openlinksw.com/schemas/virtrdf#> { ?s ?p ?o }")


# --- pages ----------------------------------------------------------------------------------------

#: Parts of a page that may differ between two renderings of the same data.
VOLATILE = [re.compile(r'\snonce="[^"]*"')]


def normalised(html: str) -> str:
    for pattern in VOLATILE:
        html = pattern.sub("", html)
    return html


def first(store: Store, query: str) -> str:
    row = next(iter(store.ox.query(query, use_default_graph_as_union=True)))
    return str(row[0].value).removeprefix(BASE)


def page_paths(store: Store) -> dict[str, str]:
    """One page of each family (resources derived from the data)."""
    return {
        "home": "/",
        "municipality": "/id/municipality/ch-261",
        "strategy": first(store, f"SELECT ?s {{ ?s a <{DS}Strategy> ; <{DS}adoptedIn> ?d }} "
                                 "ORDER BY ?s LIMIT 1"),
        "element": first(store, f"SELECT ?e {{ ?s <{DS}hasElement> ?e }} ORDER BY ?e LIMIT 1"),
        "vocabulary": "/vocab/theme",
        "ontology": "/ontology",
        "shapes": "/shapes",
        "compare": "/-/compare",
        "timeline": "/-/timeline",
        "coverage": "/-/coverage",
    }


PAGE_FAMILIES = ["home", "municipality", "strategy", "element", "vocabulary", "ontology",
                 "shapes", "compare", "timeline", "coverage"]


@pytest.mark.parametrize("family", PAGE_FAMILIES)
def test_pages_render_as_in_process(family: str, client: TestClient,
                                    local_client: TestClient, store: Store,
                                    request: pytest.FixtureRequest) -> None:
    if family in PAGE_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(reason=PAGE_DIFFERENCES[family], strict=True))
    path = page_paths(store)[family]
    local = local_client.get(path, headers={"Accept": "text/html"})
    assert local.status_code == 200
    remote = client.get(path, headers={"Accept": "text/html"})
    assert remote.status_code == 200, remote.text[-500:]
    assert normalised(remote.text) == normalised(local.text)
