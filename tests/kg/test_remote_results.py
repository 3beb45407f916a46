"""Virtuoso's results made standard as they stream in (kg/remote.py), however the stream is
cut into chunks."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pyoxigraph as ox
import pytest

from kg.remote import _json_results_fix, _xml_results_fix

BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
XML = f"""<?xml version="1.0"?>
<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head><variable name="b"/>
<variable name="x"/></head><results><result>
<binding name="b"><bnode>nodeID://b10664</bnode></binding>
<binding name="x"><literal datatype="{BOOLEAN}">1</literal></binding></result><result>
<binding name="b"><bnode>nodeID://b10667</bnode></binding>
<binding name="x"><literal datatype="{BOOLEAN}">0</literal></binding></result><result>
<binding name="x"><literal>nodeID://b1 &lt;/binding> }} 1</literal></binding></result>
</results></sparql>""".encode()
JSON = f"""{{"head": {{"vars": ["b", "x"]}}, "results": {{"bindings": [
{{"b": {{"type": "bnode", "value": "nodeID://b10664"}},
  "x": {{"type": "typed-literal", "datatype": "{BOOLEAN}", "value": "1"}}}},
{{"b": {{"type": "bnode", "value": "nodeID://b10667"}},
  "x": {{"type": "typed-literal", "datatype": "{BOOLEAN}", "value": "0"}}}},
{{"x": {{"type": "literal", "value": "nodeID://b1 </binding> }} 1"}}}}]}}}}""".encode()


def cut(data: bytes, size: int) -> Iterator[bytes]:
    return (data[i:i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize(("data", "fix", "form"), [
    (XML, _xml_results_fix, ox.QueryResultsFormat.XML),
    (JSON, _json_results_fix, ox.QueryResultsFormat.JSON)], ids=["xml", "json"])
def test_blank_nodes_and_booleans_are_standard_in_any_chunks(
        data: bytes, fix: Callable[[Iterator[bytes]], Iterator[bytes]],
        form: ox.QueryResultsFormat) -> None:
    for size in (1, 2, 3, 7, 64, len(data)):
        fixed = b"".join(fix(cut(data, size)))
        rows = list(ox.parse_query_results(io.BytesIO(fixed), format=form))
        assert [row["b"] for row in rows[:2]] == [ox.BlankNode("b10664"),
                                                   ox.BlankNode("b10667")], size
        assert [row["x"] for row in rows] == [
            ox.Literal("true", datatype=ox.NamedNode(BOOLEAN)),
            ox.Literal("false", datatype=ox.NamedNode(BOOLEAN)),
            ox.Literal("nodeID://b1 </binding> } 1")], size  # looks rewritable, stays


def test_an_xml_answer_expands_no_entity() -> None:
    """docs/deploy.md: an XML answer's own entities (a DOCTYPE) are refused, not expanded."""
    answer = b"""<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY f SYSTEM "file:///etc/passwd">]>
<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head><variable name="x"/></head>
<results><result><binding name="x"><literal>&b;&f;</literal></binding></result></results>
</sparql>"""
    with pytest.raises(SyntaxError, match="entity"):
        list(ox.parse_query_results(io.BytesIO(b"".join(_xml_results_fix(iter([answer])))),
                                    format=ox.QueryResultsFormat.XML))
