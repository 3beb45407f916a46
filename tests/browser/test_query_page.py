"""The SPARQL query page in headless Chromium (issue 13): the query lives in the address
(shareable, survives a reload, back and forward), the editor highlights SPARQL and completes
the project's prefixes (CodeMirror 5 served by this server, installed by `make setup`),
result IRIs are shortened with the project's prefixes and link to their pages, the page and
its script speak German, axe-core finds nothing serious, a phone's width needs no sideways
scrolling, the Content-Security-Policy is never violated, and without the editor's files the
page still works as a plain text box."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from fastapi.testclient import TestClient

from kg.namespaces import PREFIXES
from kg.queries import load_queries
from kg.sparql import run_query
from kg.store import Store

pytestmark = pytest.mark.browser

VENDOR = Path(__file__).resolve().parents[2] / "api" / "static" / "vendor" / "codemirror"
BASE = "https://w3id.org/digistrat/"
ZURICH = BASE + "id/municipality/ch-261"
SKOS = PREFIXES["skos"]
# What Chromium sends when it opens an address (and no SPARQL client sends).
NAVIGATION = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                        "image/webp,*/*;q=0.8", "Sec-Fetch-Dest": "document",
              "Sec-Fetch-Mode": "navigate"}


@pytest.fixture
def csp_errors(page: Any) -> Iterator[list[str]]:
    """Console messages and page errors; the test's end checks that none is a violation of
    the Content-Security-Policy (CodeMirror styles through the CSSOM, which it allows)."""
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text))
    page.on("pageerror", lambda e: seen.append(str(e)))
    yield seen
    violations = [m for m in seen if "Content Security Policy" in m or "Refused to" in m]
    assert violations == [], violations


def editor_value(page: Any) -> str:
    return str(page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()"))


def set_editor(page: Any, text: str) -> None:
    page.evaluate("t => document.querySelector('.CodeMirror').CodeMirror.setValue(t)", text)


def run(page: Any) -> None:
    page.click("#run")
    page.wait_for_selector("table.results tbody tr, #error")


def address_query(page: Any) -> str | None:
    values = parse_qs(urlsplit(page.url).query).get("query")
    return values[0] if values else None


def test_the_editor_files_are_installed() -> None:
    """`make setup` copies CodeMirror from node_modules (npm ci); the tests below need it."""
    for name in ("codemirror.js", "codemirror.css", "sparql.js", "show-hint.js"):
        assert (VENDOR / name).is_file(), f"{VENDOR / name} is missing: run `make setup`"


# --- the query in the address ---------------------------------------------------------------


def test_a_browser_opening_a_query_address_gets_the_page(client: TestClient) -> None:
    """The negotiation behind the shareable address: a browser's navigation gets the page
    with the query filled in and set to run; a machine keeps getting results."""
    query = 'SELECT ?x WHERE { BIND("</textarea><b>" AS ?x) }'
    page = client.get("/sparql", params={"query": query}, headers=NAVIGATION)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Sec-Fetch-Dest" in page.headers["vary"]
    assert 'data-autorun="true"' in page.text
    assert "&lt;/textarea&gt;&lt;b&gt;" in page.text  # escaped, in the text box
    for headers in ({"Accept": NAVIGATION["Accept"]},  # no navigation: a library
                    {**NAVIGATION, "Sec-Fetch-Dest": "empty"},  # a page's fetch()
                    {**NAVIGATION, "Accept": "application/sparql-results+json"},
                    {}):
        answer = client.get("/sparql", params={"query": query}, headers=headers)
        assert answer.headers["content-type"].split(";")[0] in (
            "application/sparql-results+json", "application/sparql-results+xml")
        assert "Sec-Fetch-Dest" in answer.headers["vary"]
    download = client.get("/sparql", params={"query": query, "format": "csv"},
                          headers=NAVIGATION)  # the page's download links: ?format= decides
    assert download.headers["content-type"].startswith("text/csv")


def test_the_query_in_the_address_survives_a_reload(page: Any, server: str,
                                                   csp_errors: list[str]) -> None:
    first = f"SELECT ?label WHERE {{ <{ZURICH}> <{SKOS}prefLabel> ?label }}"
    second = f"SELECT ?p WHERE {{ <{ZURICH}> ?p ?o }} LIMIT 3"
    page.goto(server + "/sparql")
    set_editor(page, first)
    run(page)
    assert address_query(page) == first  # shareable
    rows = page.locator("table.results tbody tr").count()
    assert rows >= 1
    page.reload()
    page.wait_for_selector("table.results tbody tr")  # run again on its own
    assert editor_value(page).strip() == first
    assert page.locator("table.results tbody tr").count() == rows
    set_editor(page, second)
    run(page)
    assert address_query(page) == second
    page.go_back()
    page.wait_for_function("q => document.querySelector('.CodeMirror').CodeMirror"
                           ".getValue() === q", arg=first)
    page.wait_for_selector("table.results tbody tr")
    assert page.locator("table.results tbody tr").count() == rows
    # a link shared by someone else opens the page with the query run
    page.goto(server + "/sparql?query=" + quote(second))
    page.wait_for_selector("table.results tbody tr")
    assert page.locator("table.results tbody tr").count() == 3
    assert editor_value(page).strip() == second


# --- the editor -------------------------------------------------------------------------------


def test_the_editor_highlights_sparql(page: Any, server: str, csp_errors: list[str]) -> None:
    page.goto(server + "/sparql")
    set_editor(page, "# a comment\nSELECT ?x WHERE { ?x a <https://example.org/T> }")
    assert page.locator("textarea#query").is_hidden()  # the editor took its place
    assert page.locator(".CodeMirror .cm-keyword", has_text="SELECT").count() == 1
    assert page.locator(".CodeMirror .cm-variable-2", has_text="?x").count() == 2
    assert page.locator(".CodeMirror .cm-comment").count() == 1
    assert page.locator(".CodeMirror .cm-atom", has_text="<https://example.org/T>").count() == 1
    # the editor's files came from this server (no CDN)
    sources = page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
    assert any("/-/static/vendor/codemirror/codemirror.js" in s for s in sources)
    assert all(s.startswith(server) for s in sources)


def test_completion_offers_the_project_prefixes(page: Any, server: str,
                                               csp_errors: list[str]) -> None:
    page.goto(server + "/sparql")
    set_editor(page, "")
    page.click(".CodeMirror")
    page.keyboard.type("PREFIX sk")
    page.keyboard.press("Control+Space")
    hints = page.locator(".CodeMirror-hints li")
    hints.first.wait_for()
    assert [h.inner_text().strip() for h in hints.all()] == [f"skos: <{SKOS}>"]
    page.keyboard.press("Enter")
    assert editor_value(page) == f"PREFIX skos: <{SKOS}>"
    # in the query, typing a prefix offers it by itself; choosing it declares it
    page.keyboard.press("Enter")
    page.keyboard.type("SELECT * WHERE { ?m a dsi")
    # the list opened at "d" may still show "ds:" first until it has caught up with "dsi"
    page.wait_for_function("() => (document.querySelector('.CodeMirror-hints li') || {})"
                           ".innerText?.startsWith('dsid:')", timeout=5000)
    assert hints.first.inner_text().startswith("dsid:")
    page.keyboard.press("Enter")
    text = editor_value(page)
    assert text.splitlines()[:2] == [f"PREFIX skos: <{SKOS}>",
                                     f"PREFIX dsid: <{PREFIXES['dsid']}>"]
    assert text.endswith("?m a dsid:")
    # keywords (upper case) do not open the list
    page.keyboard.type("municipality/ch-261 }\nORDER BY ?m")
    assert page.locator(".CodeMirror-hints").count() == 0


# --- results ----------------------------------------------------------------------------------


def test_an_example_query_runs_and_its_rows_link_here(page: Any, server: str, store: Store,
                                                     csp_errors: list[str]) -> None:
    example = next(q for q in load_queries(store.project.queries_dir)
                   if q.name == "strategies-by-municipality")
    expected = len(list(run_query(store, example.text).result))  # type: ignore[arg-type]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/sparql")
    page.select_option("#examples", label=example.title)
    assert editor_value(page) == example.text
    run(page)
    assert page.locator("table.results tbody tr").count() == expected
    assert page.locator("#downloads a").count() >= 4
    link = page.locator("table.results tbody tr a").first
    href = link.get_attribute("href")
    assert href is not None and href.startswith("/id/municipality/")
    assert link.inner_text() == "dsid:" + href.removeprefix("/id/")  # shortened
    link.click()
    page.wait_for_load_state()
    assert page.url == server + href
    assert page.locator("h1").inner_text()
    assert all(url.startswith(server) for url in requests)  # nothing left this machine


def test_result_iris_are_shortened_and_linked(page: Any, server: str,
                                             csp_errors: list[str]) -> None:
    page.goto(server + "/sparql")
    set_editor(page, f"SELECT ?a ?b ?c ?d WHERE {{ VALUES (?a ?b ?c ?d) {{ (<{ZURICH}> "
                     f"<{SKOS}prefLabel> <https://example.org/x> 42) }} }}")
    run(page)
    links = page.locator("table.results tbody a")
    shown = [(a.inner_text(), a.get_attribute("href"), a.get_attribute("title"))
             for a in links.all()]
    assert shown == [
        ("dsid:municipality/ch-261", "/id/municipality/ch-261", ZURICH),  # this server
        ("skos:prefLabel", SKOS + "prefLabel", SKOS + "prefLabel"),  # elsewhere, as is
        ("https://example.org/x", "https://example.org/x", None),  # no prefix: in full
    ]
    assert page.locator("table.results td .dt").inner_text().strip() == "^^xsd:integer"
    # CONSTRUCT and DESCRIBE: the triples, shortened and linked alike
    set_editor(page, f"DESCRIBE <{ZURICH}>")
    run(page)
    headers = [h.inner_text() for h in page.locator("table.results th").all()]
    assert headers == ["subject", "predicate", "object"]
    subjects = page.locator("table.results tbody td:first-child a")
    assert {(a.inner_text(), a.get_attribute("href")) for a in subjects.all()} == {
        ("dsid:municipality/ch-261", "/id/municipality/ch-261")}
    assert page.locator("table.results tbody a", has_text="skos:prefLabel").count() >= 1
    assert page.locator("#downloads a").first.inner_text() == "Turtle"


def test_result_iris_of_other_schemes_are_not_links(page: Any, server: str,
                                                   csp_errors: list[str]) -> None:
    """A result IRI such as javascript:… once became a link on the query page."""
    page.goto(server + "/sparql")
    set_editor(page, "SELECT ?x WHERE { VALUES ?x { <javascript:alert(1)> "
                     "<data:text/html,x> <https://example.org/ok> } }")
    run(page)
    hrefs = [a.get_attribute("href") for a in page.locator("table.results a").all()]
    assert hrefs == ["https://example.org/ok"]
    assert page.locator("table.results td", has_text="javascript:alert(1)").count() == 1


# --- language, accessibility, width, without the editor ---------------------------------------


def test_the_page_and_its_script_speak_german(browser: Any, server: str) -> None:
    context = browser.new_context(locale="de-CH", viewport={"width": 1280, "height": 900})
    try:
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        tab.goto(server + "/sparql?query=" + quote(f"DESCRIBE <{ZURICH}>"))
        tab.wait_for_selector("table.results tbody tr")
        assert tab.locator("html").get_attribute("lang") == "de"
        assert tab.locator("h1").inner_text() == "SPARQL-Abfrage"
        assert tab.locator("#run").inner_text() == "Abfrage ausführen"
        assert "Strg+Leertaste" in tab.locator("#query-keys").inner_text()
        # the script's texts come from the catalogue too
        assert [h.inner_text() for h in tab.locator("table.results th").all()] == [
            "Subjekt", "Prädikat", "Objekt"]
        assert "Zeilen in" in tab.locator("#status").inner_text()
        assert tab.locator("#downloads").inner_text().startswith("Herunterladen:")
        # the language links keep the query
        english = tab.locator(".langswitch a[hreflang=en]").get_attribute("href")
        assert parse_qs(urlsplit(english).query)["query"] == [f"DESCRIBE <{ZURICH}>"]
    finally:
        context.close()


def test_axe_finds_nothing_serious(page: Any, server: str) -> None:
    page.goto(server + "/sparql?query=" + quote(
        f"SELECT ?p ?o WHERE {{ <{ZURICH}> ?p ?o }} LIMIT 20"))
    page.wait_for_selector("table.results tbody tr")
    page.click(".CodeMirror")
    page.keyboard.press("Control+End")
    page.keyboard.type(" # d")  # the completion list open (in a comment: none)
    checked = []
    for state in ("results", "hints"):
        if state == "hints":
            page.keyboard.press("Enter")
            page.keyboard.type("d")
            page.locator(".CodeMirror-hints li").first.wait_for()
        violations = Axe().run(page).response["violations"]
        serious = [v for v in violations if v.get("impact") in ("serious", "critical")]
        assert serious == [], state + ": " + "\n".join(
            f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['html'][:160]})"
            for v in serious)
        checked.append(state)
    assert checked == ["results", "hints"]


def test_a_phones_width_needs_no_sideways_scrolling(browser: Any, server: str) -> None:
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    try:
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        long_iri = BASE + "id/source/" + "a_long_name_without_any_break_" * 4
        query = (f'SELECT ?x ?y WHERE {{ VALUES (?x ?y) {{ (<{long_iri}> "{"words " * 40}") '
                 f'(<{ZURICH}> "Zürich") }} }}')
        tab.goto(server + "/sparql?query=" + quote(query))
        tab.wait_for_selector("table.results tbody tr")
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the query page is {width} px wide at 390 px"
        box = tab.locator("#table-wrap")
        assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # the table scrolls, alone
    finally:
        context.close()


def test_without_the_editor_the_page_is_a_plain_text_box(page: Any, server: str) -> None:
    """Progressive enhancement: the editor's files missing (not installed, or blocked), the
    text box stays and the page runs queries, keeps them in the address and links IRIs."""
    page.route("**/-/static/vendor/**", lambda route: route.abort())
    page.goto(server + "/sparql")
    assert page.evaluate("typeof window.CodeMirror") == "undefined"
    assert page.locator("textarea#query").is_visible()
    query = f"SELECT ?p WHERE {{ <{ZURICH}> ?p ?o }} LIMIT 2"
    page.fill("#query", query)
    page.press("#query", "Control+Enter")
    page.wait_for_selector("table.results tbody tr")
    assert page.locator("table.results tbody tr").count() == 2
    assert address_query(page) == query
    page.reload()
    page.wait_for_selector("table.results tbody tr")
    assert page.input_value("#query").strip() == query
