"""Every read goes through the backend (issue 15): with --sparql-endpoint the pages are
rendered from the remote store, and answer the same as in-process."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from kg.project import Project
from kg.remote import UNION_GRAPH

PAGES = ["/", "/id/municipality/de-05113000", "/id/municipality/ch-261",
         "/id/strategy/essen-2023", "/id/strategy/zuerich-digitalisierungsstrategie-2024",
         "/id/element/essen-2023-1", "/id/decision/essen-2023-02-15", "/vocab",
         "/vocab/theme", "/vocab/theme/open-data", "/ontology", "/shapes",
         "/graph/data/essen", "/-/compare", "/-/timeline", "/-/downloads",
         "/-/catalog", "/.well-known/void", "/sitemap.xml", "/-/coverage",
         "/-/municipalities?country=de&level=city", "/-/strategies?status=adopted",
         "/-/themes", "/-/themes/open-data", "/-/charts", "/search?q=Daten",
         "/validate", "/validate/new"]


def normalised(text: str) -> str:
    """The page without what may differ between two runs of the same app: the ids of blank
    nodes in RDF output, nothing else."""
    return re.sub(r"_:[A-Za-z0-9]+", "_:b", text)


@pytest.fixture(scope="module")
def dataless_client(loaded: str, tmp_path_factory: pytest.TempPathFactory,
                    ) -> Iterator[TestClient]:
    """The service over the remote store from a checkout without its data folder: ontology,
    shapes, queries and templates stay (the service's own files), the data is only in the
    store."""
    root = tmp_path_factory.mktemp("checkout") / "digistrat"
    source = Path(__file__).resolve().parents[2]
    root.mkdir()
    for name in ("ontology", "shapes", "queries", "templates"):
        shutil.copytree(source / name, root / name)
    settings = Settings(sparql_endpoint=loaded + "/query", public_url="http://testserver")
    with TestClient(create_app(settings, project=Project(root)),
                    raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def remote_client(loaded: str, make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(sparql_endpoint=loaded + "/query")


def test_the_services_own_reads_are_not_held_to_the_query_timeout(
        loaded: str, make_client: Callable[..., TestClient]) -> None:
    """The search index, tables and pages are built from a few large reads (at 1M triples
    over Virtuoso the index's first read takes 9 s): they have store_read_timeout_ms, not
    the clients' query_timeout_ms (here 1 ms, which no read over HTTP meets)."""
    client = make_client(sparql_endpoint=loaded + "/query", query_timeout_ms=1)
    assert client.get("/search?q=bern&format=json").status_code == 200
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/-/strategies?format=json").status_code == 200


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("accept", ["text/html", "text/turtle"])
def test_a_page_is_the_same_over_the_remote_store(client: TestClient,
                                                  remote_client: TestClient,
                                                  path: str, accept: str) -> None:
    local = client.get(path, headers={"Accept": accept, "Accept-Language": "de"})
    remote = remote_client.get(path, headers={"Accept": accept, "Accept-Language": "de"})
    assert remote.status_code == local.status_code, (path, remote.text[:300])
    assert local.status_code == 200 or (local.status_code == 406 and path.startswith("/search"))
    if accept == "text/turtle" and local.headers["content-type"].startswith("text/turtle"):
        from rdflib import Graph
        from rdflib.compare import isomorphic

        assert isomorphic(Graph().parse(data=local.text, format="turtle"),
                          Graph().parse(data=remote.text, format="turtle")), path
    else:
        assert normalised(remote.text) == normalised(local.text), path


@pytest.mark.parametrize("path", ["/", "/id/municipality/ch-261", "/id/strategy/essen-2023",
                                  "/-/compare", "/-/coverage", "/-/strategies", "/search?q=Daten",
                                  "/-/downloads"])
def test_no_data_folder_is_needed(client: TestClient, dataless_client: TestClient,
                                  path: str) -> None:
    local = client.get(path, headers={"Accept": "text/html", "Accept-Language": "de"})
    remote = dataless_client.get(path, headers={"Accept": "text/html", "Accept-Language": "de"})
    assert remote.status_code == local.status_code == 200, (path, remote.text[:300])
    assert normalised(remote.text) == normalised(local.text), path


def test_the_remote_store_holds_what_the_files_hold(remote_client: TestClient,
                                                    client: TestClient) -> None:
    store = remote_client.app.state.store  # type: ignore[attr-defined]
    local = client.app.state.store  # type: ignore[attr-defined]
    assert {g.iri for g in store.graphs} == {g.iri for g in local.graphs}
    assert len(store) == len(local)
    # `digistrat load` wrote the union as one graph, and it is the default graph of the
    # service's own queries
    assert store.remote.union_graph == UNION_GRAPH
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    assert [r["n"] for r in store.query(count)] == [r["n"] for r in local.query(count)]


def test_without_the_union_graph_the_graphs_are_named_one_by_one(
        loaded: str, make_client: Callable[..., TestClient], client: TestClient) -> None:
    """A store filled by other means (or an older digistrat) has no union graph: the same
    answers, from the list of the project's graphs."""
    app = make_client(sparql_endpoint=loaded + "/query").app
    store = app.state.store  # type: ignore[attr-defined]
    store.graphs  # noqa: B018 - reads the list of graphs (and finds the union graph)
    store.remote.union_graph = None
    store._fetched = float("inf")  # keep the list as it is
    query = ("SELECT ?status (COUNT(*) AS ?n) WHERE { ?s ds:lifecycleStatus ?status } "
             "GROUP BY ?status ORDER BY ?status")
    prologue = "PREFIX ds: <https://w3id.org/digistrat/ontology#> "
    local = client.app.state.store  # type: ignore[attr-defined]
    assert list(map(str, store.query(prologue + query))) == \
        list(map(str, local.query(prologue + query)))
