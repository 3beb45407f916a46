"""/sparql safety: SERVICE refused (and no connection made), no fetching for FROM, hard
time limit with a killed worker, concurrency while a query runs, the SERVICE lexer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from support import Canary, alive

from kg.sparql_guard import inspect_query

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CROSS = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?e ?i"


Listener = Canary  # a TCP listener on loopback that counts connections (tests/support.py)


@pytest.fixture
def listener() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


# --- SERVICE ---------------------------------------------------------------------------------


def test_service_is_refused_and_no_connection_is_made(client: TestClient,
                                                      listener: Listener) -> None:
    queries = [
        f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{listener.url}> {{ ?s ?p ?o }} }}",
        f"PREFIX remote: <http://127.0.0.1:{listener.port}/> "
        "SELECT * WHERE { SERVICE remote:sparql { ?s ?p ?o } }",
        f"BASE <http://127.0.0.1:{listener.port}/x/> "
        "SELECT * WHERE { SERVICE <../sparql> { ?s ?p ?o } }",
        f"SELECT * WHERE {{ BIND(<{listener.url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}",
        # the IRI with a \\u escape for ':' (the engine resolves such escapes)
        f"SELECT * WHERE {{ SERVICE <http://127.0.0.1\\u003A{listener.port}/sparql> "
        "{ ?s ?p ?o } }",
        f"select * where {{ service <{listener.url}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?x ?y ?z OPTIONAL {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }} }}",
    ]
    for query in queries:
        response = client.get("/sparql", params={"query": query})
        assert response.status_code == 403, (query, response.text)
        assert response.json()["type"] == "service-refused"
    time.sleep(0.3)
    assert listener.connections == 0


def test_allowlisted_service_is_called(make_client: Callable[..., TestClient],
                                       listener: Listener) -> None:
    """The other side of the test above: the engine really does connect when allowed, so
    the refusal is what kept the listener quiet."""
    client = make_client(service_allowlist=(listener.url,), query_timeout_ms=3000)
    client.get("/sparql", params={
        "query": f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"})
    deadline = time.monotonic() + 3
    while listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections >= 1
    # other endpoints stay refused
    response = client.get("/sparql", params={
        "query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/other> { ?s ?p ?o } }"})
    assert response.status_code == 403


def test_from_and_from_named_do_not_fetch(client: TestClient, listener: Listener) -> None:
    query = (f"SELECT * FROM <http://127.0.0.1:{listener.port}/data.ttl> "
             f"FROM NAMED <http://127.0.0.1:{listener.port}/named.ttl> "
             "WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }")
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == 200
    assert response.json()["results"]["bindings"] == []
    response = client.get("/sparql", params=[
        ("query", "ASK { ?s ?p ?o }"),
        ("default-graph-uri", f"http://127.0.0.1:{listener.port}/data.ttl")])
    assert response.json()["boolean"] is False
    time.sleep(0.3)
    assert listener.connections == 0


@pytest.mark.parametrize(("query", "endpoints"), [
    ('SELECT ?service WHERE { ?service ?p "SERVICE <http://a/>" }', []),
    ("SELECT * WHERE { ?s ?p ?o } # SERVICE <http://a/> { }", []),
    ("SELECT * WHERE { ?s ?p '''it's a\nSERVICE <http://a/> {} ''' }", []),
    ('SELECT * WHERE { ?s ?p "say \\"SERVICE <http://a/>\\"" }', []),
    ("PREFIX service: <http://a/> SELECT * WHERE { service:x service:SERVICE ?o }", []),
    ("SELECT * WHERE { ?s <http://a/SERVICE> ?o . ?s ?p $service }", []),
    ("SELECT * WHERE { SERVICE <http://a/> { } }", ["http://a/"]),
    ("SELECT * WHERE { SeRvIcE <http://a/> { } }", ["http://a/"]),
    ("SELECT * WHERE { SERVICE#comment\n<http://a/> { } }", ["http://a/"]),
    ("PREFIX e: <http://a/> SELECT * WHERE { SERVICE e:q { } }", ["http://a/q"]),
    ("PREFIX : <http://a/> SELECT * WHERE { SERVICE :q { } }", ["http://a/q"]),
    ("BASE <http://a/b/> SELECT * WHERE { SERVICE <c> { } }", ["http://a/b/c"]),
    ("SELECT * WHERE { SERVICE ?x { } }", [None]),
    ("SELECT * WHERE { SERVICE undeclared:x { } }", [None]),
    ("SELECT * WHERE { \\u0053ERVICE <http://a/> { } }", ["http://a/"]),
    ("SELECT * WHERE { SERVICE <http://a\\u002Fb/> { } }", ["http://a/b/", "http://a/b/"]),
    ("SELECT * WHERE { FILTER(?a<?b) SERVICE <http://a/> { } }", ["http://a/"]),
])
def test_the_service_lexer(query: str, endpoints: list[str | None]) -> None:
    assert [s.endpoint for s in inspect_query(query).services] == endpoints


@pytest.mark.parametrize(("query", "form"), [
    ("SELECT * {}", "select"), ("ask {}", "ask"), ("CONSTRUCT WHERE {}", "construct"),
    ("PREFIX a: <http://a/> DESCRIBE a:x", "describe"),
    ("# INSERT DATA\nSELECT * {}", "select"),
    ("INSERT DATA { <a:> <a:> <a:> }", "update"), ("PREFIX a: <http://a/> CLEAR ALL", "update"),
    ("LOAD <http://a/>", "update"), ("WITH <a:> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
                                     "update"),
    ('SELECT ("INSERT" AS ?x) {}', "select"),
])
def test_query_forms(query: str, form: str) -> None:
    assert inspect_query(query).form == form


# --- time limit --------------------------------------------------------------------------------


def test_a_slow_query_is_stopped_and_the_worker_is_ready_again(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(query_timeout_ms=500)
    client.get("/sparql", params={"query": "ASK {}"})
    pool = client.app.state.query_backend  # type: ignore[attr-defined]
    before = set(pool.worker_pids)
    for query in (SLOW, CROSS):
        started = time.monotonic()
        response = client.get("/sparql", params={"query": query})
        elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["type"] == "query-timeout"
        assert body["timeout_ms"] == 500
        assert 0.4 < elapsed < 5
        # the next cheap query is answered at once
        started = time.monotonic()
        response = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
        assert response.status_code == 200 and response.json()["boolean"] is True
        assert time.monotonic() - started < 2
    killed = before - set(pool.worker_pids)
    assert killed  # the worker that ran the slow query was replaced ...
    deadline = time.monotonic() + 3
    while any(alive(pid) for pid in killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in killed)  # ... and its process is gone
    assert len(pool.worker_pids) == pool.size


def test_a_request_may_lower_the_limit_but_not_raise_it(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(query_timeout_ms=1500)
    for value, expected_ms in (("300ms", 300), ("0.3", 300), ("0.3s", 300),
                               ("3600", 1500), ("99999ms", 1500)):
        started = time.monotonic()
        response = client.get("/sparql", params={"query": SLOW, "timeout": value})
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["timeout_ms"] == expected_ms
        assert expected_ms / 1000 * 0.8 < elapsed < expected_ms / 1000 + 4


def test_a_cheap_query_is_answered_while_a_slow_one_runs(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(query_timeout_ms=3000, query_workers=2)
    client.get("/sparql", params={"query": "ASK {}"})
    slow: dict[str, object] = {}

    def run_slow() -> None:
        started = time.monotonic()
        slow["status"] = client.get("/sparql", params={"query": SLOW}).status_code
        slow["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.4)
    started = time.monotonic()
    response = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    cheap_elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert "status" not in slow  # the slow query was still running ...
    assert cheap_elapsed < 1.5  # ... and did not hold the cheap one up
    # other routes are served meanwhile too
    assert client.get("/-/health").status_code == 200
    thread.join(timeout=10)
    assert slow["status"] == 503


def _cheap_while_every_worker_is_busy(client: TestClient, workers: int) -> tuple[int, float]:
    """Fill every resident worker with a slow query, then time a cheap one."""
    client.get("/sparql", params={"query": "ASK {}"})
    threads = [threading.Thread(target=client.get, args=("/sparql",),
                                kwargs={"params": {"query": SLOW}}) for _ in range(workers)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    response = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    elapsed = time.monotonic() - started
    for thread in threads:
        thread.join(timeout=10)
    return response.status_code, elapsed


def test_an_overflow_worker_answers_when_every_worker_is_busy(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(query_timeout_ms=2500, query_workers=1, query_overflow_workers=1)
    status, elapsed = _cheap_while_every_worker_is_busy(client, 1)
    assert status == 200
    assert elapsed < 1.5  # not held up until the slow query's limit (2.5 s)
    pool = client.app.state.query_backend  # type: ignore[attr-defined]
    # the overflow worker is retired once idle (overflow_idle_s, 5 s; the supervisor looks
    # every second)
    for _ in range(100):
        if len(pool.worker_pids) == 1:
            break
        client.get("/-/health")  # the app's loop runs the supervisor between requests
        time.sleep(0.1)
    assert len(pool.worker_pids) == 1


def test_without_overflow_a_cheap_query_waits_for_a_busy_worker(
        make_client: Callable[..., TestClient]) -> None:
    client = make_client(query_timeout_ms=2500, query_workers=1, query_overflow_workers=0)
    status, elapsed = _cheap_while_every_worker_is_busy(client, 1)
    assert status == 200
    assert elapsed > 1.5  # it waited until the slow query was stopped


def test_the_memory_budget_stops_the_largest_task(make_client: Callable[..., TestClient]
                                                  ) -> None:
    """Past memory_budget_mb (the whole process tree, as PSS) the busy worker with the most
    memory is stopped and its request answered 503; the service goes on."""
    client = make_client(memory_budget_mb=1, query_timeout_ms=20_000)
    started = time.monotonic()
    response = client.get("/sparql", params={"query": CROSS})
    assert response.status_code == 503, response.text
    assert "memory budget" in response.json()["error"]
    assert time.monotonic() - started < 10
    health = client.get("/-/health").json()
    assert health["memory"]["budget_mb"] == 1 and health["memory"]["tasks_stopped"] >= 1
