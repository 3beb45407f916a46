"""The views of strategies and their elements: summaries, the element tree, ancestors."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.namespaces import DS
from kg.store import Store
from kg.views.common import Names, fallback_label, iri, labels, pick, select, year_of
from kg.views.resource import Quote, evidence


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


def strategy_tree(store: Store, strategy: str, lang: str) -> tuple[list[TreeNode], Names]:
    """The elements of a strategy as a tree, siblings in order; and the labels it found, with
    every IRI it names (``Names.asked``)."""
    target = iri(strategy)
    # Each element with each of its parents; the parent in the tree (the strategy or one of
    # its elements) is picked below. (A third pattern, ``?parent (…)* target``, did that in
    # the query: Virtuoso then took 165 ms at 100k triples against 60 ms without it.)
    rows = select(store, f"""SELECT ?el ?parent ?pos ?type ?desig ?theme WHERE {{
        ?el (ds:isElementOf|^ds:hasElement)+ {target} .
        ?el ds:isElementOf|^ds:hasElement ?parent .
        OPTIONAL {{ ?el ds:position ?pos }} OPTIONAL {{ ?el a ?type }}
        OPTIONAL {{ ?el ds:localDesignation ?desig }} OPTIONAL {{ ?el dct:subject ?theme }} }}""")
    # One branch per property, each with its predicate bound. Not VALUES ?p: Oxigraph joins
    # a VALUES block with ``?owner ?p ?item`` by reading every triple of the graph (40 ms at
    # 100k triples); nor ``?owner ?p ?item FILTER(?p IN (…))``: Virtuoso took 610 ms at 10M
    # triples that way, 12 ms this way.
    owned = " UNION ".join(f"{{ ?owner {p} ?item BIND({p} AS ?p) }}"
                           for p in ("ds:hasGoal", "ds:hasObjective", "ds:hasMeasure"))
    goal_rows = select(store, f"""SELECT ?owner ?p ?item WHERE {{
        ?owner (ds:isElementOf|^ds:hasElement)* {target} . {owned} }}""")
    nodes: dict[str, TreeNode] = {}
    parents: dict[str, set[str]] = defaultdict(set)
    designations: dict[str, dict[str, str]] = defaultdict(dict)
    types: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        el = row["el"].value
        node = nodes.setdefault(el, TreeNode(el, "", None))
        parents[el].add(row["parent"].value)
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
        under = sorted(p for p in parents[el] if p in nodes)  # else the strategy's own
        (nodes[under[0]].children if under else top).append(node)
    named = Names(store, lang).ask([*nodes, *extra, *(t for n in nodes.values() for t in n.themes),
                                    *(n.kind for n in nodes.values() if n.kind)])
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
    return top, named


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
    return sorted(found.values(), key=lambda s: (s.year is None, s.year or 0, s.title, s.iri))




def walk(nodes: list[TreeNode]) -> list[TreeNode]:
    """Every node of a tree, depth first."""
    found = []
    for node in nodes:
        found.append(node)
        found.extend(walk(node.children))
    return found


@dataclass
class DecisionSummary:
    iri: str
    date: str
    body: str
    quotes: list[Quote] = field(default_factory=list)  # the evidence of the decision


def decisions(store: Store, strategy: str, lang: str = "en") -> list[DecisionSummary]:
    """The decisions that adopted ``strategy``, with their dates and bodies where known."""
    # DISTINCT: where both directions are stated, SPARQL's alternative path gives one
    # solution per direction (Virtuoso and rdflib do; Oxigraph gives one)
    rows = select(store, f"""SELECT DISTINCT ?d ?date ?body WHERE {{
        {iri(strategy)} ds:adoptedIn|^ds:adopts ?d .
        OPTIONAL {{ ?d eli:date_document|dct:date ?date }} OPTIONAL {{ ?d eli:passed_by ?body }}
        }}""")
    found = [DecisionSummary(r["d"].value, r["date"].value if "date" in r else "",
                             r["body"].value if "body" in r else "") for r in rows]
    quotes = evidence(store, [d.iri for d in found], lang)
    for decision in found:
        seen: set[str] = set()
        for items in quotes.get(decision.iri, {}).values():
            for quote in items:
                if quote.text not in seen:
                    seen.add(quote.text)
                    decision.quotes.append(quote)
        decision.quotes.sort(key=lambda q: (q.source_title, q.text))
    return found


def related(store: Store, strategy: str) -> dict[str, list[str]]:
    """The predecessors, successors and documents of ``strategy``."""
    rows = select(store, f"""SELECT ?rel ?x WHERE {{
        {{ {iri(strategy)} dct:replaces|^dct:isReplacedBy ?x BIND("predecessor" AS ?rel) }}
        UNION {{ {iri(strategy)} dct:isReplacedBy|^dct:replaces ?x
                 BIND("successor" AS ?rel) }}
        UNION {{ {iri(strategy)} ds:hasDocument ?x BIND("documents" AS ?rel) }} }}""")
    return {rel: sorted({r["x"].value for r in rows if r["rel"].value == rel})
            for rel in ("predecessor", "successor", "documents")}
