"""``GET /search``: full-text search over the store (kg/search.py, SQLite FTS5), as JSON and
as a page. Expectations are read from the store, not written down."""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable
from typing import Any

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.catalogue import void_description
from kg.search import (
    KINDS,
    MAX_QUERY_CHARS,
    IndexBuild,
    SearchIndex,
    SearchQueryError,
    _collect,
    match_expression,
    parse_query,
    transliterate,
)
from kg.store import Store, StoreError
from kg.views.common import select

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}
BASE = "https://w3id.org/digistrat/"


def search(client: TestClient, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/search", params={"q": q, **params}, headers=JSON)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()  # type: ignore[no-any-return]


def iris_of_kind(client: TestClient, q: str, kind: str, **params: Any) -> list[str]:
    """Every hit of ``kind`` for ``q``, page by page."""
    found: list[str] = []
    for page in range(1, 200):
        body = search(client, q, kind=kind, page=page, **params)
        found += [h["iri"] for g in body["groups"] for h in g["hits"]]
        if not body["next"]:
            return found
    raise AssertionError("paging did not end")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


def rows(store: Store, query: str) -> list[dict[str, str]]:
    return [{k: v.value for k, v in r.items()} for r in select(store, query)]


# --- the index -----------------------------------------------------------------------------


def test_the_index_is_built_at_start_up_with_every_resource(client: TestClient,
                                                             store: Store) -> None:
    build = client.app.state.search_index  # type: ignore[attr-defined]
    assert isinstance(build, IndexBuild)
    index = build.wait(60)
    assert isinstance(index, SearchIndex)
    expected = {
        "municipality": "ds:Municipality", "strategy": "ds:Strategy", "decision": "ds:Decision",
        "theme": "ds:Theme"}
    for kind, cls in expected.items():
        count = rows(store, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a {cls} "
                            "FILTER(isIRI(?x)) }")[0]["n"]
        low, high = index.ranges.get(kind, (1, 0))
        assert high - low + 1 == int(count), kind
    quotes = rows(store, "SELECT (COUNT(DISTINCT CONCAT(STR(?h), '|', STR(?q))) AS ?n) "
                         "WHERE { ?h ds:evidence ?e . ?e ds:quote ?q FILTER(isIRI(?h)) }")
    low, high = index.ranges["quote"]
    assert high - low + 1 == int(quotes[0]["n"]) > 0


def test_umlauts_and_case_do_not_matter(client: TestClient, store: Store) -> None:
    """``Zurich``, ``zurich`` and ``Zuerich`` find ``Zürich`` (every municipality with an
    umlaut in its name, by that word)."""
    named = rows(store, "SELECT ?m ?l WHERE { ?m a ds:Municipality ; skos:prefLabel ?l }")
    checked = 0
    for row in named:
        umlaut_words = [w for w in words(row["l"]) if transliterate(w) != w]
        if not umlaut_words:
            continue
        word = max(umlaut_words, key=len)
        for variant in {strip_accents(word), strip_accents(word).lower(),
                        transliterate(word), word.upper()}:
            assert row["m"] in iris_of_kind(client, variant, "municipality"), (variant, row)
        checked += 1
    assert checked >= 3


def test_a_word_finds_longer_words_that_begin_with_it(client: TestClient,
                                                      store: Store) -> None:
    """``Daten`` finds ``Datenbestände nutzen``: a strategy element whose name holds a long
    word is found by the word's first five letters, with its strategy and city."""
    elements = rows(store, """SELECT ?el ?l ?s ?m WHERE { ?el a ?c ; skos:prefLabel ?l .
        VALUES ?c { ds:FocusArea ds:ActionField ds:StrategicThrust ds:Programme }
        ?el ds:isElementOf ?s . ?s a ds:Strategy ; ds:ownedBy ?m } ORDER BY ?el LIMIT 12""")
    assert elements
    for row in elements:
        longest = max(words(row["l"]), key=len)
        if len(longest) < 8:
            continue
        body = search(client, longest[:5], kind="element")
        hits = {h["iri"]: h for g in body["groups"] for h in g["hits"]}
        if row["el"] not in hits:  # not on the first page: it is on a later one
            assert row["el"] in iris_of_kind(client, longest[:5], "element")
            continue
        hit = hits[row["el"]]
        assert hit["strategy"]["iri"] == row["s"]
        assert hit["city"]["iri"] == row["m"]
        assert hit["url"] == "http://testserver/" + row["el"][len(BASE):]


def test_words_of_the_city_narrow_a_search(client: TestClient, store: Store) -> None:
    """``Zürich Daten``: a word of an element's name and a word of its city's name find the
    element (the city's name is the row's context), and not the other cities' elements."""
    found = rows(store, """SELECT ?el ?l ?ml WHERE { ?el a ds:ActionField ; skos:prefLabel ?l ;
        ds:isElementOf ?s . ?s ds:ownedBy ?m . ?m skos:prefLabel ?ml } ORDER BY ?el LIMIT 5""")
    assert found
    for row in found:
        city_word = max(words(row["ml"]), key=len)
        element_word = max(words(row["l"]), key=len)
        hits = iris_of_kind(client, f"{city_word} {element_word}", "element")
        assert row["el"] in hits
        alone = iris_of_kind(client, element_word, "element")
        assert set(hits) <= set(alone)


def test_quotes_are_found_and_lead_to_the_resource_they_back(client: TestClient,
                                                            store: Store) -> None:
    quotes = rows(store, """SELECT ?h ?q WHERE { ?h ds:evidence ?e . ?e ds:quote ?q
        FILTER(isIRI(?h) && LANG(?q) = "de") } ORDER BY ?h ?q LIMIT 5""")
    assert quotes
    for row in quotes:
        rare = sorted(words(row["q"]), key=lambda w: (-len(w), w))[0]
        body = search(client, f'"{rare}"', kind="quote")
        hits = [h for g in body["groups"] for h in g["hits"] if h["iri"] == row["h"]]
        if not hits:  # a long list: it is on a later page
            assert row["h"] in iris_of_kind(client, f'"{rare}"', "quote")
            continue
        assert any(rare.lower() in (h["snippet"] or "").lower() for h in hits)
    page = client.get("/search", params={"q": rare, "kind": "quote"}, headers=HTML)
    assert "<blockquote" in page.text and "<mark>" in page.text


def test_results_are_grouped_by_kind_and_ranked(client: TestClient) -> None:
    body = search(client, "Digital")
    kinds = [g["kind"] for g in body["groups"]]
    assert len(kinds) >= 3
    assert kinds == [k for k in KINDS if k in kinds]
    assert body["total"] == sum(g["total"] for g in body["groups"])
    for group in body["groups"]:
        assert 0 < len(group["hits"]) <= group["total"]
        scores = [h["score"] for h in group["hits"]]
        assert scores == sorted(scores, reverse=True)
        assert all(h["kind"] == group["kind"] for h in group["hits"])
        if group["total"] > len(group["hits"]):
            assert group["more"].endswith(f"kind={group['kind']}&format=json")


def test_a_name_outranks_a_description(client: TestClient, store: Store) -> None:
    """A strategy whose title holds the word ranks above one that only mentions it."""
    body = search(client, "Datenstrategie", kind="strategy")
    hits = body["groups"][0]["hits"]
    titled = [i for i, h in enumerate(hits) if "datenstrategie" in h["label"].lower()]
    others = [i for i, h in enumerate(hits) if "datenstrategie" not in h["label"].lower()]
    if not titled or not others:
        pytest.skip("the data has no strategy of both sorts")
    assert max(titled) < min(others)


def test_labels_in_the_readers_language(client: TestClient, store: Store) -> None:
    themes = rows(store, """SELECT ?t ?de ?en WHERE { ?t a ds:Theme ;
        skos:prefLabel ?de , ?en FILTER(LANG(?de) = "de" && LANG(?en) = "en"
        && STR(?de) != STR(?en)) } ORDER BY ?t LIMIT 3""")
    assert themes
    for row in themes:
        word = max(words(row["de"]), key=len)
        for lang in ("de", "en"):
            body = search(client, word, kind="theme", lang=lang)
            hits = {h["iri"]: h for g in body["groups"] for h in g["hits"]}
            assert hits[row["t"]]["label"] == row[lang]
        page = client.get(hits[row["t"]]["url"].removeprefix("http://testserver"),
                          headers=HTML)
        assert page.status_code == 200  # a theme's page (under /vocab/)


def test_every_hit_links_to_its_page(client: TestClient) -> None:
    body = search(client, "Stadt")
    links = {h["url"] for g in body["groups"] for h in g["hits"]} | {
        h[k]["url"] for g in body["groups"] for h in g["hits"]
        for k in ("city", "strategy", "source") if h[k]}
    assert len(links) >= 5
    for url in sorted(links):
        assert url.startswith("http://testserver/")
        page = client.get(url.removeprefix("http://testserver"), headers=HTML)
        assert page.status_code == 200, url


# --- queries that are not words ------------------------------------------------------------

HOSTILE = ['"', "'", '""', 'Zürich"', "AND", "OR NOT", "NOT Zürich", "NEAR(a b, 2)",
           "{name body}: Stadt", "name:Stadt", "body : x", "*", "Stadt*", "^Stadt", "-Stadt",
           "(((", "a) OR (b", "Stadt + Daten", "rowid=1", "'; DROP TABLE search; --",
           "\\", "\x00", "\u200b", "🙂 Stadt", "Stadt\tDaten\nZürich", "ß", "İstanbul",
           "%", "_", "Stadt_Daten", "a" * MAX_QUERY_CHARS, "1 2 3", "e.V.", "S-Bahn"]


@pytest.mark.parametrize("q", HOSTILE)
def test_no_query_makes_the_index_fail(client: TestClient, q: str) -> None:
    for headers in (JSON, HTML):
        response = client.get("/search", params={"q": q}, headers=headers)
        assert response.status_code in (200, 400), (q, response.status_code)
        if headers is JSON:
            body = response.json()
            assert ("groups" in body) == (response.status_code == 200)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=60))
