"""The documentation views of the ontology and the shapes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from kg.namespaces import DS, SCHEMA
from kg.store import Store
from kg.views.common import OWL, RDFS, SH, SKOS, ask, compact, iri, is_named, pick, select

# --- ontology documentation ------------------------------------------------------------------


@dataclass
class Constraint:
    path: str
    name: str
    facets: list[tuple[str, str]]  # (facet local name, value shown)
    message: str = ""
    shape: str = ""  # the property shape's IRI (its anchor on the shapes page)


@dataclass
class TermDoc:
    iri: str
    kind: str  # "class" or "property"
    labels: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)  # (relation, IRI)
    constraints: list[Constraint] = field(default_factory=list)
    prop_type: str = ""

    @property
    def local(self) -> str:
        return self.iri.rsplit("#", 1)[-1]


_TERM_LINKS = {RDFS + "subClassOf": "subClassOf", RDFS + "subPropertyOf": "subPropertyOf",
               RDFS + "domain": "domain", RDFS + "range": "range",
               str(SCHEMA) + "domainIncludes": "domainIncludes",
               str(SCHEMA) + "rangeIncludes": "rangeIncludes", OWL + "inverseOf": "inverseOf",
               OWL + "disjointWith": "disjointWith", SKOS + "closeMatch": "closeMatch",
               SKOS + "exactMatch": "exactMatch"}
_FACETS = ("minCount", "maxCount", "datatype", "class", "nodeKind", "pattern", "in",
           "languageIn", "uniqueLang", "hasValue", "node", "qualifiedMinCount",
           "qualifiedMaxCount", "minInclusive", "maxInclusive", "minLength", "maxLength",
           "severity", "deactivated")


def ontology_terms(store: Store, lang: str) -> list[TermDoc]:
    """The classes and properties of the ds: namespace, with the shapes that target classes."""
    ns = str(DS)
    rows = select(store, f"""SELECT ?t ?kind ?p ?o WHERE {{
        VALUES ?kind {{ owl:Class owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty
                        rdf:Property }}
        ?t a ?kind FILTER(STRSTARTS(STR(?t), "{ns}"))
        ?t ?p ?o }}""")
    terms: dict[str, TermDoc] = {}
    for row in rows:
        t, kind, prop, obj = row["t"].value, row["kind"].value, row["p"].value, row["o"]
        doc = terms.setdefault(t, TermDoc(t, "class" if kind == OWL + "Class" else "property"))
        if doc.kind == "property":
            doc.prop_type = kind.rsplit("#", 1)[-1]
        if prop == RDFS + "label" and isinstance(obj, ox.Literal):
            doc.labels.setdefault(obj.language or "", obj.value)
        elif prop == SKOS + "definition" and isinstance(obj, ox.Literal):
            doc.definitions.setdefault(obj.language or "", obj.value)
        elif prop in _TERM_LINKS and isinstance(obj, ox.NamedNode):
            link = (_TERM_LINKS[prop], obj.value)
            if link not in doc.links:
                doc.links.append(link)
    for doc in terms.values():
        doc.links.sort()
    for cls, constraint in class_constraints(store, lang):
        if cls in terms:
            terms[cls].constraints.append(constraint)
    return sorted(terms.values(), key=lambda d: (d.kind, d.local.lower()))


def class_constraints(store: Store, lang: str) -> list[tuple[str, Constraint]]:
    """Each property shape of each node shape, by the class the node shape targets."""
    rows = select(store, """SELECT ?cls ?ps ?path ?inv ?k ?v WHERE {
        { ?shape sh:targetClass ?cls }
        UNION { ?shape a sh:NodeShape , rdfs:Class . BIND(?shape AS ?cls) }
        ?shape sh:property ?ps . ?ps sh:path ?path .
        OPTIONAL { ?path sh:inversePath ?inv }
        OPTIONAL { ?ps ?k ?v FILTER(STRSTARTS(STR(?k), STR(sh:))) } }""")
    list_rows = select(store, """SELECT ?ps ?k ?item WHERE {
        ?ps sh:path ?path . VALUES ?k { sh:in sh:languageIn } ?ps ?k ?list .
        ?list rdf:rest*/rdf:first ?item }""")
    lists: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in list_rows:
        item = row["item"]
        lists[(row["ps"].value, row["k"].value)].append(
            compact(item.value) if isinstance(item, ox.NamedNode) else item.value)
    shapes: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["cls"].value, row["ps"].value)
        entry = shapes.setdefault(key, {"path": "", "facets": {}, "name": {}, "message": {}})
        path = row["path"]
        if isinstance(path, ox.NamedNode):
            entry["path"] = compact(path.value)
        elif "inv" in row:
            entry["path"] = "^" + compact(row["inv"].value)
        else:
            entry["path"] = entry["path"] or "(path)"
        if "k" not in row:
            continue
        facet, value = row["k"].value[len(SH):], row["v"]
        if facet in ("name", "message") and isinstance(value, ox.Literal):
            entry[facet].setdefault(value.language or "", value.value)
        elif facet in ("in", "languageIn"):
            entry["facets"][facet] = ", ".join(sorted(lists.get((key[1], row["k"].value), [])))
        elif facet in _FACETS:
            shown = compact(value.value) if isinstance(value, ox.NamedNode) else (
                "…" if isinstance(value, ox.BlankNode) else value.value)
            entry["facets"][facet] = shown
    result = []
    for (cls, shape), entry in shapes.items():
        facets = [(f, entry["facets"][f]) for f in _FACETS if f in entry["facets"]]
        result.append((cls, Constraint(entry["path"], pick(entry["name"], lang) or "",
                                       facets, pick(entry["message"], lang) or "", shape)))
    result.sort(key=lambda x: (x[0], x[1].path, x[1].name))
    return result


@dataclass
class Rule:
    """A node shape that checks a resource as a whole (SHACL-SPARQL, or no property path)."""

    shape: str
    target: str
    name: str
    description: str
    severity: str


def node_rules(store: Store, lang: str) -> list[Rule]:
    """The node shapes with a SPARQL constraint, with the class they check."""
    rows = select(store, """SELECT ?shape ?cls ?k ?v ?sev WHERE {
        ?shape sh:sparql ?c . OPTIONAL { ?shape sh:targetClass ?cls }
        OPTIONAL { ?shape sh:severity ?sev }
        OPTIONAL { VALUES ?k { sh:name sh:description sh:message } ?shape ?k ?v } }""")
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(row["shape"].value, {"target": "", "severity": "Violation",
                                                      "name": {}, "description": {},
                                                      "message": {}})
        if "cls" in row and (not entry["target"] or row["cls"].value < entry["target"]):
            entry["target"] = row["cls"].value  # the first target class, whatever the order
        if "sev" in row:
            entry["severity"] = row["sev"].value.rsplit("#", 1)[-1]
        if "k" in row and isinstance(row["v"], ox.Literal):
            entry[row["k"].value[len(SH):]].setdefault(row["v"].language or "", row["v"].value)
    return sorted((Rule(iri, e["target"], pick(e["name"], lang) or compact(iri),
                        pick(e["description"], lang) or pick(e["message"], lang) or "",
                        e["severity"]) for iri, e in found.items()),
                  key=lambda r: r.shape)


def subjects_in_namespace(store: Store, namespace: str) -> list[str]:
    """Every IRI that is the subject of a triple and starts with ``namespace``."""
    rows = select(store, f"""SELECT DISTINCT ?s WHERE {{ ?s ?p ?o
        FILTER({is_named("?s")} && STRSTARTS(STR(?s), "{namespace}")) }} ORDER BY ?s""")
    return [r["s"].value for r in rows]


def shapes_graphs(store: Store) -> list[str]:
    return store.graph_iris("shapes")



def is_current_version(store: Store, ontology: str, version_iri: str) -> bool:
    """Whether ``version_iri`` is the version IRI of the ontology now served."""
    return ask(store, f"ASK {{ {iri(ontology)} owl:versionIRI {iri(version_iri)} }}")
