"""Where, not only what: every result carries the line (and column) where its resource is
first stated in the submission, for Turtle, N-Triples, RDF/XML and JSON-LD (and TriG), with
blank nodes matched by their place in the structure; the page shows the lines around it."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from kg.formats import syntax_named
from kg.positions import first_statements

ROOT = Path(__file__).resolve().parent.parent.parent
ID = "https://w3id.org/digistrat/id/"
PREFIXES = """@prefix ds: <https://w3id.org/digistrat/ontology#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix ex: <http://example.org/ns#> .
"""


def positions(text: str | bytes, syntax: str) -> tuple[dict[str, tuple[int, int | None]],
                                                        list[ox.Quad]]:
    data = text.encode() if isinstance(text, str) else text
    quads = list(ox.parse(data, format=syntax_named(syntax).ox_format))
    return first_statements(data, syntax, quads), quads


def at(text: str, line: int, column: int | None, length: int = 12) -> str:
    """The text at a 1-based line and column."""
    row = text.split("\n")[line - 1]
    return row[(column or 1) - 1:(column or 1) - 1 + length]


def subjects(quads: list[ox.Quad]) -> set[str]:
    return {q.subject.value if isinstance(q.subject, ox.NamedNode) else "_:" + q.subject.value
            for q in quads}


# --- each syntax ------------------------------------------------------------------------


def test_turtle_subjects_prefixed_names_base_and_nested_blank_nodes() -> None:
    text = PREFIXES + """@base <https://w3id.org/digistrat/id/> .
# a comment with <strategy/not-this> in it
<strategy/a> a ds:Strategy ;
    dct:title "a \\"quoted\\" title with <strategy/b> inside"@de ;
    ds:evidence [ a ds:Evidence ; ds:quote \"\"\"two
lines\"\"\"@de ] , [ a ds:Evidence ] .
ex:thing ex:list ( 1 [ ex:v 2 ] ) .
  <strategy/b> ex:p 1.5 .
<strategy/a> ex:again true .
[ ex:root 1 ] ex:x _:label .
_:label ex:y "z" .
"""
    found, quads = positions(text, "turtle")
    assert set(found) == subjects(quads)  # every subject has a position
    assert found[ID + "strategy/a"] == (7, 1)  # the first statement, not the later one
    assert found[ID + "strategy/b"] == (12, 3)
    assert found["http://example.org/ns#thing"] == (11, 1)
    assert found["_:label"] == (15, 1)
    evidence = sorted(v for k, v in found.items() if k.startswith("_:") and k != "_:label"
                      and at(text, *v, 1) == "[" and "Evidence" in at(text, *v, 20))
    assert evidence == [(9, 17), (10, 17)]  # the two anonymous evidence nodes, in order
    root = [v for k, v in found.items() if at(text, *v, 10) == "[ ex:root "]
    assert root == [(14, 1)]


def test_trig_graph_blocks() -> None:
    text = PREFIXES + """GRAPH <http://g/1> {
  <http://e/a> ex:p 1 .
}
<http://g/2> { <http://e/b> ex:p [ ex:q 2 ] }
"""
    found, quads = positions(text, "trig")
    assert found["http://e/a"] == (6, 3)
    assert found["http://e/b"] == (8, 16)
    assert set(found) == subjects(quads)


def test_ntriples_lines() -> None:
    text = ('<http://e/a> <http://e/p> "x" .\n'
            '  _:b1 <http://e/p> <http://e/a> .\n'
            '<http://e/\\u00FCber> <http://e/p> "ü" .\n')
    found, _ = positions(text, "ntriples")
    assert found == {"http://e/a": (1, 1), "_:b1": (2, 3), "http://e/über": (3, 1)}


def test_rdfxml_node_elements() -> None:
    text = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/"
         xml:base="http://b/">
  <rdf:Description rdf:about="s">
    <e:p><rdf:Description><e:q>1</e:q></rdf:Description></e:p>
    <e:r rdf:parseType="Resource"><e:y>1</e:y></e:r>
  </rdf:Description>
  <rdf:Description rdf:nodeID="n1"><e:p>2</e:p></rdf:Description>
  <e:Thing rdf:ID="frag"><e:p>3</e:p></e:Thing>
</rdf:RDF>
"""
    found, quads = positions(text, "rdfxml")
    assert set(found) == subjects(quads)
    assert found["http://b/s"] == (4, 3)
    assert found["_:n1"] == (8, 3)
    assert found["http://b/#frag"] == (9, 3)
    nested = {v for k, v in found.items() if k.startswith("_:") and k != "_:n1"}
    assert nested == {(5, 10), (6, 5)}


