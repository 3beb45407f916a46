"""kg.pyshacl_tuning changes no result: the SHACL-SPARQL constraints run on pyoxigraph give
the reports rdflib's engine gives, on every shape case and on the bundled data; with the
changes to the Core constraints every result comes as often and in the same order as from
pyshacl as shipped; a bad SPARQL text is refused at every use, not only the first; the copy
follows the graph, also one made from quads; a query is run once for all focus nodes only
where that gives each node its own rows, and whether it may is read once before forking."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from pyshacl.errors import ValidationFailure
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg import pyshacl_tuning
from kg import validate as validate_module
from kg.pyshacl_tuning import (
    OxigraphQueriedGraph,
    install,
    prebinding_is_selection,
    read_selections,
)
from kg.rdfio import graph_from_quads
from kg.store import Store

from .conftest import CASES, validation_data

ROOT = Path(__file__).resolve().parents[2]


def report(store: Store, data: Graph) -> set[tuple[str | None, ...]]:
    found = validate_module.validate(data, store.layer_graph("shapes"),
                                     context=store.layer_graph("ontology"))
    return {tuple(r.as_dict().values()) for r in found.results}


@pytest.mark.parametrize("what", ["shape cases", "bundled data"])
def test_sparql_on_pyoxigraph_reports_what_rdflib_reports(
        what: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    data = validation_data(what, store)
    assert len(CASES) > 100
    monkeypatch.setattr(pyshacl_tuning, "BATCH_AFTER", 2)  # every query asked twice batched
    tuned = report(store, data)
    monkeypatch.setattr(validate_module, "OxigraphQueriedGraph", Graph)  # rdflib's own engine
    assert report(store, data) == tuned
    assert {r[3] for r in tuned} >= ({"Violation", "Warning", "Info"} if what == "shape cases"
                                     else {"Warning", "Info"})


# a validation with only some of kg.pyshacl_tuning's changes ("none": pyshacl and rdflib as
# shipped, rdflib's own store; "sparql": without the changes to the Core constraints)
WITHOUT = """
import json, pickle, sys
from rdflib import Graph
from kg import pyshacl_tuning, validate
from kg.project import Project
from kg.store import Store
pyshacl_tuning.CORE_CHANGES = ()
if sys.argv[3] == "none":
    validate.install = pyshacl_tuning.install = lambda: None
    validate.OxigraphQueriedGraph = Graph
    validate.plain_copy = lambda graph: graph
data = Graph()
for triple in pickle.load(open(sys.argv[2], "rb")):
    data.add(triple)
if len(sys.argv) > 4:  # shapes of their own (Turtle), no context
    report = validate.validate(data, Graph().parse(sys.argv[4], format="turtle"))
else:
    store = Store.load(Project.locate(sys.argv[1]))
    report = validate.validate(data, store.layer_graph("shapes"),
                               context=store.layer_graph("ontology"))
