"""HTML pages, pictures, downloads and the catalogue, checked against the store."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF
from support import asgi_messages

from api.app import create_app
from api.routes import resources
from api.routes.pages import download_files
from api.settings import Settings
from kg.export import dump_folder
from kg.namespaces import BASE
from kg.project import Project
from kg.store import Store

DS = Namespace(BASE + "ontology#")
HTML = {"Accept": "text/html"}


def rows(store: Store, query: str) -> list[dict[str, str]]:
    result = store.ox.query("PREFIX ds: <" + str(DS) + ">\nPREFIX dct: <http://purl.org/dc/terms/>\n"
                            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
                            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n" + query,
                            use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def local(iri: str) -> str:
    return "/" + iri[len(BASE):]


def test_home_lists_every_municipality_and_strategy(client: TestClient, store: Store) -> None:
    html = client.get("/", headers=HTML).text
    query = "SELECT ?x WHERE { { ?x a ds:Municipality } UNION { ?x a ds:Strategy } }"
    found = rows(store, query)
    assert len(found) > 100  # the loop below checks something
    for row in found:
        assert f'href="{local(row["x"])}"' in html


def test_language_switch_and_cookie(make_client) -> None:  # type: ignore[no-untyped-def]
    browser = make_client()
    path = "/id/strategy/zuerich-digitalisierungsstrategie-2024"
    english = browser.get(path, headers={**HTML, "Accept-Language": "en"})
    assert "<html lang=\"en\"" in english.text and "Structure of the strategy" in english.text
    german = browser.get(path, headers={**HTML, "Accept-Language": "de-CH,de;q=0.9,en;q=0.5"})
    assert "<html lang=\"de\"" in german.text and "Gliederung der Strategie" in german.text
    switched = browser.get(path + "?lang=en", headers={**HTML, "Accept-Language": "de"})
    assert "<html lang=\"en\"" in switched.text
    assert switched.cookies.get("lang") == "en" or browser.cookies.get("lang") == "en"
    # the cookie now wins over Accept-Language
    again = browser.get(path, headers={**HTML, "Accept-Language": "de"})
    assert "<html lang=\"en\"" in again.text
    assert 'href="' + path + '?lang=de"' in again.text


def test_property_labels_follow_the_language(client: TestClient, store: Store) -> None:
    labels = {r["l"] for r in rows(store, 'SELECT ?l WHERE { ds:ownedBy rdfs:label ?l '
                                          'FILTER(LANG(?l) = "de") }')}
    assert labels
    html = client.get("/id/strategy/zuerich-digitalisierungsstrategie-2024?lang=de",
                      headers=HTML).text
    assert any(f">{label}<" in html for label in labels)


def test_strategy_page_shows_the_tree_in_order(client: TestClient, store: Store) -> None:
    strategy = BASE + "id/strategy/zuerich-digitalisierungsstrategie-2024"
    top = rows(store, f"""SELECT ?el ?pos WHERE {{ ?el ds:isElementOf <{strategy}> ;
                          ds:position ?pos }} ORDER BY ?pos""")
    if not top:
        pytest.skip("no elements in the data")
    html = client.get(local(strategy), headers=HTML).text
    positions = [html.index(f'data-iri="{row["el"]}"') for row in top]
    assert positions == sorted(positions)
    children = rows(store, f"""SELECT ?child WHERE {{ ?child ds:isElementOf ?el .
                               ?el ds:isElementOf <{strategy}> }}""")
    for child in children:
        assert f'data-iri="{child["child"]}"' in html


def test_a_page_asks_the_label_of_each_iri_once(client: TestClient, store: Store,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A strategy page names its tree's IRIs in the tree and again among its properties; an
    element page names its strategy's tree and its own properties: each IRI's label is asked
    of the store once a page."""
    from kg.views import common
    asked: list[str] = []
    real = common.labels

    def recording(store: Store, iris: list[str], lang: str) -> dict[str, str]:
        asked.extend(iris)
        return real(store, iris, lang)

    monkeypatch.setattr(common, "labels", recording)
    strategy = BASE + "id/strategy/zuerich-digitalisierungsstrategie-2024"
    element = rows(store, f"SELECT ?el WHERE {{ ?el ds:isElementOf <{strategy}> }} LIMIT 1")
    assert element
    for page, own in ((strategy, DS.ownedBy), (element[0]["el"], DS.isElementOf)):
        asked.clear()
        assert client.get(local(page), headers=HTML).status_code == 200
        assert {element[0]["el"], str(own)} <= set(asked)  # the tree's and the page's own
        assert not {i for i in asked if asked.count(i) > 1}, page


