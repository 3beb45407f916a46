"""Benchmark: validate a one-strategy submission (~300 triples) in the context of the graph.

    .venv/bin/python bench/bench_validate.py [--runs 20] [--file submission.ttl]

Prints p50 / p90 of ``validate_submission`` in process (what the CLI runs) and through a
worker process (what ``POST /validate`` runs: IPC + pyshacl in the worker), and the time of
the first call (harvesting the shapes, parsing their SPARQL). The target is p50 <= 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from rdflib import Graph

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.project import Project  # noqa: E402
from kg.store import Store  # noqa: E402
from kg.submission import ValidationPool, validate_submission  # noqa: E402

ID = "https://w3id.org/digistrat/id/"


def one_strategy(areas: int = 6, thrusts: int = 5) -> Graph:
    """The strategy template, grown to 6 focus areas with 5 thrusts each (~330 triples)."""
    graph = Graph().parse(ROOT / "templates" / "strategy.ttl", format="turtle")
    strategy = f"<{ID}strategy/stadt-vorlage-2030>"
    source = f"<{ID}source/herausgeber-2030-01-01-vorlage>"
    lines = ["@prefix ds: <https://w3id.org/digistrat/ontology#> .",
             "@prefix dct: <http://purl.org/dc/terms/> .",
             "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .",
             "@prefix level: <https://w3id.org/digistrat/vocab/element-level/> .",
             "@prefix theme: <https://w3id.org/digistrat/vocab/theme/> ."]
    for a in range(1, areas + 1):
        area = f"<{ID}element/stadt-vorlage-2030-{a + 1}>"
        lines.append(f'{area} a ds:FocusArea ; skos:prefLabel "Schwerpunkt {a}"@de ; '
                     f"ds:isElementOf {strategy} ; ds:position {a + 1} ; "
                     f'ds:elementLevel level:focus-area ; ds:localDesignation "Schwerpunkt"@de ; '
                     f"dct:subject theme:open-data ; dct:source {source} .")
        lines.append(f"{strategy} ds:hasElement {area} .")
        for t in range(1, thrusts + 1):
            thrust = f"<{ID}element/stadt-vorlage-2030-{a + 1}-{t}>"
            lines.append(f'{thrust} a ds:StrategicThrust ; skos:prefLabel "Stossrichtung {t}"@de ; '
                         f"ds:isElementOf {area} ; ds:position {t} ; "
                         f"ds:elementLevel level:strategic-thrust ; "
                         f'ds:localDesignation "Stossrichtung"@de ; dct:subject theme:open-data ; '
                         f"dct:source {source} .")
            lines.append(f"{area} ds:hasElement {thrust} .")
    graph.parse(data="\n".join(lines), format="turtle")
    return graph


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (f"p50 {statistics.median(ordered) * 1000:.0f} ms · p90 {p90 * 1000:.0f} ms · "
            f"min {ordered[0] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--file", type=Path, help="validate this file instead")
    args = parser.parse_args()
    store = Store.load(Project.locate(ROOT))
    submission = Graph().parse(args.file) if args.file else one_strategy()
    print(f"submission: {len(submission)} triples; graph: {len(store):,} quads")

    started = time.perf_counter()
    report = validate_submission(store, submission)
    print(f"first call (prepares the shapes): {(time.perf_counter() - started) * 1000:.0f} ms; "
          f"{report.counts()}")
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        validate_submission(store, submission)
        times.append(time.perf_counter() - started)
    print(f"in process (CLI):        {percentiles(times)}")

    pool = ValidationPool(store, workers=1)
    try:
        validate_submission(store, submission, runner=pool.runner(120))  # start + warm up
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            validate_submission(store, submission, runner=pool.runner(60))
            times.append(time.perf_counter() - started)
        print(f"worker process (HTTP):   {percentiles(times)}")
    finally:
        pool.close()


if __name__ == "__main__":
    main()