print(json.dumps([r.as_dict() for r in report.results]))
"""


def read_back(data: Graph) -> Graph:
    """``data`` as the process of :func:`as_shipped` reads it (pickling keeps blank nodes'
    names; it may fold literals of one value, "02" and "2", so both must read the same)."""
    copy = Graph()
    for triple in pickle.loads(pickle.dumps(list(data))):
        copy.add(triple)
    return copy


def as_shipped(data: Graph, tmp_path: Path, changes: str, shapes: str | None = None
               ) -> list[dict[str, Any]]:
    """The results of validating ``data`` in a process of its own with only some of the
    changes (``WITHOUT``), on the bundled shapes or on ``shapes`` (Turtle)."""
    triples = tmp_path / "data.pickle"
    triples.write_bytes(pickle.dumps(list(data)))
    extra = []
    if shapes is not None:
        (tmp_path / "shapes.ttl").write_text(shapes)
        extra = [str(tmp_path / "shapes.ttl")]
    found: list[dict[str, Any]] = json.loads(subprocess.run(
        [sys.executable, "-c", WITHOUT, str(ROOT), str(triples), changes, *extra], cwd=ROOT,
        check=True, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)
    return found


@pytest.mark.parametrize(("what", "changes"), [("shape cases", "none"),
                                               ("bundled data", "sparql")])
def test_the_core_changes_report_what_pyshacl_as_shipped_reports(
        what: str, changes: str, store: Store, tmp_path: Path) -> None:
    """Every result, as many times and in the same order, as without the changes to the Core
    constraints, run in a process of its own where they are not installed. On the shape cases
    without any change at all; on the bundled data with the SPARQL changes (rdflib's engine
    parses each query again for every focus node there: minutes; the SPARQL changes are
    compared with it above)."""
    data = read_back(validation_data(what, store))
    without = as_shipped(data, tmp_path, changes)
    tuned = validate_module.validate(data, store.layer_graph("shapes"),
                                     context=store.layer_graph("ontology"))
    assert [r.as_dict() for r in tuned.results] == without
    assert len(without) > (100 if what == "shape cases" else 10)


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


@pytest.mark.parametrize(("text", "selects"), [
    ("SELECT $this ?o WHERE { $this <urn:x:p> ?o }", True),
    ("SELECT DISTINCT $this ?o WHERE { $this <urn:x:p> ?o FILTER(isLiteral(?o)) }", True),
    ("SELECT $this ?o WHERE { BIND(<urn:x:p> AS ?q) $this ?q ?o BIND(str($this) AS ?s) }", True),
    ("SELECT $this ?o WHERE { $this <urn:x:p> ?o OPTIONAL { ?o <urn:x:p> $this } }", True),
    ("SELECT $this ?o WHERE { $this <urn:x:p> ?o } ORDER BY ?o", True),
    ("SELECT $this WHERE { $this <urn:x:p> ?o FILTER NOT EXISTS { ?o <urn:x:p> $this } }", True),
    # $this not projected, or not bound by a required triple pattern where it is read
    ("SELECT ?o WHERE { $this <urn:x:p> ?o }", False),
    ("SELECT $this ?o WHERE { ?s <urn:x:p> ?o FILTER(?o = $this) }", False),
    ("SELECT $this ?o WHERE { ?s <urn:x:p> ?o OPTIONAL { $this <urn:x:p> ?o } }", False),
    ("SELECT $this ?o WHERE { $this <urn:x:p> ?x { ?s <urn:x:p> ?o FILTER(?o != $this) } }",
     False),
    ("SELECT $this WHERE { $this <urn:x:p> ?o "
     "FILTER EXISTS { ?o <urn:x:p> ?v FILTER(?v = $this) } }", False),
    # forms whose rows cut across focus nodes, or scope $this apart
    ("SELECT $this ?o WHERE { $this <urn:x:p> ?o } LIMIT 1", False),
    ("SELECT $this (COUNT(?o) AS ?n) WHERE { $this <urn:x:p> ?o } GROUP BY $this", False),
    ("SELECT $this ?o WHERE { { $this <urn:x:p> ?o } UNION { ?o <urn:x:p> $this } }", False),
    ("SELECT $this ?o WHERE { $this <urn:x:p> ?o { SELECT ?o WHERE { ?o ?q $this } } }", False),
    ("SELECT $this ?o WHERE { $this <urn:x:p> ?o MINUS { $this <urn:x:q> ?o } }", False),
    ("SELECT $this ?o WHERE { $this <urn:x:p> ?o VALUES ?o { 1 } }", False),
    ("SELECT $this WHERE { GRAPH ?g { $this <urn:x:p> ?o } }", False),
    ("SELECT $this WHERE { $this <urn:x:p> ", False),
    # a path of length zero gives a bound $this even where it is in no triple
    ("SELECT $this ?o WHERE { $this (<urn:x:p>|^<urn:x:q>)+/<urn:x:p> ?o }", True),
    ("SELECT $this ?o WHERE { $this <urn:x:p>* ?o }", False),
    ("SELECT $this ?o WHERE { $this <urn:x:p>/(^<urn:x:q>)? ?o }", False),
    ("SELECT $this ?o WHERE { ?o <urn:x:p> ?x BIND(?x AS ?this) }", False),
])
def test_binding_this_is_known_to_select_only_for_plain_patterns(text: str,
                                                                   selects: bool) -> None:
    assert prebinding_is_selection(text) is selects


def test_a_query_asked_often_runs_once_for_all_focus_nodes_with_the_same_rows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """From the BATCH_AFTER-th focus node on, a query whose pre-binding is a selection is
    answered from one run with $this unbound; the rows are those of each node asked alone.
    A query read before is so answered from its second ask."""
    monkeypatch.setattr(pyshacl_tuning, "BATCH_AFTER", 3)
    monkeypatch.setattr(pyshacl_tuning, "_SELECTIONS", {})
    p, q = URIRef("urn:x:p"), URIRef("urn:x:q")
    nodes = [URIRef(f"urn:x:n{i}") for i in range(4)] + [BNode(), Literal(2)]
    triples = [(nodes[0], p, Literal(1)), (nodes[0], p, nodes[1]), (nodes[1], p, nodes[0]),
               (nodes[2], q, Literal(2)), (nodes[4], p, Literal("x", lang="de")),
               (nodes[1], q, nodes[2])]
    queries = [
        "SELECT $this ?o WHERE { $this <urn:x:p> ?o }",
        "SELECT DISTINCT $this ?o WHERE { $this ?r ?o "
        "FILTER NOT EXISTS { ?o <urn:x:p> $this } }",
        "SELECT $this ?o ?x WHERE { $this ?r ?o OPTIONAL { ?o <urn:x:q> ?x } }",
        "SELECT $this ?s WHERE { ?s ?r ?o FILTER(?o = $this) }",  # answered node by node
    ]

    def fresh() -> OxigraphQueriedGraph:
        graph = OxigraphQueriedGraph()
        for triple in triples:
            graph.add(triple)
        return graph

    def rows(graph: OxigraphQueriedGraph, text: str, node: Node) -> set[frozenset[Any]]:
        return {frozenset(row.asdict().items())
                for row in graph.query(text, initBindings={"this": node})}

    shared = fresh()
    for text in queries:
        for number, node in enumerate(nodes):
            assert rows(shared, text, node) == rows(fresh(), text, node), (text, node)
            assert isinstance(shared._batches.get((text, ())), tuple) == (
                number >= 2 and text in queries[:3])
    batched = {key[0] for key, batch in shared._batches.items() if isinstance(batch, tuple)}
    assert batched == set(queries[:3])
    shared.add((nodes[3], p, Literal(5)))  # a change forgets the batches
    assert rows(shared, queries[0], nodes[3]) == {frozenset({("this", nodes[3]),
                                                             ("o", Literal(5))})}
    again = fresh()  # the queries are read now: each is run for all at its second ask
    for text in queries:
        for number, node in enumerate(nodes):
            assert rows(again, text, node) == rows(fresh(), text, node), (text, node)
            assert isinstance(again._batches.get((text, ())), tuple) == (
                number >= 1 and text in queries[:3])


def test_a_value_node_met_twice_is_validated_twice_as_pyshacl_does() -> None:
    """Property shapes are validated for all value nodes at once, but a value node that two
    focus nodes share is reported for each of them, as pyshacl reports it one by one."""
    shapes = Graph().parse(format="turtle", data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <urn:x:> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:P .
        ex:P sh:path ex:p ; sh:property ex:Q .
        ex:Q sh:path ex:q ; sh:minCount 1 .""")
    data = Graph().parse(format="turtle", data="""
        @prefix ex: <urn:x:> .
        ex:a1 a ex:C ; ex:p ex:v . ex:a2 a ex:C ; ex:p ex:v . ex:a3 a ex:C ; ex:p ex:w .""")
    results = validate_module.validate(data, shapes).results
    assert [(r.focus_node, r.constraint) for r in results] == [
        ("urn:x:v", "MinCountConstraintComponent"), ("urn:x:v", "MinCountConstraintComponent"),
        ("urn:x:w", "MinCountConstraintComponent")]


