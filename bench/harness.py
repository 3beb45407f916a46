"""Benchmark digistrat's SPARQL endpoint against `oxigraph serve` and rdflib-endpoint.

Subcommands (every server binds 127.0.0.1 and is stopped by its process id):

  compare   the query mix at concurrency 1 and 8 on every server, same data, one run
  runaway   a cheap query's latency while digistrat's time limit stops a cross product
  memory    resident memory of each server with a generated project loaded
  startup   seconds from process start to the first 200 on /-/health (bundled data)
  client    raw asyncio client vs httpx on one cell (client overhead)

Example (see docs/performance.md for the exact commands used):

  .venv/bin/python bench/generate.py --triples 100000 --out /tmp/dsb-100k
  .venv/bin/python bench/harness.py compare --root /tmp/dsb-100k --out bench/results-100k.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpclient import fetch_once, run_cell, sparql_target
from servers import (
    REPO,
    Server,
    http_status,
    start_digistrat,
    start_oxigraph,
    start_rdflib_endpoint,
    wait_for_search,
)

from queries import CHEAP, QUERIES, RUNAWAY

LOGS = Path("/tmp/digistrat-bench-logs")


def log_path(name: str) -> Path:
    LOGS.mkdir(exist_ok=True)
    return LOGS / f"{name}-{int(time.time())}.log"


def start(name: str, root: Path, args: argparse.Namespace) -> Server:
    if name == "digistrat":
        extra = ["--max-result-rows", str(args.max_result_rows)]
        store = Path(args.store) if getattr(args, "store", None) else None
        return start_digistrat(root, log_path(name), store=store, extra=extra)
    if name == "oxigraph":
        return start_oxigraph(root, log_path(name))
    if name == "oxigraph_disk":
        return start_oxigraph(root, log_path(name), disk=True)
    if name == "rdflib_endpoint":
        return start_rdflib_endpoint(root, log_path(name))
    raise SystemExit(f"unknown server {name}")


def rows_of(body: bytes) -> int | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if "boolean" in data:
        return 1
    return len(data.get("results", {}).get("bindings", []))


def samples_of(root: Path) -> dict[str, str]:
    return json.loads((root / "bench-manifest.json").read_text())["samples"]


# --- compare ---------------------------------------------------------------------------


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Every server is started first; then each cell (query, concurrency) is run on every
    server in turn, ``--rounds`` times, and the round with the median req/s is kept. A
    machine whose speed drifts (other load, clocks) then moves every server alike."""
    root = Path(args.root)
    samples = samples_of(root)
    queries = [q for q in QUERIES if not args.queries or q.name in args.queries.split(",")]
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    out: dict[str, Any] = {"root": str(root), "manifest": json.loads(
        (root / "bench-manifest.json").read_text()), "cells": [], "servers": {},
        "rounds": args.rounds}
    servers = {}
    try:
        for name in args.servers.split(","):
            print(f"== starting {name}", file=sys.stderr)
            servers[name] = server = start(name, root, args)
            out["servers"][name] = {"ready_seconds": round(server.ready_seconds, 2)}
            if name == "digistrat":  # its memory once the search index is built
                out["servers"][name]["search_ready_s"] = round(wait_for_search(server), 2)
            out["servers"][name]["rss_after_load"] = server.rss_mb()
        settled(servers, out, "rss_after_load", args.settle)
        for query in queries:
            for conc in concurrencies:
                for name, server in servers.items():
                    cell = _cell(server, name, query, conc, samples, args)
                    out["cells"].append(cell)
                    if cell["concurrency"] is None:
                        continue
                    print(f"  {name:16s} {query.name:28s} c={conc} rows={cell['rows']} "
                          f"{cell['rps']:9.1f} req/s p50 {cell['p50_ms']:8.2f} "
                          f"p99 {cell['p99_ms']:8.2f} n={cell['requests']} "
                          f"err={cell['errors']}", file=sys.stderr)
        for name, server in servers.items():
            out["servers"][name]["rss_after_runs"] = server.rss_mb()
        settled(servers, out, "rss_after_runs", args.settle)
    finally:
        for server in servers.values():
            server.stop()
    out["ratios"] = ratios(out["cells"])
    return out


def settled(servers: dict[str, Any], out: dict[str, Any], when: str, seconds: float) -> None:
    """With ``seconds``, every server's memory again that long after ``when`` (as
    ``{when}_settled``): the kernel's page merging (KSM, digistrat's ``memory_merge``) works
    in the background, and what a server holds once it has had the time is its steady state."""
    if seconds <= 0:
        return
    out["settle_seconds"] = seconds
    time.sleep(seconds)
    for name, server in servers.items():
        out["servers"][name][when + "_settled"] = server.rss_mb()


