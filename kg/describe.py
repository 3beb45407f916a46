"""What the linked-data views say about a resource: descriptions, labels, links and views.

Every query of the views goes through :func:`select` / :func:`construct` / :func:`ask` in this
module, so the views can move to another query entry point (a remote endpoint) in one place.
Descriptions are sets of ``pyoxigraph`` triples; labels are chosen by language here too.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from kg.formats import RdfSyntax
from kg.i18n import gettext
from kg.namespaces import DS, PREFIXES, SCHEMA, SERIALIZATION_PREFIXES, sparql_prologue
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
    return store.ox.query(_PROLOGUE + text, use_default_graph_as_union=True)


def select(store: Store, text: str) -> list[dict[str, Term]]:
    """The solutions of a SELECT query as dicts of the bound variables."""
    result = _run(store, text)
    names = [v.value for v in result.variables]
    return [{n: s[n] for n in names if s[n] is not None} for s in result]


def construct(store: Store, text: str) -> list[ox.Triple]:
    """The triples of a CONSTRUCT or DESCRIBE query, without duplicates, in a stable order."""
    return sorted(set(_run(store, text)), key=_triple_key)


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


# --- descriptions -------------------------------------------------------------------------


def exists(store: Store, subject: str) -> bool:
    """Whether ``subject`` is described (is the subject of a triple)."""
    return ask(store, f"ASK {{ {iri(subject)} ?p ?o }}")


def describe(store: Store, subject: str) -> list[ox.Triple]:
    """The triples with ``subject`` as subject, with the closure over blank-node objects."""
    return construct(store, f"DESCRIBE {iri(subject)}")


def describe_many(store: Store, subjects: Iterable[str]) -> list[ox.Triple]:
    values = " ".join(iri(s) for s in subjects)
    if not values:
        return []
    return construct(store, f"DESCRIBE ?s WHERE {{ VALUES ?s {{ {values} }} }}")


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


def scheme_document(store: Store, scheme: str) -> list[ox.Triple]:
    """A concept scheme with every concept in it: its description and theirs."""
    rows = select(store, f"SELECT DISTINCT ?c WHERE {{ ?c skos:inScheme|skos:topConceptOf "
                         f"{iri(scheme)} }}")
    return describe_many(store, [scheme, *(r["c"].value for r in rows)])


def is_scheme(store: Store, subject: str) -> bool:
    return ask(store, f"ASK {{ {iri(subject)} a skos:ConceptScheme }}")


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


def labels(store: Store, iris: Iterable[str], lang: str) -> dict[str, str]:
    """A label for each IRI that has one, in ``lang`` where possible."""
    wanted = sorted({i for i in iris if i and not re.search(r'[\s<>"{}|\\^`]', i)})
    if not wanted:
        return {}
    values = " ".join(f"<{i}>" for i in wanted)
    props = " ".join(f"<{p}>" for p in LABEL_PROPERTIES)
    rows = select(store, f"SELECT ?s ?p ?l WHERE {{ VALUES ?s {{ {values} }} "
                         f"VALUES ?p {{ {props} }} ?s ?p ?l FILTER(isLiteral(?l)) }}")
    found: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        label = row["l"]
        assert isinstance(label, ox.Literal)
        found[row["s"].value][row["p"].value].setdefault(label.language or "", label.value)
    result = {i: gettext(lang, REUSED_NAMES[i]) for i in wanted if i in REUSED_NAMES}
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
}


def fallback_label(value: str, base: str) -> str:
    """A readable name for an IRI without a label: its path or its compact form."""
    if value.startswith(base):
        return value[len(base):]
    return compact(value)


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
class Row:
    prop: str
    label: str
    values: list[Value]
    inverse: bool = False


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
                    base: str, skip: Iterable[str] = (), lang: str = "") -> list[Group]:
    """The subject's properties in page sections, with labels from ``names``."""
    by_subject: dict[Term, list[ox.Triple]] = defaultdict(list)
    for t in triples:
        by_subject[t.subject].append(t)
    skipped = set(skip)
    own = [t for t in by_subject.get(ox.NamedNode(subject), []) if t.predicate.value not in skipped]
    rows = _rows(own, by_subject, names, base, frozenset(), lang)
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        index = _GROUP_OF.get(row.prop, (len(GROUPS), 0))[0]
        groups[GROUPS[index][0] if index < len(GROUPS) else "other"].append(row)
    order = [name for name, _ in GROUPS] + ["other"]
    return [Group(name, groups[name]) for name in order if groups.get(name)]


