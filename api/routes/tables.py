"""Answers without SPARQL: the strategies and municipalities as tables with facets
(``/-/strategies``, ``/-/municipalities``), the view of one theme (``/-/themes/{theme}``) and
the charts (``/-/charts``). Every view is a URL; ``?format=csv`` and ``?format=json`` give
what the page shows. The view models are in :mod:`kg.views.tables` and
:mod:`kg.views.charts`; this module holds no query.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import StoreDep
from api.errors import ApiError
from api.rendering import VARY, page_lang, render
from kg.views import charts
from kg.views import tables as tb
from kg.views.paging import NoSuchPageError

router = APIRouter()


def table_format(request: Request) -> str | None:
    """``?format=`` of a table view: None for the page, or one of TABLE_FORMATS."""
    value = request.query_params.get("format", "").strip().lower()
    if value in ("", "html"):
        return None
    if value not in tb.TABLE_FORMATS:
        raise ApiError(400, "bad-request", f"unknown format {value!r}",
                       known=["html", *tb.TABLE_FORMATS])
    return value


def download(body: str, fmt: str, name: str) -> Response:
    headers = {"Vary": VARY}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return Response(body, media_type=tb.TABLE_FORMATS[fmt], headers=headers)


def params(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k not in ("lang", "format")]


def view_of(request: Request, store: Any, kind: str) -> tb.TableView:
    t = tb.tables(store, page_lang(request))
    try:
        return tb.table_view(t, kind, params(request), request.url.path)
    except tb.BadParameterError as err:
        raise ApiError(400, "bad-request", str(err)) from None
    except NoSuchPageError as err:
        raise ApiError(404, "not-found", str(err)) from None


def table_answer(request: Request, view: tb.TableView, template: str,
                 context: dict[str, Any]) -> Response:
    fmt = table_format(request)
    if fmt == "csv":
        return download(tb.to_csv(view.record_columns(), view.records()), fmt, view.kind)
    if fmt == "json":
        return download(tb.dumps(tb.to_json(view)), fmt, view.kind)
    return render(request, template, {"view": view, **context})


@router.get("/-/strategies", response_class=Response)
def strategies(request: Request, store: StoreDep) -> Response:
    """Strategies with facets; sortable, paged, as CSV and JSON."""
    view = view_of(request, store, "strategies")
    chart = view.tables.kept(("adoptions-chart", *view.key),
                             lambda: charts.adoptions_by_year(view.tables, view.matching))
    return table_answer(request, view, "strategies.html", {"chart": chart})


@router.get("/-/municipalities", response_class=Response)
def municipalities(request: Request, store: StoreDep) -> Response:
    """Municipalities, Länder and cantons with facets; sortable, paged, as CSV and JSON."""
    view = view_of(request, store, "municipalities")
    return table_answer(request, view, "municipalities.html", {})


@router.get("/-/themes", response_class=Response)
def themes(request: Request, store: StoreDep) -> Response:
    t = tb.tables(store, page_lang(request))
    index = tb.theme_index(t)
    fmt = table_format(request)
    if fmt:
        fields = ["theme", "label", "municipalities", "strategies", "elements"]
        records = [{"theme": t.concept_iris["theme"][s.key], "label": s.label,
                    "municipalities": s.municipalities, "strategies": s.strategies,
                    "elements": s.elements} for s in index]
        body = tb.to_csv(fields, records) if fmt == "csv" else tb.dumps(
            {"columns": fields, "rows": records})
        return download(body, fmt, "themes")
    chart = t.kept(("theme-shares",),
                   lambda: charts.theme_shares(t, list(t.strategies.values())))
    return render(request, "themes.html", {"themes": index, "chart": chart})


@router.get("/-/themes/{theme}", response_class=Response)
def theme(theme: str, request: Request, store: StoreDep) -> Response:
    """The municipalities whose strategies or elements carry one theme, with those
    elements."""
    t = tb.tables(store, page_lang(request))
    try:
        view = tb.theme_view(t, theme, params(request))
    except tb.BadParameterError as err:
        raise ApiError(400, "bad-request", str(err)) from None
    if view is None:
        raise ApiError(404, "not-found", f"no theme {theme!r}",
                       known=sorted(t.concepts.get("theme", {})))
    fmt = table_format(request)
    if fmt:
        fields = ["municipality", "name", "strategy", "title", "element", "element_label",
                  "designation"]
        records = [{"municipality": e.municipality.iri, "name": e.municipality.display,
                    "strategy": s.iri, "title": s.title, "element": item.iri if item else "",
                    "element_label": item.label if item else "",
                    "designation": item.designation if item else ""}
                   for e in view.entries for s, _, items in e.strategies
                   for item in (items or [None])]
        body = tb.to_csv(fields, records) if fmt == "csv" else tb.dumps(
            {"theme": view.iri, "label": view.label, "columns": fields, "rows": records})
        return download(body, fmt, "theme-" + view.key)
    try:
        page = view.page()
    except NoSuchPageError as err:
        raise ApiError(404, "not-found", str(err)) from None
    return render(request, "theme.html", {"view": view, "page": page})


@router.get("/-/charts", response_class=Response)
def charts_page(request: Request, store: StoreDep) -> Response:
    """Adoptions per year by country and themes by share of adopted strategies, for the
    strategies the facets (country, level, type) leave."""
    t = tb.tables(store, page_lang(request))
    try:
        query = tb.parse_query(params(request), [], "", facets=("country", "level", "type"))
    except tb.BadParameterError as err:
        raise ApiError(400, "bad-request", str(err)) from None

    def make() -> dict[str, Any]:
        rows = [s for s in t.strategies.values() if tb.matches(s, query.filters)]
        facets, chips = tb.facet_list(t, list(t.strategies.values()), query, "/-/charts",
                                      facets=("country", "level", "type"))
        return {"adoptions": charts.adoptions_by_year(t, rows),
                "shares": charts.theme_shares(t, rows), "facets": facets, "chips": chips,
                "count": len(rows)}

    return render(request, "charts.html", t.kept(("charts", tb.filter_key(query.filters)),
                                                  make))
