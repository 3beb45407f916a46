"""A second SHACL engine agrees with ours: rudof (pyrudof) against pyshacl (kg.validate).

Every shape case (``tests/shapes/cases/**``, data graph = the case + ``ontology/`` +
``ontology/vocab/``) and the bundled data (data graph = ``data/`` + ``ontology/`` +
``ontology/vocab/``) is validated against ``shapes/`` by both engines. The test fails on any
difference in

* the verdict: no result of severity Violation (the project's meaning of "conforms"; rudof's
  own ``conforms`` follows the SHACL spec, false with any result at all, even an Info), or
* the results, compared as a multiset of (focus node, path, source shape, severity): the
  top-level results of the report (``report sh:result ?r``), which kg.validate counts.
  Values and messages are not compared (engines word and pick them differently).

Both engines read the same triples: rudof gets the rdflib graph pyshacl validates, as
N-Triples. rudof runs twice. The Core pass has the shapes without their ``sh:sparql``
constraints and the data as it is. The SPARQL pass has every shape, and only its results of
SHACL-SPARQL constraints (sh:SPARQLConstraintComponent) are kept: rudof pre-binds ``$this``
with a ``VALUES`` clause, which cannot hold a blank node, so one blank focus node of a
SPARQL-based shape (the evidence nodes that ``dsh:QuoteLength`` targets) makes the whole
validation fail ("expected UNDEF"). SHACL (5.3.1, pre-binding) binds ``$this`` to every focus
node, blank or not: this is rudof's limitation. So in the SPARQL pass the blank nodes of the
data are IRIs (``urn:x-skolem:{label}``, turned back into ``_:label`` for the comparison).
That could only change a query that tests a term's kind (``isBlank``, ``isIRI``) of a blank
node; none gives a different answer for these IRIs, and a difference would show as a
disagreement with pyshacl, which validates the data as it is, never as an agreement.

Excluded: the results of shapes with a custom target (``sh:target``, e.g. a SPARQL-based
target of the SHACL Advanced Features note; no shape has one at present). Such targets are
neither SHACL Core nor SHACL-SPARQL, and rudof ignores them (it validates no focus node for
them), so their results would be dropped on both sides. Everything else is compared.

Results that rudof misses through one of its known bugs (``KNOWN_RUDOF_MISSES``: each says
why pyshacl is right by the spec and recognises the results it affects) are taken out of
pyshacl's side before comparing; test_rudof_still_has_the_known_bug shows each bug on a
minimal graph and fails once a pyrudof release fixes it.

The pyshacl reports are those of tests/test_shapes.py and tests/test_repository.py: a run of
all three validates each case and the data once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pyrudof
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, XSD
from rdflib.term import Node
from test_repository import data_validation
from test_shapes import (
    case_files,
    case_validation,
    ontology_graph,
    project_store,
    shapes_graph,
)

from kg.store import Store
from kg.submission import validate_submission
from kg.validate import ValidationReport, top_level_results, validate

Key = tuple[str, str, str, str]  # focus node, path, source shape, severity

DSH = "https://w3id.org/digistrat/shapes#"
SKOLEM = "urn:x-skolem:"

# --- what rudof is known to miss --------------------------------------------------------
#
# Each bug of rudof (pyrudof 0.3.35) found by this test: why pyshacl is right by the SHACL
# spec, and a test of one top-level result of pyshacl's report that tells the results rudof
# misses for that reason. test_rudof_still_has_the_known_bug shows each on a minimal graph.


def _min_length_in_bytes(report: Graph, result: Node, shapes: Graph) -> bool:
    value = report.value(result, SH.value)
    limit = shapes.value(report.value(result, SH.sourceShape), SH.minLength)
    return (report.value(result, SH.sourceConstraintComponent) == SH.MinLengthConstraintComponent
            and isinstance(value, Literal) and isinstance(limit, Literal)
            and len(str(value)) < int(limit) <= len(str(value).encode("utf-8")))


def _literal_passes_property_shapes(report: Graph, result: Node, shapes: Graph) -> bool:
    # pyshacl's sh:detail says why the value failed sh:node: only property shapes failed
    details = list(report.objects(result, SH.detail))
    return (report.value(result, SH.sourceConstraintComponent) == SH.NodeConstraintComponent
            and isinstance(report.value(result, SH.value), Literal) and bool(details)
            and all(shapes.value(report.value(d, SH.sourceShape), SH.path) is not None
                    for d in details))


def _ill_formed_date_passes(report: Graph, result: Node, shapes: Graph) -> bool:
    value = report.value(result, SH.value)
    return (report.value(result, SH.sourceConstraintComponent) == SH.DatatypeConstraintComponent
            and isinstance(value, Literal) and value.datatype == XSD.date and value.ill_typed
            is True)


#: bug name: (why pyshacl is right, test(report graph, top-level result, shapes graph))
KNOWN_RUDOF_MISSES: dict[str, tuple[str, Callable[[Graph, Node, Graph], bool]]] = {
    "min-length-in-bytes": (
        "sh:minLength counts characters (SHACL 4.4.2: STRLEN); rudof counts the bytes of the "
        "UTF-8 encoding, so the quote '…'@de (one character, three bytes) passes "
        "sh:minLength 3", _min_length_in_bytes),
    "literal-passes-property-shapes": (
        "a literal value of sh:node fails a node shape whose property shape has sh:minCount "
        "1: a literal is the subject of no triple, so the path has no value (SHACL 4.7.1, "
        "4.4.2; focus nodes may be literals); rudof lets a literal pass property shapes (the "
        "population or search record written as a plain number or text). Only results whose "
        "every detail comes from a property shape: rudof does check node-level constraints",
        _literal_passes_property_shapes),
    "ill-formed-date-passes": (
        "an ill-formed literal does not conform to sh:datatype (SHACL 4.1.2: the lexical form "
        "must be in the datatype's lexical space); rudof accepts any xsd:date of the right "
        "shape, even '2018-02-29' or '2018-13-01'", _ill_formed_date_passes),
}


def known_misses(report: ValidationReport) -> Counter[Key]:
    """The top-level results of pyshacl's report that rudof misses through a known bug."""
    graph, shapes = report.graph, shapes_graph()
    return Counter(_result_key(graph, node) for node in top_level_results(graph)
                   if any(test(graph, node, shapes) for _, test in KNOWN_RUDOF_MISSES.values()))


