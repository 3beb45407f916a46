"""Site pages outside the IRI space: home, comparison, timeline, downloads, catalogue, sitemap.

Also the helpers every HTML page shares: the reader's language, links onto the serving host,
and rendering with the page strings of that language.
"""

from __future__ import annotations

import gzip
import weakref
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import SettingsDep, StoreDep
from api.errors import ApiError
from api.negotiation import negotiate, preferred_language
from api.rendering import TEMPLATES
from kg import catalogue, describe
from kg.coverage import coverage
from kg.describe import LANGUAGES
from kg.export import DUMPS, dump
from kg.formats import syntax_named
from kg.store import Store

router = APIRouter()

LANG_COOKIE = "lang"
VARY = "Accept, Accept-Language, Cookie"

# --- page strings -------------------------------------------------------------------------

UI: dict[str, dict[str, str]] = {
    "en": {
        "home": "Home", "compare": "Compare", "timeline": "Timeline", "ontology": "Ontology",
        "vocab": "Vocabularies", "shapes": "Shapes", "downloads": "Downloads",
        "validate": "Validate", "municipalities": "Municipalities", "strategies": "Strategies",
        "group_name": "Name and description", "group_classification": "Classification",
        "group_structure": "Structure", "group_actors": "Actors",
        "group_decisions": "Decision", "group_time": "Time and succession",
        "group_identifiers": "Identifiers and links", "group_other": "Other",
        "incoming": "Linked from", "sources": "Sources", "formats": "This page as data",
        "published": "published", "page": "Page", "of": "of", "previous": "previous",
        "next": "next", "not_found": "Not found",
        "not_found_text": "Nothing is described under this address.",
        "type": "Type", "tree": "Structure of the strategy", "adoption": "Adoption",
        "documents": "Documents", "predecessor": "Predecessor", "successor": "Successor",
        "themes": "Themes", "bodies": "Bodies, organisations and posts",
        "identifiers": "Identifiers", "held_by": "held by", "in": "in",
        "strategies_over_time": "Strategies over time", "adopted": "adopted",
        "undated": "date not known", "status": "Status", "part_of": "Part of",
        "elements": "Elements", "classes": "Classes", "properties": "Properties",
        "definition": "Definition", "constraints": "Shape constraints (SHACL)",
        "path": "Path", "concepts": "Concepts", "schemes": "Concept schemes",
        "compare_title": "Municipalities × themes",
        "compare_intro": "Each cell lists the strategies and strategy elements of a "
                         "municipality that are tagged with the theme.",
        "timeline_title": "Strategy adoptions and successions",
        "timeline_intro": "Each dot is a strategy at the year of its adoption decision (or the "
                          "start of its time horizon); arrows lead from a strategy to its "
                          "successor.",
        "downloads_intro": "The whole dataset (ontology, vocabularies, shapes and data), one "
                           "file per format, plain or gzip-compressed.",
        "file": "File", "size": "Size", "format": "Format", "catalogue": "Catalogue record",
        "void": "VoID description", "sparql": "SPARQL endpoint",
        "home_intro": "A knowledge graph of municipal digital strategies of German-speaking "
                      "cities: strategies, their structure, themes, decisions and actors, "
                      "each fact with its source.",
        "goals": "Goals and measures", "no_items": "none", "graph": "Named graph",
        "subjects": "Resources", "language": "Deutsch", "schema": "Schema",
        "items": "items", "coverage": "Coverage",
        "coverage_title": "Coverage of the graph",
        "coverage_intro": "What the graph holds, by country, and the facts known to be "
                          "missing: searched for in the sources and not found, or not yet "
                          "recorded.",
        "country": "Country", "statements": "Statements", "sourced": "with a source",
        "missing": "Known missing facts", "resource": "Resource", "what": "What is missing",
    },
    "de": {
        "home": "Start", "compare": "Vergleich", "timeline": "Zeitleiste",
        "ontology": "Ontologie", "vocab": "Vokabulare", "shapes": "Shapes",
        "downloads": "Downloads", "validate": "Validieren", "municipalities": "Gemeinden",
        "strategies": "Strategien", "group_name": "Name und Beschreibung",
        "group_classification": "Einordnung", "group_structure": "Gliederung",
        "group_actors": "Akteure", "group_decisions": "Beschluss",
        "group_time": "Zeit und Nachfolge", "group_identifiers": "Kennungen und Verweise",
        "group_other": "Weiteres", "incoming": "Verweise hierher", "sources": "Quellen",
        "formats": "Diese Seite als Daten", "published": "veröffentlicht", "page": "Seite",
        "of": "von", "previous": "zurück", "next": "weiter", "not_found": "Nicht gefunden",
        "not_found_text": "Unter dieser Adresse ist nichts beschrieben.", "type": "Typ",
        "tree": "Gliederung der Strategie", "adoption": "Beschluss", "documents": "Dokumente",
        "predecessor": "Vorgängerin", "successor": "Nachfolgerin", "themes": "Themen",
        "bodies": "Organe, Organisationen und Stellen", "identifiers": "Kennungen",
        "held_by": "besetzt von", "in": "in", "strategies_over_time": "Strategien im Lauf der Zeit",
        "adopted": "beschlossen", "undated": "Datum unbekannt", "status": "Status",
        "part_of": "Teil von", "elements": "Elemente", "classes": "Klassen",
        "properties": "Eigenschaften", "definition": "Definition",
        "constraints": "Shape-Bedingungen (SHACL)", "path": "Pfad", "concepts": "Konzepte",
        "schemes": "Konzeptschemata", "compare_title": "Gemeinden × Themen",
        "compare_intro": "Jede Zelle nennt die Strategien und Strategieelemente einer Gemeinde, "
                         "die dem Thema zugeordnet sind.",
        "timeline_title": "Beschlüsse und Nachfolgen von Strategien",
        "timeline_intro": "Jeder Punkt ist eine Strategie im Jahr ihres Beschlusses (oder des "
                          "Beginns ihres Zeithorizonts); Pfeile führen von einer Strategie zu "
                          "ihrer Nachfolgerin.",
        "downloads_intro": "Der ganze Datensatz (Ontologie, Vokabulare, Shapes und Daten), eine "
                           "Datei je Format, unkomprimiert oder mit gzip.",
        "file": "Datei", "size": "Grösse", "format": "Format", "catalogue": "Katalogeintrag",
        "void": "VoID-Beschreibung", "sparql": "SPARQL-Endpunkt",
        "home_intro": "Ein Wissensgraph kommunaler Digitalstrategien deutschsprachiger Städte: "
                      "Strategien, ihre Gliederung, Themen, Beschlüsse und Akteure, jede Angabe "
                      "mit ihrer Quelle.",
        "goals": "Ziele und Massnahmen", "no_items": "keine", "graph": "Benannter Graph",
        "subjects": "Ressourcen", "language": "English", "schema": "Schema",
        "items": "Einträge", "coverage": "Abdeckung",
        "coverage_title": "Abdeckung des Graphen",
        "coverage_intro": "Was der Graph enthält, nach Land, und welche Angaben bekanntermassen "
                          "fehlen: in den Quellen gesucht und nicht gefunden, oder noch nicht "
                          "erfasst.",
        "country": "Land", "statements": "Aussagen", "sourced": "mit Quelle",
        "missing": "Bekannte Lücken", "resource": "Ressource", "what": "Was fehlt",
    },
}


