"""What digistrat changes in how pyshacl 0.40 evaluates shapes; the results found are the same.

pyshacl evaluates a SHACL-SPARQL constraint once per focus node, and for each it checks the
query's text again, has rdflib parse it again and run it with rdflib's engine (milliseconds
each), and it finds a shape's constraint parameters by scanning a list. Here:

* :class:`OxigraphQueriedGraph` is the data graph pyshacl is given: its ``query`` runs on a
  pyoxigraph copy of the graph, ``$this`` given as a substitution (SEP-0007, the pre-binding
  SHACL asks for). The Core constraints read the rdflib graph as before. (pyshacl's own
  oxigraph backend reads every triple through pyoxigraph: 201 s against 8 s for the 10k
  benchmark data.)
* A constraint's query asked for many focus nodes (:data:`BATCH_AFTER`; one read before, for
  a second, :data:`BATCH_AFTER_READ`) is run once for all
  (``$this`` unbound), and each later focus node is answered with its rows, when
  :func:`prebinding_is_selection` shows that binding ``$this`` beforehand selects exactly
  those rows (``$this`` is projected and bound by a required triple pattern before any
  expression reads it; no subquery, UNION, MINUS, VALUES, GRAPH, aggregate or LIMIT). The
  query then compiles its regular expressions once, not once per focus node.
* :func:`install` makes pyshacl check each SPARQL text once (the check is a function of the
  text), work out its pre-bound variables and write its prefixes once, parse each text once
  when rdflib runs it (:data:`SPARQL_CHANGES`), and, for the
  Core constraints (:data:`CORE_CHANGES`): look up constraint parameters in a set, read a
  shape's parameters and construct its constraint components once, validate a property
  shape for all the value nodes of ``sh:property`` at once rather than one by one, write
  no text for a result (only pyshacl's text report reads it), work out a shape's name once,
  and name a result's blank node by a count rather than a new random UUID. At 1M triples
  these take a start-up part's validation from 10.6 to 2.4 s.

One thing may read differently: a custom constraint component's (``sh:ConstraintComponent``)
result may carry several messages, as pyshacl adds each result's message to a list that the
focus nodes of one evaluation share; which of them digistrat shows varies from run to run of
pyshacl as shipped, and validating a property shape's value nodes at once puts more focus
nodes in one evaluation. digistrat's shapes use no custom component.

``tests/kg/test_pyshacl_tuning.py`` compares the reports with rdflib's engine's on every shape
case and on the bundled data, and with pyshacl's as shipped, result by result and in order.
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef, Variable
from rdflib.namespace import RDF, SH, XSD
from rdflib.paths import AlternativePath, InvPath, MulPath, OneOrMore, Path, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.query import Result
from rdflib.term import Node

from kg.errors import KGError
from kg.plain_store import PlainStore, plain_copy
from kg.rdfio import graph_from_quads

_STRING = str(XSD.string)
_LANG_STRING = str(RDF.langString)
_THIS = Variable("this")
_OX_THIS = ox.Variable("this")
#: a batch's rows by focus node (as pyoxigraph terms), and the query's variables
_Batch = tuple[list[Variable], dict[Any, list[dict[Variable, Node]]]]
#: The ask of a query (for one more focus node) that runs it for all: reading whether it may
#: (rdflib parses it, 30–130 ms) costs what a few hundred focus nodes' queries cost.
BATCH_AFTER = 64
#: The same for a query read before (:func:`read_selections`, or an earlier validation in this
#: process): its second ask. A start-up part at 1M: 3.1 s with 64, 2.6 s with 2.
BATCH_AFTER_READ = 2


class OxigraphQueriedGraph(Graph):
    """A :class:`rdflib.Graph` (default in-memory store) whose :meth:`query` runs on a
    pyoxigraph copy, made at the first query and kept in step by :meth:`add` and
    :meth:`remove` after it. Blank nodes are mapped both ways, so a query's blank nodes are
    the rdflib graph's own. A term pyoxigraph refuses (rdflib takes an IRI with a space)
    leaves the graph to rdflib's engine from then on."""

    def __init__(self) -> None:
        super().__init__(store=PlainStore())
        self._ox: ox.Store | None = None
        self._refused = False  # a term pyoxigraph does not take: rdflib's engine answers
        self._blank_to_ox: dict[BNode, ox.BlankNode] = {}
        self._blank_back: dict[str, BNode] = {}
        #: per query and other bindings: how often it was asked, then its batch (or None)
        self._batches: dict[tuple[str, tuple[tuple[str, Any], ...]], int | _Batch | None] = {}

    @classmethod
    def of_quads(cls, quads: Iterable[ox.Quad]) -> OxigraphQueriedGraph:
        """The triples of pyoxigraph ``quads`` (graph names dropped), with the pyoxigraph copy
        made from the quads themselves rather than from the rdflib graph at the first query
        (a start-up part at 1M: 101,136 triples converted back); blank nodes keep their names
        on both sides."""
        graph = cls()
        triples = [ox.Quad(q.subject, q.predicate, q.object) for q in quads]
        graph_from_quads(triples, graph)
        copy = ox.Store()
        copy.bulk_extend(triples)
        for quad in triples:
            for term in (quad.subject, quad.object):
                if isinstance(term, ox.BlankNode) and term.value not in graph._blank_back:
                    node = graph._blank_back[term.value] = BNode(term.value)
                    graph._blank_to_ox[node] = term
        graph._ox = copy
        return graph

    def add(self, triple: Any) -> OxigraphQueriedGraph:
        super().add(triple)
        if self._batches:
            self._batches.clear()
        if self._ox is not None:
            try:
                self._ox.add(self._quad(triple))
            except ValueError:
                self._ox, self._refused = None, True
        return self

    def remove(self, triple: Any) -> OxigraphQueriedGraph:
        gone = list(self.triples(triple)) if self._ox is not None else []
        super().remove(triple)
        self._batches.clear()
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
        batch = self._batched(query_object, substitutions)
        if batch is not None:
            out = Result("SELECT")
            out.vars, out.bindings = batch
            return out
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
        out.bindings = [self._rdflib_row(row, variables) for row in answer]
        return out

    def _batched(self, text: str, substitutions: dict[ox.Variable, Any]
                 ) -> tuple[list[Variable], list[dict[Variable, Node]]] | None:
        """The rows for ``$this`` from the query run once for all focus nodes, or None when
        it is answered on its own (first ask, or binding ``$this`` is not a selection)."""
        this = substitutions.get(_OX_THIS)
        if this is None:
            return None
        others = {k: v for k, v in substitutions.items() if k != _OX_THIS}
        key = (text, tuple(sorted((k.value, v) for k, v in others.items())))
        batch = self._batches.get(key, 0)
        if isinstance(batch, int):
            after = BATCH_AFTER_READ if text in _SELECTIONS else BATCH_AFTER
            if batch + 1 < after:  # reading the query costs more than a few asks
                self._batches[key] = batch + 1
                return None
            batch = self._batches[key] = (self._run_batch(text, others)
                                          if prebinding_is_selection(text) else None)
        if batch is None:
            return None
        variables, rows = batch
        return variables, list(rows.get(this, ()))

    def _run_batch(self, text: str, others: dict[ox.Variable, Any]) -> _Batch | None:
        """The query run once with ``$this`` unbound (``others`` bound), its rows by focus
        node; None when pyoxigraph refuses it."""
        try:
            answer = self._ox.query(text, substitutions=others or None)  # type: ignore[union-attr]
        except (SyntaxError, RuntimeError):
            return None  # answered per focus node (and there by rdflib, when it must)
        if not isinstance(answer, ox.QuerySolutions):
            return None
        variables = list(answer.variables)
        rows: dict[Any, list[dict[Variable, Node]]] = {}
        for row in answer:
            rows.setdefault(row[_OX_THIS], []).append(self._rdflib_row(row, variables))
        return [Variable(v.value) for v in variables], rows

    def _rdflib_row(self, row: Any, variables: list[ox.Variable]) -> dict[Variable, Node]:
        return {Variable(v.value): self._rdflib_term(row[v]) for v in variables
                if row[v] is not None}

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


