"""SPARQLWrapper, with its default settings, against a real server process (issue 13).

SPARQLWrapper sends GET requests with an Accept header for the chosen return format *and*
the format again as URL parameters (``format``, ``output``, ``results``; for TSV, JSON-LD and
RDF/XML twice: ``format=tsv&format=text/tab-separated-values``). Every return format it
offers must come back in that format and parse, for each query form where SPARQLWrapper
itself expects it to (its own test suite's "expected" cases); the answers are compared
with the server's own JSON and Turtle answers (fetched without SPARQLWrapper), not with
counts written down here.
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.query import Result
from SPARQLWrapper import SPARQLWrapper
from support import free_port, running

ROOT = Path(__file__).resolve().parents[2]
DIGISTRAT = str(Path(sys.executable).parent / "digistrat")

PREFIXES = """PREFIX ds: <https://w3id.org/digistrat/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
# Language-tagged labels with umlauts: the charset and the literal forms must survive.
SELECT = PREFIXES + """SELECT ?m ?name ?lang WHERE {
  ?m a ds:Municipality ; skos:prefLabel ?name . BIND(LANG(?name) AS ?lang)
} ORDER BY ?m ?name LIMIT 40"""
ASK_TRUE = PREFIXES + "ASK { ?m a ds:Municipality }"
ASK_FALSE = "ASK { <urn:x:nothing> <urn:x:nothing> <urn:x:nothing> }"
CONSTRUCT = PREFIXES + """CONSTRUCT { ?m skos:prefLabel ?name ; a ds:Municipality } WHERE {
  { SELECT ?m WHERE { ?m a ds:Municipality } ORDER BY ?m LIMIT 15 }
  ?m skos:prefLabel ?name }"""

#: SPARQLWrapper's return formats for SELECT/ASK and for CONSTRUCT/DESCRIBE, with the media
#: type each must come back in. JSON for a graph is JSON-LD (as Fuseki answers it).
RESULT_CASES = [("json", "application/sparql-results+json"),
                ("xml", "application/sparql-results+xml"),
                ("csv", "text/csv"),
                ("tsv", "text/tab-separated-values")]
GRAPH_CASES = [("xml", "application/rdf+xml"), ("rdf+xml", "application/rdf+xml"),
               ("rdf", "application/rdf+xml"), ("turtle", "text/turtle"),
               ("n3", "text/n3"), ("json-ld", "application/ld+json"),
               ("json", "application/ld+json")]