# --- shared helpers -----------------------------------------------------------------------


def requested_lang(request: Request) -> tuple[str, bool]:
    """The page language: ``?lang=``, then the cookie, then Accept-Language; and whether the
    choice came from ``?lang=`` (then it is remembered in a cookie)."""
    asked = request.query_params.get("lang", "").lower()
    if asked in LANGUAGES:
        return asked, True
    cookie = request.cookies.get(LANG_COOKIE, "")
    if cookie in LANGUAGES:
        return cookie, False
    return preferred_language(request.headers.get("accept-language"), LANGUAGES), False


def href_for(base: str):  # type: ignore[no-untyped-def]
    """A function giving the link for an IRI: IRIs under ``base`` go to the serving host."""
    def href(value: str) -> str:
        if value.startswith(base):
            return "/" + value[len(base):]
        return value
    return href


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render ``template`` in the reader's language; remember a ``?lang=`` choice."""
    settings = request.app.state.settings
    lang, remember = requested_lang(request)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = {code: request.url.path + "?" + urlencode([*query, ("lang", code)])
              for code in LANGUAGES}
    full = {"request": request, "lang": lang, "t": UI[lang], "href": href_for(settings.base_iri),
            "compact": describe.compact, "switch": switch, "base": settings.base_iri, **context}
    response = TEMPLATES.TemplateResponse(request, template, full, status_code=status,
                                          headers={"Vary": VARY, **(headers or {})})
    if remember:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response  # type: ignore[no-any-return]


def page_lang(request: Request) -> str:
    return requested_lang(request)[0]


