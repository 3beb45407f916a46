"""The dataset's IRI space on the serving host: every IRI under the base dereferences here.

``/id/…`` instances, ``/vocab/…`` concept schemes and concepts, ``/ontology`` (the hash
namespace of the ontology and its version IRI), ``/shapes`` and ``/graph/…`` named graphs.
Every one answers 200 at its own URL with ``Vary: Accept`` (no 303): HTML, Turtle, JSON-LD,
N-Triples or RDF/XML by content negotiation or ``?format=`` (see docs/linked-data.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SettingsDep, StoreDep
from api.errors import ApiError
from api.negotiation import VIEW_SYNTAXES, representation, short_name
from api.rendering import VARY, gettext, page_lang, render
from kg import describe
from kg.formats import Format
from kg.namespaces import DS
from kg.store import Store

router = APIRouter()

INCOMING_PAGE_SIZE = 50


def valid_iri(iri: str) -> str:
    """``iri`` when it is an IRI (RFC 3987); else 400: a path such as ``/id/%3C`` or
    ``/id/a%20b`` names no resource that could be described."""
    try:
        describe.iri(iri)
    except ValueError:
        raise ApiError(400, "bad-request", f"{iri!r} is not a valid IRI (characters such as "
                       "spaces, <, >, \" and control characters are not allowed in IRIs)",
                       iri=iri) from None
    return iri


def link_header(request: Request, iri: str) -> str:
    path = request.url.path
    parts = [f'<{iri}>; rel="canonical"']
    alternates = [("text/html", "html")] + [(f.media_type, short_name(f)) for f in VIEW_SYNTAXES]
    for media, short in alternates:
        url = request.app.state.settings.site + path + "?" + urlencode({"format": short})
        parts.append(f'<{url}>; rel="alternate"; type="{media}"')
    return ", ".join(parts)


def rdf_response(request: Request, iri: str, syntax: Format,
                 triples: list[ox.Triple]) -> Response:
    headers = {"Vary": VARY, "Link": link_header(request, iri),
               "Content-Location": request.url.path + "?format=" + short_name(syntax)}
    body = describe.serialize(triples, syntax)
    return Response(body, media_type=syntax.media_type + "; charset=utf-8", headers=headers)


def not_found(request: Request, iri: str, syntax: Format | None) -> Response:
    """404: nothing is described under ``iri`` (a page for browsers, JSON otherwise)."""
    err = ApiError(404, "not-found", f"nothing is described under {iri}", iri=iri,
                   headers={"Vary": VARY})
    if syntax is None:
        return render(request, "error.html", {"error": err, "status": 404}, status=404,
                      headers=err.headers)
    raise err


def formats_for(request: Request) -> list[tuple[str, str]]:
    return [(short_name(f), request.url.path + "?format=" + short_name(f))
            for f in VIEW_SYNTAXES]


# --- generic resource pages -------------------------------------------------------------------


def resource_context(request: Request, store: Store, iri: str,
                     triples: list[ox.Triple], lang: str, extra_iris: set[str] | None = None,
                     skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """What every resource page shows: title, types, grouped properties, incoming, sources."""
    base = request.app.state.settings.base_iri
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    inbound = describe.incoming(store, iri, page, INCOMING_PAGE_SIZE)
    names = describe.names_for(store, triples, lang, {*(s for s, _ in inbound.rows),
                                                      *(p for _, p in inbound.rows),
                                                      *(extra_iris or set())})
    types = describe.objects(triples, iri, describe.RDF_TYPE)
    title = names.get(iri) or describe.fallback_label(iri, base)
    groups = describe.property_groups(triples, iri, names, base,
                                      skip=(describe.DCT + "source", *skip), lang=lang)
    cited = describe.sources(store, [iri], lang)
    return {"iri": iri, "title": title, "names": names,
            "types": [(t, names.get(t) or describe.compact(t)) for t in types],
            "groups": groups, "incoming": inbound,
            "incoming_rows": [(s, names.get(s) or describe.fallback_label(s, base), p,
                               names.get(p) or describe.compact(p)) for s, p in inbound.rows],
            "sources": cited, "formats": formats_for(request)}


def answer(request: Request, store: Store, iri: str,
           document: Callable[[], list[ox.Triple]],
           page: Callable[[list[ox.Triple], str], Response] | None = None,
           present: bool | None = None) -> Response:
    """Send the description of ``iri`` as RDF or as its page; 404 before 406, so a client
    that accepts none of the formats still learns that nothing is described here."""
    if present is None:
        present = describe.exists(store, iri)
    if not present:
        try:
            return not_found(request, iri, representation(request, html=True))
        except ApiError as err:
            if err.status != 406:
                raise
            return not_found(request, iri, VIEW_SYNTAXES[0])
    syntax = representation(request, html=True)
    triples = document()
    if syntax is not None:
        return rdf_response(request, iri, syntax, triples)
    lang = page_lang(request)
    if page is not None:
        response = page(triples, lang)
    else:
        response = render(request, "resource.html",
                          resource_context(request, store, iri, triples, lang))
    response.headers["Link"] = link_header(request, iri)
    return response


def resource_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                  lang: str) -> Response:
    """The page of an instance or concept, by its type."""
    types = set(describe.objects(triples, iri, describe.RDF_TYPE))
    if str(DS.Municipality) in types:
        return municipality_page(request, store, iri, triples, lang)
    if str(DS.Strategy) in types:
        return strategy_page(request, store, iri, triples, lang)
    if describe.objects(triples, iri, str(DS.isElementOf)) or str(DS.StrategyElement) in types:
        return element_page(request, store, iri, triples, lang)
    if describe.SKOS + "ConceptScheme" in types:
        return scheme_page(request, store, iri, triples, lang)
    return render(request, "resource.html",
                  resource_context(request, store, iri, triples, lang))


# --- municipality -------------------------------------------------------------------------

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
            str(DS.bfsNumber): "BFS", str(DS.gkz): "GKZ"}


def municipality_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                      lang: str) -> Response:
    identifiers = []
    for prop, registers in REGISTERS.items():
        for value in sorted({t.object.value for t in triples if t.predicate.value == prop}):
            identifiers.append({"name": ID_NAMES[prop], "value": value,
                                "links": [(label, url.format(value))
                                          for label, url in registers]})
    for same in describe.objects(triples, iri, str(describe.SCHEMA) + "sameAs"):
        identifiers.append({"name": "Wikidata" if "wikidata.org" in same else "sameAs",
                            "value": same.rsplit("/", 1)[-1], "links": [(same, same)]})
    items = describe.strategies(store, lang, iri)
    people = describe.actors(store, iri, lang)
    extra = {a.function for a in people} | {a.holder for a in people} | {
        a.within for a in people} | {a.kind for a in people} | {s.status for s in items} | {
        s.kind for s in items}
    context = resource_context(request, store, iri, triples, lang, {e for e in extra if e})
    context.update({"strategies": items, "actors": people, "identifiers": identifiers})
    return render(request, "municipality.html", context)


# --- strategy and element -----------------------------------------------------------------


def strategy_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                  lang: str) -> Response:
    tree, named = describe.strategy_tree(store, iri, lang)
    decisions = describe.select(store, f"""SELECT ?d ?date ?body WHERE {{
        {describe.iri(iri)} ds:adoptedIn|^ds:adopts ?d .
        OPTIONAL {{ ?d eli:date_document|dct:date ?date }} OPTIONAL {{ ?d eli:passed_by ?body }}
        }}""")
    links = describe.select(store, f"""SELECT ?rel ?x WHERE {{
        {{ {describe.iri(iri)} dct:replaces|^dct:isReplacedBy ?x BIND("predecessor" AS ?rel) }}
        UNION {{ {describe.iri(iri)} dct:isReplacedBy|^dct:replaces ?x
                 BIND("successor" AS ?rel) }}
        UNION {{ {describe.iri(iri)} ds:hasDocument ?x BIND("documents" AS ?rel) }} }}""")
    themes = sorted({t for node in _walk(tree) for t in node.themes}
                    | set(describe.objects(triples, iri, describe.DCT + "subject")))
    extra = {*named, *themes, *(r["d"].value for r in decisions),
             *(r["body"].value for r in decisions if "body" in r),
             *(r["x"].value for r in links)}
    context = resource_context(request, store, iri, triples, lang, extra,
                               skip=(str(DS.hasElement),))
    names = context["names"]
    context.update({
        "tree": tree, "tree_names": names,
        "decisions": [{"iri": r["d"].value, "date": r["date"].value if "date" in r else "",
                       "body": r["body"].value if "body" in r else ""} for r in decisions],
        "related": {rel: sorted({r["x"].value for r in links if r["rel"].value == rel})
                    for rel in ("predecessor", "successor", "documents")},
        "themes": sorted(themes, key=lambda t: names.get(t, t).lower()),
        "owners": describe.objects(triples, iri, str(DS.ownedBy)),
    })
    return render(request, "strategy.html", context)


def _walk(nodes: list[describe.TreeNode]) -> list[describe.TreeNode]:
    found = []
    for node in nodes:
        found.append(node)
        found.extend(_walk(node.children))
    return found


def element_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                 lang: str) -> Response:
    chain = describe.ancestors(store, iri)
    context = resource_context(request, store, iri, triples, lang, set(chain))
    subtree: list[describe.TreeNode] = []
    if chain:
        tree, _ = describe.strategy_tree(store, chain[0], lang)
        subtree = next((n.children for n in _walk(tree) if n.iri == iri), [])
    context.update({"crumbs": [(c, context["names"].get(c) or c) for c in chain],
                    "tree": subtree, "tree_names": describe.labels(
                        store, {t for n in _walk(subtree) for t in [n.kind, *n.themes]
                                if t}, lang)})
    return render(request, "element.html", context)


# --- vocabularies ---------------------------------------------------------------------------


def scheme_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                lang: str) -> Response:
    own = [t for t in triples if t.subject.value == iri or isinstance(t.subject, ox.BlankNode)]
    context = resource_context(request, store, iri, own, lang)
    context["concepts"] = describe.concepts(store, iri)
    return render(request, "scheme.html", context)


@router.get("/vocab")
def vocab_index(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = settings.base_iri + "vocab"
    found = describe.schemes(store, page_lang(request))

    def page(triples: list[ox.Triple], lang: str) -> Response:
        return render(request, "vocab.html", {"schemes": found, "iri": iri,
                                              "formats": formats_for(request)})
    return answer(request, store, iri, lambda: describe.describe_many(
        store, [s for s, _, _ in found]), page, present=bool(found))


@router.get("/vocab/{rest:path}")
def vocab(rest: str, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = valid_iri(settings.base_iri + "vocab/" + rest)
    if describe.is_scheme(store, iri):
        return answer(request, store, iri, lambda: describe.scheme_document(store, iri),
                      lambda triples, lang: scheme_page(request, store, iri, triples, lang),
                      present=True)
    return answer(request, store, iri, lambda: describe.describe(store, iri),
                  lambda triples, lang: resource_page(request, store, iri, triples, lang))


# --- instances --------------------------------------------------------------------------------


@router.get("/id/{rest:path}")
def instance(rest: str, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = valid_iri(settings.base_iri + "id/" + rest)
    return answer(request, store, iri, lambda: describe.describe(store, iri),
                  lambda triples, lang: resource_page(request, store, iri, triples, lang))


# --- ontology and shapes (hash namespaces) ------------------------------------------------------


def ontology_graphs(store: Store, base: str) -> list[str]:
    return describe.graphs_describing(store, base + "ontology")


@router.get("/ontology")
def ontology(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = settings.base_iri + "ontology"
    graphs = ontology_graphs(store, settings.base_iri)

    def page(triples: list[ox.Triple], lang: str) -> Response:
        terms = describe.ontology_terms(store, lang)
        wanted = {link for term in terms for _, link in term.links}
        names = describe.labels(store, wanted, lang)
        header = resource_context(request, store, iri, [t for t in triples
                                                        if t.subject.value == iri
                                                        or isinstance(t.subject, ox.BlankNode)],
                                  lang)
        header.update({"terms": terms, "link_names": names,
                       "classes": [t for t in terms if t.kind == "class"],
                       "properties": [t for t in terms if t.kind == "property"]})
        return render(request, "ontology.html", header)
    return answer(request, store, iri, lambda: describe.graph_triples(store, graphs), page,
                  present=bool(graphs))


@router.get("/ontology/{version}")
def ontology_version(version: str, request: Request, store: StoreDep,
                     settings: SettingsDep) -> Response:
    """The version IRI: the current ontology document when the version is the current one."""
    iri = valid_iri(settings.base_iri + "ontology/" + version)
    current = describe.ask(store, f"ASK {{ <{settings.base_iri}ontology> owl:versionIRI "
                                  f"{describe.iri(iri)} }}")
    if not current:
        return not_found(request, iri, representation(request, html=True))
    return ontology(request, store, settings)


@router.get("/shapes")
def shapes(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = settings.base_iri + "shapes"
    graphs = describe.shapes_graphs(store)

    def page(triples: list[ox.Triple], lang: str) -> Response:
        constraints = describe.class_constraints(store, lang)
        by_class: dict[str, list[describe.Constraint]] = {}
        for cls, constraint in constraints:
            by_class.setdefault(cls, []).append(constraint)
        names = describe.labels(store, by_class, lang)
        return render(request, "shapes.html", {
            "iri": iri, "by_class": sorted(by_class.items(),
                                           key=lambda kv: names.get(kv[0], kv[0]).lower()),
            "names": names, "formats": formats_for(request),
            "rules": describe.node_rules(store, lang), "title": gettext(lang, "Shapes")})
    return answer(request, store, iri, lambda: describe.graph_triples(store, graphs), page,
                  present=bool(graphs))


# --- named graphs -----------------------------------------------------------------------------


@router.get("/graph/{rest:path}")
def graph(rest: str, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = valid_iri(settings.base_iri + "graph/" + rest)
    info = next((g for g in store.graphs if g.iri == iri), None)

    def page(triples: list[ox.Triple], lang: str) -> Response:
        subjects = sorted({t.subject.value for t in triples
                           if isinstance(t.subject, ox.NamedNode)})
        names = describe.labels(store, subjects, lang)
        return render(request, "graph.html", {
            "iri": iri, "file": info.file if info else "", "triples": len(triples),
            "subjects": [(s, names.get(s) or describe.fallback_label(s, settings.base_iri))
                         for s in subjects], "formats": formats_for(request)})
    return answer(request, store, iri, lambda: describe.graph_triples(store, [iri]), page,
                  present=info is not None)
