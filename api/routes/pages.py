"""Site pages outside the IRI space: home, comparison, timeline, downloads, catalogue, sitemap.
"""

from __future__ import annotations

import os
from email.utils import formatdate
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from api.deps import SettingsDep, StoreDep
from api.errors import ApiError
from api.http import HEAD
from api.negotiation import representation
from api.rendering import VARY, gettext, page_lang, render
from api.settings import Settings
from kg import catalogue
from kg.coverage import coverage
from kg.export import DumpFile, dump_folder, dump_names, write_dumps
from kg.formats import named, syntax_named
from kg.store import Store
from kg.views import common, overview, paging, resource, tables

router = APIRouter()

#: Municipalities on one page of the home page: every one of the bundled data on the first,
#: and a page's size bounded however many the data holds.
HOME_PAGE_SIZE = 200


# --- home ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, store: StoreDep) -> HTMLResponse:
    """Every municipality by everyday name with its strategies (newest first, undated last),
    HOME_PAGE_SIZE a page, and the latest adoptions, from the tables built once per store
    (kg.views.tables)."""
    t = tables.tables(store, page_lang(request))
    try:
        page = paging.paged(t.sorted_municipalities(), request.query_params.get("page"),
                            HOME_PAGE_SIZE, "/")
    except paging.BadPageNumberError as err:
        raise ApiError(400, "bad-request", str(err)) from None
    except paging.NoSuchPageError as err:
        raise ApiError(404, "not-found", str(err)) from None
    last = page.page == page.pages
    orphans = tables.of_no_municipality(t) if last else []
    return render(request, "home.html", {
        "t": t, "page": page, "count": len(t.strategies),
        "latest": tables.latest_adoptions(t) if page.page == 1 else [], "orphans": orphans})


# --- comparison and timeline ------------------------------------------------------------------


@router.get("/-/compare", response_class=Response)
def compare(request: Request, store: StoreDep) -> Response:
    """Municipalities × themes, filtered by country, level and theme; as CSV and JSON."""
    t = tables.tables(store, page_lang(request))
    try:
        view = tables.matrix_view(t, [(k, v) for k, v in request.query_params.multi_items()
                                      if k not in ("lang", "format")])
    except tables.BadParameterError as err:
        raise ApiError(400, "bad-request", str(err)) from None
    fmt = request.query_params.get("format", "").strip().lower()
    whole = ("matrix-" + fmt, tables.filter_key(view.query.filters))  # every row: kept
    if fmt == "csv":
        return Response(view.tables.kept(whole, lambda: tables.matrix_csv(view)),
                        media_type=tables.TABLE_FORMATS["csv"],
                        headers={"Vary": VARY, "Content-Disposition":
                                 'attachment; filename="compare.csv"'})
    if fmt == "json":
        return Response(view.tables.kept(whole, lambda: tables.dumps(tables.matrix_json(view))),
                        media_type=tables.TABLE_FORMATS["json"], headers={"Vary": VARY})
    if fmt not in ("", "html"):
        raise ApiError(400, "bad-request", f"unknown format {fmt!r}",
                       known=["html", *tables.TABLE_FORMATS])
    try:
        page = view.page()
    except paging.NoSuchPageError as err:
        raise ApiError(404, "not-found", str(err)) from None
    return render(request, "compare.html", {"view": view, "page": page})


@router.get("/-/timeline", response_class=HTMLResponse)
def timeline(request: Request, store: StoreDep) -> HTMLResponse:
    """Adoptions by year, a lane per municipality, TIMELINE_PAGE_SIZE lanes a page."""
    lang = page_lang(request)
    whole = store.remember(f"timeline-{lang}", partial(overview.timeline_of, lang=lang))
    try:  # the work of one page: its lanes
        layout = overview.timeline_page(whole, request.query_params.get("page"))
    except paging.BadPageNumberError as err:
        raise ApiError(400, "bad-request", str(err)) from None
    except paging.NoSuchPageError as err:
        raise ApiError(404, "not-found", str(err)) from None
    return render(request, "timeline.html", {**layout,
                                             "owner_name": tables.tables(store, lang).owner_name})


# --- downloads, catalogue, VoID, context, sitemap -----------------------------------------------

