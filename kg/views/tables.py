"""Tables of strategies and municipalities with facets, the comparison matrix, the view of one
theme, and their CSV and JSON forms: the view models behind ``/-/strategies``,
``/-/municipalities``, ``/-/compare``, ``/-/themes`` and the home page.

Everything is computed from a few queries **once per store and language** (the store is
read-only while the app runs) and kept with the store; a request then filters, counts,
sorts and pages rows in memory. No request runs a query whose cost grows with the graph.

Facets (query parameters, values are the concepts' slugs):

====================  =====================================================================
``country``           ``de``, ``ch``, ``at`` (from the municipality's IRI, docs/model.md)
``level``             administrative level: ``municipality``, ``state``, ``canton``, …
``type``              strategy type (``digital-strategy`` …); ``none``: no strategy known
``status``            lifecycle status (``adopted`` …); ``none``: no stated status
``year``              the year of adoption, else of publication, else of the start of the
                      time horizon; ``undated`` when none is known
``theme``             a theme of the strategy or of one of its elements
====================  =====================================================================

Values of one facet combine with OR, facets with AND. A municipality has the values of its
strategies (a city "has" type X if one of its strategies is of type X). The count shown
beside a value is the number of rows the view would have with that value chosen as well.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import io
import json
import re
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import pyoxigraph as ox

from kg.formats import TABLE_FORMATS as FORMAT_TABLES
from kg.i18n import gettext
from kg.store import Store
from kg.views import paging
from kg.views.common import labels, labels_where, pick, select, year_of
from kg.views.paging import page_slice

VOCAB = "https://w3id.org/digistrat/vocab/"
COUNTRY_ORDER = ("de", "ch", "at")
LEVEL_ORDER = ("municipality", "city-state", "state", "canton")
STATUS_ORDER = ("requested", "in-preparation", "draft", "published", "taken-note-of",
                "adopted", "in-force", "superseded", "expired", "closed")
#: Decision types that adopt (or re-adopt) a strategy; an acknowledgement, a mandate, a
#: funding or implementation decision does not (docs/model.md: "taken note of" is not adoption).
ADOPTING_DECISIONS = frozenset(VOCAB + "decision-type/" + t
                               for t in ("adoption", "update", "amendment"))
ADOPTED_STATUSES = frozenset(VOCAB + "lifecycle-status/" + s for s in ("adopted", "in-force"))
NONE = "none"
UNDATED = "undated"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
#: The formats a table is offered in besides HTML (``?format=``): CSV as the registry names
#: it; JSON is the table's own shape (columns, rows, facets), not a SPARQL result.
#: ``?format=`` of a table: the table formats of the registry (kg/formats.py).
TABLE_FORMATS: dict[str, str] = {f.name: f.content_type() for f in FORMAT_TABLES}


class BadParameterError(ValueError):
    """A query parameter of a table that cannot be read (a sort column, a page number)."""


# --- everyday names ---------------------------------------------------------------------------

#: Words of an official name that come before the everyday name ("Landeshauptstadt München",
#: "Freie und Hansestadt Hamburg", "Kanton Zürich", "République et canton de Genève").
PREFIX_WORDS = frozenset(w.casefold() for w in (
    "Stadt", "Landeshauptstadt", "Hansestadt", "Hanse-", "Freie", "und", "Kanton", "Land",
    "Universitätsstadt", "Bundesstadt", "Wissenschaftsstadt", "Markt", "Klingenstadt",
    "documenta-Stadt", "Gemeinde", "Stadtgemeinde", "Marktgemeinde", "Kreisstadt", "Große",
    "Grosse", "Statutarstadt", "Landeshauptstadt", "Lutherstadt", "Universitäts-",
    "Canton", "canton", "Cantone", "de", "du", "et", "e", "République", "Repubblica",
    "Ville", "Città", "City", "of"))
_PREPOSITIONS = frozenset(("am", "an", "im", "in", "ob", "bei", "der", "auf", "unter"))


def everyday_name(official: str, alternative: str | None = None) -> str:
    """The name people use: ``skos:altLabel`` when given, else the official name without its
    leading title words ("Landeshauptstadt München" → "München", "Kanton Zürich" →
    "Zürich"). A word ending in -stadt counts as a title only where a name follows it that
    does not begin with a preposition ("Neustadt an der Weinstraße" keeps its name)."""
    if alternative:
        return alternative.strip()
    words = official.split()
    while len(words) > 1:
        word, rest = words[0], words[1:]
        title = word.casefold() in PREFIX_WORDS or (
            word.casefold().endswith("stadt") and rest[0].casefold() not in _PREPOSITIONS
            and not rest[0].startswith("("))
        if not title:
            break
        words = rest
    if words and words[0].casefold() in {"de", "du", "et", "e", "und", "of"}:
        return official.strip()  # a name that is all title words: keep it whole
    return " ".join(words) if words else official.strip()


@functools.lru_cache(maxsize=8192)
def collation_key(text: str) -> str:
    """A sort key for German names: case and accents ignored (ä as a, ß as ss)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- the rows -----------------------------------------------------------------------------------


@dataclass
class Municipality:
    iri: str
    key: str  # the slug: de-05113000, ch-canton-zh
    name: str  # everyday name
    official: str
    country: str  # de, ch, at
    level: str = ""  # slug of the administrative level
    population: int | None = None
    strategies: list[Strategy] = field(default_factory=list)
    qualified: str = ""  # the everyday name, with the level where two share a name
    facets: dict[str, frozenset[str]] = field(default_factory=dict)  # filled by build

    @property
    def display(self) -> str:
        return self.qualified or self.name

    @property
    def latest_year(self) -> int | None:
        years = [s.year for s in self.strategies if s.year is not None]
        return max(years) if years else None


