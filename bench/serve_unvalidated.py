"""Serve a project like `digistrat serve`, but WITHOUT its start-up SHACL validation.

For the memory measurement at 1M triples only: `digistrat serve` validates data/ with
pyshacl before it listens, which at that size takes far longer than the benchmark's time
budget (see docs/performance.md). This runs the same store loading (kg.store.Store.load),
the same application (api.app.create_app, query worker pool included) and uvicorn, so the
resident memory it shows is that of the serving process, minus what validation leaves
behind. It is not a way to serve real data.

    .venv/bin/python bench/serve_unvalidated.py --root DIR --port P [--store DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from api.app import create_app
from api.settings import Settings
from kg.project import Project
from kg.store import Store


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--store", help="on-disk store folder (default: in memory)")
    ap.add_argument("--query-timeout-ms", type=int, default=None)
    args = ap.parse_args(argv)
    settings = Settings.from_env(host="127.0.0.1", port=args.port,
                                 query_timeout_ms=args.query_timeout_ms)
    store = Store.load(Project.locate(args.root), Path(args.store) if args.store else None)
    app = create_app(settings, store)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
