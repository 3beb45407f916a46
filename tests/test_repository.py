"""The bundled repository itself: its data conforms and its example queries answer."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from kg.project import Project
from kg.queries import NamedQuery, load_queries
from kg.sparql import run_query
from kg.store import Store
from kg.validate import ValidationReport, validate

ROOT = Path(__file__).resolve().parent.parent

QUERIES = load_queries(ROOT / "queries")


@cache
def data_validation(store: Store) -> tuple[Graph, ValidationReport]:
    """The data layer and its validation (+ the ontology) against the shapes, once per run
    (tests/test_cross_engine.py compares it with a second engine)."""
    data = store.layer_graph("data")
    return data, validate(data, store.layer_graph("shapes"),
                          context=store.layer_graph("ontology"))


def test_data_conforms_to_the_shapes(store: Store) -> None:
    _, report = data_validation(store)
    violations = [r for r in report.results if r.severity == "Violation"]
    assert violations == []


def test_every_layer_has_files(project: Project) -> None:
    for layer in ("ontology", "shapes", "data"):
        assert project.files(layer), layer


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_example_query_returns_rows(store: Store, query: NamedQuery) -> None:
    assert query.title and query.description
    outcome = run_query(store, query.text)
    result = outcome.result
    rows = bool(result) if isinstance(result, ox.QueryBoolean) else len(list(result))
    assert rows, f"{query.name} returned no rows"


def test_there_are_example_queries() -> None:
    assert len(QUERIES) >= 6


def test_the_benchmark_data_conforms(tmp_path: Path) -> None:
    """bench/generate.py writes synthetic data the service accepts (it serves no data with
    violations), so the benchmarks keep measuring what the service really serves."""
    out = tmp_path / "bench"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--triples", "3000",
                    "--out", str(out), "--no-peers"], check=True, capture_output=True,
                   timeout=120)
    store = Store.load(Project(out))
    report = validate(store.layer_graph("data"), store.layer_graph("shapes"),
                      context=store.layer_graph("ontology"))
    assert [r for r in report.results if r.severity == "Violation"] == []
    assert len(store.graph_iris("data")) >= 3
