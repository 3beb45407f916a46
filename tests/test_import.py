"""``digistrat import FILE``: a conforming submission into data/ of a temporary copy of the
project (never the real data/): the municipality's file is extended or created, IRIs are
checked against the graph, check runs, and data/ is restored when anything fails."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef

from api.cli import main
from kg import cli as kg_cli
from kg.intake import ElementRow, StrategyForm, graph_from_form, to_jsonld, to_turtle
from kg.project import Project
from kg.store import Store
from kg.views.intake import city_slugs, directory

ROOT = Path(__file__).resolve().parent.parent
ID = "https://w3id.org/digistrat/id/"


@pytest.fixture
def copy(tmp_path: Path) -> Iterator[Path]:
    """A copy of the project's files that import may change."""
    for name in ("ontology", "shapes", "data", "queries", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    yield tmp_path


def form_for(store: Store, elements: int = 3) -> StrategyForm:
    book = directory(store, "en")
    slugs = city_slugs(store)
    body, municipality = next((b, m) for b, m in sorted(book.body_owner.items())
                              if m in slugs)
    return StrategyForm(
        municipality=municipality, title="Testimport Digitalstrategie 2019",
        strategy_type="digital-strategy", status="adopted", decision_date="2019-05-07",
        body=body, start_year="2019", end_year="2023",
        source_url="https://www.stadt.test/medien/2019-05-08", source_title="Beschluss",
        source_publisher="Stadt Test", source_date="2019-05-08",
        quote="Der Rat hat am 7. Mai 2019 die Digitalstrategie mit drei Handlungsfeldern "
              "für 2019 bis 2023 beschlossen.",
        elements=[ElementRow(f"Feld {n}", "action-field", "Handlungsfeld", "open-data")
                  for n in range(1, elements + 1)])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "data").iterdir())}


def run(copy: Path, path: Path, *extra: str) -> object:
    return CliRunner().invoke(main, ["import", str(path), "--root", str(copy), "-q", *extra])


@pytest.mark.parametrize("suffix", ["ttl", "jsonld"])
def test_import_extends_the_municipalitys_file(copy: Path, store: Store, tmp_path: Path,
                                               suffix: str) -> None:
    form = form_for(store)
    graph = graph_from_form(form, city_slugs(store))
    path = tmp_path / f"submission.{suffix}"
    path.write_text(to_turtle(graph) if suffix == "ttl" else to_jsonld(graph), encoding="utf-8")
    target = copy / "data" / f"{city_slugs(store)[form.municipality]}.ttl"
    before = snapshot(copy)
    outcome = run(copy, path)
    assert outcome.exit_code == 0, outcome.output  # type: ignore[attr-defined]
    after = snapshot(copy)
    changed = [name for name in after if after[name] != before.get(name)]
    assert changed == [target.name]  # one file, the municipality's
    assert after[target.name].startswith(before[target.name].rstrip(b"\n"))
    assert "extended" in outcome.output and "check passed" in outcome.output  # type: ignore[attr-defined]
    strategy = next(str(s) for s in graph.subjects() if "/strategy/" in str(s))
    assert f"+ {strategy}" in outcome.output  # type: ignore[attr-defined]
    reloaded = Store.load(Project(copy))
    described = Graph().parse(data=target.read_text(encoding="utf-8"), format="turtle")
    assert (URIRef(strategy), None, None) in described
    from kg.rdfio import to_ox

    assert any(True for _ in reloaded.ox.quads_for_pattern(to_ox(URIRef(strategy)), None,
                                                           None, None))
    again = run(copy, path)  # the same resources again: refused, nothing written
    assert again.exit_code == 2  # type: ignore[attr-defined]
    assert "already in the graph" in again.output  # type: ignore[attr-defined]
    assert snapshot(copy) == after


def test_a_submission_that_does_not_conform_writes_nothing(copy: Path, tmp_path: Path) -> None:
    before = snapshot(copy)
    outcome = run(copy, ROOT / "tests" / "validation_corpus" / "missing-required.ttl")
    assert outcome.exit_code == 1  # type: ignore[attr-defined]
    assert "nothing was written" in outcome.output  # type: ignore[attr-defined]
    assert snapshot(copy) == before


def test_a_failing_check_restores_data(copy: Path, store: Store, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.ttl"
    path.write_text(to_turtle(graph_from_form(form_for(store), city_slugs(store))),
                    encoding="utf-8")
    before = snapshot(copy)
    ran: list[bool] = []

    def failing(*args: object, **kwargs: object) -> bool:
        ran.append(True)
        written = snapshot(copy)
        assert written != before  # check runs on the written file …
        return False

    monkeypatch.setattr(kg_cli, "run_check", failing)
    outcome = run(copy, path)
    assert ran and outcome.exit_code == 1  # type: ignore[attr-defined]
    assert "restored" in outcome.output  # type: ignore[attr-defined]
    assert snapshot(copy) == before  # … and data/ is as it was


def test_data_is_never_half_written(copy: Path, store: Store, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails midway leaves the file as it was and no temporary file behind."""
    path = tmp_path / "s.ttl"
    path.write_text(to_turtle(graph_from_form(form_for(store), city_slugs(store))),
                    encoding="utf-8")
    before = snapshot(copy)
    import os

    def broken(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    outcome = run(copy, path)
    assert outcome.exit_code != 0  # type: ignore[attr-defined]
    assert snapshot(copy) == before


def test_dry_run_writes_nothing(copy: Path, store: Store, tmp_path: Path) -> None:
    path = tmp_path / "s.ttl"
    path.write_text(to_turtle(graph_from_form(form_for(store), city_slugs(store))),
                    encoding="utf-8")
    before = snapshot(copy)
    outcome = run(copy, path, "--dry-run")
    assert outcome.exit_code == 0 and "dry run" in outcome.output  # type: ignore[attr-defined]
    assert snapshot(copy) == before


def test_a_new_municipality_gets_a_new_file(copy: Path, tmp_path: Path) -> None:
    text = """@base <https://w3id.org/digistrat/id/> .
@prefix ds: <https://w3id.org/digistrat/ontology#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <https://schema.org/> .
@prefix adminlevel: <https://w3id.org/digistrat/vocab/administrative-level/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<municipality/de-09999999> a ds:Municipality ;
    skos:prefLabel "Testhausen"@de ;
    ds:ags "09999999" ;
    ds:administrativeLevel adminlevel:municipality ;
    dct:source <source/testamt-2020-01-01-gemeinden> .

<source/testamt-2020-01-01-gemeinden> a ds:SourceDocument ;
    dct:title "Gemeindeverzeichnis"@de ;
    dct:publisher "Testamt" ;
    schema:url <https://www.testamt.test/gemeinden> .
"""
    path = tmp_path / "testhausen.ttl"
    path.write_text(text, encoding="utf-8")
    before = snapshot(copy)
    outcome = run(copy, path)
    assert outcome.exit_code == 0, outcome.output  # type: ignore[attr-defined]
    assert "created" in outcome.output  # type: ignore[attr-defined]
    assert (copy / "data" / "testhausen.ttl").is_file()
    assert set(snapshot(copy)) - set(before) == {"testhausen.ttl"}
