"""Full-text search over the graph: an SQLite FTS5 index, built from the store at start-up.

The index is read from the store only through :func:`kg.views.common.select_in_parts` and
:func:`kg.views.common.labels`, so it is built the same way over the embedded store and over a
remote endpoint (which asks in parts when an answer is too large for the store). SQLite
ships with Python: no search server.

What is indexed: municipalities, strategies, strategy elements, goals and measures (goals,
objectives, indicators, measures, projects), decisions, governing bodies and organisations,
themes, and the quotes of evidence nodes — each one row with four text columns:

* ``name``: labels in every language (``skos:prefLabel``, ``dct:title``, alternatives,
  notations, official keys);
* ``body``: descriptions, definitions, visions, guiding principles, the quote;
* ``fold``: the words of ``body`` with umlauts written out (ä → ae, ß → ss), so that
  ``Zuerich`` finds ``Zürich``;
* ``context``: the names of the row's municipality and strategy (and, for a quote, of the
  resource it backs), so that ``Zürich Daten`` finds Zürich's elements on data; a query
  must match a row's own text (``name``, ``body``, ``fold``) in at least one word, so
  ``Zürich`` alone does not list every element of Zürich.

The tokenizer is ``unicode61 remove_diacritics 2`` (case and accents do not matter:
``zurich`` finds ``Zürich``); every word of a query is a prefix (``Daten`` finds
``Datenbestände``); rows are ranked with bm25 (a match in a name weighs most). Rows are
stored grouped by kind, so a kind is a range of rowids (counting by kind reads no text).

User input never reaches FTS5's query syntax: it is split into words (letters and digits),
each written as a quoted FTS5 string, so quotes, operators (AND, OR, NOT, NEAR), column
filters, parentheses and stars are just text and no query can fail to parse.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import threading
import time
import unicodedata
import weakref
import zlib
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from kg.errors import KGError
from kg.i18n import LANGUAGES
from kg.store import Apart, Store
from kg.views.common import DCT, ORG, SKOS, is_named, labels, pick, select_in_parts

DS = "https://w3id.org/digistrat/ontology#"
ELI = "http://data.europa.eu/eli/ontology#"

#: The kinds of hits, in the order their groups are shown.
KINDS = ("municipality", "strategy", "element", "goal", "decision", "body", "theme", "quote")

#: The classes of each kind (a resource of several kinds gets the first in KINDS order).
KIND_CLASSES: dict[str, tuple[str, ...]] = {
    "municipality": (DS + "Municipality",),
    "strategy": (DS + "Strategy",),
    "element": (DS + "StrategyElement", DS + "FocusArea", DS + "ActionField",
                DS + "StrategicThrust", DS + "Programme"),
    "goal": (DS + "Goal", DS + "Objective", DS + "Indicator", DS + "Measure", DS + "Project"),
    "decision": (DS + "Decision",),
    "body": (DS + "GoverningBody", ORG + "Organization", ORG + "OrganizationalUnit",
             ORG + "FormalOrganization"),
    "theme": (DS + "Theme",),
}
#: Properties whose literals name a resource (the ``name`` column).
NAME_PROPERTIES = (SKOS + "prefLabel", DCT + "title", "http://www.w3.org/2000/01/rdf-schema#label",
                   "http://xmlns.com/foaf/0.1/name", SKOS + "altLabel", DCT + "alternative",
                   SKOS + "notation", DS + "ags", DS + "regionalKey", DS + "bfsNumber",
                   DS + "gkz", ELI + "id_local")
#: Properties whose literals describe it (the ``body`` column).
TEXT_PROPERTIES = (DCT + "description", SKOS + "definition", DS + "vision",
                   DS + "guidingPrinciple", DS + "targetStatement")
#: Label properties, best first (the label a hit shows).
LABEL_PROPERTIES = NAME_PROPERTIES[:4]
#: Properties naming what a resource is (a concept shown next to a hit).
TYPE_PROPERTIES = (DCT + "type", DS + "bodyFunction", ORG + "classification",
                   DS + "decisionType", DS + "administrativeLevel")
#: Links from a resource up to what it belongs to: (property, True when the link points
#: down, from the parent to the child).
UP_LINKS: tuple[tuple[str, bool], ...] = (
    (DS + "isElementOf", False), (DS + "hasElement", True), (DS + "hasGoal", True),
    (DS + "hasObjective", True), (DS + "hasMeasure", True), (DS + "measuredBy", True),
    (DS + "implements", False), (DS + "contributesTo", False), (DCT + "isPartOf", False),
    (DS + "adopts", False), (DS + "concerns", False), (DS + "amends", False),
    (ELI + "passed_by", False), (ORG + "subOrganizationOf", False), (DS + "ownedBy", False),
    (DS + "responsibleAgent", False),
)

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 10
WEIGHTS = (10.0, 2.0, 3.0, 0.5)  # bm25 weights of name, body, fold, context
#: Of a kind's matches, the first WINDOW (in the index's order: shortest name first) are
#: ranked by bm25, the rest follow in the index's order. bm25 costs a few microseconds a
#: row: ranking 27,000 matches of a common word took 100 ms on the 1M-triple data.
WINDOW = 2000
SNIPPET_WORDS = 28
FALLBACK_CHARS = 220
_WORD = re.compile(r"[^\W_]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HAS_UMLAUT = re.compile("[äöüßÄÖÜẞ]")
_PHRASE = re.compile(r'"([^"]*)"?')
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe",
                          "Ü": "Ue", "ẞ": "SS"})


class SearchQueryError(KGError):
    """A search text that cannot be searched for: empty, no words, too long, too many words.
    ``reason`` is one of ``empty``, ``too-long``, ``too-many-words``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --- text helpers -----------------------------------------------------------------------------


