"""The SPARQL router mounts in a bare FastAPI app that has nothing else of digistrat: its
backend and settings are explicit arguments, and it answers its own errors."""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes.sparql import SparqlRouter
from api.settings import Settings
from kg.endpoint import LocalEndpoint, QueryPoolSettings


@pytest.fixture(scope="module")
def bare() -> Iterator[TestClient]:
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://ex/a"), ox.NamedNode("http://ex/p"),
                      ox.Literal("x"), ox.NamedNode("http://ex/g")))
    backend = LocalEndpoint(store, QueryPoolSettings(workers=1, overflow=0))
    app = FastAPI()
    app.include_router(SparqlRouter(backend, Settings(max_result_rows=5), path="/query"))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        backend.close()


def test_a_query_is_answered(bare: TestClient) -> None:
    response = bare.get("/query", params={"query": "SELECT ?o WHERE { ?s ?p ?o }"},
                        headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert response.json()["results"]["bindings"][0]["o"]["value"] == "x"
    assert response.headers["x-digistrat-max-result-rows"] == "5"


def test_its_errors_have_the_one_shape(bare: TestClient) -> None:
    response = bare.get("/query", params={"query": "SELECT nonsense"})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "query-syntax" and body["ok"] is False
    update = bare.post("/query", data={"update": "CLEAR ALL"})
    assert update.status_code == 403 and update.json()["type"] == "update-refused"


def test_the_service_description_without_a_store(bare: TestClient) -> None:
    response = bare.get("/query", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert b"sparql-service-description" in response.content
