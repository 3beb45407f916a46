"""``GET /search?q=…``: full-text search over the graph, as a page for browsers and as JSON.

The index is :mod:`kg.search` (SQLite FTS5, built from the store at start-up). Without
``kind`` the answer holds the best hits of every kind (``GROUP_SIZE`` each) and each group
links to all of its hits; with ``kind`` it pages through one kind (``PAGE_SIZE`` a page).
JSON by ``?format=json`` or an Accept header that prefers it (or none, or ``*/*``); HTML by
``?format=html`` or a browser's Accept header. A text that cannot be searched (empty, no
words, too long, too many words) is answered 400 with the reason; a browser that sent an
empty box gets the page with a hint instead.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from api.errors import ApiError
from api.negotiation import negotiate
from api.rendering import VARY, gettext, href_for, page_lang, render
from api.settings import Settings
from kg.search import (
    KINDS,
    Hit,
    IndexBuild,
    Link,
    Results,
    SearchIndex,
    SearchQueryError,
)
from kg.store import Store

router = APIRouter()

GROUP_SIZE = 5  # hits of each kind on the overview
PAGE_SIZE = 20  # hits a page when one kind is shown
MAX_PAGE = 500
INDEX_WAIT_S = 10.0  # how long a search waits for the index being built


def kind_names(lang: str) -> dict[str, str]:
    return {"municipality": gettext(lang, "Municipalities"),
            "strategy": gettext(lang, "Strategies"),
            "element": gettext(lang, "Strategy elements"),
            "goal": gettext(lang, "Goals and measures"),
            "decision": gettext(lang, "Decisions"),
            "body": gettext(lang, "Bodies and organisations"),
            "theme": gettext(lang, "Themes"),
            "quote": gettext(lang, "Quotes from sources")}


def query_problem(lang: str, err: SearchQueryError) -> str:
    """The reason a text cannot be searched, in the reader's language."""
    if err.reason == "too-long":
        return gettext(lang, "The search text is too long: at most 200 characters are "
                             "searched.")
    if err.reason == "too-many-words":
        return gettext(lang, "The search text has too many words: at most 10 are searched.")
    return gettext(lang, "Type at least one word to search for.")


def build_index(store: Store) -> IndexBuild:
    """Start building the store's index (in the background: the service does not wait)."""
    return IndexBuild(store)


def search_index(request: Request) -> SearchIndex:
    """The app's index, once built (a search waits up to INDEX_WAIT_S for it); a build that
    failed (a remote store out of reach) is tried again by the next search."""
    state = request.app.state
    build: IndexBuild | None = getattr(state, "search_index", None)
    if build is None or build.failed:
        build = state.search_index = IndexBuild(state.store)
    try:
        index = build.wait(INDEX_WAIT_S)
    except Exception:
        state.search_index = None
        raise
    if index is None:
        raise ApiError(503, "unavailable", "the search index is still being built; try again "
                       "in a few seconds", headers={"Retry-After": "5"})
    return index


def wants_json(request: Request, asked: str | None) -> bool:
    if asked is not None:
        chosen = {"json": True, "application/json": True, "html": False,
                  "text/html": False}.get(asked.strip().lower())
        if chosen is None:
            raise ApiError(400, "bad-request", f"unknown format {asked!r}",
                           known=["html", "json"])
        return chosen
    accept = request.headers.get("accept")
    if not accept or accept.strip() == "*/*":
        return True
    offers = ["text/html", "application/json"]
    chosen_media = negotiate(accept, offers)
    if chosen_media is None:
        raise ApiError(406, "not-acceptable", "none of the offered formats fits the Accept "
                       "header", offers=offers)
    return chosen_media == "application/json"


