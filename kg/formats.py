"""Every format the project reads or writes, in one registry.

One :class:`Format` per RDF syntax and per SPARQL result format: its name and aliases (for
``?format=`` and the command line), media types (the canonical one first, then others that
mean the same), file suffix, W3C format IRI (for the service description), label, how an
answer in it says it was truncated, and the pyoxigraph/rdflib names its writers use.
Negotiation, ``?format=``, the service description, truncation marking, the query page, the
dumps and the command-line help all read this list: adding a format is one entry here plus,
where pyoxigraph has no writer for it, its writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyoxigraph as ox

from kg.errors import UnsupportedFormatError

Kind = Literal["rdf", "results", "table"]
#: How a truncated answer says so in its body: a JSON member, an XML comment after the
#: declaration, a final ``#`` comment line, or not at all (then the headers alone say so).
Truncation = Literal["json-member", "xml-comment", "hash-comment", "none"]

FORMATS_NS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    name: str
    kind: Kind
    label: str
    media_types: tuple[str, ...]  # the canonical one first
    suffix: str
    iri_name: str  # local name under http://www.w3.org/ns/formats/ ("" for table formats)
    ox_format: ox.RdfFormat | ox.QueryResultsFormat | None
    aliases: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()  # further file suffixes read as this format
    truncation: Truncation = "none"
    rdflib_format: str = ""
    dump_file: str = ""  # the download's file name, when it is offered as a dump
    dump_keeps_graphs: bool = False

    @property
    def media_type(self) -> str:
        return self.media_types[0]

    @property
    def iri(self) -> str:
        return FORMATS_NS + self.iri_name

    @property
    def is_text(self) -> bool:
        """Served with ``charset=utf-8`` (JSON-based types are UTF-8 by definition)."""
        return self.media_type.startswith("text/") or (self.name in (
            "ntriples", "nquads", "trig") and self.kind == "rdf")

    @property
    def holds_datasets(self) -> bool:
        return isinstance(self.ox_format, ox.RdfFormat) and self.ox_format.supports_datasets

    def content_type(self) -> str:
        return self.media_type + ("; charset=utf-8" if self.is_text else "")


def _rdf(name: str, label: str, media: tuple[str, ...], suffix: str, iri: str,
         fmt: ox.RdfFormat, rdflib: str, **extra: object) -> Format:
    return Format(name, "rdf", label, media, suffix, iri, fmt, rdflib_format=rdflib,
                  **extra)  # type: ignore[arg-type]


def _results(name: str, label: str, media: tuple[str, ...], suffix: str, iri: str,
             fmt: ox.QueryResultsFormat, **extra: object) -> Format:
    return Format(name, "results", label, media, suffix, iri, fmt, **extra)  # type: ignore[arg-type]


FORMATS: tuple[Format, ...] = (
    _rdf("turtle", "Turtle", ("text/turtle", "application/x-turtle"), ".ttl", "Turtle",
         ox.RdfFormat.TURTLE, "turtle", aliases=("ttl",), truncation="hash-comment",
         dump_file="digistrat.ttl"),
    _rdf("ntriples", "N-Triples", ("application/n-triples", "text/plain"), ".nt",
         "N-Triples", ox.RdfFormat.N_TRIPLES, "nt", aliases=("nt",),
         truncation="hash-comment"),
    _rdf("jsonld", "JSON-LD", ("application/ld+json", "application/json"), ".jsonld",
         "JSON-LD", ox.RdfFormat.JSON_LD, "json-ld", aliases=("json-ld",),
         suffixes=(".json",), dump_file="digistrat.jsonld", dump_keeps_graphs=True),
    _rdf("rdfxml", "RDF/XML", ("application/rdf+xml", "application/xml", "text/xml"), ".rdf",
         "RDF_XML", ox.RdfFormat.RDF_XML, "xml", aliases=("xml", "rdf", "owl"),
         suffixes=(".owl", ".xml"), truncation="xml-comment"),
    _rdf("n3", "N3", ("text/n3", "text/rdf+n3"), ".n3", "N3", ox.RdfFormat.N3, "n3",
         truncation="hash-comment"),
    _rdf("trig", "TriG", ("application/trig",), ".trig", "TriG", ox.RdfFormat.TRIG, "trig",
         truncation="hash-comment", dump_file="digistrat.trig", dump_keeps_graphs=True),
    _rdf("nquads", "N-Quads", ("application/n-quads",), ".nq", "N-Quads",
         ox.RdfFormat.N_QUADS, "nquads", aliases=("nq",), truncation="hash-comment",
         dump_file="digistrat.nq", dump_keeps_graphs=True),
    _results("json", "SPARQL JSON", ("application/sparql-results+json", "application/json"),
             ".srj", "SPARQL_Results_JSON", ox.QueryResultsFormat.JSON, aliases=("srj",),
             truncation="json-member"),
    _results("xml", "SPARQL XML", ("application/sparql-results+xml", "application/xml",
                                   "text/xml"), ".srx", "SPARQL_Results_XML",
             ox.QueryResultsFormat.XML, aliases=("srx",), truncation="xml-comment"),
    _results("csv", "CSV", ("text/csv",), ".csv", "SPARQL_Results_CSV",
             ox.QueryResultsFormat.CSV),
    _results("tsv", "TSV", ("text/tab-separated-values",), ".tsv", "SPARQL_Results_TSV",
             ox.QueryResultsFormat.TSV),
    # tables of the pages for people (/-/strategies?format=csv …): rows as shown, not RDF
    Format("csv", "table", "CSV", ("text/csv",), ".csv", "", None),
    Format("json", "table", "JSON", ("application/json",), ".json", "", None),
)

SYNTAXES: tuple[Format, ...] = tuple(f for f in FORMATS if f.kind == "rdf")
RESULT_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.kind == "results")
TABLE_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.kind == "table")
#: The formats of SPARQL answers (what the service description lists).
ANSWER_FORMATS: tuple[Format, ...] = SYNTAXES + RESULT_FORMATS
DUMPS: tuple[Format, ...] = tuple(f for f in FORMATS if f.dump_file)
#: An RDF syntax (the name other modules use for the RDF part of the registry).
RdfSyntax = Format


def named(name: str, kind: Kind | None = None) -> Format:
    """The format called ``name`` (its name, an alias or one of its media types)."""
    key = name.strip().lower()
    if "/" in key:
        key = key.split(";", 1)[0].strip()
    for fmt in FORMATS:
        if kind is not None and fmt.kind != kind:
            continue
        if key == fmt.name or key in fmt.aliases or key in fmt.media_types:
            return fmt
    choices = FORMATS if kind is None else [f for f in FORMATS if f.kind == kind]
    known = ", ".join(f.name for f in choices)
    what = {"rdf": "RDF format", "results": "result format", "table": "table format",
            None: "format"}[kind]
    raise UnsupportedFormatError(f"unknown {what} {name!r}; known: {known}")


def offers(kind: Kind) -> list[tuple[str, Format]]:
    """(media type, format) pairs to negotiate among, canonical types first."""
    chosen = [f for f in FORMATS if f.kind == kind]
    first = [(f.media_type, f) for f in chosen]
    rest = [(m, f) for f in chosen for m in f.media_types[1:]]
    return first + [(m, f) for m, f in rest if m not in {x for x, _ in first}]


def syntax_named(name: str) -> Format:
    """The RDF syntax called ``name`` (``turtle``, ``ttl``, ``jsonld``, a media type, …)."""
    return named(name, "rdf")


def syntax_for_path(path: Path) -> Format:
    """The RDF syntax a file's suffix names."""
    suffix = path.suffix.lower()
    for fmt in SYNTAXES:
        if suffix == fmt.suffix or suffix in fmt.suffixes:
            return fmt
    known = ", ".join(f.suffix for f in SYNTAXES)
    raise UnsupportedFormatError(f"{path}: unknown RDF file suffix {suffix!r}; known: {known}")


def syntax_for_media_type(media_type: str) -> Format:
    """The RDF syntax of a media type (parameters such as ``charset`` are ignored)."""
    base = media_type.split(";", 1)[0].strip().lower()
    for fmt in SYNTAXES:
        if base in fmt.media_types:
            return fmt
    raise UnsupportedFormatError(f"unsupported media type {base!r}")


def is_rdf_file(path: Path) -> bool:
    try:
        syntax_for_path(path)
    except UnsupportedFormatError:
        return False
    return True