# --- home ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, store: StoreDep) -> HTMLResponse:
    lang = page_lang(request)
    munis = describe.municipalities(store, lang)
    strategies = describe.strategies(store, lang)
    by_muni: dict[str, list[describe.StrategySummary]] = {}
    for item in strategies:
        by_muni.setdefault(item.municipality, []).append(item)
    statuses = describe.labels(store, {s.status for s in strategies if s.status}, lang)
    return render(request, "home.html", {"municipalities": munis, "by_muni": by_muni,
                                         "statuses": statuses,
                                         "count": len(strategies)})


# --- comparison and timeline ------------------------------------------------------------------


@router.get("/-/compare", response_class=HTMLResponse)
def compare(request: Request, store: StoreDep) -> HTMLResponse:
    matrix = describe.comparison(store, page_lang(request))
    used = {theme for (_, theme) in matrix.cells}
    themes = [t for t in matrix.themes if t[0] in used]
    unused = [t for t in matrix.themes if t[0] not in used]
    return render(request, "compare.html", {"matrix": matrix, "themes": themes,
                                            "unused": unused})


@router.get("/-/timeline", response_class=HTMLResponse)
def timeline(request: Request, store: StoreDep) -> HTMLResponse:
    lang = page_lang(request)
    items = describe.strategies(store, lang)
    munis = describe.municipalities(store, lang)
    return render(request, "timeline.html", timeline_layout(items, munis))


def timeline_layout(items: list[describe.StrategySummary],
                    munis: list[tuple[str, str]]) -> dict[str, Any]:
    """Coordinates for the timeline SVG: one lane per municipality, x by year."""
    dated = [s for s in items if s.year is not None]
    years = [s.year for s in dated if s.year is not None]
    first, last = (min(years), max(years)) if years else (2000, 2025)
    first, last = first - 1, last + 1
    lanes = [m for m in munis if any(s.municipality == m[0] for s in dated)]
    left, right, lane_height, top = 220, 40, 56, 40
    width = left + right + max(1, last - first) * 48
    height = top + lane_height * max(1, len(lanes)) + 30

    def x_of(year: int) -> float:
        return left + (year - first) * (width - left - right) / max(1, last - first)

    lane_y = {m[0]: top + lane_height * i + lane_height / 2 for i, m in enumerate(lanes)}
    placed: dict[str, tuple[float, float]] = {}
    stack: dict[tuple[str, int], int] = {}
    points = []
    for s in dated:
        assert s.year is not None
        if s.municipality not in lane_y:
            continue
        shift = stack.get((s.municipality, s.year), 0)
        stack[(s.municipality, s.year)] = shift + 1
        same = sum(1 for o in dated if o.municipality == s.municipality and o.year == s.year)
        x, y = x_of(s.year), lane_y[s.municipality] + (shift - (same - 1) / 2) * 16
        placed[s.iri] = (x, y)
        flip = shift % 2 if same > 1 else len(points) % 2
        points.append({"s": s, "x": x, "y": y, "flip": flip})
    arrows = []
    for s in dated:
        for old in s.replaces:
            if old in placed and s.iri in placed:
                (x1, y1), (x2, y2) = placed[old], placed[s.iri]
                arrows.append({"x1": x1 + 6, "y1": y1, "x2": x2 - 8, "y2": y2})
    ticks = [{"year": y, "x": x_of(y)} for y in range(first, last + 1)
             if (y - first) % (1 if last - first <= 20 else 5) == 0]
    return {"points": points, "arrows": arrows, "ticks": ticks, "width": width,
            "height": height, "lanes": [{"iri": m[0], "label": m[1], "y": lane_y[m[0]]}
                                        for m in lanes],
            "undated": [s for s in items if s.year is None], "top": top}


# --- downloads, catalogue, VoID, context, sitemap -----------------------------------------------

_DUMP_CACHE: weakref.WeakKeyDictionary[Store, dict[str, bytes]] = weakref.WeakKeyDictionary()
_MEDIA = {"trig": "application/trig", "nquads": "application/n-quads",
          "turtle": "text/turtle", "jsonld": "application/ld+json"}


def dump_bytes(store: Store, name: str, compressed: bool) -> bytes:
    """A dump, made once per store and kept."""
    cache = _DUMP_CACHE.setdefault(store, {})
    key = name + (".gz" if compressed else "")
    if key not in cache:
        data = cache.get(name) or dump(store, name)
        cache[name] = data
        if compressed:
            cache[key] = gzip.compress(data, mtime=0)
    return cache[key]


