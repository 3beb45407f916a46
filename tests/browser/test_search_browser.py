"""The search box in headless Chromium: type in the header's box on a page, land on the
results, follow a result; by keyboard; on a phone's width; with axe-core."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from kg.namespaces import BASE
from kg.search import transliterate
from kg.store import Store
from kg.views.common import select

pytestmark = pytest.mark.browser


def local(iri: str) -> str:
    return "/" + iri[len(BASE):]


def city_with_umlaut(store: Store) -> tuple[str, str, str]:
    """A municipality with an umlaut in its name: (IRI, name, a word of it typed without the
    umlaut, as people without a German keyboard do)."""
    for row in select(store, "SELECT ?m ?l WHERE { ?m a ds:Municipality ; skos:prefLabel ?l }"
                             " ORDER BY ?m"):
        name = row["l"].value
        for word in re.findall(r"[^\W_]+", name):
            if transliterate(word) != word and len(word) > 3:
                plain = "".join(c for c in unicodedata.normalize("NFKD", word)
                                if not unicodedata.combining(c))
                return row["m"].value, name, plain
    pytest.skip("no municipality with an umlaut in its name")


def serious(results: Any) -> list[str]:
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
            for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def test_type_in_the_header_box_land_on_results_follow_one(page: Any, server: str,
                                                           store: Store) -> None:
    muni, name, typed = city_with_umlaut(store)
    page.goto(server + "/-/compare")
    box = page.locator("header.site #site-search")
    box.fill(typed)
    box.press("Enter")
    page.wait_for_url(re.compile(re.escape(server) + r"/search\?q="))
    assert parse_qs(urlsplit(page.url).query)["q"] == [typed]
    assert page.locator("h1").inner_text() == "Search"
    assert page.locator("header.site #site-search").input_value() == typed  # filled back
    group = page.locator('section.search-group[data-kind="municipality"]')
    hit = group.locator(f'li.hit[data-iri="{muni}"] a.hit-label')
    assert hit.inner_text() == name
    assert hit.locator("mark").count() >= 1  # the word typed without its umlaut is marked
    hit.click()
    page.wait_for_url(server + local(muni))
    assert name in page.locator("h1").inner_text()


def test_the_search_works_by_keyboard(page: Any, server: str) -> None:
    page.goto(server + "/ontology")
    for _ in range(10):  # skip link, brand, then the search box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "site-search":
            break
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.type("Daten")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/search\?q=Daten"))
    first = page.locator("li.hit a.hit-label").first
    target = first.get_attribute("href")
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(server + target)


def test_a_kind_and_its_pages(page: Any, server: str) -> None:
    page.goto(server + "/search?q=Stadt")
    groups = page.locator("section.search-group")
    assert groups.count() >= 2
    more = page.locator("section.search-group p.more a").first
    kind = more.locator("xpath=ancestor::section").get_attribute("data-kind")
    more.click()
    page.wait_for_url(re.compile(r".*kind=" + kind))
    assert page.locator("section.search-group").count() == 1
    assert page.locator("nav.kinds [aria-current=page]").count() == 1
    following = page.locator('nav.search-pager a[rel="next"]')
    if following.count():
        shown = set(page.locator("li.hit").all_inner_texts())
        following.click()
        page.wait_for_url(re.compile(r".*page=2"))
        assert page.locator("ol.hits").get_attribute("start") == "21"
        assert page.locator("li.hit").count() >= 1
        assert not shown & set(page.locator("li.hit").all_inner_texts())
        page.locator('nav.search-pager a[rel="prev"]').click()
        page.wait_for_url(re.compile(r".*page=1"))
        assert set(page.locator("li.hit").all_inner_texts()) == shown


@pytest.mark.parametrize("width", [1280, 390])
def test_no_serious_accessibility_problems_and_no_sideways_scrolling(
        browser: Any, server: str, width: int) -> None:
    context = browser.new_context(locale="de-CH", viewport={"width": width, "height": 900})
    try:
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        for path in ("/search?q=Z%C3%BCrich+Daten", "/search?q=Stadt", "/search",
                     "/search?q=Stadt&kind=quote&page=2", "/search?q=" + "x" * 201):
            tab.goto(server + path)
            assert tab.locator("html").get_attribute("lang") == "de"
            assert serious(Axe().run(tab)) == [], path
            wide = tab.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, (path, wide)
    finally:
        context.close()
