# ruff: noqa: E501  (SPARQL text reads better unwrapped)
"""The SPARQL query mix of the endpoint benchmark (docs/model.md terms only)."""

from __future__ import annotations

from dataclasses import dataclass

PREFIXES = """PREFIX ds: <https://w3id.org/digistrat/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX eli: <http://data.europa.eu/eli/ontology#>
"""


@dataclass(frozen=True)
class BenchQuery:
    name: str
    kind: str  # "trivial" or "heavy": which target applies
    text: str  # with {municipality} / {resource} placeholders
    what: str

    def render(self, samples: dict[str, str]) -> str:
        return PREFIXES + self.text.format(**samples)


QUERIES: tuple[BenchQuery, ...] = (
    BenchQuery("lookup_iri", "trivial", """SELECT ?p ?o ?s WHERE {{
  {{ <{strategy}> ?p ?o }} UNION {{ ?s ?p <{strategy}> }}
}}""", "every triple with one strategy IRI as subject or object"),
    BenchQuery("strategies_of_municipality", "trivial", """SELECT ?strategy ?title ?date ?status WHERE {{
  ?strategy a ds:Strategy ; ds:ownedBy <{municipality}> ; dct:title ?title ;
            ds:lifecycleStatus ?statusConcept ; ds:adoptedIn ?decision .
  ?decision eli:date_document ?date .
  ?statusConcept skos:prefLabel ?status .
  FILTER(lang(?title) = "de" && lang(?status) = "de")
}} ORDER BY DESC(?date)""", "strategies of one municipality, newest first"),
    BenchQuery("optional_join_municipality", "trivial", """SELECT ?element ?goal ?objective ?indicator ?measure ?project WHERE {{
  ?strategy ds:ownedBy <{municipality}> ; ds:hasElement ?element .
  OPTIONAL {{ ?element ds:hasGoal ?goal .
    OPTIONAL {{ ?goal ds:hasObjective ?objective .
      OPTIONAL {{ ?objective ds:measuredBy ?indicator }} }} }}
  OPTIONAL {{ ?element ds:hasMeasure ?measure .
    OPTIONAL {{ ?project ds:implements ?measure }} }}
}}""", "deep OPTIONAL join over one municipality's strategies"),
    BenchQuery("group_by_theme", "heavy", """SELECT ?theme ?label (COUNT(DISTINCT ?measure) AS ?measures) (COUNT(DISTINCT ?element) AS ?elements) WHERE {{
  ?element a ds:ActionField ; dct:subject ?theme ; ds:hasMeasure ?measure .
  ?theme skos:prefLabel ?label . FILTER(lang(?label) = "de")
}} GROUP BY ?theme ?label ORDER BY DESC(?measures)""", "GROUP BY theme over the whole graph"),
    BenchQuery("text_filter", "heavy", """SELECT ?s ?label WHERE {{
  ?s a ds:Goal ; skos:prefLabel ?label .
  FILTER(CONTAINS(LCASE(?label), "daten") || REGEX(?label, "sicherheit", "i"))
}}""", "CONTAINS/REGEX on the labels of every goal"),
    BenchQuery("optional_join_all", "heavy", """SELECT ?strategy (COUNT(?measure) AS ?measures) (COUNT(?project) AS ?projects) (COUNT(?indicator) AS ?indicators) WHERE {{
  ?strategy a ds:Strategy ; ds:hasElement ?element .
  OPTIONAL {{ ?element ds:hasMeasure ?measure .
    OPTIONAL {{ ?project ds:implements ?measure }} }}
  OPTIONAL {{ ?element ds:hasGoal ?goal .
    OPTIONAL {{ ?goal ds:hasObjective ?objective .
      OPTIONAL {{ ?objective ds:measuredBy ?indicator }} }} }}
}} GROUP BY ?strategy""", "deep OPTIONAL join over every strategy, counted per strategy"),
    BenchQuery("order_by_limit", "heavy", """SELECT ?objective ?label ?value WHERE {{
  ?objective a ds:Objective ; skos:prefLabel ?label ; ds:targetValue ?value .
}} ORDER BY DESC(?value) ?objective LIMIT 10""", "ORDER BY over every objective, LIMIT 10"),
    BenchQuery("rows_2000", "heavy", """SELECT ?measure ?label ?status WHERE {{
  ?measure a ds:Measure ; skos:prefLabel ?label ; ds:implementationStatus ?status .
}} LIMIT 2000""", "a 2,000-row result"),
)

CHEAP = QUERIES[0]

RUNAWAY = PREFIXES + """SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"""
