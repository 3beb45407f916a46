"""Run SPARQL queries on the store and serialise their results, with a row cap.

Two entry points:

* :func:`run_query` — the one function other parts (CLI, linked-data pages) use to query;
  it works on the embedded store and on a remote endpoint (:class:`kg.remote.RemoteStore`).
* :func:`execute` — what the SPARQL endpoint runs (inside a confined worker process, see
  :mod:`kg.workers` and :func:`query_worker`): it takes a :class:`QueryRequest` (query text,
  protocol dataset, wanted formats, row cap) and gives back the serialised bytes of the
  answer.

The row cap is enforced while serialising. A SELECT whose engine cannot return more rows
than the cap (its own outer LIMIT is within the cap, or ``LIMIT cap + 1`` is appended) is
written at once in the format the client asked for (JSON, XML or TSV) and its rows are
counted in that format; one that turns out longer, or any other, takes the capped path:
results are written as TSV (one line per solution, so lines count rows exactly) and writing
stops as soon as one row more than the cap has come out, which also stops the evaluation
(pyoxigraph evaluates lazily); the TSV is then re-read and written in the asked-for format.
CONSTRUCT and DESCRIBE take the capped path with N-Triples (one line per triple).
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import pyoxigraph as ox

from kg.errors import (
    QueryError,
    QueryRejectedError,
    QueryServiceRefusedError,
    QuerySyntaxError,
    QueryTooComplexError,
)
from kg.formats import Format, named, syntax_named
from kg.namespaces import PREFIXES
from kg.sparql_guard import QueryInfo, inspect_query
from kg.store import Store

QueryForm = Literal["select", "ask", "construct", "describe"]

_POSITION = re.compile(r"error at (\d+):(\d+):?\s*")


@dataclass
class QueryOutcome:
    """What a query returned: solutions, a boolean or triples."""

    form: QueryForm
    result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | list[ox.Triple]


def run_query(store: Store, text: str) -> QueryOutcome:
    """Run ``text`` with the union of all named graphs as the default graph.

    On a :class:`kg.remote.RemoteStore` the query goes to the remote endpoint. Updates and
    SERVICE calls are refused (QueryRejectedError) on either backend.
    """
    info = inspect_query(text)
    if info.form == "update":
        raise QueryRejectedError("SPARQL Update is not accepted: this service is read-only")
    if info.services:
        raise QueryRejectedError("SERVICE is not allowed here")
    remote = getattr(store, "remote", None)
    if remote is not None:
        store.graphs  # noqa: B018 - the remote default graph names every graph of the project
        return remote.run_query(text)  # type: ignore[no-any-return]
    try:
        result = store.ox.query(text, use_default_graph_as_union=not info.has_dataset)
    except SyntaxError as err:
        raise query_syntax_error(err, text) from None
    except OSError as err:  # pragma: no cover - evaluation errors
        raise QueryError(str(err)) from None
    if isinstance(result, ox.QueryBoolean):
        return QueryOutcome("ask", result)
    if isinstance(result, ox.QueryTriples):
        return QueryOutcome("describe" if info.form == "describe" else "construct", result)
    return QueryOutcome("select", result)


def query_syntax_error(err: SyntaxError, text: str) -> QuerySyntaxError | QueryRejectedError:
    message = str(err.msg or err)
    found = _POSITION.search(message)
    line = column = None
    if found:
        line, column = int(found.group(1)), int(found.group(2))
        message = message[found.end():]
    if inspect_query(text).form == "update":
        return QueryRejectedError("SPARQL Update is not accepted: this service is read-only")
    return QuerySyntaxError(message, line, column)


def serialize_solutions(outcome: QueryOutcome, format_name: str) -> bytes:
    """SELECT or ASK results as SPARQL JSON, XML, CSV or TSV."""
    fmt = named(format_name, "results").ox_format
    result = outcome.result
    assert isinstance(result, ox.QuerySolutions | ox.QueryBoolean)
    return result.serialize(format=fmt)


def serialize_triples(outcome: QueryOutcome, syntax: ox.RdfFormat) -> bytes:
    """CONSTRUCT or DESCRIBE results in an RDF syntax."""
    return serialize_rdf(outcome.result, syntax)  # type: ignore[arg-type]


def serialize_rdf(triples: Iterable[ox.Triple | ox.Quad], syntax: ox.RdfFormat) -> bytes:
    """Triples in ``syntax``; dataset syntaxes put them in the default graph."""
    if syntax.supports_datasets:
        triples = (t if isinstance(t, ox.Quad) else ox.Quad(t.subject, t.predicate, t.object)
                   for t in triples)
    if syntax in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.RDF_XML):
        return ox.serialize(triples, format=syntax, prefixes=PREFIXES)
    return ox.serialize(triples, format=syntax)


# --- the endpoint's execution path -------------------------------------------------------


@dataclass
class QueryRequest:
    """One query as the endpoint received it, with what the answer must look like.

    ``results_format`` (json, xml, csv, tsv) is used for SELECT/ASK, ``rdf_format`` (a name
    from :mod:`kg.formats`) for CONSTRUCT/DESCRIBE; None means the client accepts none of
    them (the answer is then a :class:`NotAcceptableError`). ``default_graphs`` and
    ``named_graphs`` are the protocol's ``default-graph-uri`` / ``named-graph-uri``; when
    both are None the query's own FROM clauses apply, or else the union of all graphs.
    """

    text: str
    results_format: str | None = "json"
    rdf_format: str | None = "turtle"
    default_graphs: list[str] | None = None
    named_graphs: list[str] | None = None
    max_rows: int = 10_000
    has_dataset: bool = False
    base_iri: str | None = None  # resolves relative IRIs (the endpoint's URL)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class QueryAnswer:
    """The serialised answer of one query."""

    form: QueryForm
    media_type: str
    body: bytes
    rows: int
    truncated: bool
    max_rows: int = 0
    #: milliseconds by step ("run": the query run and written in the worker; "worker": the
    #: worker's round trip, queue included; "store": a remote store's answer)
    timings: dict[str, float] = field(default_factory=dict)

    def header(self) -> dict[str, object]:
        return {"form": self.form, "media_type": self.media_type, "rows": self.rows,
                "truncated": self.truncated, "max_rows": self.max_rows}


class NotAcceptableError(QueryError):
    """The client's Accept header admits no format for this kind of result."""

    def __init__(self, form: QueryForm) -> None:
        super().__init__(f"no acceptable format for {form.upper()} results")
        self.form = form


