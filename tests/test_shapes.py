"""Per-shape tests: every case file under tests/shapes/cases/ is validated against shapes/.

Layout: ``tests/shapes/cases/{ShapeName}/valid/*.ttl`` must conform at severity Violation;
``…/invalid/*.ttl`` start with header lines

    # expect: focus=<IRI> path=<IRI> severity=Violation|Warning|Info shape=<IRI>

and every expected result must be in the report.  ``path=^<IRI>`` is an inverse path,
``path=<IRI>|<IRI>`` an alternative path, ``path=-`` a result without a path.  The data graph
is the case file plus ``ontology/`` and ``ontology/vocab/``; the shapes graph is every file in
``shapes/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kg.project import Project
from kg.rdfio import graph_from_quads, parse_file
from kg.store import Store
from kg.validate import ValidationReport, validate

ROOT = Path(__file__).resolve().parent.parent
SHAPES_DIR = ROOT / "shapes"
ONTOLOGY_DIR = ROOT / "ontology"
CASES_DIR = Path(__file__).resolve().parent / "shapes" / "cases"
DSH = Namespace("https://w3id.org/digistrat/shapes#")

EXPECT_RE = re.compile(
    r"^#\s*expect:\s*focus=<(?P<focus>[^>]+)>\s+path=(?P<path>-|\^?<[^>]+>(?:\|<[^>]+>)*)\s+"
    r"severity=(?P<severity>Violation|Warning|Info)\s+shape=<(?P<shape>[^>]+)>\s*$"
)
#: Links from a shape to the value shapes it uses (their results surface on the user).
SHAPE_REFERENCES = (SH.node, SH["not"], SH.qualifiedValueShape)
SHAPE_LIST_REFERENCES = (SH["or"], SH["and"], SH.xone)


@cache
def project_store() -> Store:
    return Store.load(Project(ROOT))


@cache
def shapes_graph() -> Graph:
    return project_store().layer_graph("shapes")


@cache
def ontology_graph() -> Graph:
    return project_store().layer_graph("ontology")


@cache
def case_validation(path: Path) -> tuple[Graph, ValidationReport]:
    """One case file's data graph and its validation (+ ontology + vocab) against all
    shapes, with the project's engine; once per run (tests/test_cross_engine.py uses it too)."""
    data = graph_from_quads(parse_file(path))
    return data, validate(data, shapes_graph(), context=ontology_graph())


def validate_case(path: Path) -> Graph:
    """Validate one file (+ ontology + vocab) against all shapes, with the project's engine."""
    return case_validation(path)[1].graph


@dataclass(frozen=True)
class Expected:
    focus: URIRef
    path: str  # "-", an IRI, "^IRI" (inverse path) or "IRI|IRI" (alternative path)
    severity: URIRef
    shape: URIRef


def parse_expectations(path: Path) -> list[Expected]:
    expected: list[Expected] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if "expect:" not in line:
            continue
        match = EXPECT_RE.match(line)
        assert match, f"{path}: malformed expect line: {line!r}"
        raw_path = match["path"]
        norm_path = "-" if raw_path == "-" else raw_path.replace("<", "").replace(">", "")
        expected.append(
            Expected(
                focus=URIRef(match["focus"]),
                path=norm_path,
                severity=SH[match["severity"]],
                shape=URIRef(match["shape"]),
            )
        )
    return expected


def _path_key(report: Graph, path: Node | None) -> str:
    if path is None:
        return "-"
    if isinstance(path, URIRef):
        return str(path)
    inverse = report.value(path, SH.inversePath)
    if isinstance(inverse, URIRef):
        return "^" + str(inverse)
    alternatives = report.value(path, SH.alternativePath)
    if alternatives is not None:
        return "|".join(str(p) for p in report.items(alternatives))
    return "complex"


def results(report: Graph) -> set[Expected]:
    found: set[Expected] = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        severity = report.value(result, SH.resultSeverity)
        shape = report.value(result, SH.sourceShape)
        if not isinstance(focus, URIRef) or not isinstance(shape, URIRef):
            continue
        path = _path_key(report, report.value(result, SH.resultPath))
        assert isinstance(severity, URIRef)
        found.add(Expected(focus, path, severity, shape))
    return found


def severe_results(report: Graph, severity: URIRef = SH.Violation) -> list[str]:
    lines = []
    for result in report.subjects(SH.resultSeverity, severity):
        message = next(
            (
                m
                for m in report.objects(result, SH.resultMessage)
                if isinstance(m, Literal) and m.language == "en"
            ),
            None,
        )
        lines.append(
            f"{report.value(result, SH.focusNode)} {report.value(result, SH.resultPath)} "
            f"{report.value(result, SH.sourceShape)}: {message}"
        )
    return sorted(lines)


