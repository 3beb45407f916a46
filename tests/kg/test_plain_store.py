"""kg.plain_store holds what rdflib's Memory store holds for one graph: every pattern gives
the same triples, the count follows additions (duplicates too) and removals, prefixes bind
the same, and a validation's report is the same, result by result, on either store."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.stores.memory import Memory

from kg import pyshacl_tuning
from kg import validate as validate_module
from kg.plain_store import PlainStore, plain_copy
from kg.store import Store

from .conftest import validation_data


def both(triples: list[tuple]) -> tuple[Graph, Graph]:
    memory, plain = Graph(store=Memory()), Graph(store=PlainStore())
    for triple in triples:
        memory.add(triple)
        plain.add(triple)
    return memory, plain


def test_every_pattern_gives_what_a_memory_graph_gives() -> None:
    a, b, p, q = URIRef("urn:x:a"), URIRef("urn:x:b"), URIRef("urn:x:p"), URIRef("urn:x:q")
    blank = BNode()
    triples = [(a, p, b), (a, p, Literal("1")), (a, q, b), (b, p, a), (blank, q, a),
               (a, p, blank), (b, q, Literal(1)), (a, p, b)]  # the last a duplicate
    memory, plain = both(triples)
    terms = [None, a, b, p, q, blank, Literal("1"), Literal(1), URIRef("urn:x:none")]
    for pattern in itertools.product(terms, repeat=3):
        assert Counter(plain.triples(pattern)) == Counter(memory.triples(pattern)), pattern
    assert len(plain) == len(memory) == 7
    plain.remove((a, p, None))
    memory.remove((a, p, None))
    assert Counter(plain) == Counter(memory) and len(plain) == len(memory) == 4
    assert (a, p, b) not in plain and (a, q, b) in plain
    plain.remove((None, None, None))
    assert len(plain) == 0 and not list(plain.triples((a, None, None)))


def test_a_graph_may_grow_while_it_is_read() -> None:
    a, p = URIRef("urn:x:a"), URIRef("urn:x:p")
    graph = Graph(store=PlainStore())
    graph.add((a, p, Literal(0)))
    for n, (_, _, value) in enumerate(graph.triples((a, p, None))):
        if n < 3:
            graph.add((a, p, Literal(int(value) + 1)))
    assert len(graph) == 2  # the iteration read the objects as they were when it began


def test_a_copy_keeps_the_triples_prefixes_and_name(store: Store) -> None:
    shapes = store.layer_graph("shapes")
    shapes.bind("dshx", URIRef("https://example.org/dshx#"))
    copy = plain_copy(shapes)
    assert isinstance(copy.store, PlainStore) and copy.identifier == shapes.identifier
    assert set(copy) == set(shapes) and len(copy) == len(shapes)
    assert dict(copy.namespaces()) == dict(shapes.namespaces())


@pytest.mark.parametrize("what", ["shape cases", "bundled data"])
def test_a_report_is_the_same_on_either_store(what: str, store: Store,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = validation_data(what, store)
    shapes, ontology = store.layer_graph("shapes"), store.layer_graph("ontology")
    plain = validate_module.validate(data, shapes, context=ontology)
    monkeypatch.setattr(pyshacl_tuning, "PlainStore", Memory)
    monkeypatch.setattr(validate_module, "plain_copy", lambda graph: graph)
    assert isinstance(pyshacl_tuning.OxigraphQueriedGraph().store, Memory)
    memory = validate_module.validate(data, shapes, context=ontology)
    assert [r.as_dict() for r in plain.results] == [r.as_dict() for r in memory.results]
    assert len(plain.results) > (100 if what == "shape cases" else 10)
