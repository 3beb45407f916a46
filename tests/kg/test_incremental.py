"""Validating only what changed (kg.incremental): the same verdicts as validating everything.

Each scenario starts from a conforming project of five bundled data files (two resources moved
to files of their own) whose verdict is
remembered, changes files (within one file, across files, removing a file another one points
to, adding a file), and validates twice: with the remembered verdict (only the reach of the
change) and from scratch (everything). The partial report must hold no result the full one
lacks, every result that is new in the full one, and every result of each resource it covers.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import Graph

from kg import incremental
from kg import validate as validate_module
from kg.incremental import ReadScope, Record, UnboundedShapesError, read_scope
from kg.project import Project
from kg.store import Store
from kg.validate import ValidationReport, validate_data

ROOT = Path(__file__).resolve().parents[2]
DATA = ("bern.ttl", "kanton-bern.ttl", "zuerich.ttl", "kanton-zuerich.ttl", "sources.ttl")
ID = "https://w3id.org/digistrat/id/"
DECISION = "decision/bern-2026-digitalstrategie"
GOAL = "goal:kanton-bern-ict-strategie-2021-digitales-primat"
CASES = ROOT / "tests" / "shapes" / "cases"
Result = tuple[str | None, ...]
Base = tuple[Path, set[Result]]  # the project's folder (its cache inside), its results


@pytest.fixture(autouse=True)
def reach_any_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a project of five files a change reaches more than half the resources, where
    validating everything is the quicker choice; these tests look at the partial check."""
    monkeypatch.setattr(incremental, "REACH_LIMIT_SHARE", 2.0)


def _results(report: ValidationReport | None) -> set[Result]:
    if report is None:
        return set()
    return {(r.focus_node, r.path, r.value, r.severity, r.message, r.source_shape)
            for r in report.results}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """The project (Bern's 2026 decision and a goal of the canton in files of their own),
    its remembered verdict and results."""
    root = tmp_path_factory.mktemp("base")
    for layer in ("ontology", "shapes"):
        shutil.copytree(ROOT / layer, root / layer)
    (root / "data").mkdir()
    for name in DATA:
        shutil.copy(ROOT / "data" / name, root / "data" / name)
    _split(root, "bern.ttl", f"<{DECISION}> a ds:Decision", "bern-decision-2026.ttl")
    _split(root, "kanton-bern.ttl", f"{GOAL} a ds:Goal", "kanton-bern-goal.ttl")
    # the goal cites a source of sources.ttl: only the strategy's ds:hasGoal ties it to
    # kanton-bern.ttl (a shared source would tie them too)
    _edit("kanton-bern-goal.ttl", "source:bernerzeitung-digitale-prioritaet-verwaltung",
          "source:seantis-swiss-municipalities-2025")(root)
    report = validate_data(Store.load(Project(root)), cache_dir=root / "cache")
    assert report is not None and report.conforms and not report.scope
    return root, _results(report)


@pytest.fixture
def project(base: Base, tmp_path: Path) -> Project:
    """A copy of the base project with its remembered verdict (in ``cache/``)."""
    shutil.copytree(base[0], tmp_path / "p")
    return Project(tmp_path / "p")


def _split(root: Path, name: str, start: str, new: str) -> None:
    """Move the resource that starts with ``start`` from the data file ``name`` to ``new``."""
    text = (root / "data" / name).read_text(encoding="utf-8")
    begin = text.index(start)
    end = text.index("\n\n", begin) + 2
    head = "".join(line for line in text.splitlines(keepends=True)
                   if line.startswith(("@prefix", "@base")))
    (root / "data" / name).write_text(text[:begin] + text[end:], encoding="utf-8")
    (root / "data" / new).write_text(head + text[begin:end], encoding="utf-8")


def _edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def change(root: Path) -> None:
        path = root / "data" / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return change


def _remove(name: str) -> Callable[[Path], None]:
    return lambda root: (root / "data" / name).unlink()


def _add_case(case: str) -> Callable[[Path], None]:
    return lambda root: shutil.copy(CASES / case, root / "data" / Path(case).name)


