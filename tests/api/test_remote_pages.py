"""Every read goes through the backend (issue 15): with --sparql-endpoint the pages are
rendered from the remote store, and answer the same as in-process."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

PAGES = ["/", "/id/municipality/de-05113000", "/id/municipality/ch-261",
         "/id/strategy/essen-2023", "/id/strategy/zuerich-digitalisierungsstrategie-2024",
         "/id/element/essen-2023-1", "/id/decision/essen-2023-02-15", "/vocab",
         "/vocab/theme", "/vocab/theme/open-data", "/ontology", "/shapes",
         "/graph/data/essen", "/-/compare", "/-/timeline", "/-/downloads",
         "/-/catalog", "/.well-known/void", "/sitemap.xml"]


# Not compared: /-/coverage. Over `oxigraph serve` with the 172 data graphs named as the
# default graph, one of its queries runs longer than the 10 s query limit (measured
# 2026-11-27: 503 query-timeout), while in-process it takes well under a second. Open work
# in issue 15.


def normalised(text: str) -> str:
    """The page without what may differ between two runs of the same app: the ids of blank
    nodes in RDF output, nothing else."""
    return re.sub(r"_:[A-Za-z0-9]+", "_:b", text)


@pytest.fixture(scope="module")
def remote_client(loaded: str, make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(sparql_endpoint=loaded + "/query")


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("accept", ["text/html", "text/turtle"])
def test_a_page_is_the_same_over_the_remote_store(client: TestClient,
                                                  remote_client: TestClient,
                                                  path: str, accept: str) -> None:
    local = client.get(path, headers={"Accept": accept, "Accept-Language": "de"})
    remote = remote_client.get(path, headers={"Accept": accept, "Accept-Language": "de"})
    assert remote.status_code == local.status_code == 200, (path, remote.text[:300])
    if accept == "text/turtle" and local.headers["content-type"].startswith("text/turtle"):
        from rdflib import Graph
        from rdflib.compare import isomorphic

        assert isomorphic(Graph().parse(data=local.text, format="turtle"),
                          Graph().parse(data=remote.text, format="turtle")), path
    else:
        assert normalised(remote.text) == normalised(local.text), path


def test_the_remote_store_holds_what_the_files_hold(remote_client: TestClient,
                                                    client: TestClient) -> None:
    store = remote_client.app.state.store  # type: ignore[attr-defined]
    local = client.app.state.store  # type: ignore[attr-defined]
    assert {g.iri for g in store.graphs} == {g.iri for g in local.graphs}
    assert len(store) == len(local)