_SELECTIONS: dict[str, bool] = {}
_REFUSED_PATTERNS = {"ToMultiSet", "Minus", "Graph", "Union", "Group", "AggregateJoin", "Slice",
                     "ServiceGraphPattern", "Project", "SelectQuery", "values"}


def prebinding_is_selection(text: str) -> bool:
    """Whether running the SELECT ``text`` with ``$this`` bound beforehand (SEP-0007) gives
    exactly the rows of the unbound query whose ``?this`` is that term.

    So when ``$this`` is projected, and the pattern is made of triple patterns, joins,
    OPTIONAL, FILTER and BIND only (EXISTS inside expressions likewise; no path that may have
    length zero, no BIND to ``$this``), with ``$this`` bound by a required triple pattern
    wherever an expression or an OPTIONAL reads it: a bound ``$this`` then only removes the
    rows with another value. DISTINCT, REDUCED and ORDER BY may wrap it; LIMIT and OFFSET
    may not (they cut across focus nodes).
    """
    known = _SELECTIONS.get(text)
    if known is None:
        try:
            known = _is_selection(text)
        except Exception:  # any text rdflib cannot read is answered per focus node
            known = False
        if len(_SELECTIONS) > 1_000:
            _SELECTIONS.clear()
        _SELECTIONS[text] = known
    return known