def test_jsonld_id_values_with_context_and_blank_nodes() -> None:
    text = """{"@context": {"e": "http://e/", "id": "@id", "@base": "http://b/"},
 "@graph": [
  {"id": "s", "e:p": {"e:q": 1}},
  {"@id": "e:t", "e:list": {"@list": [{"e:v": 1}]}},
  {"e:anonymous": 2}
 ]}"""
    found, quads = positions(text, "jsonld")
    assert set(found) == subjects(quads)
    assert found["http://b/s"] == (3, 10)  # the "@id" value (an alias of @id)
    assert found["http://e/t"] == (4, 11)
    assert at(text, *found["http://b/s"], 3) == '"s"'
    anonymous = sorted(v for k, v in found.items() if k.startswith("_:"))
    assert (3, 22) in anonymous and (5, 3) in anonymous


@pytest.mark.parametrize("name,syntax", [("strategy.ttl", "turtle"),
                                         ("strategy.jsonld", "jsonld")])
def test_every_subject_of_the_templates_has_a_position(name: str, syntax: str) -> None:
    text = (ROOT / "templates" / name).read_text(encoding="utf-8")
    found, quads = positions(text, syntax)
    assert set(found) == subjects(quads)
    strategy = ID + "strategy/stadt-vorlage-2030"
    line, column = found[strategy]
    assert "stadt-vorlage-2030" in at(text, line, column, 60)


def test_a_scan_that_cannot_follow_gives_no_positions_not_wrong_ones() -> None:
    quads = list(ox.parse(b"<http://e/a> <http://e/p> 1 .", format=ox.RdfFormat.TURTLE))
    assert first_statements(b"this is not what was parsed {", "turtle", quads) == {}


# --- through the service -------------------------------------------------------------------

CASES = {
    "turtle": ("text/turtle", PREFIXES + """
<https://w3id.org/digistrat/id/strategy/pos-2030> a ds:Strategy ;
    dct:title "Position"@de .
""", 6, 1),
    "ntriples": ("application/n-triples",
                 '<https://w3id.org/digistrat/id/strategy/pos-2030> '
                 '<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> '
                 '<https://w3id.org/digistrat/ontology#Strategy> .\n', 1, 1),
    "rdfxml": ("application/rdf+xml", """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:ds="https://w3id.org/digistrat/ontology#">
  <ds:Strategy rdf:about="https://w3id.org/digistrat/id/strategy/pos-2030"/>
</rdf:RDF>
""", 4, 3),
    "jsonld": ("application/ld+json", """{
  "@context": {"ds": "https://w3id.org/digistrat/ontology#"},
  "@id": "https://w3id.org/digistrat/id/strategy/pos-2030",
  "@type": "ds:Strategy"
}""", 3, 10),
}


@pytest.mark.parametrize("syntax", list(CASES))
def test_each_result_carries_the_line_of_its_resource(client: TestClient, syntax: str) -> None:
    media_type, text, line, column = CASES[syntax]
    response = client.post("/validate", content=text.encode(),
                           headers={"Content-Type": media_type, "Accept": "application/json"})
    assert response.status_code == 200, response.text
    results = [r for r in response.json()["results"]
               if r["focus_node"] == ID + "strategy/pos-2030"]
    assert results  # a strategy without a title, type, owner … is reported
    assert {(r["line"], r["column"]) for r in results} == {(line, column)}


def test_the_page_shows_the_lines_around_the_resource(client: TestClient) -> None:
    text = (ROOT / "tests" / "validation_corpus" / "dangling.ttl").read_text(encoding="utf-8")
    response = client.post("/validate", data={"data": text, "syntax": "turtle"},
                           headers={"Accept": "text/html"})
    assert response.status_code == 200
    html = response.text
    strategy_line = next(n for n, row in enumerate(text.split("\n"), start=1)
                         if row.startswith("<strategy/corpus-dangling-2030>"))
    section = html[html.index(f'data-line="{strategy_line}"'):]
    section = section[:section.index("</section>")]
    assert f'<strong class="line">{strategy_line}</strong>' in section
    focus = re.search(r'<div class="src focus"><span class="n">(\d+)</span><code>([^<]*)',
                      section)
    assert focus is not None and int(focus.group(1)) == strategy_line
    assert "&lt;strategy/corpus-dangling-2030&gt;" in focus.group(2)
    numbers = [int(n) for n in re.findall(r'<span class="n">(\d+)</span>', section)]
    assert numbers == list(range(strategy_line - 2, strategy_line + 3))