@dataclass
class Strategy:
    iri: str
    key: str
    title: str
    city: Municipality | None = None
    types: list[str] = field(default_factory=list)  # slugs of its types (some have two)
    status: str = ""  # slug of the lifecycle status
    adopted: str = ""  # date of the (first) adopting decision
    issued: str = ""  # dct:issued
    start: str = ""  # time horizon
    end: str = ""
    adopted_flag: bool = False  # adopted by a decision, or adopted / in force
    adopted_by: str = ""  # the body that passed the (first) adopting decision: its name
    adopted_by_iri: str = ""
    themes: set[str] = field(default_factory=set)  # slugs, of the strategy and its elements
    elements: int = 0
    facets: dict[str, frozenset[str]] = field(default_factory=dict)  # filled by build

    @property
    def year(self) -> int | None:
        for value in (self.adopted, self.issued, self.start):
            if value:
                return year_of(value)
        return None

    @property
    def year_basis(self) -> str:
        """What the year is the year of: adopted, issued, start, or "" (undated)."""
        for name in ("adopted", "issued", "start"):
            if getattr(self, name):
                return name
        return ""

    @property
    def country(self) -> str:
        return self.city.country if self.city else ""


@dataclass(frozen=True)
class Item:
    """A strategy or element tagged with a theme (for the matrix and the theme view)."""

    iri: str
    label: str
    strategy: str  # the strategy's IRI (itself for a strategy)
    designation: str = ""  # the city's word for the element ("Handlungsfeld")
    position: tuple[int, ...] = ()


T = TypeVar("T")

#: Views of one language's tables kept by their query without the page, the oldest dropped
#: past this many (:meth:`Tables.kept`).
VIEWS_KEPT = 64
_KEPT_LOCK = threading.Lock()


@dataclass
class Tables:
    """Everything the table views need, for one store and one language."""

    lang: str
    municipalities: dict[str, Municipality]
    strategies: dict[str, Strategy]
    concepts: dict[str, dict[str, str]]  # facet → slug → label (in lang)
    concept_iris: dict[str, dict[str, str]]  # facet → slug → IRI
    theme_items: dict[tuple[str, str], list[Item]]  # (municipality IRI, theme slug) → items
    owners: dict[str, str]  # resource IRI → municipality IRI (strategies, elements, bodies…)
    theme_definitions: dict[str, str] = field(default_factory=dict)
    _kept: OrderedDict[tuple[Any, ...], Any] = field(default_factory=OrderedDict, repr=False,
                                                     compare=False)

    def kept(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """``make()``, kept under ``key`` (a view and its query without the page): the tables
        do not change while they are served, so a view asked again, or another page of it,
        costs that page's work, not a pass over every row (12,571 municipalities at 10M
        triples). At most :data:`VIEWS_KEPT`, the least recently asked dropped first."""
        with _KEPT_LOCK:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]  # type: ignore[no-any-return]
        value = make()  # two requests may both make it: the same value, kept once
        with _KEPT_LOCK:
            self._kept[key] = value
            while len(self._kept) > VIEWS_KEPT:
                self._kept.popitem(last=False)
        return value

    def label(self, facet: str, slug: str) -> str:
        if slug == NONE:
            return gettext(self.lang, "no strategy known") if facet == "type" else \
                gettext(self.lang, "no stated status")
        if slug == UNDATED:
            return gettext(self.lang, "undated")
        if facet == "country":
            return country_name(self.lang, slug)
        return self.concepts.get(facet, {}).get(slug, slug)

    def type_labels(self, item: Strategy | Municipality) -> list[str]:
        """The labels of a strategy's types, or of every type among a municipality's
        strategies, in alphabetical order."""
        slugs = set(item.types) if isinstance(item, Strategy) else \
            {x for s in item.strategies for x in s.types}
        return sorted((self.label("type", x) for x in slugs), key=collation_key)

    def sorted_themes(self, slugs: Iterable[str]) -> list[tuple[str, str]]:
        """(slug, label) of themes, by label."""
        return sorted(((s, self.label("theme", s)) for s in slugs),
                      key=lambda x: collation_key(x[1]))

    def city_name(self, resource: str) -> str:
        """The everyday name of the municipality a resource belongs to ("" if none)."""
        owner = self.owners.get(resource, resource)
        muni = self.municipalities.get(owner)
        return muni.display if muni else ""

    def owner_name(self, resource: str) -> str:
        """The everyday name of the municipality a strategy, element, decision, body or post
        belongs to; "" for a municipality itself and for anything without one."""
        owner = self.owners.get(resource)
        return self.municipalities[owner].display if owner in self.municipalities else ""

    def sorted_municipalities(self) -> Sequence[Municipality]:
        """Every municipality by everyday name (sorted once)."""
        return self._municipality_order

    @functools.cached_property
    def _municipality_order(self) -> tuple[Municipality, ...]:
        return tuple(sorted(self.municipalities.values(),
                            key=lambda m: (collation_key(m.display), m.level, m.iri)))

    @functools.cached_property
    def theme_counts(self) -> dict[tuple[str, str], int]:
        """(municipality IRI, theme slug) → how many of its strategies and elements carry
        the theme (worked out once)."""
        return {key: len(found) for key, found in self.theme_items.items() if key[0]}

    @functools.cached_property
    def theme_municipalities(self) -> dict[str, list[Municipality]]:
        """theme slug → the municipalities whose strategies or elements carry it, by
        everyday name."""
        themes_of: dict[str, list[str]] = defaultdict(list)
        for muni_iri, theme in self.theme_counts:
            themes_of[muni_iri].append(theme)
        found: dict[str, list[Municipality]] = defaultdict(list)
        for muni in self.sorted_municipalities():
            for theme in themes_of.get(muni.iri, ()):
                found[theme].append(muni)
        return dict(found)

    @functools.cached_property
    def _theme_rank(self) -> dict[tuple[str, str], int]:
        return {(theme, m.iri): rank for theme, munis in self.theme_municipalities.items()
                for rank, m in enumerate(munis)}

    def theme_link(self, theme: str, muni: Municipality) -> str:
        """The municipality's section in the view of a theme (on the page that holds it)."""
        page = self._theme_rank.get((theme, muni.iri), 0) // THEME_PAGE_SIZE + 1
        return f"/-/themes/{theme}" + (f"?page={page}" if page > 1 else "") + f"#{muni.key}"

    @functools.cached_property
    def theme_summaries(self) -> list[ThemeSummary]:
        return _theme_index(self)

    @functools.cached_property
    def themes_in_use(self) -> frozenset[str]:
        """The themes some municipality's strategies or elements carry."""
        return frozenset(theme for (_, theme) in self.theme_counts)


def country_name(lang: str, code: str) -> str:
    names = {"de": gettext(lang, "Germany"), "ch": gettext(lang, "Switzerland"),
             "at": gettext(lang, "Austria")}
    return names.get(code, code.upper())


