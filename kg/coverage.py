"""The coverage report: what the graph holds by country, and which facts it is missing.

Countries come from the municipality IRIs, whose slugs start with the country code of their
official key (``municipality/de-…``, ``ch-…``, ``at-…``; see docs/model.md). Missing facts
are found by rules over the data (a strategy with no adoption decision, a decision with no
date, …): each names the resource and what is unknown about it.

Beyond the counts by country, the report gives the strategies by lifecycle status (and those
with no stated status), and, per country and administrative level, how far the search for
each entity got: a strategy known, one adopted, one dated, its top-level elements, anything
below them; and the entities whose search found nothing (``ds:searchRecord``), with the date.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
  OPTIONAL { ?s ds:ownedBy ?m }
  OPTIONAL { ?s ds:ownedBy ?m . ?e ds:isElementOf+ ?s }  # not nested: Virtuoso 7.2 loses rows
} GROUP BY ?country ORDER BY ?country
"""

# Statements of the data files whose subject names a source (a blank node, such as a time
# horizon, counts as sourced through the resource that holds it), per country of the file's
# municipality: a file is one municipality (docs/model.md).
_STATEMENTS = sparql_prologue() + """
SELECT ?country (COUNT(*) AS ?statements) (COUNT(?sourced) AS ?withSource) WHERE {
  { SELECT ?g (SAMPLE(?m) AS ?municipality) WHERE { GRAPH ?g { ?m a ds:Municipality } }
    GROUP BY ?g }
  FILTER(STRSTARTS(STR(?g), "https://w3id.org/digistrat/graph/data/"))
  GRAPH ?g { ?x ?p ?o }
  OPTIONAL {
    { SELECT DISTINCT ?g ?x (1 AS ?sourced) WHERE {
        GRAPH ?g { { ?x dct:source ?src } UNION { ?x a ds:SourceDocument }
                   UNION { ?owner dct:source ?s2 ; ?q ?x . FILTER(isBlank(?x)) } } } }
  }
  BIND(SUBSTR(STRAFTER(STR(?municipality), "/id/municipality/"), 1, 2) AS ?country)
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


LIFECYCLE_SCHEME = "https://w3id.org/digistrat/vocab/lifecycle-status"
#: The lifecycle statuses in the order of a strategy's life (docs/model.md); a status the
#: vocabulary adds later comes after these, by notation.
LIFECYCLE_ORDER = ("requested", "in-preparation", "draft", "published", "taken-note-of",
                   "adopted", "in-force", "superseded", "expired", "closed")
#: Administrative levels in the order the report lists them within a country.
LEVEL_ORDER = ("municipality", "city-state", "state", "canton")

_STATUS_CONCEPTS = sparql_prologue() + f"""
SELECT ?status (SAMPLE(?n) AS ?notation) (SAMPLE(?en) AS ?label) (SAMPLE(?de) AS ?labelDe)
WHERE {{
  {{ ?status skos:inScheme <{LIFECYCLE_SCHEME}> }}
  UNION {{ ?x a ds:Strategy ; ds:lifecycleStatus ?status }}
  OPTIONAL {{ ?status skos:notation ?n }}
  OPTIONAL {{ ?status skos:prefLabel ?en FILTER(LANGMATCHES(LANG(?en), "en")) }}
  OPTIONAL {{ ?status skos:prefLabel ?de FILTER(LANGMATCHES(LANG(?de), "de")) }}
}} GROUP BY ?status
"""

_STATUS_COUNTS = sparql_prologue() + """
SELECT ?status (COUNT(DISTINCT ?s) AS ?strategies) WHERE {
  ?s a ds:Strategy . OPTIONAL { ?s ds:lifecycleStatus ?status }
} GROUP BY ?status
"""

# Every entity in scope (a ds:Municipality: city, Land, canton or city-state) with its level.
_ENTITIES = sparql_prologue() + """
SELECT ?m (COALESCE(SAMPLE(?nameDe), SAMPLE(?name)) AS ?label) (SAMPLE(?notation) AS ?level)
       (SAMPLE(?en) AS ?levelLabel) (SAMPLE(?de) AS ?levelLabelDe) WHERE {
  ?m a ds:Municipality .
  OPTIONAL { ?m skos:prefLabel ?name }
  OPTIONAL { ?m skos:prefLabel ?nameDe FILTER(LANGMATCHES(LANG(?nameDe), "de")) }
  OPTIONAL { ?m ds:administrativeLevel ?lv .
             OPTIONAL { ?lv skos:notation ?notation }
             OPTIONAL { ?lv skos:prefLabel ?en FILTER(LANGMATCHES(LANG(?en), "en")) }
             OPTIONAL { ?lv skos:prefLabel ?de FILTER(LANGMATCHES(LANG(?de), "de")) } }
} GROUP BY ?m
"""

# An adoption: the strategy's decision (ds:adoptedIn, or a decision that ds:adopts it) that is
# not an acknowledgement ("taken note of" is not adoption, docs/model.md), or the status
# adopted / in force, which the shapes allow only with such a decision. (MINUS, not FILTER NOT
# EXISTS: the same here, as both sides share ?decision, and evaluated once rather than per
# row: over a remote store 0.2 s instead of 14 s, see docs/performance.md.)
_ADOPTION = """
  { ?s ds:lifecycleStatus ?adoptedStatus .
    FILTER(?adoptedStatus IN (<https://w3id.org/digistrat/vocab/lifecycle-status/adopted>,
                              <https://w3id.org/digistrat/vocab/lifecycle-status/in-force>)) }
  UNION
  { ?s ds:adoptedIn|^ds:adopts ?decision .
    MINUS { ?decision ds:decisionType
            <https://w3id.org/digistrat/vocab/decision-type/acknowledgement> } }
"""

#: Per entity flag: the entities owning at least one strategy of which the pattern holds.
_ENTITY_FLAGS: dict[str, str] = {
    "with_strategy": "",
    "with_adopted_strategy": _ADOPTION,
    # a dated adoption (the adoption decision's eli:date_document) or publication (dct:issued)
    "with_dated_strategy": """
  { ?s dct:issued ?date }
  UNION
  { ?s ds:adoptedIn|^ds:adopts ?decision . ?decision eli:date_document ?date .
    MINUS { ?decision ds:decisionType
            <https://w3id.org/digistrat/vocab/decision-type/acknowledgement> } }
""",
    "with_elements": "?s ds:hasElement|^ds:isElementOf ?top .",
    # anything under a top-level element: a sub-element, a goal, an objective, a measure, or
    # a project that is part of it
    "with_deeper_structure": """
  ?s ds:hasElement|^ds:isElementOf ?top .
  ?top ds:hasElement|^ds:isElementOf|ds:hasGoal|ds:hasObjective|ds:hasMeasure|^dct:isPartOf
       ?below .
""",
}

_SEARCH_RECORDS = sparql_prologue() + """
SELECT ?m ?record ?date ?description WHERE {
  ?m a ds:Municipality ; ds:searchRecord ?record .
  OPTIONAL { ?record dct:date ?date }
  OPTIONAL { ?record dct:description ?description }
}
"""

_OWNED_STRATEGIES = sparql_prologue() + """
SELECT ?m (COUNT(DISTINCT ?s) AS ?strategies) WHERE { ?s a ds:Strategy ; ds:ownedBy ?m }
GROUP BY ?m
"""


@dataclass(frozen=True)
class StatusCount:
    """How many strategies have one lifecycle status (``status`` None: no stated status)."""

    status: str | None  # the concept's IRI
    notation: str  # "adopted"; "" when no status is stated
    label: str  # English label ("adopted"); "no stated status"
    label_de: str  # German label ("beschlossen"); "kein Status angegeben"
    strategies: int


@dataclass(frozen=True)
class LevelCoverage:
    """How far the search got for the entities of one country and administrative level.

    Each ``with_…`` counts entities owning (ds:ownedBy) at least one strategy that has it.
    """

    country: str  # "Germany", as CountryCoverage.country
    level: str  # the level's notation: municipality, state, canton, city-state ("" if none)
    level_label: str  # English label ("federal state")
    level_label_de: str  # German label ("Land")
    entities: int  # in scope: every ds:Municipality of this country and level
    with_strategy: int  # a strategy is known
    with_adopted_strategy: int  # one is adopted (an adoption decision, or adopted / in force)
    with_dated_strategy: int  # one has a dated adoption decision or a publication date
    with_elements: int  # one has top-level elements
    with_deeper_structure: int  # one has anything below its top-level elements
    nothing_found: int  # entities with a search record (a search that found no strategy)


@dataclass(frozen=True)
class NothingFound:
    """An entity whose search for a strategy found none (ds:searchRecord)."""

    resource: str
    label: str
    country: str  # "Germany"
    level: str  # notation of its administrative level
    date: str  # the search's dct:date (ISO, "2026-11-27"); the latest if there are several
    description: str  # where and how it searched (dct:description)
    strategies: int  # strategies it owns nonetheless (a plan in preparation, an IT strategy)


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
    #: strategies by lifecycle status, every status of the vocabulary in lifecycle order,
    #: then (``status`` None) those with no stated status
    statuses: list[StatusCount] = field(default_factory=list)
    strategies_without_status: int = 0
    #: per country (code order, as ``countries``) and administrative level (LEVEL_ORDER)
    levels: list[LevelCoverage] = field(default_factory=list)
    #: entities whose search found nothing, by country, level and name
    nothing_found: list[NothingFound] = field(default_factory=list)


def _select(store: Store, text: str) -> list[ox.QuerySolution]:
    return list(store.query(text))


def _int(row: ox.QuerySolution, name: str) -> int:
    term = row[name]
    return int(term.value) if term is not None else 0


def _value(row: ox.QuerySolution, name: str) -> str:
    term = row[name]
    return str(term.value) if term is not None else ""


def _country_of(iri: str) -> str:
    code = iri.split("/id/municipality/", 1)[-1][:2]
    return COUNTRIES.get(code, code)


def _country_rank(name: str) -> str:
    codes = {v: k for k, v in COUNTRIES.items()}
    return codes.get(name, name)


def _level_rank(level: str) -> tuple[int, str]:
    return (LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER), level)


def lifecycle_statuses(store: Store) -> tuple[list[StatusCount], int]:
    """Strategies per lifecycle status (every status of the scheme, in lifecycle order, then
    the strategies with no stated status), and the number with no stated status."""
    counts: dict[str | None, int] = {}
    for row in _select(store, _STATUS_COUNTS):
        status = row["status"]
        counts[str(status.value) if status is not None else None] = _int(row, "strategies")
    statuses = []
    for row in _select(store, _STATUS_CONCEPTS):
        iri = str(row["status"].value)
        notation = _value(row, "notation") or iri.rstrip("/").rsplit("/", 1)[-1]
        statuses.append(StatusCount(iri, notation, _value(row, "label") or notation,
                                    _value(row, "labelDe") or notation, counts.get(iri, 0)))

    def rank(status: StatusCount) -> tuple[int, str]:
        order = LIFECYCLE_ORDER
        return (order.index(status.notation) if status.notation in order else len(order),
                status.notation)

    statuses.sort(key=rank)
    unstated = counts.get(None, 0)
    statuses.append(StatusCount(None, "", "no stated status", "kein Status angegeben",
                                unstated))
    return statuses, unstated


def level_coverage(store: Store) -> tuple[list[LevelCoverage], list[NothingFound]]:
    """Per country and administrative level, how far the search got; and the entities whose
    search found nothing."""
    entities = {str(r["m"].value): r for r in _select(store, _ENTITIES)}
    flags: dict[str, set[str]] = {}
    for name, pattern in _ENTITY_FLAGS.items():
        query = (sparql_prologue() + "SELECT DISTINCT ?m WHERE {\n  ?s a ds:Strategy ; "
                 "ds:ownedBy ?m .\n  ?m a ds:Municipality .\n" + pattern + "\n}")
        flags[name] = {str(r["m"].value) for r in _select(store, query)}
    records: dict[str, list[tuple[str, str]]] = {}
    for row in _select(store, _SEARCH_RECORDS):
        records.setdefault(str(row["m"].value), []).append(
            (_value(row, "date"), _value(row, "description")))
    owned = {str(r["m"].value): _int(r, "strategies") for r in _select(store, _OWNED_STRATEGIES)}

    groups: dict[tuple[str, str], list[str]] = {}
    for iri, row in entities.items():
        groups.setdefault((_country_of(iri), _value(row, "level")), []).append(iri)
    levels = []
    for (country, level), members in sorted(
            groups.items(), key=lambda g: (_country_rank(g[0][0]), _level_rank(g[0][1]))):
        sample = entities[members[0]]
        levels.append(LevelCoverage(
            country, level, _value(sample, "levelLabel") or level,
            _value(sample, "levelLabelDe") or level, len(members),
            *(len(flags[name].intersection(members)) for name in _ENTITY_FLAGS),
            sum(m in records for m in members)))
    nothing_found = []
    for iri, found in records.items():
        row = entities[iri]
        date, description = max(found)  # the latest search (ISO dates sort as text)
        nothing_found.append(NothingFound(iri, _value(row, "label"), _country_of(iri),
                                          _value(row, "level"), date, description,
                                          owned.get(iri, 0)))
    nothing_found.sort(key=lambda n: (_country_rank(n.country), _level_rank(n.level),
                                      n.label))
    return levels, nothing_found


def coverage(store: Store) -> Coverage:
    """Counts by country, every missing fact the rules find, strategies by status, and the
    state of the search per country and administrative level."""
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
        found = [MissingFact(rule.name, rule.what, rule.what_de, str(row["x"].value),
                             str(row["label"].value))
                 for row in _select(store, sparql_prologue() + rule.query)]
        # sorted here, not by ORDER BY: stores differ in how they order strings
        missing.extend(sorted(found, key=lambda fact: (fact.label, fact.resource)))
    statuses, unstated = lifecycle_statuses(store)
    levels, nothing_found = level_coverage(store)
    return Coverage(countries, missing, statuses, unstated, levels, nothing_found)
