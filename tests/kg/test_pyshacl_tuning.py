"""kg.pyshacl_tuning changes no result: the SHACL-SPARQL constraints run on pyoxigraph give
the reports rdflib's engine gives, on every shape case and on the bundled data; a bad
SPARQL text is refused at every use, not only the first; the copy follows the graph."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyshacl.errors import ValidationFailure
from rdflib import BNode, Graph, Literal, URIRef

from kg import validate as validate_module
from kg.pyshacl_tuning import OxigraphQueriedGraph, install
from kg.rdfio import graph_from_quads, parse_file
from kg.store import Store

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted((ROOT / "tests" / "shapes" / "cases").rglob("*.ttl"))


def report(store: Store, data: Graph) -> set[tuple[str | None, ...]]:
    found = validate_module.validate(data, store.layer_graph("shapes"),
                                     context=store.layer_graph("ontology"))
    return {tuple(r.as_dict().values()) for r in found.results}


@pytest.mark.parametrize("what", ["shape cases", "bundled data"])
def test_sparql_on_pyoxigraph_reports_what_rdflib_reports(
        what: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    if what == "shape cases":  # every case file in one graph: each file's blank nodes apart
        data = Graph()
        for path in CASES:
            for triple in graph_from_quads(parse_file(path)):
                data.add(triple)
    else:
        data = store.layer_graph("data")
    assert len(CASES) > 100
    tuned = report(store, data)
    monkeypatch.setattr(validate_module, "OxigraphQueriedGraph", Graph)  # rdflib's own engine
    assert report(store, data) == tuned
    assert {r[3] for r in tuned} >= ({"Violation", "Warning", "Info"} if what == "shape cases"
                                     else {"Warning", "Info"})


def test_a_bad_sparql_text_is_refused_every_time() -> None:
    """The check of a SPARQL text is kept only when it passed."""
    from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper

    install()
    helper = SPARQLQueryHelper.__new__(SPARQLQueryHelper)
    bad = "SELECT $this WHERE { $this ?p ?o MINUS { $this a ?c } }"
    for _ in range(2):
        with pytest.raises(ValidationFailure, match="MINUS"):
            helper.check_invalid_sparql(bad)
    good = "SELECT $this WHERE { $this ?p ?o }"
    assert helper.check_invalid_sparql(good) is True
    assert helper.check_invalid_sparql(good) is True


def test_the_copy_follows_additions_and_removals() -> None:
    graph = OxigraphQueriedGraph()
    a, p = URIRef("urn:x:a"), URIRef("urn:x:p")
    blank = BNode()
    graph.add((a, p, blank))
    query = "SELECT $this ?o WHERE { $this <urn:x:p> ?o }"
    assert [row.o for row in graph.query(query, initBindings={"this": a})] == [blank]
    graph.add((a, p, Literal("x", lang="de")))
    graph.add((blank, p, Literal(3)))
    assert {row.o for row in graph.query(query, initBindings={"this": a})} == \
        {blank, Literal("x", lang="de")}
    assert [row.o for row in graph.query(query, initBindings={"this": blank})] == [Literal(3)]
    graph.remove((a, p, None))
    assert not list(graph.query(query, initBindings={"this": a}))
    assert graph.query("ASK { ?s ?p 3 }").askAnswer is True
    # a pre-bound variable the SELECT does not project: pyoxigraph cannot take it, rdflib can
    assert [row.o for row in graph.query("SELECT ?o WHERE { $this <urn:x:p> ?o }",
                                         initBindings={"this": blank})] == [Literal(3)]


def test_a_term_pyoxigraph_refuses_leaves_the_query_to_rdflib() -> None:
    """rdflib takes an IRI with a space (with a warning); pyoxigraph does not."""
    graph = OxigraphQueriedGraph()
    a, p = URIRef("urn:x:a"), URIRef("urn:x:p")
    graph.add((a, p, Literal(1)))
    query = "SELECT $this ?o WHERE { $this <urn:x:p> ?o }"
    assert [row.o for row in graph.query(query, initBindings={"this": a})] == [Literal(1)]
    odd = URIRef("urn:x:with space")  # rdflib logs a warning
    assert not list(graph.query(query, initBindings={"this": odd}))  # a substitution
    graph.add((odd, p, Literal(2)))  # the copy cannot hold it: rdflib answers from now on
    assert [row.o for row in graph.query(query, initBindings={"this": odd})] == [Literal(2)]
    assert [row.o for row in graph.query(query, initBindings={"this": a})] == [Literal(1)]
