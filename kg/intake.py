"""From what people fill in to RDF, and back: the strategy form and the spreadsheet templates.

One model, :class:`StrategyForm` (a strategy, its adopting decision, its source with the
source's words, and its top-level elements in order), is filled from

* the web form ``/validate/new`` (:func:`form_from_fields`),
* a CSV or XLSX file of the template, one row per element (:func:`read_table`, run in a
  confined worker: a spreadsheet is submitted bytes), or
* an RDF graph that the form made (:func:`form_from_graph`, to edit a downloaded file),

and turned into one RDF graph by :func:`graph_from_form`, with IRIs as ``docs/model.md``
asks (``strategy/{city}-{short-name}-{year}``, ``element/{strategy}-{n}``, …) and evidence
nodes that carry the given quote for the status, dates, body and list of elements. That
graph is validated like any other submission.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, SKOS
from rdflib.term import Node

from kg.errors import KGError
from kg.namespaces import DS, ELI, ID, ORG, SCHEMA, VOCAB, bind_prefixes

FORM_GENERATOR = "digistrat form (/validate/new)"
LANGS = ("de", "en", "fr", "it", "rm")
#: Element levels with a class of their own; the others are plain ds:StrategyElement.
LEVEL_CLASSES = {"focus-area": DS.FocusArea, "action-field": DS.ActionField,
                 "strategic-thrust": DS.StrategicThrust, "programme": DS.Programme}
#: Statuses that a decision adopting the strategy backs; "taken-note-of" is backed by an
#: acknowledgement that concerns it.
ADOPTING = ("adopted", "in-force", "superseded", "expired")
CONTEXT = {"@base": str(ID), "ds": str(DS), "dct": str(DCTERMS), "dcat": str(DCAT),
           "eli": str(ELI), "org": str(ORG), "schema": str(SCHEMA), "skos": str(SKOS),
           "xsd": str(XSD), "theme": f"{VOCAB}theme/", "stype": f"{VOCAB}strategy-type/",
           "level": f"{VOCAB}element-level/", "lifecycle": f"{VOCAB}lifecycle-status/",
           "dtype": f"{VOCAB}decision-type/", "bodyfn": f"{VOCAB}body-function/"}
MAX_ELEMENTS = 200


class IntakeError(KGError):
    """What was filled in cannot become RDF (a named field or row is missing or wrong)."""

    def __init__(self, template: str, *, field_name: str | None = None,
                 row: int | None = None, **params: Any) -> None:
        self.template = template  # English, a msgid of kg/locale
        self.params = params
        self.message = template.format(**params)
        super().__init__(self.message)
        self.field_name = field_name
        self.row = row

    def localized(self, lang: str) -> str:
        """The message in ``lang``."""
        from kg.i18n import gettext

        return gettext(lang, self.template).format(**self.params)


# --- the model ------------------------------------------------------------------------------


@dataclass
class ElementRow:
    label: str = ""
    level: str = ""  # element-level concept (local name)
    designation: str = ""  # the city's own word: Handlungsfeld, Schwerpunkt …
    theme: str = ""  # theme concept (local name)

    def empty(self) -> bool:
        return not (self.label or self.designation)


@dataclass
class StrategyForm:
    """Everything the form asks, as text (empty = not known)."""

    municipality: str = ""  # IRI of a municipality in the graph
    title: str = ""
    language: str = "de"  # of the title, labels and descriptions
    short_name: str = ""  # the {short-name}-{year} part of the strategy's IRI
    description: str = ""
    strategy_type: str = ""
    status: str = ""
    decision_date: str = ""  # yyyy-mm-dd
    body: str = ""  # IRI of a governing body in the graph …
    new_body_name: str = ""  # … or one to describe here
    new_body_function: str = ""
    start_year: str = ""
    end_year: str = ""
    issued: str = ""  # publication date, yyyy-mm-dd
    source_url: str = ""
    source_title: str = ""
    source_publisher: str = ""
    source_date: str = ""
    quote: str = ""
    quote_language: str = "de"
    elements_quote: str = ""  # the source's words listing the elements, if other
    document_url: str = ""
    elements: list[ElementRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StrategyForm:
        names = {f.name for f in fields(cls)} - {"elements"}
        form = cls(**{k: str(v or "") for k, v in data.items() if k in names})
        form.elements = [ElementRow(**{k: str(v or "") for k, v in row.items()
                                       if k in ("label", "level", "designation", "theme")})
                         for row in data.get("elements") or []]
        return form


STRATEGY_FIELDS = [f.name for f in fields(StrategyForm) if f.name != "elements"]
ELEMENT_FIELDS = ["label", "level", "designation", "theme"]


# --- slugs and IRIs ------------------------------------------------------------------------

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe",
                           "Ü": "ue", "æ": "ae", "ø": "oe", "å": "aa", "œ": "oe"})
_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_YEAR = re.compile(r"^\d{4}$")


#: Words left out of a strategy's short name (the city's name is left out too).
_FILLER = {"stadt", "der", "die", "das", "des", "dem", "den", "und", "fuer", "von", "city",
           "of", "the", "and", "for", "gemeinde", "landeshauptstadt", "kanton", "canton",
           "ville", "de", "la", "le", "du", "citta", "di"}


def slugify(text: str, max_words: int = 6) -> str:
    """Lower-case ASCII words joined by ``-``; umlauts transliterated (``ü`` → ``ue``)."""
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    words = re.findall(r"[a-z0-9]+", text)
    return "-".join(words[:max_words])


@dataclass
class Iris:
    city: str
    strategy: URIRef
    decision: URIRef
    source: URIRef
    document: URIRef
    body: URIRef | None

    def element(self, n: int) -> URIRef:
        return URIRef(f"{self.strategy.replace(str(ID) + 'strategy/', str(ID) + 'element/')}"
                      f"-{n}")


def _year(form: StrategyForm) -> str:
    for value in (form.decision_date, form.issued, form.start_year):
        if value[:4].isdigit():
            return value[:4]
    return ""


def strategy_slug(form: StrategyForm, city: str) -> str:
    """``{city}-{short-name}-{year}``: the short name as given, else the title's first words
    and the year of the decision (or publication, or start) unless the title has one."""
    if form.short_name.strip():
        short = slugify(form.short_name, 12)
        return short if short.startswith(city + "-") else f"{city}-{short}"
    words = [w for w in slugify(form.title, 20).split("-")
             if w and w not in _FILLER and w not in city.split("-")]
    short = "-".join(words[:5]) or "strategie"
    year = _year(form)
    if year and not re.search(r"(^|-)\d{4}($|-)", short):
        short = f"{short}-{year}"
    return f"{city}-{short}"


def iris_for(form: StrategyForm, city: str) -> Iris:
    slug = strategy_slug(form, city)
    short = slug[len(city) + 1:] if slug.startswith(city + "-") else slug
    if _DATE.match(form.decision_date):
        decision = f"{city}-{form.decision_date}"
    elif _year(form):
        decision = f"{city}-{_year(form)}-{re.sub(r'-?[0-9]{4}$', '', short) or 'beschluss'}"
    else:
        decision = f"{slug}-beschluss"
    publisher = slugify(form.source_publisher, 4) or "quelle"
    date = form.source_date if _DATE.match(form.source_date) else ""
    source = "-".join(p for p in (publisher, date, short) if p)
    body: URIRef | None = URIRef(form.body) if form.body else None
    if not form.body and form.new_body_name.strip():
        body = ID[f"body/{city}-{slugify(form.new_body_name, 5)}"]
    return Iris(city, ID[f"strategy/{slug}"], ID[f"decision/{decision}"],
                ID[f"source/{source}"], ID[f"document/{slug}"], body)


# --- form → graph --------------------------------------------------------------------------


def _check(form: StrategyForm, city_slugs: dict[str, str]) -> str:
    if not form.municipality:
        raise IntakeError("Choose the municipality whose strategy this is.",
                          field_name="municipality")
    if form.municipality not in city_slugs:
        raise IntakeError("The municipality is not in the graph; choose one from the list "
                          "(a new municipality is added to data/ first).",
                          field_name="municipality")
    if not form.title.strip():
        raise IntakeError("Give the strategy's title.", field_name="title")
    for name in ("decision_date", "issued", "source_date"):
        value = getattr(form, name).strip()
        if value and not _DATE.match(value):
            raise IntakeError("A date is written yyyy-mm-dd, e.g. 2024-03-21.",
                              field_name=name)
    for name in ("start_year", "end_year"):
        value = getattr(form, name).strip()
        if value and not _YEAR.match(value):
            raise IntakeError("A year is written with four digits, e.g. 2030.",
                              field_name=name)
    if len(form.elements) > MAX_ELEMENTS:
        raise IntakeError("At most {count} elements can be entered here.",
                          field_name="elements", count=MAX_ELEMENTS)
    return city_slugs[form.municipality]


def _iri_or_none(value: str) -> URIRef | None:
    value = value.strip()
    return URIRef(value) if re.match(r"^https?://[^\s<>\"{}|\\^`]+$", value) else None


def graph_from_form(form: StrategyForm, city_slugs: dict[str, str]) -> Graph:
    """The RDF of a filled-in form: strategy, elements, decision, body, document, source and
    evidence. Raises IntakeError for what no IRI can be made without (municipality, title)
    and for malformed dates; everything else the shapes judge."""
    city = _check(form, city_slugs)
    iris = iris_for(form, city)
    lang = form.language if form.language in LANGS else "de"
    quote_lang = form.quote_language if form.quote_language in LANGS else lang
    g = Graph()
    bind_prefixes(g.namespace_manager)
    for prefix, namespace in CONTEXT.items():
        if not prefix.startswith("@"):
            g.bind(prefix, namespace, override=True, replace=True)
    s, source = iris.strategy, iris.source

    def text(value: str, language: str = lang) -> Literal:
        return Literal(" ".join(value.split()), lang=language)

    def concept(scheme: str, name: str) -> URIRef:
        return VOCAB[f"{scheme}/{name}"]

    def evidence(subject: URIRef, supports: Sequence[URIRef], quote: str) -> None:
        if not supports or not quote.strip():
            return
        node = BNode()
        g.add((subject, DS.evidence, node))
        g.add((node, RDF.type, DS.Evidence))
        for prop in supports:
            g.add((node, DS.supports, prop))
        g.add((node, DCTERMS.source, source))
        g.add((node, DS.quote, text(quote, quote_lang)))

    g.add((s, RDF.type, DS.Strategy))
    g.add((s, DCTERMS.title, text(form.title)))
    if form.description.strip():
        g.add((s, DCTERMS.description, text(form.description)))
    if form.strategy_type:
        g.add((s, DCTERMS.type, concept("strategy-type", form.strategy_type)))
    g.add((s, DS.ownedBy, URIRef(form.municipality)))
    g.add((s, DCTERMS.source, source))
    supported: list[URIRef] = []
    if form.status:
        g.add((s, DS.lifecycleStatus, concept("lifecycle-status", form.status)))
        supported.append(DS.lifecycleStatus)
    if form.start_year or form.end_year:
        horizon = BNode()
        g.add((s, DS.timeHorizon, horizon))
        g.add((horizon, RDF.type, DCTERMS.PeriodOfTime))
        if form.start_year:
            g.add((horizon, DCAT.startDate, Literal(form.start_year, datatype=XSD.gYear)))
        if form.end_year:
            g.add((horizon, DCAT.endDate, Literal(form.end_year, datatype=XSD.gYear)))
        supported.append(DS.timeHorizon)
    if form.issued:
        g.add((s, DCTERMS.issued, Literal(form.issued, datatype=XSD.date)))
        supported.append(DCTERMS.issued)

    elements = [row for row in form.elements if not row.empty()]
    themes: list[str] = []
    for n, row in enumerate(elements, start=1):
        element = iris.element(n)
        g.add((s, DS.hasElement, element))
        g.add((element, RDF.type, LEVEL_CLASSES.get(row.level, DS.StrategyElement)))
        if row.label.strip():
            g.add((element, SKOS.prefLabel, text(row.label)))
        g.add((element, DS.isElementOf, s))
        g.add((element, DS.position, Literal(n)))
        if row.level:
            g.add((element, DS.elementLevel, concept("element-level", row.level)))
        if row.designation.strip():
            g.add((element, DS.localDesignation, text(row.designation)))
        if row.theme:
            g.add((element, DCTERMS.subject, concept("theme", row.theme)))
            if row.theme not in themes:
                themes.append(row.theme)
        g.add((element, DCTERMS.source, source))
    for theme in themes:
        g.add((s, DCTERMS.subject, concept("theme", theme)))
    if elements and form.elements_quote.strip() and \
            form.elements_quote.strip() != form.quote.strip():
        evidence(s, supported, form.quote)
        evidence(s, [DS.hasElement], form.elements_quote)
    else:
        evidence(s, [*supported, *([DS.hasElement] if elements else [])], form.quote)

    # the decision: when the status needs one, or a date or body of one is given
    acknowledged = form.status == "taken-note-of"
    if form.status in ADOPTING or acknowledged or form.decision_date or iris.body:
        d = iris.decision
        g.add((d, RDF.type, DS.Decision))
        g.add((d, SKOS.prefLabel, text(("Kenntnisnahme: " if acknowledged else
                                        "Beschluss: ") + form.title if lang == "de" else
                                       ("Acknowledgement: " if acknowledged else
                                        "Decision: ") + form.title)))
        g.add((d, DS.decisionType, concept("decision-type",
                                           "acknowledgement" if acknowledged else "adoption")))
        link = DS.concerns if acknowledged else DS.adopts
        g.add((d, link, s))
        if not acknowledged:
            g.add((s, DS.adoptedIn, d))
        backed = [link]
        if form.decision_date:
            g.add((d, ELI.date_document, Literal(form.decision_date, datatype=XSD.date)))
            backed.append(ELI.date_document)
        if iris.body is not None:
            g.add((d, ELI.passed_by, iris.body))
            backed.append(ELI.passed_by)
        g.add((d, DCTERMS.source, source))
        evidence(d, backed, form.quote)
    if iris.body is not None and not form.body:
        b = iris.body
        g.add((b, RDF.type, DS.GoverningBody))
        g.add((b, SKOS.prefLabel, text(form.new_body_name)))
        if form.new_body_function:
            g.add((b, DS.bodyFunction, concept("body-function", form.new_body_function)))
        g.add((b, ORG.subOrganizationOf, URIRef(form.municipality)))
        g.add((b, DCTERMS.source, source))

    document_url = _iri_or_none(form.document_url)
    if document_url is not None:
        g.add((s, DS.hasDocument, iris.document))
        g.add((iris.document, RDF.type, DS.StrategyDocument))
        g.add((iris.document, DCTERMS.title, text(form.title)))
        g.add((iris.document, SCHEMA.url, document_url))
        g.add((iris.document, DCTERMS.source, source))

    g.add((source, RDF.type, DS.SourceDocument))
    if form.source_title.strip():
        g.add((source, DCTERMS.title, text(form.source_title)))
    source_url = _iri_or_none(form.source_url)
    if source_url is not None:
        g.add((source, SCHEMA.url, source_url))
    if form.source_publisher.strip():
        g.add((source, DCTERMS.publisher, Literal(" ".join(form.source_publisher.split()))))
    if form.source_date:
        g.add((source, DCTERMS.issued, Literal(form.source_date, datatype=XSD.date)))
    return g


# --- graph → text ----------------------------------------------------------------------------


def to_turtle(graph: Graph) -> str:
    """Turtle with ``@base`` at the instance namespace (``<strategy/…>``) and the prefixes."""
    body = _relative(graph.serialize(format="turtle", base=str(ID)), str(ID))
    header = ("# Made with the " + FORM_GENERATOR + ". Open it there again to edit it, "
              "or check it at /validate.\n"
              "# Erstellt mit dem Formular unter /validate/new; dort wieder öffnen, um es zu "
              "bearbeiten.\n")
    return header + body


def _relative(text: str, base: str) -> str:
    """IRIs under ``base`` written relative to it (``<strategy/…>``): only IRI tokens are
    touched, never text in literals or comments."""
    from kg.positions import _tokens

    parts: list[str] = []
    done = 0
    for token in _tokens(text):
        if token.kind != "iri" or not token.text.startswith("<" + base):
            continue
        rest = token.text[len(base) + 1:-1]
        if not rest or ":" in rest.split("/", 1)[0] or rest.startswith(("/", "#", "?")):
            continue
        parts += [text[done:token.offset], f"<{rest}>"]
        done = token.offset + len(token.text)
    parts.append(text[done:])
    return "".join(parts)


def to_jsonld(graph: Graph) -> str:
    return graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True, indent=2)


# --- graph → form (to edit a file the form made) ---------------------------------------------


def _local(node: Node | None, scheme: str) -> str:
    prefix = f"{VOCAB}{scheme}/"
    return str(node)[len(prefix):] if node is not None and str(node).startswith(prefix) else ""


def _text(graph: Graph, subject: Node, prop: URIRef) -> tuple[str, str]:
    values = [o for o in graph.objects(subject, prop) if isinstance(o, Literal)]
    values.sort(key=lambda v: (v.language != "de", str(v)))
    if not values:
        return "", ""
    return str(values[0]), values[0].language or ""


def form_from_graph(graph: Graph, city_slugs: dict[str, str],
                    known: Iterable[str] = ()) -> StrategyForm:
    """The form that describes the (first) strategy of ``graph``; ``known`` are the IRIs
    of bodies in the graph (others described in ``graph`` become a new body)."""
    strategies = sorted(graph.subjects(RDF.type, DS.Strategy), key=str)
    if not strategies:
        raise IntakeError("The file describes no strategy (ds:Strategy), so the form cannot "
                          "show it.")
    s = strategies[0]
    form = StrategyForm()
    form.title, form.language = _text(graph, s, DCTERMS.title)
    form.language = form.language or "de"
    form.description, _ = _text(graph, s, DCTERMS.description)
    form.municipality = str(graph.value(s, DS.ownedBy) or "")
    city = city_slugs.get(form.municipality, "")
    slug = str(s).rsplit("/", 1)[-1]
    form.short_name = slug[len(city) + 1:] if city and slug.startswith(city + "-") else slug
    form.strategy_type = _local(graph.value(s, DCTERMS.type), "strategy-type")
    form.status = _local(graph.value(s, DS.lifecycleStatus), "lifecycle-status")
    horizon = graph.value(s, DS.timeHorizon)
    if horizon is not None:
        form.start_year = str(graph.value(horizon, DCAT.startDate) or "")
        form.end_year = str(graph.value(horizon, DCAT.endDate) or "")
    form.issued = str(graph.value(s, DCTERMS.issued) or "")
    decision = graph.value(s, DS.adoptedIn) or graph.value(None, DS.concerns, s) or \
        graph.value(None, DS.adopts, s)
    known_bodies = set(known)
    if decision is not None:
        form.decision_date = str(graph.value(decision, ELI.date_document) or "")
        body = graph.value(decision, ELI.passed_by)
        if body is not None:
            if (body, RDF.type, DS.GoverningBody) in graph and str(body) not in known_bodies:
                form.new_body_name, _ = _text(graph, body, SKOS.prefLabel)
                form.new_body_function = _local(graph.value(body, DS.bodyFunction),
                                                "body-function")
            else:
                form.body = str(body)
    source = graph.value(s, DCTERMS.source)
    if source is not None:
        form.source_url = str(graph.value(source, SCHEMA.url) or "")
        form.source_title, _ = _text(graph, source, DCTERMS.title)
        form.source_publisher = str(graph.value(source, DCTERMS.publisher) or "")
        form.source_date = str(graph.value(source, DCTERMS.issued) or "")
    quotes: list[tuple[set[Node], str, str]] = []
    for node in graph.objects(s, DS.evidence):
        quote, quote_lang = _text(graph, node, DS.quote)
        quotes.append((set(graph.objects(node, DS.supports)), quote, quote_lang))
    for node in graph.objects(decision, DS.evidence) if decision is not None else []:
        quote, quote_lang = _text(graph, node, DS.quote)
        quotes.append((set(graph.objects(node, DS.supports)), quote, quote_lang))
    main = [q for q in quotes if q[0] != {DS.hasElement}]
    only_elements = [q for q in quotes if q[0] == {DS.hasElement}]
    if main:
        form.quote, form.quote_language = main[0][1], main[0][2] or "de"
    if only_elements:
        form.elements_quote = only_elements[0][1]
        if not main:
            form.quote, form.quote_language = only_elements[0][1], only_elements[0][2] or "de"
            form.elements_quote = ""
    document = graph.value(s, DS.hasDocument)
    if document is not None:
        form.document_url = str(graph.value(document, SCHEMA.url) or "")
    rows = []
    for element in set(graph.objects(s, DS.hasElement)) | set(
            graph.subjects(DS.isElementOf, s)):
        position = graph.value(element, DS.position)
        rank = int(position) if isinstance(position, Literal) and str(position).isdigit() \
            else 10_000
        themes = sorted(_local(t, "theme") for t in graph.objects(element, DCTERMS.subject))
        rows.append((rank, str(element), ElementRow(
            label=_text(graph, element, SKOS.prefLabel)[0],
            level=_local(graph.value(element, DS.elementLevel), "element-level"),
            designation=_text(graph, element, DS.localDesignation)[0],
            theme=themes[0] if themes else "")))
    form.elements = [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]
    return form


# --- spreadsheets ---------------------------------------------------------------------------

#: The template's columns: field name → (English header, German header).
COLUMNS: dict[str, tuple[str, str]] = {
    "municipality": ("municipality", "Gemeinde"),
    "title": ("title", "Titel"),
    "language": ("language", "Sprache"),
    "short_name": ("short name for the IRI", "Kurzname für die IRI"),
    "strategy_type": ("type", "Typ"),
    "status": ("status", "Status"),
    "decision_date": ("decision date", "Beschlussdatum"),
    "body": ("adopting body", "beschliessendes Organ"),
    "new_body_name": ("new body", "neues Organ"),
    "new_body_function": ("function of the new body", "Funktion des neuen Organs"),
    "start_year": ("start year", "Beginn (Jahr)"),
    "end_year": ("end year", "Ende (Jahr)"),
    "issued": ("published on", "veröffentlicht am"),
    "source_url": ("source URL", "Quelle (URL)"),
    "source_title": ("source title", "Titel der Quelle"),
    "source_publisher": ("source publisher", "Herausgeber der Quelle"),
    "source_date": ("source date", "Datum der Quelle"),
    "quote": ("quote", "Zitat"),
    "quote_language": ("quote language", "Sprache des Zitats"),
    "elements_quote": ("quote listing the elements", "Zitat zu den Elementen"),
    "document_url": ("document URL", "Dokument (URL)"),
    "description": ("description", "Beschreibung"),
    "label": ("element", "Element"),
    "level": ("level", "Ebene"),
    "designation": ("city's word for the level", "Bezeichnung der Stadt"),
    "theme": ("theme", "Thema"),
}
TABLE_FIELDS = list(COLUMNS)
#: The example row of the template (its placeholders are warned about when left in).
EXAMPLE = {
    "municipality": "ch-351", "title": "ERSETZEN: Titel der Strategie", "language": "de",
    "short_name": "", "strategy_type": "digital-strategy", "status": "adopted",
    "decision_date": "2030-01-31", "body": "bern-gemeinderat", "new_body_name": "",
    "new_body_function": "", "start_year": "2030", "end_year": "2035", "issued": "",
    "source_url": "https://example.org/ERSETZEN-quelle",
    "source_title": "ERSETZEN: Titel der Quelle",
    "source_publisher": "ERSETZEN: Herausgeber",
    "source_date": "2030-02-01",
    "quote": "ERSETZEN: die Worte der Quelle, die Beschluss, Organ, Zeitraum und Handlungsfelder "
             "nennen",
    "quote_language": "de", "elements_quote": "", "document_url": "", "description": "",
    "label": "ERSETZEN: Name des ersten Handlungsfelds", "level": "action-field",
    "designation": "Handlungsfeld", "theme": "e-government-services",
}
EXAMPLE_MORE = {"label": "ERSETZEN: Name des zweiten Handlungsfelds", "level": "action-field",
                "designation": "Handlungsfeld", "theme": "open-data"}


def template_rows(lang: str) -> list[list[str]]:
    """The template's header (in ``lang``) and two example rows."""
    column = 1 if lang == "de" else 0
    header = [COLUMNS[name][column] for name in TABLE_FIELDS]
    first = [EXAMPLE.get(name, "") for name in TABLE_FIELDS]
    second = [EXAMPLE_MORE.get(name, "") for name in TABLE_FIELDS]
    return [header, first, second]


