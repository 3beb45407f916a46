"""Validate submitted data in the context of the graph.

A submission may reference municipalities, bodies and concepts that the graph already
holds. They are added to the data graph for validation, but only results about the
submission's own resources are reported. A reference into the digistrat namespace that
resolves neither in the submission nor in the graph is reported as a violation.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import SH

from kg.namespaces import BASE, DSH
from kg.rdfio import graph_from_quads
from kg.store import Store
from kg.validate import ValidationReport, ValidationResult, validate

DANGLING_SHAPE = DSH["DanglingReference"]
DANGLING_MESSAGES = {
    "en": "This points to {iri}, which is neither in the submission nor in the graph. "
          "Check the spelling of the IRI, or describe the resource in the submission.",
    "de": "Dies verweist auf {iri}, das weder in der Einreichung noch im Graphen vorkommt. "
          "Prüfen Sie die Schreibweise der IRI oder beschreiben Sie die Ressource in der "
          "Einreichung.",
}


def validate_submission(store: Store, submission: Graph, *, lang: str = "en",
                        with_data: bool = True) -> ValidationReport:
    """Validate ``submission`` against the store's shapes, with the graph as context."""
    context = store.layer_graph("ontology")
    dangling: list[tuple[URIRef, URIRef, URIRef]] = []
    if with_data:
        dangling = _add_referenced(store, submission, context)
    report = validate(submission, store.layer_graph("shapes"), context=context, lang=lang)
    own = {s for s in submission.subjects() if not isinstance(s, Literal)}
    kept = [r for r in report.results if _node(r.focus_node) in own]
    _drop_foreign_results(report.graph, own)
    for subject, predicate, target in dangling:
        message = DANGLING_MESSAGES.get(lang, DANGLING_MESSAGES["en"]).format(iri=target)
        kept.append(ValidationResult(str(subject), str(predicate), str(target), "Violation",
                                     message, str(DANGLING_SHAPE), "DanglingReference"))
        _add_result(report.graph, subject, predicate, target)
    if dangling:
        conforms = next(report.graph.subjects(RDF.type, SH.ValidationReport))
        report.graph.set((conforms, SH.conforms, Literal(False)))
    return ValidationReport(kept, report.graph)


def _add_referenced(store: Store, submission: Graph, context: Graph) -> list[
        tuple[URIRef, URIRef, URIRef]]:
    """Add the graph's description of every digistrat IRI the submission points to."""
    subjects = set(submission.subjects())
    known_in_context = set(context.subjects())
    dangling = []
    for subject, predicate, target in submission:
        if not isinstance(target, URIRef) or not str(target).startswith(BASE):
            continue
        if target in subjects or target in known_in_context or predicate == RDF.type:
            continue
        quads = list(store.ox.quads_for_pattern(ox.NamedNode(str(target)), None, None, None))
        if not quads:
            dangling.append((subject, predicate, target))  # type: ignore[arg-type]
            continue
        graph_from_quads(quads, context)
        known_in_context.add(target)
        # one more hop for the IRIs the referenced resource points to (a body's municipality)
        for quad in quads:
            if isinstance(quad.object, ox.NamedNode) and quad.object.value.startswith(BASE):
                graph_from_quads(
                    store.ox.quads_for_pattern(quad.object, None, None, None), context)
    return dangling


def _node(text: str) -> URIRef | BNode:
    return BNode(text[2:]) if text.startswith("_:") else URIRef(text)


def _drop_foreign_results(graph: Graph, own: set) -> None:
    report = next(graph.subjects(RDF.type, SH.ValidationReport))
    for result in list(graph.objects(report, SH.result)):
        if graph.value(result, SH.focusNode) not in own:
            graph.remove((report, SH.result, result))
            for triple in list(graph.triples((result, None, None))):
                graph.remove(triple)
    remaining = any(graph.value(r, SH.resultSeverity) == SH.Violation
                    for r in graph.objects(report, SH.result))
    graph.set((report, SH.conforms, Literal(not remaining)))


def _add_result(graph: Graph, focus: URIRef, path: URIRef, value: URIRef) -> None:
    report = next(graph.subjects(RDF.type, SH.ValidationReport))
    result = BNode()
    graph.add((report, SH.result, result))
    graph.add((result, RDF.type, SH.ValidationResult))
    graph.add((result, SH.focusNode, focus))
    graph.add((result, SH.resultPath, path))
    graph.add((result, SH.value, value))
    graph.add((result, SH.resultSeverity, SH.Violation))
    graph.add((result, SH.sourceShape, DANGLING_SHAPE))
    for lang, text in DANGLING_MESSAGES.items():
        graph.add((result, SH.resultMessage, Literal(text.format(iri=value), lang=lang)))
