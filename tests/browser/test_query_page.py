"""The SPARQL query page in headless Chromium: an example query runs, its results show as a
table, and a result IRI leads to its page on this server."""

from __future__ import annotations

import pytest

from kg.queries import load_queries
from kg.sparql import run_query
from kg.store import Store

pytestmark = pytest.mark.browser



def test_an_example_query_runs_and_its_rows_link_here(page, server, store: Store) -> None:  # type: ignore[no-untyped-def]
    example = next(q for q in load_queries(store.project.queries_dir)
                   if q.name == "strategies-by-municipality")
    expected = len(list(run_query(store, example.text).result))  # type: ignore[arg-type]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/sparql")
    page.select_option("#examples", label=example.title)
    assert "strategies" in page.input_value("#query").lower()
    page.click("#run")
    page.wait_for_selector("table.results tbody tr")
    assert page.locator("table.results tbody tr").count() == expected
    assert page.locator("#downloads a").count() >= 4
    link = page.locator("table.results tbody tr a").first
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/id/municipality/")
    link.click()
    page.wait_for_load_state()
    assert page.url == server + href
    assert page.locator("h1").inner_text()
    assert all(url.startswith(server) for url in requests)  # nothing left this machine