def names_for(store: Store, triples: Iterable[ox.Triple], lang: str,
              extra: Iterable[str] = ()) -> dict[str, str]:
    return labels(store, _collect_iris(triples) | set(extra), lang)


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
    target = iri(subject)
    count = select(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p WHERE "
                          f"{{ ?s ?p {target} FILTER(isIRI(?s)) }} }}")
    total = int(count[0]["n"].value) if count else 0
    page = max(1, page)
    rows = select(store, f"SELECT DISTINCT ?s ?p WHERE {{ ?s ?p {target} FILTER(isIRI(?s)) }} "
                         f"ORDER BY ?p ?s LIMIT {size} OFFSET {(page - 1) * size}")
    return Incoming([(r["s"].value, r["p"].value) for r in rows], total, page, size)


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


# --- dates ----------------------------------------------------------------------------------


def year_of(value: str) -> int | None:
    found = re.match(r"^-?(\d{4})", value)
    return int(found.group(1)) if found else None


# --- the views of particular kinds -------------------------------------------------------


@dataclass
class TreeNode:
    iri: str
    label: str
    position: int | None
    kind: str = ""  # class IRI
    designation: str = ""
    themes: list[str] = field(default_factory=list)
    children: list[TreeNode] = field(default_factory=list)
    goals: list[tuple[str, str]] = field(default_factory=list)  # (property, item)


def strategy_tree(store: Store, strategy: str, lang: str) -> tuple[list[TreeNode], set[str]]:
    """The elements of a strategy as a tree, siblings in order; and every IRI it names."""
    target = iri(strategy)
    rows = select(store, f"""SELECT ?el ?parent ?pos ?type ?desig ?theme WHERE {{
        ?el (ds:isElementOf|^ds:hasElement)+ {target} .
        ?el ds:isElementOf|^ds:hasElement ?parent .
        ?parent (ds:isElementOf|^ds:hasElement)* {target} .
        OPTIONAL {{ ?el ds:position ?pos }} OPTIONAL {{ ?el a ?type }}
        OPTIONAL {{ ?el ds:localDesignation ?desig }} OPTIONAL {{ ?el dct:subject ?theme }} }}""")
    goal_rows = select(store, f"""SELECT ?owner ?p ?item WHERE {{
        ?owner (ds:isElementOf|^ds:hasElement)* {target} .
        VALUES ?p {{ ds:hasGoal ds:hasObjective ds:hasMeasure }} ?owner ?p ?item }}""")
    nodes: dict[str, TreeNode] = {}
    parent_of: dict[str, str] = {}
    designations: dict[str, dict[str, str]] = defaultdict(dict)
    types: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        el = row["el"].value
        node = nodes.setdefault(el, TreeNode(el, "", None))
        parent_of.setdefault(el, row["parent"].value)
        if "pos" in row:
            with contextlib.suppress(ValueError):
                node.position = int(row["pos"].value)
        if "type" in row:
            types[el].add(row["type"].value)
        if "desig" in row:
            term = row["desig"]
            assert isinstance(term, ox.Literal)
            designations[el].setdefault(term.language or "", term.value)
        if "theme" in row and row["theme"].value not in node.themes:
            node.themes.append(row["theme"].value)
    for el, node in nodes.items():
        specific = sorted(t for t in types[el] if t != str(DS.StrategyElement))
        node.kind = specific[0] if specific else (str(DS.StrategyElement) if types[el] else "")
        node.designation = pick(designations[el], lang) or ""
    extra: set[str] = set()
    for row in goal_rows:
        owner, prop, item = row["owner"].value, row["p"].value, row["item"].value
        extra.update((prop, item))
        if owner in nodes:
            nodes[owner].goals.append((prop, item))
    top: list[TreeNode] = []
    for el, node in nodes.items():
        parent = parent_of.get(el)
        (nodes[parent].children if parent in nodes else top).append(node)
    named = labels(store, [*nodes, *extra, *(t for n in nodes.values() for t in n.themes),
                           *(n.kind for n in nodes.values() if n.kind)], lang)
    for node in nodes.values():
        node.label = named.get(node.iri, fallback_label(node.iri, ""))

    def order(items: list[TreeNode]) -> None:
        items.sort(key=lambda n: (n.position is None, n.position or 0, n.label))
        for item in items:
            order(item.children)
    order(top)
    strategy_goals = [(r["p"].value, r["item"].value) for r in goal_rows
                      if r["owner"].value == strategy]
    if strategy_goals:
        top.insert(0, TreeNode(strategy, "", None, goals=strategy_goals))
    return top, set(named) | set(nodes) | extra


