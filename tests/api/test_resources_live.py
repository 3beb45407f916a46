"""The real server process, dereferenced by rdflib over HTTP as any linked-data client would."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from support import cbd, free_port, running

from kg.namespaces import BASE
from kg.store import Store

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 90


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``digistrat serve`` in its own process on a free port; stopped after the module."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("digistrat")), "serve", "--port", str(port),
               "--host", "127.0.0.1", "--quiet", "--root", str(ROOT)]
    url = f"http://127.0.0.1:{port}"
    with running(command, url + "/-/health", ready_seconds=READY_SECONDS, cwd=ROOT):
        yield url


@pytest.mark.parametrize("local", ["id/strategy/zuerich-digitalisierungsstrategie-2024",
                                   "id/municipality/ch-261"])
def test_rdflib_parses_a_resource_from_the_running_server(server: str, store: Store,
                                                          local: str) -> None:
    union = store.rdflib_graph(store.graph_iris())
    if (URIRef(BASE + local), None, None) not in union:
        pytest.skip(f"{local} is not in the bundled data")
    graph = Graph().parse(f"{server}/{local}")  # rdflib's own Accept header, no format hint
    assert len(graph) > 3
    assert isomorphic(graph, cbd(union, BASE + local))


def test_running_server_answers_each_format_and_the_browser(server: str) -> None:
    path = "/id/municipality/ch-261"
    for media, fmt in [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                       ("application/n-triples", "nt"), ("application/rdf+xml", "xml")]:
        request = urllib.request.Request(server + path, headers={"Accept": media})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"].startswith(media)
            graph = Graph().parse(data=response.read(), format=fmt)
        assert (URIRef(BASE + path[1:]), None, None) in graph
    request = urllib.request.Request(server + path, headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert "<h1>" in response.read().decode()
