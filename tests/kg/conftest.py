"""A tiny project of its own, so core tests do not depend on the bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kg.project import Project
from kg.rdfio import graph_from_quads, parse_file
from kg.store import Store

ONTOLOGY = """@prefix ex: <https://example.org/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:City a rdfs:Class ; rdfs:label "city"@en , "Stadt"@de .
"""

SHAPES = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:CityShape a sh:NodeShape ; sh:targetClass ex:City ;
  sh:property ex:CityShape-name , ex:CityShape-key .
ex:CityShape-name a sh:PropertyShape ; sh:path ex:name ; sh:minCount 1 ;
  sh:message "A city needs a name."@en , "Eine Stadt braucht einen Namen."@de .
ex:CityShape-key a sh:PropertyShape ; sh:path ex:key ; sh:pattern "^[0-9]{8}$" ;
  sh:severity sh:Warning ;
  sh:message "The key should have 8 digits."@en , "Der Schlüssel sollte 8 Ziffern haben."@de .
"""

DATA = """@prefix ex: <https://example.org/ns#> .
ex:essen a ex:City ; ex:name "Essen" ; ex:key "05113000" .
"""


def write_project(root: Path, data: str = DATA) -> Project:
    for folder, name, text in (("ontology", "o.ttl", ONTOLOGY), ("shapes", "s.ttl", SHAPES),
                               ("data", "essen.ttl", data)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_text(text, encoding="utf-8")
    (root / "queries").mkdir(exist_ok=True)
    (root / "queries" / "cities.rq").write_text(
        "# title: Cities\n# description: every city\n"
        "SELECT ?c WHERE { ?c a <https://example.org/ns#City> }\n", encoding="utf-8")
    return Project(root)


@pytest.fixture
def tiny(tmp_path: Path) -> Project:
    return write_project(tmp_path / "project")


CASES = sorted((Path(__file__).resolve().parents[1] / "shapes" / "cases").rglob("*.ttl"))


def validation_data(what: str, store: Store) -> Graph:
    """The data of the comparisons of validations: every shape case file in one graph (each
    file's blank nodes apart), or the bundled data."""
    if what == "bundled data":
        return store.layer_graph("data")
    data = Graph()
    for path in CASES:
        for triple in graph_from_quads(parse_file(path)):
            data.add(triple)
    return data