def ancestors(store: Store, element: str) -> list[str]:
    """The chain of parents of an element up to its strategy, strategy first."""
    chain: list[str] = []
    current = element
    for _ in range(20):
        rows = select(store, f"SELECT ?p WHERE {{ {iri(current)} ds:isElementOf|^ds:hasElement "
                             "?p } LIMIT 1")
        if not rows:
            break
        current = rows[0]["p"].value
        if current in chain:
            break
        chain.append(current)
    return list(reversed(chain))


@dataclass
class StrategySummary:
    iri: str
    title: str
    municipality: str = ""
    year: int | None = None
    date: str = ""
    status: str = ""
    kind: str = ""
    replaces: list[str] = field(default_factory=list)


def strategies(store: Store, lang: str, municipality: str | None = None) -> list[StrategySummary]:
    """Strategies (of one municipality, or all) with their adoption date where known."""
    owner = f"?s ds:ownedBy {iri(municipality)} . BIND({iri(municipality)} AS ?m)" \
        if municipality else "OPTIONAL { ?s ds:ownedBy ?m }"
    rows = select(store, f"""SELECT ?s ?m ?date ?start ?status ?type ?old WHERE {{
        ?s a ds:Strategy . {owner}
        OPTIONAL {{ ?s ds:adoptedIn|^ds:adopts ?d . ?d eli:date_document|dct:date ?date }}
        OPTIONAL {{ ?s ds:timeHorizon/dcat:startDate ?start }}
        OPTIONAL {{ ?s ds:lifecycleStatus ?status }} OPTIONAL {{ ?s dct:type ?type }}
        OPTIONAL {{ ?s dct:replaces|^dct:isReplacedBy ?old }} }}""")
    found: dict[str, StrategySummary] = {}
    for row in rows:
        s = row["s"].value
        item = found.setdefault(s, StrategySummary(s, ""))
        if "m" in row:
            item.municipality = row["m"].value
        if "date" in row and (not item.date or row["date"].value < item.date):
            item.date = row["date"].value
        elif "start" in row and not item.date:
            item.date = row["start"].value
        item.year = year_of(item.date) if item.date else None
        if "status" in row:
            item.status = row["status"].value
        if "type" in row:
            item.kind = row["type"].value
        if "old" in row and row["old"].value not in item.replaces:
            item.replaces.append(row["old"].value)
    named = labels(store, found, lang)
    for item in found.values():
        item.title = named.get(item.iri, fallback_label(item.iri, ""))
    return sorted(found.values(), key=lambda s: (s.year is None, s.year or 0, s.title))


def municipalities(store: Store, lang: str) -> list[tuple[str, str]]:
    rows = select(store, "SELECT DISTINCT ?m WHERE { ?m a ds:Municipality }")
    named = labels(store, [r["m"].value for r in rows], lang)
    items = [(r["m"].value, named.get(r["m"].value, r["m"].value)) for r in rows]
    return sorted(items, key=lambda x: x[1].lower())


@dataclass
class Actor:
    iri: str
    kind: str  # class IRI
    label: str = ""
    function: str = ""  # bodyFunction, classification or post role
    holder: str = ""
    within: str = ""