def test_the_queries_read_beforehand_are_not_read_again(store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """read_selections reads every query as pyshacl will ask it: a validation after it
    parses none again (the start-up's parts are forked after it)."""
    monkeypatch.setattr(pyshacl_tuning, "BATCH_AFTER", 2)  # every query asked twice batched
    monkeypatch.setattr(pyshacl_tuning, "_SELECTIONS", {})
    read_selections(store.layer_graph("shapes"))
    assert len(pyshacl_tuning._SELECTIONS) >= 10
    asked: list[str] = []
    parsed: list[str] = []
    original = pyshacl_tuning.prebinding_is_selection
    monkeypatch.setattr(pyshacl_tuning, "prebinding_is_selection",
                        lambda text: asked.append(text) or original(text))
    monkeypatch.setattr(pyshacl_tuning, "_is_selection", lambda text: parsed.append(text))
    validate_module.validate(store.layer_graph("data"), store.layer_graph("shapes"),
                             context=store.layer_graph("ontology"))
    assert len(set(asked)) >= 10 and parsed == []


def test_a_query_pyshacl_refuses_is_left_to_the_validation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A text pyshacl refuses (MINUS) is neither read nor an error here; pyshacl reports it
    when it validates."""
    shapes = Graph().parse(format="turtle", data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <urn:x:> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [
            sh:select "SELECT $this WHERE { $this ?p ?o MINUS { $this a ex:D } }" ] .""")
    monkeypatch.setattr(pyshacl_tuning, "_SELECTIONS", {})
    read_selections(shapes)
    assert pyshacl_tuning._SELECTIONS == {}


