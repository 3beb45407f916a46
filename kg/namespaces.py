"""The project's namespaces and prefixes, bound in one place."""

from rdflib import Namespace
from rdflib.namespace import NamespaceManager

BASE = "https://w3id.org/digistrat/"

DS = Namespace(BASE + "ontology#")
DSH = Namespace(BASE + "shapes#")
ID = Namespace(BASE + "id/")
VOCAB = Namespace(BASE + "vocab/")
GRAPH = Namespace(BASE + "graph/")
ONTOLOGY_IRI = BASE + "ontology"
SHAPES_IRI = BASE + "shapes"

ORG = Namespace("http://www.w3.org/ns/org#")
CV = Namespace("http://data.europa.eu/m8g/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
SCHEMA = Namespace("https://schema.org/")
VANN = Namespace("http://purl.org/vocab/vann/")
DASH = Namespace("http://datashapes.org/dash#")

PREFIXES: dict[str, str] = {
    "ds": str(DS),
    "dsh": str(DSH),
    "dsid": str(ID),
    "vocab": str(VOCAB),
    "org": str(ORG),
    "cv": str(CV),
    "eli": str(ELI),
    "schema": str(SCHEMA),
    "vann": str(VANN),
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dct": "http://purl.org/dc/terms/",
    "prov": "http://www.w3.org/ns/prov#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "time": "http://www.w3.org/2006/time#",
    "sh": "http://www.w3.org/ns/shacl#",
    "void": "http://rdfs.org/ns/void#",
}

# For Turtle, TriG and RDF/XML: prefixes whose local names never need a slash. With
# ``dsid:`` and ``vocab:`` every local name would hold one, which Turtle must escape
# (``vocab:theme\/open-data``); full IRIs read better there.
SERIALIZATION_PREFIXES: dict[str, str] = {
    p: iri for p, iri in PREFIXES.items() if p not in ("dsid", "vocab")}


def bind_prefixes(manager: NamespaceManager) -> None:
    """Bind every project prefix on an rdflib namespace manager."""
    for prefix, iri in PREFIXES.items():
        manager.bind(prefix, iri, override=True, replace=True)


def sparql_prologue() -> str:
    """PREFIX declarations for every project prefix, for queries written by hand."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
