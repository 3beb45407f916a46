"""Every parser error becomes a LoadError naming the file, line and column."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kg.errors import LoadError, UnsupportedFormatError
from kg.formats import syntax_named
from kg.project import Project
from kg.rdfio import graph_from_quads, parse_bytes, parse_file
from kg.store import Store

# (syntax, text, line, column) — the column is where a person's editor puts the cursor.
BROKEN = [
    ("turtle", '@prefix ex: <http://ex/> .\nex:a ex:b ex:c .\nex:d ex:e "open .\n', 3, 11),
    ("turtle", "@prefix ex: <http://ex/> .\nex:a ex:b ex:c ;\n  ex:d .\n", 3, 8),
    ("ntriples", "<http://ex/a> <http://ex/b> <http://ex/c> .\n<http://ex/a> <b> .\n", 2, 15),
    ("trig", "<http://ex/g> { <http://ex/a> <http://ex/b> }\n", 1, 45),
    ("nquads", "<http://ex/a> <http://ex/b> <http://ex/c> <http://ex/g> <x> .\n", 1, 57),
]


@pytest.mark.parametrize(("syntax", "text", "line", "column"), BROKEN)
def test_syntax_errors_name_line_and_column(syntax: str, text: str, line: int,
                                            column: int) -> None:
    with pytest.raises(LoadError) as caught:
        parse_bytes(text.encode(), syntax_named(syntax), source="sub.x")
    err = caught.value
    assert (err.source, err.line, err.column) == ("sub.x", line, column)
    assert str(err).startswith(f"sub.x, line {line}, column {column}: ")


@pytest.mark.parametrize("syntax", ["jsonld", "rdfxml"])
def test_errors_without_position_still_name_the_source(syntax: str) -> None:
    with pytest.raises(LoadError) as caught:
        parse_bytes(b"{ this is not it", syntax_named(syntax), source="body")
    assert str(caught.value).startswith("body")


def test_remote_jsonld_context_is_not_fetched() -> None:
    body = b'{"@context": "http://127.0.0.1:9/ctx.jsonld", "@id": "http://ex/a"}'
    with pytest.raises(LoadError, match="remote context"):
        parse_bytes(body, syntax_named("jsonld"), source="body")


def test_rdfxml_entity_bomb_is_refused_before_expansion() -> None:
    entities = '<!ENTITY e0 "lol">' + "".join(
        f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE r [{entities}]>'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:ex="http://ex/"><rdf:Description rdf:about="http://ex/a">'
            "<ex:p>&e9;</ex:p></rdf:Description></rdf:RDF>").encode()
    with pytest.raises(LoadError, match="entity"):
        parse_bytes(body, syntax_named("rdfxml"), source="body")


def test_entity_declarations_are_refused_however_small() -> None:
    """defusedxml reads RDF/XML before the RDF parser: entity expansion is off altogether
    (a size check of declared entities was bypassed once, by a CDATA section)."""
    body = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY ex "http://ex/">]>'
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            b'xmlns:ex="http://ex/"><rdf:Description rdf:about="&ex;a">'
            b"<ex:p>x</ex:p></rdf:Description></rdf:RDF>")
    with pytest.raises(LoadError, match="entity declarations"):
        parse_bytes(body, syntax_named("rdfxml"), source="body")


def test_the_cdata_bypass_of_the_old_entity_check_is_closed() -> None:
    """772 bytes that once expanded to a 1 GB literal: the old check counted only the text
    after the last ']>', which a CDATA section after the entity reference moved."""
    lol = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    body = ('<?xml version="1.0"?><!DOCTYPE r [' + lol + ']>'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:ex="http://ex/"><rdf:Description rdf:about="http://ex/a">'
            '<ex:p>&l9;<![CDATA[ ]]></ex:p></rdf:Description></rdf:RDF>').encode()
    started = time.monotonic()
    with pytest.raises(LoadError, match="entity declarations"):
        parse_bytes(body, syntax_named("rdfxml"), source="body")
    assert time.monotonic() - started < 2


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n")
    with pytest.raises(UnsupportedFormatError, match="suffix"):
        parse_file(path)


def test_literals_survive_conversion_to_rdflib() -> None:
    text = ('<http://ex/a> <http://ex/p> "Zürich"@de , "2023-02-15"^^'
            '<http://www.w3.org/2001/XMLSchema#date> , "plain" .')
    graph = graph_from_quads(parse_bytes(text.encode(), syntax_named("turtle"), source="t"))
    assert {o.n3() for o in graph.objects()} == {
        '"Zürich"@de', '"2023-02-15"^^<http://www.w3.org/2001/XMLSchema#date>', '"plain"'}


def test_a_broken_file_stops_the_load_and_names_itself(tiny: Project) -> None:
    (tiny.root / "data" / "broken.ttl").write_text("@prefix ex: <http://ex/> .\nex:a ex:b .\n")
    with pytest.raises(LoadError) as caught:
        Store.load(tiny)
    assert caught.value.source == "data/broken.ttl"
    assert caught.value.line == 2
