"""Checks on the OWL ontology and the SKOS concept schemes in ``ontology/``.

The term list, the scheme table and the axioms written in ``docs/model.md`` are parsed
from the markdown, so the document and the Turtle files cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY_DIR = ROOT / "ontology"
ONTOLOGY_FILE = ONTOLOGY_DIR / "digistrat.ttl"
VOCAB_DIR = ONTOLOGY_DIR / "vocab"
MODEL_DOC = ROOT / "docs" / "model.md"

DS = Namespace("https://w3id.org/digistrat/ontology#")
ONTOLOGY_IRI = URIRef("https://w3id.org/digistrat/ontology")
VOCAB_BASE = "https://w3id.org/digistrat/vocab/"
SCHEMA = Namespace("https://schema.org/")
VANN = Namespace("http://purl.org/vocab/vann/")

TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
LANGS = ("de", "en")
IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


# --------------------------------------------------------------------------- loading


@cache
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


@cache
def vocab_files() -> dict[str, Graph]:
    return {p.stem: Graph().parse(p, format="turtle") for p in sorted(VOCAB_DIR.glob("*.ttl"))}


@cache
def all_vocab() -> Graph:
    merged = Graph()
    for g in vocab_files().values():
        merged += g
    return merged


@cache
def model_text() -> str:
    return MODEL_DOC.read_text(encoding="utf-8")


def doc_section(heading_start: str) -> str:
    """Text of the ``## `` section whose heading starts with ``heading_start``."""
    text = model_text()
    match = re.search(rf"^## {re.escape(heading_start)}.*?$", text, flags=re.M)
    assert match, f"docs/model.md has no section '## {heading_start}'"
    rest = text[match.end() :]
    end = re.search(r"^## ", rest, flags=re.M)
    body = rest[: end.start()] if end else rest
    return re.sub(r"\s+", " ", body)


def ds_terms_in(section: str) -> set[str]:
    """Backticked names in a section that denote ds: terms (unprefixed or ``ds:``)."""
    names: set[str] = set()
    for token in re.findall(r"`([^`]+)`", section):
        if token.startswith("ds:"):
            token = token[3:]
        elif ":" in token:
            continue
        if IDENT.match(token):
            names.add(token)
    return names


def doc_classes() -> set[str]:
    return ds_terms_in(doc_section("Classes"))


def doc_properties() -> set[str]:
    return ds_terms_in(doc_section("Properties"))


def doc_schemes() -> dict[str, list[str]]:
    """Scheme slug → concept slugs, from the table in the SKOS section of docs/model.md."""
    section = doc_section("SKOS concept schemes")
    rows = re.findall(r"\|\s*`([a-z0-9-]+)`\s*\|([^|]*)\|", section)
    schemes = {scheme: re.findall(r"`([a-z0-9-]+)`", cells) for scheme, cells in rows}
    assert schemes, "no scheme table found in docs/model.md"
    return schemes


def expand(token: str) -> URIRef:
    """Expand a name from the doc: ``prefix:local`` via the ontology's prefixes, else ds:."""
    if ":" in token:
        return URIRef(ontology().namespace_manager.expand_curie(token))
    return DS[token]


def lang_values(g: Graph, s: Node, p: URIRef) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for o in g.objects(s, p):
        if isinstance(o, Literal) and o.language:
            out.setdefault(o.language, []).append(str(o))
    return out


def declared_ds_terms() -> set[URIRef]:
    g = ontology()
    return {
        s
        for t in TERM_TYPES
        for s in g.subjects(RDF.type, t)
        if isinstance(s, URIRef) and s.startswith(str(DS))
    }


def ds_iris_used(g: Graph) -> Iterator[URIRef]:
    for triple in g:
        for node in triple:
            if isinstance(node, URIRef) and node.startswith(str(DS)) and node != URIRef(str(DS)):
                yield node


def domains(p: URIRef) -> set[Node]:
    g = ontology()
    return set(g.objects(p, RDFS.domain)) | set(g.objects(p, SCHEMA.domainIncludes))


def ranges(p: URIRef) -> set[Node]:
    g = ontology()
    return set(g.objects(p, RDFS.range)) | set(g.objects(p, SCHEMA.rangeIncludes))


def datatype_members(node: Node) -> set[Node]:
    """A named datatype, or the members of an ``owl:unionOf`` datatype."""
    g = ontology()
    if isinstance(node, BNode):
        union = g.value(node, OWL.unionOf)
        if union is not None:
            return set(Collection(g, union))
    return {node}


# --------------------------------------------------------------------------- files


