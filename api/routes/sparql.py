"""``/sparql``: the SPARQL 1.1 Protocol endpoint (read-only), its service description and
its query page. See docs/sparql.md.

The handler is a plain Starlette endpoint (no FastAPI parameter machinery) to keep the
per-request overhead low. Queries run in worker processes (:mod:`kg.querypool`) or on a
remote endpoint (:mod:`kg.remote`); the event loop only waits for their bytes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pyoxigraph as ox
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.bodies import read_bounded
from api.errors import ApiError, api_error, error_response
from api.negotiation import negotiate
from api.rendering import STATIC_DIR, VARY, render
from api.settings import Settings
from kg.endpoint import QueryBackend
from kg.errors import (
    KGError,
    UnsupportedFormatError,
)
from kg.formats import ANSWER_FORMATS, RESULT_FORMATS, SYNTAXES, named, offers, syntax_named
from kg.namespaces import PREFIXES
from kg.queries import load_queries
from kg.service_description import service_description
from kg.sparql import NotAcceptableError, QueryRequest
from kg.store import Store

RESULT_OFFERS = offers("results")
RDF_OFFERS = offers("rdf")
_TIMEOUT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$", re.I)
_FORM_TYPE = "application/x-www-form-urlencoded"


# --- request parsing ----------------------------------------------------------------------


def _params(raw: bytes | str, where: str) -> list[tuple[str, str]]:
    """Decode URL-encoded parameters strictly (UTF-8; bad escapes are a 400)."""
    text = raw.decode("ascii", "strict") if isinstance(raw, bytes) else raw
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                         encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError) as err:
        raise ApiError(400, "bad-request", f"the {where} is not valid UTF-8 URL encoding: "
                       f"{err}") from None


def _charset_is_utf8(content_type: str) -> bool:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
                "utf-8", "utf8"):
            return False
    return True


async def _protocol_params(request: Request, settings: Settings) -> tuple[
        list[tuple[str, str]], str | None]:
    """All protocol parameters of a request, and the query text from a direct POST."""
    raw_query = request.scope.get("query_string", b"")
    try:
        params = _params(raw_query, "query string") if raw_query else []
    except UnicodeDecodeError:
        raise ApiError(400, "bad-request", "the query string is not ASCII") from None
    if request.method in ("GET", "HEAD"):
        return params, None
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media == "application/sparql-update" or any(k == "update" for k, _ in params):
        raise _update_refused()
    if media not in (_FORM_TYPE, "application/sparql-query"):
        raise ApiError(415, "unsupported-media-type",
                       "POST a query as application/x-www-form-urlencoded (query=…) or as "
                       "application/sparql-query" + (f", not {media}" if media else
                                                     "; the request has no Content-Type"))
    if not _charset_is_utf8(content_type):
        raise ApiError(415, "unsupported-media-type", "the request body must be UTF-8")
    body = await read_bounded(request, settings.max_request_bytes, "max_request_bytes")
    if media == _FORM_TYPE:
        try:
            params += _params(body, "form body")
        except UnicodeDecodeError:
            raise ApiError(400, "bad-request", "the form body is not ASCII URL encoding"
                           ) from None
        return params, None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "bad-request", "the query is not valid UTF-8") from None
    return params, text


def _update_refused() -> ApiError:
    return ApiError(403, "update-refused",
                    "SPARQL Update is not accepted: this endpoint is read-only")


def _timeout_s(values: list[str], settings: Settings) -> float:
    limit = settings.query_timeout_ms / 1000
    if not values:
        return limit
    if len(values) > 1:
        raise ApiError(400, "bad-request", "give at most one timeout parameter")
    found = _TIMEOUT.match(values[0])
    if not found or float(found.group(1)) <= 0:
        raise ApiError(400, "bad-request", f"timeout={values[0]!r}: give a positive number of "
                       "seconds (2.5 or 2.5s) or milliseconds (2500ms)")
    seconds = float(found.group(1)) / (1000 if (found.group(2) or "").lower() == "ms" else 1)
    return min(seconds, limit)


def _formats(request: Request, values: list[str]) -> tuple[str | None, str | None, bool]:
    """(results format, RDF format, whether ?format= chose) for this request.

    ``?format=`` takes a name, an alias or a media type from :mod:`kg.formats`; given more
    than once (SPARQLWrapper sends ``format=tsv&format=text/tab-separated-values``), the
    values must name one format. A results format named for a graph answer means the RDF
    syntax that shares one of its media types: ``format=json`` for a CONSTRUCT is JSON-LD
    (``application/json``), as Fuseki answers it; SPARQLWrapper sends it so. Without the
    parameter the Accept header decides.
    """
    if values:
        results = {_lookup(v, "results") for v in values} - {None}
        rdf = {_lookup(v, "rdf") for v in values} - {None}
        if not rdf:
            rdf = {_lookup(m, "rdf") for r in results for m in named(r).media_types} - {None}
        if not results and not rdf:
            raise _unknown_format(values[0])
        if len(results) > 1 or len(rdf) > 1:
            raise ApiError(400, "bad-request", "the format parameters name different formats: "
                           + ", ".join(values))
        return (next(iter(results), None), next(iter(rdf), None), True)
    accept = request.headers.get("accept")
    results_media = negotiate(accept, [m for m, _ in RESULT_OFFERS])
    rdf_media = negotiate(accept, [m for m, _ in RDF_OFFERS])
    chosen_results = next((f.name for m, f in RESULT_OFFERS if m == results_media), None)
    chosen_rdf = next((f.name for m, f in RDF_OFFERS if m == rdf_media), None)
    return chosen_results, chosen_rdf, False


#: What an answer to a GET with a query depends on: a browser opening the address gets the
#: query page (see :func:`_wants_page`), anything else the results.
_RESULTS_VARY = "Accept, Sec-Fetch-Dest"
_PAGE_VARY = VARY + ", Sec-Fetch-Dest"


def _wants_page(request: Request) -> bool:
    """Whether a GET with a query comes from a browser opening the address (a link, a
    bookmark, a reload): a navigation (``Sec-Fetch-Dest: document``, which current browsers
    send and SPARQL clients do not) whose Accept header prefers HTML to every results format
    and RDF syntax, negotiated as for the service description. Then the answer is the query
    page with the query filled in and run. curl, SPARQLWrapper, a page's fetch() and a
    library that merely lists text/html first get the results, as before."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.headers.get("sec-fetch-dest", "").strip().lower() != "document":
        return False
    offers = [m for m, _ in RESULT_OFFERS] + [m for m, _ in RDF_OFFERS]
    return negotiate(request.headers.get("accept"), [*offers, "text/html"]) == "text/html"


