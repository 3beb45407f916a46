#!/usr/bin/env python3
"""Where a trivial query's time goes: the engine alone, the worker hop, and the whole HTTP
request, on the bundled data (issue 15, item 4).

1. engine: pyoxigraph runs the query and writes SPARQL JSON, in this process; and
   ``kg.sparql.execute`` (what a worker runs: the row cap, the format), in this process;
2. worker: the same through the endpoint's confined worker pool (`kg.endpoint.LocalEndpoint`:
   the request sent to a worker process, run, answered), without HTTP;
3. HTTP: `GET /sparql` to a `digistrat serve` on loopback, back to back at concurrency 1;
4. HTTP without a query: `GET` of a static file, the web stack's own floor;
5. the same `GET /sparql` split by its own `Server-Timing` header: the worker's run, the
   worker's round trip and the request in the app, against the time the client saw.

Each is the median of --requests runs (bounded by --max-seconds).

    .venv/bin/python bench/bench_request_split.py
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyoxigraph as ox
from httpclient import run_cell
from servers import start_digistrat

from kg.endpoint import LocalEndpoint, QueryPoolSettings
from kg.project import Project
from kg.sparql import QueryRequest, execute
from kg.store import Store
from queries import QUERIES

ROOT = Path(__file__).resolve().parent.parent
QUERY = """SELECT ?p ?o ?s WHERE {{ {{ <{iri}> ?p ?o }} UNION {{ ?s ?p <{iri}> }} }}"""


def median_ms(run: Callable[[], object], requests: int, max_seconds: float) -> float:
    run()
    times = []
    deadline = time.perf_counter() + max_seconds
    for _ in range(requests):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() > deadline:
            break
    return statistics.median(times)


async def through_worker(store: Store, query: str, requests: int, max_seconds: float
                         ) -> float:
    """The median time of the query through a pool of one confined worker, in ms."""
    endpoint = LocalEndpoint(store.ox, QueryPoolSettings(workers=1))
    request = QueryRequest(query, results_format="json", max_rows=10_000)
    try:
        await endpoint.run(request, 10)
        times = []
        deadline = time.perf_counter() + max_seconds
        for _ in range(requests):
            started = time.perf_counter()
            await endpoint.run(request, 10)
            times.append((time.perf_counter() - started) * 1000)
            if time.perf_counter() > deadline:
                break
        return statistics.median(times)
    finally:
        endpoint.close()
        await asyncio.sleep(0.1)  # let the pool's tasks end


def timed_split(port: int, target: str, requests: int, max_seconds: float
                ) -> dict[str, float]:
    """Medians of the client's time and of the answer's Server-Timing steps, in ms."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    seen: dict[str, list[float]] = {}
    deadline = time.perf_counter() + max_seconds
    for number in range(requests + 1):
        started = time.perf_counter()
        connection.request("GET", target, headers={"Accept": "application/sparql-results+json"})
        response = connection.getresponse()
        response.read()
        took = (time.perf_counter() - started) * 1000
        if number == 0:
            continue  # the first request opens the connection
        seen.setdefault("HTTP, timed", []).append(took)
        for part in response.getheader("Server-Timing", "").split(", "):
            name, *params = part.split(";")
            steps = dict(p.split("=", 1) for p in params)
            seen.setdefault(f"  {name} (Server-Timing)", []).append(float(steps["dur"]))
        if time.perf_counter() > deadline:
            break
    connection.close()
    return {name: statistics.median(values) for name, values in seen.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=10)
    parser.add_argument("--root", type=Path, default=ROOT, help="the project (default: this "
                        "checkout; a folder of bench/generate.py for synthetic data)")
    parser.add_argument("--iri", default="https://w3id.org/digistrat/id/strategy/essen-2023",
                        help="the strategy to look up")
    parser.add_argument("--query", help="instead of the lookup, a query of bench/queries.py "
                        "by name (with --root a folder of bench/generate.py)")
    args = parser.parse_args()
    query = QUERY.format(iri=args.iri)
    if args.query:
        samples = json.loads((args.root / "bench-manifest.json").read_text())["samples"]
        query = next(q for q in QUERIES if q.name == args.query).render(samples)
    store = Store.load(Project(args.root))
    figures = {}
    figures["engine"] = median_ms(lambda: store.ox.query(
        query, use_default_graph_as_union=True).serialize(format=ox.QueryResultsFormat.JSON),
        args.requests, args.max_seconds)
    figures["execute"] = median_ms(lambda: execute(store.ox, QueryRequest(
        query, results_format="json", max_rows=10_000)), args.requests, args.max_seconds)
    figures["worker"] = asyncio.run(through_worker(store, query, args.requests,
                                                   args.max_seconds))
    with tempfile.TemporaryDirectory() as tmp:
        server = start_digistrat(args.root, Path(tmp) / "serve.log", timeout=1800)
        try:
            for name, target in (("HTTP", "/sparql?query=" + quote(query)),
                                 ("HTTP, static file", "/-/static/tables.css")):
                cell = asyncio.run(run_cell(server.port, target, concurrency=1,
                                            requests=args.requests,
                                            max_seconds=args.max_seconds))
                assert set(cell.statuses) == {200}, cell.statuses
                figures[name] = cell.pct(0.5)
            figures.update(timed_split(server.port, "/sparql?query=" + quote(query),
                                       args.requests, args.max_seconds))
        finally:
            server.stop()
    for name, value in figures.items():
        print(f"{name:28s} p50 {value:7.3f} ms")


if __name__ == "__main__":
    main()
