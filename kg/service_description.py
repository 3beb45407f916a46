"""The SPARQL 1.1 Service Description of the endpoint, with VoID counts per named graph."""

from __future__ import annotations

from typing import Protocol

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from kg.formats import ANSWER_FORMATS, syntax_named
from kg.store import Store

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
ENT = Namespace("http://www.w3.org/ns/entailment/")



class Limits(Protocol):
    query_timeout_ms: int
    max_result_rows: int
    max_request_bytes: int
    service_allowlist: tuple[str, ...]


def service_description_graph(endpoint: str, store: Store | None, limits: Limits) -> Graph:
    """An ``sd:Service`` for ``endpoint``: languages, formats, features, and the dataset —
    the default graph (the union of all named graphs) and every named graph with its
    ``void:triples``."""
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("void", VOID)
    graph.bind("dct", DCTERMS)
    service = BNode("service")
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    for fmt in ANSWER_FORMATS:
        graph.add((service, SD.resultFormat, URIRef(fmt.iri)))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    graph.add((service, SD.feature, SD.EmptyGraphs))
    if limits.service_allowlist:
        graph.add((service, SD.feature, SD.BasicFederatedQuery))
    graph.add((service, SD.defaultEntailmentRegime, ENT.Simple))
    graph.add((service, RDFS.comment, Literal(
        "digistrat: a knowledge graph of municipal digital strategies. Read-only endpoint; "
        f"query time limit {limits.query_timeout_ms} ms, at most {limits.max_result_rows} "
        f"rows per answer, request bodies up to {limits.max_request_bytes} bytes. "
        "The default graph is the union of all named graphs.", lang="en")))
    dataset = BNode("dataset")
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode("default-graph")
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    infos = store.graphs if store is not None else []
    if store is not None:
        total = sum(g.triples for g in infos)
        graph.add((default, VOID.triples, Literal(total, datatype=XSD.integer)))
    for number, info in enumerate(infos):  # fixed blank node labels: the same bytes each time
        named = BNode(f"named-graph-{number}")
        described = BNode(f"graph-{number}")
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(info.iri)))
        graph.add((named, SD.graph, described))
        graph.add((described, RDF.type, SD.Graph))
        graph.add((described, VOID.triples, Literal(info.triples, datatype=XSD.integer)))
        graph.add((described, DCTERMS.source, Literal(info.file)))
    return graph


def service_description(endpoint: str, store: Store | None, limits: Limits,
                        syntax: str) -> bytes:
    """The service description serialised in ``syntax`` (a name from :mod:`kg.formats`)."""
    graph = service_description_graph(endpoint, store, limits)
    # A Turtle document is valid TriG and N-Triples is valid N-Quads: the description
    # lives in the default graph.
    fmt = {"trig": "turtle", "nquads": "nt"}.get(syntax_named(syntax).name,
                                                 syntax_named(syntax).rdflib_format)
    return graph.serialize(format=fmt, encoding="utf-8")
