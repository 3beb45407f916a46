"""What digistrat changes in how pyshacl 0.40 evaluates shapes; no change alters a result.

pyshacl evaluates a SHACL-SPARQL constraint once per focus node, and for each it checks the
query's text again, has rdflib parse it again and run it with rdflib's engine (milliseconds
each), and it finds a shape's constraint parameters by scanning a list. Here:

* :class:`OxigraphQueriedGraph` is the data graph pyshacl is given: its ``query`` runs on a
  pyoxigraph copy of the graph, ``$this`` given as a substitution (SEP-0007, the pre-binding
  SHACL asks for). The Core constraints read the rdflib graph as before. (pyshacl's own
  oxigraph backend reads every triple through pyoxigraph: 201 s against 8 s for the 10k
  benchmark data.)
* :func:`install` makes pyshacl check each SPARQL text once (the check is a function of the
  text), parse each text once when rdflib runs it, and look up constraint parameters in a
  set.

``tests/kg/test_pyshacl_tuning.py`` compares the reports with rdflib's engine's on every shape
case and on the bundled data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import RDF, XSD
from rdflib.query import Result
from rdflib.term import Node

_STRING = str(XSD.string)
_LANG_STRING = str(RDF.langString)


class OxigraphQueriedGraph(Graph):
    """A :class:`rdflib.Graph` (default in-memory store) whose :meth:`query` runs on a
    pyoxigraph copy, made at the first query and kept in step by :meth:`add` and
    :meth:`remove` after it. Blank nodes are mapped both ways, so a query's blank nodes are
    the rdflib graph's own. A term pyoxigraph refuses (rdflib takes an IRI with a space)
    leaves the graph to rdflib's engine from then on."""

    def __init__(self) -> None:
        super().__init__()
        self._ox: ox.Store | None = None
        self._refused = False  # a term pyoxigraph does not take: rdflib's engine answers
        self._blank_to_ox: dict[BNode, ox.BlankNode] = {}
        self._blank_back: dict[str, BNode] = {}

    def add(self, triple: Any) -> OxigraphQueriedGraph:
        super().add(triple)
        if self._ox is not None:
            try:
                self._ox.add(self._quad(triple))
            except ValueError:
                self._ox, self._refused = None, True
        return self

    def remove(self, triple: Any) -> OxigraphQueriedGraph:
        gone = list(self.triples(triple)) if self._ox is not None else []
        super().remove(triple)
        for each in gone:
            self._ox.remove(self._quad(each))  # type: ignore[union-attr]
        return self

    def query(self, query_object: Any, processor: Any = "sparql", result: Any = "sparql",
              initNs: Mapping[str, Any] | None = None,  # noqa: N803 - rdflib's names
              initBindings: Mapping[str, Node] | None = None,  # noqa: N803
              use_store_provided: bool = True, **kwargs: Any) -> Result:
        if not isinstance(query_object, str) or initNs or kwargs or self._refused:
            return super().query(query_object, processor, result, initNs, initBindings,
                                 use_store_provided, **kwargs)
        try:
            if self._ox is None:
                copy = ox.Store()
                copy.bulk_extend([self._quad(triple) for triple in self])
                self._ox = copy
            substitutions = {ox.Variable(str(name)): self._ox_term(value)
                             for name, value in (initBindings or {}).items()}
        except ValueError:
            self._refused = self._ox is None
            return super().query(query_object, processor, result, initNs, initBindings,
                                 use_store_provided, **kwargs)
        try:
            answer = self._ox.query(query_object, substitutions=substitutions or None)
        except (SyntaxError, RuntimeError):
            # pyoxigraph substitutes only variables the SELECT projects; rdflib's engine is the
            # reference for the rest (pyshacl's own constraint queries all project $this)
            return super().query(query_object, processor, result, initNs, initBindings,
                                 use_store_provided, **kwargs)
        if isinstance(answer, ox.QueryBoolean):
            out = Result("ASK")
            out.askAnswer = bool(answer)
            return out
        if not isinstance(answer, ox.QuerySolutions):  # CONSTRUCT, DESCRIBE: pyshacl asks none
            return super().query(query_object, processor, result, initNs, initBindings,
                                 use_store_provided, **kwargs)
        variables = list(answer.variables)
        out = Result("SELECT")
        out.vars = [Variable(v.value) for v in variables]
        out.bindings = [{Variable(v.value): self._rdflib_term(row[v]) for v in variables
                         if row[v] is not None} for row in answer]
        return out

    def _quad(self, triple: Iterable[Node]) -> ox.Quad:
        s, p, o = triple
        return ox.Quad(self._ox_term(s), self._ox_term(p), self._ox_term(o))

    def _ox_term(self, node: Node) -> Any:
        if isinstance(node, URIRef):
            return ox.NamedNode(str(node))
        if isinstance(node, BNode):
            found = self._blank_to_ox.get(node)
            if found is None:
                found = self._blank_to_ox[node] = ox.BlankNode()
                self._blank_back[found.value] = node
            return found
        if isinstance(node, Literal):
            if node.language:
                return ox.Literal(str(node), language=node.language)
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype))
                              if node.datatype else None)
        raise TypeError(f"not an RDF term: {node!r}")

    def _rdflib_term(self, term: Any) -> Node:
        if isinstance(term, ox.NamedNode):
            return URIRef(term.value)
        if isinstance(term, ox.BlankNode):
            return self._blank_back.get(term.value) or BNode(term.value)
        if isinstance(term, ox.Literal):
            datatype = term.datatype.value
            if term.language or datatype == _LANG_STRING:
                return Literal(term.value, lang=term.language)
            return Literal(term.value, datatype=None if datatype == _STRING else datatype)
        raise TypeError(f"not an RDF term: {term!r}")