RDFLIB_FORMAT = {"application/rdf+xml": "xml", "text/turtle": "turtle", "text/n3": "n3",
                 "application/ld+json": "json-ld"}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``digistrat serve`` on a free loopback port; its /sparql address."""
    port = free_port()
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path_factory.mktemp("cache")))
    command = [DIGISTRAT, "serve", "--root", str(ROOT), "--port", str(port), "-q"]
    url = f"http://127.0.0.1:{port}"
    with running(command, url + "/-/health", ready_seconds=120, env=env):
        yield url + "/sparql"


def wrapper(endpoint: str, query: str, return_format: str) -> Any:
    """SPARQLWrapper as a user sets it up: the endpoint, the query, a return format."""
    sparql = SPARQLWrapper(endpoint)
    sparql.setQuery(query)
    sparql.setReturnFormat(return_format)
    return sparql


def reference(endpoint: str, query: str, accept: str) -> bytes:
    """The server's answer to a plain protocol request (no SPARQLWrapper)."""
    response = httpx.get(endpoint, params={"query": query}, headers={"Accept": accept},
                         timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def rows(result: Result) -> list[tuple[str, ...]]:
    """Bindings as strings (CSV keeps only lexical forms, so compare those)."""
    names = [str(v) for v in result.vars or []]
    return [tuple(str(row.get(name) or "") for name in names)  # type: ignore[union-attr]
            for row in result]


def test_the_defaults_send_the_format_twice(endpoint: str) -> None:
    """The request SPARQLWrapper builds by default (the known problem of issue 13)."""
    sparql = wrapper(endpoint, SELECT, "tsv")
    sent = sparql._getRequestEncodedParameters(("query", SELECT))
    assert "format=tsv&format=text/tab-separated-values" in sent
    assert sparql.method == "GET" and not sparql.onlyConneg


@pytest.mark.parametrize(("fmt", "media"), RESULT_CASES)
def test_select_in_every_results_format(endpoint: str, fmt: str, media: str) -> None:
    expected = rows(Result.parse(io.BytesIO(reference(
        endpoint, SELECT, "application/sparql-results+json")), format="json"))
    assert expected, "the store has municipalities with labels"
    answer = wrapper(endpoint, SELECT, fmt).query()
    assert answer.response.headers["content-type"].startswith(media)
    converted = answer.convert()
    if fmt == "json":
        assert isinstance(converted, dict)
        got = rows(Result.parse(io.BytesIO(json.dumps(converted).encode()),
                                format="json"))
    elif fmt == "xml":
        assert converted.__class__.__name__ == "Document"  # SPARQLWrapper's minidom
        got = rows(Result.parse(io.BytesIO(converted.toxml("utf-8")), format="xml"))
    else:
        assert isinstance(converted, bytes)
        got = rows(Result.parse(io.BytesIO(converted), format=fmt))
    assert got == expected
    assert any(not name.isascii() for _, name, _ in got)  # umlauts came through intact


@pytest.mark.parametrize(("fmt", "media"), RESULT_CASES)
@pytest.mark.parametrize("truth", [True, False])
def test_ask_in_every_results_format(endpoint: str, fmt: str, media: str,
                                     truth: bool) -> None:
    answer = wrapper(endpoint, ASK_TRUE if truth else ASK_FALSE, fmt).query()
    assert answer.response.headers["content-type"].startswith(media)
    converted = answer.convert()
    if fmt == "json":
        assert converted["boolean"] is truth
    elif fmt == "xml":
        values = [n.firstChild.data for n in converted.getElementsByTagName("boolean")]
        assert values == [str(truth).lower()]
    else:  # CSV and TSV have no boolean form; the answer is one line, true or false
        assert isinstance(converted, bytes)
        assert converted.decode().strip().splitlines()[-1] == str(truth).lower()


def graph_of(converted: Any, media: str) -> Graph:
    if isinstance(converted, Graph):
        return converted
    assert isinstance(converted, bytes), type(converted)
    return Graph().parse(data=converted, format=RDFLIB_FORMAT[media])


@pytest.mark.parametrize(("fmt", "media"), GRAPH_CASES)
def test_construct_in_every_graph_format(endpoint: str, fmt: str, media: str) -> None:
    expected = Graph().parse(data=reference(endpoint, CONSTRUCT, "text/turtle"),
                             format="turtle")
    assert len(expected) > 0
    with warnings.catch_warnings():
        # JSON (and RDF) are not an Accept header SPARQLWrapper knows for CONSTRUCT: it
        # warns that it sends */*, and the format parameter decides
        warnings.simplefilter("ignore", RuntimeWarning)
        answer = wrapper(endpoint, CONSTRUCT, fmt).query()
        assert answer.response.headers["content-type"].startswith(media)
        got = graph_of(answer.convert(), media)
    assert isomorphic(got, expected)


@pytest.mark.parametrize(("fmt", "media"), GRAPH_CASES)
def test_describe_in_every_graph_format(endpoint: str, fmt: str, media: str) -> None:
    first = Result.parse(io.BytesIO(reference(
        endpoint, PREFIXES + "SELECT ?m WHERE { ?m a ds:Municipality } ORDER BY ?m LIMIT 1",
        "application/sparql-results+json")), format="json")
    subject = next(iter(first))[0]
    query = f"DESCRIBE <{subject}>"
    expected = Graph().parse(data=reference(endpoint, query, "text/turtle"), format="turtle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        answer = wrapper(endpoint, query, fmt).query()
        assert answer.response.headers["content-type"].startswith(media)
        got = graph_of(answer.convert(), media)
    assert len(got) > 0
    # the resource and its blank nodes (a concise bounded description)
    assert {s for s in got.subjects() if not isinstance(s, BNode)} == {URIRef(str(subject))}
    assert isomorphic(got, expected)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_post_and_only_conneg_work_too(endpoint: str, method: str) -> None:
    """The two settings users change most: POST (long queries) and content negotiation
    without the format parameters."""
    for fmt, media in [("json", "application/sparql-results+json"), ("tsv",
                       "text/tab-separated-values")]:
        sparql = wrapper(endpoint, SELECT, fmt)
        sparql.setMethod(method)
        sparql.setOnlyConneg(True)
        answer = sparql.query()
        assert answer.response.headers["content-type"].startswith(media)
        assert answer.convert()
    sparql = wrapper(endpoint, CONSTRUCT, "turtle")
    sparql.setMethod(method)
    answer = sparql.query()
    assert answer.response.headers["content-type"].startswith("text/turtle")
    assert len(graph_of(answer.convert(), "text/turtle")) > 0
