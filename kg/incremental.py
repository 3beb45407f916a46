"""Validate only what changed since the last conforming verdict.

A conforming validation leaves a record: each data file's digest, and the resources where a
change to the file can show (its *seeds*). On the next start, the files whose digest differs
(changed, added or removed) are found; every resource whose verdict may depend on one of their
triples, old or new, is validated again, over the part of the graph its shapes can read. The
rest of the data is unchanged, and so are its verdicts, because no shape reads that far.

How far a shape reads is worked out from the shapes themselves (:func:`read_scope`):

* ``depth``: the most properties a shape follows from its focus node, counting a node shape's
  nesting (``sh:node``, ``sh:property``, ``sh:qualifiedValueShape``, ``sh:and``/``or``/``not``/
  ``xone``), each path's length, one more for ``sh:class`` (the value's type), and every triple
  pattern of a SPARQL constraint (a bound above the query's longest chain);
* ``inward``: the properties a shape may follow from object to subject: ``sh:inversePath``,
  ``sh:targetObjectsOf``, and in a SPARQL constraint each pattern the query's joins reach from
  ``$this`` at its object (or through a path that turns, ``^p`` or a sequence);
* ``transitive``: properties followed any number of times (``sh:oneOrMorePath``, ``p+``): a
  step along them costs no depth, so their chains are followed to the end.

No bound is given, and all the data is validated, for shapes that: are nested in themselves;
use SHACL-AF targets or rules, or constraint components of their own; have a SPARQL pattern
that no join ties to ``$this`` (it reads the whole graph); or may join two resources on an
equal literal (the walk over the graph follows IRIs and blank nodes, not values). A variable
property that the joins enter at its object reads inward along any property.

Resources described in the ontology layer (classes, concepts) and the classes of ``rdf:type``
are not walked through: the ontology layer is the validation's context, loaded whole, and data
files do not change it. Past :data:`REACH_LIMIT_SHARE` of the data's resources, everything is
validated (as quick, and simpler).
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, SH
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, SequencePath
from rdflib.paths import Path as RdflibPath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node, Variable

from kg.pyshacl_tuning import OxigraphQueriedGraph
from kg.store import Store

RDF_TYPE = str(RDF.type)

# The share of the data's resources past which a change validates everything.
REACH_LIMIT_SHARE = 0.5


@dataclass(frozen=True)
class ReadScope:
    """How far the shapes read from a focus node; ``inward`` None: along any property."""

    depth: int
    inward: frozenset[str] | None
    transitive: frozenset[str]

    def as_json(self) -> dict[str, Any]:
        return {"depth": self.depth, "transitive": sorted(self.transitive),
                "inward": None if self.inward is None else sorted(self.inward)}

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> ReadScope:
        inward = saved["inward"]
        return cls(int(saved["depth"]), None if inward is None else frozenset(inward),
                   frozenset(saved["transitive"]))


#: The version of the analysis (this module's source), part of a record's key: seeds and
#: scope worked out by another version are not used.
ANALYSIS = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


class UnboundedShapesError(Exception):
    """The shapes read without a bound the analysis can give (see the module's docstring)."""


def read_scope(shapes: Graph, ontology: Graph) -> ReadScope:
    """The depth, inward and transitive properties of ``shapes`` (see the module's
    docstring), with the ``owl:ObjectProperty`` declarations of ``ontology``. Raises
    UnboundedShapesError where no bound can be given."""
    for predicate in (SH.target, SH.rule, SH.validator, SH.nodeValidator,
                      SH.propertyValidator):
        if next(shapes.subject_objects(predicate), None) is not None:
            # SHACL-AF targets and rules, and constraint components of one's own
            raise UnboundedShapesError(f"the shapes use {predicate.n3()}, which is not analysed")
    analysis = _ShapeReading(shapes, set(ontology.subjects(RDF.type, OWL.ObjectProperty)))
    depth = max((analysis.shape_depth(shape, ()) for shape in analysis.shapes()), default=0)
    inward = set(analysis.inward)
    for predicate in shapes.objects(None, SH.targetObjectsOf):
        inward.add(str(predicate))
    return ReadScope(depth, None if analysis.any_inward else frozenset(inward),
                     frozenset(analysis.transitive))


class _ShapeReading:
    def __init__(self, shapes: Graph, object_properties: set[Node]) -> None:
        self.graph = shapes
        self.object_properties = object_properties
        self.inward: set[str] = set()
        self.transitive: set[str] = set()
        self.any_inward = False
        self.prefixes = {str(shapes.value(d, SH.prefix)): str(shapes.value(d, SH.namespace))
                         for d in shapes.objects(None, SH.declare)}
        self._depths: dict[Node, int] = {}

    def shapes(self) -> set[Node]:
        g = self.graph
        found = set(g.subjects(RDF.type, SH.NodeShape)) | set(g.subjects(RDF.type,
                                                                           SH.PropertyShape))
        return found | set(g.subjects(SH.path, None))

    def shape_depth(self, shape: Node, seen: tuple[Node, ...]) -> int:
        if shape in seen:
            raise UnboundedShapesError(f"the shape {shape} is nested in itself")
        if shape in self._depths:
            return self._depths[shape]
        g, inner = self.graph, (*seen, shape)
        path = g.value(shape, SH.path)
        here = self.path_length(path) if path is not None else 0
        values = 0  # what is read from each value node
        if g.value(shape, SH["class"]) is not None:
            values = 1
        for predicate in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals,
                          SH.closed):
            if g.value(shape, predicate) is not None:  # (other) properties of the focus node
                here = max(here, 1)
        nested: list[Node] = []
        for predicate in (SH.node, SH.property, SH.qualifiedValueShape, SH["not"]):
            nested += list(g.objects(shape, predicate))
        for predicate in (SH["and"], SH["or"], SH.xone):
            for members in g.objects(shape, predicate):
                nested += list(Collection(g, members))
        for child in nested:
            values = max(values, self.shape_depth(child, inner))
        for constraint in g.objects(shape, SH.sparql):
            values = max(values, self.sparql_depth(constraint))
        depth = here + values
        self._depths[shape] = depth
        return depth

    def path_length(self, path: Node) -> int:
        """Steps of a SHACL path; inverse steps are noted as inward, repeated ones as
        transitive (and cost no step)."""
        g = self.graph
        if isinstance(path, URIRef):
            return 1
        inverse = g.value(path, SH.inversePath)
        if inverse is not None:
            self.inward.update(self._predicates(inverse))
            return self.path_length(inverse)
        alternatives = g.value(path, SH.alternativePath)
        if alternatives is not None:
            return max(self.path_length(p) for p in Collection(g, alternatives))
        for repeat in (SH.zeroOrMorePath, SH.oneOrMorePath):
            repeated = g.value(path, repeat)
            if repeated is not None:
                self.transitive.update(self._predicates(repeated))
                return 0
        repeated = g.value(path, SH.zeroOrOnePath)
        if repeated is not None:
            return self.path_length(repeated)
        if g.value(path, RDF.first) is not None:
            return sum(self.path_length(p) for p in Collection(g, path))
        raise UnboundedShapesError(f"a path the analysis does not read: {path}")

    def _predicates(self, path: Node) -> set[str]:
        if isinstance(path, URIRef):
            return {str(path)}
        found: set[str] = set()
        for _, _, value in self.graph.triples((path, None, None)):
            if isinstance(value, URIRef) and value != RDF.nil:
                found.add(str(value))
            elif isinstance(value, BNode):
                found |= self._predicates(value)
        return found

    def sparql_depth(self, constraint: Node) -> int:
        """The triple patterns of a SPARQL constraint, weighted by their paths' lengths.

        A pattern is read towards its subject only when the query's joins reach it from
        ``$this`` at its object (:func:`_oriented`); a pattern they do not reach reads the
        whole graph, and no bound is given."""
        text = self.graph.value(constraint, SH.select) or self.graph.value(constraint, SH.ask)
        if text is None:
            raise UnboundedShapesError(f"a SPARQL constraint without a query: {constraint}")
        try:
            query = prepareQuery(str(text), initNs=self.prefixes)
        except Exception as err:  # pyparsing's ParseException; a bare one for a prefix
            raise UnboundedShapesError(f"the query of {constraint} cannot be read: {err}"
                                       ) from None
        patterns = list(_triple_patterns(query.algebra))
        steps = 0
        for (_, predicate, _), inward in _oriented(patterns, Variable("this"), constraint,
                                                    self.object_properties):
            if isinstance(predicate, Variable):
                steps += 1
                self.any_inward |= inward  # ?x ?p ?y entered at ?y: any property, inward
            else:
                steps += self._sparql_path(predicate, inward)
        return steps

    def _sparql_path(self, path: Node | RdflibPath, inward: bool) -> int:
        """Steps of a SPARQL path; its properties are noted as inward when the path is read
        from object to subject (the pattern entered at its object, turned by ``^p``), as
        transitive when repeated."""
        if isinstance(path, URIRef):
            if inward:
                self.inward.add(str(path))
            return 1
        if isinstance(path, InvPath):
            return self._sparql_path(path.arg, not inward)
        if isinstance(path, SequencePath):
            return sum(self._sparql_path(p, inward) for p in path.args)
        if isinstance(path, AlternativePath):
            return max(self._sparql_path(p, inward) for p in path.args)
        if isinstance(path, MulPath):
            steps = self._sparql_path(path.path, inward)
            if path.mod == "?":
                return steps
            self.transitive.update(_path_predicates(path.path))
            return 0
        if isinstance(path, NegatedPath):
            self.any_inward = True
            return 1
        if isinstance(path, CompValue):  # a path inside a FILTER, as parsed
            names = {str(i) for i in _iris(path)}
            self.inward |= names
            if any(m in ("+", "*") for m in _values(path, "mod")):
                self.transitive |= names
            return len(names)
        raise UnboundedShapesError(f"a SPARQL path the analysis does not read: {path}")