def test_labels_asked_before_are_not_asked_again_even_when_none_was_found(
        store: Store) -> None:
    """A page's labels so far may be none (no IRI it asked has a label): the IRIs it asked
    are still not asked again."""
    from kg.views import common, resource
    nameless = "https://example.org/nameless"
    names = common.Names(store, "en").ask([nameless])
    assert not names and names.asked == {nameless}
    assert resource.names_for(store, [], "en", [nameless], names) is names


def test_strategy_page_cites_its_sources(client: TestClient, store: Store) -> None:
    strategy = BASE + "id/strategy/zuerich-digitalisierungsstrategie-2024"
    cited = rows(store, f"""SELECT ?title ?url WHERE {{ <{strategy}> dct:source ?s .
                            ?s dct:title ?title
                            OPTIONAL {{ ?s <https://schema.org/url> ?url }} }}""")
    assert cited
    html = client.get(local(strategy), headers=HTML).text
    section = html[html.index('class="sources"'):]
    for row in cited:
        assert row["title"] in section
        if "url" in row:
            assert f'href="{row["url"]}"' in section


def test_strategy_page_links_predecessor_and_decision(client: TestClient, store: Store) -> None:
    successions = rows(store, """SELECT ?s ?old ?d WHERE { ?s dct:replaces ?old
                              OPTIONAL { ?s ds:adoptedIn ?d } } LIMIT 5""")
    assert successions
    for row in successions:
        html = client.get(local(row["s"]), headers=HTML).text
        predecessor = html[html.index('class="predecessor"'):]
        assert f'href="{local(row["old"])}"' in predecessor
        if "d" in row:
            assert f'href="{local(row["d"])}"' in html[html.index('class="adoption"'):]


def test_municipality_page(client: TestClient, store: Store) -> None:
    municipalities = rows(store, "SELECT ?m WHERE { ?m a ds:Municipality }")
    assert len(municipalities) > 100
    for muni in municipalities:
        html = client.get(local(muni["m"]), headers=HTML).text
        own = {r["s"] for r in rows(store, f"SELECT ?s WHERE {{ ?s ds:ownedBy <{muni['m']}> }}")}
        listed = set(re.findall(r'class="strategy-item"><span class="year">[^<]*</span>\s*'
                                r'<a href="([^"]+)"', html))
        assert listed == {local(s) for s in own}, muni["m"]
        for key, register in ((str(DS.bfsNumber), "https://ld.admin.ch/municipality/"),):
            for value in rows(store, f"SELECT ?v WHERE {{ <{muni['m']}> <{key}> ?v }}"):
                assert f'href="{register}{value["v"]}"' in html