def normalise(text: str) -> str:
    """NFC, without the highlight markers and other control characters."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return _CONTROL.sub(" ", text)


def transliterate(text: str) -> str:
    """Umlauts written out: ``Zürich`` → ``Zuerich``, ``Straße`` → ``Strasse``."""
    return text.translate(_UMLAUTS)


def folded_words(text: str) -> list[str]:
    """The words of ``text`` that change when their umlauts are written out, written out."""
    if not _HAS_UMLAUT.search(text):
        return []
    return [transliterate(w) for w in _WORD.findall(text) if _HAS_UMLAUT.search(w)]


@functools.lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Lower case without accents (what the tokenizer makes of a word)."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One word of a query (or a phrase the user quoted): its tokens, and whether the last
    token is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool

    def variants(self) -> list[tuple[str, ...]]:
        """The tokens as typed and with umlauts written out (``Straße`` also as ``Strasse``)."""
        written = tuple(transliterate(t) for t in self.tokens)
        return [self.tokens] if written == self.tokens else [self.tokens, written]

    def fts(self) -> str:
        """The term as an FTS5 expression: quoted strings only (nothing the user typed is
        read as syntax)."""
        star = "*" if self.prefix else ""
        parts = ['"' + " ".join(v).replace('"', '""') + '"' + star for v in self.variants()]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def parse_query(text: str) -> list[Term]:
    """The terms of a search text. A quoted phrase is one exact term; every other word is a
    prefix (one-letter words excepted). Raises :class:`SearchQueryError`."""
    text = normalise(text or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise SearchQueryError("too-long", f"the search text is {len(text)} characters long; "
                                           f"at most {MAX_QUERY_CHARS} are searched")
    terms: list[Term] = []
    rest = []
    last = 0
    for match in _PHRASE.finditer(text):
        rest.append(text[last:match.start()])
        last = match.end()
        tokens = tuple(w.lower() for w in _WORD.findall(match.group(1)))
        if tokens:
            terms.append(Term(tokens, False))
    rest.append(text[last:])
    for word in " ".join(rest).split():
        tokens = tuple(w.lower() for w in _WORD.findall(word))
        if tokens:
            terms.append(Term(tokens, len(tokens[-1]) > 1))
    unique = list(dict.fromkeys(terms))
    if not unique:
        raise SearchQueryError("empty", "the search text has no words to search for")
    if len(unique) > MAX_QUERY_WORDS:
        raise SearchQueryError("too-many-words", f"the search text has {len(unique)} words; "
                                                 f"at most {MAX_QUERY_WORDS} are searched")
    return unique


def match_expression(terms: list[Term]) -> str:
    """The FTS5 MATCH expression: every term in the row (its own text or its context), and
    at least one term in the row's own text."""
    own = "{name body fold}"
    if len(terms) == 1:
        return f"{own} : {terms[0].fts()}"
    every = " AND ".join(t.fts() for t in terms)
    some = " OR ".join(t.fts() for t in terms)
    return f"{{name body fold context}} : ({every}) AND {own} : ({some})"