def _path_predicates(path: Node | RdflibPath) -> set[str]:
    if isinstance(path, URIRef):
        return {str(path)}
    if isinstance(path, Variable):
        return {"?"}  # any property
    args = getattr(path, "args", None) or [getattr(path, "arg", None) or path.path]
    return {p for arg in args for p in _path_predicates(arg)}


def _oriented(patterns: list[tuple[Node, Node, Node]], this: Variable, where: Node,
              object_properties: set[Node]) -> list[tuple[tuple[Node, Node, Node], bool]]:
    """Each pattern with whether the joins from ``this`` enter it at its object (True) or
    at its subject. A match binds every pattern along these joins, so a triple a pattern
    matches lies that way from the focus node. Patterns entered at their subject are
    taken first. Variables and IRIs join; literals do not, and a pattern may be entered at
    its object only where that is ``this``, an IRI, or a variable first bound as a subject
    or as the value of an ``owl:ObjectProperty`` (else the join could be on equal literals,
    which the walk over the graph does not follow)."""
    joined: set[Node] = {this}
    bound_by: dict[Node, Node | RdflibPath | None] = {}  # first binding; None: as a subject
    left = list(patterns)
    oriented: list[tuple[tuple[Node, Node, Node], bool]] = []
    while left:
        pattern = next((p for p in left if p[0] in joined), None)
        inward = pattern is None
        if pattern is None:
            pattern = next((p for p in left if p[2] in joined), None)
            if pattern is None:
                raise UnboundedShapesError(f"{where} reads triples not tied to $this")
            value = pattern[2]
            binding = bound_by.get(value)
            if isinstance(value, Variable) and value != this and binding is not None and \
                    not _path_predicates(binding) <= {str(p) for p in object_properties}:
                raise UnboundedShapesError(f"{where} may join on equal literals ({value})")
        left.remove(pattern)
        subject, predicate, value = pattern
        if value not in joined and not isinstance(value, Literal):
            joined.add(value)
            bound_by[value] = predicate
        if subject not in joined:
            joined.add(subject)
            bound_by[subject] = None
        oriented.append((pattern, inward))
    return oriented