def human_size(size: int) -> str:
    """``size`` bytes as people read it: 812 B, 14.2 kB, 3.1 MB (decimal units)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def download_files(store: Store) -> list[dict[str, Any]]:
    """Every dump with its size and SHA-256, written once per store into a folder of its
    own (:func:`kg.export.write_dumps`, in the child that works out the summary): the
    service keeps their names, not their bytes (at 1M triples they were about 1 GB)."""
    return store.remember("download-files", partial(_dumps_described,
                                                    folder=dump_folder(store)))


def _dumps_described(store: Store, folder: Path) -> list[dict[str, Any]]:
    return [_described(file) for file in write_dumps(store, folder)]


def _described(file: DumpFile) -> dict[str, Any]:
    entry = named(file.format, "rdf")
    return {"name": entry.dump_file + (".gz" if file.compressed else ""),
            "format": entry.name, "label": entry.label,
            "media_type": "application/gzip" if file.compressed else entry.media_type,
            "size": file.size, "human_size": human_size(file.size), "sha256": file.sha256,
            "graphs": entry.dump_keeps_graphs, "path": file.path}


@router.get("/-/coverage", response_class=HTMLResponse)
def coverage_page(request: Request, store: StoreDep) -> HTMLResponse:
    """Counts by country and the known missing facts (the same report as ``digistrat stats``)."""
    return render(request, "coverage.html", {
        "report": store.remember("coverage", coverage),
        "owner_name": tables.tables(store, page_lang(request)).owner_name})


@router.get("/-/downloads", response_class=HTMLResponse)
def downloads(request: Request, store: StoreDep) -> HTMLResponse:
    files = download_files(store)
    return render(request, "downloads.html", {"files": files,
                                              "version": catalogue.dataset_version(files)})


@router.get("/-/downloads/{file_name}")
def download(request: Request, file_name: str, store: StoreDep) -> Response:
    """A dump, sent from its file in chunks, with its SHA-256 as a strong ``ETag`` (so
    ``If-None-Match`` and ``If-Range`` work across restarts) and byte ranges (a broken
    download of a large dump goes on where it stopped); its ``Last-Modified`` is the
    dataset's, as every answer's, not when the file was written. A dump whose file is gone
    (a cleaner of the temporary folder) is written again."""
    file = _download_named(file_name, store)
    if not os.path.isfile(file["path"]):
        store.forget("download-files")
        file = _download_named(file_name, store)
    media = file["media_type"] + ("" if file_name.endswith(".gz") else "; charset=utf-8")
    return FileAnswer(file["path"], media_type=media, filename=file_name,
                      stat_result=os.stat(file["path"]),
                      headers={"ETag": f'"{file["sha256"]}"', "Last-Modified": formatdate(
                          request.app.state.last_modified, usegmt=True)})


def _download_named(file_name: str, store: Store) -> dict[str, Any]:
    files = download_files(store)
    for file in files:
        if file["name"] == file_name:
            return file
    raise ApiError(404, "not-found", f"no download named {file_name!r}",
                   known=[f["name"] for f in files])


class FileAnswer(FileResponse):
    """A file in chunks of 64 KiB; under HEAD, which the middleware runs as GET
    (:data:`api.http.HEAD`), its headers alone, the file not read."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get(HEAD):
            scope = dict(scope, method="HEAD")
        await super().__call__(scope, receive, send)


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
    """The dataset's VoID description: its counts (worked out once), and its dumps named
    (not made for it: at 1M triples making them took 35 s)."""
    triples = store.remember(f"void-{settings.base_iri}", partial(  # counts the graph
        catalogue.void_description, base=settings.base_iri, dumps=dump_names()))
    return rdf_answer(request, triples, "catalog.html", {"heading": gettext(
        page_lang(request), "VoID description")})


@router.get("/-/context.jsonld")
def context() -> JSONResponse:
    return JSONResponse({"@context": common.JSONLD_CONTEXT},
                        media_type="application/ld+json")


#: Most URLs one sitemap file may list (the sitemaps protocol, 0.9); past it ``/sitemap.xml``
#: is a sitemap index of ``/sitemap-N.xml`` files (at the root: a sitemap may list only URLs
#: under its own folder).
SITEMAP_URLS = 50_000
_SITEMAPS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _sitemap_paths(store: Store, settings: Settings) -> list[str]:
    return store.remember(f"sitemap-{settings.base_iri}", partial(  # every resource
        catalogue.sitemap_paths, base=settings.base_iri))


def _xml(lines: list[str]) -> Response:
    return Response("\n".join(['<?xml version="1.0" encoding="UTF-8"?>', *lines]) + "\n",
                    media_type="application/xml")


@router.get("/sitemap.xml")
def sitemap(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Every page's URL; a sitemap index of parts when there are more than one file may
    list."""
    paths = _sitemap_paths(store, settings)
    if len(paths) <= SITEMAP_URLS:
        return _sitemap_part(paths, settings.site)
    parts = range(1, (len(paths) - 1) // SITEMAP_URLS + 2)
    return _xml([f'<sitemapindex xmlns="{_SITEMAPS}">',
                 *(f"<sitemap><loc>{escape(settings.site)}/sitemap-{n}.xml</loc></sitemap>"
                   for n in parts), "</sitemapindex>"])


@router.get("/sitemap-{number:int}.xml")
def sitemap_part(number: int, store: StoreDep, settings: SettingsDep) -> Response:
    """Part ``number`` (from 1) of the sitemap index."""
    paths = _sitemap_paths(store, settings)
    part = paths[(number - 1) * SITEMAP_URLS:number * SITEMAP_URLS] if number >= 1 else []
    if not part or len(paths) <= SITEMAP_URLS:
        raise ApiError(404, "not-found", f"the sitemap has no part {number}")
    return _sitemap_part(part, settings.site)


def _sitemap_part(paths: list[str], root: str) -> Response:
    return _xml([f'<urlset xmlns="{_SITEMAPS}">',
                 *(f"<url><loc>{escape(root + p)}</loc></url>" for p in paths), "</urlset>"])
