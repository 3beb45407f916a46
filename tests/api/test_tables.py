"""Tables with facets, the comparison matrix, the theme views, the charts and the home page,
checked against the store (issue 13: answers without SPARQL)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import OrderedDict, defaultdict
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from kg.namespaces import BASE
from kg.store import Store
from kg.views import charts, strategy, tables

HTML = {"Accept": "text/html"}
DS = BASE + "ontology#"
ACK = BASE + "vocab/decision-type/acknowledgement"


def rows(store: Store, query: str) -> list[dict[str, str]]:
    result = store.ox.query(f"PREFIX ds: <{DS}>\nPREFIX dct: <http://purl.org/dc/terms/>\n"
                            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
                            "PREFIX eli: <http://data.europa.eu/eli/ontology#>\n" + query,
                            use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def local(iri: str) -> str:
    return "/" + iri[len(BASE):]


def shown_iris(html: str) -> list[str]:
    """The IRIs of the table's rows, in order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<tr data-iri="([^"]+)"', body)


def owners(store: Store) -> dict[str, str]:
    return {r["s"]: r["m"] for r in rows(store, "SELECT ?s ?m WHERE { ?s a ds:Strategy ; "
                                                "ds:ownedBy ?m }")}


# --- everyday names ------------------------------------------------------------------------------


@pytest.mark.parametrize(("official", "alt", "expected"), [
    ("Landeshauptstadt München", None, "München"),
    ("Freie und Hansestadt Hamburg", None, "Hamburg"),
    ("Hanse- und Universitätsstadt Rostock", None, "Rostock"),
    ("Kanton Zürich", None, "Zürich"),
    ("Stadt Halle (Saale)", None, "Halle (Saale)"),
    ("Wissenschaftsstadt Darmstadt", None, "Darmstadt"),
    ("Stadt Neustadt an der Weinstraße", None, "Neustadt an der Weinstraße"),
    ("Markt Postbauer-Heng", None, "Postbauer-Heng"),
    ("République et canton de Genève", None, "Genève"),
    ("Berlin", None, "Berlin"),
    ("Stadt", None, "Stadt"),
    ("Landeshauptstadt München", "München", "München"),
    ("Stadt Frankfurt am Main", "Frankfurt", "Frankfurt"),
])
def test_everyday_name(official: str, alt: str | None, expected: str) -> None:
    assert tables.everyday_name(official, alt) == expected


def test_collation_ignores_case_and_umlauts() -> None:
    names = ["Zürich", "München", "Mainz", "Österreich", "Oberhausen", "Aachen", "Ölten"]
    assert sorted(names, key=tables.collation_key) == [
        "Aachen", "Mainz", "München", "Oberhausen", "Ölten", "Österreich", "Zürich"]


def test_tables_are_built_once_per_store_and_language(store: Store) -> None:
    first = tables.tables(store, "en")
    assert tables.tables(store, "en") is first
    assert tables.tables(store, "de") is not first


