"""The remote backend against a real ``oxigraph serve`` on loopback, filled by
``digistrat load --to`` (Graph Store Protocol, one PUT per named graph)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.compare import isomorphic
from support import eventually, free_port, recorded_queries, running

from api.cli import main
from kg import remote as remote_module
from kg.errors import QueryError, QueryTooComplexError
from kg.project import Project
from kg.remote import (
    UNION_COMPLETE_GRAPH,
    UNION_GRAPH,
    BackendError,
    RemoteEndpoint,
    RemoteStore,
    push_dataset,
)
from kg.search import _collect as collect_search_rows
from kg.sparql import QueryRequest, run_query
from kg.store import Store

ROOT = Path(__file__).resolve().parents[2]
OXIGRAPH = Path(sys.executable).parent / "oxigraph"


def test_load_puts_every_named_graph(loaded: str, store: Store) -> None:
    response = httpx.get(loaded + "/query", trust_env=False, params={
        "query": "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"},
        headers={"Accept": "application/sparql-results+json"})
    counts = {b["g"]["value"]: int(b["n"]["value"])
              for b in response.json()["results"]["bindings"]}
    distinct = len({q.triple for q in store.ox})
    assert counts == {**{g.iri: g.triples for g in store.graphs}, UNION_GRAPH: distinct,
                      UNION_COMPLETE_GRAPH: len(store.graphs) + 1}
    # loading again replaces (PUT), it does not add
    result = CliRunner().invoke(main, ["load", "--root", str(ROOT), "--to",
                                       loaded + "/store", "-q"])
    assert result.exit_code == 0
    again = httpx.get(loaded + "/query", trust_env=False, params={
        "query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"},
        headers={"Accept": "application/sparql-results+json"})
    assert int(again.json()["results"]["bindings"][0]["n"]["value"]) == \
        len(store) + distinct + len(store.graphs) + 1


def union_sent(base: str) -> str | None:
    """The default graph a fresh RemoteStore over ``base`` sends with its reads."""
    endpoint = RemoteEndpoint(base + "/query")
    try:
        store = RemoteStore(endpoint, Project.locate(ROOT))
        store.graphs  # noqa: B018 - reads the list of graphs and whether the union is whole
        return endpoint.union_graph
    finally:
        endpoint.close()


def test_a_load_stopped_halfway_leaves_the_graphs_named_one_by_one(
        loaded: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """``digistrat load`` removes UNION_COMPLETE_GRAPH before it writes and writes it last;
    without it, or when the union does not hold the triples it counts, the service names the
    project's graphs one by one (the union graph may be stale)."""
    assert union_sent(loaded) == UNION_GRAPH
    real_put = remote_module._put
    written: list[str] = []

    def put_then_fail(client: httpx.Client, url: str, graph: str, *args: object) -> int:
        if len(written) == 3:
            raise BackendError("the store went away")
        written.append(graph)
        return real_put(client, url, graph, *args)  # type: ignore[arg-type]

    try:
        with monkeypatch.context() as patched:
            patched.setattr(remote_module, "_put", put_then_fail)
            with pytest.raises(BackendError):
                push_dataset(store, loaded + "/store")
        assert union_sent(loaded) is None
        push_dataset(store, loaded + "/store")
        assert union_sent(loaded) == UNION_GRAPH
        wrong = f"<{UNION_GRAPH}> <http://rdfs.org/ns/void#triples> 7 ."
        httpx.put(loaded + "/store", params={"graph": UNION_COMPLETE_GRAPH}, content=wrong,
                  headers={"Content-Type": "text/turtle"}, trust_env=False
                  ).raise_for_status()
        assert union_sent(loaded) is None
    finally:
        push_dataset(store, loaded + "/store")
    assert union_sent(loaded) == UNION_GRAPH