def slug(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1]


def _country(muni_iri: str) -> str:
    return muni_iri.split("/id/municipality/", 1)[-1][:2]


_MUNICIPALITIES = """SELECT ?m ?label ?alt ?level ?inhabitants ?ref WHERE {
  ?m a ds:Municipality .
  OPTIONAL { ?m skos:prefLabel ?label } OPTIONAL { ?m skos:altLabel ?alt }
  OPTIONAL { ?m ds:administrativeLevel ?level }
  OPTIONAL { ?m ds:population ?p . ?p ds:inhabitants ?inhabitants .
             OPTIONAL { ?p ds:referenceDate ?ref } } }"""

_STRATEGIES = """SELECT ?s ?m ?type ?status ?d ?date ?dtype ?issued ?start ?end WHERE {
  ?s a ds:Strategy .
  OPTIONAL { ?s ds:ownedBy ?m } OPTIONAL { ?s dct:type ?type }
  OPTIONAL { ?s ds:lifecycleStatus ?status }
  OPTIONAL { ?s ds:adoptedIn|^ds:adopts ?d . OPTIONAL { ?d eli:date_document ?date }
             OPTIONAL { ?d ds:decisionType ?dtype } }
  OPTIONAL { ?s dct:issued ?issued }
  OPTIONAL { ?s ds:timeHorizon ?h . OPTIONAL { ?h dcat:startDate ?start }
             OPTIONAL { ?h dcat:endDate ?end } } }"""

_ADOPTERS = """SELECT ?s ?d ?date ?dtype ?body ?label WHERE {
  ?s a ds:Strategy ; ds:adoptedIn|^ds:adopts ?d . ?d eli:passed_by ?body .
  OPTIONAL { ?d eli:date_document ?date } OPTIONAL { ?d ds:decisionType ?dtype }
  OPTIONAL { ?body skos:prefLabel ?label } }"""

# From the tagged resource to its strategy (bound subject first: 50× faster in Oxigraph).
# DISTINCT here and in _OWNERS: Virtuoso returns a pair of a `+` path once per route (an
# element both `isElementOf` its parent and `hasElement` of it: twice), 883,011 rows here at
# 10M triples for 343,044 distinct; with DISTINCT 23 s against 56–63 s (_OWNERS 8.3–9.5 s
# against 18–21 s). Oxigraph returns each pair once; DISTINCT costs it a little (1M: 1.35–1.62
# s against 1.20–1.61 s).
_TAGGED = """SELECT DISTINCT ?s ?x ?theme ?desig ?pos WHERE {
  ?x dct:subject ?theme .
  { ?x a ds:Strategy BIND(?x AS ?s) }
  UNION { ?x (ds:isElementOf|^ds:hasElement)+ ?s . ?s a ds:Strategy
          OPTIONAL { ?x ds:localDesignation ?desig } OPTIONAL { ?x ds:position ?pos } } }"""

_ELEMENTS = """SELECT ?s (COUNT(DISTINCT ?x) AS ?n) WHERE {
  ?s a ds:Strategy . ?x (ds:isElementOf|^ds:hasElement)+ ?s } GROUP BY ?s"""

_OWNERS = """SELECT DISTINCT ?x ?m WHERE { ?m a ds:Municipality .
  { ?x ds:ownedBy ?m }
  UNION { ?s ds:ownedBy ?m . ?x (ds:isElementOf|^ds:hasElement)+ ?s }
  UNION { ?s ds:ownedBy ?m . ?x ds:adopts|ds:concerns ?s }
  UNION { ?s ds:ownedBy ?m . ?s ds:adoptedIn ?x }
  UNION { ?x org:subOrganizationOf+ ?m }
  UNION { ?x org:postIn ?m }
  UNION { ?x org:postIn/org:subOrganizationOf+ ?m } }"""

_SCHEMES = " ".join(f"<{VOCAB}{s}>" for s in ("strategy-type", "lifecycle-status",
                                              "administrative-level", "theme"))
_CONCEPTS = (f"SELECT ?c ?scheme WHERE {{ ?c skos:inScheme ?scheme . "
             f"VALUES ?scheme {{ {_SCHEMES} }} }}")

_DEFINITIONS = "SELECT ?t ?d WHERE { ?t a ds:Theme ; skos:definition ?d }"

_FACET_OF_SCHEME = {"strategy-type": "type", "lifecycle-status": "status",
                    "administrative-level": "level", "theme": "theme"}


