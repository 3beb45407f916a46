"""The local endpoint (kg.endpoint): a query whose worker is lost runs once more on a fresh
worker; a query that loses its worker twice is answered as too complex."""

from __future__ import annotations

import asyncio
import os
import signal

import pyoxigraph as ox
import pytest

from kg.endpoint import LocalEndpoint, QueryPoolSettings
from kg.errors import QueryTooComplexError
from kg.sparql import QueryRequest

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture()
def store() -> ox.Store:
    store = ox.Store()
    for number in range(200):
        store.add(ox.Quad(ox.NamedNode(f"http://example.org/s{number}"),
                          ox.NamedNode("http://example.org/p"), ox.Literal(str(number)),
                          ox.NamedNode("http://example.org/g")))
    return store


async def _run_killing(endpoint: LocalEndpoint, kills: int) -> tuple[object, int]:
    """Run SLOW and kill the worker running it, ``kills`` times; the answer or the error."""
    task = asyncio.create_task(endpoint.run(QueryRequest(SLOW, max_rows=10), 60))
    killed = 0
    while killed < kills and not task.done():
        await asyncio.sleep(0.1)
        for pid in endpoint.pool.busy_pids():
            os.kill(pid, signal.SIGKILL)
            killed += 1
    try:
        return await task, killed
    except QueryTooComplexError as err:
        return err, killed


def test_a_lost_worker_is_replaced_and_the_query_runs_again(store: ox.Store) -> None:
    async def scenario() -> tuple[object, int, int]:
        endpoint = LocalEndpoint(store, QueryPoolSettings(workers=1, overflow=0))
        try:
            answer, killed = await _run_killing(endpoint, 1)
            return answer, killed, endpoint.pool.crashes
        finally:
            endpoint.close()

    answer, killed, crashes = asyncio.run(scenario())
    assert killed == 1 and crashes == 1
    assert getattr(answer, "rows", None) == 1  # answered by the second worker
    assert b"8000000" in answer.body  # type: ignore[attr-defined]


def test_a_query_that_loses_two_workers_is_too_complex(store: ox.Store) -> None:
    async def scenario() -> tuple[object, int]:
        endpoint = LocalEndpoint(store, QueryPoolSettings(workers=1, overflow=0))
        try:
            return await _run_killing(endpoint, 2)
        finally:
            endpoint.close()

    error, killed = asyncio.run(scenario())
    assert killed == 2
    assert isinstance(error, QueryTooComplexError)
