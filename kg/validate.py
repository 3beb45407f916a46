"""Validate RDF against the project's SHACL shapes with pyshacl, into a typed report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal as TypingLiteral

from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kg.namespaces import bind_prefixes

Severity = TypingLiteral["Violation", "Warning", "Info"]
SEVERITIES: tuple[Severity, ...] = ("Violation", "Warning", "Info")
LANGUAGES = ("en", "de")


@dataclass(frozen=True)
class ValidationResult:
    """One result of a validation, in terms a reader can act on."""

    focus_node: str
    path: str | None
    value: str | None
    severity: Severity
    message: str
    source_shape: str
    constraint: str

    def as_dict(self) -> dict[str, str | None]:
        return {"focus_node": self.focus_node, "path": self.path, "value": self.value,
                "severity": self.severity, "message": self.message,
                "source_shape": self.source_shape, "constraint": self.constraint}


@dataclass
class ValidationReport:
    """The outcome of validating one data graph. ``conforms`` ignores warnings and infos."""

    results: list[ValidationResult]
    graph: Graph = field(repr=False)

    @property
    def conforms(self) -> bool:
        return not any(r.severity == "Violation" for r in self.results)

    def counts(self) -> dict[str, int]:
        return {s: sum(r.severity == s for r in self.results) for s in SEVERITIES}

    def as_dict(self) -> dict[str, object]:
        return {"conforms": self.conforms, "counts": self.counts(),
                "results": [r.as_dict() for r in self.results]}


def validate(data: Graph, shapes: Graph, *, context: Graph | None = None,
             lang: str = "en") -> ValidationReport:
    """Validate ``data`` (with ``context``, e.g. the ontology and vocabularies) on ``shapes``.

    Inference stays off: RDFS inference hides wrong-class violations. Class targets reach
    subclasses through the rdfs:subClassOf triples of the ontology in ``context``.
    """
    # pyshacl's own ont_graph mixing copies only RDFS/OWL axioms, not SKOS concepts, so the
    # context is merged here; the merged graph is ours, so pyshacl may work in place.
    combined = Graph()
    for part in (data, context):
        if part is not None:
            for triple in part:
                combined.add(triple)
    _, report_graph, _ = pyshacl_validate(
        combined, shacl_graph=shapes, inference="none", advanced=True, inplace=True,
        allow_warnings=True, allow_infos=True, abort_on_first=False, meta_shacl=False,
        do_owl_imports=False,
    )
    assert isinstance(report_graph, Graph)
    bind_prefixes(report_graph.namespace_manager)
    results = [_result(report_graph, node, lang)
               for node in report_graph.subjects(SH.resultSeverity, None)]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    results.sort(key=lambda r: (order[r.severity], r.focus_node, r.path or "", r.message))
    return ValidationReport(results, report_graph)


def _result(report: Graph, node: Node, lang: str) -> ValidationResult:
    def one(predicate: URIRef) -> Node | None:
        return report.value(node, predicate)

    severity_iri = one(SH.resultSeverity)
    severity: Severity = "Violation"
    for name in SEVERITIES:
        if severity_iri == SH[name]:
            severity = name
    path = one(SH.resultPath)
    value = one(SH.value)
    constraint = one(SH.sourceConstraintComponent)
    return ValidationResult(
        focus_node=_show(report, one(SH.focusNode)) or "",
        path=_show(report, path),
        value=_show(report, value),
        severity=severity,
        message=pick_message(list(report.objects(node, SH.resultMessage)), lang),
        source_shape=_show(report, one(SH.sourceShape)) or "",
        constraint=str(constraint).rsplit("#", 1)[-1] if constraint else "",
    )


def pick_message(messages: list[Node], lang: str) -> str:
    """The message in ``lang``, else in English, else German, else any."""
    literals = [m for m in messages if isinstance(m, Literal)]
    for wanted in (lang, "en", "de", None):
        for message in literals:
            if message.language == wanted or wanted is None:
                return str(message)
    return ""


def _show(report: Graph, node: Node | None) -> str | None:
    """IRIs in full, literals in Turtle form, property paths in SPARQL path syntax."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return str(node)
    if isinstance(node, Literal):
        return node.n3(report.namespace_manager)
    if isinstance(node, BNode):
        return _path(report, node)
    return str(node)


def _path(report: Graph, node: BNode) -> str:
    """A blank-node SHACL path (sequence or inverse) as SPARQL property-path text."""
    nm = report.namespace_manager
    inverse = report.value(node, SH.inversePath)
    if isinstance(inverse, URIRef):
        return "^" + inverse.n3(nm)
    first = report.value(node, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#first"))
    if first is not None:
        items = list(report.items(node))
        return "/".join(i.n3(nm) if isinstance(i, URIRef) else _path(report, i)
                        for i in items if isinstance(i, URIRef | BNode))
    return "_:" + str(node)