# --- documents and hits -----------------------------------------------------------------------


@dataclass
class Doc:
    """One row of the index: what a hit shows besides its snippet."""

    kind: str
    iri: str  # the page the hit links to (for a quote: the resource it backs)
    labels: dict[str, str] = field(default_factory=dict)  # language → label
    type: str = ""  # a concept or class saying what it is
    designation: dict[str, str] = field(default_factory=dict)  # the city's own word
    texts: dict[str, str] = field(default_factory=dict)  # language → first description
    city: str = ""
    strategy: str = ""
    source: str = ""  # for a quote: the source document
    name: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    body_lang: list[str] = field(default_factory=list)  # the language of each body text
    context: list[str] = field(default_factory=list)

    def points_to(self) -> set[str]:
        """What a hit of this names besides itself: its type, city, strategy, source."""
        return {self.type, self.city, self.strategy, self.source} - {""}


#: What a hit shows of its resource, kept in the index's ``docs`` table.
_SHOWN = ("iri", "labels", "type", "designation", "texts", "city", "strategy", "source",
          "body", "body_lang")


@dataclass(frozen=True)
class Link:
    iri: str
    label: str


@dataclass
class Hit:
    kind: str
    iri: str
    label: str
    label_parts: list[tuple[str, bool]]  # the label, (text, is a match) pieces
    snippet: list[tuple[str, bool]]  # a piece of text around the match, same pieces
    type: str
    city: Link | None
    strategy: Link | None
    source: Link | None
    score: float | None  # bm25 (higher is better); None past the ranking window

    @property
    def snippet_text(self) -> str:
        return "".join(text for text, _ in self.snippet)


@dataclass
class Group:
    kind: str
    total: int
    hits: list[Hit]


@dataclass
class Results:
    query: str
    terms: list[Term]
    total: int
    counts: dict[str, int]  # hits of every kind with hits
    groups: list[Group]  # every kind with hits (or the kind asked for), in KINDS order
    seconds: float


# --- the index --------------------------------------------------------------------------------