# --- the two engines ----------------------------------------------------------------------


@cache
def custom_target_shapes() -> frozenset[Node]:
    """Shapes with an SHACL-AF custom target (``sh:target``), which rudof does not run."""
    return frozenset(shapes_graph().subjects(SH.target, None))


def compared(results: Counter[Key]) -> Counter[Key]:
    """The results of every shape but those with a custom target."""
    excluded = {str(shape) for shape in custom_target_shapes()}
    return Counter({key: n for key, n in results.items() if key[2] not in excluded})


SPARQL_COMPONENT = str(SH.SPARQLConstraintComponent)


class RudofPass:
    """One rudof session that reads its shapes and the ontology once; each run validates
    the ontology + one data graph, which is read in a staging frame and rolled back."""

    def __init__(self, shapes: Graph, context_ntriples: str, *, sparql: bool) -> None:
        self.sparql = sparql
        self.engine = pyrudof.Rudof()
        self.engine.read_shacl(shapes.serialize(format="nt"), format=pyrudof.ShaclFormat.NTriples)
        self.engine.read_data(context_ntriples, format=pyrudof.RDFFormat.NTriples, merge=False)

    def run(self, data_ntriples: str) -> list[Key]:
        """The results of the SHACL-SPARQL constraints (``sparql``) or of all others."""
        self.engine.begin_staging()
        try:
            self.engine.read_data(data_ntriples, format=pyrudof.RDFFormat.NTriples, merge=True)
            entries = list(self.engine.validate_shacl())
        finally:
            self.engine.rollback_staging()
        keys = []
        for entry in entries:
            if (entry.constraint_component == SPARQL_COMPONENT) != self.sparql:
                continue
            focus = entry.focus_node
            if focus.startswith(SKOLEM):
                focus = "_:" + focus[len(SKOLEM):]
            path = re.sub(r"[\s()]", "", entry.path) if entry.path else "-"
            keys.append((focus, path, entry.source_shape or "", entry.severity))
        return keys


@cache
def ontology_ntriples() -> tuple[str, str]:
    """``ontology/`` and ``ontology/vocab/`` as N-Triples: as they are, and skolemised."""
    text = ontology_graph().serialize(format="nt")
    return text, skolemised(text)


