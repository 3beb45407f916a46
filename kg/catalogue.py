"""Descriptions of the dataset itself: VoID, a DCAT-AP catalogue record, the sitemap's paths.

The records are generated from the store (counts, graphs, classes) and from the list of
download files; they are not part of the store. Their IRIs are hash IRIs under the
persistent base: ``{base}-/catalog#catalog``, ``#dataset``, ``#dist-{file}``, ``#sparql``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyoxigraph as ox

from kg.store import Store
from kg.views.common import is_named, select
from kg.views.schema import subjects_in_namespace

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD = "http://www.w3.org/2001/XMLSchema#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
EU = "http://publications.europa.eu/resource/authority/"
IANA = "http://www.iana.org/assignments/media-types/"
LICENCE = "https://creativecommons.org/licenses/by/4.0/"

TITLE = {"de": "digistrat – Wissensgraph kommunaler Digitalstrategien",
         "en": "digistrat – knowledge graph of municipal digital strategies"}
DESCRIPTION = {
    "de": "Digitalstrategien deutschsprachiger Städte und Gemeinden als Linked Data: die "
          "Strategien, ihre Gliederung (Schwerpunkte, Handlungsfelder, Stossrichtungen), "
          "Themen, Beschlüsse, Organe und Stellen, jede Angabe mit ihrer Quelle; dazu die "
          "Ontologie, die SKOS-Vokabulare und die SHACL-Shapes.",
    "en": "Digital strategies of German-speaking cities and municipalities as linked data: "
          "the strategies, their structure (focus areas, action fields, strategic thrusts), "
          "themes, decisions, bodies and posts, each fact with its source; with the ontology, "
          "the SKOS vocabularies and the SHACL shapes."}
KEYWORDS = {"de": ("Digitalstrategie", "Gemeinde", "Smart City", "E-Government"),
            "en": ("digital strategy", "municipality", "smart city", "e-government")}
#: EU file-type authority table entries for the dump formats.
FILE_TYPES = {"trig": "RDF_TRIG", "nquads": "RDF_N_QUADS", "turtle": "RDF_TURTLE",
              "jsonld": "JSON_LD"}


class _Triples:
    def __init__(self) -> None:
        self.items: list[ox.Triple] = []

    def add(self, s: str, p: str, o: ox.NamedNode | ox.Literal | str) -> None:
        obj = ox.NamedNode(o) if isinstance(o, str) else o
        self.items.append(ox.Triple(ox.NamedNode(s), ox.NamedNode(p), obj))

    def a(self, s: str, cls: str) -> None:
        self.items.append(ox.Triple(ox.NamedNode(s), RDF_TYPE, ox.NamedNode(cls)))

    def texts(self, s: str, p: str, by_lang: dict[str, str]) -> None:
        for lang, text in by_lang.items():
            self.add(s, p, ox.Literal(text, language=lang))


def _integer(n: int) -> ox.Literal:
    return ox.Literal(str(n), datatype=ox.NamedNode(XSD + "integer"))


def _count(store: Store, text: str) -> int:
    rows = select(store, text)
    return int(rows[0]["n"].value) if rows else 0


def dataset_iri(base: str) -> str:
    return base + "-/catalog#dataset"


def void_description(store: Store, base: str, dumps: Sequence[str]) -> list[ox.Triple]:
    """A VoID description of the dataset, its named graphs and its classes; ``dumps`` are the
    dumps' file names (:func:`kg.export.dump_names`: none need be made for it)."""
    out = _Triples()
    ds = dataset_iri(base)
    out.a(ds, VOID + "Dataset")
    out.texts(ds, DCT + "title", TITLE)
    out.texts(ds, DCT + "description", DESCRIPTION)
    out.add(ds, DCT + "license", LICENCE)
    out.add(ds, FOAF + "homepage", base)
    out.add(ds, VOID + "sparqlEndpoint", base + "sparql")
    out.add(ds, VOID + "uriSpace", ox.Literal(base + "id/"))
    out.add(ds, VOID + "rootResource", base + "ontology")
    for name in dumps:
        out.add(ds, VOID + "dataDump", base + "-/downloads/" + name)
    out.add(ds, VOID + "triples", _integer(_count(
        store, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }")))
    out.add(ds, VOID + "distinctSubjects", _integer(_count(
        store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }")))
    out.add(ds, VOID + "properties", _integer(_count(
        store, "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?s ?p ?o }")))
    out.add(ds, VOID + "entities", _integer(len(subjects_in_namespace(store, base + "id/"))))
    vocabularies = select(store, """SELECT DISTINCT ?ns WHERE { ?s ?p ?o
        BIND(REPLACE(STR(?p), "[^/#]*$", "") AS ?ns) } ORDER BY ?ns""")
    for row in vocabularies:
        if row["ns"].value.startswith("http"):
            out.add(ds, VOID + "vocabulary", row["ns"].value)
    classes = select(store, """SELECT ?c (COUNT(DISTINCT ?s) AS ?n)
            WHERE { ?s a ?c FILTER""" + is_named("?c") + """ } GROUP BY ?c ORDER BY ?c""")
    classes = [row for row in classes if isinstance(row["c"], ox.NamedNode)]  # no triple term
    for number, row in enumerate(classes):
        part = f"{ds}-class-{number}"
        out.add(ds, VOID + "classPartition", part)
        out.add(part, VOID + "class", row["c"].value)
        out.add(part, VOID + "entities", _integer(int(row["n"].value)))
    for graph in sorted(store.graphs, key=lambda g: g.iri):
        part = base + "-/catalog#graph-" + graph.file.rsplit(".", 1)[0]
        out.add(ds, VOID + "subset", part)
        out.a(part, VOID + "Dataset")
        out.add(part, DCT + "title", ox.Literal(graph.file))
        out.add(part, RDFS + "seeAlso", graph.iri)
        out.add(part, VOID + "triples", _integer(graph.triples))
    return out.items


def dataset_version(files: Sequence[dict[str, Any]]) -> str:
    """The dataset's version: the first 12 hex digits of the SHA-256 of its N-Quads dump, so
    the same data always has the same version and any change of a fact gives a new one."""
    return next(f["sha256"][:12] for f in files
                if f["format"] == "nquads" and not f["name"].endswith(".gz"))


def dcat_record(store: Store, base: str, files: Sequence[dict[str, Any]]) -> list[ox.Triple]:
    """A DCAT-AP record: the catalogue, the dataset, its distributions and the SPARQL service."""
    out = _Triples()
    catalog, ds = base + "-/catalog#catalog", dataset_iri(base)
    publisher, service = base + "-/catalog#publisher", base + "-/catalog#sparql"
    licence = EU + "licence/CC_BY_4_0"
    languages = [EU + "language/DEU", EU + "language/ENG"]

    out.a(catalog, DCAT + "Catalog")
    out.texts(catalog, DCT + "title", TITLE)
    out.texts(catalog, DCT + "description", DESCRIPTION)
    out.add(catalog, DCT + "publisher", publisher)
    out.add(catalog, DCAT + "dataset", ds)
    out.add(catalog, DCAT + "service", service)
    out.add(catalog, FOAF + "homepage", base)
    out.add(catalog, DCT + "license", licence)
    out.add(catalog, DCAT + "themeTaxonomy", EU + "data-theme")
    for lang in languages:
        out.add(catalog, DCT + "language", lang)

    out.a(publisher, FOAF + "Agent")
    out.add(publisher, FOAF + "name", ox.Literal("digistrat project", language="en"))
    out.add(publisher, FOAF + "name", ox.Literal("Projekt digistrat", language="de"))

    out.a(ds, DCAT + "Dataset")
    out.texts(ds, DCT + "title", TITLE)
    out.texts(ds, DCT + "description", DESCRIPTION)
    out.add(ds, DCT + "publisher", publisher)
    out.add(ds, DCAT + "theme", EU + "data-theme/GOVE")
    out.add(ds, DCT + "license", licence)
    out.add(ds, DCT + "accessRights", EU + "access-right/PUBLIC")
    out.add(ds, DCAT + "landingPage", base)
    out.add(ds, DCT + "conformsTo", base + "ontology")
    out.add(ds, DCT + "identifier", ox.Literal(base))
    out.add(ds, DCAT + "version", ox.Literal(dataset_version(files)))
    for lang in languages:
        out.add(ds, DCT + "language", lang)
    for lang, words in KEYWORDS.items():
        for word in words:
            out.add(ds, DCAT + "keyword", ox.Literal(word, language=lang))

    for file in files:
        dist = base + "-/catalog#dist-" + file["name"]
        compressed = file["name"].endswith(".gz")
        out.add(ds, DCAT + "distribution", dist)
        out.a(dist, DCAT + "Distribution")
        out.add(dist, DCT + "title", ox.Literal(file["name"]))
        out.add(dist, DCAT + "accessURL", base + "-/downloads")
        out.add(dist, DCAT + "downloadURL", base + "-/downloads/" + file["name"])
        inner = {"trig": "application/trig", "nquads": "application/n-quads",
                 "turtle": "text/turtle", "jsonld": "application/ld+json"}[file["format"]]
        out.add(dist, DCAT + "mediaType", IANA + inner)
        out.add(dist, DCT + "format", EU + "file-type/" + FILE_TYPES[file["format"]])
        if compressed:
            out.add(dist, DCAT + "compressFormat", IANA + "application/gzip")
        out.add(dist, DCAT + "byteSize", ox.Literal(
            str(file["size"]), datatype=ox.NamedNode(XSD + "nonNegativeInteger")))
        out.add(dist, DCT + "license", licence)

    sparql_dist = base + "-/catalog#dist-sparql"
    out.add(ds, DCAT + "distribution", sparql_dist)
    out.a(sparql_dist, DCAT + "Distribution")
    out.add(sparql_dist, DCT + "title", ox.Literal("SPARQL endpoint"))
    out.add(sparql_dist, DCAT + "accessURL", base + "sparql")
    out.add(sparql_dist, DCAT + "accessService", service)
    out.add(sparql_dist, DCT + "license", licence)

    out.a(service, DCAT + "DataService")
    out.texts(service, DCT + "title", {"de": "SPARQL-Endpunkt von digistrat",
                                       "en": "digistrat SPARQL endpoint"})
    out.add(service, DCAT + "endpointURL", base + "sparql")
    out.add(service, DCAT + "servesDataset", ds)
    out.add(service, DCT + "conformsTo", "https://www.w3.org/TR/sparql11-protocol/")
    out.add(service, DCT + "license", licence)
    return out.items


def sitemap_paths(store: Store, base: str) -> list[str]:
    """Paths (on the serving host) of the site's pages and of every described resource."""
    pages = ["/", "/-/compare", "/-/timeline", "/-/downloads", "/ontology", "/shapes", "/vocab"]
    for namespace in ("id/", "vocab/"):
        pages += ["/" + s[len(base):] for s in subjects_in_namespace(store, base + namespace)]
    return pages
