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


def test_result_iris_of_other_schemes_are_not_links(page, server) -> None:  # type: ignore[no-untyped-def]
    """A result IRI such as javascript:… once became a link on the query page."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server + "/sparql")
    page.fill("#query", "SELECT ?x WHERE { VALUES ?x { <javascript:alert(1)> "
                        "<data:text/html,x> <https://example.org/ok> } }")
    page.click("#run")
    page.wait_for_selector("table.results tbody tr")
    hrefs = [a.get_attribute("href") for a in page.locator("table.results a").all()]
    assert hrefs == ["https://example.org/ok"]
    assert page.locator("table.results td", has_text="javascript:alert(1)").count() == 1
    assert not [e for e in errors if "Content Security Policy" in e], errors
