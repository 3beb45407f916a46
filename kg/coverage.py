"""The coverage report: what the graph holds by country, and which facts it is missing.

Countries come from the municipality IRIs, whose slugs start with the country code of their
official key (``municipality/de-…``, ``ch-…``, ``at-…``; see docs/model.md). Missing facts
are found by rules over the data (a strategy with no adoption decision, a decision with no
date, …): each names the resource and what is unknown about it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from kg.namespaces import sparql_prologue
from kg.store import Store

COUNTRIES = {"de": "Germany", "ch": "Switzerland", "at": "Austria"}

_BY_COUNTRY = sparql_prologue() + """
SELECT ?country
       (COUNT(DISTINCT ?m) AS ?municipalities) (COUNT(DISTINCT ?s) AS ?strategies)
       (COUNT(DISTINCT ?e) AS ?elements) WHERE {
  ?m a ds:Municipality .
  BIND(SUBSTR(STRAFTER(STR(?m), "/id/municipality/"), 1, 2) AS ?country)
  OPTIONAL { ?s ds:ownedBy ?m . OPTIONAL { ?e ds:isElementOf+ ?s } }
} GROUP BY ?country ORDER BY ?country
"""

# Statements of the data files whose subject names a source (a blank node, such as a time
# horizon, counts as sourced through the resource that holds it), per country of the file's
# municipality: a file is one municipality (docs/model.md).
_STATEMENTS = sparql_prologue() + """
SELECT ?country (COUNT(*) AS ?statements) (SUM(?sourced) AS ?withSource) WHERE {
  GRAPH ?g { ?x ?p ?o }
  FILTER(STRSTARTS(STR(?g), "https://w3id.org/digistrat/graph/data/"))
  { SELECT ?g (SAMPLE(?m) AS ?municipality) WHERE { GRAPH ?g { ?m a ds:Municipality } }
    GROUP BY ?g }
  BIND(SUBSTR(STRAFTER(STR(?municipality), "/id/municipality/"), 1, 2) AS ?country)
  BIND(IF(EXISTS { GRAPH ?g { ?x dct:source ?src } }
          || EXISTS { GRAPH ?g { ?x a ds:SourceDocument } }
          || (isBlank(?x) && EXISTS { GRAPH ?g { ?owner ?q ?x . ?owner dct:source ?s2 } }),
          1, 0) AS ?sourced)
} GROUP BY ?country ORDER BY ?country
"""


@dataclass(frozen=True)
class MissingRule:
    name: str
    what: str  # in English
    what_de: str
    query: str


RULES: tuple[MissingRule, ...] = (
    MissingRule("no-adoption", "no adoption decision is known",
                "kein Beschluss zur Verabschiedung bekannt", """
        SELECT ?x ?label WHERE { ?x a ds:Strategy ; dct:title ?label .
          FILTER NOT EXISTS { ?x ds:adoptedIn ?d } }"""),
    MissingRule("no-decision-date", "the day of the adoption decision is unknown",
                "der Tag des Beschlusses ist unbekannt", """
        SELECT ?x ?label WHERE { ?x a ds:Strategy ; dct:title ?label ; ds:adoptedIn ?d .
          FILTER NOT EXISTS { ?d eli:date_document ?date } }"""),
    MissingRule("no-adopting-body", "the body that adopted it is unknown",
                "das beschliessende Organ ist unbekannt", """
        SELECT ?x ?label WHERE { ?x a ds:Strategy ; dct:title ?label ; ds:adoptedIn ?d .
          FILTER NOT EXISTS { ?d eli:passed_by ?b } }"""),
    MissingRule("no-document", "no published document (URL) is known",
                "kein veröffentlichtes Dokument (URL) bekannt", """
        SELECT ?x ?label WHERE { ?x a ds:Strategy ; dct:title ?label .
          FILTER NOT EXISTS { ?x ds:hasDocument ?doc } }"""),
    MissingRule("no-elements", "its structure (elements) is not recorded",
                "die Gliederung (Elemente) ist nicht erfasst", """
        SELECT ?x ?label WHERE { ?x a ds:Strategy ; dct:title ?label .
          FILTER NOT EXISTS { ?e ds:isElementOf ?x } }"""),
    MissingRule("no-wikidata", "no Wikidata link is known",
                "kein Wikidata-Verweis bekannt", """
        SELECT ?x ?label WHERE { ?x a ds:Municipality ; skos:prefLabel ?label .
          FILTER NOT EXISTS { ?x schema:sameAs ?w .
                              FILTER(STRSTARTS(STR(?w), "http://www.wikidata.org/entity/")) } }"""),
    MissingRule("no-official-key", "no official municipality key is known",
                "kein amtlicher Gemeindeschlüssel bekannt", """
        SELECT ?x ?label WHERE { ?x a ds:Municipality ; skos:prefLabel ?label .
          FILTER NOT EXISTS { ?x ds:ags|ds:bfsNumber|ds:gkz ?key } }"""),
    MissingRule("no-holder", "who holds the post is unknown",
                "wer das Amt innehat, ist unbekannt", """
        SELECT ?x ?label WHERE { ?x a org:Post ; skos:prefLabel ?label .
          FILTER NOT EXISTS { ?x org:heldBy ?p } }"""),
)


@dataclass(frozen=True)
class CountryCoverage:
    country: str
    municipalities: int
    strategies: int
    elements: int
    statements: int
    sourced_statements: int


@dataclass(frozen=True)
class MissingFact:
    rule: str
    what: str
    what_de: str
    resource: str
    label: str


@dataclass(frozen=True)
class Coverage:
    countries: list[CountryCoverage]
    missing: list[MissingFact]


def _select(store: Store, text: str) -> list[ox.QuerySolution]:
    solutions = store.ox.query(text, use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions)
    return list(solutions)


def _int(row: ox.QuerySolution, name: str) -> int:
    term = row[name]
    return int(term.value) if term is not None else 0


def coverage(store: Store) -> Coverage:
    """Counts by country and every missing fact the rules find."""
    statements = {str(r["country"].value): r for r in _select(store, _STATEMENTS)
                  if r["country"] is not None}
    countries = []
    for row in _select(store, _BY_COUNTRY):
        code = str(row["country"].value)
        counted = statements.get(code)
        countries.append(CountryCoverage(
            COUNTRIES.get(code, code), _int(row, "municipalities"), _int(row, "strategies"),
            _int(row, "elements"), _int(counted, "statements") if counted else 0,
            _int(counted, "withSource") if counted else 0))
    missing = []
    for rule in RULES:
        for row in _select(store, sparql_prologue() + rule.query + " ORDER BY ?label"):
            missing.append(MissingFact(rule.name, rule.what, rule.what_de, str(row["x"].value),
                                       str(row["label"].value)))
    return Coverage(countries, missing)