class SearchIndex:
    """An FTS5 index over the store's resources (see the module doc), all of it in one
    in-memory SQLite database: the searched text, what a hit shows (a row per resource) and
    the names of what hits point to. It holds no Python object per resource, and the process
    that builds it hands it over as one image (:meth:`image`, :meth:`from_image`). Safe to
    share between threads: one connection, one lock (a search takes milliseconds)."""

    def __init__(self, db: sqlite3.Connection, build_seconds: float = 0.0) -> None:
        self._db = db
        self._lock = threading.Lock()
        self.build_seconds = build_seconds
        # a kind is a range of rowids; within it, the shortest own text first (see WINDOW)
        self.ranges: dict[str, tuple[int, int]] = {
            kind: (low, high) for kind, low, high in db.execute(
                "SELECT kind, min(rowid), max(rowid) FROM docs GROUP BY kind")}
        self._kinds = [k for k in KINDS if k in self.ranges]
        self._size = sum(high - low + 1 for low, high in self.ranges.values())

    def __len__(self) -> int:
        return self._size

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- building ---------------------------------------------------------------------

    @classmethod
    def build(cls, store: Store) -> SearchIndex:
        """Read every indexed resource from ``store`` (through the views' query entry point)."""
        started = time.perf_counter()
        docs, names = _collect(store)
        return cls.of_docs(docs, names, time.perf_counter() - started)

    @classmethod
    def of_docs(cls, docs: list[Doc], names: dict[str, dict[str, str]],
                build_seconds: float = 0.0) -> SearchIndex:
        docs = sorted(docs, key=_order)
        db = sqlite3.connect(":memory:", check_same_thread=False)
        # contentless: the text is indexed, not kept (what a hit shows is in ``docs``)
        db.execute("CREATE VIRTUAL TABLE search USING fts5(name, body, fold, context, "
                   "content = '', tokenize = 'unicode61 remove_diacritics 2', "
                   "prefix = '2 3')")
        db.executemany("INSERT INTO search(rowid, name, body, fold, context) "
                       "VALUES (?, ?, ?, ?, ?)", (_row(rowid, doc) for rowid, doc
                                                  in enumerate(docs, 1)))
        db.execute("INSERT INTO search(search) VALUES ('optimize')")
        db.execute("CREATE TABLE docs(rowid INTEGER PRIMARY KEY, kind TEXT, shown BLOB)")
        db.executemany("INSERT INTO docs VALUES (?, ?, ?)", (
            (rowid, doc.kind, zlib.compress(json.dumps([getattr(doc, f) for f in _SHOWN])
                                            .encode(), 1))
            for rowid, doc in enumerate(docs, 1)))
        db.execute("CREATE TABLE names(iri TEXT PRIMARY KEY, labels TEXT) WITHOUT ROWID")
        pointed = {iri for doc in docs for iri in doc.points_to()}
        db.executemany("INSERT INTO names VALUES (?, ?)", (
            (iri, json.dumps(labels)) for iri, labels in names.items() if iri in pointed))
        db.commit()
        return cls(db, build_seconds)

    def image(self) -> bytes:
        """The whole index as bytes (SQLite's serialized database)."""
        with self._lock:
            return self._db.serialize()

    @classmethod
    def from_image(cls, image: bytes, build_seconds: float = 0.0) -> SearchIndex:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.deserialize(image)
        return cls(db, build_seconds)

    # --- searching --------------------------------------------------------------------

    def search(self, text: str, lang: str, *, kind: str | None = None, limit: int = 5,
               offset: int = 0) -> Results:
        """The hits for ``text``: with ``kind``, that kind's hits ``offset`` … ``offset +
        limit``; without, the best ``limit`` of every kind. Labels in ``lang``. Raises
        :class:`SearchQueryError` for a text that cannot be searched, ValueError for an
        unknown kind."""
        started = time.perf_counter()
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
        terms = parse_query(text)
        expression = match_expression(terms)
        with self._lock:  # two statements: every match, then bm25 over the windows
            matches = sorted(r for (r,) in self._db.execute(
                "SELECT rowid FROM search WHERE search MATCH ?", (expression,)))
            by_kind = self._by_kind(matches)
            wanted = [kind] if kind else [k for k in KINDS if by_kind.get(k)]
            ranked = self._ranked(expression, {k: by_kind.get(k, []) for k in wanted},
                                  limit, offset)
            shown = self._shown([rowid for name in wanted for rowid, _ in ranked[name]])
            names = self._names({iri for doc in shown.values() for iri in doc.points_to()})
        forms = match_forms(terms)
        groups = [Group(name, len(by_kind.get(name, [])),
                        [_hit(shown[rowid], score, forms, lang, names)
                         for rowid, score in ranked[name]])
                  for name in wanted]
        counts = {k: len(by_kind[k]) for k in KINDS if by_kind.get(k)}
        return Results(text, terms, sum(counts.values()), counts, groups,
                       time.perf_counter() - started)

    def _by_kind(self, matches: list[int]) -> dict[str, list[int]]:
        """Sorted rowids split into kinds (a kind is a range of rowids)."""
        found: dict[str, list[int]] = {}
        for name in self._kinds:
            low, high = self.ranges[name]
            first, last = bisect_left(matches, low), bisect_right(matches, high)
            if last > first:
                found[name] = matches[first:last]
        return found

    def _ranked(self, expression: str, matches: dict[str, list[int]], limit: int,
                offset: int) -> dict[str, list[tuple[int, float | None]]]:
        """Hits ``offset`` … ``offset + limit`` of each kind: bm25 over a kind's first WINDOW
        matches (one statement for every kind), then the rest in the index's order (no
        score)."""
        ranked: dict[str, list[tuple[int, float | None]]] = {k: [] for k in matches}
        windows = {k: (rows[0], rows[min(len(rows), WINDOW) - 1]) for k, rows in matches.items()
                   if rows and offset < min(len(rows), WINDOW) and limit > 0}
        if windows:
            kinds = list(windows)
            case = " ".join(f"WHEN rowid <= {self.ranges[k][1]} THEN {n}"
                            for n, k in enumerate(kinds))
            ranges = " OR ".join("rowid BETWEEN ? AND ?" for _ in kinds)
            # only constants and placeholders go into the statement
            statement = (
                "SELECT k, rowid, score FROM (SELECT k, rowid, score, row_number() OVER "  # noqa: S608
                "(PARTITION BY k ORDER BY score, rowid) AS n FROM (SELECT rowid, "
                f"CASE {case} END AS k, bm25(search, ?, ?, ?, ?) AS score FROM search "
                f"WHERE search MATCH ? AND ({ranges}))) WHERE n > ? AND n <= ? ORDER BY k, n")
            bounds = [b for k in kinds for b in windows[k]]
            for k, rowid, score in self._db.execute(
                    statement, (*WEIGHTS, expression, *bounds, offset, offset + limit)):
                ranked[kinds[k]].append((rowid, round(-score, 4)))
        for name, rows in matches.items():  # past the window: the index's order
            missing = limit - len(ranked[name])
            if missing > 0 and len(rows) > WINDOW:
                start = max(offset, WINDOW)
                ranked[name] += [(r, None) for r in rows[start:start + missing]]
        return ranked

    def _shown(self, rowids: list[int]) -> dict[int, Doc]:
        """What the hits ``rowids`` show (the lock held)."""
        return {rowid: Doc(kind, **dict(zip(_SHOWN, json.loads(zlib.decompress(shown)),
                                             strict=True)))
                for rowid, kind, shown in self._rows_in(
                    "SELECT rowid, kind, shown FROM docs WHERE rowid", rowids)}

    def _names(self, iris: set[str]) -> dict[str, dict[str, str]]:
        """The labels (language → label) of ``iris`` that have any (the lock held)."""
        return {iri: json.loads(labels_json) for iri, labels_json in self._rows_in(
            "SELECT iri, labels FROM names WHERE iri", sorted(iris))}

    def _rows_in(self, select: str, keys: list[Any]) -> Iterator[tuple[Any, ...]]:
        """The rows of ``select IN (keys)``, 500 keys a statement (only placeholders go into
        it)."""
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            yield from self._db.execute(f"{select} IN ({', '.join('?' * len(chunk))})", chunk)