def read_selections(shapes: Graph) -> None:
    """Read :func:`prebinding_is_selection` for the query of every SHACL-SPARQL constraint of
    ``shapes``, as the text pyshacl will ask (prefixes applied), so that processes forked from
    this one find it read (rdflib parses each text: 0.7 s of a start-up part at 1M). A
    constraint pyshacl cannot load or check is left to the validation to report."""
    from pyshacl.constraints.sparql.sparql_based_constraints import SPARQLBasedConstraint
    from pyshacl.errors import ConstraintLoadError, ReportableRuntimeError, ValidationFailure
    from pyshacl.shapes_graph import ShapesGraph

    install()
    graph = ShapesGraph(plain_copy(shapes))  # pyshacl adds its system triples to the graph
    for shape in graph.shapes:
        if next(iter(shape.objects(SH.sparql)), None) is None:
            continue
        try:
            for helper in SPARQLBasedConstraint(shape).sparql_constraints:
                _, text = helper.pre_bind_variables(shape.node)  # the text is not the node's
                prebinding_is_selection(helper.apply_prefixes(text))
        except (ConstraintLoadError, ReportableRuntimeError, ValidationFailure,
                NotImplementedError):
            continue


class _NotSelectionError(Exception):
    pass


def _is_selection(text: str) -> bool:
    from rdflib.plugins.sparql import prepareQuery

    algebra = prepareQuery(text).algebra
    if algebra.name != "SelectQuery":
        return False
    top = algebra.p
    while top.name in ("Distinct", "Reduced", "OrderBy"):
        top = top.p
    if top.name != "Project" or _THIS not in top.PV:
        return False
    try:
        _refuse_patterns(top.p)
        return _THIS in _bound(top.p)
    except _NotSelectionError:
        return False


def _bound(node: CompValue) -> set[Variable]:
    """The variables ``node`` binds in every solution; raises when ``$this`` is read where it
    may be unbound."""
    if node.name == "BGP":
        return {t for triple in node.triples for t in triple if isinstance(t, Variable)}
    if node.name == "Join":
        return _bound(node.p1) | _bound(node.p2)
    if node.name == "OrderBy":
        return _bound(node.p)
    if node.name == "LeftJoin":
        left = _bound(node.p1)
        _bound(node.p2)
        if _THIS not in left and _mentions(node.p2, node.get("expr")):
            raise _NotSelectionError
        return left
    if node.name in ("Filter", "Extend"):
        inner = _bound(node.p)
        if _THIS not in inner and _mentions(node.expr):
            raise _NotSelectionError
        return inner
    raise _NotSelectionError


def _mentions(*parts: object) -> bool:
    for part in parts:
        if part == _THIS:
            return True
        if isinstance(part, dict) and _mentions(*part.values()):
            return True
        if isinstance(part, list | tuple | set) and _mentions(*part):
            return True
    return False


def _refuse_patterns(node: object, in_exists: bool = False) -> None:
    """Raise on any part that is not a plain group pattern, and on an expression inside an
    EXISTS pattern that reads ``$this`` (there only triple patterns may)."""
    if isinstance(node, Path):
        if _may_be_empty(node):
            raise _NotSelectionError
        return
    if isinstance(node, CompValue):
        if node.name in _REFUSED_PATTERNS or (node.name == "Extend" and node.var == _THIS):
            raise _NotSelectionError
        if in_exists and node.name in ("Filter", "Extend", "LeftJoin") and \
                _mentions(node.get("expr")):
            raise _NotSelectionError
        if node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            # the pattern rdflib evaluates is the attribute; the item is the parse tree
            _refuse_patterns(node.graph, in_exists=True)
            return
        for value in node.values():
            _refuse_patterns(value, in_exists)
    elif isinstance(node, list | tuple):
        for value in node:
            _refuse_patterns(value, in_exists)


def _may_be_empty(path: Path) -> bool:
    """Whether ``path`` may have length zero (``p*``, ``p?``): bound, it then gives the
    term itself even where the term is in no triple; unbound, only the graph's terms."""
    if isinstance(path, MulPath):
        return path.mod != OneOrMore or _may_be_empty(path.path)
    if isinstance(path, InvPath):
        return _may_be_empty(path.arg)
    if isinstance(path, SequencePath | AlternativePath):
        return any(isinstance(a, Path) and _may_be_empty(a) for a in path.args)
    return False


