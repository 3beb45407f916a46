"""One count for one triple: no triple stands in two named graphs, so counts over the union
default graph are exact.

Oxigraph's union default graph (and a default graph named as several graphs) is a multiset
over the named graphs: a triple stated in two files counts twice in ``COUNT(*)``. The endpoint
once answered 7,878 where the graph held 7,748 distinct triples, because shared source
documents were described again in many data files (they now live once in data/sources.ttl).
Each resource is described in exactly one file (docs/model.md, "One graph per resource");
these tests guard that. Blank nodes are local to their file, so only triples whose subject is
an IRI can be shared.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyoxigraph as ox

from kg.project import Project
from kg.sparql import run_query
from kg.store import Store

COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
COUNT_DISTINCT = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"

Triple = tuple[ox.NamedNode | ox.BlankNode | ox.Triple, ox.NamedNode,
               ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]


def shared_triples(store: Store) -> dict[Triple, list[str]]:
    """Triples with an IRI subject that stand in more than one named graph, with the files."""
    files = {g.iri: g.file for g in store.graphs}
    graphs: dict[Triple, set[str]] = defaultdict(set)
    for quad in store.ox:
        if isinstance(quad.subject, ox.NamedNode) and isinstance(quad.graph_name, ox.NamedNode):
            graphs[(quad.subject, quad.predicate, quad.object)].add(
                files.get(quad.graph_name.value, quad.graph_name.value))
    return {triple: sorted(where) for triple, where in graphs.items() if len(where) > 1}


def distinct_triples(store: Store) -> int:
    return len({(quad.subject, quad.predicate, quad.object) for quad in store.ox})


def count(store: Store, query: str) -> int:
    outcome = run_query(store, query)
    return int(next(iter(outcome.result))["n"].value)  # type: ignore[arg-type, index]


def test_no_triple_stands_in_two_files(store: Store) -> None:
    shared = shared_triples(store)
    report = [f"{s} {p} {o}  in {', '.join(files)}"
              for (s, p, o), files in sorted(shared.items(), key=str)[:30]]
    assert not shared, (f"{len(shared)} triples stand in more than one file (describe each "
                        "resource in one file; shared sources in data/sources.ttl):\n"
                        + "\n".join(report))


def test_count_over_the_union_default_graph_is_the_number_of_distinct_triples(
        store: Store) -> None:
    distinct = distinct_triples(store)
    assert count(store, COUNT_ALL) == distinct
    assert count(store, COUNT_DISTINCT) == distinct
    assert distinct == len(store)  # every quad is a triple of its own


def test_a_triple_in_two_files_is_found_and_counts_twice(tmp_path: Path) -> None:
    """The check can fail, and the engine counts as docs/sparql.md says."""
    for layer in ("ontology", "shapes", "data"):
        (tmp_path / layer).mkdir()
    source = ("<https://w3id.org/digistrat/id/source/x> "
              "<http://purl.org/dc/terms/title> \"X\" .\n")
    (tmp_path / "data" / "a.ttl").write_text(source + "[] <urn:x:p> \"a\" .\n")
    (tmp_path / "data" / "b.ttl").write_text(source + "[] <urn:x:p> \"a\" .\n")
    store = Store.load(Project(tmp_path))
    assert list(shared_triples(store).values()) == [["data/a.ttl", "data/b.ttl"]]
    # the shared IRI triple counts twice; the blank nodes are two nodes, rightly counted apart
    assert count(store, COUNT_ALL) == 4
    assert distinct_triples(store) == count(store, COUNT_DISTINCT) == 3