def _hit(doc: Doc, score: float | None, forms: tuple[tuple[str, bool], ...], lang: str,
         names: dict[str, dict[str, str]]) -> Hit:
    label = pick(doc.labels, lang) or doc.iri
    ordered = sorted(zip(doc.body_lang, doc.body, strict=True),
                     key=lambda t: (t[0] != lang, t[0] not in LANGUAGES))
    pieces: list[tuple[str, bool]] = []
    for _, text in ordered:  # the first text that matches, the reader's language first
        pieces = excerpt(text, forms, whole=doc.kind == "quote")
        if pieces:
            break
    if not pieces:  # the match is in the name or the context: describe it
        fallback = pick(doc.texts, lang) or ""
        pieces = [(fallback if len(fallback) <= FALLBACK_CHARS else
                   fallback[:FALLBACK_CHARS].rsplit(" ", 1)[0] + " …", False)]

    def name(value: str) -> str:
        return (pick(names.get(value, {}), lang) or "") if value else ""

    def link(value: str) -> Link | None:
        return Link(value, name(value) or value) if value else None

    type_label = pick(doc.designation, lang) or name(doc.type)
    return Hit(doc.kind, doc.iri, label, highlight(label, forms), [p for p in pieces if p[0]],
               type_label, link(doc.city), link(doc.strategy), link(doc.source), score)


def _order(doc: Doc) -> tuple[int, int, str]:
    own = sum(map(len, doc.name)) or sum(map(len, doc.body))
    return KINDS.index(doc.kind), own, doc.iri


