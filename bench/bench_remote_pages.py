#!/usr/bin/env python3
"""Pages over a remote store: each page family's time with `digistrat serve
--sparql-endpoint` over `oxigraph serve`, with the union graph that `digistrat load` writes
and without it (the project's graphs named one by one), against the in-process store.

Starts `oxigraph serve` (its own directory, 127.0.0.1, `--timeout-s 120`), fills it with
`digistrat load --to`, then three `digistrat serve` processes on free loopback ports:
in-process, remote, and remote after the union graph was deleted. Each page is fetched once
(the first request: before any cache holds it), then back to back (bounded: --requests per
page, --max-seconds per page); both times are printed.

    .venv/bin/python bench/bench_remote_pages.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpclient import fetch_once, run_cell
from servers import VENV_BIN, Server, free_port, spawn, start_digistrat, wait_ready

from kg.remote import UNION_GRAPH

ROOT = Path(__file__).resolve().parent.parent
PAGES = {  # as HTML (?format=html: the load client asks for SPARQL JSON)
    "home": "/?format=html",
    "municipality": "/id/municipality/ch-261?format=html",
    "strategy": "/id/strategy/zuerich-digitalisierungsstrategie-2024?format=html",
    "compare": "/-/compare?format=html",
    "timeline": "/-/timeline?format=html",
    "coverage": "/-/coverage?format=html",
    "strategies table": "/-/strategies?format=html",
    "search": "/search?q=Daten&format=html",
}


def start_store(tmp: Path) -> Server:
    port = free_port()
    location = tmp / "oxigraph"
    cmd = [str(VENV_BIN / "oxigraph"), "serve", "--location", str(location), "--bind",
           f"127.0.0.1:{port}", "--timeout-s", "120"]
    proc, started = spawn(cmd, tmp / "oxigraph.log")
    server = Server("oxigraph", port, "/query", proc, started, cleanup=[location])
    return wait_ready(server, f"http://127.0.0.1:{port}/query?query=ASK%7B%7D", 60)


def measure(server: Server, requests: int, max_seconds: float) -> dict[str, list[float]]:
    """Per page: the first request's time (what a page costs before any cache holds it)
    and the median of the next ``requests``, in ms."""
    times = {}
    for name, target in PAGES.items():
        status, _, first = asyncio.run(fetch_once(server.port, target))
        cell = asyncio.run(run_cell(server.port, target, concurrency=1, requests=requests,
                                    max_seconds=max_seconds))
        assert status == 200 and set(cell.statuses) == {200}, (name, status, cell.statuses)
        times[name] = [round(first, 1), round(cell.pct(0.5), 1)]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=60)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        store = start_store(tmp)
        servers: list[Server] = []
        try:
            base = f"http://127.0.0.1:{store.port}"
            subprocess.run([str(VENV_BIN / "digistrat"), "load", "--root", str(ROOT), "-q",
                            "--to", base + "/store"], check=True, timeout=600)
            remote = ["--sparql-endpoint", base + "/query"]
            os.environ["DIGISTRAT_QUERY_TIMEOUT_MS"] = "120000"  # the slow case must finish
            for label, extra in (("in-process", []), ("remote, union graph", remote)):
                server = start_digistrat(ROOT, tmp / f"{len(servers)}.log", extra=extra,
                                         timeout=300)
                servers.append(server)
                results[label] = measure(server, args.requests, args.max_seconds)
                server.stop()
            httpx.delete(f"{base}/store", params={"graph": UNION_GRAPH},
                         timeout=60).raise_for_status()
            server = start_digistrat(ROOT, tmp / "no-union.log", extra=remote, timeout=300)
            servers.append(server)
            results["remote, graphs one by one"] = measure(server, args.requests,
                                                           args.max_seconds)
        finally:
            for server in servers:
                server.stop()
            store.stop()
            shutil.rmtree(tmp / "oxigraph", ignore_errors=True)
    labels = list(results)
    print(f"{'page: first / median ms':24s}" + "".join(f"{label:>28s}" for label in labels))
    for page in PAGES:
        cells = (results[label][page] for label in labels)
        print(f"{page:24s}" + "".join(f"{first:17.1f} / {median:8.1f}" for first, median in cells))
    (ROOT / "bench" / "results" / "remote_pages.json").write_text(
        json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
