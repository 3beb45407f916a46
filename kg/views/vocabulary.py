"""The views of SKOS concept schemes and their concepts."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.store import Store
from kg.views.common import SKOS, ask, compact, iri, labels, select
from kg.views.resource import describe_many


def scheme_document(store: Store, scheme: str) -> list[ox.Triple]:
    """A concept scheme with every concept in it: its description and theirs."""
    rows = select(store, f"SELECT DISTINCT ?c WHERE {{ ?c skos:inScheme|skos:topConceptOf "
                         f"{iri(scheme)} }}")
    return describe_many(store, [scheme, *(r["c"].value for r in rows)])


def is_scheme(store: Store, subject: str) -> bool:
    return ask(store, f"ASK {{ {iri(subject)} a skos:ConceptScheme }}")


# --- concept schemes -------------------------------------------------------------------------


@dataclass
class Concept:
    iri: str
    labels: dict[str, str]
    definitions: dict[str, str]
    broader: list[str] = field(default_factory=list)


def schemes(store: Store, lang: str) -> list[tuple[str, str, int]]:
    """Every concept scheme: IRI, label and the number of its concepts."""
    rows = select(store, """SELECT ?s (COUNT(DISTINCT ?c) AS ?n) WHERE {
        ?s a skos:ConceptScheme OPTIONAL { ?c skos:inScheme|skos:topConceptOf ?s } }
        GROUP BY ?s""")
    named = labels(store, [r["s"].value for r in rows], lang)
    return sorted(((r["s"].value, named.get(r["s"].value, compact(r["s"].value)),
                    int(r["n"].value)) for r in rows), key=lambda x: x[1].lower())


def concepts(store: Store, scheme: str) -> list[Concept]:
    rows = select(store, f"""SELECT ?c ?p ?o WHERE {{
        ?c skos:inScheme|skos:topConceptOf {iri(scheme)} . ?c ?p ?o
        FILTER(?p IN (skos:prefLabel, skos:definition, skos:broader)) }}""")
    found: dict[str, Concept] = {}
    for row in rows:
        c = row["c"].value
        concept = found.setdefault(c, Concept(c, {}, {}))
        obj = row["o"]
        if row["p"].value == SKOS + "broader":
            concept.broader.append(obj.value)
        elif isinstance(obj, ox.Literal):
            target = concept.labels if row["p"].value == SKOS + "prefLabel" \
                else concept.definitions
            target.setdefault(obj.language or "", obj.value)
    return sorted(found.values(), key=lambda c: c.iri)