def test_any_text_is_a_valid_fts5_query(text: str) -> None:
    try:
        terms = parse_query(text)
    except SearchQueryError:
        return
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE search USING fts5(name, body, fold, context, "
               "tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO search VALUES ('Stadt Zürich', 'Datenbestände nutzen', '', '')")
    db.execute("SELECT rowid FROM search WHERE search MATCH ?",
               (match_expression(terms),)).fetchall()


def test_empty_too_long_and_too_many_words(client: TestClient) -> None:
    for q, reason in (("", "empty"), ("   ", "empty"), ('"" ()', "empty"),
                      ("x" * (MAX_QUERY_CHARS + 1), "too-long"),
                      (" ".join(f"w{i}" for i in range(11)), "too-many-words")):
        response = client.get("/search", params={"q": q}, headers=JSON)
        assert response.status_code == 400
        assert response.json()["reason"] == reason
        assert response.json()["type"] == "bad-request"
    empty = client.get("/search", headers=HTML)  # a browser's empty box: the page, a hint
    assert empty.status_code == 200 and "search box" in empty.text
    long = client.get("/search", params={"q": "x" * 300}, headers={**HTML,
                                                                   "Accept-Language": "de"})
    assert long.status_code == 400
    assert "höchstens 200 Zeichen" in long.text and 'role="alert"' in long.text