def actors(store: Store, municipality: str, lang: str) -> list[Actor]:
    """Bodies and organisations of a municipality, and posts in it or in them."""
    target = iri(municipality)
    rows = select(store, f"""SELECT ?x ?type ?fn ?holder ?within WHERE {{
        {{ ?x org:subOrganizationOf+ {target} }}
        UNION {{ ?x org:postIn {target} }}
        UNION {{ ?x org:postIn ?within . ?within org:subOrganizationOf+ {target} }}
        OPTIONAL {{ ?x a ?type }}
        OPTIONAL {{ ?x ds:bodyFunction|org:classification|org:role ?fn }}
        OPTIONAL {{ ?x org:heldBy ?holder }} }}""")
    found: dict[str, Actor] = {}
    for row in rows:
        x = row["x"].value
        actor = found.setdefault(x, Actor(x, ""))
        kind = row.get("type")
        if kind is not None and (not actor.kind or kind.value == str(DS.GoverningBody)):
            actor.kind = kind.value
        for key in ("fn", "holder", "within"):
            if key in row:
                setattr(actor, {"fn": "function"}.get(key, key), row[key].value)
    named = labels(store, [*found, *(a.function for a in found.values()),
                           *(a.holder for a in found.values()),
                           *(a.within for a in found.values())], lang)
    for actor in found.values():
        actor.label = named.get(actor.iri, fallback_label(actor.iri, ""))
    return sorted(found.values(), key=lambda a: (a.kind, a.label.lower()))


# --- comparison matrix -----------------------------------------------------------------------


@dataclass
class Matrix:
    municipalities: list[tuple[str, str]]
    themes: list[tuple[str, str]]
    cells: dict[tuple[str, str], list[tuple[str, str]]]  # (municipality, theme) → (iri, label)


def comparison(store: Store, lang: str) -> Matrix:
    """Municipalities × themes: the strategies and elements of each city on each theme."""
    rows = select(store, """SELECT DISTINCT ?m ?theme ?x WHERE {
        ?s a ds:Strategy ; ds:ownedBy ?m .
        { ?s dct:subject ?theme BIND(?s AS ?x) }
        UNION { ?x (ds:isElementOf|^ds:hasElement)+ ?s . ?x dct:subject ?theme } }""")
    theme_rows = select(store, "SELECT DISTINCT ?t WHERE { ?t a ds:Theme }")
    cells: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    names_wanted = set()
    for row in rows:
        key = (row["m"].value, row["theme"].value)
        cells[key].append((row["x"].value, ""))
        names_wanted.update((row["m"].value, row["theme"].value, row["x"].value))
    theme_iris = {r["t"].value for r in theme_rows} | {t for _, t in cells}
    named = labels(store, names_wanted | theme_iris, lang)
    for key, items in cells.items():
        cells[key] = sorted({(x, named.get(x, fallback_label(x, ""))) for x, _ in items},
                            key=lambda i: i[1].lower())
    munis = municipalities(store, lang)
    themes = sorted(((t, named.get(t, compact(t))) for t in theme_iris),
                    key=lambda x: x[1].lower())
    return Matrix(munis, themes, dict(cells))


# --- ontology documentation ------------------------------------------------------------------


@dataclass
class Constraint:
    path: str
    name: str
    facets: list[tuple[str, str]]  # (facet local name, value shown)
    message: str = ""
    shape: str = ""  # the property shape's IRI (its anchor on the shapes page)


@dataclass
class TermDoc:
    iri: str
    kind: str  # "class" or "property"
    labels: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)  # (relation, IRI)
    constraints: list[Constraint] = field(default_factory=list)
    prop_type: str = ""

    @property
    def local(self) -> str:
        return self.iri.rsplit("#", 1)[-1]


_TERM_LINKS = {RDFS + "subClassOf": "subClassOf", RDFS + "subPropertyOf": "subPropertyOf",
               RDFS + "domain": "domain", RDFS + "range": "range",
               str(SCHEMA) + "domainIncludes": "domainIncludes",
               str(SCHEMA) + "rangeIncludes": "rangeIncludes", OWL + "inverseOf": "inverseOf",
               OWL + "disjointWith": "disjointWith", SKOS + "closeMatch": "closeMatch",
               SKOS + "exactMatch": "exactMatch"}
