#!/usr/bin/env python3
"""The same app under uvicorn (``digistrat serve``) and under granian, a Rust HTTP server for
ASGI, side by side (issue 15, item 4: does the HTTP server hold the trivial queries back?).

Two targets: a small JSON page with no query (``/-/settings.json``, the web stack's floor) and
``lookup_iri`` through ``/sparql``; each at concurrency 1 and 8, the two servers interleaved,
for --rounds rounds of --requests requests (each bounded by --max-seconds), after a warm-up.

granian is not a dependency of digistrat; install it into the venv first:

    .venv/bin/pip install granian
    .venv/bin/python bench/bench_granian.py --out bench/results/granian.json

granian runs ``api.app:create_app`` (one worker, uvloop); the app loads the data as
``digistrat serve`` does, but without its start-up validation, which the bundled data passes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpclient import run_cell
from servers import VENV_BIN, Server, free_port, spawn, start_digistrat, wait_ready

from queries import QUERIES

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {"strategy": "https://w3id.org/digistrat/id/strategy/essen-digitalstrategie-2018",
           "municipality": "https://w3id.org/digistrat/id/municipality/de-05113000"}


def start_granian(root: Path, log: Path) -> Server:
    port = free_port()
    cmd = [str(VENV_BIN / "granian"), "--interface", "asgi", "--factory", "--host",
           "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop",
           "--log-level", "warning", "api.app:create_app"]
    os.environ["DIGISTRAT_ROOT"] = str(root)
    proc, started = spawn(cmd, log)
    return wait_ready(Server("granian", port, "/sparql", proc, started),
                      f"http://127.0.0.1:{port}/-/health", 900)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--max-seconds", type=float, default=6.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not (VENV_BIN / "granian").exists():
        sys.exit("granian is not installed: .venv/bin/pip install granian")
    query = next(q for q in QUERIES if q.name == "lookup_iri").render(SAMPLES)
    targets = {"settings": "/-/settings.json", "lookup_iri": "/sparql?query=" + quote(query)}
    tmp = Path(tempfile.mkdtemp(prefix="digistrat-granian-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    servers = [start_digistrat(args.root, tmp / "uvicorn.log", timeout=900)]
    cells: dict[str, list[dict[str, object]]] = {}
    try:
        servers.append(start_granian(args.root, tmp / "granian.log"))
        for round_ in range(args.rounds):
            for name, target in targets.items():
                for concurrency in (1, 8):
                    for server in servers:
                        asyncio.run(run_cell(server.port, target, concurrency=concurrency,
                                             requests=50, max_seconds=3))
                        cell = asyncio.run(run_cell(server.port, target,
                                                    concurrency=concurrency,
                                                    requests=args.requests,
                                                    max_seconds=args.max_seconds))
                        key = f"{name} c={concurrency} {server.name}"
                        cells.setdefault(key, []).append(
                            {"p50_ms": round(cell.pct(0.5), 3), "rps": round(cell.rps, 1),
                             "statuses": dict(cell.statuses)})
                        print(round_, key, cells[key][-1], flush=True)
    finally:
        for server in servers:
            server.stop()
    if args.out:
        args.out.write_text(json.dumps(cells, indent=1) + "\n")


if __name__ == "__main__":
    main()
