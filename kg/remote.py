"""A remote SPARQL 1.1 endpoint as the query backend, and pushing the dataset into one.

The service can sit on any SPARQL 1.1 Protocol endpoint (Fuseki, Virtuoso, QLever,
``oxigraph serve``): :class:`RemoteEndpoint` sends it the query (POST, form-encoded, with
the protocol dataset), reads the answer as a stream in a standard format (SPARQL JSON
results for SELECT/ASK, N-Triples for CONSTRUCT/DESCRIBE), stops reading one row past the
row cap and writes the format the client asked for with the same code as the embedded
backend. :class:`RemoteStore` reads the project's graph from the remote store with the
reading interface of :class:`kg.store.Store`: pages, tables, reports and dumps run on it.

:func:`push_dataset` writes every named graph of a store to a SPARQL 1.1 Graph Store HTTP
Protocol endpoint, one ``PUT ?graph=<iri>`` per graph, and then their union as one more
graph, :data:`UNION_GRAPH`. A query that names no dataset gets that one graph as its
default graph when the store holds it, else the list of the project's graphs: one
``default-graph-uri`` makes every pattern one lookup, 172 of them make it 172 (the owners
query of the tables: 0.1 s against 6.2 s on ``oxigraph serve``, docs/performance.md).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from kg.endpoint import run_in_pool
from kg.errors import QueryError, QueryTimeoutError
from kg.formats import named
from kg.namespaces import GRAPH
from kg.project import Project
from kg.sparql import (
    NotAcceptableError,
    QueryAnswer,
    QueryOutcome,
    QueryRequest,
    answer_boolean_value,
    answer_from_ntriples_writer,
    answer_from_tsv_writer,
    answer_or_raise,
    handle_query,
    mark_truncated,
    query_syntax_error,
)
from kg.sparql_guard import QueryInfo, inspect_query
from kg.store import GraphInfo, GraphReading, Solutions, Store
from kg.workers import PoolSpec, WorkerPool

log = logging.getLogger("digistrat")

#: The union of the project's graphs, written by :func:`push_dataset` after them: the
#: default graph of the remote store's queries. Not under :data:`kg.namespaces.GRAPH`, so it
#: is no project graph. (Blank nodes in it are the store's own copies: a query that joins a
#: blank node of the default graph with one in ``GRAPH ?g`` finds no match. The views have
#: no such query.)
UNION_GRAPH = "https://w3id.org/digistrat/union-graph"

#: The load's manifest: ``<UNION_GRAPH> void:triples n`` and ``<g> void:triples n`` for each
#: project graph g, which :func:`push_dataset` removes before it writes anything and writes
#: after the union. The service sends :data:`UNION_GRAPH` only while this graph is there, and
#: reads the project's graphs and their sizes from it (over the 10M-triple Virtuoso: counting
#: them took 77–97 s). A load stopped halfway (or a store filled by other means) leaves the
#: graphs counted and named one by one: slower, never stale. (A manifest with the union's
#: count alone, as loads before 2026-11-29 wrote it, is honoured when the union holds n.)
UNION_COMPLETE_GRAPH = "https://w3id.org/digistrat/union-graph/complete"
_VOID_TRIPLES = "http://rdfs.org/ns/void#triples"

#: How many parts :meth:`RemoteStore.query_in_parts` asks first, and at most.
FIRST_PARTS = 1
MOST_PARTS = 256


def part_filter(key: str, number: int, parts: int) -> str:
    """A FILTER that keeps part ``number`` of ``parts`` (a power of two, at most 256) of the
    solutions, by the first hex digits of the MD5 digest of ``?key`` (every part when
    ``parts`` is 1)."""
    if parts == 1:
        return ""
    digits = 1 if parts <= 16 else 2
    prefixes = [format(n, f"0{digits}x") for n in range(16**digits)]
    size = len(prefixes) // parts
    chosen = ", ".join(f'"{p}"' for p in prefixes[number * size:(number + 1) * size])
    return f"FILTER(SUBSTR(MD5(STR(?{key})), 1, {digits}) IN ({chosen}))"

#: How deep :meth:`RemoteStore.describe` follows blank nodes (an RDF list needs one level
#: per member; the longest in the project, an ``sh:in`` of seven members, needs 7).
CLOSURE_DEPTH = 10

_EMPTY = ox.Store()  # parses queries (and runs them on nothing) to report syntax errors
#: SPARQL XML first: Virtuoso writes it four times faster than JSON (500,000 rows in 6.5 s
#: against 25.4 s at 10M triples; pyoxigraph reads either in under a second).
_RESULTS = "application/sparql-results+xml, application/sparql-results+json;q=0.9"
_ACCEPT = {
    "select": _RESULTS,
    "ask": _RESULTS,
    "construct": "application/n-triples",
    "describe": "application/n-triples",
}


class BackendError(QueryError):
    """The remote endpoint could not be reached, refused a query this service had parsed as
    valid, or answered with a server error."""


#: Virtuoso writes blank nodes in SPARQL JSON and XML as ``nodeID://b10000``, which is no
#: blank node label (pyoxigraph refuses it), and ``xsd:boolean`` values as "1" and "0".
_VIRTUOSO_BNODE = re.compile(rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")nodeID://')
_VIRTUOSO_BOOLEAN = re.compile(
    rb'("datatype"\s*:\s*"http://www\.w3\.org/2001/XMLSchema#boolean"\s*,'
    rb'\s*"value"\s*:\s*")([01])(?=")')
_VIRTUOSO_XML_BNODE = re.compile(rb"(<bnode>)nodeID://")
_VIRTUOSO_XML_BOOLEAN = re.compile(
    rb'(<literal datatype="http://www\.w3\.org/2001/XMLSchema#boolean">)([01])(?=<)')
#: What a store writes when it stops a query at its own time limit: Virtuoso's SQL state
#: S1T00 (HTTP 500), and ``oxigraph serve``'s message, written into an answer it had begun.
_STORE_TIMEOUT = re.compile(rb"S1T00|Transaction timed out|SPARQL operation has been cancelled"
                            rb"|[Tt]imeout|timed out")


def _json_results_fix(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """SPARQL JSON results with Virtuoso's blank node labels and booleans made standard.

    A term never spans a ``}``, so each chunk is rewritten up to its last ``}`` and the rest
    is kept for the next one."""
    return _results_fix(chunks, b"}", _VIRTUOSO_BNODE, _VIRTUOSO_BOOLEAN)


def _xml_results_fix(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """SPARQL XML results with Virtuoso's blank node labels (``nodeID://b10196``) and
    booleans (``1``, ``0``) made standard. A term lies within one ``binding`` element,
    whose end tag no text holds, so each chunk is rewritten up to its last ``</binding>``."""
    return _results_fix(chunks, b"</binding>", _VIRTUOSO_XML_BNODE, _VIRTUOSO_XML_BOOLEAN)


def _results_fix(chunks: Iterator[bytes], boundary: bytes, bnode: re.Pattern[bytes],
                 boolean: re.Pattern[bytes]) -> Iterator[bytes]:
    """``chunks`` with the ``bnode`` prefix dropped and the ``boolean`` values (group 2)
    written true or false, rewritten up to the last ``boundary`` of each."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        end = rest.rfind(boundary)
        if end >= 0:
            end += len(boundary)
            done, rest = rest[:end], rest[end:]
            done = bnode.sub(rb"\1", done)
            yield boolean.sub(lambda m: m.group(1) + (b"true" if m.group(2) == b"1"
                                                      else b"false"), done)
    if rest:
        yield rest


