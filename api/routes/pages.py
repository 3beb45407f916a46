"""Site pages outside the IRI space: home, comparison, timeline, downloads, catalogue, sitemap.
"""

from __future__ import annotations

import gzip
import weakref
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import SettingsDep, StoreDep
from api.errors import ApiError
from api.negotiation import representation
from api.rendering import VARY, gettext, page_lang, render
from kg import catalogue
from kg.coverage import coverage
from kg.export import dump
from kg.formats import DUMPS, syntax_named
from kg.store import Store
from kg.views import common, municipality, overview, resource, strategy

router = APIRouter()


# --- home ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, store: StoreDep) -> HTMLResponse:
    lang = page_lang(request)
    munis = municipality.municipalities(store, lang)
    strategies = strategy.strategies(store, lang)
    by_muni: dict[str, list[strategy.StrategySummary]] = {}
    for item in strategies:
        by_muni.setdefault(item.municipality, []).append(item)
    statuses = common.labels(store, {s.status for s in strategies if s.status}, lang)
    return render(request, "home.html", {"municipalities": munis, "by_muni": by_muni,
                                         "statuses": statuses,
                                         "count": len(strategies)})


# --- comparison and timeline ------------------------------------------------------------------


@router.get("/-/compare", response_class=HTMLResponse)
def compare(request: Request, store: StoreDep) -> HTMLResponse:
    matrix = overview.comparison(store, page_lang(request))
    used = {theme for (_, theme) in matrix.cells}
    themes = [t for t in matrix.themes if t[0] in used]
    unused = [t for t in matrix.themes if t[0] not in used]
    return render(request, "compare.html", {"matrix": matrix, "themes": themes,
                                            "unused": unused})


@router.get("/-/timeline", response_class=HTMLResponse)
def timeline(request: Request, store: StoreDep) -> HTMLResponse:
    lang = page_lang(request)
    items = strategy.strategies(store, lang)
    munis = municipality.municipalities(store, lang)
    return render(request, "timeline.html", overview.timeline_layout(items, munis))


# --- downloads, catalogue, VoID, context, sitemap -----------------------------------------------

_DUMP_CACHE: weakref.WeakKeyDictionary[Store, dict[str, bytes]] = weakref.WeakKeyDictionary()


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
    for entry in DUMPS:
        for compressed in (False, True):
            files.append({"name": entry.dump_file + (".gz" if compressed else ""),
                          "format": entry.name, "label": entry.label,
                          "media_type": "application/gzip" if compressed else entry.media_type,
                          "size": len(dump_bytes(store, entry.name, compressed)),
                          "graphs": entry.dump_keeps_graphs})
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
    for entry in DUMPS:
        if file_name in (entry.dump_file, entry.dump_file + ".gz"):
            compressed = file_name.endswith(".gz")
            media = "application/gzip" if compressed else entry.media_type + "; charset=utf-8"
            return Response(dump_bytes(store, entry.name, compressed), media_type=media, headers={
                "Content-Disposition": f'attachment; filename="{file_name}"'})
    raise ApiError(404, "not-found", f"no download named {file_name!r}",
                   known=[f["name"] for f in download_files(store)])


def rdf_answer(request: Request, triples: list[Any], html: str | None = None,
               context: dict[str, Any] | None = None) -> Response:
    """Answer generated RDF (catalogue, VoID) in the negotiated syntax, or as a page."""
    syntax = representation(request, html=html is not None)
    if syntax is None and html:
        turtle = resource.serialize(triples, syntax_named("turtle")).decode()
        return render(request, html, {**(context or {}), "turtle": turtle})
    assert syntax is not None
    return Response(resource.serialize(triples, syntax),
                    media_type=syntax.media_type + "; charset=utf-8",
                    headers={"Vary": VARY})


@router.get("/-/catalog")
def catalog(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    files = download_files(store)
    triples = catalogue.dcat_record(store, settings.base_iri, files)
    return rdf_answer(request, triples, "catalog.html", {"heading": gettext(
        page_lang(request), "Catalogue record")})


@router.get("/.well-known/void")
def void(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    triples = catalogue.void_description(store, settings.base_iri,
                                         [f for f in download_files(store)])
    return rdf_answer(request, triples, "catalog.html", {"heading": gettext(
        page_lang(request), "VoID description")})


@router.get("/-/context.jsonld")
def context() -> JSONResponse:
    return JSONResponse({"@context": common.JSONLD_CONTEXT},
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