class _StopWritingError(Exception):
    """Raised by the line-counting writer when it has seen enough lines."""


class _LineCapWriter(io.RawIOBase):
    """Collects written bytes; stops the writer after ``limit`` newlines."""

    def __init__(self, limit: int) -> None:
        self.chunks: list[bytes] = []
        self.lines = 0
        self.limit = limit
        self.full = False

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.full:
            raise _StopWritingError
        chunk = bytes(data)
        self.chunks.append(chunk)
        self.lines += chunk.count(b"\n")
        if self.lines >= self.limit:
            self.full = True
            raise _StopWritingError
        return len(chunk)

    def first_lines(self, count: int) -> tuple[bytes, int]:
        """The first ``count`` lines written (each with its newline) and how many there are."""
        data = b"".join(self.chunks)
        end = 0
        for _ in range(count):
            found = data.find(b"\n", end)
            if found < 0:
                break
            end = found + 1
        kept = data[:end]
        return kept, kept.count(b"\n")


def _write_lines(write: object, limit: int) -> _LineCapWriter:
    """Let ``write(writer)`` write until ``limit`` lines have come out (which stops a lazy
    evaluation too); the writer holds what was written."""
    writer = _LineCapWriter(limit)
    try:
        write(writer)  # type: ignore[operator]
    except _StopWritingError:
        pass
    except OSError as err:  # pyoxigraph wraps our stop in an OSError
        if not writer.full:
            raise QueryError(str(err)) from None
    return writer


def capped_tsv(write: object, max_rows: int) -> tuple[bytes, int, bool]:
    """Write solutions as TSV through ``write(writer)``; keep at most ``max_rows`` rows.

    Returns (tsv bytes, rows kept, truncated).
    """
    writer = _write_lines(write, max_rows + 2)  # header + max_rows + 1
    tsv, lines = writer.first_lines(max_rows + 1)
    rows = max(lines - 1, 0)
    truncated = writer.lines >= max_rows + 2
    return tsv, rows, truncated


