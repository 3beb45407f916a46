"""The coverage report counts what the data holds and finds the gaps facts.md names."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from kg.coverage import LEVEL_ORDER, LIFECYCLE_ORDER, NothingFound, coverage
from kg.project import Project
from kg.store import Store

ID = "https://w3id.org/digistrat/id/"


def test_counts_by_country_add_up(store: Store) -> None:
    report = coverage(store)
    by_country = {c.country: c for c in report.countries}
    assert set(by_country) == {"Germany", "Switzerland", "Austria"}
    municipalities = store.ox.query(
        "SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE { ?m a "
        "<https://w3id.org/digistrat/ontology#Municipality> }", use_default_graph_as_union=True)
    assert sum(c.municipalities for c in report.countries) == int(next(municipalities)["n"].value)
    for country in report.countries:
        assert 0 < country.sourced_statements <= country.statements


def test_every_data_statement_is_sourced(store: Store) -> None:
    """Every statement's subject names its source (or is a source document itself)."""
    report = coverage(store)
    assert all(c.sourced_statements == c.statements for c in report.countries), [
        (c.country, c.statements - c.sourced_statements) for c in report.countries]


def test_gaps_named_in_facts_md_are_reported(store: Store) -> None:
    missing = {(m.rule, m.resource) for m in coverage(store).missing}
    # facts.md, gaps 3 and 1: Unterschleißheim's QID; Zürich's decision date.
    assert ("no-wikidata", ID + "municipality/de-09184149") in missing
    assert ("no-decision-date", ID + "strategy/zuerich-digitalisierungsstrategie-2024") in missing
    # Essen's decision date is known (15.02.2023), so it must not be listed.
    assert ("no-decision-date", ID + "strategy/essen-2023") not in missing


# --- lifecycle statuses, and coverage per country and administrative level ---------------

DS = "https://w3id.org/digistrat/ontology#"
LIFECYCLE = "https://w3id.org/digistrat/vocab/lifecycle-status/"
ROOT = Path(__file__).resolve().parent.parent


def _count(store: Store, where: str) -> int:
    query = f"PREFIX ds: <{DS}> SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {where} }}"
    rows = store.ox.query(query, use_default_graph_as_union=True)
    return int(next(iter(rows))["n"].value)  # type: ignore[index, arg-type]


def test_every_strategy_is_counted_under_its_status(store: Store) -> None:
    report = coverage(store)
    by_notation = {s.notation: s for s in report.statuses}
    assert [s.notation for s in report.statuses] == [*LIFECYCLE_ORDER, ""]
    assert report.statuses[-1].status is None
    assert report.statuses[-1].strategies == report.strategies_without_status == _count(
        store, "?s a ds:Strategy FILTER NOT EXISTS { ?s ds:lifecycleStatus ?x }")
    for notation in LIFECYCLE_ORDER:
        status = by_notation[notation]
        assert status.status == LIFECYCLE + notation
        assert status.label and status.label_de
        assert status.strategies == _count(
            store, f"?s a ds:Strategy ; ds:lifecycleStatus <{LIFECYCLE}{notation}>")
    # one status per strategy, so the statuses add up to the strategies
    assert sum(s.strategies for s in report.statuses) == _count(store, "?s a ds:Strategy")
    assert by_notation["adopted"].strategies > 0


def test_levels_add_up_to_the_countries(store: Store) -> None:
    report = coverage(store)
    assert {lv.level for lv in report.levels} == set(LEVEL_ORDER)
    for country in report.countries:
        rows = [lv for lv in report.levels if lv.country == country.country]
        assert sum(lv.entities for lv in rows) == country.municipalities
    for lv in report.levels:
        assert lv.level_label and lv.level_label_de
        assert lv.entities >= lv.with_strategy >= lv.with_elements >= lv.with_deeper_structure
        assert lv.with_strategy >= lv.with_adopted_strategy
        assert lv.with_strategy >= lv.with_dated_strategy
        assert lv.nothing_found == sum(n.country == lv.country and n.level == lv.level
                                       for n in report.nothing_found)


def test_nothing_found_lists_every_search_record_with_its_date(store: Store) -> None:
    report = coverage(store)
    searched = store.ox.query(f"SELECT DISTINCT ?m WHERE {{ ?m <{DS}searchRecord> ?r }}",
                              use_default_graph_as_union=True)
    assert {n.resource for n in report.nothing_found} == {
        str(row["m"].value) for row in searched}  # type: ignore[index, union-attr]
    for entry in report.nothing_found:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.date), entry
        assert entry.label and entry.description and entry.level in LEVEL_ORDER
    # tests/shapes/cases/SearchRecord/valid/bottrop-nothing-found.ttl, and data/bottrop.ttl
    assert ID + "municipality/de-05512000" in {n.resource for n in report.nothing_found}