_FACETS = ("minCount", "maxCount", "datatype", "class", "nodeKind", "pattern", "in",
           "languageIn", "uniqueLang", "hasValue", "node", "qualifiedMinCount",
           "qualifiedMaxCount", "minInclusive", "maxInclusive", "minLength", "maxLength",
           "severity", "deactivated")


def ontology_terms(store: Store, lang: str) -> list[TermDoc]:
    """The classes and properties of the ds: namespace, with the shapes that target classes."""
    ns = str(DS)
    rows = select(store, f"""SELECT ?t ?kind ?p ?o WHERE {{
        VALUES ?kind {{ owl:Class owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty
                        rdf:Property }}
        ?t a ?kind FILTER(STRSTARTS(STR(?t), "{ns}"))
        ?t ?p ?o }}""")
    terms: dict[str, TermDoc] = {}
    for row in rows:
        t, kind, prop, obj = row["t"].value, row["kind"].value, row["p"].value, row["o"]
        doc = terms.setdefault(t, TermDoc(t, "class" if kind == OWL + "Class" else "property"))
        if doc.kind == "property":
            doc.prop_type = kind.rsplit("#", 1)[-1]
        if prop == RDFS + "label" and isinstance(obj, ox.Literal):
            doc.labels.setdefault(obj.language or "", obj.value)
        elif prop == SKOS + "definition" and isinstance(obj, ox.Literal):
            doc.definitions.setdefault(obj.language or "", obj.value)
        elif prop in _TERM_LINKS and isinstance(obj, ox.NamedNode):
            link = (_TERM_LINKS[prop], obj.value)
            if link not in doc.links:
                doc.links.append(link)
    for doc in terms.values():
        doc.links.sort()
    for cls, constraint in class_constraints(store, lang):
        if cls in terms:
            terms[cls].constraints.append(constraint)
    return sorted(terms.values(), key=lambda d: (d.kind, d.local.lower()))


def class_constraints(store: Store, lang: str) -> list[tuple[str, Constraint]]:
    """Each property shape of each node shape, by the class the node shape targets."""
    rows = select(store, """SELECT ?cls ?ps ?path ?inv ?k ?v WHERE {
        { ?shape sh:targetClass ?cls }
        UNION { ?shape a sh:NodeShape , rdfs:Class . BIND(?shape AS ?cls) }
        ?shape sh:property ?ps . ?ps sh:path ?path .
        OPTIONAL { ?path sh:inversePath ?inv }
        OPTIONAL { ?ps ?k ?v FILTER(STRSTARTS(STR(?k), STR(sh:))) } }""")
    list_rows = select(store, """SELECT ?ps ?k ?item WHERE {
        ?ps sh:path ?path . VALUES ?k { sh:in sh:languageIn } ?ps ?k ?list .
        ?list rdf:rest*/rdf:first ?item }""")
    lists: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in list_rows:
        item = row["item"]
        lists[(row["ps"].value, row["k"].value)].append(
            compact(item.value) if isinstance(item, ox.NamedNode) else item.value)
    shapes: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["cls"].value, row["ps"].value)
        entry = shapes.setdefault(key, {"path": "", "facets": {}, "name": {}, "message": {}})
        path = row["path"]
        if isinstance(path, ox.NamedNode):
            entry["path"] = compact(path.value)
        elif "inv" in row:
            entry["path"] = "^" + compact(row["inv"].value)
        else:
            entry["path"] = entry["path"] or "(path)"
        if "k" not in row:
            continue
        facet, value = row["k"].value[len(SH):], row["v"]
        if facet in ("name", "message") and isinstance(value, ox.Literal):
            entry[facet].setdefault(value.language or "", value.value)
        elif facet in ("in", "languageIn"):
            entry["facets"][facet] = ", ".join(sorted(lists.get((key[1], row["k"].value), [])))
        elif facet in _FACETS:
            shown = compact(value.value) if isinstance(value, ox.NamedNode) else (
                "…" if isinstance(value, ox.BlankNode) else value.value)
            entry["facets"][facet] = shown
    result = []
    for (cls, shape), entry in shapes.items():
        facets = [(f, entry["facets"][f]) for f in _FACETS if f in entry["facets"]]
        result.append((cls, Constraint(entry["path"], pick(entry["name"], lang) or "",
                                       facets, pick(entry["message"], lang) or "", shape)))
    result.sort(key=lambda x: (x[0], x[1].path, x[1].name))
    return result