@cache
def core_pass() -> RudofPass:
    """The shapes without their SHACL-SPARQL constraints (no ``sh:sparql`` triple)."""
    core = Graph()
    for triple in shapes_graph():
        if triple[1] != SH.sparql:
            core.add(triple)
    return RudofPass(core, ontology_ntriples()[0], sparql=False)


@cache
def sparql_pass() -> RudofPass:
    """Every shape, on skolemised data; only the SHACL-SPARQL results are kept."""
    return RudofPass(shapes_graph(), ontology_ntriples()[1], sparql=True)


_BLANK_SUBJECT = re.compile(r"^_:([A-Za-z0-9_-]+) ", re.M)
_BLANK_OBJECT = re.compile(r" _:([A-Za-z0-9_-]+) \.$", re.M)


def skolemised(ntriples: str) -> str:
    """N-Triples with every blank node ``_:x`` written as the IRI ``<urn:x-skolem:x>``."""
    ntriples = _BLANK_SUBJECT.sub(lambda m: f"<{SKOLEM}{m[1]}> ", ntriples)
    return _BLANK_OBJECT.sub(lambda m: f" <{SKOLEM}{m[1]}> .", ntriples)


def rudof_results(data: Graph) -> Counter[Key]:
    """rudof's results: the Core shapes on ``data`` (+ the ontology) as it is, the
    SHACL-SPARQL shapes on a copy whose blank nodes are IRIs (see the module's docstring).

    rudof reads the rdflib graph pyshacl validates (rdflib normalises some lexical forms), so
    both engines see the same literals."""
    text = data.serialize(format="nt")
    return Counter(core_pass().run(text) + sparql_pass().run(skolemised(text)))


def _path_key(report: Graph, path: Node | None) -> str:
    """A result path in full IRIs, without parentheses or spaces (as rudof's, normalised)."""
    if path is None:
        return "-"
    if isinstance(path, URIRef):
        return str(path)
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _path_key(report, inverse)
    alternatives = report.value(path, SH.alternativePath)
    if alternatives is not None:
        return "|".join(_path_key(report, p) for p in report.items(alternatives))
    for predicate, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"),
                              (SH.zeroOrOnePath, "?")):
        repeated = report.value(path, predicate)
        if repeated is not None:
            return _path_key(report, repeated) + suffix
    return "/".join(_path_key(report, p) for p in report.items(path))


def _term_key(node: Node | None) -> str:
    if isinstance(node, BNode):
        return "_:" + str(node)
    if isinstance(node, Literal):
        return node.n3()
    return str(node) if node is not None else ""


def _result_key(report: Graph, node: Node) -> Key:
    severity = report.value(node, SH.resultSeverity)
    return (_term_key(report.value(node, SH.focusNode)),
            _path_key(report, report.value(node, SH.resultPath)),
            _term_key(report.value(node, SH.sourceShape)),
            str(severity).rsplit("#", 1)[-1])


def pyshacl_results(report: ValidationReport) -> Counter[Key]:
    """The top-level results of pyshacl's report: those kg.validate counts."""
    keys = Counter(_result_key(report.graph, node) for node in top_level_results(report.graph))
    assert sum(keys.values()) == len(report.results)
    return keys


def _case_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


def _verdict(results: Counter[Key]) -> bool:
    return not any(key[3] == "Violation" for key in results)


def _compare(report: ValidationReport, theirs: Counter[Key]) -> None:
    """pyshacl's results less those rudof misses through a known bug are rudof's results,
    and so are the verdicts."""
    ours = pyshacl_results(report)
    assert report.conforms == _verdict(ours)
    expected = compared(ours) - compared(known_misses(report))
    theirs = compared(theirs)
    only_ours = sorted((expected - theirs).elements())
    only_theirs = sorted((theirs - expected).elements())
    assert (only_ours, only_theirs) == ([], []), (
        f"only pyshacl: {only_ours}\nonly rudof: {only_theirs}")
    assert _verdict(compared(ours)) == _verdict(theirs + compared(known_misses(report)))


# --- the tests ----------------------------------------------------------------------------

CASES = case_files("valid") + case_files("invalid")


def test_the_sparql_pass_compares_something() -> None:
    """rudof runs the SHACL-SPARQL constraints: the SPARQL pass is not empty."""
    data, _ = case_validation(next(c for c in CASES if c.name == "quote-of-41-words.ttl"))
    results = sparql_pass().run(skolemised(data.serialize(format="nt")))
    assert [key[2] for key in results] == [DSH + "QuoteLength"]