SMALL = """
@base <https://w3id.org/digistrat/id/> .
@prefix ds: <https://w3id.org/digistrat/ontology#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix eli: <http://data.europa.eu/eli/ontology#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ls: <https://w3id.org/digistrat/vocab/lifecycle-status/> .
@prefix level: <https://w3id.org/digistrat/vocab/administrative-level/> .
@prefix dtype: <https://w3id.org/digistrat/vocab/decision-type/> .

# A: adopted by a dated decision, with an element that has a sub-element
<municipality/de-00000001> a ds:Municipality ; skos:prefLabel "Stadt A"@de ;
    ds:administrativeLevel level:municipality .
<strategy/a-2023> a ds:Strategy ; ds:ownedBy <municipality/de-00000001> ;
    ds:lifecycleStatus ls:adopted ; ds:adoptedIn <decision/a-2023-01-01> ;
    ds:hasElement <element/a-2023-1> .
<decision/a-2023-01-01> a ds:Decision ; ds:decisionType dtype:adoption ;
    eli:date_document "2023-01-01"^^xsd:date ; ds:adopts <strategy/a-2023> .
<element/a-2023-1> a ds:ActionField ; ds:isElementOf <strategy/a-2023> ;
    ds:hasElement <element/a-2023-1-1> .
<element/a-2023-1-1> a ds:StrategyElement ; ds:isElementOf <element/a-2023-1> .

# B: one strategy taken note of (a dated acknowledgement is no adoption), one with no
# status whose goal hangs on the strategy itself (the top level, not below it)
<municipality/de-00000002> a ds:Municipality ; skos:prefLabel "Stadt B"@de ;
    ds:administrativeLevel level:municipality .
<strategy/b-2022> a ds:Strategy ; ds:ownedBy <municipality/de-00000002> ;
    ds:lifecycleStatus ls:taken-note-of .
<decision/b-2022-05-05> a ds:Decision ; ds:decisionType dtype:acknowledgement ;
    eli:date_document "2022-05-05"^^xsd:date ; ds:concerns <strategy/b-2022> .
<strategy/b-2024> a ds:Strategy ; ds:ownedBy <municipality/de-00000002> ;
    ds:hasElement <element/b-2024-1> ; ds:hasGoal <goal/b-2024-x> .
<element/b-2024-1> a ds:FocusArea ; ds:isElementOf <strategy/b-2024> .

# C: nothing found, searched twice
<municipality/de-00000003> a ds:Municipality ; skos:prefLabel "Stadt C"@de ;
    ds:administrativeLevel level:municipality ;
    ds:searchRecord [ a ds:SearchRecord ; dct:date "2025-01-01"^^xsd:date ;
                      dct:description "erste Suche"@de ] ,
                    [ a ds:SearchRecord ; dct:date "2026-02-02"^^xsd:date ;
                      dct:description "zweite Suche"@de ] .

# D: a canton's published strategy, with a publication date and a measure under an element
<municipality/ch-canton-zz> a ds:Municipality ; skos:prefLabel "Kanton ZZ"@de ;
    ds:administrativeLevel level:canton .
<strategy/zz-2021> a ds:Strategy ; ds:ownedBy <municipality/ch-canton-zz> ;
    ds:lifecycleStatus ls:published ; dct:issued "2021-03-01"^^xsd:date ;
    ds:hasElement <element/zz-2021-1> .
<element/zz-2021-1> a ds:ActionField ; ds:isElementOf <strategy/zz-2021> ;
    ds:hasMeasure <measure/zz-2021-m> .

# E: a Land whose strategy is in force, no decision or date known
<municipality/at-land-x> a ds:Municipality ; skos:prefLabel "Land X"@de ;
    ds:administrativeLevel level:state .
<strategy/x-2020> a ds:Strategy ; ds:ownedBy <municipality/at-land-x> ;
    ds:lifecycleStatus ls:in-force .
"""


def test_status_and_level_counts_on_a_small_graph(tmp_path: Path) -> None:
    (tmp_path / "ontology" / "vocab").mkdir(parents=True)
    (tmp_path / "shapes").mkdir()
    (tmp_path / "data").mkdir()
    for scheme in ("lifecycle-status", "administrative-level", "decision-type"):
        shutil.copy(ROOT / "ontology" / "vocab" / f"{scheme}.ttl",
                    tmp_path / "ontology" / "vocab")
    (tmp_path / "data" / "small.ttl").write_text(SMALL, encoding="utf-8")
    report = coverage(Store.load(Project(tmp_path)))

    counts = {s.notation: s.strategies for s in report.statuses}
    assert counts == {"requested": 0, "in-preparation": 0, "draft": 0, "published": 1,
                      "taken-note-of": 1, "adopted": 1, "in-force": 1, "superseded": 0,
                      "expired": 0, "closed": 0, "": 1}
    assert report.strategies_without_status == 1
    rows = [(lv.country, lv.level, lv.entities, lv.with_strategy, lv.with_adopted_strategy,
             lv.with_dated_strategy, lv.with_elements, lv.with_deeper_structure,
             lv.nothing_found) for lv in report.levels]
    assert rows == [("Austria", "state", 1, 1, 1, 0, 0, 0, 0),
                    ("Switzerland", "canton", 1, 1, 0, 1, 1, 1, 0),
                    ("Germany", "municipality", 3, 2, 1, 1, 2, 1, 1)]
    assert [lv.level_label for lv in report.levels] == ["federal state", "canton",
                                                        "municipality"]
    assert report.nothing_found == [NothingFound(
        ID + "municipality/de-00000003", "Stadt C", "Germany", "municipality", "2026-02-02",
        "zweite Suche", 0)]
