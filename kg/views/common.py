"""The one query entry point of the views, and what every view needs: namespaces, IRIs as
SPARQL terms, labels in the reader's language, compact names, years.

Every query of the views goes through :func:`select` / :func:`construct` / :func:`ask` here, so
the views can move to another query entry point (a remote endpoint) in one place.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import pyoxigraph as ox

from kg.i18n import gettext
from kg.namespaces import PREFIXES, SCHEMA, sparql_prologue
from kg.store import Store

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Node = ox.NamedNode | ox.BlankNode

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
SH = "http://www.w3.org/ns/shacl#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
ORG = "http://www.w3.org/ns/org#"
ELI = "http://data.europa.eu/eli/ontology#"
DCAT = "http://www.w3.org/ns/dcat#"

LANGUAGES = ("de", "en")
#: Properties that name a resource, best first.
LABEL_PROPERTIES = (SKOS + "prefLabel", RDFS + "label", DCT + "title", FOAF + "name",
                    SH + "name", str(SCHEMA) + "name")
_PROLOGUE = sparql_prologue()


# --- the one query entry point ------------------------------------------------------------


def _run(store: Store, text: str) -> Any:
    return store.query(_PROLOGUE + text)


def select(store: Store, text: str) -> list[dict[str, Term]]:
    """The solutions of a SELECT query as dicts of the bound variables."""
    return _rows(_run(store, text))


def _rows(result: Any) -> list[dict[str, Term]]:
    names = [v.value for v in result.variables]
    return [{n: s[n] for n in names if s[n] is not None} for s in result]


def select_in_parts(store: Store, projection: str, where: str, key: str
                    ) -> list[dict[str, Term]]:
    """:func:`select` of ``SELECT projection WHERE { where }`` for an answer that may be too
    large for one answer of a remote store: asked in the parts the store needs
    (:meth:`kg.remote.RemoteStore.query_in_parts`), each a FILTER on ``?key``, which must be
    bound in every solution. The rows of all parts, part after part."""
    return [row for result in store.query_in_parts(
        lambda part: f"{_PROLOGUE}SELECT {projection} WHERE {{ {where}\n{part} }}", key)
        for row in _rows(result)]


def is_named(var: str) -> str:
    """A SPARQL test that ``var`` is neither a blank node nor a literal: for a subject the
    same as ``isIRI(var)`` (a subject is an IRI or a blank node); an object may also be a
    triple term (RDF 1.2), which the caller skips. Not ``isIRI``: Virtuoso (7.2) answers a
    pattern filtered with it by a pass over the store (at 10M triples, counting a read of the
    search index took 34.7 s against 0.23 s, a resource's incoming links 0.94 s against 3 ms)."""
    return f"(!isBlank({var}) && !isLiteral({var}))"


def construct(store: Store, text: str) -> list[ox.Triple]:
    """The triples of a CONSTRUCT or DESCRIBE query, without duplicates, in a stable order."""
    return ordered(_run(store, text))


def ordered(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Triples without duplicates, in a stable order."""
    return sorted(set(triples), key=_triple_key)


def ask(store: Store, text: str) -> bool:
    return bool(_run(store, text))


def _triple_key(t: ox.Triple) -> tuple[str, str, str]:
    return (str(t.subject), str(t.predicate), str(t.object))


def iri(value: str) -> str:
    """An IRI as a SPARQL term; ValueError for anything that is not an IRI (RFC 3987, and
    no white space of any kind: SPARQL's grammar refuses more than the IRI parser)."""
    if re.search(r'[\s<>"{}|\\^`]', value):
        raise ValueError(f"not an IRI: {value!r}")
    ox.NamedNode(value)  # raises ValueError
    return f"<{value}>"


# --- serialisation ------------------------------------------------------------------------

#: The JSON-LD context published at /-/context.jsonld and used in every JSON-LD answer.
JSONLD_CONTEXT: dict[str, str] = dict(PREFIXES)

_BY_LENGTH = sorted(PREFIXES.items(), key=lambda kv: -len(kv[1]))
_LOCAL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")


def compact(value: str) -> str:
    """``prefix:local`` for an IRI under a project prefix, else the IRI itself."""
    for prefix, namespace in _BY_LENGTH:
        if value.startswith(namespace):
            local = value[len(namespace):]
            if local and _LOCAL.match(local) and not local.startswith("//"):
                return f"{prefix}:{local}"
    return value


# --- labels -------------------------------------------------------------------------------


def pick(values: dict[str, str], lang: str) -> str | None:
    """The value in ``lang``, else in the other page language, else untagged, else any."""
    for key in (lang, *LANGUAGES, ""):
        if key in values:
            return values[key]
    return next(iter(values.values()), None)


def texts_by_lang(rows: Iterable[dict[str, Term]], key: str = "l") -> dict[str, str]:
    found: dict[str, str] = {}
    for row in rows:
        value = row.get(key)
        if isinstance(value, ox.Literal):
            found.setdefault(value.language or "", value.value)
    return found


#: IRIs in one query of :func:`labels`: Virtuoso 7.2 refuses a VALUES block of 5,000 IRIs
#: (SP030) and compiles one of 27,000 (the tables' strategies and elements at 1M triples)
#: past its SQL size limit (SP031); one of 3,000 it runs.
LABELS_PER_QUERY = 1000
#: Over the 10M-triple Virtuoso a block of 96 to 190 IRIs took 52–56 ms, one of 95 or fewer
#: 8–9 ms, one of 200 15 ms and one of 1,000 67 ms (its plan changes with the block's size;
#: the same in a FILTER IN or a sub-select): a block of fewer than 200 IRIs is asked in pieces
#: of at most this many. (A strategy page's 104 IRIs: 52 ms in one query; 7.0 and 5.3 ms
#: for its 66 resources and 38 vocabulary terms apart.)
LABELS_SMALL_PIECE = 90
#: The size from which a block is asked whole (fast again from 200 IRIs, above).
LABELS_WHOLE_FROM = 200


def labels(store: Store, iris: Iterable[str], lang: str) -> dict[str, str]:
    """A label for each IRI that has one, in ``lang`` where possible."""
    wanted = sorted({i for i in iris if i and not re.search(r'[\s<>"{}|\\^`]', i)})
    if not wanted:
        return {}
    rows = []
    for piece in _pieces(wanted):
        rows += _label_rows(store, f"VALUES ?s {{ {' '.join(f'<{i}>' for i in piece)} }}")
    result = {i: gettext(lang, REUSED_NAMES[i]) for i in wanted if i in REUSED_NAMES}
    return {**result, **_chosen(rows, lang)}


def _pieces(wanted: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(wanted), LABELS_PER_QUERY):
        block = wanted[start:start + LABELS_PER_QUERY]
        step = LABELS_SMALL_PIECE if len(block) < LABELS_WHOLE_FROM else len(block)
        for first in range(0, len(block), step):
            yield block[first:first + step]


class Names(dict[str, str]):
    """The labels one page has found so far in ``lang``, by IRI, and the IRIs it has asked:
    a page that names the same IRIs in two parts (a strategy's tree, then its properties)
    asks the store for each IRI once."""

    def __init__(self, store: Store, lang: str) -> None:
        super().__init__()
        self.store, self.lang = store, lang
        self.asked: set[str] = set()

    def ask(self, iris: Iterable[str]) -> Names:
        """Adds the labels of the IRIs not asked before; returns itself."""
        new = set(iris) - self.asked
        self.update(labels(self.store, new, self.lang))
        self.asked |= new
        return self


def labels_where(store: Store, pattern: str, lang: str) -> dict[str, str]:
    """A label for each resource ``?s`` that ``pattern`` binds and that has one, in ``lang``
    where possible: one query, where :func:`labels` of many IRIs is many (on Virtuoso at 1M
    triples, 5 s for the tables' 26,000 tagged resources against 70 s). Each ``?s`` once
    (``DISTINCT``): a resource that ``pattern`` binds twice (two themes) would otherwise bring
    its labels twice; over the 10M Virtuoso the tables' labels took 13 s so, 61 s without."""
    return _chosen(_label_rows(store, f"{{ SELECT DISTINCT ?s WHERE {{ {pattern} }} }}"), lang)


def _label_rows(store: Store, pattern: str) -> list[dict[str, Term]]:
    # One branch per label property, each with its predicate bound. Not ``?s ?p ?l FILTER(?p
    # IN (…))``: Virtuoso at 1M triples took 400–460 ms for the 104 IRIs of a strategy page
    # that way, 76–100 ms this way (in process both 3 ms at 100k). Not a second VALUES block
    # either: Oxigraph joins two VALUES blocks with ``?s ?p ?l`` by reading every triple.
    branches = " UNION ".join(f"{{ ?s <{p}> ?l BIND(<{p}> AS ?p) }}" for p in LABEL_PROPERTIES)
    return select(store, f"SELECT ?s ?p ?l WHERE {{ {pattern} {branches} FILTER(isLiteral(?l)) }}")


def _chosen(rows: list[dict[str, Term]], lang: str) -> dict[str, str]:
    found: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        label = row["l"]
        assert isinstance(label, ox.Literal)
        found[row["s"].value][row["p"].value].setdefault(label.language or "", label.value)
    result = {}
    for subject, by_prop in found.items():
        for prop in LABEL_PROPERTIES:
            if prop in by_prop:
                chosen = pick(by_prop[prop], lang)
                if chosen:
                    result[subject] = chosen
                    break
    return result


#: Names of reused terms that carry no label in the store (English; German in the catalogue).
REUSED_NAMES: dict[str, str] = {
    RDF_TYPE: "type", RDFS + "label": "label",
    RDFS + "comment": "comment", RDFS + "seeAlso": "see also",
    RDFS + "isDefinedBy": "defined by",
    RDFS + "subClassOf": "subclass of",
    DCT + "title": "title", DCT + "alternative": "alternative title",
    DCT + "description": "description", DCT + "type": "kind",
    DCT + "subject": "theme", DCT + "source": "source",
    DCT + "replaces": "replaces", DCT + "isReplacedBy": "replaced by",
    DCT + "issued": "issued", DCT + "modified": "modified",
    DCT + "created": "created", DCT + "date": "date",
    DCT + "publisher": "publisher", DCT + "language": "language",
    DCT + "license": "licence", DCT + "creator": "creator",
    DCT + "isPartOf": "part of",
    SKOS + "prefLabel": "name", SKOS + "altLabel": "other name",
    SKOS + "notation": "notation", SKOS + "definition": "definition",
    SKOS + "note": "note", SKOS + "scopeNote": "scope note",
    SKOS + "inScheme": "in scheme", SKOS + "topConceptOf": "top concept of",
    SKOS + "broader": "broader", SKOS + "narrower": "narrower",
    SKOS + "hasTopConcept": "top concept",
    SKOS + "closeMatch": "close match", SKOS + "exactMatch": "exact match",
    FOAF + "name": "name", str(SCHEMA) + "sameAs": "same as",
    str(SCHEMA) + "url": "URL", OWL + "sameAs": "same as",
    ORG + "subOrganizationOf": "part of organisation",
    ORG + "postIn": "post in", ORG + "heldBy": "held by",
    ORG + "role": "role", ORG + "classification": "classification",
    ELI + "passed_by": "passed by",
    ELI + "date_document": "date of decision",
    ELI + "id_local": "local identifier",
    DCAT + "startDate": "start", DCAT + "endDate": "end",
    OWL + "versionIRI": "version IRI",
    OWL + "versionInfo": "version",
    ORG + "Post": "post", ORG + "Organization": "organisation",
    ORG + "OrganizationalUnit": "organisational unit",
    ORG + "FormalOrganization": "formal organisation", FOAF + "Person": "person",
    SKOS + "Concept": "concept", SKOS + "ConceptScheme": "concept scheme",
    SKOS + "related": "related", SKOS + "broadMatch": "broader concept elsewhere",
    SKOS + "narrowMatch": "narrower concept elsewhere",
    SKOS + "relatedMatch": "related concept elsewhere", DCT + "PeriodOfTime": "period of time",
    "http://www.w3.org/ns/prov#Plan": "plan",
}


def fallback_label(value: str, base: str) -> str:
    """A readable name for an IRI without a label: its path or its compact form."""
    if value.startswith(base):
        return value[len(base):]
    return compact(value)


# --- types and kinds ------------------------------------------------------------------------


def types_of(store: Store, subject: str) -> list[str]:
    rows = select(store, f"SELECT DISTINCT ?t WHERE {{ {iri(subject)} a ?t }} ORDER BY ?t")
    return [r["t"].value for r in rows if isinstance(r["t"], ox.NamedNode)]


def first_literal(triples: Iterable[ox.Triple], subject: str, prop: str, lang: str) -> str | None:
    found = {}
    for t in triples:
        if t.subject.value == subject and t.predicate.value == prop and \
                isinstance(t.object, ox.Literal):
            found.setdefault(t.object.language or "", t.object.value)
    return pick(found, lang) if found else None


def objects(triples: Iterable[ox.Triple], subject: str, prop: str) -> list[str]:
    return sorted({t.object.value for t in triples if t.subject.value == subject
                   and t.predicate.value == prop and isinstance(t.object, ox.NamedNode)})


# --- dates ----------------------------------------------------------------------------------


def year_of(value: str) -> int | None:
    found = re.match(r"^-?(\d{4})", value)
    return int(found.group(1)) if found else None