def execute(store: ox.Store, request: QueryRequest, info: QueryInfo | None = None
            ) -> QueryAnswer:
    """Run one endpoint query on ``store`` and serialise its answer (see the module doc)."""
    info = info or inspect_query(request.text)
    kwargs: dict[str, object] = {"base_iri": request.base_iri} if request.base_iri else {}
    if request.default_graphs is not None or request.named_graphs is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in request.default_graphs or []]
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in request.named_graphs or []]
    elif not request.has_dataset:
        kwargs["use_default_graph_as_union"] = True
    direct = _direct_text(request, info)
    if direct is not None:
        answer = _answer_direct(store, direct, request, kwargs)
        if answer is not None:
            return answer
    try:
        result = store.query(request.text, **kwargs)  # type: ignore[arg-type]
    except SyntaxError as err:
        raise query_syntax_error(err, request.text) from None
    except (OSError, ValueError) as err:
        raise QueryError(str(err)) from None
    try:
        if isinstance(result, ox.QueryBoolean):
            return _answer_boolean(result, request)
        if isinstance(result, ox.QuerySolutions):
            return answer_from_tsv_writer(
                lambda w: result.serialize(w, format=ox.QueryResultsFormat.TSV), request)
        form: QueryForm = "describe" if info.form == "describe" else "construct"
        return answer_from_ntriples_writer(
            lambda w: ox.serialize(result, w, format=ox.RdfFormat.N_TRIPLES), request, form)
    except (OSError, ValueError) as err:
        raise QueryError(str(err)) from None


# --- SELECT answers written directly in the asked-for format ------------------------------
#
# Writing TSV and converting it costs as much as the query for large results. When the
# engine cannot return more than the cap (the query's own outer LIMIT is within it, or a
# LIMIT of cap + 1 is appended), the answer is written in the asked-for format at once, and
# its rows are counted in that format: exactly, or the direct answer is not used.


def _direct_text(request: QueryRequest, info: QueryInfo) -> str | None:
    """The text to run for a direct answer, or None when the capped path must be used."""
    if info.form != "select" or request.results_format not in _ROW_COUNTERS:
        return None
    if info.outer_limit is not None:
        return request.text if info.outer_limit <= request.max_rows else None
    if info.outer_values:
        return None  # a LIMIT may not follow the trailing VALUES block
    return f"{request.text}\nLIMIT {request.max_rows + 1}"  # after a final # comment


def _answer_direct(store: ox.Store, text: str, request: QueryRequest,
                   kwargs: dict[str, object]) -> QueryAnswer | None:
    """The answer written directly, or None when the capped path must give it (the text
    did not parse as changed, the result is not solutions, or it has more rows than the
    cap or rows that cannot be counted exactly)."""
    fmt = named(str(request.results_format), "results")
    try:
        result = store.query(text, **kwargs)  # type: ignore[arg-type]
    except SyntaxError:
        return None  # the capped path reports the error as the client wrote the query
    except (OSError, ValueError) as err:
        raise QueryError(str(err)) from None
    try:
        if not isinstance(result, ox.QuerySolutions):
            return None
        body = result.serialize(format=fmt.ox_format)
    except (OSError, ValueError) as err:
        raise QueryError(str(err)) from None
    finally:
        del result  # on this thread (see kg.store.Solutions)
    rows = _ROW_COUNTERS[fmt.name](body)
    if rows is None or rows > request.max_rows:
        return None
    return QueryAnswer("select", fmt.media_type, body, rows, False, request.max_rows)


def json_rows(body: bytes) -> int | None:
    """The solutions in Oxigraph's compact SPARQL JSON, or None when they cannot be counted
    exactly.

    Every solution after the first starts with ``,{"`` and a variable name. Inside a string
    a quote is escaped, so ``,{"`` there can only be a string ending in ``,{`` followed by its
    closing quote and then ``,`` or ``}``, and those are subtracted. An empty solution ``{}``
    has no such mark: a body with ``{}`` anywhere is not counted.
    """
    if b"{}" in body:
        return None
    if body.endswith(b'"bindings":[]}}'):
        return 0
    return 1 + body.count(b',{"') - body.count(b',{",') - body.count(b',{"}')


def xml_rows(body: bytes) -> int:
    """The solutions in SPARQL XML results: ``<result>`` (text escapes every ``<``)."""
    return body.count(b"<result>")


