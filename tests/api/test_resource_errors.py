"""Unknown IRIs are 404 whatever the Accept header; plain JSON clients get JSON-LD."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("accept", ["application/json", "image/png", "text/turtle", "*/*"])
def test_unknown_iri_is_404_in_the_error_shape(client: TestClient, accept: str) -> None:
    response = client.get("/id/municipality/xx-0", headers={"Accept": accept})
    assert response.status_code == 404
    body = response.json()
    assert body["ok"] is False and body["type"] == "not-found"
    assert body["iri"] == "https://w3id.org/digistrat/id/municipality/xx-0"


def test_unknown_iri_is_a_404_page_for_browsers(client: TestClient) -> None:
    response = client.get("/id/municipality/xx-0", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_a_known_iri_still_gets_406_when_nothing_fits(client: TestClient) -> None:
    response = client.get("/id/municipality/ch-261", headers={"Accept": "image/png"})
    assert response.status_code == 406 and response.json()["type"] == "not-acceptable"


def test_plain_json_clients_get_json_ld(client: TestClient) -> None:
    response = client.get("/id/municipality/ch-261", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    assert json.loads(response.content)
