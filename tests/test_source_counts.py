"""The data says what its sources say: structures have the counts the sources give.

Each expectation cites the row of shared/sources/facts.md (or the seed) it comes from.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.store import Store

ID = "https://w3id.org/digistrat/id/strategy/"

TOP_LEVEL = """
PREFIX ds: <https://w3id.org/digistrat/ontology#>
SELECT ?e ?pos WHERE { ?e ds:isElementOf ?s ; ds:position ?pos } ORDER BY ?pos
"""
ALL_LEVELS = """
PREFIX ds: <https://w3id.org/digistrat/ontology#>
SELECT DISTINCT ?e WHERE { ?e ds:isElementOf+ ?s }
"""

# (strategy slug, top-level elements, elements at any depth, what the source says)
EXPECTED = [
    ("zuerich-digitalisierungsstrategie-2024", 4, 14, "A1: 4 Schwerpunkte, 10 Stossrichtungen"),
    ("zuerich-it-strategie-2016", 6, 6, "A1: 6 strategische Stossrichtungen"),
    ("zuerich-smart-city-2018", 3, 3, "A1: 3 Strategie-Schwerpunkte"),
    ("bern-digitalstrategie-2021", 3, 3, "A2: 3 Handlungsfelder"),
    ("bern-einfach-fuer-alle-2026", 5, 5, "A2: 5 strategische Stossrichtungen"),
    ("essen-2023", 5, 5, "A4: 5 thematische Handlungsfelder"),
    ("duesseldorf-2024", 4, 4, "A5: 4 Programme"),
    ("hamburg-digitalstrategie-2020", 7, 7, "B2: seven Digitale Räume"),
]


def _select(store: Store, text: str, strategy: str) -> list[ox.QuerySolution]:
    result = store.ox.query(text.replace("?s", f"<{ID}{strategy}>"),
                            use_default_graph_as_union=True)
    assert isinstance(result, ox.QuerySolutions)
    return list(result)


@pytest.mark.parametrize(("slug", "top", "total", "source"), EXPECTED,
                         ids=[e[0] for e in EXPECTED])
def test_structure_matches_the_source(store: Store, slug: str, top: int, total: int,
                                      source: str) -> None:
    rows = _select(store, TOP_LEVEL, slug)
    assert [int(r["pos"].value) for r in rows] == list(range(1, top + 1)), source
    assert len(_select(store, ALL_LEVELS, slug)) == total, source


def test_zuerich_stossrichtungen_sit_under_their_schwerpunkt(store: Store) -> None:
    """Seed 000: 3 under Schwerpunkt 1, 1 under 2, 2 under 3, 4 under 4."""
    query = """
    PREFIX ds: <https://w3id.org/digistrat/ontology#>
    SELECT ?pos (COUNT(?child) AS ?n) WHERE {
      ?focus ds:isElementOf ?s ; ds:position ?pos . ?child ds:isElementOf ?focus
    } GROUP BY ?pos ORDER BY ?pos"""
    rows = _select(store, query, "zuerich-digitalisierungsstrategie-2024")
    assert [int(r["n"].value) for r in rows] == [3, 1, 2, 4]