def _row(rowid: int, doc: Doc) -> tuple[int, str, str, str, str]:
    name = " ; ".join(doc.name)
    body = " — ".join(doc.body)
    context = " ; ".join(doc.context)
    return (rowid, name + " " + " ".join(folded_words(name)), body,
            " ".join(folded_words(body)), context + " " + " ".join(folded_words(context)))


def match_forms(terms: Iterable[Term]) -> tuple[tuple[str, bool], ...]:
    """What :func:`highlight` looks for: each token folded, and whether it is a prefix."""
    wanted: dict[tuple[str, bool], None] = {}
    for term in terms:
        for variant in term.variants():
            for number, token in enumerate(variant):
                wanted[(fold(token), term.prefix and number == len(variant) - 1)] = None
    return tuple(wanted)


def highlight(text: str, forms: tuple[tuple[str, bool], ...]) -> list[tuple[str, bool]]:
    """``text`` in pieces, the words the query's ``forms`` match marked (as the index
    matches them: case and accents aside, umlauts also written out, prefixes)."""
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _WORD.finditer(text):
        word = match.group(0)
        if _matches(word, forms):
            if match.start() > last:
                pieces.append((text[last:match.start()], False))
            pieces.append((word, True))
            last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def _matches(word: str, forms: tuple[tuple[str, bool], ...]) -> bool:
    plain, written = fold(word), fold(transliterate(word))
    return any(f == w or (prefix and f.startswith(w)) for f in (plain, written)
               for w, prefix in forms)


