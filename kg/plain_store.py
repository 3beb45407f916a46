"""An rdflib store for one graph: its triples indexed three ways, and no contexts.

pyshacl reads the graphs it is given one focus node at a time, the shapes graph too (a
shape's parameters, again for every focus node): about three million small ``triples``
calls for one part of the 1M benchmark data. rdflib's default ``Memory`` store keeps, for
each triple, the contexts it is in, and works them out again for every triple a call
yields; one part's validation took 15 s on it and 11 s on this store
(``docs/performance.md``). Each graph pyshacl is given is one graph, so this store keeps no
contexts: ``spo``, ``pos`` and ``osp`` dictionaries, in the order triples were added (as
``Memory``'s), and a count. Prefixes are kept by an rdflib ``SimpleMemory``, so they bind
exactly as rdflib's own stores bind them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rdflib import Graph
from rdflib.plugins.stores.memory import SimpleMemory
from rdflib.store import Store
from rdflib.term import Node, URIRef

_Index = dict[Node, dict[Node, dict[Node, None]]]
_NO_CONTEXTS: tuple[()] = ()


class PlainStore(Store):
    """Triples of one graph, without contexts; ``len`` is a count, not a pass.

    pyshacl wraps the data graph in an rdflib ``Dataset`` over the graph's store, which asserts
    that the store is context- and graph-aware; so it says it is, and answers for any context
    with its one graph, and lists no contexts.
    """

    context_aware = True
    graph_aware = True

    def __init__(self) -> None:
        super().__init__()
        self._spo: _Index = {}
        self._pos: _Index = {}
        self._osp: _Index = {}
        self._count = 0
        self._names = SimpleMemory()

    def add(self, triple: Any, context: Any = None, quoted: bool = False) -> None:
        s, p, o = triple
        objects = self._spo.setdefault(s, {}).setdefault(p, {})
        if o in objects:
            return
        objects[o] = None
        self._pos.setdefault(p, {}).setdefault(o, {})[s] = None
        self._osp.setdefault(o, {}).setdefault(s, {})[p] = None
        self._count += 1

    def remove(self, triple: Any, context: Any = None) -> None:
        for (s, p, o), _ in list(self.triples(triple)):
            del self._spo[s][p][o]
            del self._pos[p][o][s]
            del self._osp[o][s][p]
            self._count -= 1

    def triples(self, triple: Any, context: Any = None
                ) -> Iterator[tuple[tuple[Node, Node, Node], tuple[()]]]:
        """The triples matching a pattern (None for any term), each with no contexts.
        Each level is read from a copy, so the graph may change while it is iterated."""
        s, p, o = triple
        if s is not None:
            by_predicate = self._spo.get(s)
            if not by_predicate:
                return
            if p is not None:
                objects = by_predicate.get(p, {})
                if o is not None:
                    if o in objects:
                        yield (s, p, o), _NO_CONTEXTS
                    return
                for each in tuple(objects):
                    yield (s, p, each), _NO_CONTEXTS
                return
            for predicate, objects in tuple(by_predicate.items()):
                if o is None:
                    for each in tuple(objects):
                        yield (s, predicate, each), _NO_CONTEXTS
                elif o in objects:
                    yield (s, predicate, o), _NO_CONTEXTS
        elif p is not None:
            by_object = self._pos.get(p)
            if not by_object:
                return
            if o is not None:
                for subject in tuple(by_object.get(o, ())):
                    yield (subject, p, o), _NO_CONTEXTS
                return
            for value, subjects in tuple(by_object.items()):
                for subject in tuple(subjects):
                    yield (subject, p, value), _NO_CONTEXTS
        elif o is not None:
            for subject, predicates in tuple(self._osp.get(o, {}).items()):
                for predicate in tuple(predicates):
                    yield (subject, predicate, o), _NO_CONTEXTS
        else:
            for subject, by_predicate in tuple(self._spo.items()):
                for predicate, objects in tuple(by_predicate.items()):
                    for each in tuple(objects):
                        yield (subject, predicate, each), _NO_CONTEXTS

    def __len__(self, context: Any = None) -> int:
        return self._count

    def contexts(self, triple: Any = None) -> Iterator[Any]:
        return iter(())

    def bind(self, prefix: str, namespace: URIRef, override: bool = True) -> None:
        self._names.bind(prefix, namespace, override)

    def prefix(self, namespace: URIRef) -> str | None:
        return self._names.prefix(namespace)

    def namespace(self, prefix: str) -> URIRef | None:
        return self._names.namespace(prefix)

    def namespaces(self) -> Iterator[tuple[str, URIRef]]:
        return self._names.namespaces()


def plain_copy(graph: Graph) -> Graph:
    """``graph``'s triples and prefixes, in a graph of the same name on a :class:`PlainStore`."""
    copy = Graph(store=PlainStore(), identifier=graph.identifier, bind_namespaces="none")
    for prefix, namespace in graph.namespaces():
        copy.bind(prefix, namespace, override=True, replace=True)
    for triple in graph:
        copy.add(triple)
    return copy