def _iris(node: object) -> Iterable[URIRef]:
    if isinstance(node, URIRef):
        yield node
    elif isinstance(node, CompValue):
        for value in node.values():
            yield from _iris(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _iris(value)


def _values(node: object, key: str) -> Iterable[object]:
    if isinstance(node, CompValue):
        if key in node:
            yield node[key]
        for value in node.values():
            yield from _values(value, key)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _values(value, key)


def _triple_patterns(node: object) -> Iterable[tuple[Node, Node, Node]]:
    """Every triple pattern of a query's algebra (BGPs, and the paths among them)."""
    if isinstance(node, CompValue):
        if node.name in ("BGP", "TriplesBlock"):  # (a FILTER's patterns stay untranslated)
            yield from (tuple(triple) for triple in node.get("triples", []))
            return
        for value in node.values():
            yield from _triple_patterns(value)
    elif isinstance(node, (list, tuple)):
        if len(node) == 3 and not any(isinstance(x, (CompValue, list, tuple)) for x in node):
            return
        for value in node:
            yield from _triple_patterns(value)


# --- the record of the last conforming verdict ----------------------------------------------

@dataclass
class Record:
    """What the last conforming validation saw: each data file's digest and seeds, and the
    shapes' scope (the record is kept per shapes, ontology and validator; working the scope
    out parses the shapes' SPARQL, 1.6 s for this round's)."""

    digests: dict[str, str]
    seeds: dict[str, list[str]]
    scope: ReadScope

    @classmethod
    def read(cls, path: Path) -> Record | None:
        try:
            saved = json.loads(gzip.decompress(path.read_bytes()))
            return cls(dict(saved["digests"]), dict(saved["seeds"]),
                       ReadScope.from_json(saved["scope"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no record, or one that cannot be read: validate everything

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(gzip.compress(json.dumps(
            {"digests": self.digests, "seeds": self.seeds,
             "scope": self.scope.as_json()}).encode(), 6))
        partial.replace(path)

    def updated(self, digests: dict[str, str], seeds: dict[str, list[str]],
                scope: ReadScope) -> Record:
        """The record of the files ``digests`` names, with ``seeds`` for those that changed
        since this one, worked out with ``scope``."""
        kept = {name: self.seeds[name] for name in digests if name in self.seeds}
        return Record(dict(digests), {**kept, **seeds}, scope)

    def changed(self, digests: dict[str, str]) -> list[str]:
        """The data files added, removed or changed since the record."""
        names = set(digests) | set(self.digests)
        return sorted(n for n in names if digests.get(n) != self.digests.get(n))


def seeds_of(store: Store, scope: ReadScope, files: Iterable[str] | None = None
             ) -> dict[str, list[str]]:
    """Per data file (of ``files``, default all), the IRIs whose verdict a change of its
    triples can touch first: the subjects, and the objects of properties a shape reads inward
    (any, when ``inward`` is None)."""
    wanted = None if files is None else set(files)
    seeds: dict[str, list[str]] = {}
    for info in store.graphs:
        if store.project.layer_of_graph(info.iri) != "data" or \
                (wanted is not None and info.file not in wanted):
            continue
        found: set[str] = set()
        for quad in store.quads(graph=info.iri):
            if isinstance(quad.subject, ox.NamedNode):
                found.add(quad.subject.value)
            if isinstance(quad.object, ox.NamedNode) and _inward(scope, quad.predicate.value):
                found.add(quad.object.value)
        seeds[info.file] = sorted(found)
    return seeds


def _inward(scope: ReadScope, predicate: str) -> bool:
    return predicate != RDF_TYPE and (scope.inward is None or predicate in scope.inward)


# --- the part of the graph to validate again -------------------------------------------------

Term = ox.NamedNode | ox.BlankNode


@dataclass
class Neighbourhood:
    """The resources to validate again (``focus``) and the data their shapes read, as the
    graph a validation reads (:func:`kg.validate.validate` with ``in_place``)."""

    focus: set[Term]
    graph: OxigraphQueriedGraph


class TooFarError(Exception):
    """The change reaches so much of the data that validating all of it is simpler."""


class _Walk:
    def __init__(self, store: Store, scope: ReadScope, limit: int) -> None:
        self.store, self.scope, self.limit = store, scope, limit
        self.data = {g.iri for g in store.graphs if store.project.layer_of_graph(g.iri) == "data"}
        self.context = {q.subject for iri in store.graph_iris("ontology")
                        for q in store.quads(graph=iri)}
        #: the quads of each node asked (as subject, as object), for the walks of one reach
        self.read: dict[tuple[Term | None, Term | None], list[ox.Quad]] = {}

    def wider(self, scope: ReadScope) -> _Walk:
        """A walk of ``scope`` over the same data, sharing what this one has read."""
        walk = copy.copy(self)
        walk.scope = scope
        return walk

    def quads(self, subject: Term | None = None, obj: Term | None = None) -> list[ox.Quad]:
        found = self.read.get((subject, obj))
        if found is None:
            found = self.read[subject, obj] = [
                q for q in self.store.ox.quads_for_pattern(subject, None, obj, None)
                if q.graph_name.value in self.data]
        return found

    def held_blank_nodes(self, nodes: set[Term]) -> set[Term]:
        """The blank nodes that ``nodes`` hold (as values, through blank nodes only)."""
        found: set[Term] = set()
        queue = deque(nodes)
        while queue:
            for quad in self.quads(subject=queue.popleft()):
                value = quad.object
                if isinstance(value, ox.BlankNode) and value not in found:
                    found.add(value)
                    queue.append(value)
        return found

    def reach(self, start: Iterable[Term], *, towards_readers: bool) -> set[Term]:
        """Nodes within ``depth`` steps of ``start``. ``towards_readers``: the resources that
        may read ``start`` (against the reading direction); else what ``start`` may read."""
        scope = self.scope
        cost: dict[Term, int] = {}
        queue: deque[tuple[Term, int]] = deque()
        for node in start:
            cost[node] = 0
            queue.append((node, 0))
        while queue:
            node, steps = queue.popleft()
            if steps > cost.get(node, steps) or node in self.context:
                continue
            if len(cost) > self.limit:
                raise TooFarError
            out = self.quads(subject=node)  # node → value
            inn = self.quads(obj=node)  # subject → node
            moves: list[tuple[Term, str]] = []
            if towards_readers:
                moves += [(q.subject, q.predicate.value) for q in inn]
                moves += [(q.object, q.predicate.value) for q in out
                          if _inward(scope, q.predicate.value)]
            else:
                moves += [(q.object, q.predicate.value) for q in out
                          if q.predicate.value != RDF_TYPE]
                moves += [(q.subject, q.predicate.value) for q in inn
                          if _inward(scope, q.predicate.value)]
            for target, predicate in moves:
                if isinstance(target, ox.Literal):
                    continue
                step = 0 if predicate in scope.transitive else 1
                total = steps + step
                if total > scope.depth or cost.get(target, total + 1) <= total:
                    continue
                cost[target] = total
                if step:
                    queue.append((target, total))
                else:
                    queue.appendleft((target, total))
        return set(cost)


def neighbourhood(store: Store, scope: ReadScope, seeds: set[str], *,
                  limit: int | None = None) -> Neighbourhood:
    """The resources whose verdict the seeds may change (with the blank nodes they hold),
    and the data their shapes read. Raises TooFarError when either covers more than
    ``limit`` resources (default: half the data's)."""
    if limit is None:
        graphs = " ".join(f"<{iri}>" for iri in store.graph_iris("data"))
        rows = store.query("SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { VALUES ?g { " + graphs
                           + " } GRAPH ?g { ?s ?p ?o } }", union=False)
        limit = int((int(rows[0]["n"].value) if rows else 0) * REACH_LIMIT_SHARE)
    walk = _Walk(store, scope, max(1, limit))
    focus = walk.reach([ox.NamedNode(iri) for iri in seeds], towards_readers=True)
    focus |= walk.held_blank_nodes(focus)
    # one step further than the shapes read, for the types and blank nodes at the edge
    wider = ReadScope(scope.depth + 2, scope.inward, scope.transitive)
    read = walk.wider(wider).reach(focus, towards_readers=False)
    graph = OxigraphQueriedGraph.of_quads(q for node in read for q in walk.quads(subject=node))
    return Neighbourhood(focus, graph)


def focus_names(focus: Iterable[Term]) -> set[str]:
    """The focus nodes as :class:`kg.validate.ValidationResult` names them (IRIs in full,
    blank nodes as ``_:id``)."""
    return {n.value if isinstance(n, ox.NamedNode) else f"_:{n.value}" for n in focus}
