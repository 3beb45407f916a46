"""Benchmark: validate a 300-line submission (one strategy) in the context of the graph.

    .venv/bin/python bench/bench_validate.py [--runs 20] [--file submission.ttl]

The submission is the strategy template grown to 5 focus areas × 4 thrusts, written as Turtle
(about 300 lines). Prints p50 / p90 of

* the positions scan alone (where each resource is first stated: ``kg.positions``),
* parse + positions + validation in process (``read_submission`` + ``validate_submission``),
* the whole path of ``POST /validate`` in a worker process (``ValidationPool.validate``:
  IPC, parse, positions, pyshacl, the report back),

and the time of the first call (harvesting the shapes, parsing their SPARQL). The target is
p50 <= 300 ms for the worker path.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from rdflib import Graph

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.formats import syntax_named  # noqa: E402
from kg.intake import to_turtle  # noqa: E402
from kg.positions import first_statements  # noqa: E402
from kg.project import Project  # noqa: E402
from kg.store import Store  # noqa: E402
from kg.submission import (  # noqa: E402
    ValidationPool,
    read_submission,
    validate_submission,
)

ID = "https://w3id.org/digistrat/id/"


def one_strategy(areas: int = 5, thrusts: int = 4) -> Graph:
    """The strategy template, grown to 5 focus areas with 4 thrusts each (~300 lines)."""
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


def timed(runs: int, work: object, clock: object = time.perf_counter) -> list[float]:
    times = []
    for _ in range(runs):
        started = clock()  # type: ignore[operator]
        work()  # type: ignore[operator]
        times.append(clock() - started)  # type: ignore[operator]
    return times


def main() -> None:
    import pyoxigraph as ox

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--file", type=Path, help="validate this Turtle file instead")
    args = parser.parse_args()
    store = Store.load(Project.locate(ROOT))
    text = args.file.read_bytes() if args.file else to_turtle(one_strategy()).encode()
    syntax = syntax_named("turtle")
    parsed = read_submission(text, syntax, 50_000)
    lines = text.count(b"\n")
    print(f"submission: {lines} lines, {len(parsed.graph)} triples, "
          f"{len(parsed.positions)} resources placed; graph: {len(store):,} quads")

    quads = list(ox.parse(text, format=ox.RdfFormat.TURTLE))
    scan = timed(args.runs, lambda: first_statements(text, "turtle", quads))
    print(f"positions scan:          {percentiles(scan)}")

    started = time.perf_counter()
    report = validate_submission(store, parsed.graph)
    print(f"first call (prepares the shapes): {(time.perf_counter() - started) * 1000:.0f} ms; "
          f"{report.counts()}")

    def in_process() -> None:
        validate_submission(store, read_submission(text, syntax, 50_000).graph)

    print(f"in process:              {percentiles(timed(args.runs, in_process))}")
    # CPU time of the same work: what the wall time is on a machine with nothing else to do
    # (on a busy machine the wall time above waits for the processor)
    cpu = timed(args.runs, in_process, time.process_time)
    print(f"in process, CPU time:    {percentiles(cpu)}")

    pool = ValidationPool(store, workers=1)

    async def through_worker() -> list[float]:
        await pool.validate(text, "turtle", lang="en", max_triples=50_000, timeout_s=120)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = await pool.validate(text, "turtle", lang="en", max_triples=50_000,
                                         timeout_s=60)
            times.append(time.perf_counter() - started)
        assert all(r.line for r in result.report.results)  # type: ignore[attr-defined]
        return times

    try:
        print(f"worker (POST /validate): {percentiles(asyncio.run(through_worker()))}")
        print(f"load average now: {' / '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}"
              f" on {__import__('os').cpu_count()} cores")
    finally:
        pool.close()


if __name__ == "__main__":
    main()