def template_csv(lang: str) -> str:
    """The CSV template: ``;``-separated in German (as German spreadsheets expect), ``,``
    in English; both read back alike."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if lang == "de" else ",", lineterminator="\r\n")
    writer.writerows(template_rows(lang))
    return out.getvalue()


def template_xlsx(lang: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Strategie" if lang == "de" else "Strategy"
    for row in template_rows(lang):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, name in enumerate(TABLE_FIELDS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(
            14, min(40, len(COLUMNS[name][1 if lang == "de" else 0]) + 4))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header_key(text: str) -> str:
    return " ".join(str(text).lower().replace("_", " ").split())


_HEADERS = {_header_key(h): name for name, pair in COLUMNS.items() for h in (*pair, name)}


@dataclass
class Lookup:
    """How table cells that name things are read: keys, IRIs and labels to IRIs/names."""

    municipalities: dict[str, str] = field(default_factory=dict)  # key or label → IRI
    bodies: dict[str, str] = field(default_factory=dict)
    concepts: dict[str, dict[str, str]] = field(default_factory=dict)  # field → label → name


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _rows_of_csv(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else (
        "\t" if first.count("\t") > first.count(",") else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    start = 1
    for row in reader:
        rows.append((start, [_cell(v) for v in row]))
        start = reader.line_num + 1
    return rows


def _rows_of_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # a damaged or foreign file: say so, in the worker
        raise IntakeError("The spreadsheet cannot be read ({error}).",
                          error=type(err).__name__) from None
    sheet = book.worksheets[0]
    rows = []
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        rows.append((number, [_cell(v) for v in row]))
        if number > MAX_ELEMENTS + 50:
            break
    book.close()
    return rows


def read_table(data: bytes, kind: str, lookup: Lookup) -> tuple[StrategyForm, dict[str, int]]:
    """A CSV or XLSX file of the template as a form, and the row of each element (by its
    position, as text) and of the strategy (key ``""``)."""
    rows = _rows_of_csv(data) if kind == "csv" else _rows_of_xlsx(data)
    rows = [(n, r) for n, r in rows if any(c for c in r)]
    if not rows:
        raise IntakeError("The table is empty.")
    header_row, header = rows[0]
    columns: dict[int, str] = {}
    for index, name in enumerate(header):
        key = _HEADERS.get(_header_key(name))
        if key is not None:
            columns[index] = key
    missing = [COLUMNS[n][0] for n in ("municipality", "title", "label")
               if n not in columns.values()]
    if missing:
        raise IntakeError("This table is not the digistrat template: its first row lacks the "
                          "columns {columns}. Download the template and fill it in.",
                          row=header_row, columns=", ".join(missing))
    form = StrategyForm()
    seen: dict[str, tuple[str, int]] = {}
    where: dict[str, int] = {}
    for number, row in rows[1:]:
        values = {columns[i]: row[i] for i in columns if i < len(row)}
        for name in STRATEGY_FIELDS:
            value = values.get(name, "")
            if not value:
                continue
            value = _resolve_cell(name, value, lookup, number)
            if name in seen and seen[name][0] != value:
                raise IntakeError("The column «{column}» says «{value}» here but «{other}» "
                                  "in row {other_row}; one strategy per table.", row=number,
                                  column=_column_name(name), value=value,
                                  other=seen[name][0], other_row=seen[name][1])
            if name not in seen:
                seen[name] = (value, number)
                setattr(form, name, value)
                where.setdefault("", number)
        element = ElementRow(**{name: _resolve_cell(name, values.get(name, ""), lookup, number)
                                for name in ELEMENT_FIELDS})
        if not element.empty():
            form.elements.append(element)
            where[str(len(form.elements))] = number
    where.setdefault("", rows[1][0] if len(rows) > 1 else header_row)
    return form, where


def _column_name(name: str) -> str:
    return COLUMNS[name][0] if name in COLUMNS else name


def _resolve_cell(name: str, value: str, lookup: Lookup, row: int) -> str:
    """Keys, labels and IRIs in a cell, as the form's values (IRIs, concept names)."""
    if not value:
        return ""
    wanted = " ".join(value.lower().split())
    if name == "municipality":
        found = lookup.municipalities.get(wanted) or lookup.municipalities.get(value)
        if found is None:
            raise IntakeError("«{value}» is no municipality of the graph; write its key "
                              "(de-05113000, ch-351, at-90001) or its name as listed.",
                              row=row, value=value)
        return found
    if name == "body":
        found = lookup.bodies.get(wanted) or lookup.bodies.get(value)
        if found is None:
            raise IntakeError("«{value}» is no governing body of the graph; write its key "
                              "(bern-gemeinderat) or use the column for a new body.", row=row,
                              value=value)
        return found
    field_of = {"strategy_type": "strategy_type", "status": "status", "level": "level",
                "theme": "theme", "new_body_function": "body_function"}
    if name in field_of:
        names = lookup.concepts.get(field_of[name], {})
        found = names.get(wanted)
        if found is None:
            raise IntakeError("«{value}» is not one of the values of the column «{column}»: "
                              "{values}", row=row, value=value, column=_column_name(name),
                              values=", ".join(sorted(set(names.values()))))
        return found
    if name in ("language", "quote_language"):
        return wanted[:2]
    return value