def excerpt(text: str, forms: tuple[tuple[str, bool], ...], *, whole: bool = False,
            words: int = SNIPPET_WORDS) -> list[tuple[str, bool]]:
    """About ``words`` words of ``text`` from shortly before its first match, matches
    marked (all of it when ``whole``); [] when no word of ``text`` matches."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    first = next((n for n, (a, b) in enumerate(spans) if _matches(text[a:b], forms)), None)
    if first is None:
        return []
    if whole or len(spans) <= words:
        return highlight(text, forms)
    start = max(0, min(first - 6, len(spans) - words))
    end = start + words
    begin = spans[start][0] if start else 0
    finish = spans[end - 1][1] if end < len(spans) else len(text)
    pieces = highlight(text[begin:finish], forms)
    return ([("… ", False)] if start else []) + pieces + \
        ([(" …", False)] if end < len(spans) else [])


# --- reading the store ------------------------------------------------------------------------


def _values(items: Iterable[str]) -> str:
    return " ".join(f"<{i}>" for i in items)


def _literal(term: object) -> tuple[str, str] | None:
    if isinstance(term, ox.Literal):
        return term.value, term.language or ""
    return None


def _keep_least(values: dict[str, str], lang: str, value: str) -> None:
    """One value per language, the same whatever order the store answers in."""
    if lang not in values or value < values[lang]:
        values[lang] = value


def _collect(store: Store) -> tuple[list[Doc], dict[str, dict[str, str]]]:
    kind_of_class = {c: k for k in KIND_CLASSES for c in KIND_CLASSES[k]}
    # 1. the resources of each kind and their classes
    kinds: dict[str, str] = {}
    classes: dict[str, set[str]] = defaultdict(set)
    for row in select_in_parts(store, "?x ?c", f"""VALUES ?c {{ {_values(kind_of_class)} }}
            ?x a ?c FILTER{is_named("?x")}""", key="x"):
        x, c = row["x"].value, row["c"].value
        classes[x].add(c)
        kind = kind_of_class[c]
        if x not in kinds or KINDS.index(kind) < KINDS.index(kinds[x]):
            kinds[x] = kind
    docs = {x: Doc(kind, x) for x, kind in kinds.items()}
    # 2. their names and texts
    label_values: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    props = (*NAME_PROPERTIES, *TEXT_PROPERTIES, DS + "localDesignation")
    for row in select_in_parts(store, "?x ?p ?l", f"""VALUES ?p {{ {_values(props)} }}
            ?x ?p ?l FILTER({is_named("?x")} && isLiteral(?l))""", key="x"):
        doc = docs.get(row["x"].value)
        found = _literal(row["l"])
        if doc is None or found is None:
            continue
        value, lang = normalise(found[0]), found[1]
        prop = row["p"].value
        if prop in LABEL_PROPERTIES:
            _keep_least(label_values[doc.iri][prop], lang, value)
        if prop == DS + "localDesignation":
            _keep_least(doc.designation, lang, value)
            doc.context.append(value)
        elif prop in TEXT_PROPERTIES:
            doc.body.append(value)
            doc.body_lang.append(lang)
            if prop == DCT + "description" or prop == SKOS + "definition":
                _keep_least(doc.texts, lang, value)
        else:
            doc.name.append(value)
    for x, by_prop in label_values.items():
        for prop in LABEL_PROPERTIES:
            if prop in by_prop:
                docs[x].labels = dict(by_prop[prop])
                break
    for doc in docs.values():  # a stable order of the texts (the store's order is not)
        doc.name.sort()
        pairs = sorted(zip(doc.body, doc.body_lang, strict=True))
        doc.body, doc.body_lang = [t for t, _ in pairs], [lang for _, lang in pairs]
    # 3. what each is (a concept or a class)
    types: dict[str, str] = {}  # the least, as IRIs sort
    for row in select_in_parts(store, "?x ?t", f"""VALUES ?p {{ {_values(TYPE_PROPERTIES)} }}
            ?x ?p ?t FILTER({is_named("?x")} && {is_named("?t")})""", key="x"):
        if not isinstance(row["t"], ox.NamedNode):  # a triple term
            continue
        x, t = row["x"].value, row["t"].value
        types[x] = min(types.get(x, t), t)
    general = {DS + "StrategyElement", ORG + "Organization"}
    for x, doc in docs.items():
        specific = sorted(c for c in classes[x] if kind_of_class.get(c) == doc.kind)
        narrow = [c for c in specific if c not in general] or specific
        doc.type = types.get(x) or (narrow[0] if doc.kind in ("element", "goal", "body")
                                    else "")
    # 4. what each belongs to: a strategy, a municipality
    parents: dict[str, list[str]] = defaultdict(list)
    up = _values(p for p, down in UP_LINKS if not down)
    down = _values(p for p, down in UP_LINKS if down)
    for row in select_in_parts(store, "?c ?o", f"""
            {{ VALUES ?p {{ {up} }} ?c ?p ?o }} UNION {{ VALUES ?p {{ {down} }} ?o ?p ?c }}
            FILTER({is_named("?c")} && {is_named("?o")})""", key="c"):
        if not isinstance(row["c"], ox.NamedNode) or not isinstance(row["o"], ox.NamedNode):
            continue  # a triple term
        parents[row["c"].value].append(row["o"].value)
    for values in parents.values():
        values.sort()
    for doc in docs.values():
        if doc.kind != "theme":
            doc.strategy, doc.city = _owners(doc.iri, kinds, parents)
        if doc.kind in ("municipality", "strategy"):  # not itself
            doc.city, doc.strategy = ("" if doc.kind == "municipality" else doc.city), ""
    # 5. quotes
    quotes: list[Doc] = []
    seen: set[tuple[str, str]] = set()
    for row in select_in_parts(store, "?h ?q ?src", f"""?h ds:evidence ?e . ?e ds:quote ?q
            OPTIONAL {{ ?e dct:source ?src FILTER{is_named("?src")} }}
            FILTER{is_named("?h")}""", key="h"):
        holder, found = row["h"].value, _literal(row["q"])
        if found is None or (holder, found[0]) in seen:
            continue
        seen.add((holder, found[0]))
        owner = docs.get(holder)
        strategy, city = (owner.strategy, owner.city) if owner else \
            _owners(holder, kinds, parents)
        if owner and owner.kind == "strategy":
            strategy = holder
        if owner and owner.kind == "municipality":
            city = holder
        quote = Doc("quote", holder, texts={found[1]: normalise(found[0])}, city=city,
                    strategy=strategy, source=row["src"].value
                    if isinstance(row.get("src"), ox.NamedNode) else "")
        quote.body.append(normalise(found[0]))
        quote.body_lang.append(found[1])
        quotes.append(quote)
    quotes.sort(key=lambda q: (q.iri, q.body[0]))
    # 6. names of what hits point to: cities, strategies, holders of quotes, sources, types
    names: dict[str, dict[str, str]] = {x: d.labels for x, d in docs.items() if d.labels}
    wanted = {q.source for q in quotes} | {q.iri for q in quotes if q.iri not in names} | \
        {d.type for d in docs.values() if d.type}
    wanted.discard("")
    for lang in LANGUAGES:
        for value, label in labels(store, wanted, lang).items():
            names.setdefault(value, {})[lang] = label
    for quote in quotes:
        quote.labels = names.get(quote.iri, {})
    # 7. the context of every row: the names of its city, its strategy (and a quote's holder)
    for doc in [*docs.values(), *quotes]:
        related = {doc.city, doc.strategy} - {"", doc.iri}
        if doc.kind == "quote":
            related.add(doc.iri)
        for value in sorted(related):
            doc.context.extend(sorted(set(names.get(value, {}).values())))
    ordered = sorted(docs.values(), key=lambda d: (KINDS.index(d.kind), d.iri))
    return [*ordered, *quotes], names


def _owners(start: str, kinds: dict[str, str], parents: dict[str, list[str]]
            ) -> tuple[str, str]:
    """The nearest strategy and municipality above ``start`` (breadth first); a strategy's
    municipality is the one that owns it."""
    strategy = city = ""
    seen = {start}
    level = [start]
    for _ in range(16):
        following: list[str] = []
        for node in level:
            kind = kinds.get(node)
            if kind == "strategy" and not strategy:
                strategy = node
            if kind == "municipality" and not city:
                city = node
            for parent in parents.get(node, ()):
                if parent not in seen:
                    seen.add(parent)
                    following.append(parent)
        if (strategy and city) or not following:
            break
        level = following
    if strategy and strategy != start:  # the municipality that owns the strategy
        city = _owners(strategy, kinds, parents)[1] or city
    return strategy, city


# --- one index per store ----------------------------------------------------------------------

#: Each store's index, once built (a store does not change while it is served).
_INDEXES: weakref.WeakKeyDictionary[Store, SearchIndex] = weakref.WeakKeyDictionary()
_BUILDING = threading.Lock()


def _index_image(store: Store) -> tuple[bytes, float]:
    """The store's index as one SQLite image, and how long building it took (in a child)."""
    index = SearchIndex.build(store)
    return index.image(), index.build_seconds