def _literal(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> tuple[str, str]:
    return (term.language or "", term.value) if isinstance(term, ox.Literal) else ("", term.value)


def build(store: Store, lang: str) -> Tables:
    """Read what the tables need from the store (a few queries over the whole graph)."""
    official: dict[str, dict[str, str]] = defaultdict(dict)
    alternative: dict[str, dict[str, str]] = defaultdict(dict)
    levels: dict[str, str] = {}
    population: dict[str, tuple[str, int]] = {}
    for row in select(store, _MUNICIPALITIES):
        m = row["m"].value
        official.setdefault(m, {})
        if "label" in row:
            tag, text = _literal(row["label"])
            official[m].setdefault(tag, text)
        if "alt" in row:
            tag, text = _literal(row["alt"])
            alternative[m].setdefault(tag, text)
        if "level" in row:
            levels[m] = slug(row["level"].value)
        if "inhabitants" in row:
            ref = row["ref"].value if "ref" in row else ""
            try:
                figure = (ref, int(row["inhabitants"].value))
            except ValueError:
                continue
            if m not in population or figure > population[m]:
                population[m] = figure
    munis: dict[str, Municipality] = {}
    for m, names in official.items():
        # The everyday name comes from the German name where there is one (the project's
        # names are German; "Kanton Genf", not "République et canton de Genève").
        chosen = pick(names, "de") or slug(m)
        alt = pick(alternative[m], "de") if alternative.get(m) else None
        munis[m] = Municipality(m, slug(m), everyday_name(chosen, alt),
                                pick(names, lang) or chosen, _country(m), levels.get(m, ""),
                                population[m][1] if m in population else None)

    concept_iris: dict[str, dict[str, str]] = defaultdict(dict)
    for row in select(store, _CONCEPTS):
        facet = _FACET_OF_SCHEME[slug(row["scheme"].value)]
        concept_iris[facet][slug(row["c"].value)] = row["c"].value

    strategies: dict[str, Strategy] = {}
    for row in select(store, _STRATEGIES):
        s = row["s"].value
        item = strategies.setdefault(s, Strategy(s, slug(s), ""))
        if "m" in row and row["m"].value in munis:
            item.city = munis[row["m"].value]
        if "type" in row:
            kind = slug(row["type"].value)
            if kind not in item.types:
                item.types = sorted([*item.types, kind])
            concept_iris["type"].setdefault(kind, row["type"].value)
        if "status" in row:
            item.status = slug(row["status"].value)
            concept_iris["status"].setdefault(item.status, row["status"].value)
            item.adopted_flag |= row["status"].value in ADOPTED_STATUSES
        if "d" in row:
            dtype = row["dtype"].value if "dtype" in row else ""
            if not dtype or dtype in ADOPTING_DECISIONS:
                item.adopted_flag = True
                date = row["date"].value if "date" in row else ""
                if date and (not item.adopted or date < item.adopted):
                    item.adopted = date
        for key in ("issued", "start", "end"):
            if key in row and (not getattr(item, key) or row[key].value < getattr(item, key)):
                setattr(item, key, row[key].value)
    adopters: dict[str, tuple[str, str, dict[str, str]]] = {}  # strategy → (date, body, names)
    for row in select(store, _ADOPTERS):
        s, body = row["s"].value, row["body"].value
        dtype = row["dtype"].value if "dtype" in row else ""
        if s not in strategies or (dtype and dtype not in ADOPTING_DECISIONS):
            continue
        date = row["date"].value if "date" in row else "~"  # undated decisions last
        if s not in adopters or (date, body) < adopters[s][:2]:
            adopters[s] = (date, body, {})
        if adopters[s][1] == body and "label" in row:
            tag, text = _literal(row["label"])
            adopters[s][2].setdefault(tag, text)
    for s, (_, body, names) in adopters.items():
        strategies[s].adopted_by_iri = body
        strategies[s].adopted_by = pick(names, lang) or slug(body)
    for row in select(store, _ELEMENTS):
        if row["s"].value in strategies:
            strategies[row["s"].value].elements = int(row["n"].value)

    tagged: dict[tuple[str, str], dict[str, Item]] = defaultdict(dict)
    element_iris: set[str] = set()
    designations: dict[str, dict[str, str]] = defaultdict(dict)
    positions: dict[str, int] = {}
    for row in select(store, _TAGGED):
        s, x, theme = row["s"].value, row["x"].value, slug(row["theme"].value)
        concept_iris["theme"].setdefault(theme, row["theme"].value)
        if s not in strategies:
            continue
        strategies[s].themes.add(theme)
        if x != s:
            element_iris.add(x)
        if "desig" in row:
            tag, text = _literal(row["desig"])
            designations[x].setdefault(tag, text)
        if "pos" in row:
            with contextlib.suppress(ValueError):
                positions[x] = int(row["pos"].value)
        owner = strategies[s].city.iri if strategies[s].city else ""
        tagged[(owner, theme)][x] = Item(x, "", s)

    wanted = {*strategies, *element_iris,
              *(i for by_slug in concept_iris.values() for i in by_slug.values())}
    # the strategies and tagged resources in one query, the rest (concepts) by IRI
    named_ = labels_where(store, "{ ?s a ds:Strategy } UNION { ?s dct:subject ?theme }", lang)
    named_.update(labels(store, wanted - named_.keys(), lang))
    for item in strategies.values():
        item.title = named_.get(item.iri) or item.key
        if item.city:
            item.city.strategies.append(item)
    concepts = {facet: {key: named_.get(value, key) for key, value in by_slug.items()}
                for facet, by_slug in concept_iris.items()}
    theme_items: dict[tuple[str, str], list[Item]] = {}
    for key, items in tagged.items():
        theme_items[key] = sorted(
            (Item(x, named_.get(x) or slug(x), i.strategy, pick(designations[x], lang) or "",
                  (positions[x],) if x in positions else ()) for x, i in items.items()),
            key=lambda i: (i.strategy, i.iri != i.strategy, i.position or (10**6,),
                           collation_key(i.label)))
    owners = {row["x"].value: row["m"].value for row in select(store, _OWNERS)}
    definitions: dict[str, dict[str, str]] = defaultdict(dict)
    for row in select(store, _DEFINITIONS):
        tag, text = _literal(row["d"])
        definitions[slug(row["t"].value)].setdefault(tag, text)

    # two entities with one everyday name (Stadt Zürich, Kanton Zürich) get their level
    by_name: dict[str, list[Municipality]] = defaultdict(list)
    for muni in munis.values():
        by_name[collation_key(muni.name)].append(muni)
    for same in by_name.values():
        if len(same) > 1:
            for muni in same:
                level = concepts.get("level", {}).get(muni.level, muni.level)
                muni.qualified = f"{muni.name} ({level})" if level else muni.name
    for item in strategies.values():
        for facet in (*FACETS, *HIDDEN_FILTERS):
            facet_values(item, facet)
    for muni in munis.values():
        for facet in FACETS:
            facet_values(muni, facet)
    for muni in munis.values():
        muni.strategies.sort(key=lambda s: (s.year is None, -(s.year or 0),
                                            collation_key(s.title)))
    return Tables(lang, munis, strategies, concepts, dict(concept_iris), theme_items, owners,
                  {t: pick(d, lang) or "" for t, d in definitions.items()})


def tables(store: Store, lang: str) -> Tables:
    """The tables of ``store`` in ``lang``, built at first use and kept (the store does not
    change while the service runs: :meth:`kg.store.GraphReading.remember`)."""
    return store.remember(f"tables-{lang}", functools.partial(build, lang=lang))


# --- facets, filters, sorting, pages ---------------------------------------------------------

FACETS = ("country", "level", "type", "status", "year", "theme")
#: Filters that are not offered as a facet list (too many values) but can be chosen by a
#: link: ``city`` (the municipality's slug, ``de-05113000``) on the strategies.
HIDDEN_FILTERS = ("city",)
Params = list[tuple[str, str]]


def facet_values(row: Strategy | Municipality, facet: str) -> frozenset[str]:
    """The values a row has for a facet (see the module doc); kept on the row by build."""
    found = row.facets.get(facet)
    if found is None:
        found = row.facets[facet] = frozenset(_facet_values(row, facet))
    return found


def _facet_values(row: Strategy | Municipality, facet: str) -> set[str]:
    if isinstance(row, Strategy):
        city = row.city
        values = {"country": {city.country} if city else set(),
                  "level": {city.level or NONE} if city else set(),
                  "type": set(row.types) or {NONE}, "status": {row.status or NONE},
                  "year": {str(row.year) if row.year is not None else UNDATED},
                  "theme": row.themes, "city": {city.key} if city else set()}
        return values[facet]
    if facet == "country":
        return {row.country}
    if facet == "level":
        return {row.level or NONE}
    if not row.strategies:
        return {NONE} if facet == "type" else set()
    found: set[str] = set()
    for item in row.strategies:
        found |= facet_values(item, facet)
    return found


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = False
    sortable: bool = True


def strategy_columns(lang: str) -> list[Column]:
    return [Column("title", gettext(lang, "Strategy")), Column("city", gettext(lang, "City")),
            Column("country", gettext(lang, "Country")),
            Column("level", gettext(lang, "Level")), Column("type", gettext(lang, "Type")),
            Column("status", gettext(lang, "Status")), Column("year", gettext(lang, "Year")),
            Column("adopted_by", gettext(lang, "Adopted by")),
            Column("themes", gettext(lang, "Themes"), sortable=False),
            Column("elements", gettext(lang, "Elements"), numeric=True)]


def municipality_columns(lang: str) -> list[Column]:
    return [Column("name", gettext(lang, "Name")), Column("country", gettext(lang, "Country")),
            Column("level", gettext(lang, "Level")),
            Column("population", gettext(lang, "Population"), numeric=True),
            Column("strategies", gettext(lang, "Strategies"), numeric=True),
            Column("latest", gettext(lang, "Latest year"), numeric=True),
            Column("types", gettext(lang, "Types of strategy"), sortable=False)]


def _rank(order: Sequence[str], value: str) -> tuple[int, str]:
    return (order.index(value) if value in order else len(order), value)


def _sort_value(t: Tables, row: Strategy | Municipality, key: str) -> Any:
    """The value a row sorts by in column ``key``; None sorts last in both directions."""
    if isinstance(row, Strategy):
        city = row.city
        values: dict[str, Callable[[], Any]] = {
            "title": lambda: collation_key(row.title),
            "city": lambda: collation_key(city.display) if city else None,
            "country": lambda: _rank(COUNTRY_ORDER, row.country) if city else None,
            "level": lambda: _rank(LEVEL_ORDER, city.level) if city and city.level else None,
            "type": lambda: [collation_key(x) for x in t.type_labels(row)] or None,
            "status": lambda: _rank(STATUS_ORDER, row.status) if row.status else None,
            "year": lambda: row.adopted or row.issued or row.start or None,
            "adopted_by": lambda: collation_key(row.adopted_by) if row.adopted_by else None,
            "elements": lambda: row.elements}
    else:
        values = {"name": lambda: collation_key(row.display),
                  "country": lambda: _rank(COUNTRY_ORDER, row.country),
                  "level": lambda: _rank(LEVEL_ORDER, row.level) if row.level else None,
                  "population": lambda: row.population,
                  "strategies": lambda: len(row.strategies),
                  "latest": lambda: row.latest_year}
    return values[key]()


def _tiebreak(row: Strategy | Municipality) -> tuple[Any, ...]:
    if isinstance(row, Strategy):
        return (collation_key(row.city.display) if row.city else "~",
                row.year is None, row.year or 0, collation_key(row.title), row.iri)
    return (collation_key(row.display), row.level, row.iri)


def sort_rows(t: Tables, rows: list[Any], sort: str) -> list[Any]:
    """Rows sorted by ``sort`` (a column key, ``-key`` for descending); rows without a value
    (undated, no status, no population) come last whichever the direction."""
    descending, key = sort.startswith("-"), sort.lstrip("-")
    keyed = [(_sort_value(t, r, key), _tiebreak(r), r) for r in rows]
    keyed.sort(key=lambda k: k[1])
    present = [(v, r) for v, _, r in keyed if v is not None]
    missing = [r for v, _, r in keyed if v is None]
    present.sort(key=lambda k: k[0], reverse=descending)  # stable: ties keep the tiebreak
    return [r for _, r in present] + missing


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    href: str  # the view with this value toggled


@dataclass
class Facet:
    key: str
    label: str
    values: list[FacetValue]
    selected: int


@dataclass
class Chip:
    facet: str
    facet_label: str
    value: str
    label: str
    href: str  # the view without it


@dataclass
class Query:
    """The parameters of a table view."""

    filters: dict[str, list[str]]
    sort: str
    page: int
    size: int
    default_sort: str = ""

    def params(self, *, page: int | None = None, sort: str | None = None,
               size: int | None = None, fmt: str | None = None,
               filters: dict[str, list[str]] | None = None) -> Params:
        chosen = self.filters if filters is None else filters
        found: Params = [(k, v) for k in (*FACETS, *HIDDEN_FILTERS) for v in chosen.get(k, [])]
        chosen_sort = self.sort if sort is None else sort
        if chosen_sort and chosen_sort != self.default_sort:
            found.append(("sort", chosen_sort))
        size = self.size if size is None else size
        if size != DEFAULT_PAGE_SIZE:
            found.append(("size", str(size)))
        page = self.page if page is None else page
        if page != 1:
            found.append(("page", str(page)))
        if fmt:
            found.append(("format", fmt))
        return found


def href(path: str, params: Params) -> str:
    return path + ("?" + urlencode(params) if params else "")


def parse_query(items: Iterable[tuple[str, str]], columns: list[Column],
                default_sort: str, facets: Sequence[str] = FACETS) -> Query:
    """The view's parameters; BadParameterError for a sort column, page or size it cannot use."""
    filters: dict[str, list[str]] = {}
    sort, page, size = default_sort, 1, DEFAULT_PAGE_SIZE
    sortable = {c.key for c in columns if c.sortable}
    for key, value in items:
        value = value.strip()
        if key in facets and value:
            if value not in filters.setdefault(key, []):
                filters[key].append(value)
        elif key == "sort" and value:
            if value.lstrip("-") not in sortable:
                raise BadParameterError(f"cannot sort by {value!r}; columns: "
                                   + ", ".join(sorted(sortable)))
            sort = value
        elif key in ("page", "size"):
            try:
                number = int(value)
            except ValueError:
                raise BadParameterError(f"{key} must be a whole number, not {value!r}") from None
            if key == "page":
                if number < 1:
                    raise BadParameterError("page must be 1 or more")
                page = number
            else:
                if not 1 <= number <= MAX_PAGE_SIZE:
                    raise BadParameterError(f"size must be between 1 and {MAX_PAGE_SIZE}")
                size = number
    return Query(filters, sort, page, size, default_sort)


def matches(row: Strategy | Municipality, filters: dict[str, list[str]],
            skip: str | None = None) -> bool:
    return all(facet_values(row, facet) & set(values)
               for facet, values in filters.items() if facet != skip and values)


def _facet_label(lang: str, facet: str) -> str:
    names = {"country": gettext(lang, "Country"), "level": gettext(lang, "Level"),
             "type": gettext(lang, "Type"), "status": gettext(lang, "Status"),
             "year": gettext(lang, "Year"), "theme": gettext(lang, "Theme")}
    return names[facet]


def _value_order(t: Tables, facet: str, value: str) -> tuple[Any, ...]:
    if value in (NONE, UNDATED):
        return (1, "")
    if facet == "country":
        return (0, _rank(COUNTRY_ORDER, value))
    if facet == "level":
        return (0, _rank(LEVEL_ORDER, value))
    if facet == "status":
        return (0, _rank(STATUS_ORDER, value))
    if facet == "year":
        return (0, -int(value) if value.isdigit() else 0)
    return (0, collation_key(t.label(facet, value)))


def facet_list(t: Tables, rows: Sequence[Strategy | Municipality], query: Query, path: str,
               facets: Sequence[str] = FACETS) -> tuple[list[Facet], list[Chip]]:
    """Each facet with its values and counts (disjunctive: the count of a value is the
    number of rows with it among the rows that the other facets' choices leave)."""
    found: list[Facet] = []
    chips: list[Chip] = []
    for facet in facets:
        chosen = query.filters.get(facet, [])
        counts: dict[str, int] = defaultdict(int)
        for row in rows:
            if matches(row, query.filters, skip=facet):
                for value in facet_values(row, facet):
                    counts[value] += 1
        values = []
        for value in sorted(set(counts) | set(chosen), key=lambda v: _value_order(t, facet, v)):
            toggled = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
            link = href(path, query.params(page=1, filters={**query.filters, facet: toggled}))
            values.append(FacetValue(value, t.label(facet, value), counts.get(value, 0),
                                     value in chosen, link))
            if value in chosen:
                chips.append(Chip(facet, _facet_label(t.lang, facet), value,
                                  t.label(facet, value), link))
        found.append(Facet(facet, _facet_label(t.lang, facet), values, len(chosen)))
    return found, chips


@dataclass
class TableView:
    kind: str  # "strategies" or "municipalities"
    path: str
    columns: list[Column]
    rows: list[Any]  # Strategy or Municipality, this page's
    matching: list[Any]  # every row the filters leave, sorted
    total: int  # rows that match the filters
    query: Query
    facets: list[Facet]
    chips: list[Chip]
    pages: int
    tables: Tables
    key: tuple[Any, ...]  # its key in Tables.kept: what derives from every matching row

    @property
    def page(self) -> int:
        return self.query.page

    def link(self, **changes: Any) -> str:
        return href(self.path, self.query.params(**changes))

    def sort_link(self, column: str) -> str:
        """The view sorted by ``column``; ascending first, then descending."""
        new = "-" + column if self.query.sort == column else column
        return self.link(sort=new, page=1)

    def sort_state(self, column: str) -> str:
        if self.query.sort == column:
            return "ascending"
        if self.query.sort == "-" + column:
            return "descending"
        return "none"

    @property
    def first(self) -> int:
        return (self.query.page - 1) * self.query.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def clear_link(self) -> str:
        return href(self.path, self.query.params(page=1, filters={}))

    def records(self) -> list[dict[str, Any]]:
        """This page's rows as the CSV and JSON give them."""
        return [record(self.tables, r) for r in self.rows]

    def record_columns(self) -> list[str]:
        return STRATEGY_FIELDS if self.kind == "strategies" else MUNICIPALITY_FIELDS


def table_view(t: Tables, kind: str, items: Iterable[tuple[str, str]], path: str) -> TableView:
    """The rows, facets and pages of ``/-/strategies`` or ``/-/municipalities``."""
    if kind == "strategies":
        columns, default, rows = strategy_columns(t.lang), "city", list(t.strategies.values())
    else:
        columns, default = municipality_columns(t.lang), "name"
        rows = list(t.municipalities.values())
    query = parse_query(items, columns, default,
                        facets=(*FACETS, *HIDDEN_FILTERS) if kind == "strategies" else FACETS)
    key = ("table", kind, path, query.sort, query.size, filter_key(query.filters))

    def make() -> tuple[list[Facet], list[Chip], list[Any]]:
        facets, chips = facet_list(t, rows, query, path)
        for value in query.filters.get("city", []):
            muni = next((m for m in t.municipalities.values() if m.key == value), None)
            rest = [v for v in query.filters["city"] if v != value]
            chips.append(Chip("city", gettext(t.lang, "City"), value,
                              muni.display if muni else value,
                              href(path, query.params(page=1, filters={**query.filters,
                                                                       "city": rest}))))
        return facets, chips, sort_rows(t, [r for r in rows if matches(r, query.filters)],
                                        query.sort)

    facets, chips, matching = t.kept(key, make)
    page, pages = page_slice(matching, query.page, query.size)
    return TableView(kind, path, columns, list(page), matching, len(matching), query, facets,
                     chips, pages, t, key)


def filter_key(filters: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The filters of a query as part of a key of :meth:`Tables.kept` (each facet's values
    in the order asked: the links and chips keep it)."""
    return tuple(sorted((facet, tuple(values)) for facet, values in filters.items()))


# --- CSV and JSON ------------------------------------------------------------------------------

STRATEGY_FIELDS = ["strategy", "title", "city", "city_iri", "country", "level", "type",
                   "status", "year", "year_basis", "adopted", "adopted_by",
                   "adopted_by_iri", "issued", "period_start",
                   "period_end", "themes", "elements"]
MUNICIPALITY_FIELDS = ["municipality", "name", "official_name", "country", "level",
                       "population", "strategies", "latest_year", "types", "themes"]


def record(t: Tables, row: Strategy | Municipality) -> dict[str, Any]:
    """One row as the downloads give it: IRIs, names and labels in the page's language."""
    if isinstance(row, Strategy):
        city = row.city
        return {"strategy": row.iri, "title": row.title, "city": city.display if city else "",
                "city_iri": city.iri if city else "",
                "country": t.label("country", city.country) if city else "",
                "level": t.label("level", city.level) if city and city.level else "",
                "type": t.type_labels(row),
                "status": t.label("status", row.status) if row.status else "",
                "year": row.year, "year_basis": row.year_basis, "adopted": row.adopted,
                "adopted_by": row.adopted_by, "adopted_by_iri": row.adopted_by_iri,
                "issued": row.issued, "period_start": row.start, "period_end": row.end,
                "themes": sorted((t.label("theme", x) for x in row.themes), key=collation_key),
                "elements": row.elements}
    themes: set[str] = set()
    for item in row.strategies:
        themes |= item.themes
    return {"municipality": row.iri, "name": row.display, "official_name": row.official,
            "country": t.label("country", row.country),
            "level": t.label("level", row.level) if row.level else "",
            "population": row.population, "strategies": len(row.strategies),
            "latest_year": row.latest_year,
            "types": t.type_labels(row),
            "themes": sorted((t.label("theme", x) for x in themes), key=collation_key)}


def to_csv(fields: list[str], records: list[dict[str, Any]]) -> str:
    """CSV (RFC 4180, CRLF line ends); lists joined with "; ", missing values empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for rec in records:
        writer.writerow([_csv_cell(rec.get(f)) for f in fields])
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    text = str(value)
    # a cell a spreadsheet would run as a formula starts with a quote mark (OWASP CSV
    # injection); none of the project's names do, so nothing real changes
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _NUMBER.match(text) else text


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def to_json(view: TableView) -> dict[str, Any]:
    """The JSON of a table view: what the page shows (its rows, facets, pages)."""
    return {
        "kind": view.kind, "total": view.total, "page": view.page, "size": view.query.size,
        "pages": view.pages, "sort": view.query.sort, "filters": view.query.filters,
        "columns": view.record_columns(), "rows": view.records(),
        "facets": {f.key: [{"value": v.value, "label": v.label, "count": v.count,
                            "selected": v.selected} for v in f.values] for f in view.facets},
        "next": view.link(page=view.page + 1, fmt="json") if view.page < view.pages else None,
        "previous": view.link(page=view.page - 1, fmt="json") if view.page > 1 else None,
    }


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1)


# --- the comparison matrix -----------------------------------------------------------------


#: Rows of the comparison a page (as the home page's municipalities).
MATRIX_PAGE_SIZE = 200


@dataclass
class MatrixView:
    municipalities: list[Municipality]  # rows (every row that matches the filters)
    themes: list[tuple[str, str]]  # columns: (slug, label)
    counts: dict[tuple[str, str], int]  # (municipality IRI, theme slug) → items
    query: Query
    filters_form: dict[str, list[tuple[str, str, bool]]]  # facet → (value, label, chosen)
    theme_totals: dict[str, int]  # theme → municipalities with it
    tables: Tables
    unused: list[tuple[str, str]]

    def cell(self, muni: str, theme: str) -> int:
        return self.counts.get((muni, theme), 0)

    def row_total(self, muni: str) -> int:
        return sum(1 for th, _ in self.themes if self.counts.get((muni, th)))

    def link(self, fmt: str | None = None) -> str:
        params = [(k, v) for k in MATRIX_FACETS for v in self.query.filters.get(k, [])]
        return href("/-/compare", params + ([("format", fmt)] if fmt else []))

    def page(self) -> paging.Paged[Municipality]:
        """The asked page of the rows, its links keeping the filters; NoSuchPageError past
        the last."""
        keep = [(k, v) for k in MATRIX_FACETS for v in self.query.filters.get(k, [])]
        return paging.paged(self.municipalities, str(self.query.page), MATRIX_PAGE_SIZE,
                            "/-/compare", keep)


MATRIX_FACETS = ("country", "level", "theme")


def matrix_view(t: Tables, items: Iterable[tuple[str, str]]) -> MatrixView:
    """Municipalities (rows, by everyday name) × themes (columns): how many strategies and
    elements of each municipality carry each theme. ``country`` and ``level`` choose rows,
    ``theme`` columns; rows and columns with no hit are left out."""
    query = parse_query(items, [], "", facets=MATRIX_FACETS)
    chosen = query.filters

    def make() -> MatrixView:
        counts, used = t.theme_counts, t.themes_in_use
        themes = sorted(((k, v) for k, v in t.concepts.get("theme", {}).items()),
                        key=lambda kv: collation_key(kv[1]))
        columns = [(k, v) for k, v in themes
                   if k in used and (not chosen.get("theme") or k in chosen["theme"])]
        keys = {k for k, _ in columns}
        munis = [m for m in t.sorted_municipalities()
                 if (not chosen.get("country") or m.country in chosen["country"])
                 and (not chosen.get("level") or (m.level or NONE) in chosen["level"])
                 and any(counts.get((m.iri, k)) for k in keys)]
        form = {
            "country": [(c, country_name(t.lang, c), c in chosen.get("country", []))
                        for c in COUNTRY_ORDER
                        if any(m.country == c for m in t.municipalities.values())],
            "level": [(lv, t.label("level", lv), lv in chosen.get("level", []))
                      for lv in _levels(t)],
            "theme": [(k, v, k in chosen.get("theme", [])) for k, v in themes if k in used],
        }
        totals = {k: sum(1 for m in munis if counts.get((m.iri, k))) for k in keys}
        unused = [(k, v) for k, v in themes if k not in used]
        return MatrixView(munis, columns, counts, query, form, totals, t, unused)

    kept = t.kept(("matrix", filter_key(chosen)), make)
    return dataclasses.replace(kept, query=query)  # its page is this request's


def _levels(t: Tables) -> list[str]:
    """The administrative levels of the municipalities, in LEVEL_ORDER."""
    return sorted({m.level for m in t.municipalities.values() if m.level},
                  key=lambda v: _rank(LEVEL_ORDER, v))


def matrix_csv(view: MatrixView) -> str:
    fields = ["municipality", "name", "country", "level", *(label for _, label in view.themes)]
    rows = []
    for m in view.municipalities:
        rec: dict[str, Any] = {"municipality": m.iri, "name": m.display,
                               "country": view.tables.label("country", m.country),
                               "level": view.tables.label("level", m.level) if m.level else ""}
        for key, label in view.themes:
            rec[label] = view.cell(m.iri, key)
        rows.append(rec)
    return to_csv(fields, rows)


def matrix_json(view: MatrixView) -> dict[str, Any]:
    return {"themes": [{"theme": view.tables.concept_iris["theme"][k], "label": label}
                       for k, label in view.themes],
            "rows": [{"municipality": m.iri, "name": m.display,
                      "counts": {k: view.cell(m.iri, k) for k, _ in view.themes}}
                     for m in view.municipalities],
            "filters": view.query.filters}


# --- one theme ------------------------------------------------------------------------------


#: Municipalities of a theme's view a page (as the home page's).
THEME_PAGE_SIZE = 200


@dataclass
class ThemeEntry:
    municipality: Municipality
    strategies: list[tuple[Strategy, bool, list[Item]]]  # strategy, itself tagged, elements


@dataclass
class ThemeView:
    key: str
    iri: str
    label: str
    definition: str
    entries: list[ThemeEntry]
    query: Query
    filters_form: dict[str, list[tuple[str, str, bool]]]
    strategies: int
    elements: int
    tables: Tables

    def link(self, fmt: str | None = None) -> str:
        params = [(k, v) for k in ("country", "level") for v in self.query.filters.get(k, [])]
        return href(f"/-/themes/{self.key}", params + ([("format", fmt)] if fmt else []))

    def page(self) -> paging.Paged[ThemeEntry]:
        """The asked page of the municipalities, its links keeping the filters;
        NoSuchPageError past the last."""
        keep = [(k, v) for k in ("country", "level") for v in self.query.filters.get(k, [])]
        return paging.paged(self.entries, str(self.query.page), THEME_PAGE_SIZE,
                            f"/-/themes/{self.key}", keep)


def theme_view(t: Tables, key: str, items: Iterable[tuple[str, str]]) -> ThemeView | None:
    """The municipalities whose strategies or elements carry theme ``key``, by everyday
    name, each with its strategies and their elements on the theme; None for no theme."""
    if key not in t.concepts.get("theme", {}):
        return None
    query = parse_query(items, [], "", facets=("country", "level"))
    kept = t.kept(("theme", key, filter_key(query.filters)),
                  lambda: _theme_view(t, key, query))
    return dataclasses.replace(kept, query=query)  # its page is this request's


def _theme_view(t: Tables, key: str, query: Query) -> ThemeView:
    chosen = query.filters
    entries = []
    n_strategies = n_elements = 0
    for muni in t.theme_municipalities.get(key, []):
        if chosen.get("country") and muni.country not in chosen["country"]:
            continue
        if chosen.get("level") and (muni.level or NONE) not in chosen["level"]:
            continue
        found = t.theme_items.get((muni.iri, key))
        if not found:
            continue
        grouped: dict[str, list[Item]] = defaultdict(list)
        itself: set[str] = set()
        for item in found:
            if item.iri == item.strategy:
                itself.add(item.iri)
            else:
                grouped[item.strategy].append(item)
        strategies = sorted((t.strategies[s] for s in {*grouped, *itself}),
                            key=lambda s: (s.year is None, -(s.year or 0),
                                           collation_key(s.title)))
        entries.append(ThemeEntry(muni, [(s, s.iri in itself, grouped.get(s.iri, []))
                                         for s in strategies]))
        n_strategies += len(strategies)
        n_elements += sum(len(v) for v in grouped.values())
    form = {
        "country": [(c, country_name(t.lang, c), c in chosen.get("country", []))
                    for c in COUNTRY_ORDER],
        "level": [(lv, t.label("level", lv), lv in chosen.get("level", []))
                  for lv in _levels(t)],
    }
    return ThemeView(key, t.concept_iris["theme"][key], t.concepts["theme"][key],
                     t.theme_definitions.get(key, ""), entries, query, form, n_strategies,
                     n_elements, t)


@dataclass
class ThemeSummary:
    key: str
    label: str
    municipalities: int
    strategies: int
    elements: int


def theme_index(t: Tables) -> list[ThemeSummary]:
    """Every theme with the number of municipalities, strategies and elements carrying it
    (worked out once per tables)."""
    return t.theme_summaries


def _theme_index(t: Tables) -> list[ThemeSummary]:
    munis: dict[str, set[str]] = defaultdict(set)
    strategies: dict[str, set[str]] = defaultdict(set)
    elements: dict[str, set[str]] = defaultdict(set)
    for (muni, theme), items in t.theme_items.items():
        if muni:
            munis[theme].add(muni)
        for item in items:
            strategies[theme].add(item.strategy)
            if item.iri != item.strategy:
                elements[theme].add(item.iri)
    found = [ThemeSummary(key, label, len(munis[key]), len(strategies[key]),
                          len(elements[key]))
             for key, label in t.concepts.get("theme", {}).items()]
    return sorted(found, key=lambda s: (-s.municipalities, collation_key(s.label)))


# --- the home page ----------------------------------------------------------------------------


def latest_adoptions(t: Tables, count: int = 8) -> list[Strategy]:
    """The most recently adopted strategies (by the date of the adopting decision)."""
    def make() -> list[Strategy]:
        dated = [s for s in t.strategies.values() if s.adopted]
        return sorted(dated, key=lambda s: (s.adopted, s.iri), reverse=True)[:count]
    return t.kept(("latest-adoptions", count), make)


def of_no_municipality(t: Tables) -> list[Strategy]:
    """The strategies that belong to no municipality (the home page's last page)."""
    return t.kept(("of-no-municipality",),
                  lambda: [s for s in t.strategies.values() if s.city is None])