def test_a_view_asked_again_is_kept_not_made_again(store: Store,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A view of the tables (a list, the matrix, a theme), asked again or at another page,
    is kept by its query without the page (each was a pass over every row per request:
    12,571 municipalities at 10M triples); its pages are those of a view made afresh."""
    t = tables.tables(store, "en")
    kept, afresh = replace(t, _kept=OrderedDict()), replace(t, _kept=OrderedDict())
    passes: list[str] = []
    facet_list = tables.facet_list
    monkeypatch.setattr(tables, "facet_list",
                        lambda *a, **k: passes.append("facets") or facet_list(*a, **k))
    asked = [("country", "de"), ("sort", "-year"), ("size", "10")]
    first = tables.table_view(kept, "strategies", asked, "/-/strategies")
    second = tables.table_view(kept, "strategies", [*asked, ("page", "2")], "/-/strategies")
    assert passes == ["facets"] and second.page == 2 and second.pages == first.pages > 1
    made = tables.table_view(afresh, "strategies", [*asked, ("page", "2")], "/-/strategies")
    assert [r.iri for r in second.rows] == [r.iri for r in made.rows] != \
        [r.iri for r in first.rows]
    assert second.link() == made.link() and second.facets == made.facets

    monkeypatch.setattr(tables, "MATRIX_PAGE_SIZE", 10)
    matrix = tables.matrix_view(kept, [("country", "de"), ("page", "2")])
    again = tables.matrix_view(kept, [("country", "de")])
    assert again.query.page == 1 and again.municipalities is matrix.municipalities
    assert matrix.page().items == tables.matrix_view(
        afresh, [("country", "de"), ("page", "2")]).page().items

    theme = tables.theme_view(kept, "open-data", [("country", "de")])
    assert theme is not None
    same = tables.theme_view(kept, "open-data", [("country", "de"), ("page", "1")])
    assert same is not None and same.entries is theme.entries

    monkeypatch.setattr(tables, "VIEWS_KEPT", 2)  # the least recently asked goes first
    for country in ("ch", "at", "de"):
        tables.table_view(kept, "municipalities", [("country", country)], "/-/municipalities")
    passes.clear()
    tables.table_view(kept, "municipalities", [("country", "de")], "/-/municipalities")
    tables.table_view(kept, "municipalities", [("country", "ch")], "/-/municipalities")
    assert passes == ["facets"] and len(kept._kept) == 2


def test_labels_asked_in_parts_are_the_same(store: Store, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """Labels are asked for LABELS_PER_QUERY IRIs at a time (Virtuoso refuses one VALUES
    block of 5,000 IRIs); the parts give what one query gives."""
    from kg.views import common
    iris = [r["x"] for r in rows(store, "SELECT DISTINCT ?x { ?x dct:subject ?t }")]
    assert len(iris) > 100
    whole = common.labels(store, iris, "de")
    monkeypatch.setattr(common, "LABELS_PER_QUERY", 7)
    assert common.labels(store, iris, "de") == whole
    assert len(whole) > 100


def test_a_small_block_of_labels_is_asked_in_pieces(store: Store,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Virtuoso answers a VALUES block of 96–190 IRIs six times slower than one of 90 or 200
    (kg.views.common.LABELS_SMALL_PIECE): a block under 200 IRIs is asked in pieces of at
    most 90, a larger one whole (up to LABELS_PER_QUERY); the pieces give what one query
    gives."""
    from kg.views import common
    iris = sorted({r["x"] for r in rows(store, "SELECT DISTINCT ?x { ?x dct:subject ?t }")})
    assert len(iris) > 250
    sizes: list[int] = []
    real = common._label_rows

    def counting(store: Store, pattern: str) -> list[dict[str, common.Term]]:
        sizes.append(pattern.count("<"))
        return real(store, pattern)

    monkeypatch.setattr(common, "_label_rows", counting)
    whole = common.labels(store, iris[:250], "de")
    assert sizes == [250]
    for count, pieces in ((150, [90, 60]), (199, [90, 90, 19]), (90, [90])):
        sizes.clear()
        found = common.labels(store, iris[:count], "de")
        assert sizes == pieces
        assert found == {i: label for i, label in whole.items() if i in iris[:count]}


# --- the strategies table ----------------------------------------------------------------------


def test_every_strategy_is_listed_with_its_city(client: TestClient, store: Store) -> None:
    owned = owners(store)
    everything = {r["s"] for r in rows(store, "SELECT ?s WHERE { ?s a ds:Strategy }")}
    assert len(everything) > 100
    page = client.get("/-/strategies?size=500", headers=HTML).text
    assert set(shown_iris(page)) == everything
    t = tables.tables(store, "en")
    checked = 0
    for tr in re.findall(r'<tr data-iri="([^"]+)">(.*?)</tr>', page, re.S):
        iri, cells = tr
        if iri in owned:
            city = t.municipalities[owned[iri]]
            assert f'<a href="{local(city.iri)}">{city.display}</a>' in cells
            checked += 1
    assert checked == len(owned)


def test_pages_cover_every_row_once(client: TestClient, store: Store) -> None:
    total = len(rows(store, "SELECT ?s WHERE { ?s a ds:Strategy }"))
    seen: list[str] = []
    page = 1
    while True:
        data = client.get(f"/-/strategies?format=json&size=40&page={page}").json()
        seen += [r["strategy"] for r in data["rows"]]
        if not data["next"]:
            break
        assert "page=" in data["next"] and "format=json" in data["next"]
        page += 1
    assert page == -(-total // 40)
    assert len(seen) == len(set(seen)) == total


def test_country_facet_counts_come_from_the_iris(client: TestClient, store: Store) -> None:
    owned = owners(store)
    expected: dict[str, int] = defaultdict(int)
    for muni in owned.values():
        expected[muni.split("/municipality/", 1)[1][:2]] += 1
    data = client.get("/-/strategies?format=json").json()
    counts = {v["value"]: v["count"] for v in data["facets"]["country"]}
    assert counts == dict(expected)
    assert set(counts) >= {"de", "ch", "at"}


def test_facets_combine(client: TestClient, store: Store) -> None:
    adopted_ch = {r["s"] for r in rows(store, """SELECT ?s WHERE { ?s a ds:Strategy ;
        ds:ownedBy ?m ; ds:lifecycleStatus <https://w3id.org/digistrat/vocab/lifecycle-status/adopted>
        FILTER(STRSTARTS(STR(?m), "https://w3id.org/digistrat/id/municipality/ch-")) }""")}
    assert adopted_ch
    data = client.get("/-/strategies?format=json&size=500&country=ch&status=adopted").json()
    assert {r["strategy"] for r in data["rows"]} == adopted_ch
    assert data["total"] == len(adopted_ch)
    # the count beside a value of another facet is the rows that value would leave
    for value in data["facets"]["type"]:
        narrowed = client.get(f"/-/strategies?format=json&size=500&country=ch&status=adopted"
                              f"&type={value['value']}").json()
        assert narrowed["total"] == value["count"]
    # two values of one facet: either
    both = client.get("/-/strategies?format=json&size=500&country=ch&country=at").json()
    alone = [client.get(f"/-/strategies?format=json&size=500&country={c}").json()["total"]
             for c in ("ch", "at")]
    assert both["total"] == sum(alone)


def test_a_strategy_of_two_types_counts_under_both(client: TestClient, store: Store) -> None:
    """Some strategies state two types (e.g. digital and smart-city strategy): the type facet
    counts each strategy under every type it states, and both tables show all of them."""
    typed: dict[str, set[str]] = defaultdict(set)
    for row in rows(store, "SELECT ?s ?t WHERE { ?s a ds:Strategy ; dct:type ?t }"):
        typed[row["t"].rsplit("/", 1)[1]].add(row["s"])
    assert any(len([t for t in typed if s in typed[t]]) > 1 for s in owners(store))
    data = client.get("/-/strategies?format=json&size=500").json()
    counts = {v["value"]: v["count"] for v in data["facets"]["type"] if v["value"] in typed}
    assert counts == {t: len(members) for t, members in typed.items()}
    for kind, members in typed.items():
        narrowed = client.get(f"/-/strategies?format=json&size=500&type={kind}").json()
        assert {r["strategy"] for r in narrowed["rows"]} == members
    two = next(s for s in owners(store) if sum(s in m for m in typed.values()) > 1)
    row = next(r for r in data["rows"] if r["strategy"] == two)
    assert len(row["type"]) == 2
    city = owners(store)[two]
    municipalities = client.get("/-/municipalities?format=json&size=500").json()["rows"]
    assert set(row["type"]) <= set(next(m for m in municipalities
                                         if m["municipality"] == city)["types"])
    page = client.get("/-/municipalities?size=500", headers=HTML).text
    shown = page.split(f'<tr data-iri="{city}">', 1)[1].split("</tr>", 1)[0]
    assert all(str(escape(label)) in shown for label in row["type"])


def test_theme_facet(client: TestClient, store: Store) -> None:
    tagged = {r["s"] for r in rows(store, """SELECT DISTINCT ?s WHERE { ?s a ds:Strategy .
        { ?s dct:subject <https://w3id.org/digistrat/vocab/theme/open-data> } UNION
        { ?x (ds:isElementOf|^ds:hasElement)+ ?s ;
             dct:subject <https://w3id.org/digistrat/vocab/theme/open-data> } }""")}
    assert tagged
    data = client.get("/-/strategies?format=json&size=500&theme=open-data").json()
    assert {r["strategy"] for r in data["rows"]} == tagged


def test_sorting_puts_undated_last_both_ways(client: TestClient) -> None:
    for sort in ("year", "-year"):
        data = client.get(f"/-/strategies?format=json&size=500&sort={sort}").json()
        years = [r["year"] for r in data["rows"]]
        dated = [y for y in years if y is not None]
        assert dated and None in years
        assert years == dated + [None] * (len(years) - len(dated))
        assert dated == sorted(dated, reverse=sort.startswith("-"))
    html = client.get("/-/strategies?sort=-year&size=500", headers=HTML).text
    assert 'aria-sort="descending"' in html and ">undated<" in html


def test_sorting_by_city_uses_everyday_names(client: TestClient) -> None:
    data = client.get("/-/strategies?format=json&size=500&sort=city").json()
    cities = [r["city"] for r in data["rows"] if r["city"]]
    assert len(cities) > 100
    assert cities == sorted(cities, key=tables.collation_key)
    assert not any(c.startswith(("Stadt ", "Landeshauptstadt ", "Kanton ")) for c in cities)


def test_csv_and_json_are_what_the_page_shows(client: TestClient) -> None:
    query = "country=de&sort=-year&size=20&page=2"
    html = client.get(f"/-/strategies?{query}", headers=HTML).text
    shown = shown_iris(html)
    assert len(shown) == 20
    answer = client.get(f"/-/strategies?{query}&format=csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["strategy"] for r in table] == shown
    data = client.get(f"/-/strategies?{query}&format=json").json()
    assert [r["strategy"] for r in data["rows"]] == shown
    assert data["columns"] == list(table[0])
    # the page links its downloads with the same parameters
    assert re.search(r'href="/-/strategies\?[^"]*format=csv"', html)
    link = re.search(r'href="(/-/strategies\?[^"]*format=csv)"', html)
    assert link
    again = client.get(link.group(1).replace("&amp;", "&"))
    assert [r["strategy"] for r in csv.DictReader(io.StringIO(again.text))] == shown


def test_city_filter_and_its_chip(client: TestClient, store: Store) -> None:
    owned = owners(store)
    muni = sorted(set(owned.values()))[0]
    key = muni.rsplit("/", 1)[1]
    html = client.get(f"/-/strategies?city={key}", headers=HTML).text
    assert set(shown_iris(html)) == {s for s, m in owned.items() if m == muni}
    assert f'data-facet="city" data-value="{key}"' in html


@pytest.mark.parametrize("query", ["sort=nothing", "page=0", "page=x", "size=100000",
                                   "format=xml"])
def test_bad_parameters_are_400(client: TestClient, query: str) -> None:
    answer = client.get(f"/-/strategies?{query}")
    assert answer.status_code == 400
    assert answer.json()["ok"] is False


@pytest.mark.parametrize("path", ["/-/strategies", "/-/municipalities"])
def test_a_page_past_the_last_is_404_and_says_how_many_there_are(client: TestClient,
                                                                   path: str) -> None:
    pages = client.get(f"{path}?format=json&size=10").json()["pages"]
    answer = client.get(f"{path}?format=json&size=10&page={pages + 1}")
    assert answer.status_code == 404
    assert f"pages run from 1 to {pages}" in answer.json()["error"]
    assert client.get(f"{path}?format=json&size=10&page={pages}").status_code == 200


def test_facet_links_toggle(client: TestClient) -> None:
    html = client.get("/-/strategies?country=ch", headers=HTML).text
    facet = html.split('data-facet="country"', 1)[1].split("</details>", 1)[0]
    links = dict(re.findall(r'<a href="([^"]+)" data-value="([^"]+)"', facet))
    by_value = {v: k.replace("&amp;", "&") for k, v in links.items()}
    assert by_value["ch"] == "/-/strategies"  # choosing it again removes it
    assert by_value["de"] == "/-/strategies?country=ch&country=de"


# --- the municipalities table -----------------------------------------------------------------


def test_municipalities_by_everyday_name(client: TestClient, store: Store) -> None:
    everything = {r["m"] for r in rows(store, "SELECT ?m WHERE { ?m a ds:Municipality }")}
    data = client.get("/-/municipalities?format=json&size=500").json()
    assert {r["municipality"] for r in data["rows"]} == everything
    names = [r["name"] for r in data["rows"]]
    assert names == sorted(names, key=tables.collation_key)
    munich = next(r for r in data["rows"] if r["municipality"].endswith("de-09162000"))
    assert munich["name"] == "München"
    assert munich["official_name"] == "Landeshauptstadt München"


def test_municipality_strategy_facets(client: TestClient, store: Store) -> None:
    without = {r["m"] for r in rows(store, """SELECT ?m WHERE { ?m a ds:Municipality
        FILTER NOT EXISTS { ?s ds:ownedBy ?m } }""")}
    data = client.get("/-/municipalities?format=json&size=500&type=none").json()
    assert {r["municipality"] for r in data["rows"]} == without
    with_open_data = client.get("/-/municipalities?format=json&size=500&theme=open-data").json()
    strategies = client.get("/-/strategies?format=json&size=500&theme=open-data").json()
    assert {r["municipality"] for r in with_open_data["rows"]} == {
        r["city_iri"] for r in strategies["rows"] if r["city_iri"]}
    answer = client.get("/-/municipalities?format=csv&country=at")
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert table and all("/municipality/at-" in r["municipality"] for r in table)


# --- the comparison matrix ----------------------------------------------------------------------


def matrix_from_store(store: Store) -> dict[tuple[str, str], set[str]]:
    cells: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows(store, """SELECT ?m ?t ?x WHERE { ?s a ds:Strategy ; ds:ownedBy ?m .
            ?x dct:subject ?t .
            FILTER(?x = ?s || EXISTS { ?x (ds:isElementOf|^ds:hasElement)+ ?s }) }"""):
        cells[(row["m"], row["t"].rsplit("/", 1)[1])].add(row["x"])
    return cells


def test_matrix_counts(client: TestClient, store: Store) -> None:
    expected = matrix_from_store(store)
    assert expected
    data = client.get("/-/compare?format=json").json()
    found = {(r["municipality"], theme): n for r in data["rows"]
             for theme, n in r["counts"].items() if n}
    assert found == {k: len(v) for k, v in expected.items()}
    html = client.get("/-/compare", headers=HTML).text
    for (muni, theme), items in list(expected.items())[:40]:
        key = muni.rsplit("/", 1)[1]
        assert re.search(rf'<a href="/-/themes/{theme}#{key}">{len(items)}</a>', html)
    assert "<details" not in html.split('class="matrix"', 1)[1]  # counts are not collapsed


def test_matrix_filters_and_csv(client: TestClient, store: Store) -> None:
    data = client.get("/-/compare?format=json&country=at&theme=open-data&theme=mobility").json()
    assert {t["label"] for t in data["themes"]} <= {"open data", "mobility"}
    assert data["rows"] and all("/municipality/at-" in r["municipality"] for r in data["rows"])
    answer = client.get("/-/compare?format=csv&country=at&theme=open-data&theme=mobility")
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0][:4] == ["municipality", "name", "country", "level"]
    assert len(table) == len(data["rows"]) + 1
    html = client.get("/-/compare?country=at", headers=HTML).text
    assert 'name="country" value="at" checked' in html
    assert 'href="/-/compare?country=at&amp;format=csv"' in html




def test_the_matrix_pages_through_its_rows(client: TestClient,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The HTML matrix shows MATRIX_PAGE_SIZE rows a page, its links keep the filters; the
    downloads hold every row that matches."""
    row = r'<tr><th scope="row" data-iri="([^"]+)">'
    every = client.get("/-/compare?country=de&lang=en", headers=HTML).text
    assert 'class="pager"' not in every  # the bundled data fits on one page
    everyone = re.findall(row, every)
    assert len(everyone) > 30
    monkeypatch.setattr(tables, "MATRIX_PAGE_SIZE", 12)
    last = -(-len(everyone) // 12)
    seen: list[str] = []
    for number in range(1, last + 1):
        html = client.get(f"/-/compare?country=de&lang=en&page={number}", headers=HTML).text
        seen += re.findall(row, html)
        assert f"Page {number} of {last}" in html
        assert (f'href="/-/compare?country=de&amp;page={number + 1}" rel="next"' in html) \
            == (number < last)
        assert f"{len(everyone)} municipalities ×" in html
    assert seen == everyone  # every row once, in the same order
    data = client.get("/-/compare?format=json&country=de&page=2").json()
    assert [r["municipality"] for r in data["rows"]] == everyone
    past = client.get(f"/-/compare?page={last + 1}&country=de", headers=HTML)
    assert past.status_code == 404
    assert client.get("/-/compare?page=x", headers=HTML).status_code == 400
# --- the theme views --------------------------------------------------------------------------


def test_theme_view_lists_cities_with_their_elements(client: TestClient, store: Store) -> None:
    expected = {k: v for k, v in matrix_from_store(store).items() if k[1] == "open-data"}
    assert expected
    html = client.get("/-/themes/open-data", headers=HTML).text
    sections = dict(re.findall(r'<section class="theme-city" id="([^"]+)" data-iri="[^"]+">'
                               r"(.*?)</section>", html, re.S))
    assert set(sections) == {m.rsplit("/", 1)[1] for m, _ in expected}
    for (muni, _), items in expected.items():
        body = sections[muni.rsplit("/", 1)[1]]
        for item in items:
            assert f'href="{local(item)}"' in body
    assert client.get("/-/themes/no-such-theme").status_code == 404
    index = client.get("/-/themes", headers=HTML).text
    assert 'href="/-/themes/open-data"' in index and "<svg" in index



def test_theme_view_pages_and_the_matrix_links_to_the_page(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """THEME_PAGE_SIZE municipalities a page; a count in the matrix opens the page that holds
    its municipality's section."""
    section = r'<section class="theme-city" id="([^"]+)"'
    theme = max(tables.tables(client.app.state.store, "en").theme_municipalities.items(),
                key=lambda kv: len(kv[1]))[0]
    everyone = re.findall(section, client.get(f"/-/themes/{theme}", headers=HTML).text)
    assert len(everyone) > 20
    monkeypatch.setattr(tables, "THEME_PAGE_SIZE", 8)
    page_of: dict[str, int] = {}
    number = 1
    while True:
        html = client.get(f"/-/themes/{theme}?country=de&page={number}", headers=HTML).text
        page_of.update((key, number) for key in re.findall(section, html))
        if 'rel="next"' not in html:
            break
        assert f'href="/-/themes/{theme}?country=de&amp;page={number + 1}" rel="next"' in html
        number += 1
    assert number > 1 and set(page_of) <= set(everyone)
    matrix = client.get(f"/-/compare?theme={theme}", headers=HTML).text
    links = re.findall(rf'<a href="/-/themes/{theme}(?:\?page=(\d+))?#([^"]+)">', matrix)
    assert len(links) == len(everyone)
    unfiltered = {key: rank // 8 + 1 for rank, key in enumerate(everyone)}
    assert {key: int(page or 1) for page, key in links} == unfiltered
    assert client.get(f"/-/themes/{theme}?page=99", headers=HTML).status_code == 404

# --- charts -------------------------------------------------------------------------------


def test_adoption_chart_counts(client: TestClient, store: Store) -> None:
    dates: dict[str, set[str]] = defaultdict(set)
    for row in rows(store, f"""SELECT ?s ?date WHERE {{ ?s a ds:Strategy ; ds:ownedBy ?m ;
            ds:adoptedIn|^ds:adopts ?d . ?d eli:date_document ?date .
            OPTIONAL {{ ?d ds:decisionType ?type }}
            FILTER(!BOUND(?type) || ?type IN (<{BASE}vocab/decision-type/adoption>,
                   <{BASE}vocab/decision-type/update>, <{BASE}vocab/decision-type/amendment>))
            }}"""):
        dates[row["s"]].add(row["date"])
    assert dates
    expected: dict[int, int] = defaultdict(int)
    for values in dates.values():
        expected[int(min(values)[:4])] += 1
    t = tables.tables(store, "en")
    chart = charts.adoptions_by_year(t, list(t.strategies.values()))
    assert {r[0]: r[-1] for r in chart.rows} == dict(expected)
    ET.fromstring(chart.svg)  # well-formed
    html = client.get("/-/charts", headers=HTML).text
    assert html.count("<svg") == 2 and html.count('<table class="numbers">') == 2


def test_chart_texts_are_escaped(store: Store) -> None:
    t = tables.tables(store, "en")
    hostile = '<script>alert("x")</script> & more'
    themes = {k: hostile for k in t.concepts["theme"]}
    fake = replace(t, concepts={**t.concepts, "theme": themes})
    chart = charts.theme_shares(fake, list(t.strategies.values()))
    assert chart.rows and "<script>" not in chart.svg
    root = ET.fromstring(chart.svg)
    assert any(hostile[:27] in (el.text or "") for el in root.iter())


def test_structure_chart_counts_top_level_elements(store: Store) -> None:
    found = rows(store, "SELECT ?s (COUNT(?e) AS ?n) WHERE { ?e ds:isElementOf ?s . "
                        "?s a ds:Strategy } GROUP BY ?s ORDER BY DESC(?n) LIMIT 1")
    if not found:
        pytest.skip("no strategy with elements")
    iri = found[0]["s"]
    tree, _ = strategy.strategy_tree(store, iri, "en")
    chart = charts.structure_chart(tree, {}, "en")
    assert len(chart.rows) == int(found[0]["n"])
    assert sum(r[1] for r in chart.rows) == len(strategy.walk(tree)) - len(chart.rows) - (
        1 if tree and not tree[0].label else 0)
    ET.fromstring(chart.svg)


def test_an_element_in_two_strategies_sits_under_its_parent_in_each(store: Store) -> None:
    """E2 is an element of E1 (in S1) and of A (in S2; its IRI sorts first): each strategy's
    tree shows it under its own parent, not under the other strategy's element, and not
    lost."""
    import pyoxigraph as ox

    from kg.store import GraphInfo

    ds, ex = "https://w3id.org/digistrat/ontology#", "https://example.net/"
    turtle = f"""@prefix ds: <{ds}> . @prefix ex: <{ex}> .
        ex:S1 a ds:Strategy . ex:S2 a ds:Strategy .
        ex:E1 a ds:ActionField ; ds:isElementOf ex:S1 ; ds:position 1 .
        ex:A a ds:ActionField ; ds:isElementOf ex:S2 ; ds:position 1 .
        ex:E2 a ds:Measure ; ds:isElementOf ex:E1 , ex:A ; ds:position 1 .
        ex:E3 a ds:ActionField ; ds:position 2 . ex:S1 ds:hasElement ex:E3 ."""
    graph = ox.NamedNode(ex + "graph")
    small = ox.Store()
    small.extend(ox.Quad(t.subject, t.predicate, t.object, graph)
                 for t in ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE))
    tree_store = Store(small, [GraphInfo(graph.value, "small.ttl", len(small))],
                       store.project)

    def shape(nodes: list[strategy.TreeNode]) -> list[tuple[str, list[object]]]:
        return [(n.iri.removeprefix(ex), shape(n.children)) for n in nodes]

    first, _ = strategy.strategy_tree(tree_store, ex + "S1", "en")
    assert shape(first) == [("E1", [("E2", [])]), ("E3", [])]
    second, _ = strategy.strategy_tree(tree_store, ex + "S2", "en")
    assert shape(second) == [("A", [("E2", [])])]


# --- home, timeline, coverage ------------------------------------------------------------------


def test_home_sorted_by_everyday_name(client: TestClient, store: Store) -> None:
    html = client.get("/", headers=HTML).text
    t = tables.tables(store, "en")
    cards = re.findall(r'<section class="card municipality" data-iri="([^"]+)"', html)
    assert len(cards) == len(t.municipalities)
    names = [t.municipalities[c].display for c in cards]
    assert names == sorted(names, key=tables.collation_key)
    undated = [s for s in t.strategies.values() if s.year is None and s.city]
    assert undated and ">undated<" in html
    latest = html.split('class="latest-list"', 1)[1].split("</ol>", 1)[0]
    for item in re.findall(r"<li>(.*?)</li>", latest, re.S):
        assert 'class="city"><a href="/id/municipality/' in item


def test_timeline_and_coverage_name_cities(client: TestClient, store: Store) -> None:
    t = tables.tables(store, "en")
    timeline = client.get("/-/timeline", headers=HTML).text
    undated = timeline.split("date not known", 1)[1]
    named = [s for s in t.strategies.values() if s.city and f'href="{local(s.iri)}"' in undated]
    assert named
    for s in named:
        assert f"{escape(s.title)}</a> ({escape(s.city.display)})" in undated
    coverage = client.get("/-/coverage", headers=HTML).text
    strategy_rows = re.findall(r'<td><a href="/id/strategy/[^"]+">[^<]*</a>(.*?)</td>', coverage)
    assert strategy_rows and all('class="muted">· ' in r for r in strategy_rows)


def test_pages_speak_german(client: TestClient) -> None:
    for path, heading in [("/-/strategies", "Strategien"), ("/-/municipalities", "Gemeinden"),
                          ("/-/compare", "Gemeinden × Themen"), ("/-/charts", "Diagramme"),
                          ("/-/themes", "Themen")]:
        html = client.get(path + "?lang=de", headers=HTML).text
        assert '<html lang="de">' in html
        assert f"<h1>{heading}" in html
    data = client.get("/-/strategies?format=json&lang=de&country=ch").json()
    assert data["rows"][0]["country"] == "Schweiz"
    client.cookies.clear()


def test_json_is_json(client: TestClient) -> None:
    for path in ("/-/strategies", "/-/municipalities", "/-/compare", "/-/themes",
                 "/-/themes/open-data"):
        answer = client.get(path + "?format=json")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        json.loads(answer.text)


def test_structure_partial_renders_for_the_strategy_page(store: Store) -> None:
    """The strategy page (its owner's template) includes _strategy_structure.html with
    structure_chart in its context: the chart and its table, or nothing."""
    from api.rendering import ENVIRONMENT

    found = rows(store, "SELECT ?s WHERE { ?e ds:isElementOf ?s . ?s a ds:Strategy } LIMIT 1")
    if not found:
        pytest.skip("no strategy with elements")
    tree, _ = strategy.strategy_tree(store, found[0]["s"], "en")
    chart = charts.structure_chart(tree, {}, "en")
    partial = ENVIRONMENT.get_template("_strategy_structure.html")
    html = partial.render({"structure_chart": chart, "href": lambda x: x})
    assert "<svg" in html and '<table class="numbers">' in html
    assert 'href="/-/static/tables.css"' in html
    assert len(re.findall(r'<th scope="row">', html)) == len(chart.rows)
    empty = charts.structure_chart([], {}, "en")
    assert "<svg" not in partial.render({"structure_chart": empty, "href": lambda x: x})
    assert partial.render({"href": lambda x: x}).strip() == ""
