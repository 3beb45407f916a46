#!/usr/bin/env python3
"""The growth curve (issue 15, item 7): one row of figures for one data size.

Starts `digistrat serve` on a folder of `bench/generate.py` with an empty verdict cache (a
first start: the data is validated), in-process or (`--virtuoso`) over a fresh Virtuoso that
`digistrat load --to` fills, and measures:

* start-up: seconds from process start to the first 200 on `/-/health`;
* memory of the process tree after load and after the runs: summed RSS and PSS;
* page p50 at concurrency 1: a strategy's HTML page, the home page, a search (HTML), and
  the first view of the home page (it builds the tables the pages share);
* query throughput at concurrency 8: a heavy query (`group_by_theme`) and a trivial one
  (`lookup_iri`) of `bench/queries.py`.

Every loop is bounded (--requests, --max-seconds). One JSON object is printed and, with
--out, written; `bench/report.py growth FILE...` puts rows side by side.

    .venv/bin/python bench/generate.py --triples 10000 --out /tmp/dsb-10k
    .venv/bin/python bench/growth.py --root /tmp/dsb-10k --out bench/results/growth-10k.json
    .venv/bin/python bench/growth.py --root /tmp/dsb-10k --virtuoso \
        --out bench/results/growth-10k-virtuoso.json
    .venv/bin/python bench/growth.py --root /tmp/dsb-10k --sparql-endpoint URL  # filled before
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpclient import fetch_once, run_cell
from servers import start_digistrat, wait_for_search

from kg.namespaces import BASE
from queries import QUERIES

ROOT = Path(__file__).resolve().parent.parent


def page_of(iri: str) -> str:
    """The local path of a dataset IRI (`/id/...`)."""
    return "/" + iri.removeprefix(BASE)


def p50(port: int, target: str, args: argparse.Namespace) -> dict[str, Any]:
    asyncio.run(run_cell(port, target, concurrency=1, requests=args.warmup,
                         max_seconds=args.max_seconds))
    cell = asyncio.run(run_cell(port, target, concurrency=1, requests=args.requests,
                                max_seconds=args.max_seconds))
    return {"p50_ms": round(cell.pct(0.5), 2), "p99_ms": round(cell.pct(0.99), 2),
            "requests": cell.requests, "statuses": statuses(cell)}


def statuses(cell: Any) -> dict[str, int]:
    """How many answers had each HTTP status (the figures count every answer)."""
    return {str(status): count for status, count in sorted(cell.statuses.items())}


def throughput(port: int, target: str, args: argparse.Namespace) -> dict[str, Any]:
    asyncio.run(run_cell(port, target, concurrency=8, requests=8 * args.warmup,
                         max_seconds=args.max_seconds / 4))
    cell = asyncio.run(run_cell(port, target, concurrency=8, requests=args.requests,
                                max_seconds=args.max_seconds))
    ok = cell.statuses.get(200, 0)
    return {"rps": round(cell.rps * ok / max(cell.requests, 1), 1),
            "p50_ms": round(cell.pct(0.5), 2), "requests": cell.requests,
            "statuses": statuses(cell)}


def measure(root: Path, extra: list[str], row: dict[str, Any], args: argparse.Namespace
            ) -> dict[str, Any]:
    samples = json.loads((root / "bench-manifest.json").read_text())["samples"]
    with tempfile.TemporaryDirectory(prefix="dsb-growth-") as tmp:
        cache = args.cache or Path(tmp)
        row["first_start"] = not any((cache / "digistrat").glob("conforms-*"))
        os.environ["XDG_CACHE_HOME"] = str(cache)  # empty: a first start (validation)
        log = args.serve_log or Path(tmp) / "serve.log"
        server = start_digistrat(root, log, extra=extra, timeout=args.start_timeout,
                                 quiet=args.serve_log is None)
        try:
            row["ready_s"] = round(server.ready_seconds, 1)
            row["search_ready_s"] = round(wait_for_search(server), 1)
            row["memory_after_load"] = server.rss_mb()  # with the search index built
            pages = {"strategy_page": page_of(samples["strategy"]) + "?format=html",
                     "home_page": "/",
                     "search": "/search?format=html&q=" + quote("digitale verwaltung")}
            # the first view of the home page builds the tables (once per store and
            # language: kg.views.tables), which the p50 below then reuses
            status, _, elapsed_ms = asyncio.run(fetch_once(server.port, "/", timeout=1800))
            row["home_page_first"] = {"ms": round(elapsed_ms, 1), "status": status}
            for name, target in pages.items():
                row[name] = p50(server.port, target, args)
            for name in ("group_by_theme", "lookup_iri"):
                query = next(q for q in QUERIES if q.name == name)
                row[name] = throughput(server.port, "/sparql?query="
                                       + quote(query.render(samples)), args)
            row["memory_after_runs"] = server.rss_mb()
        finally:
            server.stop()
    return row


def over_virtuoso(root: Path, row: dict[str, Any], args: argparse.Namespace
                  ) -> dict[str, Any]:
    """The row over a fresh Virtuoso (tests/stores.py) that `digistrat load --to` fills;
    the store's own memory is reported apart from the service's."""
    sys.path.insert(0, str(ROOT / "tests"))
    from stores import virtuoso

    row["store_buffers"] = args.virtuoso_buffers
    with virtuoso(max_rows=100_000_000, timeout_s=600, buffers=args.virtuoso_buffers) as store:
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "digistrat"), "load", "--root",
                        str(root), "-q", "--to", store.graph_store],
                       env={**os.environ, **store.loader_env()}, check=True,
                       timeout=args.start_timeout)
        row["load_s"] = round(time.perf_counter() - started, 1)
        measure(root, ["--sparql-endpoint", store.sparql], row, args)
        row["store_rss_mb"] = _tree_rss_mb(store.directory)
    return row


def _tree_rss_mb(directory: Path) -> float:
    """RSS of the Virtuoso process whose working directory is ``directory``."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if Path(proc / "cwd").resolve() == directory.resolve():
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="a folder of generate.py")
    parser.add_argument("--virtuoso", action="store_true", help="serve over a fresh "
                        "Virtuoso (Debian's virtuoso-opensource) filled by digistrat load")
    parser.add_argument("--sparql-endpoint", metavar="URL", help="serve over this store's "
                        "query URL, already filled with the folder's data by digistrat load "
                        "(the store's memory is not measured)")
    parser.add_argument("--virtuoso-buffers", type=int, default=10_000, help="Virtuoso's "
                        "NumberOfBuffers (8 KB pages in memory; the tests' instances: 10000)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=8)
    parser.add_argument("--start-timeout", type=float, default=3600)
    parser.add_argument("--cache", type=Path, help="the verdict cache to use and keep "
                        "(XDG_CACHE_HOME); when it holds the verdict, the start is a restart "
                        "without validation (default: an empty one, a first start)")
    parser.add_argument("--serve-log", type=Path, help="keep the service's output here, "
                        "with its progress lines (the load's and the validation's seconds)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    manifest = json.loads((args.root / "bench-manifest.json").read_text())
    label = "Virtuoso" if args.virtuoso else "remote" if args.sparql_endpoint else "in-process"
    row: dict[str, Any] = {
        "label": label,
        "data_triples": manifest["data_triples"], "municipalities": manifest["municipalities"]}
    if args.virtuoso:
        over_virtuoso(args.root, row, args)
    elif args.sparql_endpoint:
        measure(args.root, ["--sparql-endpoint", args.sparql_endpoint], row, args)
    else:
        measure(args.root, [], row, args)
    text = json.dumps(row, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
