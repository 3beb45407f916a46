"""The question a new user brought ("which cities have a strategy with an action field on
data or AI, adopted when, and by whom?") answered by clicks from the home page, and every page
family not covered by the other browser tests checked at a phone's width and with axe-core."""

from __future__ import annotations

from typing import Any

import pytest

from kg.namespaces import BASE
from kg.store import Store

pytestmark = pytest.mark.browser

DS = BASE + "ontology#"
THEMES = ("data-driven-administration", "artificial-intelligence")


def select(store: Store, query: str) -> list[dict[str, str]]:
    prefixes = (f"PREFIX ds: <{DS}>\nPREFIX dct: <http://purl.org/dc/terms/>\n"
                "PREFIX eli: <http://data.europa.eu/eli/ontology#>\n"
                "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n")
    result = store.ox.query(prefixes + query, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def local(iri: str) -> str:
    return "/" + iri[len(BASE):]


def expected_answer(store: Store) -> dict[str, set[str]]:
    """Adopted strategies with one of THEMES on themselves or an element → the English (else
    German) names of the bodies that passed an adopting decision."""
    themes = " ".join(f"<{BASE}vocab/theme/{t}>" for t in THEMES)
    rows = select(store, f"""SELECT DISTINCT ?s WHERE {{
        ?s a ds:Strategy ; ds:lifecycleStatus <{BASE}vocab/lifecycle-status/adopted> .
        {{ ?s dct:subject ?t }} UNION {{ ?x (ds:isElementOf|^ds:hasElement)+ ?s ;
                                        dct:subject ?t }}
        VALUES ?t {{ {themes} }} }}""")
    answer: dict[str, set[str]] = {r["s"]: set() for r in rows}
    adopting = ", ".join(f"<{BASE}vocab/decision-type/{t}>"
                         for t in ("adoption", "update", "amendment"))
    bodies = select(store, f"""SELECT ?s ?name WHERE {{
        ?s ds:adoptedIn|^ds:adopts ?d . ?d eli:passed_by ?b .
        OPTIONAL {{ ?d ds:decisionType ?type }}
        FILTER(!BOUND(?type) || ?type IN ({adopting}))
        ?b skos:prefLabel ?name }}""")
    for row in bodies:
        if row["s"] in answer:
            answer[row["s"]].add(row["name"])
    return answer


def test_the_question_is_answered_by_clicks_from_home(page: Any, server: str,
                                                      store: Store) -> None:
    expected = expected_answer(store)
    if not expected:
        pytest.skip("no adopted strategy on data or AI in the data")
    page.goto(server + "/")
    page.locator("p.quick a", has_text="Strategies").click()
    page.wait_for_url(server + "/-/strategies")
    for facet, value in [("theme", THEMES[0]), ("theme", THEMES[1]), ("status", "adopted")]:
        box = page.locator(f'details[data-facet="{facet}"]')
        if box.get_attribute("open") is None:
            box.locator("summary").click()
        box.locator(f'a[data-value="{value}"]').click()
        page.wait_for_url(f"**{facet}={value}**")
    assert page.locator("h1 .count").inner_text() == f"({len(expected)})"
    if page.locator("nav.pager").count():
        pytest.fail("the answer needs more than one page; raise the page size here")
    rows = page.locator("table.data tbody tr")
    assert rows.count() == len(expected)
    columns = [h.get_attribute("data-column") for h in page.locator("table.data thead th").all()]
    city, when, body = columns.index("city"), columns.index("year"), columns.index("adopted_by")
    for index in range(rows.count()):
        row = rows.nth(index)
        cells = row.locator("td")
        strategy = row.get_attribute("data-iri")
        assert strategy in expected
        assert cells.nth(city).inner_text().strip(), strategy  # every answer names its city
        year = cells.nth(when).inner_text().strip()
        assert year[:4].isdigit() or year == "undated", (strategy, year)
        names = expected[strategy]
        shown = cells.nth(body).inner_text().strip()
        assert (shown in names) if names else shown == "", (strategy, shown, names)
    # the body's name leads to its page
    linked = page.locator("table.data tbody td.body a")
    if linked.count():
        target = linked.first.get_attribute("href")
        linked.first.click()
        page.wait_for_url(server + target)
        assert page.locator("h1").inner_text().strip()


def families(store: Store) -> list[str]:
    """One page of every family the other browser tests do not visit."""
    one = select(store, """SELECT ?m ?s ?el ?d ?b WHERE { ?s ds:ownedBy ?m .
        ?el ds:isElementOf ?s . ?s ds:adoptedIn|^ds:adopts ?d . ?d eli:passed_by ?b }
        ORDER BY ?m ?s ?el LIMIT 1""")
    pages = ["/-/timeline", "/-/coverage", "/-/downloads", "/ontology", "/vocab",
             "/vocab/theme", "/shapes", "/validate", "/nothing-here"]
    if one:
        pages += [local(one[0][k]) for k in ("m", "s", "el", "d", "b")]
    return pages


def test_every_family_fits_a_phone_and_passes_axe(browser: Any, server: str,
                                                  store: Store) -> None:
    from axe_playwright_python.sync_playwright import Axe

    problems: list[str] = []
    context = browser.new_context(locale="de-CH", viewport={"width": 390, "height": 844})
    try:
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        for path in families(store):
            tab.goto(server + path)
            width = tab.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                problems.append(f"{path} is {width} px wide at 390 px")
            for v in Axe().run(tab).response["violations"]:
                if v.get("impact") in ("serious", "critical"):
                    problems.append(f"{path}: {v['id']}: {v['help']} "
                                    f"(e.g. {v['nodes'][0]['html'][:120]})")
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


def test_the_menu_reaches_every_part_by_keyboard(page: Any, server: str) -> None:
    page.goto(server + "/")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    reached: set[str] = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        href = page.evaluate("document.activeElement.getAttribute('href')")
        if href:
            reached.add(href)
    for target in ("/-/strategies", "/-/compare", "/sparql", "/validate", "/-/downloads"):
        assert target in reached, (target, sorted(reached))