_INSTALLED = False


def install() -> None:
    """Install the changes to pyshacl and rdflib (see the module doc); once per process."""
    global _INSTALLED
    if _INSTALLED:
        return
    for change in (*SPARQL_CHANGES, *CORE_CHANGES):
        change()
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


def _install_prebinding_once() -> None:
    """pyshacl works out a SHACL-SPARQL query's text and which variables to pre-bind before
    each focus node's query (regular expressions over the text: ``$this``, ``$value``,
    ``$currentShape``, ``$shapesGraph``, ``$PATH`` put in), and writes the prefixes before
    the text again (a start-up part's validation at 1M: 4.8 s so, 3.6 s once each is worked
    out once). Both are functions of the text, the shape, its prefixes, and whether a value
    node (and which extra variables) are given, so each is worked out once (kept on the
    query's helper, which lives as long as its shapes graph); the bindings are then those same
    names, given this call's nodes. A text pyshacl refuses is refused at every call, as
    before."""
    from pyshacl.helper.sparql_query_helper import SPARQLQueryHelper

    original = SPARQLQueryHelper.pre_bind_variables
    original_prefixes = SPARQLQueryHelper.apply_prefixes
    prefixed: dict[tuple[str, tuple[tuple[Any, Any], ...]], str] = {}

    def pre_bind_variables(self: Any, thisnode: Any, valuenode: Any = None,
                           extravars: Any = None) -> tuple[dict[str, Any], str]:
        bound: dict[tuple[Any, ...], tuple[tuple[str, ...], str]] = self.__dict__.setdefault(
            "_digistrat_bound", {})
        key = (self.select_text, self.shape, tuple(self.prefixes.items()),
               valuenode is not None, bool(valuenode), frozenset(extravars or ()))
        found = bound.get(key)
        if found is None:
            bindings, text = original(self, thisnode, valuenode, extravars)
            found = bound[key] = (tuple(bindings), text)
        names, text = found
        nodes = {"this": thisnode, "value": valuenode, "currentShape": self.shape.node}
        return {name: nodes[name] for name in names}, text

    def apply_prefixes(self: Any, sparql: str) -> str:
        key = (sparql, tuple(self.prefixes.items()))
        found = prefixed.get(key)
        if found is None:
            if len(prefixed) > 10_000:
                prefixed.clear()
            found = prefixed[key] = original_prefixes(self, sparql)
        return found

    SPARQLQueryHelper.pre_bind_variables = pre_bind_variables  # type: ignore[method-assign]
    SPARQLQueryHelper.apply_prefixes = apply_prefixes  # type: ignore[method-assign]


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
                try:
                    prepared = processor.translateQuery(processor.parseQuery(query), base,
                                                        initNs)
                except Exception as err:  # pyparsing's ParseException; a bare Exception for
                    # an unknown prefix: a query of the shapes their author must mend
                    text = " ".join(line for line in query.split("\n")
                                    if not line.lstrip().upper().startswith("PREFIX"))
                    raise KGError(f"a SPARQL query cannot be read ({err}): "
                                  f"{' '.join(text.split())[:300]}") from None
                with lock:
                    if len(cache) > 1_000:
                        cache.clear()
                    cache[key] = prepared
            query = prepared
        return original(self, query, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query  # type: ignore[method-assign]


class _ConstructedOnce:
    """A constraint component class in pyshacl's parameter map whose instance for a shape is
    constructed once per shapes graph. pyshacl constructs a shape's components at every
    evaluation of the shape (for a property shape: once per value node), and each
    construction reads the shape's parameters from the shapes graph again; a component is
    not changed after it is constructed (its ``evaluate`` is given the data)."""

    def __init__(self, component: type) -> None:
        self.component = component

    def __call__(self, shape: Any) -> Any:
        made: dict[tuple[type, Any], Any] = shape.sg.__dict__.setdefault("_digistrat_made", {})
        key = (self.component, shape)
        found = made.get(key)
        if found is None:  # a component that refuses to load raises here every time
            found = made[key] = self.component(shape)
        return found


def _install_shapes_read_once() -> None:
    """A shape's predicates read once per shapes graph (``Shape.validate`` lists them at every
    evaluation), and each constraint component constructed once per shape
    (:class:`_ConstructedOnce`). pyshacl changes no shapes graph while it validates."""
    from pyshacl import shape
    from pyshacl.shapes_graph import ShapesGraph

    parameters, classes = shape.CONSTRAINT_PARAMS  # type: ignore[attr-defined]
    # one per class: several parameters name one component (sh:qualifiedValueShape,
    # sh:qualifiedMinCount), which Shape.validate evaluates once, telling them apart by class
    once = {component: _ConstructedOnce(component) for component in set(classes.values())}
    shape.CONSTRAINT_PARAMS = (  # type: ignore[attr-defined]
        parameters, {name: once[component] for name, component in classes.items()})

    def predicate_objects(self: Any, s: Any) -> Iterable[tuple[Node, Node]]:
        read: dict[Node, list[tuple[Node, Node]]] = self.__dict__.setdefault(
            "_digistrat_read", {})
        found = read.get(s)
        if found is None:
            found = read[s] = list(self.graph.predicate_objects(s))
        return iter(found)

    ShapesGraph.predicate_objects = predicate_objects  # type: ignore[method-assign]


def _install_property_shapes_at_once() -> None:
    """``sh:property``: pyshacl validates the property shape once for each value node (a
    node shape's value node is its focus node), each a call of ``Shape.validate`` with its
    setting up; here once for all of them, when no value node comes twice (a value node met
    twice is validated twice, its results reported twice, so that case is left as it was).
    A property shape validated for several focus nodes reports each one's results as it
    would alone: its value nodes and every constraint are taken per focus node."""
    from pyshacl.constraints.core.shape_based_constraints import PropertyConstraintComponent

    one_by_one = PropertyConstraintComponent._evaluate_property_shape

    def at_once(self: Any, executor: Any, prop_shape: Any, target_graph: Any,
                focus_value_nodes: dict[Node, Any], potentially_recursive: Any,
                _evaluation_path: list[Any]) -> tuple[bool, list[Any]]:
        values = [v for nodes in focus_value_nodes.values() for v in nodes]
        found = self.shape.get_other_shape(prop_shape)
        if (len(values) < 2 or len(set(values)) < len(values) or not found
                or not found.is_property_shape
                or (potentially_recursive and found in potentially_recursive)):
            return one_by_one(self, executor, prop_shape, target_graph, focus_value_nodes,
                              potentially_recursive, _evaluation_path)
        conforms, reports = found.validate(executor, target_graph, focus=values,
                                           _evaluation_path=_evaluation_path[:])
        return not conforms, reports

    PropertyConstraintComponent._evaluate_property_shape = at_once  # type: ignore[method-assign]


def _install_shape_names_once() -> None:
    """pyshacl writes a shape's name into log messages at every evaluation, whether or not they
    are logged (``f"… {str(self)}"``: 126,288 names for a start-up part at 1M); a shape's name
    is worked out once per shapes graph."""
    from pyshacl.shape import Shape

    original = Shape.__str__

    def name(self: Any) -> str:
        names: dict[Any, str] = self.sg.__dict__.setdefault("_digistrat_names", {})
        found = names.get(self)
        if found is None:
            found = names[self] = original(self)
        return found

    Shape.__str__ = name  # type: ignore[method-assign]


def _install_counted_result_nodes() -> None:
    """pyshacl makes each result's blank node with ``BNode()``, a new random UUID each
    (27,021 for a start-up part at 1M, most of them results that ``sh:or``, ``sh:not`` and
    ``sh:node`` make and drop); here one random part per process and a count: as unique
    within a report, and across the processes forked from one."""
    from pyshacl.constraints import constraint_component

    count = itertools.count()
    random = uuid.uuid4().hex

    def result_node() -> BNode:
        return BNode(f"r{random}p{os.getpid()}n{next(count)}")

    constraint_component.BNode = result_node  # type: ignore[attr-defined]


def _install_no_text_report() -> None:
    """pyshacl writes a text for every result it makes, the results that ``sh:or``, ``sh:not``
    and ``sh:node`` make and drop too (a sixth of a start-up part's time); the text goes only
    into pyshacl's text report (the third value ``validate`` returns), which digistrat does
    not read: the report graph holds every result. The text is left empty."""
    from pyshacl.constraints.constraint_component import ConstraintComponent

    ConstraintComponent.make_v_result_description = (  # type: ignore[method-assign]
        lambda self, *args, **kwargs: "")


#: the changes to how SHACL-SPARQL constraints are checked, parsed and run
SPARQL_CHANGES = (_install_query_cache, _install_check_cache, _install_prebinding_once)
#: the changes to how pyshacl sets up shapes and Core constraints and reports results
CORE_CHANGES = (_install_parameter_set, _install_shapes_read_once,
                _install_property_shapes_at_once, _install_no_text_report,
                _install_shape_names_once, _install_counted_result_nodes)
