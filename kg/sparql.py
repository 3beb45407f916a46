"""Run SPARQL queries on the store and serialise their results."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pyoxigraph as ox

from kg.errors import QueryRejectedError, QuerySyntaxError
from kg.store import Store

QueryForm = Literal["select", "ask", "construct", "describe"]

RESULT_FORMATS: dict[str, ox.QueryResultsFormat] = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}

_POSITION = re.compile(r"error at (\d+):(\d+):?\s*")


@dataclass
class QueryOutcome:
    """What a query returned: solutions, a boolean or triples."""

    form: QueryForm
    result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples


def run_query(store: Store, text: str) -> QueryOutcome:
    """Run ``text`` with the union of all named graphs as the default graph."""
    try:
        result = store.ox.query(text, use_default_graph_as_union=True)
    except SyntaxError as err:
        raise query_syntax_error(err, text) from None
    if isinstance(result, ox.QueryBoolean):
        return QueryOutcome("ask", result)
    if isinstance(result, ox.QueryTriples):
        form: QueryForm = "describe" if re.search(r"\bDESCRIBE\b", text, re.I) else "construct"
        return QueryOutcome(form, result)
    return QueryOutcome("select", result)


def query_syntax_error(err: SyntaxError, text: str) -> QuerySyntaxError | QueryRejectedError:
    message = str(err.msg or err)
    found = _POSITION.search(message)
    line = column = None
    if found:
        line, column = int(found.group(1)), int(found.group(2))
        message = message[found.end():]
    if re.search(r"\b(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY)\b", text, re.I) \
            and re.match(r"(?is)^\s*(PREFIX\s+\S*\s*<[^>]*>\s*|BASE\s*<[^>]*>\s*)*"
                         r"(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY)\b", text):
        return QueryRejectedError("SPARQL Update is not accepted: this service is read-only")
    return QuerySyntaxError(message, line, column)


def serialize_solutions(outcome: QueryOutcome, format_name: str) -> bytes:
    """SELECT or ASK results as SPARQL JSON, XML, CSV or TSV."""
    fmt = RESULT_FORMATS[format_name]
    result = outcome.result
    assert isinstance(result, ox.QuerySolutions | ox.QueryBoolean)
    return result.serialize(format=fmt)


def serialize_triples(outcome: QueryOutcome, syntax: ox.RdfFormat) -> bytes:
    """CONSTRUCT or DESCRIBE results in an RDF syntax."""
    result = outcome.result
    assert isinstance(result, ox.QueryTriples)
    return ox.serialize(result, format=syntax)