def test_skolemising_touches_only_blank_nodes() -> None:
    text = ('_:b1 <urn:x:p> _:b2 .\n<urn:x:s> <urn:x:p> "_:b3 ." .\n'
            '<urn:x:s> <urn:x:q> "x _:b4"@de .\n_:b5 <urn:x:p> <urn:x:o> .\n')
    assert skolemised(text) == (
        f'<{SKOLEM}b1> <urn:x:p> <{SKOLEM}b2> .\n<urn:x:s> <urn:x:p> "_:b3 ." .\n'
        f'<urn:x:s> <urn:x:q> "x _:b4"@de .\n<{SKOLEM}b5> <urn:x:p> <urn:x:o> .\n')


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rudof_agrees_on_the_shape_case(case: Path) -> None:
    data, report = case_validation(case)
    _compare(report, rudof_results(data))


def test_rudof_agrees_on_the_bundled_data(store: Store) -> None:
    data, report = data_validation(store)
    _compare(report, rudof_results(data))


REPRODUCTIONS = {
    "min-length-in-bytes": ("""
        ex:Shape a sh:NodeShape ; sh:targetNode ex:a ;
            sh:property ex:Shape-p . ex:Shape-p sh:path ex:p ; sh:minLength 3 .""",
        'ex:a ex:p "…"@de .'),
    "literal-passes-property-shapes": ("""
        ex:Shape a sh:NodeShape ; sh:targetNode ex:a ; sh:property ex:Shape-p .
        ex:Shape-p sh:path ex:p ; sh:node ex:Inner .
        ex:Inner a sh:NodeShape ; sh:property ex:Inner-q . ex:Inner-q sh:path ex:q ;
            sh:minCount 1 .""",
        "ex:a ex:p 42 ."),
    "ill-formed-date-passes": ("""
        ex:Shape a sh:NodeShape ; sh:targetNode ex:a ; sh:property ex:Shape-p .
        ex:Shape-p sh:path ex:p ; sh:datatype xsd:date .""",
        'ex:a ex:p "2018-02-29"^^xsd:date .'),
}


@pytest.mark.parametrize("bug", sorted(KNOWN_RUDOF_MISSES))
def test_rudof_still_has_the_known_bug(bug: str) -> None:
    """pyshacl reports the result, the bug's test recognises it, rudof misses it. When a new
    pyrudof no longer misses it, remove the bug from KNOWN_RUDOF_MISSES."""
    prefixes = ("@prefix sh: <http://www.w3.org/ns/shacl#> . "
                "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . "
                "@prefix ex: <http://example.org/> .\n")
    shapes_text, data_text = REPRODUCTIONS[bug]
    shapes = Graph().parse(data=prefixes + shapes_text, format="turtle")
    data = Graph().parse(data=prefixes + data_text, format="turtle")
    report = validate(data, shapes)
    _, test = KNOWN_RUDOF_MISSES[bug]
    assert [test(report.graph, node, shapes)
            for node in top_level_results(report.graph)] == [True]
    engine = pyrudof.Rudof()
    engine.read_shacl(shapes.serialize(format="nt"), format=pyrudof.ShaclFormat.NTriples)
    engine.read_data(data.serialize(format="nt"), format=pyrudof.RDFFormat.NTriples)
    assert list(engine.validate_shacl()) == [], f"rudof no longer has the bug {bug}"


def test_cases_with_nested_results_count_them_once() -> None:
    """Results under sh:detail are not counted, by kg.validate nor by the service's path
    (kg.submission.finish_report): both give the same results for the case's resources."""
    nested = [case for case in CASES
              if (None, SH.detail, None) in case_validation(case)[1].graph]
    assert nested, "no case has nested results: this test compares nothing"
    store = project_store()
    for case in nested:
        data, report = case_validation(case)
        every_result = set(report.graph.subjects(RDF.type, SH.ValidationResult))
        assert len(report.results) < len(every_result), case
        own = {_term_key(s) for s in data.subjects()}
        expected = Counter((r.focus_node, r.path, r.source_shape, r.severity)
                           for r in report.results if r.focus_node in own)
        served = validate_submission(store, data, with_data=False)
        got = Counter((r.focus_node, r.path, r.source_shape, r.severity)
                      for r in served.results)
        assert got == expected, case
