"""Counts over the store: triples per graph, instances per class."""

from __future__ import annotations

import pyoxigraph as ox

from kg.store import Solutions, Store

INSTANCES_PER_CLASS = """
SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {
  GRAPH ?g { ?s a ?class }
  FILTER(STRSTARTS(STR(?g), %s))
} GROUP BY ?class ORDER BY DESC(?n) STR(?class)
"""


def triples_per_graph(store: Store) -> list[tuple[str, str, int]]:
    """(graph IRI, file, triples) for every loaded file."""
    return [(g.iri, g.file, g.triples) for g in store.graphs]


def instances_per_class(store: Store, layer: str = "data") -> list[tuple[str, int]]:
    """Distinct typed subjects per class in one layer's graphs."""
    prefix = store.project.graph_iri(store.project.root / layer / "x.ttl").removesuffix("x")
    solutions = store.query(INSTANCES_PER_CLASS % ox.Literal(prefix), union=False)
    assert isinstance(solutions, Solutions)
    return [(str(row["class"].value), int(row["n"].value)) for row in solutions]