def tsv_rows(body: bytes) -> int:
    """The solutions in SPARQL TSV: lines after the header (text escapes newlines)."""
    return max(body.count(b"\n") - 1, 0)


_ROW_COUNTERS: dict[str, Callable[[bytes], int | None]] = {
    "json": json_rows, "xml": xml_rows, "tsv": tsv_rows}


def _answer_boolean(result: ox.QueryBoolean, request: QueryRequest) -> QueryAnswer:
    if request.results_format is None:
        raise NotAcceptableError("ask")
    fmt = named(request.results_format, "results")
    body = result.serialize(format=fmt.ox_format)
    return QueryAnswer("ask", fmt.media_type, body, 1, False,
                       request.max_rows)


def answer_boolean_value(value: bool, request: QueryRequest) -> QueryAnswer:
    """An ASK answer from a plain boolean (the remote backend)."""
    parsed = ox.parse_query_results(b"true" if value else b"false",
                                    format=ox.QueryResultsFormat.TSV)
    assert isinstance(parsed, ox.QueryBoolean)
    return _answer_boolean(parsed, request)


def answer_from_tsv_writer(write: object, request: QueryRequest) -> QueryAnswer:
    """A SELECT answer from something that writes SPARQL TSV results into a writer."""
    if request.results_format is None:
        raise NotAcceptableError("select")
    tsv, rows, truncated = capped_tsv(write, request.max_rows)
    fmt = named(request.results_format, "results")
    if fmt.name == "tsv":
        body = tsv
    else:
        parsed = ox.parse_query_results(tsv or b"\n", format=ox.QueryResultsFormat.TSV)
        try:
            body = parsed.serialize(format=fmt.ox_format)
        finally:
            del parsed  # on this thread (see kg.store.Solutions)
    if truncated:
        body = mark_truncated(body, fmt, request.max_rows)
    return QueryAnswer("select", fmt.media_type, body, rows, truncated,
                       request.max_rows)


def answer_from_ntriples_writer(write: object, request: QueryRequest,
                                form: QueryForm) -> QueryAnswer:
    """A CONSTRUCT/DESCRIBE answer from something that writes N-Triples into a writer."""
    if request.rdf_format is None:
        raise NotAcceptableError(form)
    syntax = syntax_named(request.rdf_format)
    writer = _write_lines(write, request.max_rows + 1)
    nt, rows = writer.first_lines(request.max_rows)
    truncated = writer.lines >= request.max_rows + 1
    if syntax.name == "ntriples":
        body = nt
    else:
        body = serialize_rdf(ox.parse(nt, format=ox.RdfFormat.N_TRIPLES), syntax.ox_format)
    if truncated:
        body = mark_truncated(body, syntax, request.max_rows)
    return QueryAnswer(form, syntax.media_type, body, rows, truncated, request.max_rows)


def truncation_note(max_rows: int) -> str:
    return (f"digistrat: result truncated to the first {max_rows} rows (max_result_rows); "
            "add LIMIT/OFFSET to page through the rest")


def mark_truncated(body: bytes, fmt: Format, max_rows: int) -> bytes:
    """Say in the body that the answer was cut at ``max_rows``, the way ``fmt`` allows
    (:attr:`kg.formats.Format.truncation`): SPARQL JSON gets a top-level ``"digistrat"``
    member, XML formats an XML comment after the declaration, Turtle, TriG, N-Triples and
    N-Quads a final ``#`` comment line. CSV, TSV and JSON-LD have no comment syntax that every
    reader skips: for them the response headers carry the signal alone.
    """
    note = truncation_note(max_rows)
    if fmt.truncation == "json-member":
        end = body.rstrip().rfind(b"}")
        extra = json.dumps({"truncated": True, "max_result_rows": max_rows, "note": note})
        return body[:end] + b',"digistrat":' + extra.encode() + body[end:]
    if fmt.truncation == "xml-comment":
        comment = f"<!-- {note} -->".encode()
        if body.startswith(b"<?xml"):
            end = body.find(b"?>") + 2
            return body[:end] + b"\n" + comment + body[end:]
        return comment + b"\n" + body
    if fmt.truncation == "hash-comment":
        sep = b"" if body.endswith(b"\n") or not body else b"\n"
        return body + sep + f"# {note}\n".encode()
    return body


# --- the worker side of the endpoint ------------------------------------------------------

