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
from kg.formats import Format
from kg.namespaces import DS
from kg.store import Store
from kg.views import charts, common, municipality, resource, schema, strategy, vocabulary

router = APIRouter()

INCOMING_PAGE_SIZE = 50


def valid_iri(iri: str) -> str:
    """``iri`` when it is an IRI (RFC 3987); else 400: a path such as ``/id/%3C`` or
    ``/id/a%20b`` names no resource that could be described."""
    try:
        common.iri(iri)
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
    body = resource.serialize(triples, syntax)
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
                     skip: tuple[str, ...] = (), known: common.Names | None = None
                     ) -> dict[str, Any]:
    """What every resource page shows: title, types, grouped properties, incoming, sources;
    with the labels the page found before (``known``) not asked again."""
    base = request.app.state.settings.base_iri
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    inbound = resource.incoming(store, iri, page, INCOMING_PAGE_SIZE)
    names = resource.names_for(store, triples, lang, {*(s for s, _ in inbound.rows),
                                                      *(p for _, p in inbound.rows),
                                                      *(extra_iris or set())}, known)
    types = common.objects(triples, iri, common.RDF_TYPE)
    title = names.get(iri) or common.fallback_label(iri, base)
    quotes = resource.evidence(store, [iri], lang).get(iri, {})
    groups = resource.property_groups(triples, iri, names, base,
                                      skip=(common.DCT + "source", *skip), lang=lang,
                                      quotes=quotes)
    cited = resource.sources(store, [iri], lang)
    return {"iri": iri, "title": title, "names": names, "quotes": quotes,
            "types": [(t, names.get(t) or common.compact(t)) for t in types],
            "groups": groups, "incoming": inbound,
            "incoming_rows": [(s, names.get(s) or common.fallback_label(s, base), p,
                               names.get(p) or common.compact(p)) for s, p in inbound.rows],
            "sources": cited, "formats": formats_for(request)}


def answer(request: Request, store: Store, iri: str,
           document: Callable[[], list[ox.Triple]],
           page: Callable[[list[ox.Triple], str], Response] | None = None,
           present: bool | None = None) -> Response:
    """Send the description of ``iri`` as RDF or as its page; 404 before 406, so a client
    that accepts none of the formats still learns that nothing is described here."""
    if present is None:
        present = resource.exists(store, iri)
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
    types = set(common.objects(triples, iri, common.RDF_TYPE))
    if str(DS.Municipality) in types:
        return municipality_page(request, store, iri, triples, lang)
    if str(DS.Strategy) in types:
        return strategy_page(request, store, iri, triples, lang)
    if common.objects(triples, iri, str(DS.isElementOf)) or str(DS.StrategyElement) in types:
        return element_page(request, store, iri, triples, lang)
    if common.SKOS + "ConceptScheme" in types:
        return scheme_page(request, store, iri, triples, lang)
    return render(request, "resource.html",
                  resource_context(request, store, iri, triples, lang))


# --- municipality -------------------------------------------------------------------------

def municipality_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                      lang: str) -> Response:
    identifiers = municipality.identifiers(triples, iri)
    items = strategy.strategies(store, lang, iri)
    people = municipality.actors(store, iri, lang)
    extra = {a.function for a in people} | {a.holder for a in people} | {
        a.within for a in people} | {a.kind for a in people} | {s.status for s in items} | {
        s.kind for s in items}
    context = resource_context(request, store, iri, triples, lang, {e for e in extra if e},
                               skip=municipality.IDENTIFIER_PROPERTIES)
    context.update({"strategies": items, "actors": people, "identifiers": identifiers})
    return render(request, "municipality.html", context)


# --- strategy and element -----------------------------------------------------------------


def strategy_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                  lang: str) -> Response:
    tree, named = strategy.strategy_tree(store, iri, lang)
    decisions = strategy.decisions(store, iri, lang)
    related = strategy.related(store, iri)
    themes = sorted({t for node in strategy.walk(tree) for t in node.themes}
                    | set(common.objects(triples, iri, common.DCT + "subject")))
    extra = {*named.asked, *themes, *(d.iri for d in decisions),
             *(d.body for d in decisions if d.body),
             *(x for items in related.values() for x in items)}
    context = resource_context(request, store, iri, triples, lang, extra,
                               skip=(str(DS.hasElement), common.DCT + "subject"), known=named)
    names = context["names"]
    context.update({
        "tree": tree, "tree_names": names, "decisions": decisions, "related": related,
        "themes": sorted(themes, key=lambda t: names.get(t, t).lower()),
        "structure_chart": charts.structure_chart(tree, names, lang),
        "owners": common.objects(triples, iri, str(DS.ownedBy)),
    })
    return render(request, "strategy.html", context)


def element_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                 lang: str) -> Response:
    chain = strategy.ancestors(store, iri)
    subtree: list[strategy.TreeNode] = []
    named = common.Names(store, lang)
    if chain:
        tree, named = strategy.strategy_tree(store, chain[0], lang)
        subtree = next((n.children for n in strategy.walk(tree) if n.iri == iri), [])
    context = resource_context(request, store, iri, triples, lang, set(chain), known=named)
    names = context["names"]
    context.update({"crumbs": [(c, names.get(c) or c) for c in chain], "tree": subtree,
                    "tree_names": names.ask(t for n in strategy.walk(subtree)
                                            for t in [n.kind, *n.themes] if t)})
    return render(request, "element.html", context)