def _lookup(value: str, kind: str) -> str | None:
    try:
        return named(value, kind).name  # type: ignore[arg-type]
    except UnsupportedFormatError:
        return None


def _unknown_format(value: str) -> ApiError:
    names = ", ".join(f.name for f in ANSWER_FORMATS)
    return ApiError(400, "bad-request", f"format={value!r} is unknown; give one of {names} "
                    "or a media type")


#: The steps a query answer's ``Server-Timing`` header names (milliseconds); no commas, so
#: that a reader splitting the header at commas still reads it.
_STEPS = {"run": "query run and written in the worker",
          "worker": "worker round trip with the wait for a worker",
          "store": "remote store round trip",
          "app": "request in the service until the answer goes to the HTTP server"}


def _server_timing(timings: dict[str, float], started: float) -> str:
    steps = {**timings, "app": (time.perf_counter() - started) * 1000}
    return ", ".join(f'{name};dur={ms:.3f};desc="{_STEPS.get(name, name)}"'
                     for name, ms in steps.items())


# --- the endpoint -------------------------------------------------------------------------


@dataclass
class Endpoint:
    """What the endpoint needs, given explicitly: the query backend, the settings, and
    (optional) the store whose graphs the service description counts and whose project's
    example queries the query page offers. Each may be given as a callable, for an app that
    starts its backend later (in its lifespan)."""

    backend: QueryBackend | Callable[[], QueryBackend]
    settings: Settings
    store: Store | Callable[[], Store] | None = None

    def the_backend(self) -> QueryBackend:
        backend = self.backend() if callable(self.backend) else self.backend
        if backend is None:
            raise ApiError(503, "unavailable", "the query service is not running")
        return backend

    def the_store(self) -> Store | None:
        return self.store() if callable(self.store) else self.store

    def url(self, request: Request) -> str:
        """The endpoint's public address (setting ``public_url``; never the Host header)."""
        return self.settings.site + request.url.path

    async def handle(self, request: Request) -> Response:
        try:
            return await self._answer(request)
        except (ApiError, KGError) as err:  # the router answers its own errors, mounted
            return error_response(api_error(err), request)  # anywhere

    async def _answer(self, request: Request) -> Response:
        started = time.perf_counter()
        settings = self.settings
        params, direct_query = await _protocol_params(request, settings)
        by_name: dict[str, list[str]] = {}
        for key, value in params:
            by_name.setdefault(key, []).append(value)
        queries = by_name.get("query", [])
        if "update" in by_name:
            raise _update_refused()
        if direct_query is not None:
            if queries:
                raise ApiError(400, "bad-request", "the query is in the body; do not also "
                               "give a query parameter")
            queries = [direct_query]
        if not queries:
            if request.method in ("GET", "HEAD"):
                return self._describe_service(request)
            raise ApiError(400, "bad-request", "the request has no query")
        if len(queries) > 1:
            raise ApiError(400, "bad-request", f"give exactly one query; this request has "
                           f"{len(queries)}")
        text = queries[0]
        if direct_query is None and "format" not in by_name and _wants_page(request):
            return self._query_page(request, text)
        if not text.strip():
            raise ApiError(400, "bad-request", "the query is empty")
        timeout_s = _timeout_s(by_name.get("timeout", []), settings)
        results_format, rdf_format, chosen = _formats(request, by_name.get("format", []))
        default_graphs = by_name.get("default-graph-uri")
        named_graphs = by_name.get("named-graph-uri")
        for name, graphs in (("default-graph-uri", default_graphs),
                             ("named-graph-uri", named_graphs)):
            for graph in graphs or []:
                try:
                    ox.NamedNode(graph)
                except ValueError:
                    raise ApiError(400, "bad-request", f"{name}={graph!r} is not an absolute "
                                   "IRI") from None
        query_request = QueryRequest(
            text, results_format, rdf_format, default_graphs, named_graphs,
            settings.max_result_rows, False, self.url(request))
        try:
            answer = await self.the_backend().run(query_request, timeout_s)
        except NotAcceptableError as err:
            acceptable = RESULT_OFFERS if err.form in ("select", "ask") else RDF_OFFERS
            why = "the format parameter names" if chosen else "the Accept header admits"
            raise ApiError(406, "not-acceptable", f"{why} no format for {err.form.upper()} "
                           "results", offers=sorted({m for m, _ in acceptable})) from None
        headers = {
            "Vary": _RESULTS_VARY if request.method in ("GET", "HEAD") else "Accept",
            "X-Digistrat-Truncated": "true" if answer.truncated else "false",
            "X-Digistrat-Max-Result-Rows": str(settings.max_result_rows),
            "X-Digistrat-Result-Rows": str(answer.rows),
            "Server-Timing": _server_timing(answer.timings, started),
        }
        return Response(answer.body, media_type=named(answer.media_type).content_type(),
                        headers=headers)

    def _describe_service(self, request: Request) -> Response:
        """GET without a query: the query page for browsers, else the service description
        in an RDF syntax."""
        rdf_types = [s.media_type for s in SYNTAXES]
        accept = request.headers.get("accept")
        media = negotiate(accept, [*rdf_types[:1], "text/html", *rdf_types[1:]])
        if media is None:
            raise ApiError(406, "not-acceptable", "the Accept header admits neither HTML nor "
                           "an RDF syntax for the service description",
                           offers=["text/html", *rdf_types])
        if media == "text/html":
            return self._query_page(request)
        syntax = syntax_named(media)
        body = service_description(self.url(request), self.the_store(), self.settings,
                                   syntax.name)
        return Response(body, media_type=syntax.content_type(), headers={"Vary": "Accept"})

    def _query_page(self, request: Request, query: str | None = None) -> Response:
        """The query page; with ``query`` (a browser opened ``/sparql?query=…``) that query
        fills the editor and runs."""
        store = self.the_store()
        try:
            examples = load_queries(store.project.queries_dir) if store is not None else []
        except (OSError, ValueError):
            examples = []
        if query is not None:
            initial = query
        else:
            initial = (examples[0].text if examples
                       else "SELECT * WHERE {\n  ?s ?p ?o\n}\nLIMIT 10")
        context = {
            "examples": [{"name": q.name, "title": q.title, "description": q.description,
                          "text": q.text} for q in examples],
            "initial": initial,
            "from_address": query is not None,
            "autorun": bool(query and query.strip()),
            "settings": self.settings,
            "result_formats": [(f.name, f.label) for f in RESULT_FORMATS],
            "rdf_formats": [(s.name, s.label) for s in SYNTAXES],
            "prefixes": PREFIXES,
            # the editor (CodeMirror, installed by `make setup`); without it a plain text box
            "editor": (STATIC_DIR / "vendor" / "codemirror" / "codemirror.js").exists(),
        }
        return render(request, "query.html", context, settings=self.settings,
                      headers={"Vary": _PAGE_VARY} if query is not None else None)


