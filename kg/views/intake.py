"""The view model of the strategy form (``/validate/new``) and of the spreadsheet templates:
the municipalities and governing bodies of the graph, and the concepts to choose from."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.namespaces import GRAPH, VOCAB
from kg.store import Store
from kg.views.common import labels, select

#: The concept schemes the form offers, by field.
SCHEMES = {"strategy_type": "strategy-type", "status": "lifecycle-status",
           "level": "element-level", "theme": "theme", "body_function": "body-function"}
#: Lifecycle statuses in the order a strategy passes through them (docs/model.md).
STATUS_ORDER = ("requested", "in-preparation", "draft", "published", "taken-note-of",
                "adopted", "in-force", "superseded", "expired", "closed")


@dataclass(frozen=True)
class Choice:
    value: str  # an IRI (municipality, body) or a concept's local name
    label: str


@dataclass
class Directory:
    """What the form offers to choose, in one language."""

    municipalities: list[Choice] = field(default_factory=list)
    #: bodies grouped by municipality: (municipality label, bodies)
    bodies: list[tuple[str, list[Choice]]] = field(default_factory=list)
    concepts: dict[str, list[Choice]] = field(default_factory=dict)
    #: the file name (without suffix) of the data file describing each municipality
    city_slugs: dict[str, str] = field(default_factory=dict)
    body_owner: dict[str, str] = field(default_factory=dict)


def city_slugs(store: Store) -> dict[str, str]:
    """Each municipality's slug: the name of the data file that describes it (``bern`` for
    ``data/bern.ttl``), which is also the ``{city}`` part of its strategies' IRIs."""
    rows = select(store, "SELECT ?m ?g WHERE { GRAPH ?g { ?m a ds:Municipality } }")
    prefix = str(GRAPH) + "data/"
    found: dict[str, str] = {}
    for row in rows:
        graph = row["g"].value
        if graph.startswith(prefix):
            found.setdefault(row["m"].value, graph[len(prefix):].rsplit("/", 1)[-1])
    return found


def concept_choices(store: Store, scheme: str, lang: str) -> list[Choice]:
    base = f"{VOCAB}{scheme}/"
    rows = select(store, f"SELECT DISTINCT ?c WHERE {{ ?c skos:inScheme <{VOCAB}{scheme}> }}")
    iris = [r["c"].value for r in rows if isinstance(r["c"], ox.NamedNode)
            and r["c"].value.startswith(base)]
    named = labels(store, iris, lang)
    choices = [Choice(i[len(base):], named.get(i, i[len(base):])) for i in iris]
    if scheme == "lifecycle-status":
        rank = {name: n for n, name in enumerate(STATUS_ORDER)}
        return sorted(choices, key=lambda c: (rank.get(c.value, 99), c.label))
    return sorted(choices, key=lambda c: c.label.lower())


def directory(store: Store, lang: str) -> Directory:
    """Municipalities (with their keys), their bodies and the concept lists of the form."""
    rows = select(store, """SELECT DISTINCT ?m ?b WHERE { ?m a ds:Municipality
        OPTIONAL { ?b a ds:GoverningBody ; org:subOrganizationOf ?m } }""")
    places = sorted({r["m"].value for r in rows})
    bodies_of: dict[str, list[str]] = {}
    for row in rows:
        if "b" in row:
            bodies_of.setdefault(row["m"].value, []).append(row["b"].value)
    named = labels(store, places + [b for bs in bodies_of.values() for b in bs], lang)
    result = Directory(city_slugs=city_slugs(store))
    for place in places:
        key = place.rsplit("/", 1)[-1]
        result.municipalities.append(Choice(place, f"{named.get(place, key)} ({key})"))
    result.municipalities.sort(key=lambda c: c.label.lower())
    for choice in result.municipalities:
        bodies = sorted((Choice(b, named.get(b, b.rsplit("/", 1)[-1]))
                         for b in set(bodies_of.get(choice.value, []))),
                        key=lambda c: c.label.lower())
        if bodies:
            result.bodies.append((choice.label, bodies))
            for body in bodies:
                result.body_owner[body.value] = choice.value
    result.concepts = {name: concept_choices(store, scheme, lang)
                       for name, scheme in SCHEMES.items()}
    return result
