"""The coverage page shows the same report as `digistrat stats`, in the reader's language."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from kg.coverage import coverage
from kg.store import Store


def test_coverage_page_lists_every_missing_fact(client: TestClient, store: Store) -> None:
    report = coverage(store)
    response = client.get("/-/coverage?lang=en", headers={"Accept": "text/html"})
    assert response.status_code == 200
    rows = re.findall(r'<tr data-rule="([a-z-]+)">', response.text)
    assert len(rows) == len(report.missing) > 0
    assert "no Wikidata link is known" in response.text
    for country in report.countries:
        assert f"<td>{country.country}</td>" in response.text


def test_coverage_page_in_german(client: TestClient) -> None:
    response = client.get("/-/coverage?lang=de", headers={"Accept": "text/html"})
    assert "Abdeckung des Graphen" in response.text
    assert "kein Wikidata-Verweis bekannt" in response.text
    assert "/id/municipality/de-09184149" in response.text  # Unterschleißheim: no QID known
