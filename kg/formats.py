"""RDF syntaxes the project reads and writes: file suffixes, media types, names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.errors import UnsupportedFormatError


@dataclass(frozen=True)
class RdfSyntax:
    name: str  # short name used on the command line and in ?format=
    media_type: str
    suffix: str
    ox_format: ox.RdfFormat
    rdflib_format: str

    @property
    def holds_datasets(self) -> bool:
        return self.ox_format.supports_datasets


SYNTAXES: tuple[RdfSyntax, ...] = (
    RdfSyntax("turtle", "text/turtle", ".ttl", ox.RdfFormat.TURTLE, "turtle"),
    RdfSyntax("ntriples", "application/n-triples", ".nt", ox.RdfFormat.N_TRIPLES, "nt"),
    RdfSyntax("jsonld", "application/ld+json", ".jsonld", ox.RdfFormat.JSON_LD, "json-ld"),
    RdfSyntax("rdfxml", "application/rdf+xml", ".rdf", ox.RdfFormat.RDF_XML, "xml"),
    RdfSyntax("trig", "application/trig", ".trig", ox.RdfFormat.TRIG, "trig"),
    RdfSyntax("nquads", "application/n-quads", ".nq", ox.RdfFormat.N_QUADS, "nquads"),
)

_ALIASES = {"ttl": "turtle", "nt": "ntriples", "json-ld": "jsonld", "xml": "rdfxml",
            "rdf": "rdfxml", "owl": "rdfxml", "nq": "nquads"}
_EXTRA_SUFFIXES = {".owl": "rdfxml", ".xml": "rdfxml", ".json": "jsonld"}


def syntax_named(name: str) -> RdfSyntax:
    """The syntax called ``name`` (``turtle``, ``ttl``, ``jsonld``, …)."""
    key = _ALIASES.get(name.lower(), name.lower())
    for syntax in SYNTAXES:
        if syntax.name == key:
            return syntax
    known = ", ".join(s.name for s in SYNTAXES)
    raise UnsupportedFormatError(f"unknown RDF format {name!r}; known: {known}")


def syntax_for_path(path: Path) -> RdfSyntax:
    """The syntax a file's suffix names."""
    suffix = path.suffix.lower()
    for syntax in SYNTAXES:
        if syntax.suffix == suffix:
            return syntax
    if suffix in _EXTRA_SUFFIXES:
        return syntax_named(_EXTRA_SUFFIXES[suffix])
    known = ", ".join(s.suffix for s in SYNTAXES)
    raise UnsupportedFormatError(f"{path}: unknown RDF file suffix {suffix!r}; known: {known}")


def syntax_for_media_type(media_type: str) -> RdfSyntax:
    """The syntax of a media type (parameters such as ``charset`` are ignored)."""
    base = media_type.split(";", 1)[0].strip().lower()
    aliases = {"application/x-turtle": "text/turtle", "text/n3": "text/turtle",
               "application/json": "application/ld+json", "text/plain": "application/n-triples",
               "application/xml": "application/rdf+xml", "text/xml": "application/rdf+xml"}
    base = aliases.get(base, base)
    for syntax in SYNTAXES:
        if syntax.media_type == base:
            return syntax
    raise UnsupportedFormatError(f"unsupported media type {base!r}")


def is_rdf_file(path: Path) -> bool:
    try:
        syntax_for_path(path)
    except UnsupportedFormatError:
        return False
    return True