#: The results formats read from a store, and how Virtuoso's quirks are mended in each.
_RESULTS_MEDIA = {
    "application/sparql-results+json": (ox.QueryResultsFormat.JSON, _json_results_fix),
    "application/json": (ox.QueryResultsFormat.JSON, _json_results_fix),
    "application/sparql-results+xml": (ox.QueryResultsFormat.XML, _xml_results_fix),
    "application/xml": (ox.QueryResultsFormat.XML, _xml_results_fix),
}


class _StreamReader(io.RawIOBase):
    """A file over an httpx byte stream that gives up at a deadline, and keeps the last
    bytes it read (to tell what a store wrote where its answer broke off)."""

    def __init__(self, chunks: Iterator[bytes], deadline: float, limit_ms: float) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._deadline = deadline
        self._limit_ms = limit_ms
        self.tail = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._buffer:
            if time.monotonic() > self._deadline:
                raise QueryTimeoutError(
                    f"the query ran longer than {self._limit_ms:.0f} ms and was stopped",
                    round(self._limit_ms))
            self._buffer = next(self._chunks, b"")
            self.tail = (self.tail + self._buffer)[-500:]
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


class RemoteEndpoint:
    """A SPARQL 1.1 Protocol query endpoint at ``url``."""

    def __init__(self, url: str, timeout_s: float = 10.0, graphs: list[str] | None = None,
                 *, read_timeout_s: float = 300.0) -> None:
        """``timeout_s``: the limit of a client's query; ``read_timeout_s``: of the service's
        own reads (:meth:`run_query`). ``graphs``: the named graphs whose union is the
        default graph of a query that names no dataset (sent as ``default-graph-uri``, so
        the remote needs no union default graph of its own, and a query's FROM keeps its
        meaning there); ``union_graph``, when set, a graph that holds that union and is sent
        instead."""
        self.url = url
        self.timeout_s = timeout_s
        self.read_timeout_s = read_timeout_s
        self.graphs = list(graphs or [])
        self.union_graph: str | None = None
        self._client = httpx.Client(follow_redirects=False, trust_env=False)
        self.checker: WorkerPool | None = None

    def reopened(self) -> RemoteEndpoint:
        """This endpoint for a freshly forked process: a client of its own (the inherited
        one's connections are not this process's), no query checker."""
        fresh = RemoteEndpoint(self.url, self.timeout_s, self.graphs,
                               read_timeout_s=self.read_timeout_s)
        fresh.union_graph = self.union_graph
        return fresh

    def pools(self) -> list[WorkerPool]:
        return [self.checker] if self.checker is not None else []

    def health(self) -> dict[str, Any]:
        pools = [self.checker.health()] if self.checker is not None else []
        return {"kind": "remote", "url": self.url, "ok": all(p["ok"] for p in pools),
                "pools": pools}

    def check(self) -> None:
        if self.checker is not None:
            self.checker.check()

    def close(self) -> None:
        self._client.close()
        if self.checker is not None:
            self.checker.close()

    def form_data(self, request: QueryRequest) -> list[tuple[str, str]]:
        """The protocol parameters that send ``request``: the query, and the dataset (the
        request's own, else none if the query names one, else the project's)."""
        text = request.text
        if request.base_iri:  # the service-defined base, as a BASE the query may override
            text = f"BASE <{request.base_iri}> {text}"
        data: list[tuple[str, str]] = [("query", text)]
        default_graphs, named_graphs = request.default_graphs, request.named_graphs
        if default_graphs is None and named_graphs is None and not request.has_dataset:
            # a protocol dataset replaces the whole dataset, so name both parts
            default_graphs = [self.union_graph] if self.union_graph else self.graphs
            named_graphs = self.graphs
        data += [("default-graph-uri", g) for g in default_graphs or []]
        data += [("named-graph-uri", g) for g in named_graphs or []]
        return data

    def _post(self, request: QueryRequest, accept: str, timeout_s: float
              ) -> tuple[httpx.Response, Callable[[], None]]:
        data = self.form_data(request)
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        try:
            stream = self._client.stream("POST", self.url, content=urlencode(data).encode(),
                                         headers={"Accept": accept, "Content-Type":
                                                  "application/x-www-form-urlencoded"},
                                         timeout=timeout)
            response = stream.__enter__()
        except httpx.TimeoutException:
            raise QueryTimeoutError(
                f"the query ran longer than {timeout_s * 1000:.0f} ms and was stopped",
                round(timeout_s * 1000)) from None
        except httpx.HTTPError as err:
            raise BackendError(f"the SPARQL backend {self.url} is unreachable: "
                               f"{type(err).__name__}") from None
        return response, lambda: stream.__exit__(None, None, None)

    def run_sync(self, request: QueryRequest, timeout_s: float, *,
                 checked: bool = False) -> QueryAnswer:
        """Run ``request`` on the remote endpoint; the answer is capped and serialised here.

        Unless ``checked`` (the query was already parsed in a confined worker, see
        :meth:`run`), the query is parsed here first: only for trusted queries.
        """
        if not checked:
            try:  # parse here, so syntax errors say where, whatever the remote says
                _EMPTY.query(request.text, base_iri=request.base_iri)
            except SyntaxError as err:
                raise query_syntax_error(err, request.text) from None
        form = inspect_query(request.text).form
        accept = _ACCEPT.get(form, "application/sparql-results+json, application/n-triples;q=0.9")
        deadline = time.monotonic() + timeout_s
        response, close = self._post(request, accept, timeout_s)
        try:
            if response.status_code >= 400:
                raw = response.read()
                message = raw.decode("utf-8", "replace").strip()[:1000]
                if response.status_code >= 500 and _STORE_TIMEOUT.search(raw[:2000]):
                    raise self._store_timeout(timeout_s)
                if response.status_code < 500:
                    # the query was parsed as SPARQL 1.1 before it was sent: the store, not
                    # the query, is at fault (Virtuoso refuses some valid queries, e.g. past
                    # its SQL size limit, SP031)
                    raise BackendError(f"the SPARQL store refused the query with HTTP "
                                       f"{response.status_code}: {message[:500]}")
                raise BackendError(f"the SPARQL backend answered HTTP {response.status_code}: "
                                   f"{message[:200]}")
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            chunks = response.iter_bytes()
            results, fix = _RESULTS_MEDIA.get(media, (None, None))
            if fix is not None:
                chunks = fix(chunks)
            reader = _StreamReader(chunks, deadline, timeout_s * 1000)
            try:
                if media in ("application/n-triples", "text/plain"):
                    quads = ox.parse(reader, format=ox.RdfFormat.N_TRIPLES)
                    return answer_from_ntriples_writer(
                        lambda w: ox.serialize(quads, w, format=ox.RdfFormat.N_TRIPLES),
                        request, "describe" if form == "describe" else "construct")
                if results is not None:
                    parsed = ox.parse_query_results(reader, format=results)
                    try:
                        if isinstance(parsed, ox.QueryBoolean):
                            return answer_boolean_value(bool(parsed), request)
                        answer = answer_from_tsv_writer(
                            lambda w: parsed.serialize(w, format=ox.QueryResultsFormat.TSV),
                            request)
                    finally:
                        # freed here, even when an error's traceback keeps this frame: the
                        # solutions may be freed only on the thread that made them
                        del parsed
                    if "x-sparql-maxrows" in response.headers and not answer.truncated:
                        answer = _cut_by_the_store(answer, request)
                    return answer
            except httpx.TimeoutException:
                raise QueryTimeoutError(f"the query ran longer than {timeout_s * 1000:.0f} ms "
                                        "and was stopped", round(timeout_s * 1000)) from None
            except httpx.HTTPError as err:
                raise BackendError(f"the SPARQL backend failed: {type(err).__name__}") from None
            except (SyntaxError, ValueError) as err:
                if _STORE_TIMEOUT.search(reader.tail):
                    raise self._store_timeout(timeout_s) from None
                raise BackendError(f"the SPARQL backend sent an unreadable answer: {err}"
                                   ) from None
            raise BackendError(f"the SPARQL backend answered in an unexpected format {media!r}")
        finally:
            close()

    @staticmethod
    def _store_timeout(timeout_s: float) -> QueryTimeoutError:
        return QueryTimeoutError("the query ran longer than the SPARQL store allows and the "
                                 "store stopped it", round(timeout_s * 1000))

    def start_checker(self, size: int = 1, memory_mb: int = 512) -> None:
        """Parse the endpoint's (untrusted) queries in a confined pool, not in this process."""
        self.checker = WorkerPool(PoolSpec("query-check", size=size, overflow=1,
                                           queue_limit=64, memory_mb=memory_mb),
                                  lambda: lambda: lambda header, body: check_query(header))

    async def run(self, request: QueryRequest, timeout_s: float) -> QueryAnswer:
        """Check the query in a confined worker, then :meth:`run_sync` off the event loop."""
        if self.checker is None:
            self.start_checker()
        assert self.checker is not None
        reply, _ = await run_in_pool(self.checker, {**request.as_dict(),
                                                   "service_allowlist": []},
                                     time.monotonic() + timeout_s)
        if not reply.get("ok"):
            answer_or_raise(reply, b"")
        self.checked(request, reply)

        def call() -> tuple[QueryAnswer | None, QueryError | None]:
            try:
                return self.run_sync(request, timeout_s, checked=True), None
            except QueryError as err:
                # drop the tracebacks here: their frames hold pyoxigraph objects, which
                # must be freed on the thread that made them
                err.__cause__ = err.__context__ = None
                return None, err.with_traceback(None)

        started = time.perf_counter()
        answer, error = await asyncio.to_thread(call)
        if error is not None:
            raise error
        assert answer is not None
        answer.timings["store"] = round((time.perf_counter() - started) * 1000, 3)
        return answer

    def checked(self, request: QueryRequest, reply: dict[str, Any]) -> None:
        """A client's ``request`` with what :func:`check_query` found in it."""
        request.has_dataset = bool(reply.get("has_dataset"))
        self._narrow(request, has_graph=bool(reply.get("has_graph", True)))

    def read_request(self, text: str, *, union: bool = True,
                     info: QueryInfo | None = None) -> QueryRequest:
        """The request of one of the service's own reads (:meth:`run_query`); ``info``: what
        :func:`inspect_query` found in ``text``, if the caller has it."""
        info = info or inspect_query(text)
        request = QueryRequest(text, results_format="json", rdf_format="ntriples",
                               max_rows=10**12, has_dataset=info.has_dataset or not union)
        self._narrow(request, has_graph=info.has_graph)
        return request

    def _narrow(self, request: QueryRequest, *, has_graph: bool) -> None:
        """A query that names no dataset and has no ``GRAPH`` pattern reads the default
        graph alone: send only that (naming every graph as well costs Virtuoso at 1,282
        graphs about 0.2 s a query, and the answer is the same)."""
        if not (has_graph or request.has_dataset or request.default_graphs is not None
                or request.named_graphs is not None):
            request.default_graphs = [self.union_graph] if self.union_graph else self.graphs
            request.named_graphs = []

    def run_query(self, text: str, *, union: bool = True) -> QueryOutcome:
        """The :func:`kg.sparql.run_query` contract on the remote endpoint, for the service's
        own reads (no row cap; :attr:`read_timeout_s`).

        With ``union`` the default graph is the union of :attr:`graphs` (and they are the
        named graphs, for ``GRAPH`` patterns); without it no protocol dataset is sent, and
        the query sees the remote store's own dataset. An answer the store cut at its own
        row limit raises :class:`RowLimitError`."""
        info = inspect_query(text)
        request = self.read_request(text, union=union, info=info)
        form = info.form
        try:
            answer = self.run_sync(request, self.read_timeout_s)
        except NotAcceptableError as err:  # pragma: no cover - formats are fixed above
            raise QueryError(str(err)) from None
        except QueryError as err:
            # drop the traceback: its frames hold pyoxigraph objects, which must be freed on
            # this thread, and the error may be handled on another
            err.__cause__ = err.__context__ = None
            raise err.with_traceback(None) from None
        if answer.truncated:  # a page, table or index built from it would miss rows
            raise RowLimitError(
                f"the SPARQL store cut an answer at {answer.rows:,} rows (its own limit on "
                "result rows, e.g. Virtuoso's ResultSetMaxRows); raise that limit above the "
                "largest answer the pages need (docs/deploy.md)")
        if answer.form in ("construct", "describe"):
            triples = [q.triple for q in ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES)]
            return QueryOutcome("describe" if form == "describe" else "construct", triples)
        parsed = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
        unreadable = None
        try:
            if isinstance(parsed, ox.QueryBoolean):
                return QueryOutcome("ask", parsed)
            return QueryOutcome("select", Solutions.read(parsed))
        except SyntaxError as err:
            unreadable = str(err)  # raised below, once this error's frames are freed here
        finally:
            del parsed  # on this thread (see kg.store.Solutions)
        raise BackendError(f"the SPARQL store's answer could not be read: {unreadable}")