def lookup_from(municipalities: Iterable[tuple[str, str]], bodies: Iterable[tuple[str, str]],
                concepts: dict[str, Iterable[tuple[str, str]]]) -> Lookup:
    """A :class:`Lookup` from (IRI, label) pairs and, per field, (name, label) pairs."""
    lookup = Lookup()
    for target, pairs in ((lookup.municipalities, municipalities), (lookup.bodies, bodies)):
        for value, label in pairs:
            key = value.rsplit("/", 1)[-1]
            for name in (value, key, label, re.sub(r"\s*\([^)]*\)$", "", label)):
                target.setdefault(" ".join(name.lower().split()), value)
    for field_name, pairs in concepts.items():
        names: dict[str, str] = {}
        for value, label in pairs:
            for name in (value, label, value.replace("-", " ")):
                names.setdefault(" ".join(name.lower().split()), value)
        lookup.concepts[field_name] = names
    return lookup


# --- the way in: a conforming submission into data/ -------------------------------------------


@dataclass
class ImportPlan:
    """What ``digistrat import`` writes: one data file, created or extended."""

    target: Any  # pathlib.Path of the data file
    created: bool
    text: str  # the file's whole new content
    original: str | None  # its content before (None when created)
    added: list[str] = field(default_factory=list)  # new resources (IRIs)
    kept: list[str] = field(default_factory=list)  # already in the graph with these triples
    triples: int = 0


