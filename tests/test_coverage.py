"""The coverage report counts what the data holds and finds the gaps facts.md names."""

from __future__ import annotations

from kg.coverage import coverage
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
