"""Parse RDF safely and convert between pyoxigraph and rdflib terms.

Every RDF syntax is parsed by pyoxigraph: it reports errors with line and column, never
fetches a remote JSON-LD ``@context`` and does not resolve external XML entities. Internal
XML entities are expanded by it without a limit, so RDF/XML goes through defusedxml first
(:func:`check_xml`), which refuses entity declarations.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.errors import LoadError
from kg.formats import RdfSyntax, syntax_for_path

_POSITION = re.compile(r"line (\d+) column (\d+)")
# pyoxigraph starts messages with the position, which LoadError already states
_PREFIX = re.compile(r"^Parser error (at|between) line \d+ (column \d+ and line \d+ column \d+"
                     r"|between columns \d+ and \d+|column \d+): ")



def parse_bytes(
    data: bytes,
    syntax: RdfSyntax,
    *,
    source: str,
    base_iri: str | None = None,
    graph: ox.NamedNode | ox.DefaultGraph | None = None,
) -> list[ox.Quad]:
    """Parse ``data``; every triple goes into ``graph`` unless the syntax names graphs.

    Raises LoadError naming ``source`` (a file path or "request body"), line and column.
    """
    with _reading(data, syntax, source):
        quads = list(ox.parse(data, format=syntax.ox_format, base_iri=base_iri))
    if graph is not None:
        quads = [q if q.graph_name != ox.DefaultGraph() else ox.Quad(q.subject, q.predicate,
                                                                      q.object, graph)
                 for q in quads]
    return quads


def parse_file(path: Path, *, graph: ox.NamedNode | None = None,
               source: str | None = None, data: bytes | None = None) -> list[ox.Quad]:
    """Parse a file whose suffix names its syntax (``data``: its bytes, when already read)."""
    syntax = syntax_for_path(path)
    return parse_bytes(path.read_bytes() if data is None else data, syntax,
                       source=source or str(path), base_iri=path.resolve().as_uri(),
                       graph=graph)


def load_file(store: ox.Store, path: Path, *, graph: ox.NamedNode, source: str,
              data: bytes) -> None:
    """Add the triples of a file whose suffix names its syntax (``data``: its bytes) to
    ``store``: into ``graph`` unless the syntax names graphs (``graph`` is made even for no
    triple). The file's blank nodes are its own, under new labels, as RDF merges documents;
    parsing and adding in pyoxigraph take 2.7–3.0 s for the 1M benchmark data, where parsing
    to Python quads, putting them in the graph and adding them took 6.8–7.3 s
    (``docs/performance.md``).

    Raises LoadError as :func:`parse_bytes` does; a file that fails adds nothing.
    """
    syntax = syntax_for_path(path)
    with _reading(data, syntax, source):
        store.load(data, format=syntax.ox_format, base_iri=path.resolve().as_uri(),
                   to_graph=graph)
    store.add_graph(graph)


@contextmanager
def _reading(data: bytes, syntax: RdfSyntax, source: str) -> Iterator[None]:
    """Around pyoxigraph's reading of ``data``: RDF/XML checked first (:func:`check_xml`);
    a syntax error a LoadError naming ``source``, line and column."""
    if syntax.ox_format == ox.RdfFormat.RDF_XML:
        check_xml(data, source)
    try:
        yield
    except SyntaxError as err:
        error = _load_error(err, source)
        if error.line is None and syntax.ox_format == ox.RdfFormat.RDF_XML:
            error.line, error.column = _xml_error_position(data)
        raise error from None
    except ValueError as err:  # bad base IRI and similar
        raise LoadError(source, str(err)) from None


def _load_error(err: SyntaxError, source: str) -> LoadError:
    message = str(err.msg) if err.msg else str(err)
    line, column = err.lineno, err.offset
    if line is None:
        found = _POSITION.search(message)
        if found:
            line, column = int(found.group(1)), int(found.group(2))
    if line is not None:
        message = _PREFIX.sub("", message)
    return LoadError(source, message, line, column)


def _xml_error_position(data: bytes) -> tuple[int | None, int | None]:
    """Where expat finds XML malformed (pyoxigraph's RDF/XML errors carry no position).

    expat here reads no external entity or DTD (no handler is set) and refuses entity
    expansion bombs itself; the entity check above has already run.
    """
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as err:
        return err.lineno, err.offset + 1
    return None, None


def check_xml(data: bytes, source: str) -> None:
    """Refuse XML with a DTD that declares entities, or that refers to external ones,
    before any RDF/XML parser sees it (defusedxml, made for hostile XML). Internal entity
    declarations are refused too: their expansion is what an XML bomb abuses."""
    from defusedxml import DefusedXmlException, ElementTree

    try:
        ElementTree.fromstring(data, forbid_dtd=False, forbid_entities=True,
                               forbid_external=True)
    except DefusedXmlException as err:
        raise LoadError(source, "XML entity declarations and external references are not "
                        f"accepted ({type(err).__name__}); write IRIs and text out in full"
                        ) from None
    except Exception as err:  # malformed XML: the RDF/XML parser says where
        del err


# --- pyoxigraph ↔ rdflib -------------------------------------------------------------


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype == "http://www.w3.org/2001/XMLSchema#string":
            return Literal(term.value)
        # normalize=False: the shapes see the lexical form as written ("1_000" stays ill-typed)
        return Literal(term.value, datatype=URIRef(datatype), normalize=False)
    raise TypeError(f"no rdflib term for {term!r}")


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"no pyoxigraph term for {term!r}")


def graph_from_quads(quads: Iterable[ox.Quad | ox.Triple], graph: Graph | None = None) -> Graph:
    """Add the triples of ``quads`` (graph names dropped) to an rdflib graph. Each term is
    converted once: a term met again is the same rdflib object (half the time for a part of
    the start-up validation, and dictionary lookups that find the very key)."""
    target = graph if graph is not None else Graph()
    add = target.add
    converted: dict[ox.NamedNode | ox.BlankNode | ox.Literal, Node] = {}

    def term(value: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
        found = converted.get(value)
        if found is None:
            found = converted[value] = to_rdflib(value)
        return found

    for quad in quads:
        add((term(quad.subject), term(quad.predicate), term(quad.object)))
    return target


def triples_from_graph(graph: Graph) -> Iterator[ox.Triple]:
    for s, p, o in graph:
        yield ox.Triple(to_ox(s), to_ox(p), to_ox(o))
