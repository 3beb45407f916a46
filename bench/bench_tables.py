#!/usr/bin/env python3
"""Speed of the table views (issue 13) over HTTP and in process: the tables' one-time build
per store and language, then each view's request (p50, p99) against a real `digistrat serve`.

Starts `digistrat serve` on the bundled data (127.0.0.1, a free port), asks each view once
(the first request of a language builds its tables), then sends it back to back at
concurrency 1 (bounded: --requests per view, --max-seconds per view). Also times
kg.views.tables.build in process. Figures: docs/tables.md; bench/results/tables.json.

    .venv/bin/python bench/bench_tables.py
    .venv/bin/python bench/bench_tables.py --root /tmp/dsb-1m --builds 1 \
        --out bench/results/tables-1m.json      # a folder of generate.py
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpclient import run_cell
from servers import start_digistrat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VIEWS = {
    "strategies": "/-/strategies",
    "strategies, 2 facets, by year": "/-/strategies?country=de&theme=open-data&sort=-year",
    "strategies CSV": "/-/strategies?country=ch&format=csv",
    "municipalities": "/-/municipalities",
    "compare (whole matrix)": "/-/compare",
    "compare CSV": "/-/compare?format=csv",
    "theme view": "/-/themes/open-data",
    "charts": "/-/charts",
    "home": "/",
}


def build_times(root: Path, rounds: int) -> list[float]:
    from kg.project import Project
    from kg.store import Store
    from kg.views import tables

    if rounds < 1:
        return []
    store = Store.load(Project(root))
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        tables.build(store, "en")
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=10)
    parser.add_argument("--builds", type=int, default=5)
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the project to serve (default: this checkout's bundled data)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "tables.json")
    args = parser.parse_args()
    builds = build_times(args.root, args.builds)
    results: dict[str, object] = {"root": str(args.root), "build_ms": builds}
    if builds:
        print(f"{'tables.build (en)':32s} median {statistics.median(builds):7.1f} ms  "
              f"(n={len(builds)})")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_digistrat(args.root, Path(tmp) / "serve.log", timeout=1800)
        try:
            first = asyncio.run(run_cell(server.port, "/-/strategies", concurrency=1,
                                         requests=1, max_seconds=600))
            results["first request (builds the tables)"] = first.summary()
            print(f"{'first request (builds)':32s} {first.pct(0.5):7.1f} ms")
            for name, target in VIEWS.items():
                asyncio.run(run_cell(server.port, target, concurrency=1, requests=5,
                                     max_seconds=args.max_seconds))
                cell = asyncio.run(run_cell(server.port, target, concurrency=1,
                                            requests=args.requests,
                                            max_seconds=args.max_seconds))
                results[name] = cell.summary()
                print(f"{name:32s} p50 {cell.pct(0.5):7.2f} ms  p99 {cell.pct(0.99):7.2f} ms"
                      f"  n={cell.requests} statuses={cell.statuses}")
        finally:
            server.stop()
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
