"""A tiny project of its own, so core tests do not depend on the bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.project import Project

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