def test_incoming_links_are_paged(client: TestClient, store: Store,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = BASE + "vocab/theme/e-government-services"
    linking = {r["s"] for r in rows(store, f"SELECT DISTINCT ?s WHERE {{ ?s ?p <{target}> "
                                           "FILTER(isIRI(?s)) }")}
    if len(linking) < 3:
        pytest.skip("too few incoming links")
    monkeypatch.setattr(resources, "INCOMING_PAGE_SIZE", 2)
    seen: set[str] = set()
    pages = -(-len(linking) // 2)
    for page in range(1, pages + 1):
        html = client.get(f"{local(target)}?page={page}", headers=HTML).text
        section = html[html.index('class="incoming"'):]
        found = {href for href in re.findall(r'<td><a href="([^"]+)">', section)}
        assert len(found) <= 2
        seen |= found
    assert seen == {local(s) for s in linking}


def test_ontology_page_documents_terms_and_constraints(client: TestClient,
                                                       store: Store) -> None:
    html = client.get("/ontology?lang=en", headers=HTML).text
    classes = rows(store, f"""SELECT ?t ?de ?en WHERE {{ ?t a <http://www.w3.org/2002/07/owl#Class>
            ; <http://www.w3.org/2000/01/rdf-schema#label> ?de , ?en
            FILTER(STRSTARTS(STR(?t), "{DS}") && LANG(?de) = "de" && LANG(?en) = "en") }}""")
    assert len(classes) >= 19
    for row in classes:
        name = row["t"].rsplit("#", 1)[1]
        assert f'id="{name}"' in html
        assert row["de"].replace("&", "&amp;") in html and row["en"] in html
    shaped = rows(store, """SELECT ?cls ?path WHERE { ?shape <http://www.w3.org/ns/shacl#targetClass>
        ?cls ; <http://www.w3.org/ns/shacl#property>/<http://www.w3.org/ns/shacl#path> ?path
        FILTER(isIRI(?path) && STRSTARTS(STR(?cls), STR(ds:))) } LIMIT 20""")
    assert shaped
    for row in shaped:
        section = html[html.index(f'id="{row["cls"].rsplit("#", 1)[1]}"'):]
        section = section[:section.index("</section>")]
        assert "Shape constraints" in section


def test_vocabulary_pages(client: TestClient, store: Store) -> None:
    schemes = rows(store, "SELECT ?s WHERE { ?s a skos:ConceptScheme }")
    assert len(schemes) >= 11
    index = client.get("/vocab", headers=HTML).text
    for scheme in schemes:
        assert f'href="{local(scheme["s"])}"' in index
        html = client.get(local(scheme["s"]), headers=HTML).text
        for concept in rows(store, f"SELECT ?c WHERE {{ ?c skos:inScheme <{scheme['s']}> }}"):
            assert f'href="{local(concept["c"])}"' in html


def matrix_from_store(store: Store) -> dict[tuple[str, str], set[str]]:
    cells: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows(store, """SELECT ?m ?t ?x WHERE { ?s a ds:Strategy ; ds:ownedBy ?m .
            ?x dct:subject ?t .
            FILTER(?x = ?s || EXISTS { ?x (ds:isElementOf|^ds:hasElement)+ ?s }) }"""):
        cells[(row["m"], row["t"])].add(row["x"])
    return cells


def test_comparison_matrix_cells(client: TestClient, store: Store) -> None:
    """Each count of the matrix (a row per municipality) is the number of its strategies
    and elements on the theme, and opens them in the theme's view (tests/api/test_tables.py
    checks the matrix further)."""
    expected = matrix_from_store(store)
    assert expected
    html = client.get("/-/compare", headers=HTML).text
    found = {}
    for muni, body in re.findall(r'<tr><th scope="row" data-iri="([^"]+)">(.*?)</tr>', html,
                                 re.S):
        for theme, key, count in re.findall(r'<a href="/-/themes/([^"#]+)#([^"]+)">(\d+)</a>',
                                            body):
            assert muni.endswith("/" + key)
            found[(muni, BASE + "vocab/theme/" + theme)] = int(count)
    assert found == {k: len(v) for k, v in expected.items()}


def test_timeline_has_a_point_per_dated_strategy(client: TestClient, store: Store) -> None:
    dated = {r["s"] for r in rows(store, """SELECT ?s WHERE { ?s a ds:Strategy ; ds:ownedBy ?m .
        { ?s ds:adoptedIn|^ds:adopts ?d .
          ?d <http://data.europa.eu/eli/ontology#date_document>|dct:date ?x }
        UNION { ?s ds:timeHorizon/<http://www.w3.org/ns/dcat#startDate> ?x } }""")}
    html = client.get("/-/timeline", headers=HTML).text
    points = set(re.findall(r'class="point" data-iri="([^"]+)"', html))
    assert points == dated
    arrows = html.count('class="succession"')
    pairs = rows(store, """SELECT DISTINCT ?a ?b WHERE { ?b dct:replaces|^dct:isReplacedBy ?a }""")
    assert arrows == len([p for p in pairs if p["a"] in dated and p["b"] in dated])


def test_the_timeline_pages_through_its_lanes(client: TestClient,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """TIMELINE_PAGE_SIZE municipalities a page, on one axis of years; every strategy, dated
    or not, on exactly one page."""
    from kg.views import overview

    point = r'class="point" data-iri="([^"]+)"'
    lane = r'<a href="[^"]+"><text x="10" y="[^"]+" class="lane-label">([^<]+)</text>'
    whole = client.get("/-/timeline?lang=en", headers=HTML).text
    assert 'class="pager"' not in whole  # the bundled data fits on one page
    points, lanes = re.findall(point, whole), re.findall(lane, whole)
    undated = whole.split("date not known", 1)[1].split("</p>", 1)[0]
    axis = re.findall(r'class="tick">(\d+)<', whole)
    monkeypatch.setattr(overview, "TIMELINE_PAGE_SIZE", 30)
    seen_points: list[str] = []
    seen_lanes: list[str] = []
    seen_undated: list[str] = []
    number = 1
    while True:
        html = client.get(f"/-/timeline?lang=en&page={number}", headers=HTML).text
        seen_points += re.findall(point, html)
        seen_lanes += re.findall(lane, html)
        if "date not known" in html:
            seen_undated += re.findall(r'<a href="([^"]+)">', html.split(
                "date not known", 1)[1].split("</p>", 1)[0])
        assert re.findall(r'class="tick">(\d+)<', html) == axis  # one axis for all pages
        if 'rel="next"' not in html:
            break
        number += 1
    assert number >= 4, "more than 90 municipalities have a strategy"
    assert sorted(seen_points) == sorted(points) and len(seen_points) == len(set(points))
    assert seen_lanes == lanes  # in the same order
    assert sorted(seen_undated) == sorted(re.findall(r'<a href="([^"]+)">', undated))
    past = client.get(f"/-/timeline?page={number + 1}", headers={"Accept": "application/json"})
    assert past.status_code == 404 and f"pages run from 1 to {number}" in past.json()["error"]


def test_downloads(client: TestClient, store: Store) -> None:
    html = client.get("/-/downloads", headers=HTML).text
    files = re.findall(r'href="/-/downloads/([^"]+)"', html)
    assert {"digistrat.trig", "digistrat.nq", "digistrat.ttl", "digistrat.jsonld",
            "digistrat.ttl.gz"} <= set(files)
    plain = client.get("/-/downloads/digistrat.ttl")
    assert plain.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=plain.content, format="turtle")
    triples = {(q.subject, q.predicate, q.object) for q in store.ox}
    assert len(graph) == len(triples)
    packed = client.get("/-/downloads/digistrat.ttl.gz")
    assert gzip.decompress(packed.content) == plain.content
    assert client.get("/-/downloads/secrets.txt").status_code == 404


def test_a_download_is_revalidated_resumed_and_streamed(client: TestClient,
                                                       store: Store) -> None:
    """A dump's ETag is its SHA-256; If-None-Match answers 304, a byte range 206 (If-Range
    with the ETag, the whole file with another); HEAD gives the headers; the body leaves in
    chunks, not held for a hash; Last-Modified is the dataset's, as on every page."""
    whole = client.get("/-/downloads/digistrat.nq")
    body, etag = whole.content, whole.headers["etag"]
    assert etag == f'"{hashlib.sha256(body).hexdigest()}"'
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["last-modified"] == client.get("/-/downloads").headers["last-modified"]
    assert whole.headers["content-disposition"] == 'attachment; filename="digistrat.nq"'
    again = client.get("/-/downloads/digistrat.nq", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    part = client.get("/-/downloads/digistrat.nq", headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == body[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(body)}"
    exposed = part.headers["access-control-expose-headers"]  # a page of another origin
    assert "Content-Range" in exposed and "Accept-Ranges" in exposed  # may resume too
    resumed = client.get("/-/downloads/digistrat.nq",
                         headers={"Range": f"bytes={len(body) - 50}-", "If-Range": etag})
    assert resumed.status_code == 206 and resumed.content == body[-50:]
    changed = client.get("/-/downloads/digistrat.nq",
                         headers={"Range": "bytes=0-9", "If-Range": '"another"'})
    assert changed.status_code == 200 and changed.content == body
    head = client.head("/-/downloads/digistrat.nq")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(body)) and head.headers["etag"] == etag

    sent = asgi_messages(client, "/-/downloads/digistrat.nq")
    chunks = [m["body"] for m in sent if m["type"] == "http.response.body"]
    assert len(body) > 4 * 65536 and len(chunks) > 4  # the bundled dump is over 256 KiB
    assert max(len(c) for c in chunks) <= 65536 and b"".join(chunks) == body  # type: ignore


def test_a_dump_whose_file_is_gone_is_written_again(client: TestClient, store: Store) -> None:
    body = client.get("/-/downloads/digistrat.ttl.gz").content
    shutil.rmtree(dump_folder(store))  # as a cleaner of /tmp would
    again = client.get("/-/downloads/digistrat.ttl.gz")
    assert again.status_code == 200 and again.content == body


def test_downloads_show_sizes_checksums_and_tables(client: TestClient) -> None:
    html = client.get("/-/downloads", headers=HTML).text
    row = re.search(r'href="/-/downloads/digistrat.ttl" download>.*?</tr>', html, re.S)
    assert row is not None
    body = client.get("/-/downloads/digistrat.ttl").content
    assert hashlib.sha256(body).hexdigest() in row.group(0)
    assert re.search(r'title="[\d,]+ B">\d+\.\d (kB|MB)</td>', row.group(0))
    for table in ("/-/strategies?format=csv", "/-/municipalities?format=json"):
        assert f'href="{table}"' in html
        assert client.get(table).status_code == 200
    # the version is the N-Quads dump's checksum, on the page and in the catalogue record
    version = hashlib.sha256(client.get("/-/downloads/digistrat.nq").content).hexdigest()[:12]
    assert f"<code>{version}</code>" in html
    record = Graph().parse(data=client.get("/-/catalog?format=ttl").content, format="turtle")
    assert [str(v) for v in record.objects(None, DCAT.version)] == [version]


def test_dcat_record(client: TestClient) -> None:
    graph = Graph().parse(data=client.get("/-/catalog?format=ttl").content, format="turtle")
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    dataset = next(graph.objects(catalog, DCAT.dataset))
    for node in (catalog, dataset):
        assert {t.language for t in graph.objects(node, DCTERMS.title)} == {"de", "en"}
        assert {t.language for t in graph.objects(node, DCTERMS.description)} == {"de", "en"}
        assert (node, DCTERMS.publisher, None) in graph
    assert (dataset, DCAT.theme, URIRef(
        "http://publications.europa.eu/resource/authority/data-theme/GOVE")) in graph
    assert (dataset, DCTERMS.license, URIRef(
        "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0")) in graph
    distributions = list(graph.objects(dataset, DCAT.distribution))
    assert len(distributions) >= 8
    for dist in distributions:
        assert (dist, DCAT.accessURL, None) in graph
    files = [d for d in distributions if (d, DCAT.downloadURL, None) in graph]
    assert len(files) == 8
    for dist in files:
        assert (dist, DCAT.mediaType, None) in graph
        url = str(next(graph.objects(dist, DCAT.downloadURL)))
        size = next(graph.objects(dist, DCAT.byteSize))
        assert len(client.get(local(url)).content) == int(size)
    jsonld = Graph().parse(data=client.get("/-/catalog", headers={
        "Accept": "application/ld+json"}).content, format="json-ld")
    assert len(jsonld) == len(graph)


def test_void(client: TestClient, store: Store) -> None:
    void = Namespace("http://rdfs.org/ns/void#")
    graph = Graph().parse(data=client.get("/.well-known/void",
                                          headers={"Accept": "text/turtle"}).content,
                          format="turtle")
    dataset = next(s for s in graph.subjects(RDF.type, void.Dataset)
                   if (s, void.sparqlEndpoint, None) in graph)
    distinct = {(q.subject, q.predicate, q.object) for q in store.ox}
    assert next(graph.objects(dataset, void.triples)) == Literal(len(distinct))
    assert len(list(graph.objects(dataset, void.subset))) == len(store.graphs)
    assert str(next(graph.objects(dataset, void.uriSpace))) == BASE + "id/"


def _not_made(store: Store) -> str:
    return "not made"


def test_void_names_the_dumps_without_making_them(client: TestClient, store: Store,
                                                  project: Project) -> None:
    """VoID names every dump the downloads offer, and a fresh service answers it without
    making them (at 1M triples making them took 35 s)."""
    void = Namespace("http://rdfs.org/ns/void#")

    def dumps_named(answer: bytes) -> set[str]:
        graph = Graph().parse(data=answer, format="turtle")
        return {str(o) for o in graph.objects(None, void.dataDump)}

    offered = {f"{BASE}-/downloads/{file['name']}" for file in download_files(store)}
    assert dumps_named(client.get("/.well-known/void", headers={
        "Accept": "text/turtle"}).content) == offered
    fresh = Store.load(project)
    with TestClient(create_app(Settings(public_url="http://testserver"), fresh)) as other:
        assert dumps_named(other.get("/.well-known/void", headers={
            "Accept": "text/turtle"}).content) == offered
    assert fresh.remember("download-files", _not_made) == "not made"  # none was made


def test_sitemap_lists_every_resource(client: TestClient, store: Store) -> None:
    tree = ET.fromstring(client.get("/sitemap.xml").content)
    locs = {el.text for el in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    query = f'SELECT DISTINCT ?s {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), "{BASE}id/")) }}'
    assert len(rows(store, query)) > 1000
    site = client.app.state.settings.site  # type: ignore[attr-defined]  # public_url
    for row in rows(store, query):
        assert site + local(row["s"]) in locs
    assert site + "/" in locs


def test_a_sitemap_past_the_protocols_limit_is_an_index_of_parts(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sitemap file may list at most 50,000 URLs; past that, /sitemap.xml is a sitemap
    index of parts at the root, which together list what the one file listed."""
    from api.routes import pages as pages_module

    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    whole = [el.text for el in ET.fromstring(client.get("/sitemap.xml").content).iter(ns + "loc")]
    assert client.get("/sitemap-1.xml").status_code == 404  # one file: no parts
    monkeypatch.setattr(pages_module, "SITEMAP_URLS", 400)
    index = ET.fromstring(client.get("/sitemap.xml").content)
    assert index.tag == ns + "sitemapindex"
    site = client.app.state.settings.site  # type: ignore[attr-defined]
    parts = [el.text for el in index.iter(ns + "loc")]
    assert parts == [f"{site}/sitemap-{n}.xml" for n in range(1, (len(whole) - 1) // 400 + 2)]
    listed = []
    for part in parts:
        tree = ET.fromstring(client.get(part.removeprefix(site)).content)
        assert tree.tag == ns + "urlset"
        listed += [el.text for el in tree.iter(ns + "loc")]
        assert len(list(tree.iter(ns + "loc"))) <= 400
    assert listed == whole
    assert client.get(f"/sitemap-{len(parts) + 1}.xml").status_code == 404
    assert client.get("/sitemap-0.xml").status_code == 404


def test_void_and_the_sitemap_are_worked_out_once_per_store(client: TestClient) -> None:
    """Both read the whole graph (VoID counts it: 9 s a request at 1M triples, every
    request); they are made once per store, as the other summaries are."""
    app_store = client.app.state.store  # type: ignore[attr-defined]
    base = client.app.state.settings.base_iri  # type: ignore[attr-defined]
    for path, key in (("/.well-known/void", f"void-{base}"), ("/sitemap.xml", f"sitemap-{base}")):
        first = client.get(path, headers={"Accept": "text/turtle"})
        assert first.status_code == 200
        assert app_store.remember(key, lambda _: None) is not None  # kept, not made again
        assert client.get(path, headers={"Accept": "text/turtle"}).content == first.content


def test_source_record_page(client: TestClient, store: Store) -> None:
    source = rows(store, "SELECT ?s ?title WHERE { ?s a ds:SourceDocument ; dct:title ?title } "
                         "LIMIT 1")
    assert source
    html = client.get(local(source[0]["s"]), headers=HTML).text
    assert source[0]["title"] in html
    assert "Linked from" in html or "Verweise hierher" in html


def test_skos_labels_in_reader_language(client: TestClient, store: Store) -> None:
    concept = BASE + "vocab/theme/open-data"
    labels = {r["lang"]: r["l"] for r in rows(store, f"""SELECT ?l (LANG(?l) AS ?lang) WHERE {{
        <{concept}> skos:prefLabel ?l }}""")}
    if not {"de", "en"} <= set(labels):
        pytest.skip("no bilingual labels")
    assert f"<h1>{labels['de']}</h1>" in client.get(local(concept) + "?lang=de", headers=HTML).text
    assert f"<h1>{labels['en']}</h1>" in client.get(local(concept) + "?lang=en", headers=HTML).text


def test_the_home_page_pages_through_municipalities(client: TestClient,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from api.routes import pages

    card = r'<section class="card municipality" data-iri="([^"]+)"'
    every = client.get("/?lang=en", headers=HTML).text
    assert 'class="pager"' not in every  # the bundled data fits on one page
    everyone = re.findall(card, every)
    assert len(everyone) > 100
    monkeypatch.setattr(pages, "HOME_PAGE_SIZE", 50)
    last = -(-len(everyone) // 50)
    seen: list[str] = []
    for number in range(1, last + 1):
        html = client.get(f"/?lang=en&page={number}", headers=HTML).text
        cards = re.findall(card, html)
        assert len(cards) == min(50, len(everyone) - len(seen))
        seen += cards
        assert f"Page {number} of {last}" in html
        assert ('rel="next"' in html) == (number < last)
        assert ('rel="prev"' in html) == (number > 1)
        assert ("Latest adoptions" in html) == (number == 1)
    assert seen == everyone  # every one once, in the same order
    past = client.get(f"/?page={last + 1}", headers={"Accept": "application/json"})
    assert past.status_code == 404 and f"pages run from 1 to {last}" in past.json()["error"]
    bad = client.get("/?page=two", headers={"Accept": "application/json"})
    assert bad.status_code == 400 and "whole number" in bad.json()["error"]