class SparqlRouter(APIRouter):
    """The SPARQL 1.1 Protocol endpoint as a router that any FastAPI app can mount, with its
    arguments given explicitly (like rdflib-endpoint's ``SparqlRouter``)::

        app = FastAPI()
        app.include_router(SparqlRouter(LocalEndpoint(store.ox, QueryPoolSettings()),
                                        Settings()))

    It answers its own errors (JSON, or a page for browsers) and does not need the rest of
    digistrat's app.
    """

    def __init__(self, backend: QueryBackend | Callable[[], QueryBackend], settings: Settings,
                 *, store: Store | Callable[[], Store] | None = None,
                 path: str = "/sparql") -> None:
        super().__init__()
        self.endpoint = Endpoint(backend, settings, store)
        self.routes.append(Route(path, self.endpoint.handle, methods=["GET", "POST"],
                                 name="sparql", include_in_schema=False))


#: The endpoint in the OpenAPI description (the route itself is a plain Starlette one).
_PARAMETERS = [
    {"name": "query", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "A SPARQL 1.1 query (no query: the service description or the query "
                    "page)."},
    {"name": "default-graph-uri", "in": "query", "required": False,
     "schema": {"type": "string"}},
    {"name": "named-graph-uri", "in": "query", "required": False,
     "schema": {"type": "string"}},
    {"name": "format", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Result format name or media type (instead of the Accept header)."},
    {"name": "timeout", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "A lower time limit, e.g. 2.5 or 2500ms."},
]
_ANSWERS = {
    "200": {"description": "The answer, in the negotiated format."},
    "400": {"description": "Syntax error, bad parameters, too complex a query."},
    "403": {"description": "Update or SERVICE refused."},
    "406": {"description": "No acceptable format."},
    "413": {"description": "Body too large."},
    "415": {"description": "Unsupported media type."},
    "503": {"description": "Time limit passed, or every worker busy."},
}
OPENAPI_PATH = {
    "get": {"summary": "SPARQL 1.1 query (GET)", "operationId": "sparql_get",
            "parameters": _PARAMETERS, "responses": _ANSWERS},
    "post": {"summary": "SPARQL 1.1 query (form or direct POST)", "operationId": "sparql_post",
             "parameters": _PARAMETERS[1:], "responses": _ANSWERS,
             "requestBody": {"content": {
                 "application/x-www-form-urlencoded": {"schema": {
                     "type": "object", "properties": {"query": {"type": "string"}},
                     "required": ["query"]}},
                 "application/sparql-query": {"schema": {"type": "string"}}}}},
}