def test_the_graphs_are_read_from_the_loads_manifest(loaded: str, store: Store) -> None:
    """A complete load writes each graph's size in UNION_COMPLETE_GRAPH; the service reads
    its list of graphs from there (counting them is a pass over the store: 77–97 s over the
    10M Virtuoso), and counts them only where no load wrote that list."""
    def listed() -> tuple[dict[str, int], str | None]:
        endpoint = RemoteEndpoint(loaded + "/query")
        try:
            remote = RemoteStore(endpoint, Project.locate(ROOT))
            return {g.iri: g.triples for g in remote.graphs}, endpoint.union_graph
        finally:
            endpoint.close()

    own = {g.iri: g.triples for g in store.graphs}
    assert listed() == (own, UNION_GRAPH)
    first = sorted(own)[0]
    manifest = "".join(f"<{g}> <http://rdfs.org/ns/void#triples> {n + (g == first)} .\n"
                       for g, n in [(UNION_GRAPH, len({q.triple for q in store.ox})),
                                    *own.items()])
    union_only = manifest.splitlines()[0]
    try:
        for body, expected in ((manifest, ({**own, first: own[first] + 1}, UNION_GRAPH)),
                               (union_only, (own, UNION_GRAPH))):
            httpx.put(loaded + "/store", params={"graph": UNION_COMPLETE_GRAPH}, content=body,
                      headers={"Content-Type": "text/turtle"}, trust_env=False
                      ).raise_for_status()
            assert listed() == expected  # the manifest's sizes, else the counted ones
    finally:
        push_dataset(store, loaded + "/store")
    assert listed() == (own, UNION_GRAPH)