def case_files(kind: str) -> list[Path]:
    return sorted(CASES_DIR.glob(f"*/{kind}/*.ttl"))


def _case_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


@pytest.mark.parametrize("case", case_files("valid"), ids=_case_id)
def test_valid_case_conforms(case: Path) -> None:
    report = validate_case(case)
    assert severe_results(report) == []


@pytest.mark.parametrize("case", case_files("invalid"), ids=_case_id)
def test_invalid_case_reports_expected_results(case: Path) -> None:
    expected = parse_expectations(case)
    assert expected, f"{case} has no '# expect:' header line"
    found = results(validate_case(case))
    missing = [e for e in expected if e not in found]
    assert not missing, f"missing results: {missing}\nfound: {sorted(map(str, found))}"


# ----------------------------------------------------------------------------------------------
# Checks on the shapes graph itself.


def node_shapes(graph: Graph) -> set[Node]:
    shapes = set(graph.subjects(RDF.type, SH.NodeShape))
    for target in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode):
        shapes |= set(graph.subjects(target, None))
    return shapes


def property_shapes(graph: Graph) -> set[Node]:
    return set(graph.objects(None, SH.property)) | set(graph.subjects(SH.path, None))


def targeted(graph: Graph, shape: Node) -> bool:
    return any(
        graph.value(shape, target) is not None
        for target in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)
    )


def referenced_shapes(graph: Graph, shape: Node) -> Iterator[Node]:
    for predicate in SHAPE_REFERENCES:
        yield from graph.objects(shape, predicate)
    for predicate in SHAPE_LIST_REFERENCES:
        for head in graph.objects(shape, predicate):
            yield from graph.items(head)


def covered_shapes(graph: Graph, expected: set[URIRef]) -> set[Node]:
    """Shapes exercised by the invalid cases.

    A shape is covered when an invalid case expects a result from it.  A targeted node shape
    is covered when one of its property shapes is.  An untargeted value shape (used through
    sh:node, sh:or, sh:not, sh:qualifiedValueShape) is covered when a covered shape uses it,
    and so are its property shapes: their failures surface as results of the using shape.
    Property shapes of targeted node shapes must be expected directly.
    """
    covered: set[Node] = set(expected)
    changed = True
    while changed:
        changed = False
        for shape in node_shapes(graph) | property_shapes(graph):
            if shape in covered:
                continue
            props = set(graph.objects(shape, SH.property))
            parents = set(graph.subjects(SH.property, shape))
            if (
                props & covered
                or any(shape in set(referenced_shapes(graph, c)) for c in covered)
                or any(p in covered and not targeted(graph, p) for p in parents)
            ):
                covered.add(shape)
                changed = True
    return covered


def test_every_shape_is_covered_by_an_invalid_case() -> None:
    graph = shapes_graph()
    expected = {e.shape for case in case_files("invalid") for e in parse_expectations(case)}
    shapes = node_shapes(graph) | property_shapes(graph)
    uncovered = sorted(str(s) for s in shapes - covered_shapes(graph, expected))
    assert uncovered == []


def test_every_expected_shape_exists() -> None:
    graph = shapes_graph()
    shapes = node_shapes(graph) | property_shapes(graph)
    for case in case_files("invalid"):
        for e in parse_expectations(case):
            assert e.shape in shapes, f"{case}: unknown shape {e.shape}"


def test_every_targeted_node_shape_has_valid_and_invalid_cases() -> None:
    graph = shapes_graph()
    for shape in node_shapes(graph):
        if not targeted(graph, shape):
            continue
        name = str(shape).removeprefix(str(DSH))
        for kind in ("valid", "invalid"):
            assert list((CASES_DIR / name / kind).glob("*.ttl")), f"no {kind} case for {name}"


def test_property_shapes_are_iris() -> None:
    graph = shapes_graph()
    blank = [s for s in property_shapes(graph) | node_shapes(graph) if isinstance(s, BNode)]
    assert blank == []


def test_every_shape_has_messages_in_german_and_english() -> None:
    graph = shapes_graph()
    shapes = node_shapes(graph) | property_shapes(graph) | set(graph.objects(None, SH.sparql))
    missing = []
    for shape in shapes:
        languages = {m.language for m in graph.objects(shape, SH.message) if isinstance(m, Literal)}
        if not {"de", "en"} <= languages:
            missing.append(str(shape))
    assert sorted(missing) == []


def test_coverage_check_can_fail() -> None:
    """A property shape of a targeted node shape is not covered by its node shape alone."""
    graph = shapes_graph()
    covered = covered_shapes(graph, {DSH["Strategy-title"]})
    assert DSH["Strategy-title"] in covered
    assert DSH["Strategy"] in covered
    assert DSH["Strategy-ownedBy"] not in covered
