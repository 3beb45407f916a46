"""Which dataset a query to a remote store is sent with (kg.remote.RemoteEndpoint): the
project's (the union graph as default graph, every graph as a named graph) unless the query
names its own; a query without a GRAPH pattern gets the default graph alone, which at 1,282
graphs on Virtuoso saves about 0.2 s a query. Clients' queries are read as the confined
checker reads them (kg.remote.check_query)."""

from __future__ import annotations

import pytest

from kg.remote import RemoteEndpoint, check_query
from kg.sparql import QueryRequest

A, B = "https://w3id.org/digistrat/graph/data/a", "https://w3id.org/digistrat/graph/data/b"
UNION = "https://w3id.org/digistrat/union-graph"
PLAIN = "SELECT ?s WHERE { ?s a ?t }"
IN_GRAPHS = "SELECT ?g ?s WHERE { GRAPH ?g { ?s a ?t } }"
FROM = "SELECT ?s FROM <http://example.org/g> WHERE { ?s a ?t }"


def dataset(data: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    assert data[0][0] == "query"
    return ([v for k, v in data if k == "default-graph-uri"],
            [v for k, v in data if k == "named-graph-uri"])


@pytest.fixture(params=[UNION, None], ids=["union-graph", "no-union-graph"])
def endpoint(request: pytest.FixtureRequest) -> RemoteEndpoint:
    remote = RemoteEndpoint("http://127.0.0.1:9/sparql", graphs=[A, B])
    remote.union_graph = request.param
    return remote


def default_of(remote: RemoteEndpoint) -> list[str]:
    return [UNION] if remote.union_graph else [A, B]


def client(endpoint: RemoteEndpoint, text: str, **protocol: object) -> tuple[list[str], list[str]]:
    """The dataset a client's query is sent with, after the checker read it."""
    request = QueryRequest(text, **protocol)  # type: ignore[arg-type]
    reply, _ = check_query(request.as_dict())
    assert reply["ok"], reply
    endpoint.checked(request, reply)
    return dataset(endpoint.form_data(request))


def test_a_clients_query_with_graph_patterns_gets_the_whole_dataset(
        endpoint: RemoteEndpoint) -> None:
    assert client(endpoint, IN_GRAPHS) == (default_of(endpoint), [A, B])
    nested = "SELECT ?s WHERE { ?s a ?t FILTER EXISTS { graph ?g { ?s a ?t } } }"
    assert client(endpoint, nested) == (default_of(endpoint), [A, B])


def test_a_clients_query_without_graph_patterns_gets_the_default_graph(
        endpoint: RemoteEndpoint) -> None:
    assert client(endpoint, PLAIN) == (default_of(endpoint), [])
    quoted = 'SELECT ?s WHERE { ?s ?p "GRAPH" } # GRAPH ?g'
    assert client(endpoint, quoted) == (default_of(endpoint), [])


def test_a_clients_own_dataset_is_kept(endpoint: RemoteEndpoint) -> None:
    assert client(endpoint, FROM) == ([], [])
    assert client(endpoint, PLAIN, default_graphs=[A], named_graphs=[]) == ([A], [])
    assert client(endpoint, IN_GRAPHS, named_graphs=[B]) == ([], [B])


def test_own_reads_without_graph_patterns_send_the_default_graph_alone(
        endpoint: RemoteEndpoint) -> None:
    sent = dataset(endpoint.form_data(endpoint.read_request(PLAIN)))
    assert sent == (default_of(endpoint), [])


def test_own_reads_with_graph_patterns_name_every_graph(endpoint: RemoteEndpoint) -> None:
    sent = dataset(endpoint.form_data(endpoint.read_request(IN_GRAPHS)))
    assert sent == (default_of(endpoint), [A, B])


def test_own_reads_of_the_stores_dataset_send_none(endpoint: RemoteEndpoint) -> None:
    for text in (PLAIN, IN_GRAPHS, FROM):
        assert dataset(endpoint.form_data(endpoint.read_request(text, union=False))) == ([], [])
    assert dataset(endpoint.form_data(endpoint.read_request(FROM))) == ([], [])