def _cut_by_the_store(answer: QueryAnswer, request: QueryRequest) -> QueryAnswer:
    """An answer the store cut at its own row limit (Virtuoso's ``ResultSetMaxRows``, told
    only in the header ``X-SPARQL-MaxRows``), marked truncated at the rows it holds."""
    assert request.results_format is not None
    fmt = named(request.results_format, "results")
    return replace(answer, body=mark_truncated(answer.body, fmt, answer.rows), truncated=True,
                   max_rows=answer.rows)


def check_query(header: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """In a confined worker: parse a query for the remote backend (syntax errors with their
    position, the courtesy checks of :func:`kg.sparql.handle_query`), without running it."""
    text = str(header.get("text", ""))
    reply, _ = handle_query(_EMPTY, {**header, "text": text, "max_rows": 0})
    if not reply.get("ok"):
        return reply, b""
    info = inspect_query(text)
    return {"ok": True, "has_dataset": info.has_dataset, "has_graph": info.has_graph}, b""


class RowLimitError(BackendError):
    """The store cut an answer of the service's own reads at its own limit on rows."""


class RemoteStore(GraphReading):
    """The project's graph in a remote SPARQL store: the same reading interface as
    :class:`kg.store.Store` (``query``, ``quads``, ``layer_graph``, ``graphs``, ``len``), every
    read a SPARQL query to ``remote``. The named graphs of the project are those whose IRI
    starts with the project's graph namespace; their list is fetched on first use and kept
    for ``graphs_ttl_s`` (the store may be reloaded meanwhile). Nothing is read from local
    files but the project's own (example queries, templates)."""

    ox = None
    path = None
    fingerprint = ""
    network = True  # a child that reads it needs the network

    def __init__(self, remote: RemoteEndpoint, project: Project,
                 graphs_ttl_s: float = 60.0) -> None:
        self.remote = remote
        self.project = project
        self._ttl = graphs_ttl_s
        self._graphs: list[GraphInfo] | None = None
        self._fetched = 0.0
        self._listing = threading.Lock()  # held by the one request reading the list

    @property
    def graphs(self) -> list[GraphInfo]:
        """The project's graphs. The first use reads them (the first requests wait for that
        read); once the list is older than ``graphs_ttl_s``, it is read again in a thread of
        its own, one read at a time, while every request goes on with the list read before
        (over the 10M Virtuoso the read took 1–2 s from the manifest, 77–97 s counted)."""
        if self._graphs is None:
            with self._listing:
                if self._graphs is None:
                    self._list_graphs()
        elif time.monotonic() - self._fetched > self._ttl and \
                self._listing.acquire(blocking=False):
            try:
                threading.Thread(target=self._list_again, name="digistrat-graphs",
                                 daemon=True).start()
            except RuntimeError:  # no new threads (the interpreter is ending)
                self._listing.release()
        assert self._graphs is not None
        return self._graphs

    def refresh_graphs(self) -> list[GraphInfo]:
        """Read the list of graphs now and wait for it (the store was just loaded)."""
        with self._listing:
            self._list_graphs()
        assert self._graphs is not None
        return self._graphs

    def _list_again(self) -> None:
        """The list read again, in its own thread (the lock taken by the request that found
        the list old). A failed read keeps the list read before and is logged; the next
        request that finds the list old starts another."""
        try:
            self._list_graphs()
        except Exception as err:  # the store out of reach, its timeout, an odd answer
            log.warning("the list of graphs was not read again (the one read before is "
                        "kept): %s", err)
        finally:
            self._listing.release()

    def _list_graphs(self) -> None:
        counts, complete = self._graphs_of_manifest() or self._graphs_counted()
        iris = sorted(counts)
        files = self.project.files_of_graphs(iris)  # (the files are listed once)
        self._graphs = [GraphInfo(iri, file, counts[iri])
                        for iri, file in zip(iris, files, strict=True)]
        self._fetched = time.monotonic()
        self.remote.graphs = iris
        self.remote.union_graph = UNION_GRAPH if complete else None

    def _graphs_of_manifest(self) -> tuple[dict[str, int], bool] | None:
        """The project's graphs and their sizes as the last complete load wrote them in
        :data:`UNION_COMPLETE_GRAPH` (one read of a few thousand rows); None when no load
        wrote them there."""
        counts: dict[str, int] = {}
        for row in self._select(f"SELECT ?g ?n WHERE {{ GRAPH <{UNION_COMPLETE_GRAPH}> "
                                f"{{ ?g <{_VOID_TRIPLES}> ?n }} }}", union=False):
            try:
                counts[row["g"].value] = int(row["n"].value)
            except ValueError:
                return None
        if UNION_GRAPH not in counts or len(counts) == 1:
            return None
        return {g: n for g, n in counts.items() if g.startswith(str(GRAPH))}, True

    def _graphs_counted(self) -> tuple[dict[str, int], bool]:
        """The project's graphs and their sizes, counted (a pass over the store); whether
        the union graph is complete: its count is the one a load's manifest gives."""
        rows = self._select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                            f'FILTER(STRSTARTS(STR(?g), "{GRAPH}") '
                            f"|| ?g = <{UNION_GRAPH}>) }} GROUP BY ?g", union=False)
        counts = {r["g"].value: int(r["n"].value) for r in rows}
        union = counts.pop(UNION_GRAPH, None)
        complete = union is not None and bool(self.query(
            f"ASK {{ GRAPH <{UNION_COMPLETE_GRAPH}> {{ <{UNION_GRAPH}> <{_VOID_TRIPLES}> "
            f"{union} }} }}", union=False))
        return counts, complete

    def query(self, text: str, *, union: bool = True) -> Any:
        """A trusted query on the remote store (the views' own), default graph = the union
        of the project's graphs unless ``union`` is False."""
        if union:
            self.graphs  # noqa: B018 - the default graph names every graph of the project
        return self.remote.run_query(text, union=union).result

    def describe(self, subjects: list[str]) -> list[ox.Triple]:
        """The triples of ``subjects`` (SPARQL terms, ``<iri>``) with the closure over
        blank-node objects, :data:`CLOSURE_DEPTH` levels deep: a CONSTRUCT of nested
        OPTIONALs, not DESCRIBE, whose answer each store shapes its own way (Virtuoso: also
        the triples pointing at the resource, and no closure)."""
        template = ["?s ?p ?o ."]

        def nested(node: str, level: int) -> str:
            if level > CLOSURE_DEPTH:
                return ""
            p, o = f"?p{level}", f"?o{level}"
            template.append(f"{node} {p} {o} .")
            return (f"OPTIONAL {{ FILTER(isBlank({node})) {node} {p} {o} "
                    f"{nested(o, level + 1)}}} ")

        where = nested("?o", 1)
        triples: list[ox.Triple] = self.query(
            f"CONSTRUCT {{ {' '.join(template)} }} WHERE {{ "
            f"VALUES ?s {{ {' '.join(subjects)} }} ?s ?p ?o {where}}}")
        return triples

    def query_in_parts(self, text_of_part: Callable[[str], str], key: str) -> list[Any]:
        """The answers that together answer one query (see
        :meth:`kg.store.Store.query_in_parts`). Asked whole first; when the store cuts the
        answer at its own row limit (Virtuoso answers at most 2^20 rows over HTTP, whatever
        its ``ResultSetMaxRows`` says), asked again in twice as many parts, up to
        :data:`MOST_PARTS`: part i of n keeps the solutions whose ``?key`` has an MD5 digest
        starting with one of the n-th group of hex prefixes, so each solution is in exactly
        one part, and each part costs the store one pass."""
        parts = FIRST_PARTS
        while True:
            try:
                return [self.query(text_of_part(part_filter(key, number, parts)))
                        for number in range(parts)]
            except RowLimitError:
                if parts >= MOST_PARTS:
                    raise
                parts *= 2

    def _select(self, text: str, *, union: bool = True) -> list[Any]:
        return list(self.query(text, union=union))

    def quads(self, subject: str | None = None, graph: str | None = None
              ) -> list[ox.Quad]:
        """The quads about ``subject`` and/or in ``graph`` of the project's graphs."""
        where = f"<{subject}>" if subject else "?s"
        if graph:
            rows = self._select(f"SELECT * WHERE {{ GRAPH <{graph}> {{ {where} ?p ?o }} }}",
                                union=False)
        else:
            rows = self._select(f"SELECT * WHERE {{ GRAPH ?g {{ {where} ?p ?o }} "
                                f'FILTER(STRSTARTS(STR(?g), "{GRAPH}")) }}', union=False)
        found = []
        for row in rows:
            name = ox.NamedNode(graph) if graph else row["g"]
            found.append(ox.Quad(ox.NamedNode(subject) if subject else row["s"], row["p"],
                                 row["o"], name))
        return found

    def reopened(self) -> RemoteStore:
        """This store for a freshly forked process: over an endpoint of its own
        (:meth:`RemoteEndpoint.reopened`), with the list of graphs read so far."""
        fresh = RemoteStore(self.remote.reopened(), self.project, self._ttl)
        fresh._graphs, fresh._fetched = self._graphs, self._fetched
        return fresh

    def __len__(self) -> int:
        return sum(g.triples for g in self.graphs)