def test_every_file_in_ontology_folder_parses() -> None:
    files = sorted(p for p in ONTOLOGY_DIR.rglob("*") if p.is_file())
    assert ONTOLOGY_FILE in files
    for path in files:
        assert path.suffix == ".ttl", f"unexpected non-Turtle file {path}"
        g = Graph().parse(path, format="turtle")
        assert len(g) > 0, f"{path} is empty"


def test_one_vocab_file_per_documented_scheme() -> None:
    assert set(vocab_files()) == set(doc_schemes())


# --------------------------------------------------------------------------- header


def test_ontology_header_metadata() -> None:
    g = ontology()
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in g
    assert len(set(g.subjects(RDF.type, OWL.Ontology))) == 1
    for p in (DCTERMS.title, DCTERMS.description):
        values = lang_values(g, ONTOLOGY_IRI, p)
        for lang in LANGS:
            assert values.get(lang), f"header lacks {p} @{lang}"
    assert g.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef(
        "https://w3id.org/digistrat/ontology/0.1.0"
    )
    assert g.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal("0.1.0")
    assert g.value(ONTOLOGY_IRI, DCTERMS.license) == URIRef(
        "https://creativecommons.org/licenses/by/4.0/"
    )
    creator = g.value(ONTOLOGY_IRI, DCTERMS.creator)
    assert creator is not None
    if not isinstance(creator, Literal):
        assert g.value(creator, SCHEMA.name) is not None, "creator node needs schema:name"
    for p in (DCTERMS.created, DCTERMS.modified):
        value = g.value(ONTOLOGY_IRI, p)
        assert isinstance(value, Literal) and value.datatype == XSD.date, f"{p} not xsd:date"
    assert g.value(ONTOLOGY_IRI, VANN.preferredNamespacePrefix) == Literal("ds")
    assert str(g.value(ONTOLOGY_IRI, VANN.preferredNamespaceUri)) == str(DS)
    assert g.value(ONTOLOGY_IRI, RDFS.seeAlso) is not None
    assert g.value(ONTOLOGY_IRI, OWL.imports) is None, "the ontology must not import anything"


# --------------------------------------------------------------------------- terms


def test_every_ds_term_is_labelled_defined_and_attributed() -> None:
    g = ontology()
    terms = declared_ds_terms()
    assert terms
    for term in sorted(terms):
        labels = lang_values(g, term, RDFS.label)
        definitions = lang_values(g, term, SKOS.definition)
        for lang in LANGS:
            assert len(labels.get(lang, [])) == 1, f"{term}: needs one rdfs:label @{lang}"
            assert len(definitions.get(lang, [])) == 1, f"{term}: needs one skos:definition @{lang}"
        assert (term, RDFS.isDefinedBy, ONTOLOGY_IRI) in g, f"{term}: rdfs:isDefinedBy missing"


def test_each_ds_term_has_exactly_one_owl_type() -> None:
    g = ontology()
    for term in declared_ds_terms():
        kinds = [t for t in TERM_TYPES if (term, RDF.type, t) in g]
        assert len(kinds) == 1, f"{term} declared as {kinds}"


def test_doc_classes_exist_as_owl_classes() -> None:
    g = ontology()
    names = doc_classes()
    assert len(names) >= 19
    missing = sorted(n for n in names if (DS[n], RDF.type, OWL.Class) not in g)
    assert not missing, f"classes named in docs/model.md but not declared: {missing}"


def test_doc_properties_exist_as_properties() -> None:
    g = ontology()
    names = doc_properties()
    assert len(names) >= 40
    missing = sorted(n for n in names if not any((DS[n], RDF.type, t) in g for t in PROPERTY_TYPES))
    assert not missing, f"properties named in docs/model.md but not declared: {missing}"


def test_ontology_declares_nothing_the_doc_does_not_name() -> None:
    documented = {DS[n] for n in doc_classes() | doc_properties()}
    extra = sorted(declared_ds_terms() - documented)
    assert not extra, f"ds: terms not named in docs/model.md: {extra}"


def test_every_ds_iri_used_is_declared() -> None:
    declared = declared_ds_terms()
    for name, g in [("digistrat.ttl", ontology()), *vocab_files().items()]:
        unknown = sorted(set(ds_iris_used(g)) - declared)
        assert not unknown, f"{name} uses undeclared ds: terms {unknown}"


