"""The view of any resource: its description, serialisations, property groups, incoming
links and sources (the generic resource page and the parts every page shares)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from kg.formats import RdfSyntax
from kg.namespaces import DS, SCHEMA, SERIALIZATION_PREFIXES
from kg.store import Store
from kg.views.common import (
    DCAT,
    DCT,
    ELI,
    FOAF,
    JSONLD_CONTEXT,
    ORG,
    OWL,
    RDF_TYPE,
    RDFS,
    SKOS,
    XSD,
    Names,
    Term,
    ask,
    compact,
    construct,
    fallback_label,
    iri,
    is_named,
    ordered,
    pick,
    select,
)

# --- descriptions -------------------------------------------------------------------------


def exists(store: Store, subject: str) -> bool:
    """Whether ``subject`` is described (is the subject of a triple)."""
    return ask(store, f"ASK {{ {iri(subject)} ?p ?o }}")


def describe(store: Store, subject: str) -> list[ox.Triple]:
    """The triples with ``subject`` as subject, with the closure over blank-node objects."""
    return describe_many(store, [subject])


def describe_many(store: Store, subjects: Iterable[str]) -> list[ox.Triple]:
    """:func:`describe` for several subjects, in a stable order. What DESCRIBE gives is left
    to each engine, so the store answers it (``Store.describe``: Oxigraph's DESCRIBE;
    ``RemoteStore.describe``: a CONSTRUCT any SPARQL store answers the same way)."""
    values = [iri(s) for s in subjects]
    if not values:
        return []
    return ordered(store.describe(values))


def graph_triples(store: Store, graphs: Sequence[str]) -> list[ox.Triple]:
    """Every triple of some named graphs (their union)."""
    if not graphs:
        return []
    values = " ".join(iri(g) for g in graphs)
    return construct(store, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?g {{ {values} }} "
                            "GRAPH ?g { ?s ?p ?o } }")


def graphs_describing(store: Store, subject: str) -> list[str]:
    rows = select(store, f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ {iri(subject)} ?p ?o }} }} "
                         "ORDER BY ?g")
    return [r["g"].value for r in rows]


def _jsonld_term(term: Term) -> Any:
    if isinstance(term, ox.NamedNode):
        return {"@id": compact(term.value)}
    if isinstance(term, ox.BlankNode):
        return {"@id": f"_:{term.value}"}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    if term.datatype.value == XSD + "string":
        return term.value
    return {"@value": term.value, "@type": compact(term.datatype.value)}


def to_jsonld(triples: Iterable[ox.Triple]) -> dict[str, Any]:
    """A JSON-LD document with the project context: one node object per subject."""
    nodes: dict[str, dict[str, Any]] = {}
    for t in triples:
        subject = (f"_:{t.subject.value}" if isinstance(t.subject, ox.BlankNode)
                   else compact(t.subject.value))
        node = nodes.setdefault(subject, {"@id": subject})
        if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
            node.setdefault("@type", []).append(compact(t.object.value))
        else:
            node.setdefault(compact(t.predicate.value), []).append(_jsonld_term(t.object))
    graph = []
    for node in nodes.values():
        graph.append({k: (v[0] if isinstance(v, list) and len(v) == 1 else v)
                      for k, v in node.items()})
    return {"@context": JSONLD_CONTEXT, "@graph": graph}


def serialize(triples: Sequence[ox.Triple], syntax: RdfSyntax) -> bytes:
    """Triples in an RDF syntax; JSON-LD with the project context and compact IRIs."""
    if syntax.name == "jsonld":
        return json.dumps(to_jsonld(triples), ensure_ascii=False, indent=1).encode()
    prefixes = SERIALIZATION_PREFIXES if syntax.name in ("turtle", "rdfxml", "trig") else None
    return ox.serialize(triples, format=syntax.ox_format, prefixes=prefixes)


# --- views: values and property groups ------------------------------------------------------


@dataclass
class Value:
    """One object of a property, ready for a page."""

    kind: str  # "iri", "literal" or "bnode"
    text: str
    iri: str = ""
    lang: str = ""
    datatype: str = ""
    rows: list[Row] = field(default_factory=list)  # a blank node's own properties


@dataclass
class Quote:
    """The words of a source that state a claim (a ``ds:Evidence``), ready for a page."""

    text: str
    lang: str
    source: str
    source_title: str
    source_url: str = ""


@dataclass
class Row:
    prop: str
    label: str
    values: list[Value]
    inverse: bool = False
    quotes: list[Quote] = field(default_factory=list)  # the evidence for this claim


@dataclass
class Group:
    key: str
    rows: list[Row]


#: Sections of a resource page, in order, and the properties each holds; the rest is "other".
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("name", (SKOS + "prefLabel", DCT + "title", DCT + "alternative", FOAF + "name",
              RDFS + "label", SKOS + "notation", SKOS + "altLabel", str(DS.localDesignation),
              DCT + "description", SKOS + "definition", RDFS + "comment", str(DS.vision),
              str(DS.guidingPrinciple), SKOS + "scopeNote", SKOS + "note")),
    ("classification", (RDF_TYPE, DCT + "type", str(DS.elementLevel), str(DS.bodyFunction),
                        ORG + "classification", ORG + "role", str(DS.decisionType),
                        str(DS.lifecycleStatus), str(DS.implementationStatus),
                        str(DS.administrativeLevel), DCT + "subject", SKOS + "inScheme",
                        SKOS + "topConceptOf", SKOS + "broader", SKOS + "narrower")),
    ("structure", (str(DS.isElementOf), str(DS.hasElement), str(DS.position),
                   str(DS.hasGoal), str(DS.hasObjective), str(DS.hasMeasure),
                   str(DS.contributesTo), str(DS.implements), str(DS.measuredBy),
                   str(DS.targetValue), str(DS.targetStatement), str(DS.targetDate),
                   str(DS.unit), str(DS.implementsPolicy))),
    ("actors", (str(DS.ownedBy), str(DS.responsibleAgent), str(DS.partner),
                ORG + "subOrganizationOf", ORG + "postIn", ORG + "heldBy",
                DCT + "publisher", DCT + "isPartOf")),
    ("decisions", (str(DS.adoptedIn), str(DS.adopts), str(DS.concerns), str(DS.amends),
                   str(DS.repeals), ELI + "passed_by", ELI + "date_document", ELI + "id_local",
                   DCT + "date")),
    ("time", (str(DS.timeHorizon), DCAT + "startDate", DCAT + "endDate", DCT + "issued",
              DCT + "modified", DCT + "replaces", DCT + "isReplacedBy",
              str(DS.reviewFrequency), str(DS.reviewIntervalYears))),
    ("identifiers", (str(DS.ags), str(DS.regionalKey), str(DS.bfsNumber), str(DS.gkz),
                     str(SCHEMA) + "sameAs", OWL + "sameAs", str(SCHEMA) + "url",
                     str(DS.hasDocument), DCT + "language", RDFS + "seeAlso",
                     RDFS + "isDefinedBy")),
)
_GROUP_OF = {p: (n, i) for n, (_, props) in enumerate(GROUPS) for i, p in enumerate(props)}


def _collect_iris(triples: Iterable[ox.Triple]) -> set[str]:
    found = set()
    for t in triples:
        found.add(t.predicate.value)
        for term in (t.subject, t.object):
            if isinstance(term, ox.NamedNode):
                found.add(term.value)
    return found


def _value(term: Term, by_subject: dict[Term, list[ox.Triple]], names: dict[str, str],
           base: str, seen: frozenset[Term], lang: str) -> Value:
    if isinstance(term, ox.NamedNode):
        return Value("iri", names.get(term.value) or fallback_label(term.value, base), term.value)
    if isinstance(term, ox.BlankNode):
        inner = [] if term in seen else _rows(by_subject.get(term, []), by_subject, names, base,
                                               seen | {term}, lang)
        return Value("bnode", "", rows=inner)
    datatype = "" if term.language or term.datatype.value == XSD + "string" \
        else term.datatype.value
    return Value("literal", term.value, lang=term.language or "", datatype=datatype)


def _rows(triples: list[ox.Triple], by_subject: dict[Term, list[ox.Triple]],
          names: dict[str, str], base: str, seen: frozenset[Term], lang: str = "") -> list[Row]:
    by_prop: dict[str, list[Term]] = defaultdict(list)
    for t in triples:
        by_prop[t.predicate.value].append(t.object)
    rows = []
    for prop in sorted(by_prop, key=lambda p: _GROUP_OF.get(p, (len(GROUPS), p))):
        values = [_value(o, by_subject, names, base, seen, lang) for o in by_prop[prop]]
        values.sort(key=lambda v: (v.kind != "iri", v.lang not in ("", lang), v.text.lower()))
        rows.append(Row(prop, names.get(prop) or compact(prop), values))
    return rows


def property_groups(triples: list[ox.Triple], subject: str, names: dict[str, str],
                    base: str, skip: Iterable[str] = (), lang: str = "",
                    quotes: dict[str, list[Quote]] | None = None) -> list[Group]:
    """The subject's properties in page sections, with labels from ``names``; each row with
    the evidence (``quotes``, by property) that backs it. The evidence nodes themselves are
    shown through the rows they back, not as a row of their own."""
    by_subject: dict[Term, list[ox.Triple]] = defaultdict(list)
    for t in triples:
        by_subject[t.subject].append(t)
    skipped = set(skip) | {str(DS.evidence)}
    own = [t for t in by_subject.get(ox.NamedNode(subject), []) if t.predicate.value not in skipped]
    rows = _rows(own, by_subject, names, base, frozenset(), lang)
    for row in rows:
        row.quotes = (quotes or {}).get(row.prop, [])
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        index = _GROUP_OF.get(row.prop, (len(GROUPS), 0))[0]
        groups[GROUPS[index][0] if index < len(GROUPS) else "other"].append(row)
    order = [name for name, _ in GROUPS] + ["other"]
    return [Group(name, groups[name]) for name in order if groups.get(name)]


def names_for(store: Store, triples: Iterable[ox.Triple], lang: str,
              extra: Iterable[str] = (), names: Names | None = None) -> Names:
    """The labels of the IRIs in ``triples`` and ``extra``, added to ``names`` (the labels a
    page found before) where given."""
    known = names if names is not None else Names(store, lang)  # (an empty one is falsy)
    return known.ask(_collect_iris(triples) | set(extra))


# --- incoming links -----------------------------------------------------------------------


@dataclass
class Incoming:
    rows: list[tuple[str, str]]  # (subject, property)
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def incoming(store: Store, subject: str, page: int = 1, size: int = 50) -> Incoming:
    """Resources that link to ``subject``, one page of them (1-based), and how many in all."""
    linking = f"?s ?p {iri(subject)} FILTER{is_named('?s')}"
    count = select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p WHERE "
                          f"{{ {linking} }} }}")
    total = int(count[0]["n"].value) if count else 0
    page = max(1, page)
    rows = select(store, f"SELECT DISTINCT ?s ?p WHERE {{ {linking} }} "
                         f"ORDER BY ?p ?s LIMIT {size} OFFSET {(page - 1) * size}")
    return Incoming([(r["s"].value, r["p"].value) for r in rows], total, page, size)


# --- evidence -----------------------------------------------------------------------------


def evidence(store: Store, subjects: Sequence[str], lang: str
             ) -> dict[str, dict[str, list[Quote]]]:
    """The evidence of each subject, by the property it supports: subject → property →
    quotes (each with its source's title and address)."""
    if not subjects:
        return {}
    values = " ".join(iri(s) for s in subjects)
    rows = select(store, f"""SELECT ?s ?p ?e ?q ?src ?title ?url WHERE {{
        VALUES ?s {{ {values} }} ?s ds:evidence ?e . ?e ds:supports ?p ; ds:quote ?q .
        OPTIONAL {{ ?e dct:source ?src OPTIONAL {{ ?src dct:title ?title }}
                    OPTIONAL {{ ?src schema:url ?url }} }} }}""")
    titles: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        if "src" in row and "title" in row:
            titles[row["src"].value].setdefault(
                getattr(row["title"], "language", "") or "", row["title"].value)
    found: dict[str, dict[str, list[Quote]]] = defaultdict(lambda: defaultdict(list))
    seen: set[tuple[str, str, str]] = set()
    for row in rows:
        key = (row["s"].value, row["p"].value, row["q"].value)
        if key in seen:
            continue
        seen.add(key)
        source = row["src"].value if "src" in row else ""
        quote = row["q"]
        found[key[0]][key[1]].append(Quote(
            quote.value, getattr(quote, "language", "") or "", source,
            pick(titles.get(source, {}), lang) or source,
            row["url"].value if "url" in row else ""))
    return {s: {prop: sorted(quotes, key=lambda q: (q.source_title, q.text))
                for prop, quotes in by_prop.items()} for s, by_prop in found.items()}


# --- sources ------------------------------------------------------------------------------


@dataclass
class Source:
    iri: str
    title: str
    publisher: str = ""
    issued: str = ""
    url: str = ""


def sources(store: Store, subjects: Sequence[str], lang: str) -> list[Source]:
    """The documents the subjects cite with ``dct:source``, with title, publisher, date, URL."""
    if not subjects:
        return []
    values = " ".join(iri(s) for s in subjects)
    rows = select(store, f"""SELECT ?src ?title ?publisher ?issued ?url WHERE {{
        VALUES ?x {{ {values} }} ?x dct:source ?src .
        OPTIONAL {{ ?src dct:title ?title }} OPTIONAL {{ ?src dct:publisher ?publisher }}
        OPTIONAL {{ ?src dct:issued ?issued }} OPTIONAL {{ ?src schema:url ?url }} }}""")
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(row["src"].value, {"title": {}, "publisher": {}})
        for key in ("title", "publisher"):
            if key in row:
                term = row[key]
                entry[key].setdefault(getattr(term, "language", "") or "", term.value)
        for key in ("issued", "url"):
            if key in row:
                entry[key] = row[key].value
    result = [Source(src, pick(e["title"], lang) or src, pick(e["publisher"], lang) or "",
                     e.get("issued", ""), e.get("url", "")) for src, e in found.items()]
    return sorted(result, key=lambda s: (s.issued or "9999", s.title))