class _StoreLogin(httpx.Auth):
    """Credentials for a store's Graph Store endpoint, sent only when the store asks (401)
    and in the scheme it asks for: Digest (Virtuoso's ``/sparql-graph-crud-auth``) or
    Basic (Fuseki, GraphDB; in clear text unless the URL is https)."""

    def __init__(self, user: str, password: str) -> None:
        self._user, self._password = user, password
        self._scheme: httpx.Auth | None = None

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if self._scheme is not None:  # the store's scheme is known: answer it at once
            yield from self._scheme.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        challenges = [c.lower() for c in response.headers.get_list("www-authenticate")]
        if any(c.startswith("digest") for c in challenges):
            self._scheme = httpx.DigestAuth(self._user, self._password)
        elif any(c.startswith("basic") for c in challenges):
            self._scheme = httpx.BasicAuth(self._user, self._password)
        else:
            return
        yield from self._scheme.auth_flow(request)


#: The union graph is written as Graph Store Protocol POSTs (a merge into the graph) of whole
#: graphs, at least this many triples a request, rather than one request as large as the
#: data (1.9 GB at 10M triples) after a set of every triple in memory. A graph is never
#: split over two requests: a store renames the blank nodes of each request apart.
UNION_BATCH = 100_000


def push_dataset(store: Store, url: str, progress: Callable[[str], None] | None = None,
                 timeout_s: float = 60.0, user: str | None = None,
                 password: str | None = None, union: bool = True) -> int:
    """PUT every named graph of ``store`` to the Graph Store Protocol endpoint ``url``,
    then (with ``union``) write their union, each triple once, as :data:`UNION_GRAPH`
    (POSTs of :data:`UNION_BATCH` triples; the store keeps a triple POSTed twice once), and
    last :data:`UNION_COMPLETE_GRAPH`, the manifest with the union's and each graph's count
    (both removed first, so a load stopped halfway leaves no manifest).

    ``user`` and ``password`` log in when the store asks for it (HTTP 401), by Digest or
    Basic as it asks (Virtuoso: ``…/sparql-graph-crud-auth`` and a user with the role
    ``SPARQL_UPDATE``; docs/deploy.md). Returns the number of graphs written; raises
    BackendError on the first failure.
    """
    auth = _StoreLogin(user, password or "") if user else None
    with httpx.Client(trust_env=False, timeout=timeout_s, auth=auth) as client:
        if union:  # from here until the union is written again, it is stale
            _send(client, "DELETE", url, UNION_COMPLETE_GRAPH, None, user)
            _send(client, "DELETE", url, UNION_GRAPH, None, user)
        total = len(store.graphs) + union
        batch: list[ox.Triple] = []
        for number, info in enumerate(store.graphs, 1):
            triples = [q.triple for q in store.quads(graph=info.iri)]
            status = _put(client, url, info.iri, triples, user)
            if progress:
                progress(f"[{number}/{total}] {info.file} -> <{info.iri}> "
                         f"({info.triples} triples, HTTP {status})")
            if union:
                batch.extend(triples)
                if batch and (len(batch) >= UNION_BATCH or number == len(store.graphs)):
                    _send(client, "POST", url, UNION_GRAPH, _ntriples(batch), user)
                    batch = []
        if union:
            distinct = int(next(iter(store.query(
                "SELECT (COUNT(*) AS ?n) { SELECT DISTINCT ?s ?p ?o { ?s ?p ?o } }")))["n"].value)
            if progress:
                progress(f"[{total}/{total}] their union -> <{UNION_GRAPH}> "
                         f"({distinct} triples)")
            sizes = [(UNION_GRAPH, distinct), *((g.iri, g.triples) for g in store.graphs)]
            _put(client, url, UNION_COMPLETE_GRAPH, [ox.Triple(
                ox.NamedNode(graph), ox.NamedNode(_VOID_TRIPLES), ox.Literal(size))
                for graph, size in sizes], user)
    return len(store.graphs)


