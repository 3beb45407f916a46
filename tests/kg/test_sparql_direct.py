"""SELECT answers written directly in the asked-for format (kg.sparql): the same rows, the
same count and the same truncation as the capped path, for literals made to look like the
marks the row counters read."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.sparql import (
    QueryRequest,
    _direct_text,
    answer_from_tsv_writer,
    execute,
    json_rows,
    tsv_rows,
    xml_rows,
)
from kg.sparql_guard import inspect_query

EX = "http://example.org/"
TRICKY = ['a,{"', 'a,{"}', ",{", "{}", '},{"x":{"type":"uri"', "<result>", "line\nbreak",
          'quote " and \\ backslash', "", "Zürich"]


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    graph = ox.NamedNode(EX + "g")
    for number, text in enumerate(TRICKY):
        subject = ox.NamedNode(f"{EX}s{number}")
        store.add(ox.Quad(subject, ox.NamedNode(EX + "label"), ox.Literal(text), graph))
        store.add(ox.Quad(subject, ox.NamedNode(EX + "n"), ox.Literal(str(number),
                  datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")), graph))
    for number in range(30):
        store.add(ox.Quad(ox.NamedNode(f"{EX}t{number}"), ox.NamedNode(EX + "p"),
                          ox.BlankNode(), graph))
    return store


QUERIES = [
    "SELECT ?s ?l WHERE { ?s <http://example.org/label> ?l }",
    "SELECT ?l WHERE { ?s <http://example.org/label> ?l } ORDER BY ?l",
    "SELECT ?s ?l WHERE { ?s <http://example.org/label> ?l } LIMIT 3",
    "SELECT ?s ?l WHERE { ?s <http://example.org/label> ?l } LIMIT 3 OFFSET 2",
    "SELECT * WHERE { ?s ?p ?o } # a final comment, LIMIT 2",
    "SELECT ?s ?x WHERE { ?s ?p ?o OPTIONAL { ?s <http://example.org/none> ?x } }",
    "SELECT ?x WHERE { VALUES ?x { UNDEF 1 } }",
    "SELECT * WHERE { }",
    "SELECT ?s WHERE { ?s ?p ?o } VALUES ?s { <http://example.org/s1> }",
    "SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?o } LIMIT 2 } ?s ?q ?r }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    "SELECT ?s ?o WHERE { ?s <http://example.org/p> ?o }",
    "SELECT ?t WHERE { BIND(<<( <http://example.org/a> <http://example.org/b> 'c,{\"' )>> AS ?t) }",
]


def capped(store: ox.Store, request: QueryRequest):  # type: ignore[no-untyped-def]
    result = store.query(request.text, use_default_graph_as_union=True)
    return answer_from_tsv_writer(
        lambda w: result.serialize(w, format=ox.QueryResultsFormat.TSV), request)


def solutions(body: bytes, fmt: ox.QueryResultsFormat) -> list[tuple[str, ...]]:
    parsed = ox.parse_query_results(body, format=fmt)
    assert isinstance(parsed, ox.QuerySolutions)
    names = [v.value for v in parsed.variables]
    return sorted(tuple(str(row[name]) if row[name] is not None else "" for name in names)
                  for row in parsed)


@pytest.mark.parametrize("max_rows", [5, 10_000])
@pytest.mark.parametrize("name", ["json", "xml", "tsv"])
@pytest.mark.parametrize("query", QUERIES)
def test_direct_answers_equal_the_capped_path(store: ox.Store, query: str, name: str,
                                              max_rows: int) -> None:
    request = QueryRequest(query, results_format=name, max_rows=max_rows)
    fmt = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
           "tsv": ox.QueryResultsFormat.TSV}[name]
    got = execute(store, request)
    want = capped(store, request)
    assert (got.rows, got.truncated) == (want.rows, want.truncated)
    assert got.media_type == want.media_type
    if not want.truncated:
        assert solutions(got.body, fmt) == solutions(want.body, fmt)
    if not got.truncated:
        assert len(solutions(got.body, fmt)) == got.rows


def test_the_counters_count_what_a_parser_reads(store: ox.Store) -> None:
    for query in QUERIES:
        for fmt, count in ((ox.QueryResultsFormat.JSON, json_rows),
                           (ox.QueryResultsFormat.XML, xml_rows),
                           (ox.QueryResultsFormat.TSV, tsv_rows)):
            body = store.query(query, use_default_graph_as_union=True).serialize(format=fmt)
            rows = count(body)
            if rows is not None:  # None: not countable, the capped path answers
                assert rows == len(solutions(body, fmt)), (query, fmt)
    # the tricky labels make the JSON counter give up, never miscount
    body = store.query(QUERIES[0], use_default_graph_as_union=True).serialize(
        format=ox.QueryResultsFormat.JSON)
    assert json_rows(body) is None


@pytest.mark.parametrize(("query", "direct"), [
    ("SELECT * { ?s ?p ?o }", "SELECT * { ?s ?p ?o }\nLIMIT 11"),
    ("SELECT * { ?s ?p ?o } LIMIT 10", "SELECT * { ?s ?p ?o } LIMIT 10"),
    ("SELECT * { ?s ?p ?o } LIMIT 11", None),  # more than the cap: the capped path
    ("SELECT * { ?s ?p ?o } VALUES ?s { 1 }", None),
    ("SELECT * { { SELECT * { ?s ?p ?o } LIMIT 2 } }", "SELECT * { { SELECT * { ?s ?p ?o } "
     "LIMIT 2 } }\nLIMIT 11"),
    ("SELECT * { ?s ?p ?o FILTER(?o = 'LIMIT 1') }", "SELECT * { ?s ?p ?o FILTER(?o = "
     "'LIMIT 1') }\nLIMIT 11"),
    ("ASK { ?s ?p ?o }", None),
    ("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1", None),
])
def test_which_queries_are_answered_directly(query: str, direct: str | None) -> None:
    request = QueryRequest(query, results_format="json", max_rows=10)
    assert _direct_text(request, inspect_query(query)) == direct


def test_a_syntax_error_names_the_place_in_the_query_as_written(store: ox.Store) -> None:
    from kg.errors import QuerySyntaxError

    with pytest.raises(QuerySyntaxError) as caught:
        execute(store, QueryRequest("SELECT * WHERE { ?s ?p ", results_format="json"))
    assert caught.value.line == 1
