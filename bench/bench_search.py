#!/usr/bin/env python3
"""Search speed: building the FTS5 index from a store, and ``GET /search`` over HTTP.

1. In this process: load the project at --root into a store, build the search index
   (kg/search.py) from it, and time searches in the index alone (no HTTP).
2. Over HTTP: start `digistrat serve --root ROOT` (127.0.0.1, a free port), send each
   query of the mix back to back at concurrency 1 (bounded: --requests, --max-seconds),
   as JSON and as the HTML page, and print p50/p99. Target (issue 13): ≤ 20 ms p50 on the
   bundled data, ≤ 100 ms p50 on the 1M-triple benchmark data.

    .venv/bin/python bench/bench_search.py                               # bundled data
    .venv/bin/python bench/generate.py --triples 1000000 --out /tmp/dsb-1m
    XDG_CACHE_HOME=/tmp/dscache-1m .venv/bin/python bench/bench_search.py --root /tmp/dsb-1m \
        --out bench/results/search-1m.json

The serve step needs the data's conforming verdict cached (or it validates first: about
three minutes at 1M triples); XDG_CACHE_HOME points at the cache a first `digistrat serve
--root DIR` filled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from httpclient import fetch_once, run_cell
from servers import start_digistrat

from kg.project import Project
from kg.search import SearchIndex
from kg.store import Store

ROOT = Path(__file__).resolve().parent.parent
#: (name, parameters): words found in the bundled and in the synthetic data alike.
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("one word, prefix (Daten)", {"q": "Daten"}),
    ("very common word (Stadt)", {"q": "Stadt"}),
    ("umlaut typed without (Zurich)", {"q": "Zurich"}),
    ("umlaut typed without (Muhl)", {"q": "Muhl"}),
    ("two words (Digitale Verwaltung)", {"q": "Digitale Verwaltung"}),
    ("phrase (\"smart city\")", {"q": '"smart city"'}),
    ("one kind, page 2 (Daten, elements)", {"q": "Daten", "kind": "element", "page": "2"}),
    ("nothing found (Xylophon)", {"q": "Xylophon"}),
]


def in_process(root: Path, repeats: int, max_seconds: float) -> dict[str, Any]:
    started = time.perf_counter()
    store = Store.load(Project(root))
    loaded = time.perf_counter() - started
    index = SearchIndex.build(store)
    print(f"store: {len(store):,} triples loaded in {loaded:.2f} s; index: {len(index):,} rows "
          f"built in {index.build_seconds:.2f} s "
          f"({', '.join(f'{k} {b - a + 1:,}' for k, (a, b) in index.ranges.items())})")
    timings: dict[str, Any] = {}
    for name, params in QUERIES:
        kind = params.get("kind")
        page = int(params.get("page", "1"))
        size = 20 if kind else 5
        latencies = []
        deadline = time.perf_counter() + max_seconds
        result = None
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = index.search(params["q"], "de", kind=kind, limit=size,
                                  offset=(page - 1) * size)
            latencies.append((time.perf_counter() - t0) * 1000)
            if time.perf_counter() > deadline:
                break
        assert result is not None
        latencies.sort()
        timings[name] = {"hits": result.total, "n": len(latencies),
                         "p50_ms": round(statistics.median(latencies), 2),
                         "p99_ms": round(latencies[min(len(latencies) - 1,
                                                       round(0.99 * (len(latencies) - 1)))], 2)}
        print(f"  index only  {name:40s} hits {result.total:7,}  "
              f"p50 {timings[name]['p50_ms']:7.2f} ms  p99 {timings[name]['p99_ms']:7.2f} ms")
    return {"triples": len(store), "load_seconds": round(loaded, 2),
            "build_seconds": round(index.build_seconds, 2), "rows": len(index),
            "rows_by_kind": {k: b - a + 1 for k, (a, b) in index.ranges.items()},
            "queries": timings}


def over_http(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_digistrat(root, Path(tmp) / "serve.log", timeout=args.ready_timeout)
        print(f"digistrat serve ready after {server.ready_seconds:.2f} s "
              f"(tree RSS {server.rss_mb()['tree_mb']} MB)")
        try:
            waited = time.perf_counter()  # the index is built in the background: wait for it
            while asyncio.run(fetch_once(server.port, "/search?q=x&format=json"))[0] == 503:
                if time.perf_counter() - waited > args.ready_timeout:
                    raise RuntimeError("the search index was not built in time")
            index_ready = time.perf_counter() - server.started
            print(f"search index ready {index_ready:.1f} s after the process started "
                  f"(tree RSS {server.rss_mb()['tree_mb']} MB)")
            results["_server"] = {"ready_s": round(server.ready_seconds, 2),
                                  "index_ready_s": round(index_ready, 1),
                                  **server.rss_mb()}
            for name, params in QUERIES:
                for fmt in ("json", "html"):
                    target = "/search?" + urlencode({**params, "format": fmt})
                    status, body, first_ms = asyncio.run(fetch_once(server.port, target))
                    hits = json.loads(body)["total"] if fmt == "json" and status == 200 else None
                    asyncio.run(run_cell(server.port, target, concurrency=1,
                                         requests=args.warmup, max_seconds=args.max_seconds))
                    cell = asyncio.run(run_cell(server.port, target, concurrency=1,
                                                requests=args.requests,
                                                max_seconds=args.max_seconds))
                    key = f"{name} [{fmt}]"
                    results[key] = {**cell.summary(), "first_ms": round(first_ms, 2),
                                    "hits": hits, "bytes": len(body)}
                    print(f"  HTTP {fmt:4s}   {name:40s} p50 {cell.pct(0.5):7.2f} ms  "
                          f"p99 {cell.pct(0.99):7.2f} ms  {cell.rps:7.1f} req/s  "
                          f"n={cell.requests} statuses={cell.statuses} {len(body):,} bytes")
        finally:
            server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--max-seconds", type=float, default=8)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--ready-timeout", type=float, default=1800)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "search.json")
    args = parser.parse_args()
    report: dict[str, Any] = {"root": str(args.root), "when": time.strftime("%Y-%m-%d %H:%M")}
    report["index"] = in_process(args.root, args.requests, args.max_seconds)
    if not args.skip_http:
        report["http"] = over_http(args.root, args)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