def _cell(server: Any, name: str, query: Any, conc: int, samples: dict[str, str],
          args: argparse.Namespace) -> dict[str, Any]:
    """One cell on one server: the round with the median req/s of ``args.rounds``."""
    target = sparql_target(server.path, query.render(samples))
    status, body, first_ms = asyncio.run(fetch_once(server.port, target))
    base = {"server": name, "query": query.name, "kind": query.kind, "rows": rows_of(body),
            "status": status, "first_ms": round(first_ms, 2), "bytes": len(body)}
    if status != 200:
        print(f"  {name} {query.name}: status {status}: {body[:300]!r}", file=sys.stderr)
        return {**base, "concurrency": None}
    slow = first_ms > 1000
    rounds = []
    for _ in range(args.rounds):
        warm = asyncio.run(run_cell(server.port, target, concurrency=conc,
                                    requests=args.warmup * conc,
                                    max_seconds=args.max_seconds / 4))
        cell = asyncio.run(run_cell(server.port, target, concurrency=conc,
                                    requests=args.requests if not slow else max(conc * 2, 8),
                                    max_seconds=args.max_seconds))
        rounds.append({"warmup_requests": warm.requests, **cell.summary()})
    rounds.sort(key=lambda r: r["rps"])
    return {**base, "concurrency": conc, **rounds[len(rounds) // 2],
            "rps_rounds": [r["rps"] for r in rounds]}


def ratios(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {(c["server"], c["query"], c["concurrency"]): c for c in cells
          if c.get("concurrency") is not None}
    result = []
    for (server, query, conc), cell in sorted(by.items()):
        if server != "digistrat":
            continue
        row: dict[str, Any] = {"query": query, "kind": cell["kind"], "concurrency": conc}
        for peer in ("oxigraph", "oxigraph_disk", "rdflib_endpoint"):
            other = by.get((peer, query, conc))
            if other and other["rps"]:
                row[f"vs_{peer}"] = round(cell["rps"] / other["rps"], 3)
                row[f"rows_match_{peer}"] = other["rows"] == cell["rows"]
        result.append(row)
    return result


# --- runaway ---------------------------------------------------------------------------


async def _runaway(server: Server, samples: dict[str, str], runaways: int,
                   max_seconds: float) -> dict[str, Any]:
    cheap = sparql_target(server.path, CHEAP.render(samples))
    baseline = await run_cell(server.port, cheap, concurrency=1, requests=300,
                              max_seconds=5)
    stop = asyncio.Event()
    runaway_target = sparql_target(server.path, RUNAWAY)
    outcomes: list[dict[str, Any]] = []

    async def one_runaway() -> None:
        status, body, ms = await fetch_once(server.port, runaway_target,
                                            timeout=max_seconds + 60)
        outcomes.append({"status": status, "ms": round(ms, 1), "body": body[:200].decode(
            "utf-8", "replace")})

    async def all_runaways() -> None:
        await asyncio.gather(*(one_runaway() for _ in range(runaways)))
        stop.set()

    runner = asyncio.create_task(all_runaways())
    await asyncio.sleep(0.2)  # let the runaway start
    during = await run_cell(server.port, cheap, concurrency=1, requests=100_000,
                            max_seconds=max_seconds, stop=stop)
    await runner
    after = await run_cell(server.port, cheap, concurrency=1, requests=300, max_seconds=5)
    return {"runaways": runaways, "runaway_outcomes": outcomes,
            "cheap_before": baseline.summary(), "cheap_during": during.summary(),
            "cheap_after": after.summary()}


def runaway(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(args.root)
    server = start_digistrat(root, log_path("digistrat-runaway"),
                             extra=["--query-timeout-ms", str(args.timeout_ms)])
    try:
        results = [asyncio.run(_runaway(server, samples_of(root), n, args.max_seconds))
                   for n in (int(x) for x in args.runaways.split(","))]
    finally:
        server.stop()
    for res in results:
        outcomes = [(o["status"], o["ms"]) for o in res["runaway_outcomes"]]
        print(f"runaways={res['runaways']}: outcomes {outcomes}; "
              f"cheap p99 before {res['cheap_before']['p99_ms']} during "
              f"{res['cheap_during']['p99_ms']} (n={res['cheap_during']['requests']}) "
              f"after {res['cheap_after']['p99_ms']}", file=sys.stderr)
    return {"root": str(root), "launcher": args.launcher, "timeout_ms": args.timeout_ms,
            "results": results}


# --- memory ----------------------------------------------------------------------------


def memory(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(args.root)
    samples = samples_of(root)
    out: dict[str, Any] = {"root": str(root), "manifest": json.loads(
        (root / "bench-manifest.json").read_text()), "servers": {}}
    for name in args.servers.split(","):
        server = start(name, root, args)
        try:
            if name == "digistrat":  # its memory once the search index is built
                wait_for_search(server)
            after_load = server.rss_mb()
            probe = {}
            for query in (QUERIES[0], QUERIES[3]):
                status, body, ms = asyncio.run(fetch_once(
                    server.port, sparql_target(server.path, query.render(samples))))
                probe[query.name] = {"status": status, "rows": rows_of(body), "ms": round(ms, 1)}
            out["servers"][name] = {"ready_seconds": round(server.ready_seconds, 2),
                                    "peak_tree_mb_before_ready": server.peak_tree_mb,
                                    "rss_after_load": after_load, "probe": probe,
                                    "rss_after_queries": server.rss_mb()}
            settled({name: server}, out, "rss_after_queries", args.settle)
            print(name, json.dumps(out["servers"][name]), file=sys.stderr)
        finally:
            server.stop()
    return out


# --- startup ---------------------------------------------------------------------------


def startup(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(args.root) if args.root else REPO
    runs = []
    for _ in range(args.runs):
        server = start_digistrat(root, log_path("digistrat-startup"), timeout=120)
        try:
            runs.append({"seconds_to_health_200": round(server.ready_seconds, 3),
                         "sparql_ask_status": http_status(
                             f"http://127.0.0.1:{server.port}/sparql?query=ASK%7B%7D"),
                         "rss": server.rss_mb()})
        finally:
            server.stop()
        print(json.dumps(runs[-1]), file=sys.stderr)
    seconds = [r["seconds_to_health_200"] for r in runs]
    return {"root": str(root), "runs": runs, "median_seconds": statistics.median(seconds),
            "max_seconds": max(seconds)}


# --- client overhead -------------------------------------------------------------------


def client(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(args.root)
    server = start(args.servers.split(",")[0], root, args)
    try:
        target = sparql_target(server.path, CHEAP.render(samples_of(root)))
        asyncio.run(run_cell(server.port, target, concurrency=1, requests=100, max_seconds=5))
        out = {}
        for kind in ("raw", "httpx", "raw", "httpx"):
            for conc in (1, 8):
                cell = asyncio.run(run_cell(server.port, target, concurrency=conc,
                                            requests=args.requests, max_seconds=args.max_seconds,
                                            client=kind))
                out.setdefault(f"{kind}_c{conc}", []).append(cell.summary())
                print(kind, conc, cell.summary()["rps"], file=sys.stderr)
        return {"server": server.name, "query": CHEAP.name, "cells": out}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    def settle(p: argparse.ArgumentParser) -> None:
        p.add_argument("--settle", type=float, default=0.0, help="read the memory again this "
                       "many seconds later (KSM merges pages in the background)")

    def common(p: argparse.ArgumentParser, root_required: bool = True) -> None:
        p.add_argument("--root", required=root_required, help="generated project folder")
        p.add_argument("--out", help="write the results as JSON here")
        p.add_argument("--servers", default="digistrat,oxigraph,rdflib_endpoint")
        p.add_argument("--store", help="digistrat --store folder (on-disk store)")
        p.add_argument("--max-result-rows", type=int, default=10_000)

    p = sub.add_parser("compare")
    common(p)
    settle(p)
    p.add_argument("--queries", help="comma-separated query names (default: all)")
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--requests", type=int, default=300, help="requests per cell (cap)")
    p.add_argument("--warmup", type=int, default=5, help="warm-up requests per worker")
    p.add_argument("--max-seconds", type=float, default=10.0, help="time cap per cell")
    p.add_argument("--rounds", type=int, default=1, help="runs of each cell on each "
                   "server, in turn; the one with the median req/s is kept")
    p.set_defaults(func=compare)
    p = sub.add_parser("runaway")
    common(p)
    p.add_argument("--timeout-ms", type=int, default=2000)
    p.add_argument("--runaways", default="1,2", help="concurrent runaway queries per trial")
    p.add_argument("--max-seconds", type=float, default=30.0)
    p.set_defaults(func=runaway)
    p = sub.add_parser("memory")
    common(p)
    settle(p)
    p.set_defaults(func=memory)
    p = sub.add_parser("startup")
    common(p, root_required=False)
    p.add_argument("--runs", type=int, default=5)
    p.set_defaults(func=startup)
    p = sub.add_parser("client")
    common(p)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--max-seconds", type=float, default=5.0)
    p.set_defaults(func=client)
    args = ap.parse_args(argv)
    result = args.func(args)
    result["machine"] = machine()
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


def machine() -> dict[str, Any]:
    import os
    import platform

    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    return {"nproc": os.cpu_count(), "mem_total_gb": round(mem_kb / 1024 / 1024, 1),
            "cpu": next((line.split(":", 1)[1].strip() for line in
                         Path("/proc/cpuinfo").read_text().splitlines()
                         if line.startswith("model name")), None),
            "python": platform.python_version(), "kernel": platform.release(),
            "loadavg": Path("/proc/loadavg").read_text().split()[:3]}


if __name__ == "__main__":
    sys.exit(main())