@router.get("/search", response_model=None, summary="Full-text search")
def search_page(request: Request, q: str = "", kind: str = "", page: int = 1,
                fmt: Annotated[str, Query(alias="format")] = "") -> Response:
    """Municipalities, strategies, elements, goals and measures, decisions, bodies, themes
    and quotes whose names or texts hold the words of ``q`` (case, accents and umlauts
    aside; each word also as the start of a longer word), ranked, grouped by kind.
    ``format``: ``json`` or ``html`` (else the Accept header decides)."""
    as_json = wants_json(request, fmt or None)
    lang = page_lang(request)
    if kind and kind not in KINDS:
        raise ApiError(400, "bad-request", f"unknown kind {kind!r}", known=list(KINDS))
    if not 1 <= page <= MAX_PAGE:
        raise ApiError(400, "bad-request", f"page must be between 1 and {MAX_PAGE}")
    settings: Settings = request.app.state.settings
    index = search_index(request)
    size = PAGE_SIZE if kind else GROUP_SIZE
    try:
        results = index.search(q, lang, kind=kind or None, limit=size,
                               offset=(page - 1) * size if kind else 0)
    except SearchQueryError as err:
        if as_json:
            raise ApiError(400, "bad-request", str(err), reason=err.reason) from None
        status = 200 if err.reason == "empty" and not q.strip() else 400
        return render(request, "search.html", {
            "query": q, "search_query": q, "results": None, "kind": kind,
            "problem": "" if status == 200 else query_problem(lang, err)}, status=status)
    names = kind_names(lang)
    paging = _paging(results, q, kind, page) if kind else {}
    if as_json:
        return JSONResponse(_json(results, settings, lang, names, q, kind, page, paging),
                            headers={"Vary": VARY})
    counts = results.counts
    return render(request, "search.html", {
        "query": q, "search_query": q, "results": results, "kind": kind, "names": names,
        "counts": counts, "total": sum(counts.values()), "page": page, "paging": paging,
        "more": {g.kind: _url(q, g.kind) for g in results.groups if g.total > len(g.hits)},
        "json_url": _url(q, kind, page if kind and page > 1 else None, "json"),
        "problem": ""})


def _url(q: str, kind: str = "", page: int | None = None, fmt: str = "") -> str:
    params = [("q", q)] + ([("kind", kind)] if kind else []) + \
        ([("page", str(page))] if page else []) + ([("format", fmt)] if fmt else [])
    return "/search?" + urlencode(params)


def _paging(results: Results, q: str, kind: str, page: int) -> dict[str, Any]:
    total = results.groups[0].total if results.groups else 0
    pages = max(1, -(-total // PAGE_SIZE))
    return {"pages": pages,
            "previous": _url(q, kind, page - 1) if page > 1 else "",
            "next": _url(q, kind, page + 1) if page < min(pages, MAX_PAGE) else ""}


def _json(results: Results, settings: Settings, lang: str, names: dict[str, str], q: str,
          kind: str, page: int, paging: dict[str, Any]) -> dict[str, Any]:
    href = href_for(settings.base_iri)

    def url(value: str) -> str:
        target = href(value)
        return settings.site + target if target.startswith("/") else target

    def link(value: Link | None) -> dict[str, str] | None:
        return {"iri": value.iri, "url": url(value.iri), "label": value.label} \
            if value else None

    def hit(item: Hit) -> dict[str, Any]:
        return {"kind": item.kind, "iri": item.iri, "url": url(item.iri), "label": item.label,
                "type": item.type or None, "snippet": item.snippet_text or None,
                "city": link(item.city), "strategy": link(item.strategy),
                "source": link(item.source), "score": item.score}

    body: dict[str, Any] = {
        "query": q, "lang": lang, "kind": kind or None, "total": results.total,
        "groups": [{"kind": g.kind, "label": names[g.kind], "total": g.total,
                    "hits": [hit(h) for h in g.hits],
                    "more": settings.site + _url(q, g.kind, None, "json")
                    if not kind and g.total > len(g.hits) else None}
                   for g in results.groups]}
    if kind:
        body.update({"page": page, "page_size": PAGE_SIZE, "pages": paging["pages"],
                     "previous": settings.site + paging["previous"] + "&format=json"
                     if paging["previous"] else None,
                     "next": settings.site + paging["next"] + "&format=json"
                     if paging["next"] else None})
    return body