#: How long the child that builds an index may take (at 1M triples it took 10–13 s on the
#: benchmark machine, at 10M in process 162 s).
BUILD_TIMEOUT_S = 3600.0


class IndexBuild:
    """The index of a store, built without holding up the service; searches wait for it.

    The index is built in a child process (:meth:`kg.store.GraphReading.start_apart`,
    started when this is made; over a remote store with the network allowed, and a client
    of its own), which hands it back as one SQLite image: what reading the store and
    building leave behind goes with the child (at 1M triples building added 367 MB to the
    process that built it, the image is 49 MB; ``docs/performance.md``). A thread of this
    process waits for it.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._child: Apart[tuple[bytes, float]] | None = None
        self._index = _INDEXES.get(store)
        if self._index is not None:
            self._done.set()
            return
        try:
            self._child = store.start_apart(_index_image, "the search index", BUILD_TIMEOUT_S)
        except KGError as err:  # no child could be started: the next search tries again
            self.error = err
            self._done.set()
            return
        threading.Thread(target=self._run, name="search-index", daemon=True).start()

    def _run(self) -> None:
        assert self._child is not None
        try:
            image, seconds = self._child.value()
            index = SearchIndex.from_image(image, seconds)
            with _BUILDING:
                self._index = _INDEXES.setdefault(self.store, index)
        except Exception as err:  # given to the searches that wait for the index
            self.error = err
        finally:
            self._done.set()

    def close(self) -> None:
        """Stop the child that builds the index, if it still runs."""
        if self._child is not None and not self._done.is_set():
            self._child.stop()

    @property
    def failed(self) -> bool:
        return self._done.is_set() and self.error is not None

    def wait(self, timeout_s: float) -> SearchIndex | None:
        """The index once built; None if it is not built within ``timeout_s``. A failed
        build raises its error."""
        self._done.wait(timeout_s)
        if self.error is not None:
            raise self.error
        return self._index