@dataclass
class Rule:
    """A node shape that checks a resource as a whole (SHACL-SPARQL, or no property path)."""

    shape: str
    target: str
    name: str
    description: str
    severity: str


def node_rules(store: Store, lang: str) -> list[Rule]:
    """The node shapes with a SPARQL constraint, with the class they check."""
    rows = select(store, """SELECT ?shape ?cls ?k ?v ?sev WHERE {
        ?shape sh:sparql ?c . OPTIONAL { ?shape sh:targetClass ?cls }
        OPTIONAL { ?shape sh:severity ?sev }
        OPTIONAL { VALUES ?k { sh:name sh:description sh:message } ?shape ?k ?v } }""")
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(row["shape"].value, {"target": "", "severity": "Violation",
                                                      "name": {}, "description": {},
                                                      "message": {}})
        if "cls" in row:
            entry["target"] = row["cls"].value
        if "sev" in row:
            entry["severity"] = row["sev"].value.rsplit("#", 1)[-1]
        if "k" in row and isinstance(row["v"], ox.Literal):
            entry[row["k"].value[len(SH):]].setdefault(row["v"].language or "", row["v"].value)
    return sorted((Rule(iri, e["target"], pick(e["name"], lang) or compact(iri),
                        pick(e["description"], lang) or pick(e["message"], lang) or "",
                        e["severity"]) for iri, e in found.items()),
                  key=lambda r: r.shape)


# --- concept schemes -------------------------------------------------------------------------


@dataclass
class Concept:
    iri: str
    labels: dict[str, str]
    definitions: dict[str, str]
    broader: list[str] = field(default_factory=list)


def schemes(store: Store, lang: str) -> list[tuple[str, str, int]]:
    """Every concept scheme: IRI, label and the number of its concepts."""
    rows = select(store, """SELECT ?s (COUNT(DISTINCT ?c) AS ?n) WHERE {
        ?s a skos:ConceptScheme OPTIONAL { ?c skos:inScheme|skos:topConceptOf ?s } }
        GROUP BY ?s""")
    named = labels(store, [r["s"].value for r in rows], lang)
    return sorted(((r["s"].value, named.get(r["s"].value, compact(r["s"].value)),
                    int(r["n"].value)) for r in rows), key=lambda x: x[1].lower())


def concepts(store: Store, scheme: str) -> list[Concept]:
    rows = select(store, f"""SELECT ?c ?p ?o WHERE {{
        ?c skos:inScheme|skos:topConceptOf {iri(scheme)} .
        VALUES ?p {{ skos:prefLabel skos:definition skos:broader }} ?c ?p ?o }}""")
    found: dict[str, Concept] = {}
    for row in rows:
        c = row["c"].value
        concept = found.setdefault(c, Concept(c, {}, {}))
        obj = row["o"]
        if row["p"].value == SKOS + "broader":
            concept.broader.append(obj.value)
        elif isinstance(obj, ox.Literal):
            target = concept.labels if row["p"].value == SKOS + "prefLabel" \
                else concept.definitions
            target.setdefault(obj.language or "", obj.value)
    return sorted(found.values(), key=lambda c: c.iri)


def subjects_in_namespace(store: Store, namespace: str) -> list[str]:
    """Every IRI that is the subject of a triple and starts with ``namespace``."""
    rows = select(store, f"""SELECT DISTINCT ?s WHERE {{ ?s ?p ?o
        FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{namespace}")) }} ORDER BY ?s""")
    return [r["s"].value for r in rows]


def shapes_graphs(store: Store) -> list[str]:
    return store.graph_iris("shapes")