def test_subclass_axioms_match_doc() -> None:
    g = ontology()
    section = doc_section("Classes")
    pairs = re.findall(r"`([A-Za-z]+)` ⊑ `([A-Za-z]+:?[A-Za-z]+)`", section)
    assert len(pairs) >= 12
    for sub, sup in pairs:
        assert (DS[sub], RDFS.subClassOf, expand(sup)) in g, f"{sub} ⊑ {sup} missing"
    with_sub = re.search(r"`(\w+)` ⊑ `[^`]+` with subclasses ((?:`\w+`,? ?)+)", section)
    assert with_sub
    parent = DS[with_sub.group(1)]
    for child in re.findall(r"`(\w+)`", with_sub.group(2)):
        assert (DS[child], RDFS.subClassOf, parent) in g, f"{child} ⊑ {parent} missing"


def _disjoint_groups_in_ontology() -> list[set[Node]]:
    g = ontology()
    groups = []
    for node in g.subjects(RDF.type, OWL.AllDisjointClasses):
        groups.append(set(Collection(g, g.value(node, OWL.members))))
    return groups


def test_disjointness_matches_doc() -> None:
    section = doc_section("Classes")
    fragments = [f for f in re.split(r" · |\. ", section) if "pairwise disjoint" in f]
    assert len(fragments) == 2
    groups = _disjoint_groups_in_ontology()
    for fragment in fragments:
        if "with subclasses" in fragment:
            fragment = fragment.split("with subclasses", 1)[1]
        expected = {DS[n] for n in re.findall(r"`(\w+)`", fragment)}
        assert len(expected) >= 4
        assert expected in groups, f"no owl:AllDisjointClasses for {sorted(expected)}"


def _doc_property_notes() -> Iterator[tuple[str, str]]:
    """(property, parenthesis text) for every ``name (...)`` note in the Properties section."""
    section = doc_section("Properties")
    for m in re.finditer(r"`(\w+)` \(([^()]*(?:\([^()]*\)[^()]*)*)\)", section):
        yield m.group(1), m.group(2)


def test_domains_and_ranges_match_doc() -> None:
    checked = 0
    for name, note in _doc_property_notes():
        arrow = re.match(r"\s*(?:(\w+)\s+)?→\s*`?([\w:-]+)`?(\s+concept)?", note)
        if not arrow:
            continue
        prop = DS[name]
        domain, target, is_concept = arrow.groups()
        if domain:
            assert DS[domain] in domains(prop), f"{name}: domain {domain} not in ontology"
        if is_concept:
            assert SKOS.Concept in ranges(prop), f"{name}: range should be skos:Concept"
            scheme = URIRef(VOCAB_BASE + target)
            assert (prop, RDFS.seeAlso, scheme) in ontology(), f"{name}: seeAlso {scheme}"
            assert (scheme, RDF.type, SKOS.ConceptScheme) in all_vocab()
        else:
            assert expand(target) in ranges(prop), f"{name}: range {target} not in ontology"
        checked += 1
    assert checked >= 8


def test_datatypes_and_patterns_match_doc() -> None:
    g = ontology()
    checked = 0
    for name, note in _doc_property_notes():
        if "→" in note:
            continue
        tokens = re.findall(r"`([^`]+)`", note)
        datatypes = {expand(t) for t in tokens if t.startswith(("xsd:", "rdf:"))}
        patterns = [t for t in tokens if t.startswith("^")]
        if not datatypes and not patterns:
            continue
        ranges_declared = list(g.objects(DS[name], RDFS.range))
        assert len(ranges_declared) == 1, f"{name}: needs exactly one rdfs:range"
        rng = ranges_declared[0]
        if datatypes:
            assert datatype_members(rng) == datatypes, f"{name}: range is not {datatypes}"
            checked += 1
        if patterns:
            assert g.value(rng, OWL.onDatatype) == XSD.string, f"{name}: not restricted xsd:string"
            facets = Collection(g, g.value(rng, OWL.withRestrictions))
            found = {str(g.value(f, XSD.pattern)) for f in facets}
            assert found == set(patterns), f"{name}: pattern {found} ≠ doc {patterns}"
            checked += 1
    assert checked >= 8


def test_inverse_pairs_match_doc() -> None:
    g = ontology()
    section = doc_section("Properties")
    pairs = re.findall(r"`(\w+)` / `(\w+)` \(inverse\)", section)
    pairs += [
        (a, b) for a, b in re.findall(r"`(\w+)` \([^)]*\), `(\w+)` \([^)]*inverse\)", section)
    ]
    assert len(pairs) >= 2
    for a, b in pairs:
        assert (DS[a], OWL.inverseOf, DS[b]) in g or (DS[b], OWL.inverseOf, DS[a]) in g, (
            f"{a} / {b} not declared inverse"
        )


# --------------------------------------------------------------------------- SKOS


def concepts() -> list[URIRef]:
    return sorted(c for c in all_vocab().subjects(RDF.type, SKOS.Concept) if isinstance(c, URIRef))