def test_the_list_of_graphs_is_read_once_and_again_in_the_background(
        loaded: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The list of graphs is read once by the first requests, which wait for it; once it is
    older than its time to live, it is read again in a thread of its own, and no request
    waits for that (the request that found it old did: counted, the list took 77–97 s over
    the 10M Virtuoso). A failed read keeps the old list and is logged."""
    reads: list[float] = []
    failing: list[bool] = []
    real = RemoteStore._graphs_of_manifest

    def slow(self: RemoteStore) -> tuple[dict[str, int], bool] | None:
        reads.append(time.monotonic())
        time.sleep(1.0)
        if failing:
            raise QueryError("the store went away")
        return real(self)

    monkeypatch.setattr(RemoteStore, "_graphs_of_manifest", slow)
    endpoint = RemoteEndpoint(loaded + "/query")
    try:
        remote = RemoteStore(endpoint, Project.locate(ROOT))
        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(lambda _: remote.graphs, range(4)))
        assert len(reads) == 1 and all(found is first[0] for found in first)
        remote._fetched = 0.0  # older than its time to live
        started = time.monotonic()
        assert all(remote.graphs is first[0] for _ in range(3))  # the list read before
        assert time.monotonic() - started < 0.5  # at once: nobody waits for the read
        assert eventually(lambda: remote.graphs is not first[0])  # read again, once
        assert len(reads) == 2
        second = remote.graphs
        failing.append(True)
        remote._fetched = 0.0
        with caplog.at_level(logging.WARNING, logger="digistrat"):
            assert remote.graphs is second  # and a read starts, which fails
            assert eventually(lambda: len(reads) == 3 and not remote._listing.locked())
        assert "the list of graphs was not read again" in caplog.text
        assert "the store went away" in caplog.text
        failing.clear()
        assert remote.graphs is second  # kept; this request starts another read
        assert eventually(lambda: remote.graphs is not second)
        assert len(reads) == 4
    finally:
        endpoint.close()


def test_a_checker_lost_is_replaced_and_the_query_checked_again(loaded: str) -> None:
    """The remote endpoint parses each query in a confined worker before it sends it on; a
    worker lost while checking (killed here; over the 10M Virtuoso the memory watchdog
    stopped one, the service itself over its budget, and a lookup failed with a 400) is
    replaced and the query checked once more; a query that loses two is too complex."""
    values = " ".join(f"<http://example.org/{number}>" for number in range(100_000))
    query = f"SELECT ?x WHERE {{ VALUES ?x {{ {values} }} }} LIMIT 1"  # slow to parse

    async def run_killing(kills: int) -> tuple[object, int]:
        endpoint = RemoteEndpoint(loaded + "/query")
        endpoint.start_checker()
        assert endpoint.checker is not None
        killed: set[int] = set()
        try:
            task = asyncio.create_task(endpoint.run(QueryRequest(query, max_rows=10), 60))
            while len(killed) < kills and not task.done():
                await asyncio.sleep(0.01)
                for pid in set(endpoint.checker.busy_pids()) - killed:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
            try:
                return await task, len(killed)
            except QueryTooComplexError as err:
                return err, len(killed)
        finally:
            endpoint.close()

    answer, killed = asyncio.run(run_killing(1))
    assert killed == 1
    assert getattr(answer, "rows", None) == 1  # checked by a second worker, then answered
    error, killed = asyncio.run(run_killing(2))
    assert killed == 2
    assert isinstance(error, QueryTooComplexError)


def test_the_union_is_written_in_batches_of_whole_graphs(
        loaded: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written in many POSTs (a batch of at least 500 triples here), the union holds each
    triple once and nothing an earlier load left there, and the blank nodes of a graph still
    join its triples (a graph is never split: a store renames each request's blank nodes
    apart)."""
    joined = ("SELECT (COUNT(*) AS ?n) {{ {graph} {{ ?s ?p ?b . ?b ?q ?o "
              "FILTER(isBlank(?b)) }} }}")

    def remote_count(text: str) -> int:
        response = httpx.get(loaded + "/query", trust_env=False, params={"query": text},
                             headers={"Accept": "application/sparql-results+json"})
        return int(response.json()["results"]["bindings"][0]["n"]["value"])

    posts: list[int] = []
    real_send = remote_module._send

    def counting_send(client: httpx.Client, method: str, *args: object) -> int:
        if method == "POST":
            posts.append(1)
        return real_send(client, method, *args)  # type: ignore[arg-type]

    stray = '<http://example.org/stray> <http://example.org/p> "1" .'  # an earlier load's
    httpx.post(loaded + "/store", params={"graph": UNION_GRAPH}, content=stray,
               headers={"Content-Type": "application/n-triples"}, trust_env=False
               ).raise_for_status()
    monkeypatch.setattr(remote_module, "UNION_BATCH", 500)
    monkeypatch.setattr(remote_module, "_send", counting_send)
    try:
        push_dataset(store, loaded + "/store")
        distinct = len({q.triple for q in store.ox})
        assert len(posts) >= 10
        assert remote_count(f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{UNION_GRAPH}> "
                            "{ ?s ?p ?o } }") == distinct
        local = int(next(iter(store.query(joined.format(graph=""))))["n"].value)
        assert local > 0
        assert remote_count(joined.format(graph=f"GRAPH <{UNION_GRAPH}>")) == local
        assert union_sent(loaded) == UNION_GRAPH
    finally:
        monkeypatch.undo()
        push_dataset(store, loaded + "/store")


def test_the_search_index_reads_in_parts(loaded: str, store: Store,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked in 8 parts (a FILTER on the MD5 digest of a key), the search index's reads give
    the rows read in process at once: each row in exactly one part."""
    asked = recorded_queries(monkeypatch)
    monkeypatch.setattr(remote_module, "FIRST_PARTS", 8)
    remote = RemoteStore(RemoteEndpoint(loaded + "/query"), store.project)
    try:
        assert collect_search_rows(remote) == collect_search_rows(store)
    finally:
        remote.remote.close()
    assert sum("MD5(STR(" in text for text in asked) == 5 * 8  # five reads, eight parts


def test_a_part_filter_splits_by_digest() -> None:
    """Parts of 2 and 32: the hex prefixes of every part together are every prefix, once."""
    for parts, digits in ((2, 1), (32, 2)):
        seen: list[str] = []
        for number in range(parts):
            text = remote_module.part_filter("x", number, parts)
            assert text.startswith(f"FILTER(SUBSTR(MD5(STR(?x)), 1, {digits}) IN (")
            seen += re.findall(r'"([0-9a-f]+)"', text)
        assert sorted(seen) == [format(n, f"0{digits}x") for n in range(16**digits)]
    assert remote_module.part_filter("x", 0, 1) == ""


@pytest.fixture(scope="module")
def remote_client(loaded: str, make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(sparql_endpoint=loaded + "/query", max_result_rows=50)


@pytest.fixture(scope="module")
def local_client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(max_result_rows=50)


QUERIES = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?s ?l WHERE { ?s rdfs:label ?l } ORDER BY ?s ?l LIMIT 20",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "xml"])
def test_select_answers_match_the_embedded_store(remote_client: TestClient,
                                                 local_client: TestClient, query: str,
                                                 fmt: str) -> None:
    remote = remote_client.get("/sparql", params={"query": query, "format": fmt})
    local = local_client.get("/sparql", params={"query": query, "format": fmt})
    assert remote.status_code == local.status_code == 200
    assert remote.headers["content-type"] == local.headers["content-type"]
    assert remote.content == local.content


def test_ask_and_construct(remote_client: TestClient, local_client: TestClient) -> None:
    for query in ("ASK { ?s ?p ?o }", "ASK { <urn:x:none> ?p ?o }"):
        assert remote_client.get("/sparql", params={"query": query}).json() == \
            local_client.get("/sparql", params={"query": query}).json()
    query = ("PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
             "CONSTRUCT { ?c skos:prefLabel ?l } WHERE { ?c skos:prefLabel ?l } "
             "ORDER BY ?c ?l LIMIT 40")
    remote = remote_client.get("/sparql", params={"query": query},
                               headers={"Accept": "text/turtle"})
    local = local_client.get("/sparql", params={"query": query},
                             headers={"Accept": "text/turtle"})
    assert remote.status_code == 200
    assert isomorphic(Graph().parse(data=remote.content, format="turtle"),
                      Graph().parse(data=local.content, format="turtle"))


def test_remote_truncation_and_errors(remote_client: TestClient) -> None:
    response = remote_client.get("/sparql", params={"query": "SELECT * { ?s ?p ?o }"})
    assert response.headers["x-digistrat-truncated"] == "true"
    assert len(response.json()["results"]["bindings"]) == 50
    response = remote_client.get("/sparql", params={"query": "SELECT * {"})
    assert response.status_code == 400 and response.json()["type"] == "query-syntax"
    response = remote_client.get("/sparql", params={
        "query": "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert response.status_code == 403
    response = remote_client.post("/sparql", content=b"CLEAR ALL",
                                  headers={"Content-Type": "application/sparql-update"})
    assert response.status_code == 403


def test_remote_time_limit(loaded: str, make_client: Callable[..., TestClient]) -> None:
    client = make_client(sparql_endpoint=loaded + "/query", query_timeout_ms=500)
    started = time.monotonic()
    response = client.get("/sparql", params={
        "query": "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"})
    assert response.status_code == 503 and response.json()["type"] == "query-timeout"
    assert time.monotonic() - started < 5


@pytest.fixture(scope="module")
def impatient_client(tmp_path_factory: pytest.TempPathFactory, store: Store,
                     make_client: Callable[..., TestClient]) -> Iterator[TestClient]:
    """The service over an `oxigraph serve --timeout-s 1`: the store's limit is shorter than
    the service's."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([str(OXIGRAPH), "serve", "--location", str(tmp_path_factory.mktemp("ox")),
                  "--bind", f"127.0.0.1:{port}", "--timeout-s", "1"],
                 base + "/query?query=ASK%7B%7D", ready_seconds=30):
        push_dataset(store, base + "/store")
        yield make_client(sparql_endpoint=base + "/query", query_timeout_ms=20_000,
                          max_result_rows=10**9)


