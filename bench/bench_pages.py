#!/usr/bin/env python3
"""Linked-data page speed over HTTP: a strategy's HTML page and its Turtle, p50 and p99.

Starts `digistrat serve` on the bundled data (127.0.0.1, a free port), sends each page
back to back at concurrency 1 (bounded: --requests per page, --max-seconds per page), and
prints one line per page. Targets (issue 4): HTML ≤ 20 ms p50, Turtle ≤ 5 ms p50.

    .venv/bin/python bench/bench_pages.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpclient import run_cell
from servers import start_digistrat

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "strategy HTML": "/id/strategy/zuerich-digitalisierungsstrategie-2024?format=html",
    "strategy Turtle": "/id/strategy/zuerich-digitalisierungsstrategie-2024?format=ttl",
    "municipality HTML": "/id/municipality/ch-261?format=html",
    "comparison HTML": "/-/compare",
    "home HTML": "/",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--max-seconds", type=float, default=10)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_digistrat(ROOT, Path(tmp) / "serve.log", timeout=120)
        try:
            results = {}
            for name, target in PAGES.items():
                asyncio.run(run_cell(server.port, target, concurrency=1,
                                     requests=args.warmup, max_seconds=args.max_seconds))
                cell = asyncio.run(run_cell(server.port, target, concurrency=1,
                                            requests=args.requests,
                                            max_seconds=args.max_seconds))
                results[name] = cell.summary()
                print(f"{name:20s} p50 {cell.pct(0.5):7.2f} ms  p99 {cell.pct(0.99):7.2f} ms"
                      f"  {cell.rps:8.1f} req/s  n={cell.requests} statuses={cell.statuses}")
            (ROOT / "bench" / "results" / "pages.json").write_text(
                json.dumps(results, indent=1) + "\n")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