class ImportConflictError(KGError):
    """The submission describes resources the graph already describes otherwise."""

    def __init__(self, iris: list[str]) -> None:
        super().__init__("these resources are already in the graph with other statements; "
                         "one resource is described in one file only (docs/model.md): "
                         + ", ".join(iris))
        self.iris = iris


_PREFIX_LINE = re.compile(r"^\s*@prefix\s+([A-Za-z0-9_.\-]*):\s*<([^>]*)>\s*\.\s*$", re.M)
_BASE_LINE = re.compile(r"^\s*@base\s*<([^>]*)>\s*\.\s*$", re.M)


def plan_import(store: Any, graph: Graph, source_name: str, today: str) -> ImportPlan:
    """Where ``graph`` (a conforming submission) goes in ``data/`` and the text to write.

    The file is the one that describes the municipality the submission's strategies belong
    to (``ds:ownedBy``), or a new ``data/{name}.ttl`` for a municipality the submission
    describes itself. A resource the graph already describes is left out when the graph
    already holds each of its statements (a shared source), and refused otherwise.
    """
    from pathlib import Path

    from kg.rdfio import to_ox

    subjects = {s for s in graph.subjects() if isinstance(s, URIRef)}
    owners = {o for o in graph.objects(None, DS.ownedBy) if isinstance(o, URIRef)}
    owners |= {s for s in graph.subjects(RDF.type, DS.Municipality) if isinstance(s, URIRef)}
    if len(owners) != 1:
        raise IntakeError("The submission must concern exactly one municipality "
                          "(ds:ownedBy); it names {count}.", count=len(owners))
    owner = next(iter(owners))
    kept, conflicts = [], []
    for subject in sorted(subjects, key=str):
        existing = set(store.ox.quads_for_pattern(to_ox(subject), None, None, None))
        if not existing:
            continue
        known = {(q.predicate, q.object) for q in existing}
        mine = [(p, o) for p, o in graph.predicate_objects(subject)]
        if all(not isinstance(o, BNode) and (to_ox(p), to_ox(o)) in known for p, o in mine):
            kept.append(str(subject))
        else:
            conflicts.append(str(subject))
    if conflicts:
        raise ImportConflictError(conflicts)
    new = Graph()
    bind_prefixes(new.namespace_manager)
    for prefix, namespace in CONTEXT.items():
        if not prefix.startswith("@"):
            new.bind(prefix, namespace, override=True, replace=True)
    todo = [s for s in subjects if str(s) not in kept]
    seen: set[Node] = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in graph.predicate_objects(node):
            new.add((node, p, o))
            if isinstance(o, BNode):
                todo.append(o)
    added = sorted(str(s) for s in subjects if str(s) not in kept)
    root = store.project.root
    described = [info for info in store.graphs if info.file.startswith("data/")
                 and any(True for _ in store.ox.quads_for_pattern(
                     to_ox(owner), None, None, ox_graph(info.iri)))]
    if owner in subjects and str(owner) not in kept:
        label = graph.value(owner, SKOS.prefLabel)
        name = slugify(str(label or str(owner).rsplit("/", 1)[-1]), 5)
        target = Path(root) / "data" / f"{name}.ttl"
        if target.exists():
            raise IntakeError("data/{name}.ttl exists already and describes another "
                              "municipality; rename one of them.", name=name)
        text = to_turtle(new).replace(
            "# Made with the " + FORM_GENERATOR, f"# Imported from {source_name} on {today} "
            "with `digistrat import`; made with the " + FORM_GENERATOR, 1)
        return ImportPlan(target, True, text, None, added, kept, len(new))
    if not described:
        raise IntakeError("No file in data/ describes the municipality {iri}.",
                          iri=str(owner))
    target = Path(root) / described[0].file
    original = target.read_text(encoding="utf-8")
    return ImportPlan(target, False, original.rstrip("\n") + "\n\n" + _block(
        new, original, source_name, today), original, added, kept, len(new))


def ox_graph(iri: str) -> Any:
    import pyoxigraph as ox

    return ox.NamedNode(iri)


def _block(graph: Graph, original: str, source_name: str, today: str) -> str:
    """Turtle for the end of an existing file: only the prefixes (and base) it lacks."""
    declared = dict(_PREFIX_LINE.findall(original))
    bases = _BASE_LINE.findall(original)
    body = _relative(graph.serialize(format="turtle", base=str(ID)), str(ID))
    lines = []
    for line in body.split("\n"):
        prefix = _PREFIX_LINE.match(line)
        if prefix and declared.get(prefix.group(1)) == prefix.group(2):
            continue
        base = _BASE_LINE.match(line)
        if base and bases and bases[-1] == base.group(1):
            continue
        lines.append(line)
    rule = "# " + "=" * 93
    return "\n".join([rule, f"# Imported from {source_name} on {today} with `digistrat "
                      "import` (made with the " + FORM_GENERATOR + " or checked at "
                      "/validate)", rule, *lines]).rstrip("\n") + "\n"