def _put(client: httpx.Client, url: str, graph: str, triples: list[ox.Triple],
         user: str | None) -> int:
    """PUT one graph; its HTTP status, or BackendError saying why the store refused."""
    return _send(client, "PUT", url, graph, _ntriples(triples), user)


def _ntriples(triples: list[ox.Triple]) -> bytes:
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)


def _send(client: httpx.Client, method: str, url: str, graph: str, body: bytes | None,
          user: str | None) -> int:
    """PUT ``body`` as ``graph``, POST it (add it to the graph), or DELETE the graph (a graph
    that is not there is no error); the HTTP status, or BackendError saying why the store
    refused."""
    headers = {"Content-Type": "application/n-triples"} if body is not None else {}
    try:
        response = client.request(method, url, params={"graph": graph}, content=body,
                                  headers=headers)
    except httpx.HTTPError as err:
        raise BackendError(f"{url} is unreachable: {type(err).__name__}") from None
    if response.status_code in (401, 403):
        if response.status_code == 403:
            hint = ("the store refused to write (Virtuoso: use …/sparql-graph-crud-auth "
                    "and a user with the role SPARQL_UPDATE)")
        elif user:
            hint = "the store refused the login"
        else:
            hint = "the store asks for a login: give a user with write permission"
        raise BackendError(f"{method} {graph} to {url}: HTTP {response.status_code}: {hint}")
    if response.status_code >= 300 and not (method == "DELETE" and response.status_code == 404):
        raise BackendError(f"{method} {graph} to {url}: HTTP {response.status_code} "
                           f"{response.text[:200]}")
    return response.status_code
