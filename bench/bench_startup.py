#!/usr/bin/env python3
"""Start-up with the verdict cache (issue 15, item 6): a start as the cache finds it, a
restart, and starts after one data file changed.

    .venv/bin/python bench/bench_startup.py --root /tmp/dsb-1m --cache /tmp/dscache-1m \
        --out bench/results/startup-1m.json

Each step starts `digistrat serve` (in process, on the folder's files) and gives the seconds
from process start to the first 200 on `/-/health`, with the line the service prints about
the validation:

1. ``as found``: with the cache as it is (empty: a first start, everything is validated);
2. ``restart``: nothing changed;
3. ``one file changed``: one label in one municipality's file edited (to a text with the
   time in it, new in every run): only the resources the change can reach are validated
   (:mod:`kg.incremental`);
4. ``file restored``: the edit undone, which is a change as well.

The edited file is restored at the end, also when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import start_digistrat

LABEL = re.compile(r'(skos:prefLabel|<http://www\.w3\.org/2004/02/skos/core#prefLabel>) "')


def step(root: Path, name: str, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dsb-startup-") as tmp:
        log = Path(tmp) / "serve.log"
        server = start_digistrat(root, log, quiet=False, timeout=timeout)
        try:
            seconds = server.ready_seconds
        finally:
            server.stop()
        said = [line for line in log.read_text(errors="replace").splitlines()
                if line.startswith("data/ conforms")]
    row = {"step": name, "ready_s": round(seconds, 1), "validation": said[0] if said else ""}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="a bench/generate.py folder")
    parser.add_argument("--cache", type=Path, required=True,
                        help="the verdict cache (XDG_CACHE_HOME), kept between runs")
    parser.add_argument("--file", help="the data file to edit (default: the first)")
    parser.add_argument("--timeout", type=float, default=7200,
                        help="seconds a start may take (a first start at 1M: ~25 min)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ["XDG_CACHE_HOME"] = str(args.cache)
    files = sorted((args.root / "data").glob("*.ttl"))
    target = args.root / "data" / args.file if args.file else files[0]
    original = target.read_bytes()
    text = original.decode()
    if not LABEL.search(text):
        sys.exit(f"{target} has no skos:prefLabel to edit")
    rows = [step(args.root, "as found", args.timeout), step(args.root, "restart", args.timeout)]
    try:
        # a label no run wrote before, so that no remembered verdict knows these files
        target.write_text(LABEL.sub(rf'\1 "Neu {time.strftime("%Y-%m-%dT%H:%M:%S")}: ', text,
                                    count=1))
        rows.append(step(args.root, "one file changed", args.timeout))
    finally:
        target.write_bytes(original)
    rows.append(step(args.root, "file restored", args.timeout))
    manifest = args.root / "bench-manifest.json"  # bench/generate.py's; not in a checkout
    triples = json.loads(manifest.read_text())["data_triples"] if manifest.is_file() else None
    result = {"root": str(args.root), "data_triples": triples,
              "edited": target.name, "steps": rows}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
