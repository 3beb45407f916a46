#!/usr/bin/env python3
"""Where a full validation's time goes: seconds per shape (its own, without the shapes it
calls through sh:node / sh:not / …) and how often pyshacl evaluated it.

    .venv/bin/python bench/bench_shapes.py --root /tmp/dsb-100k [--top 15] [--out FILE]

A shape evaluated once is evaluated for all its focus nodes together (a top-level shape); one
evaluated thousands of times is a value shape, once per value. Property shapes without a name
are shown by their path.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pyshacl.shape import Shape
from rdflib import BNode, URIRef
from rdflib.namespace import SH

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.project import Project  # noqa: E402
from kg.store import Store  # noqa: E402
from kg.validate import validate  # noqa: E402


def shape_name(shape: Shape) -> str:
    names = shape.sg.graph.namespace_manager
    if isinstance(shape.node, URIRef):
        return names.normalizeUri(shape.node)
    path = next(shape.sg.graph.objects(shape.node, SH.path), None)
    if isinstance(path, URIRef):
        return "property " + names.normalizeUri(path)
    return "property (complex path)" if isinstance(path, BNode) else "(blank shape)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    store = Store.load(Project.locate(args.root))
    own: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    children: list[float] = []
    original = Shape.validate

    def timed(self: Shape, *rest: Any, **options: Any) -> Any:
        started = time.perf_counter()
        children.append(0.0)
        try:
            return original(self, *rest, **options)
        finally:
            total = time.perf_counter() - started
            name = shape_name(self)
            own[name] += total - children.pop()
            calls[name] += 1
            if children:
                children[-1] += total

    Shape.validate = timed  # type: ignore[method-assign]
    started = time.perf_counter()
    report = validate(store.layer_graph("data"), store.layer_graph("shapes"),
                      context=store.layer_graph("ontology"))
    seconds = time.perf_counter() - started
    print(f"{args.root}: {len(store):,} triples, validated in {seconds:.1f} s, "
          f"{len(report.results)} results; shapes: {sum(own.values()):.1f} s")
    for name, spent in own.most_common(args.top):
        print(f"{spent:8.2f} s {calls[name]:8,d}×  {name}")
    if args.out:
        args.out.write_text(json.dumps({
            "root": str(args.root), "triples": len(store), "seconds": round(seconds, 2),
            "shapes": [{"shape": n, "seconds": round(s, 3), "calls": calls[n]}
                       for n, s in own.most_common()]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