def test_a_graph_of_quads_answers_as_one_built_triple_by_triple() -> None:
    """of_quads makes the pyoxigraph copy from the quads: the same triples (a triple in two
    graphs once), blank nodes under their own names on both sides, and it follows changes."""
    a, p, g = ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:p"), ox.NamedNode("urn:x:g")
    blank = ox.BlankNode("b1")
    quads = [ox.Quad(a, p, blank, g), ox.Quad(blank, p, ox.Literal("x", language="de")),
             ox.Quad(a, p, blank), ox.Quad(blank, p, ox.Literal("1", datatype=ox.NamedNode(
                 "http://www.w3.org/2001/XMLSchema#integer")))]
    graph = OxigraphQueriedGraph.of_quads(quads)
    one_by_one = OxigraphQueriedGraph()
    for triple in graph_from_quads(quads):
        one_by_one.add(triple)
    assert set(graph) == set(one_by_one) and len(graph) == 3
    query = "SELECT $this ?o WHERE { $this <urn:x:p> ?o }"

    def rows(graph: OxigraphQueriedGraph, node: Node) -> set[Node]:
        return {row.o for row in graph.query(query, initBindings={"this": node})}

    for node in (URIRef("urn:x:a"), BNode("b1")):
        assert rows(graph, node) == rows(one_by_one, node) != set()
    assert rows(graph, URIRef("urn:x:a")) == {BNode("b1")}
    graph.add((BNode("b1"), URIRef("urn:x:p"), Literal(2)))
    graph.remove((BNode("b1"), URIRef("urn:x:p"), Literal("x", lang="de")))
    assert rows(graph, BNode("b1")) == {Literal(1), Literal(2)}


PREBINDING_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/x#> .
ex:Below a sh:ConstraintComponent ;
    sh:parameter [ sh:path ex:below ] ;
    sh:propertyValidator [ a sh:SPARQLSelectValidator ;
        sh:message "{$value} is not below {$below} in {$currentShape}" ;
        sh:select "SELECT $this ?value WHERE { $this $PATH ?value . FILTER (?value >= $below) }" ] ;
    sh:validator [ a sh:SPARQLAskValidator ;
        sh:message "{$value} is not below {$below}" ;
        sh:ask "ASK { FILTER ($value < $below) }" ] .
ex:S a sh:NodeShape ; sh:targetClass ex:C ;
    sh:property ex:N, ex:M ;
    sh:sparql [ sh:select "SELECT $this WHERE { $this <http://example.org/x#n> 0 }" ] .
ex:N sh:path ex:n ; ex:below 3 .
ex:M sh:path ex:m ; sh:sparql [ sh:message "{$this} has {?value}" ;
    sh:select '''SELECT $this ?value WHERE { $this $PATH ?value .
                 FILTER (?value > 1 && $currentShape = <http://example.org/x#M>) }''' ] .
ex:T a sh:NodeShape ; sh:targetObjectsOf ex:n ; ex:below 2 .
"""


def test_prebinding_worked_out_once_binds_as_pyshacl_does(tmp_path: Path) -> None:
    """The bindings and text of a query, worked out once per text, shape and kind of call,
    are those pyshacl works out at every call: a constraint component's parameter, ``$PATH``,
    ``$currentShape``, ``$value``, and a value node pyshacl does not bind because it is false
    in Python (the literal 0: its ASK then fails for it, where 1 passes).

    The message of a custom component's result is left out of the comparison: pyshacl adds
    each result's message to a list shared by the focus nodes of one evaluation, so a result
    may carry several, and which one is read varies from run to run of pyshacl as shipped."""
    data = read_back(Graph().parse(format="turtle", data="""
        @prefix ex: <http://example.org/x#> .
        ex:a a ex:C ; ex:n 0, 1, 5 ; ex:m 1, 2 . ex:b a ex:C ; ex:n 1 ; ex:m 3 .
        ex:c a ex:C ; ex:n 7 ."""))
    install()
    shapes = Graph().parse(format="turtle", data=PREBINDING_SHAPES)
    tuned = [r.as_dict() for r in validate_module.validate(data, shapes).results]
    shipped = as_shipped(data, tmp_path, "none", PREBINDING_SHAPES)

    def compared(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "message": None} if r["constraint"] == "Below" else r for r in results]

    assert compared(tuned) == compared(shipped)
    assert [r["focus_node"] for r in tuned if r["path"] is None and r["constraint"] == "Below"
            ] == ['"0"^^xsd:integer', '"5"^^xsd:integer', '"7"^^xsd:integer']
    assert {r["message"] for r in tuned if r["constraint"] == "SPARQLConstraintComponent"
            } == {"", "http://example.org/x#a has 2", "http://example.org/x#b has 3"}
    assert all(re.fullmatch(r"\d is not below \d( in \{\$currentShape\})?", r["message"])
               for r in tuned if r["constraint"] == "Below")