def test_every_documented_slug_exists_and_no_other() -> None:
    for scheme, slugs in doc_schemes().items():
        g = vocab_files()[scheme]
        scheme_iri = URIRef(VOCAB_BASE + scheme)
        assert (scheme_iri, RDF.type, SKOS.ConceptScheme) in g
        expected = {URIRef(f"{VOCAB_BASE}{scheme}/{slug}") for slug in slugs}
        found = {c for c in g.subjects(RDF.type, SKOS.Concept) if isinstance(c, URIRef)}
        assert found == expected, f"{scheme}: missing {expected - found}, extra {found - expected}"


def test_schemes_have_titles_descriptions_and_top_concepts() -> None:
    g = all_vocab()
    for scheme in doc_schemes():
        iri = URIRef(VOCAB_BASE + scheme)
        for p in (DCTERMS.title, DCTERMS.description):
            values = lang_values(g, iri, p)
            for lang in LANGS:
                assert values.get(lang), f"{scheme}: no {p} @{lang}"
        tops = set(g.objects(iri, SKOS.hasTopConcept))
        assert tops, f"{scheme}: no skos:hasTopConcept"
        assert tops == set(g.subjects(SKOS.topConceptOf, iri)), (
            f"{scheme}: hasTopConcept and topConceptOf disagree"
        )


def test_every_concept_is_labelled_defined_and_placed() -> None:
    g = all_vocab()
    schemes = set(g.subjects(RDF.type, SKOS.ConceptScheme))
    all_concepts = concepts()
    assert len(all_concepts) == sum(len(s) for s in doc_schemes().values())
    for c in all_concepts:
        labels = lang_values(g, c, SKOS.prefLabel)
        definitions = lang_values(g, c, SKOS.definition)
        for lang in LANGS:
            assert len(labels.get(lang, [])) == 1, f"{c}: needs one skos:prefLabel @{lang}"
            assert definitions.get(lang), f"{c}: needs skos:definition @{lang}"
        in_scheme = list(g.objects(c, SKOS.inScheme))
        assert len(in_scheme) == 1, f"{c}: must be in exactly one scheme, is in {in_scheme}"
        scheme = in_scheme[0]
        assert scheme in schemes, f"{c}: scheme {scheme} does not exist"
        assert str(c).startswith(f"{scheme}/"), f"{c}: IRI not under its scheme {scheme}"
        slug = str(c).rsplit("/", 1)[1]
        assert g.value(c, SKOS.notation) == Literal(slug), f"{c}: skos:notation ≠ slug"
        top = (c, SKOS.topConceptOf, scheme) in g
        broader = [b for b in g.objects(c, SKOS.broader) if (b, SKOS.inScheme, scheme) in g]
        assert top or broader, f"{c}: neither top concept nor broader in the same scheme"
        assert not set(g.objects(c, SKOS.topConceptOf)) - {scheme}


def test_themes_are_typed_ds_theme() -> None:
    g = vocab_files()["theme"]
    for c in g.subjects(RDF.type, SKOS.Concept):
        assert (c, RDF.type, DS.Theme) in g, f"{c} is not a ds:Theme"


def test_element_levels_point_to_classes() -> None:
    g = vocab_files()["element-level"]
    o = ontology()
    for slug in ("focus-area", "action-field", "strategic-thrust", "programme"):
        concept = URIRef(f"{VOCAB_BASE}element-level/{slug}")
        targets = [t for t in g.objects(concept, RDFS.seeAlso) if (t, RDF.type, OWL.Class) in o]
        assert targets, f"{slug}: no rdfs:seeAlso to a ds: class"
        local = "".join(part.capitalize() for part in slug.split("-"))
        assert DS[local] in targets


def test_no_duplicate_preflabels_within_a_scheme() -> None:
    """SKOS S14: no two concepts in one scheme share a preferred label in one language."""
    for scheme, g in vocab_files().items():
        keys = [(str(lab).casefold(), lab.language) for lab in g.objects(None, SKOS.prefLabel)]
        assert len(keys) == len(set(keys)), f"{scheme}: duplicate skos:prefLabel"


def test_altlabels_do_not_repeat_another_concepts_preflabel() -> None:
    for scheme, g in vocab_files().items():
        pref = {
            (str(lab).casefold(), lab.language): c for c, lab in g.subject_objects(SKOS.prefLabel)
        }
        for c, label in g.subject_objects(SKOS.altLabel):
            owner = pref.get((str(label).casefold(), label.language))
            assert owner in (None, c), (
                f"{scheme}: altLabel {label!r} of {c} is prefLabel of {owner}"
            )
