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
from kg import catalogue, describe
from kg.coverage import coverage
from kg.export import dump
from kg.formats import DUMPS, syntax_named
from kg.store import Store

router = APIRouter()


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
        turtle = describe.serialize(triples, syntax_named("turtle")).decode()
        return render(request, html, {**(context or {}), "turtle": turtle})
    assert syntax is not None
    return Response(describe.serialize(triples, syntax),
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