SCENARIOS = {
    # two elements of one strategy with the same position (within one file)
    "sibling position": _edit("bern.ttl", "ds:position 2 ;", "ds:position 1 ;"),
    # the canton is gone: the city in another, unchanged file points to nothing described
    "canton removed": _remove("kanton-bern.ttl"),
    # the decision is gone: the strategy in bern.ttl is "adopted" with no decision
    "decision removed": _remove("bern-decision-2026.ttl"),
    # the decision now adopts by acknowledgement: the strategy's status has no adoption
    "decision changed": _edit("bern-decision-2026.ttl", "dtype:adoption ;",
                              "dtype:acknowledgement ;"),
    # a body of another municipality adopts Bern's strategy (AdoptingBodyOfOwner)
    "decision moved": _edit("bern-decision-2026.ttl", "body/bern-gemeinderat",
                            "body/zuerich-stadtrat"),
    # the strategy no longer lists its goal (in another file): read inward, ^ds:hasGoal
    "goal dropped": _edit("kanton-bern.ttl", f"    ds:hasGoal {GOAL} ;\n", ""),
    # files of their own with violations
    "case added": _add_case("SiblingPositionUnique/invalid/two-first-action-fields.ttl"),
    "second case added": _add_case(
        "AdoptedByDecision/invalid/mainz-adopted-by-acknowledgement.ttl"),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_change_is_judged_as_a_full_validation_judges_it(
        base: Base, project: Project, scenario: str) -> None:
    before = base[1]
    SCENARIOS[scenario](project.root)
    store = Store.load(project)
    partial = validate_data(store, cache_dir=project.root / "cache")
    full = validate_data(store)
    assert partial is not None and full is not None
    assert partial.scope.startswith("the reach of 1 changed file: "), partial.scope
    assert not full.conforms, "each scenario breaks a rule"
    assert partial.conforms == full.conforms
    got, everything = _results(partial), _results(full)
    assert got <= everything, "the partial check found what a full one does not"
    assert everything - before <= got, "the partial check missed a new result"
    covered = {r[0] for r in got}
    assert {r for r in everything if r[0] in covered} <= got


def test_the_child_process_validates_the_change_and_remembers_it(project: Project) -> None:
    _edit("zuerich.ttl", "skos:prefLabel \"", "skos:altLabel \"Z\"@de ; skos:prefLabel \"")(
        project.root)
    cache = project.root / "cache"
    report = validate_data(Store.load(project), cache_dir=cache, isolated=True)
    assert report is not None and report.conforms
    assert report.scope.startswith("the reach of 1 changed file: ")
    # the new files are remembered: the next start validates nothing
    assert validate_data(Store.load(project), cache_dir=cache, isolated=True) is None
    # and the record keeps the seeds of the files that did not change
    SCENARIOS["goal dropped"](project.root)
    report = validate_data(Store.load(project), cache_dir=cache, isolated=True)
    assert report is not None and report.scope and not report.conforms
    assert {r.focus_node for r in report.results if r.severity == "Violation"} == {
        "https://w3id.org/digistrat/id/goal/kanton-bern-ict-strategie-2021-digitales-primat"}


def test_a_verdict_without_a_record_gains_one_and_the_next_change_is_partial(
        project: Project) -> None:
    """A cache from before records were kept holds only the marker of the conforming files:
    the start validates nothing, and writes the record the next change needs."""
    cache = project.root / "cache"
    for record in cache.glob("record-*"):
        record.unlink()
    assert validate_data(Store.load(project), cache_dir=cache) is None
    assert list(cache.glob("record-*"))
    _edit("bern.ttl", "ds:position 2 ;", "ds:position 1 ;")(project.root)
    report = validate_data(Store.load(project), cache_dir=cache)
    assert report is not None and report.scope and not report.conforms


def test_a_record_without_its_marker_is_enough(project: Project) -> None:
    cache = project.root / "cache"
    for marker in cache.glob("conforms-*"):
        marker.unlink()
    assert validate_data(Store.load(project), cache_dir=cache) is None
    assert list(cache.glob("conforms-*")), "the marker is written again"


def test_the_record_keeps_the_shapes_scope(project: Project,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A start after a change reads the scope from the record, not from the shapes."""
    (record,) = (project.root / "cache").glob("record-*")
    store = Store.load(project)
    kept = Record.read(record)
    assert kept is not None
    assert kept.scope == read_scope(store.layer_graph("shapes"), store.layer_graph("ontology"))

    def refused(*_: object) -> ReadScope:
        raise AssertionError("the scope was worked out again")

    monkeypatch.setattr(validate_module, "read_scope", refused)
    SCENARIOS["goal dropped"](project.root)
    report = validate_data(Store.load(project), cache_dir=project.root / "cache")
    assert report is not None and report.scope and not report.conforms


def test_a_record_of_another_analysis_is_not_used(project: Project,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis's version is part of the record's key: seeds and scope another version
    worked out are not trusted."""
    cache = project.root / "cache"
    for record in cache.glob("record-*"):
        record.unlink()
    monkeypatch.setattr(validate_module, "ANALYSIS", "another")
    assert validate_data(Store.load(project), cache_dir=cache) is None
    assert list(cache.glob("record-*")), "the other version wrote its record"
    monkeypatch.undo()
    _edit("bern.ttl", "ds:position 2 ;", "ds:position 1 ;")(project.root)
    report = validate_data(Store.load(project), cache_dir=cache)
    assert report is not None and report.scope == "" and not report.conforms


def test_changed_shapes_validate_everything(project: Project) -> None:
    _edit("bern.ttl", "ds:position 2 ;", "ds:position 1 ;")(project.root)
    with (project.root / "shapes" / "strategy.ttl").open("a", encoding="utf-8") as shapes:
        shapes.write("\n# changed\n")
    report = validate_data(Store.load(project), cache_dir=project.root / "cache")
    assert report is not None and report.scope == "" and not report.conforms


def test_a_change_that_reaches_most_of_the_data_validates_everything(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(incremental, "REACH_LIMIT_SHARE", 0.05)
    _edit("bern.ttl", "ds:position 2 ;", "ds:position 1 ;")(project.root)
    report = validate_data(Store.load(project), cache_dir=project.root / "cache")
    assert report is not None and report.scope == "" and not report.conforms


def test_a_damaged_record_validates_everything(project: Project) -> None:
    for record in (project.root / "cache").glob("record-*"):
        record.write_bytes(b"not gzip")
    _edit("bern.ttl", "ds:position 2 ;", "ds:position 1 ;")(project.root)
    report = validate_data(Store.load(project), cache_dir=project.root / "cache")
    assert report is not None and report.scope == "" and not report.conforms


SHAPES_HEAD = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/ns#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
ex:p a owl:ObjectProperty .
ex:shapes sh:declare [ sh:prefix "ex" ; sh:namespace "https://example.org/ns#" ] .
"""


def _scope(text: str) -> ReadScope:
    shapes = Graph().parse(data=SHAPES_HEAD + text, format="turtle")
    ontology = Graph().parse(data=SHAPES_HEAD, format="turtle")
    return read_scope(shapes, ontology)


def _sparql(query: str) -> str:
    return ('ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ sh:prefixes ex:shapes ; '
            f'sh:select """{query}""" ] .')


def test_the_scope_counts_paths_nesting_and_the_ways_queries_join() -> None:
    scope = _scope("""
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:S-p .
        ex:S-p sh:path ( ex:p [ sh:inversePath ex:q ] ) ; sh:node ex:T .
        ex:T a sh:NodeShape ; sh:property [ sh:path [ sh:oneOrMorePath ex:up ] ; sh:class ex:C ] .
    """ + _sparql("SELECT $this WHERE { $this ex:p ?x . ?y ex:r ?x . ?y ex:s ?z . }"))
    assert scope.depth == 3  # two steps, then (ex:up*, free) and the value's type
    assert scope.inward == frozenset({"https://example.org/ns#q", "https://example.org/ns#r"})
    assert scope.transitive == frozenset({"https://example.org/ns#up"})


@pytest.mark.parametrize(("query", "inward"), [
    ("SELECT $this WHERE { $this ^ex:q ?x }", {"q"}),  # ?x ex:q $this
    ("SELECT $this WHERE { ?x ^ex:q $this }", set()),  # $this ex:q ?x
    ("SELECT $this WHERE { ?x ex:p/ex:q $this }", {"p", "q"}),
    ("SELECT $this WHERE { $this ex:p/ex:q ?x }", set()),
    ("SELECT $this WHERE { $this ex:p+ ?y . ?z ex:q ?y }", {"q"}),
])
def test_a_path_is_read_inward_as_the_joins_enter_it(query: str, inward: set[str]) -> None:
    scope = _scope(_sparql(query))
    assert scope.inward == {f"https://example.org/ns#{name}" for name in inward}


@pytest.mark.parametrize("shapes", [
    # a shape nested in itself reads without bound
    "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:node ex:S ] .",
    # a pattern no join ties to $this reads the whole graph
    _sparql("SELECT $this WHERE { $this ex:p ?x . FILTER NOT EXISTS { ?y a ex:C } }"),
    # two resources with an equal literal value (ex:name is no object property)
    _sparql("SELECT $this WHERE { $this ex:name ?n . ?other ex:name ?n . }"),
    # a SHACL-AF target: its focus nodes come from a query
    'ex:S a sh:NodeShape ; sh:target [ a sh:SPARQLTarget ; sh:select "SELECT ?this {}" ] .',
])
def test_shapes_read_without_bound_are_refused(shapes: str) -> None:
    with pytest.raises(UnboundedShapesError):
        _scope(shapes)


def test_a_variable_property_joined_at_its_value_reads_inward_along_any() -> None:
    assert _scope(_sparql("SELECT $this WHERE { $this ex:p ?x . ?y ?any ?x . }")).inward is None
    assert _scope(_sparql("SELECT $this WHERE { $this ?any ?x . ?x ?other ?v . }")).inward \
        == frozenset()