_INSTALLED = False


def install() -> None:
    """Install the changes to pyshacl and rdflib (see the module doc); once per process."""
    global _INSTALLED
    if _INSTALLED:
        return
    _install_query_cache()
    _install_check_cache()
    _install_parameter_set()
    _INSTALLED = True


def _install_check_cache() -> None:
    """pyshacl checks a SHACL-SPARQL text (no MINUS, VALUES, SERVICE; pre-bound variables
    selected by nested SELECTs) before each focus node's query, with regular expressions
    that take ~0.1 ms a text; the check is a function of the text and of whether a value node
    and extra variables are given (not of the helper), so it is done once for each."""
    from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper

    original = SPARQLQueryHelper.check_invalid_sparql
    passed: set[tuple[str, bool, frozenset[str]]] = set()
    lock = threading.Lock()

    def check_invalid_sparql(self: Any, sparql_text: str, valuenode: Any = None,
                             extravars: Any = None) -> bool:
        key = (sparql_text, valuenode is not None, frozenset(extravars or ()))
        with lock:
            if key in passed:
                return True
        result = original(self, sparql_text, valuenode=valuenode, extravars=extravars)
        with lock:
            if len(passed) > 10_000:
                passed.clear()
            passed.add(key)
        return result

    SPARQLQueryHelper.check_invalid_sparql = check_invalid_sparql  # type: ignore[method-assign]


class _Parameters(list):  # type: ignore[type-arg]
    """pyshacl's list of constraint parameters, with ``in`` answered by a set (``Shape.validate``
    asks it for every predicate of the shape, at every focus node)."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(items)
        self._set = set(self)

    def __contains__(self, item: object) -> bool:
        return item in self._set

    def copy(self) -> _Parameters:  # type: ignore[override]
        return _Parameters(self)

    def append(self, item: Any) -> None:
        super().append(item)
        self._set.add(item)


def _install_parameter_set() -> None:
    from pyshacl import shape
    from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP

    shape.CONSTRAINT_PARAMS = (  # type: ignore[attr-defined]
        _Parameters(ALL_CONSTRAINT_PARAMETERS), CONSTRAINT_PARAMETERS_MAP)


def _install_query_cache() -> None:
    """Parse each SPARQL text once: pyshacl hands rdflib the same text for every focus node.

    rdflib's ``prepareQuery`` is exactly ``translateQuery(parseQuery(text))``, and a prepared
    query may be evaluated any number of times, so caching it changes no result.
    """
    from rdflib.plugins.sparql import processor

    original = processor.SPARQLProcessor.query
    cache: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], Any] = {}
    lock = threading.Lock()

    def query(self: Any, query: Any, initBindings: Any = None,  # noqa: N803
              initNs: Any = None, base: Any = None, DEBUG: bool = False) -> Any:  # noqa: N803
        if isinstance(query, str):
            key = (query, base, tuple(sorted((str(k), str(v))
                                                  for k, v in (initNs or {}).items())))
            with lock:
                prepared = cache.get(key)
            if prepared is None:
                prepared = processor.translateQuery(processor.parseQuery(query), base,
                                                    initNs)
                with lock:
                    if len(cache) > 1_000:
                        cache.clear()
                    cache[key] = prepared
            query = prepared
        return original(self, query, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query  # type: ignore[method-assign]