# --- vocabularies ---------------------------------------------------------------------------


def scheme_page(request: Request, store: Store, iri: str, triples: list[ox.Triple],
                lang: str) -> Response:
    own = [t for t in triples if t.subject.value == iri or isinstance(t.subject, ox.BlankNode)]
    context = resource_context(request, store, iri, own, lang)
    context["concepts"] = vocabulary.concepts(store, iri)
    return render(request, "scheme.html", context)


@router.get("/vocab")
def vocab_index(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = settings.base_iri + "vocab"
    found = vocabulary.schemes(store, page_lang(request))

    def page(triples: list[ox.Triple], lang: str) -> Response:
        return render(request, "vocab.html", {"schemes": found, "iri": iri,
                                              "formats": formats_for(request)})
    return answer(request, store, iri, lambda: resource.describe_many(
        store, [s for s, _, _ in found]), page, present=bool(found))


@router.get("/vocab/{rest:path}")
def vocab(rest: str, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = valid_iri(settings.base_iri + "vocab/" + rest)
    if vocabulary.is_scheme(store, iri):
        return answer(request, store, iri, lambda: vocabulary.scheme_document(store, iri),
                      lambda triples, lang: scheme_page(request, store, iri, triples, lang),
                      present=True)
    return answer(request, store, iri, lambda: resource.describe(store, iri),
                  lambda triples, lang: resource_page(request, store, iri, triples, lang))


# --- instances --------------------------------------------------------------------------------


@router.get("/id/{rest:path}")
def instance(rest: str, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = valid_iri(settings.base_iri + "id/" + rest)
    return answer(request, store, iri, lambda: resource.describe(store, iri),
                  lambda triples, lang: resource_page(request, store, iri, triples, lang))


# --- ontology and shapes (hash namespaces) ------------------------------------------------------


def ontology_graphs(store: Store, base: str) -> list[str]:
    return resource.graphs_describing(store, base + "ontology")


@router.get("/ontology")
def ontology(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = settings.base_iri + "ontology"
    graphs = ontology_graphs(store, settings.base_iri)

    def page(triples: list[ox.Triple], lang: str) -> Response:
        terms = schema.ontology_terms(store, lang)
        wanted = {link for term in terms for _, link in term.links}
        names = common.labels(store, wanted, lang)
        header = resource_context(request, store, iri, [t for t in triples
                                                        if t.subject.value == iri
                                                        or isinstance(t.subject, ox.BlankNode)],
                                  lang)
        header.update({"terms": terms, "link_names": names,
                       "classes": [t for t in terms if t.kind == "class"],
                       "properties": [t for t in terms if t.kind == "property"]})
        return render(request, "ontology.html", header)
    return answer(request, store, iri, lambda: resource.graph_triples(store, graphs), page,
                  present=bool(graphs))


@router.get("/ontology/{version}")
def ontology_version(version: str, request: Request, store: StoreDep,
                     settings: SettingsDep) -> Response:
    """The version IRI: the current ontology document when the version is the current one."""
    iri = valid_iri(settings.base_iri + "ontology/" + version)
    if not schema.is_current_version(store, settings.base_iri + "ontology", iri):
        return not_found(request, iri, representation(request, html=True))
    return ontology(request, store, settings)


@router.get("/shapes")
def shapes(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = settings.base_iri + "shapes"
    graphs = schema.shapes_graphs(store)

    def page(triples: list[ox.Triple], lang: str) -> Response:
        constraints = schema.class_constraints(store, lang)
        by_class: dict[str, list[schema.Constraint]] = {}
        for cls, constraint in constraints:
            by_class.setdefault(cls, []).append(constraint)
        names = common.labels(store, by_class, lang)
        return render(request, "shapes.html", {
            "iri": iri, "by_class": sorted(by_class.items(),
                                           key=lambda kv: names.get(kv[0], kv[0]).lower()),
            "names": names, "formats": formats_for(request),
            "rules": schema.node_rules(store, lang), "title": gettext(lang, "Shapes")})
    return answer(request, store, iri, lambda: resource.graph_triples(store, graphs), page,
                  present=bool(graphs))


# --- named graphs -----------------------------------------------------------------------------


@router.get("/graph/{rest:path}")
def graph(rest: str, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    iri = valid_iri(settings.base_iri + "graph/" + rest)
    info = next((g for g in store.graphs if g.iri == iri), None)

    def page(triples: list[ox.Triple], lang: str) -> Response:
        subjects = sorted({t.subject.value for t in triples
                           if isinstance(t.subject, ox.NamedNode)})
        names = common.labels(store, subjects, lang)
        return render(request, "graph.html", {
            "iri": iri, "file": info.file if info else "", "triples": len(triples),
            "subjects": [(s, names.get(s) or common.fallback_label(s, settings.base_iri))
                         for s in subjects], "formats": formats_for(request)})
    return answer(request, store, iri, lambda: resource.graph_triples(store, [iri]), page,
                  present=info is not None)
