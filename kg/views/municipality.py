"""The views of municipalities (and Länder, cantons): lists and actors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from kg.namespaces import DS, SCHEMA
from kg.store import Store
from kg.views.common import fallback_label, iri, labels, objects, select


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




#: Registers an identifier is looked up in: (label, URL pattern). Wikidata statements:
#: P439 German municipality key, P1388 German regional key, P771 Swiss municipality code,
#: P964 Austrian municipality key.
REGISTERS: dict[str, list[tuple[str, str]]] = {
    str(DS.ags): [("Wikidata (P439)", "https://www.wikidata.org/w/index.php?search="
                                      "haswbstatement%3AP439%3D{}")],
    str(DS.regionalKey): [("Wikidata (P1388)", "https://www.wikidata.org/w/index.php?search="
                                               "haswbstatement%3AP1388%3D{}")],
    str(DS.bfsNumber): [("LINDAS", "https://ld.admin.ch/municipality/{}"),
                        ("Wikidata (P771)", "https://www.wikidata.org/w/index.php?search="
                                            "haswbstatement%3AP771%3D{}")],
    str(DS.gkz): [("Wikidata (P964)", "https://www.wikidata.org/w/index.php?search="
                                      "haswbstatement%3AP964%3D{}")],
}
ID_NAMES = {str(DS.ags): "AGS", str(DS.regionalKey): "Regionalschlüssel / regional key",
            str(DS.bfsNumber): "BFS", str(DS.gkz): "GKZ",
            str(DS.stateKey): "Länderschlüssel / Kantonsnummer / Bundesland-Code"}


#: The properties :func:`identifiers` shows (a page shows them there, not again as rows).
IDENTIFIER_PROPERTIES: tuple[str, ...] = (*REGISTERS, str(DS.stateKey), str(SCHEMA) + "sameAs")


def identifiers(triples: list[ox.Triple], iri: str) -> list[dict[str, Any]]:
    """The official keys of a municipality, each with the registers it is looked up in, and
    its links to the same thing elsewhere (Wikidata)."""
    found: list[dict[str, Any]] = []
    for prop, registers in REGISTERS.items():
        for value in sorted({t.object.value for t in triples if t.predicate.value == prop}):
            found.append({"name": ID_NAMES[prop], "value": value,
                          "links": [(label, url.format(value)) for label, url in registers]})
    for value in sorted({t.object.value for t in triples
                         if t.predicate.value == str(DS.stateKey)}):
        found.append({"name": ID_NAMES[str(DS.stateKey)], "value": value, "links": []})
    for same in objects(triples, iri, str(SCHEMA) + "sameAs"):
        found.append({"name": "Wikidata" if "wikidata.org" in same else "sameAs",
                      "value": same.rsplit("/", 1)[-1], "links": [(same, same)]})
    return found
