"""Validating all the data in parts (kg.validate, at start-up: ``isolated``) gives the very
results of validating it at once: the same list, so no result is lost or counted twice.

The data is the bundled data with every invalid shape case beside it as a file of its own, so
that many results of every kind (Violation, Warning, Info; resources of several files; a
literal focus node in two parts) are compared. A part is about a sixth of the data here; each
part is validated in a child process of its own, two at a time. The bundled data is tightly
knit (cities share sources, Länder, bodies): a part's reach holds far more than
:data:`kg.validate.REACH_PER_PART` times what it describes, so the tests of the parts' results
allow any reach.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from kg import incremental
from kg import validate as validate_module
from kg.project import Project
from kg.store import Store
from kg.validate import ValidationReport, validate, validate_data

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "shapes" / "cases"
ID = "https://w3id.org/digistrat/id/"
DS = "https://w3id.org/digistrat/ontology#"
QUOTE = '"Die Stadt setzt auf Daten."@de'


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled data and every invalid case as data files, with ontology and shapes."""
    root = tmp_path_factory.mktemp("parts")
    for layer in ("ontology", "shapes", "data"):
        shutil.copytree(ROOT / layer, root / layer)
    for case in sorted(CASES.glob("*/invalid/*.ttl")):
        shutil.copy(case, root / "data" / f"case-{case.parent.parent.name}-{case.name}")
    # one literal as evidence of two strategies, in files of the first part and the last: a
    # focus node (of dsh:Evidence, sh:targetObjectsOf ds:evidence) that no part's reach holds
    for name, strategy in (("aaa-quote.ttl", "bern-digitalstrategie-2021"),
                           ("zzz-quote.ttl", "bern-e-government-strategie-2013")):
        (root / "data" / name).write_text(
            f"<{ID}strategy/{strategy}> <{DS}evidence> {QUOTE} .\n")
    return root


@pytest.fixture(scope="module")
def loaded(project: Path) -> tuple[Store, ValidationReport]:
    """The project's store and its data validated at once (blank nodes are named per load:
    both validations read one store)."""
    store = Store.load(Project(project))
    return store, _whole(store)


def _whole(store: Store) -> ValidationReport:
    return validate(store.layer_graph("data"), store.layer_graph("shapes"),
                    context=store.layer_graph("ontology"))


def _in_parts(store: Store, parts: int, monkeypatch: pytest.MonkeyPatch,
              caplog: pytest.LogCaptureFixture, reach: int = 10_000,
              cache: Path | None = None) -> tuple[ValidationReport, str]:
    """validate_data as at start-up (with the verdict ``cache``), the data cut into about
    ``parts`` parts, a part's reach allowed ``reach`` times what it describes; its log."""
    data = sum(info.triples for info in store.graphs
               if store.project.layer_of_graph(info.iri) == "data")
    monkeypatch.setattr(validate_module, "PART_TRIPLES", data // parts)
    monkeypatch.setattr(validate_module, "REACH_PER_PART", reach)
    with caplog.at_level(logging.INFO, logger="digistrat"):
        report = validate_data(store, isolated=True, cache_dir=cache)
    assert report is not None
    return report, caplog.text


def test_the_parts_give_the_results_of_the_whole(
        loaded: tuple[Store, ValidationReport], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    store, whole = loaded
    parted, log = _in_parts(store, 6, monkeypatch, caplog)
    assert parted.scope.startswith("all the data in 6 parts, "), log
    assert {r.severity for r in whole.results} == {"Violation", "Warning", "Info"}
    assert len(whole.results) > 300
    assert [r for r in whole.results if r.focus_node == QUOTE]  # the literal focus node
    assert parted.results == whole.results


def test_a_blank_node_that_no_resource_holds_has_everything_validated_at_once(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """No part's reach starts from such a node, so the parts would never validate it."""
    root = tmp_path / "project"
    shutil.copytree(project, root)
    (root / "data" / "zz-loose.ttl").write_text(
        "@prefix ds: <https://w3id.org/digistrat/ontology#> .\n[] a ds:Strategy .\n")
    store = Store.load(Project(root))
    whole = _whole(store)
    parted, log = _in_parts(store, 6, monkeypatch, caplog)
    assert "a blank node no resource holds" in log
    assert any(r.focus_node.startswith("_:") and "Strategy" in r.source_shape
               for r in parted.results)
    assert parted.results == whole.results


def test_parts_that_reach_too_far_have_everything_validated_at_once(
        loaded: tuple[Store, ValidationReport], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    store, whole = loaded
    parted, log = _in_parts(store, 6, monkeypatch, caplog,
                            reach=validate_module.REACH_PER_PART)
    assert "validating everything at once: a part reaches too far" in log
    assert parted.results == whole.results


def test_a_change_that_reaches_most_of_the_data_is_validated_in_parts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """After a conforming first start, a change whose reach is more than the share a change
    may reach (here any) validates everything, in parts, as a first start does."""
    root = tmp_path / "project"
    for layer in ("ontology", "shapes", "data"):
        shutil.copytree(ROOT / layer, root / layer)
    cache = tmp_path / "cache"
    store = Store.load(Project(root))
    first, _ = _in_parts(store, 4, monkeypatch, caplog, cache=cache)
    assert first.conforms and first.scope.startswith("all the data in 4 parts, ")
    bern = root / "data" / "bern.ttl"
    bern.write_text(bern.read_text().replace("ds:position 2 ;", "ds:position 1 ;", 1))
    monkeypatch.setattr(incremental, "REACH_LIMIT_SHARE", 0.0001)
    store = Store.load(Project(root))
    caplog.clear()
    changed, log = _in_parts(store, 4, monkeypatch, caplog, cache=cache)
    assert "validating everything: the changes reach most of the data" in log
    assert changed.scope.startswith("all the data in 4 parts, "), changed.scope
    assert not changed.conforms
    assert changed.results == _whole(store).results