def download_files(store: Store) -> list[dict[str, Any]]:
    files = []
    for name, (file_name, _, keeps_graphs) in DUMPS.items():
        for compressed in (False, True):
            files.append({"name": file_name + (".gz" if compressed else ""), "format": name,
                          "media_type": "application/gzip" if compressed else _MEDIA[name],
                          "size": len(dump_bytes(store, name, compressed)),
                          "graphs": keeps_graphs})
    return files


@router.get("/-/coverage", response_class=HTMLResponse)
def coverage_page(request: Request, store: StoreDep) -> HTMLResponse:
    """Counts by country and the known missing facts (the same report as ``digistrat stats``)."""
    return render(request, "coverage.html", {"report": coverage(store)})


@router.get("/-/downloads", response_class=HTMLResponse)
def downloads(request: Request, store: StoreDep) -> HTMLResponse:
    return render(request, "downloads.html", {"files": download_files(store)})


@router.get("/-/downloads/{file_name}")
def download(file_name: str, store: StoreDep) -> Response:
    for name, (base_name, _, _) in DUMPS.items():
        if file_name in (base_name, base_name + ".gz"):
            compressed = file_name.endswith(".gz")
            media = "application/gzip" if compressed else _MEDIA[name] + "; charset=utf-8"
            return Response(dump_bytes(store, name, compressed), media_type=media, headers={
                "Content-Disposition": f'attachment; filename="{file_name}"'})
    raise ApiError(404, "not-found", f"no download named {file_name!r}",
                   known=[f["name"] for f in download_files(store)])


RDF_OFFERS = ["text/turtle", "application/ld+json", "application/n-triples",
              "application/rdf+xml"]


def rdf_answer(request: Request, triples: list[Any], html: str | None = None,
               context: dict[str, Any] | None = None) -> Response:
    """Answer generated RDF (catalogue, VoID) in the negotiated syntax, or as a page."""
    fmt = request.query_params.get("format")
    offers = ([] if html is None else ["text/html"]) + RDF_OFFERS
    if fmt:
        media = "text/html" if fmt == "html" and html else _syntax_media(fmt)
    else:
        accept = request.headers.get("accept")
        media = negotiate(None if (accept or "").strip() in ("", "*/*") else accept,
                          RDF_OFFERS if (accept or "").strip() in ("", "*/*") else offers)
    if media is None:
        raise ApiError(406, "not-acceptable", "no offered format fits the Accept header",
                       offers=offers)
    if media == "text/html" and html:
        turtle = describe.serialize(triples, syntax_named("turtle")).decode()
        return render(request, html, {**(context or {}), "turtle": turtle})
    syntax = next(s for s in (syntax_named(n) for n in ("turtle", "jsonld", "ntriples",
                                                         "rdfxml")) if s.media_type == media)
    return Response(describe.serialize(triples, syntax),
                    media_type=syntax.media_type + "; charset=utf-8",
                    headers={"Vary": VARY})


def _syntax_media(name: str) -> str:
    try:
        syntax = syntax_named(name)
    except Exception:
        raise ApiError(400, "bad-request", f"unknown format {name!r}",
                       known=["html", "ttl", "jsonld", "nt", "rdf"]) from None
    if syntax.media_type not in RDF_OFFERS:
        raise ApiError(400, "bad-request", f"format {name!r} is not offered here",
                       known=["html", "ttl", "jsonld", "nt", "rdf"])
    return syntax.media_type


@router.get("/-/catalog")
def catalog(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    files = download_files(store)
    triples = catalogue.dcat_record(store, settings.base_iri, files)
    return rdf_answer(request, triples, "catalog.html", {"heading": UI[page_lang(request)][
        "catalogue"]})


@router.get("/.well-known/void")
def void(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    triples = catalogue.void_description(store, settings.base_iri,
                                         [f for f in download_files(store)])
    return rdf_answer(request, triples, "catalog.html", {"heading": UI[page_lang(request)][
        "void"]})


@router.get("/-/context.jsonld")
def context() -> JSONResponse:
    return JSONResponse({"@context": describe.JSONLD_CONTEXT},
                        media_type="application/ld+json")


@router.get("/sitemap.xml")
def sitemap(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    root = settings.site
    paths = catalogue.sitemap_paths(store, settings.base_iri)
    body = ['<?xml version="1.0" encoding="UTF-8"?>',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    body += [f"<url><loc>{escape(root + p)}</loc></url>" for p in paths]
    body.append("</urlset>")
    return Response("\n".join(body) + "\n", media_type="application/xml")