SLOW_FILTER = '{ ?a ?b ?c . ?d ?e ?f FILTER(STR(?c) = CONCAT(STR(?f), "~")) }'


@pytest.mark.parametrize("query", [
    # oxigraph writes the head of the answer at once, then "The SPARQL operation has been
    # cancelled" into it at its limit
    "SELECT * " + SLOW_FILTER,
    "SELECT (COUNT(*) AS ?n) " + SLOW_FILTER])
def test_the_stores_own_time_limit_is_a_503(query: str, impatient_client: TestClient) -> None:
    started = time.monotonic()
    response = impatient_client.get("/sparql", params={"query": query})
    assert response.status_code == 503, response.text[:300]
    assert response.json()["type"] == "query-timeout"
    assert "the store stopped it" in response.json()["error"]  # not the service's 20 s
    assert time.monotonic() - started < 15


def test_unreachable_backend_is_a_502(make_client: Callable[..., TestClient]) -> None:
    client = make_client(sparql_endpoint=f"http://127.0.0.1:{free_port()}/query")
    response = client.get("/sparql", params={"query": "ASK {}"})
    assert response.status_code == 502 and response.json()["type"] == "backend-error"


def test_run_query_uses_the_remote_endpoint(loaded: str, store: Store) -> None:
    remote = RemoteStore(RemoteEndpoint(loaded + "/query"), store.project)
    try:
        query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        outcome = run_query(remote, query)
        assert outcome.form == "select"
        assert int(next(iter(outcome.result))["n"].value) == len(store)  # type: ignore[arg-type, index]
        outcome = run_query(remote, "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 5")
        assert outcome.form == "construct" and len(list(outcome.result)) == 5  # type: ignore[arg-type]
        assert bool(run_query(remote, "ASK { ?s ?p ?o }").result)
    finally:
        remote.remote.close()


def test_remote_count_is_the_number_of_distinct_triples(loaded: str, store: Store) -> None:
    """One count for one triple on the remote backend too (see tests/test_graphs.py): its
    default graph names every graph, which Oxigraph merges as a multiset as well, so the
    count is exact only because no triple stands in two graphs."""
    distinct = len({(quad.subject, quad.predicate, quad.object) for quad in store.ox})
    remote = RemoteStore(RemoteEndpoint(loaded + "/query"), store.project)
    try:
        for query in ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                      "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
                      "WHERE { ?s ?p ?o } }"):
            outcome = run_query(remote, query)
            assert int(next(iter(outcome.result))["n"].value) == distinct, query  # type: ignore[arg-type, index]
    finally:
        remote.remote.close()