#: Deepest nesting of brackets a query may have. Deeper queries are refused before the
#: engine sees them (a courtesy: the engine's recursion would crash its worker, which the
#: pool survives, but a clear message is kinder).
MAX_QUERY_NESTING = 400
MAX_UNIONS = 2_000


def _error_reply(err: Exception) -> dict[str, object]:
    if isinstance(err, QuerySyntaxError):
        return {"ok": False, "kind": "syntax", "message": err.message, "line": err.line,
                "column": err.column}
    if isinstance(err, NotAcceptableError):
        return {"ok": False, "kind": "not-acceptable", "message": str(err), "form": err.form}
    if isinstance(err, QueryServiceRefusedError):
        return {"ok": False, "kind": "service", "message": str(err),
                "endpoints": err.endpoints}
    if isinstance(err, QueryRejectedError):
        return {"ok": False, "kind": "rejected", "message": str(err)}
    if isinstance(err, QueryTooComplexError):
        return {"ok": False, "kind": "too-complex", "message": str(err)}
    return {"ok": False, "kind": "query", "message": str(err)}


def handle_query(store: ox.Store, header: dict[str, object]) -> tuple[dict[str, object], bytes]:
    """Run one endpoint query in a worker: the courtesy checks, then the engine.

    The checks say early and clearly what the confinement would stop anyway: updates,
    SERVICE calls the operator has not allowed, brackets nested deeper than the engine's
    recursion can take. A SERVICE call that the checks miss fails in the engine, because
    the worker cannot open a network connection (:mod:`kg.sandbox`).
    """
    allowlist = [str(a) for a in header.pop("service_allowlist", []) or []]  # type: ignore[union-attr]
    request = QueryRequest(**header)  # type: ignore[arg-type]
    try:
        info = inspect_query(request.text)
        depth, unions = info.deepest, info.unions
        if depth > MAX_QUERY_NESTING:
            raise QueryTooComplexError(f"the query nests brackets {depth} levels deep; at "
                                       f"most {MAX_QUERY_NESTING} are accepted")
        if unions > MAX_UNIONS:
            raise QueryTooComplexError(f"the query has {unions:,} UNIONs; at most "
                                       f"{MAX_UNIONS:,} are accepted")
        if info.form == "update":
            raise QueryRejectedError("SPARQL Update is not accepted: this endpoint is "
                                     "read-only")
        refused = info.refused_services(allowlist)
        if refused:
            raise QueryServiceRefusedError([s.endpoint or s.written for s in refused])
        request.has_dataset = info.has_dataset
        started = time.perf_counter()
        try:
            answer = execute(store, request, info)
        except QueryError as err:
            if "os error 13" in str(err) or "Permission denied" in str(err):
                # the confinement refused a network connection the checks did not foresee
                raise QueryServiceRefusedError([s.endpoint or s.written
                                                for s in info.services] or ["?"]) from None
            raise
        return {"ok": True, **answer.header(),
                "run_ms": round((time.perf_counter() - started) * 1000, 3)}, answer.body
    except QueryError as err:
        return _error_reply(err), b""


def answer_or_raise(header: dict[str, object], body: bytes) -> QueryAnswer:
    """A worker's reply as a :class:`QueryAnswer`, or the error it reports, raised."""
    if header.get("ok"):
        run_ms = header.get("run_ms")
        return QueryAnswer(header["form"], str(header["media_type"]), body,  # type: ignore[arg-type]
                           int(header["rows"]), bool(header["truncated"]),  # type: ignore[call-overload]
                           int(header["max_rows"]),  # type: ignore[call-overload]
                           {"run": float(run_ms)} if run_ms is not None else {})  # type: ignore[arg-type]
    kind = header.get("kind")
    message = str(header.get("message"))
    if kind == "syntax":
        raise QuerySyntaxError(message, header.get("line"), header.get("column"))  # type: ignore[arg-type]
    if kind == "not-acceptable":
        raise NotAcceptableError(header.get("form"))  # type: ignore[arg-type]
    if kind == "service":
        raise QueryServiceRefusedError([str(e) for e in header.get("endpoints") or []])  # type: ignore[union-attr]
    if kind == "rejected":
        raise QueryRejectedError(message)
    if kind in ("too-complex", "too-deep", "memory"):
        raise QueryTooComplexError(message)
    raise QueryError(message)
