"""The pages in headless Chromium: navigation, the language switch, the comparison matrix."""

from __future__ import annotations

from collections import defaultdict

import pytest

from kg.namespaces import BASE
from kg.store import Store

pytestmark = pytest.mark.browser

DS = BASE + "ontology#"


def select(store: Store, query: str) -> list[dict[str, str]]:
    result = store.ox.query(f"PREFIX ds: <{DS}>\nPREFIX dct: <http://purl.org/dc/terms/>\n"
                            + query, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def local(iri: str) -> str:
    return "/" + iri[len(BASE):]


def test_home_to_municipality_to_strategy_to_element(page, server, store: Store) -> None:  # type: ignore[no-untyped-def]
    path = select(store, """SELECT ?m ?s ?el WHERE { ?s ds:ownedBy ?m .
        ?el ds:isElementOf ?s ; ds:position ?pos } ORDER BY ?m ?s ?pos LIMIT 1""")
    if not path:
        pytest.skip("no strategy with elements in the data")
    muni, strategy, element = path[0]["m"], path[0]["s"], path[0]["el"]
    page.goto(server + "/")
    page.locator(f'section.card[data-iri="{muni}"] h3 a').click()
    page.wait_for_url(server + local(muni))
    assert page.locator("h1").inner_text().strip()
    page.locator(f'.strategies a[href="{local(strategy)}"]').click()
    page.wait_for_url(server + local(strategy))
    assert page.locator("section.structure").is_visible()
    page.locator(f'.structure li[data-iri="{element}"] > .box > a').click()
    page.wait_for_url(server + local(element))
    crumbs = page.locator("nav.crumbs a")
    assert crumbs.first.get_attribute("href") == local(strategy)
    assert page.locator("article.resource").get_attribute("data-iri") == element


def test_language_switch(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/-/compare")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Municipalities × themes"
    page.locator("a.lang-de").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("h1").inner_text() == "Gemeinden × Themen"
    page.goto(server + "/ontology")  # the choice is remembered
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("nav.toc h2").first.inner_text() == "Klassen"
    page.locator("a.lang-en").click()
    page.wait_for_load_state()
    assert page.locator("nav.toc h2").first.inner_text() == "Classes"


def test_comparison_matrix_shows_the_right_cells(page, server, store: Store) -> None:  # type: ignore[no-untyped-def]
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in select(store, """SELECT ?m ?t ?x WHERE { ?s a ds:Strategy ; ds:ownedBy ?m .
            ?x dct:subject ?t .
            FILTER(?x = ?s || EXISTS { ?x (ds:isElementOf|^ds:hasElement)+ ?s }) }"""):
        expected[(row["m"].rsplit("/", 1)[1], row["t"].rsplit("/", 1)[1])].add(local(row["x"]))
    assert expected
    page.goto(server + "/-/compare")
    cells = page.locator("table.matrix tbody td a")
    shown: dict[tuple[str, str], int] = {}
    for index in range(cells.count()):
        theme, key = cells.nth(index).get_attribute("href").split("/-/themes/", 1)[1].split("#")
        shown[(key, theme)] = int(cells.nth(index).inner_text())
    assert shown == {k: len(v) for k, v in expected.items()}
    # a count opens the municipality's elements on the theme
    (key, theme), links = sorted(expected.items())[0]
    page.locator(f'table.matrix a[href="/-/themes/{theme}#{key}"]').click()
    page.wait_for_url(server + f"/-/themes/{theme}#{key}")
    section = page.locator(f"section#{key}")
    assert section.is_visible()
    assert links <= {a.get_attribute("href") for a in section.locator("li a").all()}


def test_timeline_and_diagram_render(page, server, store: Store) -> None:  # type: ignore[no-untyped-def]
    page.goto(server + "/-/timeline")
    points = page.locator("svg.timeline a.point")
    assert points.count() > 0
    box = page.locator("svg.timeline").bounding_box()
    assert box and box["width"] > 300
    strategies = select(store, "SELECT ?s WHERE { ?el ds:isElementOf ?s . ?s a ds:Strategy } "
                               "LIMIT 1")
    if strategies:
        page.goto(server + local(strategies[0]["s"]))
        nodes = page.locator(".diagram li.node")
        assert nodes.count() > 0 and nodes.first.is_visible()