def test_kind_and_paging(client: TestClient) -> None:
    first = search(client, "Stadt", kind="quote")
    assert [g["kind"] for g in first["groups"]] == ["quote"]
    total = first["groups"][0]["total"]
    if total <= 20:
        pytest.skip("too few quotes for two pages")
    second = search(client, "Stadt", kind="quote", page=2)
    assert first["next"] and first["previous"] is None and second["previous"]
    one = [h["iri"] + (h["snippet"] or "") for h in first["groups"][0]["hits"]]
    two = [h["iri"] + (h["snippet"] or "") for h in second["groups"][0]["hits"]]
    assert len(one) == 20 and not set(one) & set(two)
    assert first["pages"] == -(-total // 20)
    everything = iris_of_kind(client, "Stadt", "quote")
    assert len(everything) == total


def test_past_the_ranking_window_every_hit_comes_once(client: TestClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A kind with more matches than kg.search.WINDOW: the first WINDOW ranked by bm25, the
    rest in the index's order; paging still shows every hit exactly once."""
    ranked = search(client, "Stadt", kind="quote")
    total = ranked["groups"][0]["total"]
    assert total > 25
    every = iris_of_kind(client, "Stadt", "quote")
    monkeypatch.setattr("kg.search.WINDOW", 7)
    first = search(client, "Stadt", kind="quote")["groups"][0]["hits"]
    scores = [h["score"] for h in first]
    assert scores[:7] == sorted(scores[:7], reverse=True)
    windowed = iris_of_kind(client, "Stadt", "quote")
    assert len(windowed) == total and sorted(windowed) == sorted(every)


@pytest.mark.parametrize("params", [{"kind": "nothing"}, {"page": "0"}, {"page": "x"},
                                    {"page": "100000"}, {"format": "xml"}])
def test_bad_parameters_are_400(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/search", params={"q": "Stadt", **params}, headers=JSON)
    assert response.status_code == 400
    assert response.json()["ok"] is False


def test_html_or_json_by_accept_or_format(client: TestClient) -> None:
    page = client.get("/search?q=Stadt", headers=HTML)
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="site-search"' in page.text and 'value="Stadt"' in page.text  # filled back
    assert 'href="/-/static/search.css"' in page.text
    assert page.headers["vary"].startswith("Accept")
    assert client.get("/search?q=Stadt&format=json", headers=HTML).json()["total"] > 0
    assert client.get("/search?q=Stadt").json()["total"] > 0  # curl: */*
    assert client.get("/search?q=Stadt&format=html").headers["content-type"].startswith(
        "text/html")
    assert client.get("/search?q=Stadt", headers={"Accept": "image/png"}).status_code == 406


def test_the_page_speaks_german_when_asked(client: TestClient) -> None:
    german = client.get("/search?q=Stadt", headers={**HTML, "Accept-Language": "de"})
    assert '<html lang="de">' in german.text
    assert "Ergebnisse für" in german.text and "Gremien und Organisationen" in german.text
    english = client.get("/search?q=Stadt", headers={**HTML, "Accept-Language": "en"})
    assert "Results for" in english.text and "Bodies and organisations" in english.text


def test_user_text_is_escaped_in_the_page(client: TestClient) -> None:
    page = client.get("/search", params={"q": '<script>alert(1)</script> "Stadt'},
                      headers=HTML)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


# --- the remote backend ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def remote_client(loaded: str, make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(sparql_endpoint=loaded + "/query")


@pytest.mark.parametrize("q", ["Zurich", "Daten", "Stadtrat", "open data"])
def test_the_same_answers_over_a_remote_store(remote_client: TestClient, client: TestClient,
                                              q: str) -> None:
    remote = search(remote_client, q)
    local = search(client, q)
    assert remote["total"] == local["total"] > 0
    assert remote["groups"] == local["groups"]


def test_triple_terms_as_objects_are_left_out(store: Store) -> None:
    """The index's reads test IRIs as neither blank nor literal (``kg.views.common.is_named``:
    Virtuoso runs ``isIRI`` slowly), which lets an RDF 1.2 triple term through as an object;
    its rows are skipped, so the index and the VoID classes are those without them."""
    data = next(g for g in store.graphs if store.project.layer_of_graph(g.iri) == "data")
    ds, dct = "https://w3id.org/digistrat/ontology#", "http://purl.org/dc/terms/"
    element = select(store, "SELECT ?x WHERE { ?x ds:isElementOf ?s } LIMIT 1")[0]["x"]
    quoted = ox.Triple(element, ox.NamedNode(ds + "isElementOf"), element)
    copy = ox.Store()
    copy.extend(store.ox)
    graph = ox.NamedNode(data.iri)
    copy.extend([ox.Quad(element, ox.NamedNode(p), quoted, graph) for p in (
        dct + "type", ds + "isElementOf", ds + "hasElement",
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#type")])
    with_terms = Store(copy, store.graphs, store.project)
    assert _collect(with_terms) == _collect(store)
    classes = [t for t in void_description(with_terms, "https://example.org/", [])
               if t.predicate.value.endswith("#class")]
    assert classes == [t for t in void_description(store, "https://example.org/", [])
                       if t.predicate.value.endswith("#class")]


# --- built in a child -----------------------------------------------------------------------


def _fresh(store: Store) -> Store:
    """The same data in a store no index was built for yet."""
    copy = ox.Store()
    copy.extend(store.ox)
    return Store(copy, store.graphs, store.project)


def test_an_embedded_stores_index_is_built_in_a_child_and_answers_as_one_built_here(
        store: Store) -> None:
    fresh = _fresh(store)
    build = IndexBuild(fresh)
    assert build._child is not None and build._child.pid != os.getpid()
    child = build.wait(120)
    here = SearchIndex.build(store)
    assert child is not None and len(child) == len(here) > 0
    assert child.ranges == here.ranges
    for q in ("Zurich", "Daten", "Stadtrat", "open data", "Zürich Daten"):
        for lang in ("de", "en"):
            ours, theirs = child.search(q, lang, limit=20), here.search(q, lang, limit=20)
            assert ours.total == theirs.total > 0, q
            assert ours.groups == theirs.groups, q
    assert IndexBuild(fresh).wait(1) is child  # built once per store


def test_a_build_whose_child_is_stopped_fails_and_says_so(store: Store) -> None:
    build = IndexBuild(_fresh(store))
    build.close()
    with pytest.raises(StoreError, match=r"the search index could not be worked out: .*ended"):
        build.wait(60)
    assert build.failed


def test_a_remote_stores_index_is_built_in_a_child_with_a_client_of_its_own(
        remote_client: TestClient) -> None:
    build = remote_client.app.state.search_index  # type: ignore[attr-defined]
    index = build.wait(120)
    assert index is not None and len(index) > 0
    assert build._child is not None and build._child.pid != os.getpid()
    store = remote_client.app.state.store  # type: ignore[attr-defined]
    fresh = store.reopened()
    try:
        assert fresh is not store and fresh.remote is not store.remote
        assert fresh.remote.url == store.remote.url and fresh.graphs == store.graphs
    finally:
        fresh.remote.close()
